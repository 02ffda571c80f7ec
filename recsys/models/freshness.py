"""The hybrid's freshness component: how old each item is at the request time."""

from __future__ import annotations

from typing import Self

import numpy as np

from recsys.dataset import Dataset
from recsys.models.component import FitContext, ScoreComponent, register
from recsys.times import HOUR


@register
class Freshness(ScoreComponent):
    """``log1p`` of the hours since the item's time (0 before it); item-only. Used when the
    dataset has item times; content added later brings its own."""

    name = "freshness"

    def left_out(self, dataset: Dataset) -> str | None:
        return "no item times" if dataset.item_times is None else None

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        if dataset.item_times is None:
            raise ValueError("freshness needs dataset.item_times")
        self.times_ = np.asarray(dataset.item_times, np.float64)
        return self

    def _values(self, item_times: np.ndarray, times: np.ndarray | float) -> np.ndarray:
        return np.log1p(np.maximum(np.asarray(times, np.float64) - item_times, 0.0) / HOUR)

    def is_item_only(self) -> bool:
        return True

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        return self._values(self.times_[items], times)

    def item_values(self, as_of: float) -> np.ndarray | None:
        return self._values(self.times_, as_of)

    def grow_items(self, internal, content_ids, features, times) -> None:
        self.times_ = np.concatenate([self.times_, np.asarray(times, np.float64)])

    def state(self) -> dict[str, np.ndarray]:
        return {"times": self.times_}

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.times_ = np.asarray(arrays["times"], np.float64)
        return self
