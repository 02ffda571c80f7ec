"""The hybrid's co-visitation component: what people read next after what the employee just read.

A transition ``a -> b`` is counted when a person touches ``b`` at most ``window_hours`` after
touching ``a`` (``a != b``; each of the person's last ``history`` distinct items counts;
``symmetric`` counts ``b -> a`` too). Event weights count with ``weighted``, else 1 each.
Counts decay with ``half_life_days`` and are kept live by every event. The value of
(employee u, item i) at time t is a decayed conditional "read next" probability summed over
u's own recent items::

    sum_k 2 ** (-(t - t_k) / session_half_life) * C_t[h_k, i] / (out_t[h_k] + alpha)

with ``h_k`` u's last distinct items (touched at ``t_k``), ``C_t`` the decayed transition
counts at ``t`` and ``out_t[h]`` their row sums. Unknown employees and content with no
transition score 0. The counts are an items x items matrix, so the component is left out
above ``max_items`` items. The defaults (symmetric, 6-minute window and session half-life)
were chosen on DeskDrop's validation days (``experiments/rolling_covisit.py``).

Decay without rescanning the matrix on every event: counts are stored multiplied by
``2 ** ((t_event - base_) / half_life)``, so the conditional at ``t`` is
``stored[h, i] / (stored_out[h] + alpha * 2 ** ((t - base_) / half_life))``; ``base_`` moves
forward (the stored values rescaled once) before the multiplier grows past 2**40.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from recsys.dataset import Dataset
from recsys.models.component import FitContext, Fold, ScoreComponent, register
from recsys.models.decayed import NEGLIGIBLE, drop_negligible
from recsys.times import DAY, HOUR

#: Largest exponent of the stored counts' multiplier before ``base_`` moves forward.
MAX_EXPONENT = 40.0


@register
class CoVisit(ScoreComponent):
    """Session co-visitation: "people who read what you just read read this next" (see the
    module docstring for the formula and its parameters)."""

    name = "covisit"

    def __init__(
        self,
        *,
        window_hours: float = 0.1,
        history: int = 5,
        session_half_life_hours: float = 0.1,
        half_life_days: float = 7.0,
        alpha: float = 1.0,
        weighted: bool = False,
        symmetric: bool = True,
        max_items: int = 5_000,
    ) -> None:
        self.window_hours = window_hours
        self.history = history
        self.session_half_life_hours = session_half_life_hours
        self.half_life_days = half_life_days
        self.alpha = alpha
        self.weighted = weighted
        self.symmetric = symmetric
        self.max_items = max_items

    def left_out(self, dataset: Dataset) -> str | None:
        if len(dataset.items) > self.max_items:
            return f"{len(dataset.items)} items > max_items={self.max_items}"
        return None

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        for key in ("window_hours", "session_half_life_hours", "half_life_days", "alpha"):
            if not getattr(self, key) > 0:
                raise ValueError(f"covisit {key} must be > 0, got {getattr(self, key)}")
        if self.history < 1:
            raise ValueError(f"covisit history must be >= 1, got {self.history}")
        events = dataset.interactions
        n_users, n_items = len(dataset.users), len(dataset.items)
        self.last_items_ = np.full((n_users, self.history), -1, np.int64)
        self.last_times_ = np.zeros((n_users, self.history), np.float64)
        self.counts_ = np.zeros((n_items, n_items), np.float32)
        self.out_ = np.zeros(n_items, np.float64)
        self.base_ = float(events.times.min()) if len(events) else 0.0
        order = np.argsort(events.times, kind="stable")
        self.observe_events(
            events.users[order], events.items[order], events.times[order], events.weights[order]
        )
        return self

    # -- shapes -----------------------------------------------------------------------
    def _multiplier(self, times: np.ndarray | float) -> np.ndarray:
        """``2 ** ((t - base_) / half_life)``: the stored counts' scale at each time."""
        exponent = (np.asarray(times, np.float64) - self.base_) / (self.half_life_days * DAY)
        return np.exp2(exponent)

    def _coefficients(self, users: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each employee's last items (-1: none) and their weights at ``times``: the session
        decay over the conditional's denominator (0 for empty slots, unknown employees and
        weights below :data:`~recsys.models.decayed.NEGLIGIBLE`, a session days old)."""
        users = np.asarray(users, np.int64)
        known = users >= 0
        history = np.full((len(users), self.history), -1, np.int64)
        touched = np.zeros((len(users), self.history))
        history[known] = self.last_items_[users[known]]
        touched[known] = self.last_times_[users[known]]
        times = np.broadcast_to(np.asarray(times, np.float64), (len(users),))[:, None]
        age = np.maximum(times - touched, 0.0)
        session = np.exp2(-age / (self.session_half_life_hours * HOUR))
        denominator = self.out_[history.clip(0)] + self.alpha * self._multiplier(times)
        weights = np.where(history >= 0, session / denominator, 0.0)
        weights[weights < NEGLIGIBLE] = 0.0  # no subnormal float32 in the folded product
        return history, weights

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        history, weights = self._coefficients(users, times)
        items = np.asarray(items, np.int64)
        counts = self.counts_[history.clip(0), items[:, None]].astype(np.float64)
        return (weights * counts).sum(axis=1)

    def live_scores(
        self, users: np.ndarray, columns: np.ndarray | None, as_of: float, fold: Fold
    ) -> np.ndarray | None:
        history, weights = self._coefficients(users, np.full(len(users), as_of))
        if not (weights > 0).any():
            return None
        rows = np.repeat(np.arange(len(users)), self.history)
        spread = sp.csr_matrix(
            (weights.ravel().astype(np.float32), (rows, history.clip(0).ravel())),
            shape=(len(users), self.counts_.shape[0]),
        )
        block = np.asarray(spread @ self.counts_, np.float32)
        block *= fold.float_weights[None, :]
        return block if columns is None else block[:, columns]

    # -- live state -------------------------------------------------------------------
    def observe_events(self, users, items, times, weights) -> None:
        """Count each event's transitions from the person's recent items, then make its item
        the person's latest (events in time order)."""
        if len(times) == 0:
            return
        times = np.asarray(times, np.float64)
        self._rebase(float(times.max()))
        values = np.asarray(weights, np.float64) if self.weighted else np.ones(len(times))
        values = values * self._multiplier(times)
        window = self.window_hours * HOUR
        for user, item, time, value in zip(
            np.asarray(users, np.int64).tolist(),
            np.asarray(items, np.int64).tolist(),
            times.tolist(),
            values.tolist(),
            strict=True,
        ):
            recent = self.last_items_[user]
            close = (recent >= 0) & (recent != item) & (time - self.last_times_[user] <= window)
            sources = recent[close]
            self.counts_[sources, item] += np.float32(value)
            self.out_[sources] += value
            if self.symmetric and len(sources):
                self.counts_[item, sources] += np.float32(value)
                self.out_[item] += value * len(sources)
            self._push(user, item, time)

    def _push(self, user: int, item: int, time: float) -> None:
        """``item`` becomes the employee's latest item (an earlier entry of it moves up)."""
        recent, touched = self.last_items_[user], self.last_times_[user]
        found = np.flatnonzero(recent == item)
        end = int(found[0]) if len(found) else self.history - 1
        recent[1 : end + 1] = recent[:end].copy()
        touched[1 : end + 1] = touched[:end].copy()
        recent[0], touched[0] = item, time

    def _rebase(self, latest: float) -> None:
        """Move ``base_`` to ``latest`` (stored counts rescaled) before the multiplier of
        ``latest`` passes ``2 ** MAX_EXPONENT``."""
        if (latest - self.base_) / (self.half_life_days * DAY) <= MAX_EXPONENT:
            return
        shift = float(np.exp2((self.base_ - latest) / (self.half_life_days * DAY)))
        drop_negligible(np.multiply(self.counts_, np.float32(shift), out=self.counts_))
        drop_negligible(np.multiply(self.out_, shift, out=self.out_))
        self.base_ = latest

    def grow_users(self, count: int) -> None:
        self.last_items_ = np.vstack([self.last_items_, np.full((count, self.history), -1)])
        self.last_times_ = np.vstack([self.last_times_, np.zeros((count, self.history))])

    def grow_items(self, internal, content_ids, features, times) -> None:
        extra = len(internal)
        self.counts_ = np.pad(self.counts_, ((0, extra), (0, extra)))
        self.out_ = np.concatenate([self.out_, np.zeros(extra)])

    # -- persistence ------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        return {
            "last_items": self.last_items_,
            "last_times": self.last_times_,
            "counts": self.counts_,
            "out": self.out_,
            "base": np.asarray([self.base_]),
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.last_items_ = np.asarray(arrays["last_items"], np.int64)
        self.last_times_ = np.asarray(arrays["last_times"], np.float64)
        self.counts_ = np.asarray(arrays["counts"], np.float32)
        self.out_ = np.asarray(arrays["out"], np.float64)
        self.base_ = float(arrays["base"][0])
        return self
