"""The ranked feed: eligibility, model scores, diversity and reasons, with external ids.

:class:`FeedRanker` wires a fitted :class:`~recsys.base.Recommender` to a
:class:`~recsys.feed_arrays.Catalogue` (aligned with the model's ``items_``) and an
:class:`~recsys.feed_arrays.FeedAudience`. Per request:

1. candidates: the catalogue items live at ``as_of`` (approved, published, not expired)
   that the employee's region/department/languages allow, minus what they already shared
   or dismissed, minus the request's :class:`FeedFilters`;
2. one scoring call of the model over those candidates (its cold path for unknown
   employees), then the best ``pool`` of them (over-fetched so diversity can still fill
   ``k``);
3. diversity: caps per topic/type or MMR (:class:`~recsys.policy.PolicyConfig`);
4. 0-3 reasons per item from the model's score components
   (:class:`~recsys.reasons.ReasonBuilder`).

Instances are immutable: :meth:`FeedRanker.with_catalogue`, :meth:`~FeedRanker.with_model`
and :meth:`~FeedRanker.with_audience` return new rankers, so a server swaps them atomically.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import NotFittedError

from recsys import feed_kernel
from recsys.base import Recommender
from recsys.diversity import CapsWalk
from recsys.errors import FieldError
from recsys.feed_arrays import NETWORKS, Catalogue, Employee, FeedAudience, normal_code
from recsys.ids import UnknownIdError
from recsys.metrics import top_k
from recsys.policy import PolicyConfig, Rule, audience_mask, explain_ineligible, select
from recsys.reasons import FeedReason, ReasonBuilder, ReasonKind, item_vectors

logger = logging.getLogger(__name__)

MAX_K = 100
#: Audience masks remembered per ranker (distinct region/department/languages).
MASK_CACHE_SIZE = 4096
#: Scoring users per model call in :meth:`FeedRanker.feeds` (bounds memory).
BATCH_USERS = 256
#: Over-fetch before diversity: caps see ``max(CAP_POOL_FACTOR * k, k + CAP_POOL_EXTRA)``
#: best items (a pool ``CAP_POOL_GROWTH`` times larger, up to every eligible item, while
#: the caps cannot fill ``k`` from it), MMR sees ``max(MMR_POOL_FACTOR * k, MMR_POOL_MIN)``.
CAP_POOL_FACTOR = 4
CAP_POOL_EXTRA = 20
CAP_POOL_GROWTH = 4
MMR_POOL_FACTOR = 10
MMR_POOL_MIN = 100


@dataclass(frozen=True)
class FeedFilters:
    """Request filters; every field optional, empty = no filter.

    - ``networks``: keep content whose target networks include any of these (content with
      no network restriction stays);
    - ``content_types``: keep content of these types;
    - ``languages``: keep content written in these languages (content without a language
      is dropped when this filter is set);
    - ``exclude_ids``: content ids never to return (unknown ids are ignored).

    Codes match case-insensitively.
    """

    networks: tuple[str, ...] = ()
    content_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    exclude_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, str | bytes) or not isinstance(value, Sequence | frozenset | set):
                raise TypeError(f"FeedFilters.{spec.name} must be a list of strings, got {value!r}")
            bad = [v for v in value if not isinstance(v, str) or not v.strip()]
            if bad:
                raise FieldError(f"filters.{spec.name}", f"not non-empty strings: {bad[:5]}")
            object.__setattr__(self, spec.name, tuple(value))
        unknown = sorted({normal_code(n) for n in self.networks} - set(NETWORKS))
        if unknown:
            raise FieldError("filters.networks", f"unknown {unknown}; known: {list(NETWORKS)}")

    def __bool__(self) -> bool:
        return any(getattr(self, spec.name) for spec in dataclasses.fields(self))


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed."""

    content_id: str
    title: str
    score: float
    rank: int  # 1-based
    reasons: tuple[FeedReason, ...]  # largest contribution first; empty if none contributed


@dataclass(frozen=True)
class Feed:
    """An employee's ranked feed at ``as_of``."""

    employee_id: str
    items: tuple[FeedItem, ...]
    cold_start: bool  # the model does not know the employee
    as_of: float  # unix seconds


@dataclass(frozen=True)
class Standing:
    """Where one content item stands in an employee's feed of ``k`` items, and why.

    ``rule`` is the first eligibility rule excluding it (then nothing else is set); for an
    eligible item, ``rank`` is its place among the ``eligible`` items by score (1 = best),
    ``in_feed`` whether the feed holds it (diversity caps can keep out an item ranked
    within ``k``), and ``cut_score`` the score of the feed's last item.
    """

    content_id: str
    k: int
    rule: Rule | None
    in_feed: bool = False
    feed_rank: int | None = None
    rank: int | None = None
    eligible: int = 0
    score: float | None = None
    cut_score: float | None = None


@dataclass(frozen=True)
class _Request:
    """One employee's part of a (batched) request."""

    employee_id: str
    user: int  # model internal id, -1 = unknown to the model
    employee: Employee
    shared: np.ndarray  # internal ids
    eligible: np.ndarray  # bool over the catalogue


class FeedRanker:
    """Ranked, eligible, diversified and explained feeds from a fitted model.

    ``catalogue`` row i describes the model's item i (``model.items_``); a catalogue may be
    shorter than the model's items (content beyond it is never shown) but not longer: add
    content the model lacks with ``model.add_items`` first. ``titles`` maps content ids to
    titles (for items and "similar to" reasons). ``policy.k`` is ignored (k is per request).

    ``kernel`` (:func:`~recsys.feed_kernel.resolve_kernel`: ``"numba"``, the default, or
    ``"numpy"``) chooses how a feed's scores, best items and reasons are computed: the
    compiled kernels of :mod:`recsys.feed_kernel`, or the numpy code they are tested
    against (the reference). Both give the same feeds.

    ``forgotten`` ids are ranked as employees the model does not know (cold start) even if
    its ``users_`` holds them: employees erased from the store since the model was trained.
    """

    def __init__(
        self,
        model: Recommender,
        catalogue: Catalogue,
        audience: FeedAudience,
        policy: PolicyConfig | None = None,
        titles: Mapping[str, str] | None = None,
        *,
        kernel: str | None = None,
        forgotten: Collection[str] = (),
    ) -> None:
        _check_aligned(model, catalogue)
        self._forgotten = frozenset(map(str, forgotten))
        self._model = model
        self._catalogue = catalogue
        self._audience = audience
        self._policy = policy or PolicyConfig()
        self._titles: Mapping[str, str] = dict(titles or {})
        self._kernel = feed_kernel.resolve_kernel(kernel)
        self._masks: dict[tuple, np.ndarray] = {}
        self._live: tuple[float, np.ndarray] | None = None
        self._reasons = ReasonBuilder(
            model,
            catalogue,
            self._title_of,
            self._policy.reasons_per_item,
            self._policy.min_contribution,
            self._kernel,
        )

    # -- read-only views ----------------------------------------------------------------
    @property
    def model(self) -> Recommender:
        return self._model

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    @property
    def audience(self) -> FeedAudience:
        return self._audience

    @property
    def policy(self) -> PolicyConfig:
        return self._policy

    @property
    def forgotten(self) -> frozenset[str]:
        """Ids served as unknown to the model (see the class docstring)."""
        return self._forgotten

    @property
    def kernel(self) -> str:
        """``"numba"`` or ``"numpy"``: how feeds are computed (the same feeds either way)."""
        return self._kernel

    # -- swaps --------------------------------------------------------------------------
    def with_catalogue(
        self, catalogue: Catalogue, titles: Mapping[str, str] | None = None
    ) -> FeedRanker:
        """The same model, audience and policy over a refreshed catalogue (and titles)."""
        titles = self._titles if titles is None else titles
        return FeedRanker(
            self._model,
            catalogue,
            self._audience,
            self._policy,
            titles,
            kernel=self._kernel,
            forgotten=self._forgotten,
        )

    def with_model(self, model: Recommender) -> FeedRanker:
        """The same catalogue, audience and policy with another fitted model."""
        return FeedRanker(
            model,
            self._catalogue,
            self._audience,
            self._policy,
            self._titles,
            kernel=self._kernel,
            forgotten=self._forgotten,
        )

    def with_kernel(self, kernel: str) -> FeedRanker:
        """The same ranker computing its feeds with another kernel (``"numba"``/``"numpy"``)."""
        return FeedRanker(
            self._model,
            self._catalogue,
            self._audience,
            self._policy,
            self._titles,
            kernel=kernel,
            forgotten=self._forgotten,
        )

    def with_audience(self, audience: FeedAudience) -> FeedRanker:
        """The same model and catalogue with refreshed employees (new shares, moves).

        Cheap (no re-check of the catalogue, caches shared): servers call it on every
        batch of shares and dismissals."""
        if not isinstance(audience, FeedAudience):
            raise TypeError(f"audience must be a FeedAudience, got {type(audience).__name__}")
        ranker = copy.copy(self)
        ranker._audience = audience
        return ranker

    # -- feeds --------------------------------------------------------------------------
    def feed(
        self,
        employee_id: str,
        k: int,
        *,
        as_of: float,
        filters: FeedFilters | None = None,
        profile: Employee | None = None,
    ) -> Feed:
        """The top ``k`` (1-100) eligible items for one employee at ``as_of``.

        An employee of the audience is ranked with their attributes; ``profile`` describes
        an employee the audience does not hold yet (a new hire); with neither, only content
        without region/department/language restrictions is eligible.
        """
        if profile is not None and not isinstance(profile, Employee):
            raise TypeError(f"profile must be an Employee or None, got {type(profile).__name__}")
        return self._feeds([employee_id], k, as_of, filters, {employee_id: profile})[0]

    def feeds(
        self,
        employee_ids: Sequence[str],
        k: int,
        *,
        as_of: float,
        filters: FeedFilters | None = None,
    ) -> list[Feed]:
        """:meth:`feed` for many employees, scored in batches; same results one by one."""
        if isinstance(employee_ids, str):
            raise TypeError("employee_ids must be a list of ids, not a string")
        return self._feeds(list(employee_ids), k, as_of, filters, {})

    def eligible(
        self,
        employee_id: str,
        *,
        as_of: float,
        filters: FeedFilters | None = None,
        profile: Employee | None = None,
    ) -> tuple[str, ...]:
        """Every content id the employee's feed may hold at ``as_of`` (the candidates)."""
        moment = _check_as_of(as_of)
        request = self._request(_check_employee_id(employee_id), -1, profile, moment)
        eligible = request.eligible & self._filter_mask(_check_filters(filters))
        return tuple(self._content_id(i) for i in np.flatnonzero(eligible))

    def explain(
        self,
        employee_id: str,
        content_ids: Sequence[str],
        *,
        as_of: float,
        profile: Employee | None = None,
    ) -> dict[str, Rule | None]:
        """Why each content is not in the employee's feed: the first eligibility rule that
        excludes it (:class:`~recsys.policy.Rule`), or ``None`` when it is eligible (then
        only its score, diversity or ``k`` kept it out). Unknown content raises
        :class:`~recsys.ids.UnknownIdError`."""
        moment = _check_as_of(as_of)
        employee_id = _check_employee_id(employee_id)
        ids = [str(c) for c in content_ids]
        internal = self._model.items_.to_internal(ids, missing="ignore")
        unknown = [
            c for c, i in zip(ids, internal, strict=True) if not 0 <= i < len(self._catalogue)
        ]
        if unknown:
            raise UnknownIdError("content", unknown)
        employee = self._request(employee_id, -1, profile, moment).employee
        rules = explain_ineligible(
            self._catalogue,
            employee,
            internal,
            moment,
            self._internal(self._audience.shared_by(employee_id)),
            self._internal(self._audience.dismissed_by(employee_id)),
        )
        return dict(zip(ids, rules, strict=True))

    def standing(
        self,
        employee_id: str,
        content_id: str,
        k: int,
        *,
        as_of: float,
        profile: Employee | None = None,
    ) -> Standing:
        """Why ``content_id`` is (or is not) in the employee's feed of ``k`` items at
        ``as_of``: an eligibility rule, or its rank by score against the cut, or diversity
        (:class:`Standing`). Unknown content raises :class:`~recsys.ids.UnknownIdError`."""
        content_id = str(content_id)
        rule = self.explain(employee_id, [content_id], as_of=as_of, profile=profile)[content_id]
        if rule is not None:
            return Standing(content_id, k, rule)
        feed = self.feed(employee_id, k, as_of=as_of, profile=profile)
        moment = _check_as_of(as_of)
        request = self._request(employee_id, int(self._user_of(employee_id)), profile, moment)
        candidates = np.flatnonzero(request.eligible)
        users = np.asarray([request.user], np.int64)
        scores = np.asarray(self._model.score(users, candidates, moment), np.float64)[0]
        item = int(self._model.items_.to_internal([content_id])[0])
        score = float(scores[np.searchsorted(candidates, item)])
        positions = {entry.content_id: entry.rank for entry in feed.items}
        return Standing(
            content_id,
            k,
            None,
            in_feed=content_id in positions,
            feed_rank=positions.get(content_id),
            rank=int(np.sum(scores > score)) + 1,
            eligible=len(candidates),
            score=score,
            cut_score=feed.items[-1].score if len(feed.items) >= k else None,
        )

    def _user_of(self, employee_id: str) -> int:
        return int(self._users([employee_id])[0])

    def _users(self, employee_ids: Sequence[str]) -> np.ndarray:
        """Model rows of ``employee_ids``; -1 for unknown and forgotten ids."""
        users = self._model.users_.to_internal(employee_ids, missing="ignore")
        if self._forgotten:
            users[[e in self._forgotten for e in employee_ids]] = -1
        return users

    def similar(
        self, content_id: str, k: int, *, as_of: float, employee_id: str | None = None
    ) -> tuple[FeedItem, ...]:
        """Up to ``k`` eligible items closest to ``content_id`` (cosine of item vectors).

        Vectors are the model's content embeddings when it has them, otherwise its learned
        item representations. Eligibility is the employee's (without one: content without
        audience restrictions); the item itself is never returned, nor items at cosine <= 0.
        """
        _check_k(k)
        moment = _check_as_of(as_of)
        who = "" if employee_id is None else _check_employee_id(employee_id)
        internal = int(self._model.items_.to_internal([str(content_id)])[0])  # UnknownIdError
        if internal >= len(self._catalogue):
            raise UnknownIdError("content", [str(content_id)])
        vectors = self._reasons.unit_vectors()
        if vectors is None:
            raise ValueError(f"similar: the {self._model.name} model has no item vectors")
        if internal >= len(vectors) or not np.any(vectors[internal]):
            return ()  # no vector for the item: nothing is similar to it
        request = self._request(who, -1, None, moment)
        eligible = request.eligible[: len(vectors)].copy()
        eligible[internal] = False
        cosine = vectors[: len(eligible)] @ vectors[internal]  # no copy of the rows
        cosine = np.where(eligible & (cosine > 0), cosine, -np.inf)
        top, values = top_k(cosine, k)
        keep = top >= 0
        items, values = top[keep], values[keep]
        reasons = self._reasons.similar(items, internal, values)
        return tuple(
            FeedItem(self._content_id(i), self._title_of(i), float(v), rank + 1, r)
            for rank, (i, v, r) in enumerate(zip(items, values, reasons, strict=True))
        )

    # -- internals ----------------------------------------------------------------------
    def _feeds(
        self,
        employee_ids: list[str],
        k: int,
        as_of: float,
        filters: FeedFilters | None,
        profiles: Mapping[str, Employee | None],
    ) -> list[Feed]:
        _check_k(k)
        moment = _check_as_of(as_of)
        filters = _check_filters(filters)
        ids = [_check_employee_id(e) for e in employee_ids]
        users = self._users(ids)
        base = self._live_at(moment)
        if filters:
            base = base & self._filter_mask(filters)
        feeds: list[Feed] = []
        for start in range(0, len(ids), BATCH_USERS):
            chunk = range(start, min(start + BATCH_USERS, len(ids)))
            requests = [
                self._request(ids[j], int(users[j]), profiles.get(ids[j]), moment, base)
                for j in chunk
            ]
            feeds += self._rank_batch(requests, k, moment)
        return feeds

    def _request(
        self,
        employee_id: str,
        user: int,
        profile: Employee | None,
        as_of: float,
        base: np.ndarray | None = None,
    ) -> _Request:
        """Who the employee is for eligibility, and which catalogue items they may see."""
        catalogue = self._catalogue
        if employee_id in self._audience:
            employee = self._audience[employee_id]
        else:
            employee = profile or Employee()
        eligible = (catalogue.live(as_of) if base is None else base) & self._allowed(employee)
        shared = self._internal(self._audience.shared_by(employee_id))
        dismissed = self._internal(self._audience.dismissed_by(employee_id))
        eligible[shared] = False
        eligible[dismissed] = False
        return _Request(employee_id, user, employee, shared, eligible)

    def _live_at(self, as_of: float) -> np.ndarray:
        """:meth:`Catalogue.live` (read-only), remembered for the latest time: requests of
        the same second share it."""
        found = self._live
        if found is None or found[0] != as_of:
            mask = self._catalogue.live(as_of)
            mask.flags.writeable = False
            found = self._live = (as_of, mask)
        return found[1]

    def _allowed(self, employee: Employee) -> np.ndarray:
        """:func:`~recsys.policy.audience_mask`, remembered per (region, department,
        languages): it does not depend on time, and few employees differ in all three."""
        key = (employee.region, employee.department, employee.languages)
        mask = self._masks.get(key)
        if mask is None:
            mask = audience_mask(self._catalogue, Employee(*key))
            mask.flags.writeable = False
            if len(self._masks) >= MASK_CACHE_SIZE:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def _rank_batch(self, requests: list[_Request], k: int, as_of: float) -> list[Feed]:
        if self._kernel == "numba" and len(requests) == 1 and self._plain():
            feed = self._kernel_feed(requests[0], k, as_of)
            if feed is not None:
                return [feed]
        union = np.zeros(len(self._catalogue), dtype=bool)
        for request in requests:
            union |= request.eligible
        candidates = np.flatnonzero(union)
        users = np.asarray([r.user for r in requests], np.int64)
        if len(candidates):
            scores = np.asarray(self._model.score(users, candidates, as_of), np.float64)
        else:
            scores = np.zeros((len(requests), 0))
        return [
            self._rank_one(request, candidates, row, k, as_of)
            for request, row in zip(requests, scores, strict=True)
        ]

    def _rank_one(
        self, request: _Request, candidates: np.ndarray, scores: np.ndarray, k: int, as_of: float
    ) -> Feed:
        if self._kernel == "numba" and self._plain():
            eligible = np.ascontiguousarray(request.eligible[candidates])
            found, best = np.empty(k, np.int64), np.empty(k)
            count = feed_kernel.top_eligible(np.ascontiguousarray(scores), eligible, k, found, best)
            return self._finish(request, candidates[found[:count]], best[:count], as_of)
        scores = np.where(request.eligible[candidates] & np.isfinite(scores), scores, -np.inf)
        items, values = self._select(candidates, scores, k)
        return self._finish(request, items, values, as_of)

    def _kernel_feed(self, request: _Request, k: int, as_of: float) -> Feed | None:
        """One feed through the compiled kernels: the model's score row for the employee
        (its parts, when it gives them: :meth:`~recsys.models.hybrid.Hybrid.score_parts`,
        else :meth:`~recsys.models.hybrid.Hybrid.score_row`) walked once for the best ``k``
        eligible items; None: the model gives neither (see :meth:`_rank_batch`)."""
        eligible = request.eligible
        count = int(np.count_nonzero(eligible))
        if not count:
            return self._finish(request, np.zeros(0, np.int64), np.zeros(0), as_of)
        found, best = np.empty(k, np.int64), np.empty(k)
        score_parts = getattr(self._model, "score_parts", None)
        given = score_parts(request.user, as_of, count) if callable(score_parts) else None
        if given is not None and len(given[1]) <= 4 and _kernel_rows(given[0], *given[1]):
            static, (vector, *live) = given
            rows = [*live, vector, vector, vector][:3]
            count = feed_kernel.top_eligible_sum(
                static, vector, *rows, len(live), eligible, k, found, best
            )
            return self._finish(request, found[:count], best[:count], as_of)
        score_row = getattr(self._model, "score_row", None)
        row = score_row(request.user, as_of, count) if callable(score_row) else None
        if row is None:
            return None
        count = feed_kernel.top_eligible(row[: len(eligible)], eligible, k, found, best)
        return self._finish(request, found[:count], best[:count], as_of)

    def _finish(
        self, request: _Request, items: np.ndarray, values: np.ndarray, as_of: float
    ) -> Feed:
        """The feed of these items (internal ids, best first) with their reasons."""
        reasons = self._reasons.for_feed(
            request.user, request.employee, request.shared, items, values, as_of
        )
        ids, titles = self._lists()
        entries = []
        for rank, (i, v, r) in enumerate(
            zip(items.tolist(), values.tolist(), reasons, strict=True)
        ):
            if 0 <= i < len(ids):
                content_id, title = ids[i], titles[i]
            else:
                content_id, title = self._content_id(i), self._title_of(i)
            entries.append(_new_item(content_id, title, v, rank + 1, r))
        return Feed(request.employee_id, tuple(entries), bool(request.user < 0), as_of)

    def _plain(self) -> bool:
        """No diversity: the feed is the best ``k`` eligible items."""
        policy = self._policy
        return not (policy.max_per_topic or policy.max_per_type or policy.use_mmr)

    def _select(
        self, candidates: np.ndarray, scores: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Internal ids and scores of the feed: top of the pool, diversified."""
        available = int(np.isfinite(scores).sum())
        if not available:
            return np.zeros(0, np.int64), np.zeros(0)
        policy = self._policy
        capped = bool(policy.max_per_topic or policy.max_per_type) and not policy.use_mmr
        if not capped and not policy.use_mmr:  # plain: the best k, as top_k orders them
            top, values = top_k(scores, min(k, available))
            return candidates[top], values
        config = dataclasses.replace(policy, k=k)
        if capped:
            pool = max(CAP_POOL_FACTOR * k, k + CAP_POOL_EXTRA)
            return self._select_capped(candidates, scores, config, pool, available)
        pool = max(MMR_POOL_FACTOR * k, MMR_POOL_MIN)
        top, values = top_k(scores, min(pool, available))
        chosen = select(candidates[top], values, config, self._catalogue, item_vectors(self._model))
        return candidates[top[chosen.items]], values[chosen.items]

    def _select_capped(
        self,
        candidates: np.ndarray,
        scores: np.ndarray,
        config: PolicyConfig,
        pool: int,
        available: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The greedy caps walk (:func:`~recsys.diversity.diversify`) over the best ``pool``
        items; while the caps leave it short of ``k``, the pool grows ``CAP_POOL_GROWTH``
        times (up to every eligible item) and the walk continues on the new items only. The
        walk on a prefix of the score order is the walk on the whole order cut there, so the
        feed is the one a walk over every eligible item gives."""
        k = config.k
        walk = CapsWalk(self._catalogue, k, config.max_per_topic, config.max_per_type)
        walked = 0
        while True:
            top, values = top_k(scores, min(pool, available))  # ties: lower index first
            walk.extend(list(range(walked, len(top))), candidates[top[walked:]].tolist())
            walked = len(top)
            if walk.done or walked >= available:
                break
            pool *= CAP_POOL_GROWTH
        chosen = walk.chosen
        if len(chosen) < min(k, walked):  # caps are soft: fill with the best remaining
            taken = set(chosen)
            chosen = chosen + [p for p in range(walked) if p not in taken][: k - len(chosen)]
        return candidates[top[chosen]], values[chosen]

    def _filter_mask(self, filters: FeedFilters | None) -> np.ndarray:
        catalogue = self._catalogue
        keep = np.ones(len(catalogue), dtype=bool)
        if not filters:
            return keep
        if filters.networks and catalogue.networks is not None:
            networks = catalogue.networks
            keep &= (networks.sizes() == 0) | networks.rows_containing_any(filters.networks)
        if filters.content_types:
            wanted = {normal_code(t) for t in filters.content_types}
            codes = [j for j, t in enumerate(catalogue.type_vocabulary) if normal_code(t) in wanted]
            keep &= np.isin(catalogue.content_type, codes)
        if filters.languages and catalogue.language is not None:
            keep &= catalogue.language.rows_containing_any(filters.languages)
        if filters.exclude_ids:
            keep[self._internal(filters.exclude_ids)] = False
        return keep

    def _internal(self, content_ids: Sequence[str]) -> np.ndarray:
        """Catalogue internal ids of ``content_ids`` (unknown ones dropped)."""
        if not content_ids:
            return np.zeros(0, np.int64)
        internal = self._model.items_.to_internal(list(content_ids), missing="ignore")
        return internal[(internal >= 0) & (internal < len(self._catalogue))]

    def _content_id(self, internal: int) -> str:
        index, ids = int(internal), self._lists()[0]
        return ids[index] if 0 <= index < len(ids) else str(self._model.items_.external[index])

    def _title_of(self, internal: int) -> str:
        index, titles = int(internal), self._lists()[1]
        if 0 <= index < len(titles):
            return titles[index]
        if not 0 <= index < len(self._model.items_):
            return ""
        return self._titles.get(self._content_id(index), "")

    def _lists(self) -> tuple[list[str], list[str]]:
        """Content ids and titles of the catalogue's items by internal id (built once per
        ranker: every feed item and "similar to" reason looks them up)."""
        lists = self.__dict__.get("_id_title_lists")
        if lists is None:
            ids = [str(c) for c in self._model.items_.external[: len(self._catalogue)]]
            lists = (ids, [self._titles.get(c, "") for c in ids])
            self.__dict__["_id_title_lists"] = lists
        return lists


def _kernel_rows(*rows: np.ndarray) -> bool:
    """Whether the compiled walk takes these rows as they are (writable C float32 rows)."""
    return all(
        r.dtype == np.float32 and r.ndim == 1 and r.flags.c_contiguous and r.flags.writeable
        for r in rows
    )


def _new_item(
    content_id: str, title: str, score: float, rank: int, reasons: tuple[FeedReason, ...]
) -> FeedItem:
    """``FeedItem(...)`` without the frozen dataclass's per-field ``__setattr__``."""
    item = _NEW(FeedItem)
    fields = item.__dict__
    fields["content_id"] = content_id
    fields["title"] = title
    fields["score"] = score
    fields["rank"] = rank
    fields["reasons"] = reasons
    return item


_NEW = object.__new__


def _check_aligned(model: Recommender, catalogue: Catalogue) -> None:
    if not hasattr(model, "items_"):
        raise NotFittedError(f"{type(model).__name__} is not fitted: call fit(dataset) first")
    known = len(model.items_)
    if len(catalogue) > known:
        raise ValueError(
            f"catalogue: {len(catalogue)} items but the model knows {known}; add the missing "
            "content to the model first (model.add_items)"
        )
    if catalogue.content_ids is None:
        return
    expected = [str(c) for c in model.items_.external[: len(catalogue)]]
    wrong = [
        j for j, (a, b) in enumerate(zip(catalogue.content_ids, expected, strict=True)) if a != b
    ]
    if wrong:
        j = wrong[0]
        raise ValueError(
            f"catalogue: not aligned with the model's items ({len(wrong)} rows differ; row {j} "
            f"is {catalogue.content_ids[j]!r}, the model's item {j} is {expected[j]!r})"
        )


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise FieldError("k", f"must be an integer between 1 and {MAX_K}, got {k!r}")


def _check_as_of(as_of: float) -> float:
    try:
        moment = float(as_of)
    except (TypeError, ValueError):
        raise FieldError("as_of", f"must be unix seconds, got {as_of!r}") from None
    if not math.isfinite(moment):
        raise FieldError("as_of", f"must be finite unix seconds, got {as_of!r}")
    return moment


def _check_filters(filters: object) -> FeedFilters | None:
    if filters is not None and not isinstance(filters, FeedFilters):
        raise TypeError(f"filters must be FeedFilters or None, got {type(filters).__name__}")
    return filters


def _check_employee_id(employee_id: object) -> str:
    if not isinstance(employee_id, str) or not employee_id.strip():
        raise FieldError("employee_id", f"must be a non-empty string, got {employee_id!r}")
    return employee_id


__all__ = [
    "MAX_K",
    "Catalogue",
    "Employee",
    "Feed",
    "FeedAudience",
    "FeedFilters",
    "FeedItem",
    "FeedRanker",
    "FeedReason",
    "PolicyConfig",
    "ReasonKind",
    "Rule",
]
