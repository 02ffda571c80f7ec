"""Live trend components of the hybrid: by department, and among colleagues of similar taste.

Both keep exponentially decayed sums relative to the latest event time they saw
(``reference_``), so each live event costs O(1) (O(dimensions) for colleagues) and a value at
a later time ``t`` is the stored sum times ``2 ** (-(t - reference_) / half_life)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from recsys.dataset import Dataset

DAY = 86_400.0


class _Decayed:
    """Shared clock of the decayed sums: ``reference_`` and the decay factor."""

    half_life_days: float
    reference_: float

    def decay(self, seconds: np.ndarray | float) -> np.ndarray:
        return np.exp2(-np.asarray(seconds, np.float64) / (self.half_life_days * DAY))

    def factor(self, times: np.ndarray | float) -> np.ndarray:
        """Decay from ``reference_`` to each time (1 for times before it)."""
        return self.decay(np.maximum(np.asarray(times, np.float64) - self.reference_, 0.0))

    def _advance(self, times: np.ndarray) -> float:
        """Move ``reference_`` to the latest of ``times``; the factor applied to old sums."""
        latest = float(np.max(times))
        if latest <= self.reference_:
            return 1.0
        shift = float(self.decay(latest - self.reference_))
        self.reference_ = latest
        return shift


class DepartmentTrend(_Decayed):
    """Decayed event counts per (department, item), relative to the latest event seen."""

    def __init__(self, half_life_days: float, weighted: bool) -> None:
        if half_life_days <= 0:
            raise ValueError(f"department_half_life_days must be > 0, got {half_life_days}")
        self.half_life_days = half_life_days
        self.weighted = weighted

    @classmethod
    def fit(
        cls, dataset: Dataset, prefix: str, half_life_days: float, weighted: bool
    ) -> DepartmentTrend:
        model = cls(half_life_days, weighted)
        selected = dataset.user_features.select(prefix)  # type: ignore[union-attr]
        rows = dataclasses.replace(dataset, user_features=selected).user_feature_rows()
        model.user_department_ = department_of_rows(rows)
        model.decayed_ = np.zeros((len(selected.names), len(dataset.items)))
        model.department_names_ = np.asarray(selected.names, dtype=np.str_)
        model.reference_ = float(dataset.interactions.times.max(initial=0))
        events = dataset.interactions
        model._observe(events.users, events.items, events.times, events.weights)
        return model

    def _observe(self, users, items, times, weights) -> None:
        if len(times) == 0:
            return
        times = np.asarray(times, np.float64)
        shift = self._advance(times)
        if shift != 1.0:
            self.decayed_ *= shift
        departments = self.user_department_[np.asarray(users, np.int64)]
        keep = departments >= 0
        values = np.asarray(weights, np.float64) if self.weighted else np.ones(len(times))
        values = values * self.decay(self.reference_ - times)
        np.add.at(self.decayed_, (departments[keep], np.asarray(items)[keep]), values[keep])

    def departments(self, users: np.ndarray) -> np.ndarray:
        """Department row per user (-1: unknown user or no department)."""
        users = np.asarray(users, np.int64)
        out = np.full(len(users), -1, np.int64)
        known = users >= 0
        out[known] = self.user_department_[users[known]]
        return out

    def set_departments(self, users: np.ndarray, rows: np.ndarray) -> None:
        """Give ``users`` (internal ids) the departments of their profile ``rows``."""
        self.user_department_[np.asarray(users, np.int64)] = rows

    def _add_users(self, count: int) -> None:
        self.user_department_ = np.concatenate([self.user_department_, np.full(count, -1)])

    def _add_items(self, internal, content_ids, features) -> None:
        extra = np.zeros((self.decayed_.shape[0], len(internal)))
        self.decayed_ = np.hstack([self.decayed_, extra])

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "user_department": self.user_department_,
            "decayed": self.decayed_,
            "department_names": self.department_names_,
            "reference": np.asarray([self.reference_]),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_department_ = arrays["user_department"]
        self.decayed_ = arrays["decayed"]
        self.department_names_ = arrays.get("department_names", np.asarray([], np.str_))
        self.reference_ = float(arrays["reference"][0])


class ColleagueTrend(_Decayed):
    """What employees of similar taste engage with now: a live, personal trend.

    Each employee has a unit taste vector ``q`` (their LightFM representation, normalised);
    each item keeps ``live_[i]``, the decayed sum of the taste vectors of its engagers. The
    value for (employee u, item i) at time t is ``q_u . live_[i] * factor(t)``: large when
    people like u engaged with i recently. New content needs no refit: its first engagers
    (:meth:`_observe`) give it a representation at once.
    """

    def __init__(self, half_life_days: float, weighted: bool) -> None:
        if half_life_days <= 0:
            raise ValueError(f"colleague_half_life_days must be > 0, got {half_life_days}")
        self.half_life_days = half_life_days
        self.weighted = weighted

    @classmethod
    def fit(
        cls,
        dataset: Dataset,
        user_vectors: np.ndarray,
        cold_vector: np.ndarray,
        half_life_days: float,
        weighted: bool,
    ) -> ColleagueTrend:
        model = cls(half_life_days, weighted)
        model.user_vectors_ = unit_rows(user_vectors).astype(np.float32)
        model.cold_vector_ = unit_rows(np.asarray(cold_vector)[None, :])[0].astype(np.float32)
        model.live_ = np.zeros((len(dataset.items), user_vectors.shape[1]), np.float32)
        model.reference_ = float(dataset.interactions.times.max(initial=0))
        events = dataset.interactions
        model._observe(events.users, events.items, events.times, events.weights)
        return model

    def _observe(self, users, items, times, weights) -> None:
        if len(times) == 0:
            return
        times = np.asarray(times, np.float64)
        shift = self._advance(times)
        if shift != 1.0:
            self.live_ *= np.float32(shift)
        values = np.asarray(weights, np.float64) if self.weighted else np.ones(len(times))
        values = values * self.decay(self.reference_ - times)
        # item x employee weights (duplicates summed) times the employees' vectors: no
        # per-event copy of the vectors, float32 throughout
        spread = sp.csr_matrix(
            (values.astype(np.float32), (np.asarray(items, np.int64), np.asarray(users, np.int64))),
            shape=(len(self.live_), len(self.user_vectors_)),
        )
        self.live_ += np.asarray(spread @ self.user_vectors_, np.float32)

    def user_rows(self, users: np.ndarray) -> np.ndarray:
        """Unit taste vectors of ``users`` (the cold vector for -1)."""
        users = np.asarray(users, np.int64)
        out = np.broadcast_to(self.cold_vector_, (len(users), len(self.cold_vector_))).copy()
        known = users >= 0
        out[known] = self.user_vectors_[users[known]]
        return out

    def set_user_vectors(self, users: np.ndarray, vectors: np.ndarray) -> None:
        self.user_vectors_[np.asarray(users, np.int64)] = unit_rows(vectors)

    def _add_users(self, count: int) -> None:
        cold = np.broadcast_to(self.cold_vector_, (count, len(self.cold_vector_)))
        self.user_vectors_ = np.vstack([self.user_vectors_, cold]).astype(np.float32)

    def _add_items(self, internal, content_ids, features) -> None:
        extra = np.zeros((len(internal), self.live_.shape[1]), np.float32)
        self.live_ = np.vstack([self.live_, extra])

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "user_vectors": self.user_vectors_,
            "cold_vector": self.cold_vector_,
            "live": self.live_,
            "reference": np.asarray([self.reference_]),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_vectors_ = arrays["user_vectors"]
        self.cold_vector_ = arrays["cold_vector"]
        self.live_ = arrays["live"]
        self.reference_ = float(arrays["reference"][0])


def department_of_rows(rows: np.ndarray | sp.spmatrix | None) -> np.ndarray:
    """Index of each row's largest department column; -1 for an all-zero row."""
    if rows is None:
        return np.zeros(0, np.int64)
    rows = np.asarray(rows.toarray() if sp.issparse(rows) else rows, np.float64)
    if rows.shape[1] == 0:
        return np.full(rows.shape[0], -1, np.int64)
    has = np.any(rows != 0, axis=1)
    return np.where(has, rows.argmax(axis=1), -1).astype(np.int64)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; zero rows stay zero."""
    matrix = np.asarray(matrix, np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
