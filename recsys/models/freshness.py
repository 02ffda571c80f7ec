"""The hybrid's freshness component: how old each item is at the request time."""

from __future__ import annotations

from typing import Self

import numpy as np

from recsys.dataset import Dataset
from recsys.models.component import FitContext, Fold, ScoreComponent, register
from recsys.models.decayed import drop_negligible
from recsys.times import DAY, HOUR


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


@register
class FreshBoost(Freshness):
    """``exp(-hours since the item's time / tau_hours)`` (1 before it): a boost of new content
    that fades with a time constant, beside ``freshness``'s ``log1p`` of its age; item-only."""

    name = "fresh_boost"

    def __init__(self, *, tau_hours: float = 6.0) -> None:
        self.tau_hours = tau_hours

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        if not self.tau_hours > 0:
            raise ValueError(f"fresh_boost tau_hours must be > 0, got {self.tau_hours}")
        return super().fit_component(dataset, context)

    def _values(self, item_times: np.ndarray, times: np.ndarray | float) -> np.ndarray:
        hours = np.maximum(np.asarray(times, np.float64) - item_times, 0.0) / HOUR
        return np.exp(-hours / self.tau_hours)


@register
class Velocity(Freshness):
    """Engagement velocity of new content: ``log1p(count_t / (age_hours + offset_hours))``
    for content younger than ``max_age_hours`` at t (0 otherwise), ``count_t`` its events'
    count decayed with ``half_life_days`` (kept live by events); item-only."""

    name = "velocity"

    def __init__(
        self,
        *,
        half_life_days: float = 1 / 24,
        offset_hours: float = 1.0,
        max_age_hours: float = 24.0,
        weighted: bool = False,
    ) -> None:
        self.half_life_days = half_life_days
        self.offset_hours = offset_hours
        self.max_age_hours = max_age_hours
        self.weighted = weighted

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        for key in ("half_life_days", "offset_hours", "max_age_hours"):
            if not getattr(self, key) > 0:
                raise ValueError(f"velocity {key} must be > 0, got {getattr(self, key)}")
        super().fit_component(dataset, context)
        events = dataset.interactions
        self.counts_ = np.zeros(len(self.times_))
        self.reference_ = float(events.times.max(initial=0))
        self.observe_events(events.users, events.items, events.times, events.weights)
        return self

    def _decay(self, seconds: np.ndarray | float) -> np.ndarray:
        return np.exp2(-np.asarray(seconds, np.float64) / (self.half_life_days * DAY))

    def _counts(self, items: np.ndarray | slice, times: np.ndarray | float) -> np.ndarray:
        since = np.maximum(np.asarray(times, np.float64) - self.reference_, 0.0)
        return self.counts_[items] * self._decay(since)

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        items = np.asarray(items, np.int64)
        return self._velocity(self._counts(items, times), self.times_[items], times)

    def item_values(self, as_of: float) -> np.ndarray | None:
        return self._velocity(self._counts(slice(None), as_of), self.times_, as_of)

    def _velocity(self, counts: np.ndarray, item_times: np.ndarray, times) -> np.ndarray:
        hours = np.maximum(np.asarray(times, np.float64) - item_times, 0.0) / HOUR
        values = np.log1p(counts / (hours + self.offset_hours))
        return np.where(hours < self.max_age_hours, values, 0.0)

    def observe_events(self, users, items, times, weights) -> None:
        if len(times) == 0:
            return
        times = np.asarray(times, np.float64)
        latest = max(float(times.max()), self.reference_)
        self.counts_ *= self._decay(latest - self.reference_)
        drop_negligible(self.counts_)
        self.reference_ = latest
        values = np.asarray(weights, np.float64) if self.weighted else np.ones(len(times))
        np.add.at(self.counts_, np.asarray(items, np.int64), values * self._decay(latest - times))

    def grow_items(self, internal, content_ids, features, times) -> None:
        super().grow_items(internal, content_ids, features, times)
        self.counts_ = np.concatenate([self.counts_, np.zeros(len(internal))])

    def state(self) -> dict[str, np.ndarray]:
        return super().state() | {
            "counts": self.counts_,
            "reference": np.asarray([self.reference_]),
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        super().load_state(arrays)
        self.counts_ = np.asarray(arrays["counts"], np.float64)
        self.reference_ = float(arrays["reference"][0])
        return self


@register
class AgeHabit(Freshness):
    """How well the item's age fits the employee's habit: with ``p_u`` the employee's share
    of reads of content younger than ``fresh_hours`` at the read (smoothed towards everyone's
    share with ``prior`` reads; everyone's share for unknown employees), the value of item i
    at t is ``p_u`` when i is younger than ``fresh_hours`` at t, else ``1 - p_u``. Counts
    are undecayed and kept live by events."""

    name = "age_habit"

    def __init__(self, *, fresh_hours: float = 24.0, prior: float = 2.0) -> None:
        self.fresh_hours = fresh_hours
        self.prior = prior

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        for key in ("fresh_hours", "prior"):
            if not getattr(self, key) > 0:
                raise ValueError(f"age_habit {key} must be > 0, got {getattr(self, key)}")
        super().fit_component(dataset, context)
        self.fresh_ = np.zeros(len(dataset.users))
        self.total_ = np.zeros(len(dataset.users))
        events = dataset.interactions
        self.observe_events(events.users, events.items, events.times, events.weights)
        return self

    def is_item_only(self) -> bool:
        return False

    def item_values(self, as_of: float) -> np.ndarray | None:
        return None

    def _shares(self, users: np.ndarray) -> np.ndarray:
        """``p_u`` of each employee (everyone's share for -1)."""
        users = np.asarray(users, np.int64)
        overall = (self.fresh_.sum() + 1.0) / (self.total_.sum() + 2.0)
        known = users >= 0
        fresh, total = np.zeros(len(users)), np.zeros(len(users))
        fresh[known], total[known] = self.fresh_[users[known]], self.total_[users[known]]
        return (fresh + self.prior * overall) / (total + self.prior)

    def _is_fresh(self, item_times: np.ndarray, times) -> np.ndarray:
        return np.asarray(times, np.float64) - item_times < self.fresh_hours * HOUR

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        shares = self._shares(users)
        fresh = self._is_fresh(self.times_[np.asarray(items, np.int64)], times)
        return np.where(fresh, shares, 1.0 - shares)

    def live_scores(
        self, users: np.ndarray, columns: np.ndarray | None, as_of: float, fold: Fold
    ) -> np.ndarray | None:
        shares = self._shares(users)[:, None]
        times = self.times_ if columns is None else self.times_[columns]
        fresh = self._is_fresh(times, as_of)[None, :]
        weights = fold.weights if columns is None else fold.weights[columns]
        return (np.where(fresh, shares, 1.0 - shares) * weights[None, :]).astype(np.float32)

    def observe_events(self, users, items, times, weights) -> None:
        users = np.asarray(users, np.int64)
        fresh = self._is_fresh(self.times_[np.asarray(items, np.int64)], times)
        np.add.at(self.fresh_, users, fresh.astype(np.float64))
        np.add.at(self.total_, users, 1.0)

    def grow_users(self, count: int) -> None:
        self.fresh_ = np.concatenate([self.fresh_, np.zeros(count)])
        self.total_ = np.concatenate([self.total_, np.zeros(count)])

    def state(self) -> dict[str, np.ndarray]:
        return super().state() | {"fresh": self.fresh_, "total": self.total_}

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        super().load_state(arrays)
        self.fresh_ = np.asarray(arrays["fresh"], np.float64)
        self.total_ = np.asarray(arrays["total"], np.float64)
        return self
