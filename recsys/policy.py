"""The ranking policy applied after scoring: eligibility, diversity and reasons.

Everything works on content *internal* ids (rows of a :class:`Catalogue`, the same
numbering as a fitted model's ``items_``) and plain numpy arrays.

- :func:`eligible_mask` keeps what an employee may see: approved, published at ``as_of``,
  not expired, their region/department/language allowed (an empty allowed list means
  everyone), not already shared (nor dismissed) by them. :func:`explain_ineligible` names
  the first rule (in :class:`Rule` order) that excludes each item.
- :func:`~recsys.diversity.diversify` caps items per topic and per content type in the
  top k (greedy, best first); :func:`~recsys.diversity.mmr` is the maximal-marginal-relevance
  alternative on item vectors.
- :class:`RankingPolicy` chains them and attaches reasons (:mod:`recsys.reasons`).

Codes (regions, departments, languages, topics, types) are matched case-insensitively
after stripping blanks; an employee without a region (or department, or languages) is not
eligible for content restricted on that attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from recsys.diversity import Selection, aligned_scores, check_caps, diversify, mmr
from recsys.feed_arrays import Catalogue, CodeSets, Employee
from recsys.reasons import FeedReason, Lookup, ScoreComponents, feed_reasons_for_rows


class Rule(StrEnum):
    """Eligibility rules, in the order :func:`explain_ineligible` reports them."""

    NOT_APPROVED = "not_approved"
    HELD = "held_by_screening"
    NOT_PUBLISHED = "not_published"
    EXPIRED = "expired"
    REGION = "region_not_allowed"
    DEPARTMENT = "department_not_allowed"
    LANGUAGE = "language_not_allowed"
    ALREADY_SHARED = "already_shared"
    DISMISSED = "dismissed"


def rule_violations(
    catalogue: Catalogue,
    employee: Employee,
    items: np.ndarray | Sequence[int],
    as_of: float,
    shared_items: Iterable[int] = (),
    dismissed_items: Iterable[int] = (),
) -> dict[Rule, np.ndarray]:
    """For each rule, a bool array over ``items``: True where the rule excludes the item."""
    items = np.asarray(items, dtype=np.int64)
    published = catalogue.published_at[items]
    expires = catalogue.expires_at[items]
    return {
        Rule.NOT_APPROVED: ~catalogue.approved[items],
        Rule.HELD: ~catalogue.screened[items],  # type: ignore[index]
        Rule.NOT_PUBLISHED: ~(published <= as_of),  # NaN (never published) fails too
        Rule.EXPIRED: expires <= as_of,  # NaN (no expiry) never does
        Rule.REGION: _restricted(catalogue.allowed_regions, [employee.region], items),
        Rule.DEPARTMENT: _restricted(catalogue.allowed_departments, [employee.department], items),
        Rule.LANGUAGE: _restricted(catalogue.allowed_languages, employee.languages, items),
        Rule.ALREADY_SHARED: np.isin(items, _ids(shared_items)),
        Rule.DISMISSED: np.isin(items, _ids(dismissed_items)),
    }


def _ids(values: Iterable[int]) -> np.ndarray:
    return np.fromiter((int(i) for i in values), dtype=np.int64)


def audience_mask(catalogue: Catalogue, employee: Employee) -> np.ndarray:
    """Bool per catalogue item: do the employee's region, department and languages allow it?

    The per-employee part of :func:`eligible_mask` over the whole catalogue, for callers
    that combine it with :meth:`Catalogue.live` and their own exclusions.
    """
    every = np.arange(len(catalogue))
    allowed = ~_restricted(catalogue.allowed_regions, [employee.region], every)
    allowed &= ~_restricted(catalogue.allowed_departments, [employee.department], every)
    allowed &= ~_restricted(catalogue.allowed_languages, employee.languages, every)
    return allowed


def _restricted(sets: CodeSets, values: Iterable[object], items: np.ndarray) -> np.ndarray:
    """True where the item has an allowed list and none of ``values`` is on it."""
    allowed = sets.rows_containing_any(v for v in values if v is not None)
    return (sets.sizes()[items] > 0) & ~allowed[items]


def eligible_mask(
    catalogue: Catalogue,
    employee: Employee,
    items: np.ndarray | Sequence[int],
    as_of: float,
    shared_items: Iterable[int] = (),
    dismissed_items: Iterable[int] = (),
) -> np.ndarray:
    """Bool per item in ``items`` (internal ids): may ``employee`` be shown it at ``as_of``?"""
    excluded = np.zeros(len(np.asarray(items)), dtype=bool)
    violations = rule_violations(catalogue, employee, items, as_of, shared_items, dismissed_items)
    for violated in violations.values():
        excluded |= violated
    return ~excluded


def explain_ineligible(
    catalogue: Catalogue,
    employee: Employee,
    items: np.ndarray | Sequence[int],
    as_of: float,
    shared_items: Iterable[int] = (),
    dismissed_items: Iterable[int] = (),
) -> list[Rule | None]:
    """The first rule (in :class:`Rule` order) excluding each item; ``None`` = eligible."""
    reasons: list[Rule | None] = [None] * len(np.asarray(items))
    violations = rule_violations(catalogue, employee, items, as_of, shared_items, dismissed_items)
    for rule, violated in violations.items():
        for position in np.flatnonzero(violated):
            reasons[position] = reasons[position] or rule
    return reasons


@dataclass(frozen=True)
class PolicyConfig:
    """How :class:`RankingPolicy` builds a feed."""

    k: int = 20
    max_per_topic: int | None = None
    max_per_type: int | None = None
    use_mmr: bool = False  # MMR on item vectors instead of the caps
    mmr_lambda: float = 0.7
    reasons_per_item: int = 2
    min_contribution: float = 0.0  # a component must contribute more to be a reason

    def __post_init__(self) -> None:
        check_caps(self.k, self.max_per_topic, self.max_per_type)
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must be in [0, 1], got {self.mmr_lambda}")
        if not 1 <= self.reasons_per_item <= 3:
            raise ValueError(f"reasons_per_item must be 1-3, got {self.reasons_per_item}")


@dataclass(frozen=True)
class Recommendation:
    """One feed entry: content internal id, its score and why."""

    item: int
    score: float
    reasons: tuple[FeedReason, ...] = ()


@dataclass(frozen=True)
class RankingPolicy:
    """Eligibility, then diversity (caps or MMR), then reasons, over scored candidates."""

    config: PolicyConfig = field(default_factory=PolicyConfig)

    def rank(
        self,
        candidates: np.ndarray | Sequence[int],
        scores: np.ndarray | Sequence[float],
        *,
        catalogue: Catalogue,
        employee: Employee,
        as_of: float,
        shared_items: Iterable[int] = (),
        components: ScoreComponents | None = None,
        item_vectors: np.ndarray | None = None,
        titles: Lookup | None = None,
    ) -> list[Recommendation]:
        """The final top-k for one employee, best first.

        ``candidates`` are content internal ids with their ``scores`` (and optional
        ``components``, aligned). Duplicated candidates keep their first entry; items with
        a non-finite score are dropped. ``item_vectors`` (one row per catalogue item) is
        needed with ``use_mmr``; ``titles`` renders "similar to" reasons. Topic names for
        "new in" reasons come from the catalogue.
        """
        items, values = aligned_scores(candidates, scores)
        if components is not None and len(components) not in (0, len(items)):
            raise ValueError("score components must be aligned with the candidates")
        _, first = np.unique(items, return_index=True)
        keep = np.sort(first)
        keep = keep[np.isfinite(values[keep])]
        keep = keep[eligible_mask(catalogue, employee, items[keep], as_of, shared_items)]
        chosen = select(items[keep], values[keep], self.config, catalogue, item_vectors)
        picked = keep[chosen.items]
        reasons: list[tuple[FeedReason, ...]] = [()] * len(picked)
        if components is not None and len(components) and len(picked):
            reasons = feed_reasons_for_rows(
                components.take(picked),
                self.config.reasons_per_item,
                titles=titles,
                topics=dict(enumerate(catalogue.topics.vocabulary)),
                min_contribution=self.config.min_contribution,
            )
        return [
            Recommendation(int(items[p]), float(values[p]), r)
            for p, r in zip(picked.tolist(), reasons, strict=True)
        ]


def select(
    items: np.ndarray,
    scores: np.ndarray,
    config: PolicyConfig,
    catalogue: Catalogue,
    item_vectors: np.ndarray | None = None,
) -> Selection:
    """The feed as positions into ``items`` (distinct internal ids), in order.

    Caps per topic / type (:func:`~recsys.diversity.diversify`) or, with ``use_mmr``, MMR on
    ``item_vectors`` (one row per catalogue item). ``within_caps`` as in :class:`Selection`.
    """
    items, scores = aligned_scores(items, scores)
    if len(items) == 0:
        return Selection(np.zeros(0, np.int64), np.zeros(0), 0)
    if config.use_mmr:
        if item_vectors is None:
            raise ValueError("use_mmr needs item_vectors")
        vectors = np.asarray(item_vectors)[items]
        return mmr(np.arange(len(items)), scores, vectors, config.k, config.mmr_lambda)
    ranked = diversify(
        items,
        scores,
        k=config.k,
        catalogue=catalogue,
        max_per_topic=config.max_per_topic,
        max_per_type=config.max_per_type,
    )
    order = np.argsort(items, kind="stable")
    positions = order[np.searchsorted(items[order], ranked.items)]
    return Selection(positions.astype(np.int64), ranked.scores, ranked.within_caps)
