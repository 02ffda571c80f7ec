"""The hybrid's co-reader trend: what the employee's nearest co-readers engage with now.

Two live employees x items arrays, both kept by every event: ``history`` (decayed with
``history_half_life_days``), from which the similarity of two employees is the cosine of
their rows, and ``recent`` (decayed with ``half_life_days``, 1 hour by default). The value
of (employee u, item i) at time t is::

    sum over v in N_k(u) of cos(h_u, h_v) * recent_t[v, i]

with ``N_k(u)`` the ``neighbours`` employees other than u of largest positive cosine at t.
Unlike ``colleague_trend`` (LightFM taste vectors fixed at fit), the neighbours come from
direct co-reads and follow the events, so fresh content read first by the employee's usual
co-readers scores at once. Unknown employees, and employees with no history, score 0. The
arrays are employees x items, so the component is left out above ``max_cells`` of them.
The defaults (30 neighbours, 1-hour recent half-life, 30-day history half-life) were chosen
on DeskDrop's validation days (``experiments/rolling_components.py``).

Both arrays are stored multiplied by ``2 ** ((t_event - base) / half_life)`` (their own
``base``), so an event costs no pass over the arrays; the cosine does not depend on the
common factor, the recent value at ``t`` is the stored one times ``2 ** (-(t - base) /
half_life)``. A base moves forward (the stored values rescaled once) before the multiplier
grows past ``2 ** MAX_EXPONENT``.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from recsys.dataset import Dataset
from recsys.models.component import FitContext, Fold, ScoreComponent, register
from recsys.models.decayed import drop_negligible
from recsys.times import DAY

#: Largest exponent of a stored array's multiplier before its base moves forward.
MAX_EXPONENT = 40.0


@register
class NeighbourTrend(ScoreComponent):
    """Time-decayed user-user neighbours (see the module docstring for the formula)."""

    name = "neighbour_trend"

    def __init__(
        self,
        *,
        neighbours: int = 30,
        half_life_days: float = 1 / 24,
        history_half_life_days: float = 30.0,
        weighted: bool = False,
        max_cells: int = 20_000_000,
    ) -> None:
        self.neighbours = neighbours
        self.half_life_days = half_life_days
        self.history_half_life_days = history_half_life_days
        self.weighted = weighted
        self.max_cells = max_cells

    def left_out(self, dataset: Dataset) -> str | None:
        cells = len(dataset.users) * len(dataset.items)
        if cells > self.max_cells:
            return f"{cells} employee x item cells > max_cells={self.max_cells}"
        return None

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        for key in ("half_life_days", "history_half_life_days"):
            if not getattr(self, key) > 0:
                raise ValueError(f"neighbour_trend {key} must be > 0, got {getattr(self, key)}")
        if self.neighbours < 1:
            raise ValueError(f"neighbour_trend neighbours must be >= 1, got {self.neighbours}")
        events = dataset.interactions
        shape = (len(dataset.users), len(dataset.items))
        self.history_ = np.zeros(shape, np.float32)
        self.recent_ = np.zeros(shape, np.float32)
        self.norms_ = np.zeros(shape[0], np.float64)
        start = float(events.times.min()) if len(events) else 0.0
        self.bases_ = np.asarray([start, start])  # history's, recent's
        self.observe_events(events.users, events.items, events.times, events.weights)
        return self

    # -- shapes -----------------------------------------------------------------------
    def _similar(self, users: np.ndarray) -> sp.csr_matrix:
        """Rows of the neighbours' cosines: (len(users), employees), k per row at most."""
        users = np.asarray(users, np.int64)
        n = self.history_.shape[0]
        known = np.flatnonzero((users >= 0) & (self.norms_[users.clip(0)] > 0))
        if not len(known) or n < 2:
            return sp.csr_matrix((len(users), n), dtype=np.float32)
        rows = users[known]
        dots = np.asarray(self.history_[rows] @ self.history_.T, np.float64)
        norms = np.where(self.norms_ > 0, self.norms_, np.inf)
        cosines = dots / self.norms_[rows][:, None] / norms[None, :]
        cosines[np.arange(len(rows)), rows] = 0.0
        k = min(self.neighbours, n - 1)
        top = np.argpartition(-cosines, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(cosines, top, axis=1)
        values[values <= 0] = 0.0
        out = sp.csr_matrix(
            (values.ravel().astype(np.float32), (np.repeat(known, k), top.ravel())),
            shape=(len(users), n),
        )
        out.eliminate_zeros()
        return out

    def _recent_scale(self, times: np.ndarray | float) -> np.ndarray:
        """``2 ** (-(t - base) / half_life)``: the stored recent values' factor at each time."""
        exponent = (np.asarray(times, np.float64) - self.bases_[1]) / (self.half_life_days * DAY)
        return np.exp2(-exponent)

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        users = np.asarray(users, np.int64)
        unique, inverse = np.unique(users, return_inverse=True)
        sums = np.asarray(self._similar(unique) @ self.recent_, np.float64)
        values = sums[inverse, np.asarray(items, np.int64)]
        return values * self._recent_scale(times)

    def live_scores(
        self, users: np.ndarray, columns: np.ndarray | None, as_of: float, fold: Fold
    ) -> np.ndarray | None:
        similar = self._similar(users)
        if not similar.nnz:
            return None
        recent = self.recent_ if columns is None else self.recent_[:, columns]
        block = np.asarray(similar @ recent, np.float32)
        weights = fold.float_weights if columns is None else fold.float_weights[columns]
        block *= weights[None, :] * np.float32(self._recent_scale(as_of))
        return block

    # -- live state -------------------------------------------------------------------
    def observe_events(self, users, items, times, weights) -> None:
        """Add each event to both arrays; the touched employees' norms are recomputed."""
        if len(times) == 0:
            return
        times = np.asarray(times, np.float64)
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        values = np.asarray(weights, np.float64) if self.weighted else np.ones(len(times))
        for which, (array, half_life) in enumerate(self._arrays()):
            self._rebase(which, float(times.max()))
            scaled = values * np.exp2((times - self.bases_[which]) / (half_life * DAY))
            np.add.at(array, (users, items), scaled.astype(np.float32))
        touched = np.unique(users)
        rows = self.history_[touched].astype(np.float64)
        self.norms_[touched] = np.sqrt(np.einsum("ij,ij->i", rows, rows))

    def _arrays(self) -> tuple[tuple[np.ndarray, float], tuple[np.ndarray, float]]:
        return (
            (self.history_, self.history_half_life_days),
            (self.recent_, self.half_life_days),
        )

    def _rebase(self, which: int, latest: float) -> None:
        """Move base ``which`` to ``latest`` (its array rescaled) before the multiplier of
        ``latest`` passes ``2 ** MAX_EXPONENT``."""
        array, half_life = self._arrays()[which]
        if (latest - self.bases_[which]) / (half_life * DAY) <= MAX_EXPONENT:
            return
        shift = float(np.exp2((self.bases_[which] - latest) / (half_life * DAY)))
        drop_negligible(np.multiply(array, np.float32(shift), out=array))
        if which == 0:
            self.norms_ *= shift
        self.bases_[which] = latest

    def grow_users(self, count: int) -> None:
        extra = np.zeros((count, self.history_.shape[1]), np.float32)
        self.history_ = np.vstack([self.history_, extra])
        self.recent_ = np.vstack([self.recent_, extra])
        self.norms_ = np.concatenate([self.norms_, np.zeros(count)])

    def grow_items(self, internal, content_ids, features, times) -> None:
        extra = ((0, 0), (0, len(internal)))
        self.history_ = np.pad(self.history_, extra)
        self.recent_ = np.pad(self.recent_, extra)

    # -- persistence ------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        return {
            "history": self.history_,
            "recent": self.recent_,
            "norms": self.norms_,
            "bases": self.bases_,
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.history_ = np.asarray(arrays["history"], np.float32)
        self.recent_ = np.asarray(arrays["recent"], np.float32)
        self.norms_ = np.asarray(arrays["norms"], np.float64)
        self.bases_ = np.asarray(arrays["bases"], np.float64).copy()
        return self
