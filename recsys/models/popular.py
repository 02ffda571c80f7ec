"""Popularity baselines: all-time counts, and exponentially decayed live counts."""

from __future__ import annotations

import numpy as np

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.matrix import FeatureMatrix
from recsys.models.component import RecommenderComponent, register
from recsys.models.decayed import Decayed, log_trend


class Popular(Recommender):
    """Items ranked by how many interactions they had (weighted), the same for everyone."""

    name = "popular"

    def __init__(self, *, weighted: bool = False) -> None:
        self.weighted = weighted

    def _fit(self, dataset: Dataset) -> None:
        events = dataset.interactions
        weights = events.weights if self.weighted else np.ones(len(events), np.float32)
        self.counts_ = np.bincount(events.items, weights, minlength=len(dataset.items))

    def _score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        return np.broadcast_to(self.counts_[items], (len(users), len(items)))

    def _observe(self, users, items, times, weights) -> None:
        np.add.at(self.counts_, items, weights if self.weighted else 1.0)

    def _add_items(
        self, internal: np.ndarray, content_ids: list[str], features: FeatureMatrix | None
    ) -> None:
        self.counts_ = np.concatenate([self.counts_, np.zeros(len(internal))])

    def _state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts_}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.counts_ = arrays["counts"]


class RecentPopular(Decayed, Recommender):
    """Exponentially time-decayed counts: what is hot right now, kept live by ``observe``.

    An event of weight w at time t adds ``w * 2 ** (-(as_of - t) / half_life)`` to its
    item's score. The decayed sums are kept relative to the latest event time seen
    (``reference_``), so they never overflow and each event costs O(1).
    """

    name = "recent_popular"

    def __init__(self, *, half_life_days: float = 1.0, weighted: bool = False) -> None:
        self.half_life_days = half_life_days
        self.weighted = weighted

    def _fit(self, dataset: Dataset) -> None:
        if self.half_life_days <= 0:
            raise ValueError(f"half_life_days must be > 0, got {self.half_life_days}")
        self.decayed_ = np.zeros(len(dataset.items))
        self.reference_ = float(dataset.interactions.times.max(initial=0))
        events = dataset.interactions
        self._observe(events.users, events.items, events.times.astype(np.float64), events.weights)

    def _observe(self, users, items, times, weights) -> None:
        if len(times) == 0:
            return
        shift = self.advance(np.asarray(times))
        if shift != 1.0:
            self.decayed_ *= shift
        values = np.asarray(weights, np.float64) if self.weighted else np.ones(len(items))
        np.add.at(self.decayed_, items, values * self.decay(self.reference_ - np.asarray(times)))

    def _score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        return np.broadcast_to(self.decayed_[items] * self.factor(as_of), (len(users), len(items)))

    def _add_items(
        self, internal: np.ndarray, content_ids: list[str], features: FeatureMatrix | None
    ) -> None:
        self.decayed_ = np.concatenate([self.decayed_, np.zeros(len(internal))])

    def _state(self) -> dict[str, np.ndarray]:
        return {"decayed": self.decayed_, "reference": np.asarray([self.reference_])}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.decayed_ = arrays["decayed"]
        self.reference_ = float(arrays["reference"][0])


@register
class GlobalTrend(RecentPopular, RecommenderComponent):
    """The hybrid's global trend: ``log1p`` of :class:`RecentPopular`'s decayed count at the
    request time (item-only; the hybrid has a short and a long half-life one)."""

    name = "global_trend"

    def is_item_only(self) -> bool:
        return True

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        return log_trend(self.decayed_[items], self.factor(times))

    def item_values(self, as_of: float) -> np.ndarray | None:
        return log_trend(self.decayed_, self.factor(as_of))
