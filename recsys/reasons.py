"""Why an item is recommended: reasons derived from the components of its score.

A scorer that can split its score into additive parts fills a :class:`ScoreComponents`
(one array per part, aligned with the candidates, holding each part's *contribution to
the score*, i.e. already weighted). :func:`feed_reasons` turns the parts of one candidate
into at most three human reasons:

- only parts whose contribution is above ``min_contribution`` (default 0) are named, so a
  part that contributed nothing (or pulled the score down) never appears;
- reasons are ordered by contribution, largest first (ties: the order of :data:`KINDS`);
- texts carry the real values (the similar item's title, the number of colleagues, the
  topic name); titles and topic names come from the ``titles`` / ``topics`` lookups passed
  in, never from a store.

An item none of whose parts contributed gets no reason (faithful before friendly).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import TYPE_CHECKING, TypeGuard

import numpy as np

from recsys.feed_arrays import Catalogue, Employee
from recsys.times import HOUR

if TYPE_CHECKING:
    from recsys.base import Recommender

logger = logging.getLogger(__name__)

MAX_REASONS = 3


class ReasonKind(StrEnum):
    """The score components a reason can come from."""

    AFFINITY = "affinity"
    DEPARTMENT_TREND = "department_trend"
    TOPIC_NEW = "topic_new"
    FRESHNESS = "freshness"
    GLOBAL_TREND = "global_trend"
    TASTE = "taste"
    POPULAR = "popular"
    SIMILAR = "similar"
    COLLEAGUES = "colleagues"
    CO_ENGAGEMENT = "co_engagement"
    LIKELY_POPULAR = "likely_popular"
    NEW_CONTENT = "new_content"


KINDS: tuple[ReasonKind, ...] = tuple(ReasonKind)

# A lookup is a mapping or a callable from an internal id (item or topic code) to text.
Lookup = Mapping[int, str] | Callable[[int], str]


@dataclass(frozen=True)
class ScoreComponents:
    """Additive contributions to the score, one float array per part, aligned with candidates.

    A part left ``None`` was not computed (it never gives a reason). The detail arrays
    (ints, ``-1`` or negative = unknown) say what is behind a part:

    - ``similar_item``: the past shared/engaged item (internal id) most similar to the
      candidate, behind ``affinity`` (and the query item behind ``similar``);
    - ``similar_item_shared``: 1 if ``similar_item`` was shared by the employee, 0 if only
      engaged with (views, likes ...); unknown = shared;
    - ``department_engagers``: colleagues of the employee's department who engaged with
      the candidate this week, behind ``department_trend``;
    - ``new_topic``: the followed topic (code) in which the candidate is new, behind
      ``topic_new``;
    - ``age_hours``: float hours since publication, behind ``freshness``;
    - ``taste_cold``: 1 where ``taste`` comes from the average employee (cold start).

    The parts: ``affinity`` (content similarity to what they engaged with),
    ``department_trend``, ``topic_new`` (freshness of an item in a topic they follow),
    ``freshness``, ``global_trend`` (decayed company-wide popularity), ``taste``
    (collaborative/profile model), ``popular`` (all-time popularity), ``similar`` (similarity
    to a given item), ``colleagues`` (what employees of similar taste engage with now),
    ``co_engagement`` (item-item: engaged with together with what they engaged with),
    ``likely_popular`` (popularity predicted from the content's features), ``new_content``
    (the model's offset for content nobody engaged with when it was fitted).
    """

    affinity: np.ndarray | None = None
    department_trend: np.ndarray | None = None
    topic_new: np.ndarray | None = None
    freshness: np.ndarray | None = None
    global_trend: np.ndarray | None = None
    taste: np.ndarray | None = None
    popular: np.ndarray | None = None
    similar: np.ndarray | None = None
    colleagues: np.ndarray | None = None
    co_engagement: np.ndarray | None = None
    likely_popular: np.ndarray | None = None
    new_content: np.ndarray | None = None
    similar_item: np.ndarray | None = None
    similar_item_shared: np.ndarray | None = None
    department_engagers: np.ndarray | None = None
    new_topic: np.ndarray | None = None
    age_hours: np.ndarray | None = None
    taste_cold: np.ndarray | None = None

    def __post_init__(self) -> None:
        lengths = set()
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None:
                continue
            kind = np.float64 if spec.name in (*KINDS, "age_hours") else np.int64
            array = np.asarray(value, dtype=kind)
            if array.ndim != 1:
                raise ValueError(f"component {spec.name!r} must be one-dimensional")
            object.__setattr__(self, spec.name, array)
            lengths.add(len(array))
        if len(lengths) > 1:
            raise ValueError(f"score components have different lengths: {sorted(lengths)}")

    def __len__(self) -> int:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is not None:
                return len(value)
        return 0

    def take(self, positions: np.ndarray) -> ScoreComponents:
        """The components of the candidates at ``positions``, in that order."""
        index = np.asarray(positions, dtype=np.int64)
        values = {
            spec.name: None if getattr(self, spec.name) is None else getattr(self, spec.name)[index]
            for spec in fields(self)
        }
        return ScoreComponents(**values)

    def contributions(self, position: int) -> dict[ReasonKind, float]:
        """Contribution of each computed part to the candidate at ``position``."""
        return {
            kind: float(getattr(self, kind)[position])
            for kind in KINDS
            if getattr(self, kind) is not None
        }


def _trusted_components(values: dict[str, np.ndarray]) -> ScoreComponents:
    """:class:`ScoreComponents` from arrays this module built (1-D, aligned, of the right
    dtypes): the checks of ``__post_init__`` cost more than the reasons' own work."""
    unknown = values.keys() - _COMPONENT_FIELDS
    if unknown:
        raise ValueError(f"not score components: {sorted(unknown)}")
    components = object.__new__(ScoreComponents)
    for name in _COMPONENT_FIELDS:
        object.__setattr__(components, name, values.get(name))
    return components


_COMPONENT_FIELDS = tuple(spec.name for spec in fields(ScoreComponents))


@dataclass(frozen=True)
class FeedReason:
    """One reason: where it comes from, how much it contributed, and its text."""

    kind: ReasonKind
    contribution: float
    text: str


def new_reason(kind: ReasonKind, contribution: float, text: str) -> FeedReason:
    """``FeedReason(kind, contribution, text)`` without the frozen dataclass's per-field
    ``__setattr__`` (a feed makes up to 300 of them)."""
    reason = _NEW(FeedReason)
    fields = reason.__dict__
    fields["kind"] = kind
    fields["contribution"] = contribution
    fields["text"] = text
    return reason


_NEW = object.__new__


def feed_reasons(
    components: ScoreComponents,
    position: int,
    k: int = 1,
    *,
    titles: Lookup | None = None,
    topics: Lookup | None = None,
    min_contribution: float = 0.0,
) -> tuple[FeedReason, ...]:
    """Up to ``k`` (1-3) reasons for the candidate at ``position``, largest contribution first.

    Only parts contributing strictly more than ``min_contribution`` are named.
    """
    if not 1 <= k <= MAX_REASONS:
        raise ValueError(f"k must be between 1 and {MAX_REASONS}, got {k}")
    contributions = components.contributions(position)
    named = [
        (kind, value)
        for kind, value in contributions.items()
        if np.isfinite(value) and value > min_contribution
    ]
    rank = {kind: i for i, kind in enumerate(KINDS)}
    named.sort(key=lambda pair: (-pair[1], rank[pair[0]]))
    details = _Details(components)
    return tuple(
        FeedReason(kind, value, _text(kind, details, position, titles, topics))
        for kind, value in named[:k]
    )


def feed_reasons_for_rows(
    components: ScoreComponents,
    k: int = 1,
    *,
    titles: Lookup | None = None,
    topics: Lookup | None = None,
    min_contribution: float = 0.0,
) -> list[tuple[FeedReason, ...]]:
    """:func:`feed_reasons` for every candidate at once (the same reasons, in order).

    The (candidates x parts) contribution matrix is ranked with numpy; texts are formatted
    only for the (at most ``k``) parts chosen per candidate.
    """
    if not 1 <= k <= MAX_REASONS:
        raise ValueError(f"k must be between 1 and {MAX_REASONS}, got {k}")
    kinds = [kind for kind in KINDS if getattr(components, kind) is not None]
    n = len(components)
    if not kinds or not n:
        return [()] * n
    details = _Details(components)
    values = np.column_stack([getattr(components, kind) for kind in kinds])
    with np.errstate(invalid="ignore"):
        named = np.isfinite(values) & (values > min_contribution)
    # stable sort on -value: ties keep the KINDS order; unnamed parts sort last
    key = np.where(named, -values, np.inf)
    order = np.argsort(key, axis=1, kind="stable")[:, :k]
    counts = np.minimum(named.sum(axis=1), k).tolist()
    picked = np.take_along_axis(values, order, axis=1).tolist()
    order_rows = order.tolist()
    out: list[tuple[FeedReason, ...]] = []
    for row, count in enumerate(counts):
        out.append(
            tuple(
                FeedReason(kinds[column], value, _text(kinds[column], details, row, titles, topics))
                for column, value in zip(order_rows[row][:count], picked[row][:count], strict=True)
            )
        )
    return out


class _Details:
    """The detail fields of :class:`ScoreComponents` as Python lists (texts read single
    values; a numpy scalar per look-up costs more than the text)."""

    def __init__(self, components: ScoreComponents) -> None:
        self._lists: dict[str, list | None] = {
            name: None if getattr(components, name) is None else getattr(components, name).tolist()
            for name in DETAILS
        }

    def code(self, name: str, position: int) -> int | None:
        """An id/count detail (negative = none)."""
        values = self._lists[name]
        if values is None or values[position] < 0:
            return None
        return int(values[position])

    def value(self, name: str, position: int) -> float | None:
        values = self._lists[name]
        return None if values is None else values[position]


#: The detail fields :func:`_text` reads.
DETAILS = (
    "similar_item",
    "similar_item_shared",
    "department_engagers",
    "new_topic",
    "age_hours",
    "taste_cold",
)


def _text(
    kind: ReasonKind,
    details: _Details,
    position: int,
    titles: Lookup | None,
    topics: Lookup | None,
) -> str:
    """The text of a reason of ``kind`` for the candidate at ``position``."""
    constant = _CONSTANT_TEXTS.get(kind)
    if constant is not None:
        return constant
    write = _TEXTS.get(kind)
    if write is None:
        return "Popular across the company right now"
    return write(details, position, titles, topics)


def _affinity_text(details: _Details, position: int, titles: Lookup | None, _topics) -> str:
    title = _look_up(titles, details.code("similar_item", position))
    shared = details.code("similar_item_shared", position) != 0
    if not title:
        return "Similar to what you share" if shared else "Similar to what you engage with"
    verb = "shared" if shared else "engaged with"
    return f"Similar to “{title}” you {verb}"


def _similar_text(details: _Details, position: int, titles: Lookup | None, _topics) -> str:
    title = _look_up(titles, details.code("similar_item", position))
    return f"Similar to “{title}”" if title else "Similar content"


def _taste_text(details: _Details, position: int, _titles, _topics) -> str:
    if details.code("taste_cold", position) == 1:
        return "Popular with employees across the company"
    return "Matches your interests"


def _department_text(details: _Details, position: int, _titles, _topics) -> str:
    count = details.code("department_engagers", position)
    if count is None or count < 1:
        return "Trending in your department"
    noun = "colleague" if count == 1 else "colleagues"
    return f"Trending in your department ({count} {noun} engaged this week)"


def _topic_text(details: _Details, position: int, _titles, topics: Lookup | None) -> str:
    name = _look_up(topics, details.code("new_topic", position))
    return f"New in {name}" if name else "New in a topic you follow"


def _freshness_text(details: _Details, position: int, _titles, _topics) -> str:
    hours = details.value("age_hours", position)
    if not _known(hours):
        return "Recently published"
    lead = "Just published" if hours < 48 else "Recently published"
    return f"{lead} ({_age(hours)})"


#: Reasons whose text never varies, and the writers of the others (any other kind: the
#: global trend's text).
_CONSTANT_TEXTS: dict[ReasonKind, str] = {
    ReasonKind.POPULAR: "Popular across the company",
    ReasonKind.COLLEAGUES: "Colleagues with similar interests are engaging with it now",
    ReasonKind.CO_ENGAGEMENT: "Often engaged with alongside what you engaged with",
    ReasonKind.LIKELY_POPULAR: "Content like this tends to do well",
    ReasonKind.NEW_CONTENT: "New in the catalogue",
}
_TEXTS: dict[ReasonKind, Callable[[_Details, int, Lookup | None, Lookup | None], str]] = {
    ReasonKind.AFFINITY: _affinity_text,
    ReasonKind.SIMILAR: _similar_text,
    ReasonKind.TASTE: _taste_text,
    ReasonKind.DEPARTMENT_TREND: _department_text,
    ReasonKind.TOPIC_NEW: _topic_text,
    ReasonKind.FRESHNESS: _freshness_text,
}


def _look_up(lookup: Lookup | None, key: int | None) -> str | None:
    if lookup is None or key is None:
        return None
    if callable(lookup):
        return lookup(key) or None
    return lookup.get(key) or None


def _known(hours: float | None) -> TypeGuard[float]:
    return hours is not None and math.isfinite(hours) and hours >= 0


def _age(hours: float) -> str:
    if hours < 1:
        return "less than an hour ago"
    if hours < 48:
        whole = int(hours)
        return f"{whole} hour ago" if whole == 1 else f"{whole} hours ago"
    return f"{int(hours // 24)} days ago"


# -- reasons for a model's feed ------------------------------------------------------------
#: Score component names (``model.contributions``) -> the reason they give.
COMPONENT_KINDS: dict[str, ReasonKind] = {
    "taste": ReasonKind.TASTE,
    "affinity": ReasonKind.AFFINITY,
    "global_trend_short": ReasonKind.GLOBAL_TREND,
    "global_trend_long": ReasonKind.GLOBAL_TREND,
    "department_trend": ReasonKind.DEPARTMENT_TREND,
    "colleague_trend": ReasonKind.COLLEAGUES,
    "ease": ReasonKind.CO_ENGAGEMENT,
    "covisit": ReasonKind.CO_ENGAGEMENT,
    "neighbour_trend": ReasonKind.COLLEAGUES,
    "item_prior": ReasonKind.LIKELY_POPULAR,
    "tree_prior": ReasonKind.LIKELY_POPULAR,
    "genre_affinity": ReasonKind.TASTE,
    "release_window": ReasonKind.FRESHNESS,
    "cold_time_popularity": ReasonKind.LIKELY_POPULAR,
    "cold_start": ReasonKind.NEW_CONTENT,
    "freshness": ReasonKind.FRESHNESS,
}
#: Components not listed above are matched by name prefix; others give no reason.
PREFIX_KINDS: tuple[tuple[str, ReasonKind], ...] = (
    ("global_trend", ReasonKind.GLOBAL_TREND),
    ("department", ReasonKind.DEPARTMENT_TREND),
    ("colleague", ReasonKind.COLLEAGUES),
    ("affinity", ReasonKind.AFFINITY),
    ("taste", ReasonKind.TASTE),
    ("fresh", ReasonKind.FRESHNESS),
    ("popular", ReasonKind.POPULAR),
    ("ease", ReasonKind.CO_ENGAGEMENT),
    ("item_prior", ReasonKind.LIKELY_POPULAR),
)
#: Models without ``contributions``: their whole score is one reason (``Recommender.name``).
WHOLE_SCORE_KINDS: dict[str, ReasonKind] = {
    "popular": ReasonKind.POPULAR,
    "recent_popular": ReasonKind.GLOBAL_TREND,
    "content": ReasonKind.AFFINITY,
    "lightfm_cf": ReasonKind.TASTE,
    "lightfm_hybrid": ReasonKind.TASTE,
}
#: Most engaged items searched for "similar to" when an employee shared nothing.
MAX_HISTORY = 1000
#: Reason texts remembered per ranker by what they are written from (emptied past this).
MAX_TEXTS = 50_000


def _text_key(
    kind: ReasonKind,
    details: _Details,
    position: int,
    topics: list[int],
    items: list[int],
    published: np.ndarray,
    as_of: float,
) -> tuple:
    """What the text of a reason of ``kind`` at ``position`` is written from (its writer
    reads nothing else; titles and topic names are fixed per ranker)."""
    if kind is ReasonKind.FRESHNESS:
        hours = details.value("age_hours", position)
        if not _known(hours):
            return (kind, -2)
        return (kind, -1 if hours < 1 else int(hours))
    if kind is ReasonKind.TOPIC_NEW:
        return (kind, topics[position])
    if kind is ReasonKind.AFFINITY:
        return (
            kind,
            details.code("similar_item", position),
            details.code("similar_item_shared", position) != 0,
        )
    return (kind, position, items[position], as_of)  # not remembered across items


def component_kind(name: str) -> ReasonKind | None:
    """The reason a score component gives, or ``None`` (it is never named)."""
    if name in COMPONENT_KINDS:
        return COMPONENT_KINDS[name]
    return next((kind for prefix, kind in PREFIX_KINDS if name.startswith(prefix)), None)


def item_vectors(model: Recommender) -> np.ndarray | None:
    """The model's item vectors (rows = internal ids), or ``None``.

    Content embeddings first (the ``affinity`` part of a hybrid, or a content model), then
    learned item representations (LightFM, the ``taste`` part of a hybrid).
    """
    parts = getattr(model, "components_", None) or {}
    for source in (parts.get("affinity"), model, parts.get("taste")):
        vectors = getattr(source, "item_vectors_", None)
        if vectors is not None:
            return np.asarray(vectors)
    return None


class ReasonBuilder:
    """Reasons for a model's ranked items, from its score components.

    Models with ``contributions(users, items, as_of)`` (the hybrid) have every component
    summed per :class:`ReasonKind` (:func:`component_kind`); freshness of an item in a
    topic the employee follows (their interests, or topics of what they shared) becomes
    "new in <topic>". Models without components give their whole score as one reason
    (:data:`WHOLE_SCORE_KINDS`), other models give none.
    """

    def __init__(
        self,
        model: Recommender,
        catalogue: Catalogue,
        titles: Lookup,
        per_item: int = 2,
        min_contribution: float = 0.0,
        kernel: str = "numpy",
    ) -> None:
        self.model = model
        self.catalogue = catalogue
        self.titles = titles
        self.per_item = per_item
        self.min_contribution = min_contribution
        self.kernel = kernel
        self._unit: tuple[np.ndarray, np.ndarray] | None = None

    def unit_vectors(self) -> np.ndarray | None:
        """:func:`item_vectors` scaled to unit length (cached while the model's are unchanged)."""
        vectors = item_vectors(self.model)
        if vectors is None:
            return None
        if self._unit is None or self._unit[0] is not vectors:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True).astype(np.float64)
            unit = np.divide(vectors, norms, out=np.zeros(vectors.shape), where=norms > 0)
            self._unit = (vectors, unit)
        return self._unit[1]

    def for_feed(
        self,
        user: int,
        employee: Employee,
        shared: np.ndarray,
        items: np.ndarray,
        scores: np.ndarray,
        as_of: float,
    ) -> list[tuple[FeedReason, ...]]:
        """Reasons per item (internal ids, with the scores they were ranked by)."""
        if not len(items):
            return []
        if self.kernel == "numba" and callable(getattr(self.model, "contribution_matrix", None)):
            return self._kernel_reasons(user, employee, shared, items, as_of)
        components = self.components(user, employee, shared, items, scores, as_of)
        if components is None:
            return [()] * len(items)
        topics = self.catalogue.topics.vocabulary
        return feed_reasons_for_rows(
            components,
            self.per_item,
            titles=self.titles,
            topics=lambda code: topics[code],
            min_contribution=self.min_contribution,
        )

    def similar(
        self, items: np.ndarray, query: int, cosines: np.ndarray
    ) -> list[tuple[FeedReason, ...]]:
        """A "similar to <query title>" reason per item, contribution = cosine."""
        components = ScoreComponents(similar=cosines, similar_item=np.full(len(items), query))
        return feed_reasons_for_rows(components, 1, titles=self.titles)

    def components(
        self,
        user: int,
        employee: Employee,
        shared: np.ndarray,
        items: np.ndarray,
        scores: np.ndarray,
        as_of: float,
    ) -> ScoreComponents | None:
        """Per-kind contributions of ``items`` for ``user`` (-1 = cold) with their details."""
        sums = self._contributions(user, items, scores, as_of)
        if sums is None:
            return None
        values: dict[str, np.ndarray] = {kind.value: v for kind, v in sums.items()}
        if ReasonKind.FRESHNESS in sums:
            values |= self._new_in_topic(employee, shared, items, sums[ReasonKind.FRESHNESS])
            age = (as_of - self.catalogue.published_at[items]) / HOUR
            values["age_hours"] = np.where(np.isfinite(age), age, -1.0)
        if ReasonKind.AFFINITY in sums:
            values |= self._similar_items(user, shared, items)
        if ReasonKind.TASTE in sums:
            values["taste_cold"] = np.full(len(items), int(user < 0))
        return _trusted_components(values)

    def _contributions(
        self, user: int, items: np.ndarray, scores: np.ndarray, as_of: float
    ) -> dict[ReasonKind, np.ndarray] | None:
        contributions = getattr(self.model, "contributions", None)
        if not callable(contributions):
            kind = WHOLE_SCORE_KINDS.get(self.model.name)
            return None if kind is None else {kind: np.asarray(scores, np.float64)}
        parts = contributions(np.asarray([user]), items, as_of)
        kinds, order, starts = self._plan(tuple(parts))
        if not kinds:
            return {}
        rows = np.asarray(np.vstack(list(parts.values())), np.float64)  # (parts, items)
        sums = np.add.reduceat(rows[order], starts, axis=0)  # one row per kind
        return dict(zip(kinds, sums, strict=True))

    def _plan(self, names: tuple[str, ...]) -> tuple[list[ReasonKind], list[int], list[int]]:
        """The reason kinds of these components (first-seen order), the component rows
        grouped by kind, and where each kind's group starts (cached per name list)."""
        cached = self.__dict__.get("_kind_plan")
        if cached is not None and cached[0] == names:
            return cached[1]
        groups: dict[ReasonKind, list[int]] = {}
        for row, name in enumerate(names):
            kind = component_kind(str(name))
            if kind is None:
                logger.debug("score component %r gives no reason", name)
                continue
            groups.setdefault(kind, []).append(row)
        order = [row for rows in groups.values() for row in rows]
        sizes = [len(rows) for rows in groups.values()]
        starts = [sum(sizes[:j]) for j in range(len(sizes))]
        plan = (list(groups), order, starts)
        self.__dict__["_kind_plan"] = (names, plan)
        return plan

    def _new_in_topic(
        self, employee: Employee, shared: np.ndarray, items: np.ndarray, freshness: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Freshness moves to ``topic_new`` for items in a topic the employee follows."""
        topics, lists = self.catalogue.topics, self.catalogue.topic_lists
        followed = {topics.code_of(tag) for tag in employee.interests} - {-1}
        for item in shared.tolist():
            followed.update(lists[item])
        new_topic = np.asarray(
            [next((c for c in lists[item] if c in followed), -1) for item in items.tolist()],
            np.int64,
        )
        moved = new_topic >= 0
        return {
            "freshness": np.where(moved, 0.0, freshness),
            "topic_new": np.where(moved, freshness, 0.0),
            "new_topic": new_topic,
        }

    def _similar_items(
        self, user: int, shared: np.ndarray, items: np.ndarray
    ) -> dict[str, np.ndarray]:
        """For each item, the most similar item the employee shared (else engaged with)."""
        vectors = self.unit_vectors()
        out = {"similar_item": np.full(len(items), -1, np.int64)}
        history, was_shared = shared, 1
        if not len(history) and user >= 0:
            seen = getattr(self.model, "seen_", None)
            engaged = sorted(seen[user])[-MAX_HISTORY:] if seen is not None else []
            history, was_shared = np.asarray(engaged, np.int64), 0
        if vectors is None or not len(history):
            return out
        history = history[history < len(vectors)]
        inside = items < len(vectors)
        if not len(history) or not inside.any():
            return out
        similarity = vectors[items[inside]] @ vectors[history].T
        best = similarity.argmax(axis=1)
        found = similarity[np.arange(len(best)), best] > 0
        out["similar_item"][np.flatnonzero(inside)[found]] = history[best[found]]
        out["similar_item_shared"] = np.full(len(items), was_shared)
        return out

    # -- the compiled path -------------------------------------------------------------
    def _kernel_reasons(
        self, user: int, employee: Employee, shared: np.ndarray, items: np.ndarray, as_of: float
    ) -> list[tuple[FeedReason, ...]]:
        """:meth:`for_feed` of a model with ``contribution_matrix`` through the compiled
        kernels (:mod:`recsys.feed_kernel`): the same reasons as :meth:`components` and
        :func:`feed_reasons_for_rows`, with details (similar items, ages) found only for
        the reasons chosen."""
        from recsys import feed_kernel

        items = np.ascontiguousarray(items, np.int64)
        names, rows = self.model.contribution_matrix(user, items, as_of)
        columns, column_of, fresh, topic = self._columns(names)
        k = len(items)
        if not columns:
            return [()] * k
        topics = self.catalogue.topics
        followed = np.zeros(len(topics.vocabulary), bool)
        if fresh >= 0:
            followed[self._interest_codes(employee.interests)] = True
            lists = self.catalogue.topic_lists
            followed[[c for item in shared.tolist() for c in lists[item]]] = True
        per_item = self.per_item
        chosen = np.zeros((k, per_item), np.int64)
        values = np.zeros((k, per_item))
        counts = np.zeros(k, np.int64)
        new_topic = np.zeros(k, np.int64)
        feed_kernel.choose_reasons(
            rows,
            column_of,
            len(columns),
            fresh,
            topic,
            topics.indptr,
            topics.codes,
            followed,
            items,
            per_item,
            float(self.min_contribution),
            chosen,
            values,
            counts,
            new_topic,
        )
        counts_list = counts.tolist()
        chosen_rows = chosen.tolist()
        picked = [
            [columns[c] for c in row[:n]] for row, n in zip(chosen_rows, counts_list, strict=True)
        ]
        texts = self._feed_texts(names, user)
        memo: dict[tuple, str] = self.__dict__.setdefault("_text_memo", {})
        if len(memo) > MAX_TEXTS:
            memo.clear()
        details: _Details | None = None
        vocabulary = topics.vocabulary
        look_up_topic: Lookup = lambda code: vocabulary[code]  # noqa: E731
        topic_list = new_topic.tolist()
        item_list = items.tolist()
        published = self.catalogue.published_at
        out: list[tuple[FeedReason, ...]] = []
        for t, (row, contributions) in enumerate(zip(chosen_rows, values.tolist(), strict=True)):
            reasons = []
            for c, value in zip(row[: counts_list[t]], contributions, strict=False):
                text = texts[c]
                if not isinstance(text, str):
                    kind = columns[c]
                    if details is None:
                        details = self._kernel_details(
                            user, shared, items, picked, new_topic, as_of
                        )
                    key = _text_key(kind, details, t, topic_list, item_list, published, as_of)
                    found = memo.get(key)
                    if found is None:
                        found = memo[key] = text(details, t, self.titles, look_up_topic)
                    text = found
                reasons.append(new_reason(columns[c], value, text))
            out.append(tuple(reasons))
        return out

    def _feed_texts(self, names: tuple[str, ...], user: int) -> list[str | Callable[..., str]]:
        """:meth:`_column_texts` with the texts that are the same for every item of this
        employee's feed written out: the taste's (cold or not) and the department trend's
        (no count of colleagues is computed here); cached per name list and cold flag."""
        cold = int(user < 0)
        cached = self.__dict__.get("_feed_texts_cache")
        if cached is not None and cached[0] == names:
            return cached[1][cold]
        variants = []
        for flag in (0, 1):
            texts = list(self._column_texts(names))
            one = _Details.__new__(_Details)
            one._lists = dict.fromkeys(DETAILS)
            one._lists["taste_cold"] = [flag]
            for c, kind in enumerate(self._columns(names)[0]):
                if kind in (ReasonKind.TASTE, ReasonKind.DEPARTMENT_TREND):
                    texts[c] = _TEXTS[kind](one, 0, None, None)
            variants.append(texts)
        self.__dict__["_feed_texts_cache"] = (names, variants)
        return variants[cold]

    def _interest_codes(self, interests: tuple[str, ...]) -> list[int]:
        """Topic codes of an employee's interests (remembered per interests)."""
        cache = self.__dict__.setdefault("_interests", {})
        codes = cache.get(interests)
        if codes is None:
            topics = self.catalogue.topics
            codes = [c for c in (topics.code_of(tag) for tag in interests) if c >= 0]
            if len(cache) < 4096:
                cache[interests] = codes
        return codes

    def _column_texts(self, names: tuple[str, ...]) -> list[str | Callable[..., str]]:
        """Per column of :meth:`_columns`, its constant text or the function writing it
        (as :func:`_text` chooses them); cached per name list."""
        cached = self.__dict__.get("_kernel_texts")
        if cached is not None and cached[0] == names:
            return cached[1]
        texts: list[str | Callable[..., str]] = [
            _CONSTANT_TEXTS.get(kind) or _TEXTS.get(kind) or "Popular across the company right now"
            for kind in self._columns(names)[0]
        ]
        self.__dict__["_kernel_texts"] = (names, texts)
        return texts

    def _columns(self, names: tuple[str, ...]) -> tuple[list[ReasonKind], np.ndarray, int, int]:
        """The reason columns of these components (:data:`KINDS` order, ``topic_new`` with
        ``freshness``), each component's column (-1: none), and the freshness and
        topic_new columns (-1: none); cached per name list."""
        cached = self.__dict__.get("_kernel_columns")
        if cached is not None and cached[0] == names:
            return cached[1]
        kinds = {component_kind(str(name)) for name in names} - {None}
        if ReasonKind.FRESHNESS in kinds:
            kinds.add(ReasonKind.TOPIC_NEW)
        columns = [kind for kind in KINDS if kind in kinds]
        index = {kind: j for j, kind in enumerate(columns)}
        column_of = np.asarray(
            [index.get(component_kind(str(name)), -1) for name in names],  # type: ignore[arg-type]
            np.int64,
        )
        plan = (
            columns,
            column_of,
            index.get(ReasonKind.FRESHNESS, -1),
            index.get(ReasonKind.TOPIC_NEW, -1),
        )
        self.__dict__["_kernel_columns"] = (names, plan)
        return plan

    def _kernel_details(
        self,
        user: int,
        shared: np.ndarray,
        items: np.ndarray,
        picked: list[list[ReasonKind]],
        new_topic: np.ndarray,
        as_of: float,
    ) -> _Details:
        """The detail lists :func:`_text` reads (what :meth:`components` computes), the
        ages only where a freshness reason was chosen, the similar items only when an
        affinity reason was (then with numpy's product, as :meth:`_similar_items`)."""
        k = len(items)
        lists: dict[str, list | None] = dict.fromkeys(DETAILS)
        lists["new_topic"] = new_topic.tolist()
        lists["taste_cold"] = [int(user < 0)] * k
        published = self.catalogue.published_at
        ages = [-1.0] * k
        for t, kinds in enumerate(picked):
            if ReasonKind.FRESHNESS in kinds:
                age = (as_of - float(published[items[t]])) / HOUR
                ages[t] = age if math.isfinite(age) else -1.0
        lists["age_hours"] = ages
        if any(ReasonKind.AFFINITY in kinds for kinds in picked):
            similar = self._similar_items(user, shared, items)  # the same product as numpy's
            lists["similar_item"] = similar["similar_item"].tolist()
            shared_flags = similar.get("similar_item_shared")
            lists["similar_item_shared"] = None if shared_flags is None else shared_flags.tolist()
        details = _Details.__new__(_Details)
        details._lists = lists
        return details
