"""Diversity in a feed: caps per topic and per content type, or maximal marginal relevance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recsys.feed_arrays import Catalogue


@dataclass(frozen=True)
class Selection:
    """A re-ranked list: ``items`` and ``scores`` best first.

    ``within_caps`` is how many leading items were chosen respecting the caps; the rest (if
    any) are the best remaining items added because the caps left fewer than k.
    """

    items: np.ndarray
    scores: np.ndarray
    within_caps: int


def score_order(scores: np.ndarray) -> np.ndarray:
    """Positions by descending score; ties keep input order (deterministic)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def diversify(
    item_ids_ranked: np.ndarray | Sequence[int],
    scores: np.ndarray | Sequence[float],
    *,
    k: int,
    catalogue: Catalogue | None = None,
    max_per_topic: int | None = None,
    max_per_type: int | None = None,
) -> Selection:
    """Greedy top-``k``: walk the items by score, keep one unless it would exceed a cap.

    An item counts once for each of its topics (no topic = not topic-capped) and once for
    its content type. If the caps leave fewer than ``k`` items, the list is filled with the
    best remaining items (caps are soft: a short feed is worse than a repetitive one);
    :attr:`Selection.within_caps` tells where that fill starts. The best item is always
    first. Length: ``min(k, len(items))``.
    """
    items, scores = aligned_scores(item_ids_ranked, scores)
    check_caps(k, max_per_topic, max_per_type)
    if (max_per_topic or max_per_type) and catalogue is None:
        raise ValueError("diversity caps need the catalogue (topics and content types)")
    order = score_order(scores)
    chosen: list[int] = []
    if catalogue is None:
        chosen = order[:k].tolist()
    else:
        chosen = _within_caps(order, items, catalogue, k, max_per_topic, max_per_type)
    within = len(chosen)
    if within < min(k, len(order)):
        taken = set(chosen)
        chosen += [p for p in order.tolist() if p not in taken][: k - within]
    return Selection(items[chosen], scores[chosen], within)


def _within_caps(
    order: np.ndarray,
    items: np.ndarray,
    catalogue: Catalogue,
    k: int,
    max_per_topic: int | None,
    max_per_type: int | None,
) -> list[int]:
    walk = CapsWalk(catalogue, k, max_per_topic, max_per_type)
    walk.extend(order.tolist(), items[order].tolist())
    return walk.chosen


class CapsWalk:
    """The greedy caps walk of :func:`diversify`, fed in slices of the score order.

    :meth:`extend` continues where the previous slice stopped, so a caller that over-fetches
    more best items after a short walk pays only for the new ones. Counts are kept per
    topic/type; a topic or type at its cap joins a blocked set, so each item costs one
    ``isdisjoint`` check. ``chosen`` holds the kept positions (at most ``k``).
    """

    def __init__(
        self, catalogue: Catalogue, k: int, max_per_topic: int | None, max_per_type: int | None
    ) -> None:
        self.k = k
        self.chosen: list[int] = []
        self._topic_cap = max_per_topic or math.inf
        self._type_cap = max_per_type or math.inf
        self._topic_lists, self._kinds = catalogue.topic_lists, catalogue.type_list
        self._per_topic: dict[int, int] = {}
        self._per_type: dict[int, int] = {}
        self._full_topics: set[int] = set()
        self._full_types: set[int] = set()

    @property
    def done(self) -> bool:
        return len(self.chosen) >= self.k

    def extend(self, positions: list[int], items: list[int]) -> None:
        """Walk ``items`` (internal ids, best first) found at ``positions``."""
        chosen, k = self.chosen, self.k
        full_topics, full_types = self._full_topics, self._full_types
        per_topic, per_type = self._per_topic, self._per_type
        if len(chosen) >= k:
            return
        for position, item in zip(positions, items, strict=True):
            kind = self._kinds[item]
            topics = self._topic_lists[item]
            if kind in full_types or not full_topics.isdisjoint(topics):
                continue
            chosen.append(position)
            if len(chosen) == k:
                break
            count = per_type.get(kind, 0) + 1
            per_type[kind] = count
            if count >= self._type_cap:
                full_types.add(kind)
            for t in topics:
                count = per_topic.get(t, 0) + 1
                per_topic[t] = count
                if count >= self._topic_cap:
                    full_topics.add(t)


def mmr(
    candidates: np.ndarray | Sequence[int],
    scores: np.ndarray | Sequence[float],
    item_vectors: np.ndarray,
    k: int,
    lambda_: float = 0.7,
) -> Selection:
    """Maximal marginal relevance: repeatedly take the candidate maximising
    ``lambda_ * relevance - (1 - lambda_) * max cosine similarity to those taken``.

    ``item_vectors`` has one row per candidate (aligned with ``candidates``). Relevance is
    the score min-max scaled to [0, 1] so ``lambda_`` means the same for any scorer.
    ``lambda_=1`` is pure score order. Ties go to the higher score, then input order.
    """
    items, scores = aligned_scores(candidates, scores)
    vectors = np.asarray(item_vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) != len(items):
        raise ValueError("item_vectors needs one row per candidate")
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be in [0, 1], got {lambda_}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    order = score_order(scores)
    relevance = _scaled(scores[order])
    norms = np.linalg.norm(vectors[order], axis=1, keepdims=True)
    unit = np.divide(vectors[order], norms, out=np.zeros_like(vectors), where=norms > 0)
    closest = np.zeros(len(order))  # max similarity to the chosen items
    free = np.ones(len(order), dtype=bool)
    chosen: list[int] = []
    for _ in range(min(k, len(order))):
        value = np.where(free, lambda_ * relevance - (1 - lambda_) * closest, -np.inf)
        best = int(np.argmax(value))  # first maximum: higher score, then input order
        chosen.append(best)
        free[best] = False
        closest = np.maximum(closest, unit @ unit[best])
    picked = order[chosen]
    return Selection(items[picked], scores[picked], len(picked))


def _scaled(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values
    low, high = values.min(), values.max()
    return np.ones_like(values) if high == low else (values - low) / (high - low)


def aligned_scores(items: object, scores: object) -> tuple[np.ndarray, np.ndarray]:
    items = np.asarray(items, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if items.shape != scores.shape or items.ndim != 1:
        raise ValueError("items and scores must be one-dimensional and of the same length")
    return items, scores


def check_caps(k: int, *caps: int | None) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if any(cap is not None and cap < 1 for cap in caps):
        raise ValueError(f"caps must be None or >= 1, got {caps}")
