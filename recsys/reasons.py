"""Why an item is recommended: reasons derived from the components of its score.

A scorer that can split its score into additive parts fills a :class:`ScoreComponents`
(one array per part, aligned with the candidates, holding each part's *contribution to
the score*, i.e. already weighted). :func:`reasons_for` turns the parts of one candidate
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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum

import numpy as np

MAX_REASONS = 3


class ReasonKind(StrEnum):
    """The score components a reason can come from."""

    AFFINITY = "affinity"
    DEPARTMENT_TREND = "department_trend"
    TOPIC_NEW = "topic_new"
    FRESHNESS = "freshness"
    GLOBAL_TREND = "global_trend"


KINDS: tuple[ReasonKind, ...] = tuple(ReasonKind)

# A lookup is a mapping or a callable from an internal id (item or topic code) to text.
Lookup = Mapping[int, str] | Callable[[int], str]


@dataclass(frozen=True)
class ScoreComponents:
    """Additive contributions to the score, one float array per part, aligned with candidates.

    A part left ``None`` was not computed (it never gives a reason). The detail arrays
    (ints, ``-1`` or negative = unknown) say what is behind a part:

    - ``similar_item``: the past shared/engaged item (internal id) most similar to the
      candidate, behind ``affinity``;
    - ``department_engagers``: colleagues of the employee's department who engaged with
      the candidate this week, behind ``department_trend``;
    - ``new_topic``: the followed topic (code) in which the candidate is new, behind
      ``topic_new``;
    - ``age_hours``: float hours since publication, behind ``freshness``.
    """

    affinity: np.ndarray | None = None
    department_trend: np.ndarray | None = None
    topic_new: np.ndarray | None = None
    freshness: np.ndarray | None = None
    global_trend: np.ndarray | None = None
    similar_item: np.ndarray | None = None
    department_engagers: np.ndarray | None = None
    new_topic: np.ndarray | None = None
    age_hours: np.ndarray | None = None

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


@dataclass(frozen=True)
class Reason:
    """One reason: where it comes from, how much it contributed, and its text."""

    kind: ReasonKind
    contribution: float
    text: str


def reasons_for(
    components: ScoreComponents,
    position: int,
    k: int = 1,
    *,
    titles: Lookup | None = None,
    topics: Lookup | None = None,
    min_contribution: float = 0.0,
) -> tuple[Reason, ...]:
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
    return tuple(
        Reason(kind, value, _text(kind, components, position, titles, topics))
        for kind, value in named[:k]
    )


def _text(
    kind: ReasonKind,
    components: ScoreComponents,
    position: int,
    titles: Lookup | None,
    topics: Lookup | None,
) -> str:
    if kind is ReasonKind.AFFINITY:
        title = _look_up(titles, _detail(components.similar_item, position))
        return f"Similar to “{title}” you shared" if title else "Similar to what you share"
    if kind is ReasonKind.DEPARTMENT_TREND:
        count = _detail(components.department_engagers, position)
        if count is None or count < 1:
            return "Trending in your department"
        noun = "colleague" if count == 1 else "colleagues"
        return f"Trending in your department ({count} {noun} engaged this week)"
    if kind is ReasonKind.TOPIC_NEW:
        name = _look_up(topics, _detail(components.new_topic, position))
        return f"New in {name}" if name else "New in a topic you follow"
    if kind is ReasonKind.FRESHNESS:
        hours = None if components.age_hours is None else components.age_hours[position]
        return f"Just published ({_age(hours)})" if _known(hours) else "Just published"
    return "Popular across the company right now"


def _detail(values: np.ndarray | None, position: int) -> int | None:
    if values is None or values[position] < 0:
        return None
    return int(values[position])


def _look_up(lookup: Lookup | None, key: int | None) -> str | None:
    if lookup is None or key is None:
        return None
    if callable(lookup):
        return lookup(key) or None
    return lookup.get(key) or None


def _known(hours: float | None) -> bool:
    return hours is not None and bool(np.isfinite(hours)) and hours >= 0


def _age(hours: float) -> str:
    if hours < 1:
        return "less than an hour ago"
    if hours < 48:
        whole = int(hours)
        return f"{whole} hour ago" if whole == 1 else f"{whole} hours ago"
    return f"{int(hours // 24)} days ago"
