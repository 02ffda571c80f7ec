"""Live trend components of the hybrid: by department, and among colleagues of similar taste.

Both keep exponentially decayed sums relative to the latest event time they saw
(:class:`~recsys.models.decayed.Decayed`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Self

import numpy as np
import scipy.sparse as sp

from recsys.dataset import Dataset
from recsys.matrix import rows_by_name, unit_rows
from recsys.models.component import DotRow, FitContext, Fold, ScoreComponent, register
from recsys.models.decayed import Decayed, drop_negligible, log_trend


@register
class DepartmentTrend(Decayed, ScoreComponent):
    """``log1p`` of decayed event counts among employees of the employee's department
    (0 without one): the department is the largest of the user feature columns starting
    with ``prefix``; kept live by events and by profiles given later."""

    name = "department_trend"

    def __init__(
        self, *, prefix: str = "department=", half_life_days: float = 2.0, weighted: bool = False
    ) -> None:
        self.prefix = prefix
        self.half_life_days = half_life_days
        self.weighted = weighted

    def left_out(self, dataset: Dataset) -> str | None:
        features = dataset.user_features
        if features is None or not any(n.startswith(self.prefix) for n in features.names):
            return f"no user feature column starts with {self.prefix!r}"
        return None

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        if self.half_life_days <= 0:
            raise ValueError(
                f"department_trend half_life_days must be > 0, got {self.half_life_days}"
            )
        selected = dataset.user_features.select(self.prefix)  # type: ignore[union-attr]
        rows = dataclasses.replace(dataset, user_features=selected).user_feature_rows()
        self.user_department_ = department_of_rows(rows)
        self.decayed_ = np.zeros((len(selected.names), len(dataset.items)))
        self.department_names_ = np.asarray(selected.names, dtype=np.str_)
        self.reference_ = float(dataset.interactions.times.max(initial=0))
        events = dataset.interactions
        self.observe_events(events.users, events.items, events.times, events.weights)
        return self

    # -- shapes -----------------------------------------------------------------------
    def _values(self, department: np.ndarray | int, items: np.ndarray, factor) -> np.ndarray:
        return log_trend(self.decayed_[department, items], factor)

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        departments = self.departments(users)
        has = departments >= 0
        out = np.zeros(len(departments))
        times = np.broadcast_to(np.asarray(times, np.float64), departments.shape)
        out[has] = self._values(departments[has], items[has], self.factor(times[has]))
        return out

    def row_key(self, user: int) -> Hashable | None:
        return int(self.user_department_[user]) if user >= 0 else -1

    def live_scores(
        self, users: np.ndarray, columns: np.ndarray | None, as_of: float, fold: Fold
    ) -> np.ndarray | None:
        departments = self.departments(users)
        if not (departments >= 0).any():
            return None
        rows = [self._department_row(int(d), as_of, fold) for d in departments.tolist()]
        block = rows[0][None, :] if len(rows) == 1 else np.vstack(rows)
        return block if columns is None else block[:, columns]

    def _department_row(self, department: int, as_of: float, fold: Fold) -> np.ndarray:
        """Weighted trend of one department over every item at ``as_of`` (float32, cached
        until the next event; zeros without a department)."""

        def build() -> np.ndarray:
            if department < 0:
                return np.zeros(self.decayed_.shape[1], np.float32)
            every = np.arange(self.decayed_.shape[1])
            trend = self._values(department, every, self.factor(as_of))
            return (fold.weights * trend).astype(np.float32)

        return fold.live(("department", department), build, as_of)

    # -- live state -------------------------------------------------------------------
    def observe_events(self, users, items, times, weights) -> None:
        if len(times) == 0:
            return
        times = np.asarray(times, np.float64)
        shift = self.advance(times)
        if shift != 1.0:
            self.decayed_ *= shift
        departments = self.user_department_[np.asarray(users, np.int64)]
        keep = departments >= 0
        values = np.asarray(weights, np.float64) if self.weighted else np.ones(len(times))
        values = values * self.decay(self.reference_ - times)
        np.add.at(self.decayed_, (departments[keep], np.asarray(items)[keep]), values[keep])
        drop_negligible(self.decayed_)

    def departments(self, users: np.ndarray) -> np.ndarray:
        """Department row per user (-1: unknown user or no department)."""
        users = np.asarray(users, np.int64)
        out = np.full(len(users), -1, np.int64)
        known = users >= 0
        out[known] = self.user_department_[users[known]]
        return out

    def set_profiles(self, internal, employee_ids, features, fitted) -> None:
        """Everyone given gets the department of their profile row."""
        found = department_of_rows(rows_by_name(features, employee_ids, self.department_names_))
        given = found >= 0
        self.user_department_[np.asarray(internal, np.int64)[given]] = found[given]

    def grow_users(self, count: int) -> None:
        self.user_department_ = np.concatenate([self.user_department_, np.full(count, -1)])

    def grow_items(self, internal, content_ids, features, times) -> None:
        extra = np.zeros((self.decayed_.shape[0], len(internal)))
        self.decayed_ = np.hstack([self.decayed_, extra])

    # -- persistence ------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        return {
            "user_department": self.user_department_,
            "decayed": self.decayed_,
            "department_names": self.department_names_,
            "reference": np.asarray([self.reference_]),
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.user_department_ = arrays["user_department"]
        self.decayed_ = arrays["decayed"]
        self.department_names_ = arrays.get("department_names", np.asarray([], np.str_))
        self.reference_ = float(arrays["reference"][0])
        return self


@register
class ColleagueTrend(Decayed, ScoreComponent):
    """What employees of similar taste engage with now: a live, personal trend.

    Each employee has a unit taste vector ``q`` (the ``taste`` component's representation,
    normalised); each item keeps ``live_[i]``, the decayed sum of the taste vectors of its
    engagers. The value for (employee u, item i) at time t is ``q_u . live_[i] * factor(t)``:
    large when people like u engaged with i recently. New content needs no refit: its first
    engagers give it a representation at once.
    """

    name = "colleague_trend"

    def __init__(self, *, half_life_days: float = 0.25, weighted: bool = False) -> None:
        self.half_life_days = half_life_days
        self.weighted = weighted

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        if self.half_life_days <= 0:
            raise ValueError(
                f"colleague_trend half_life_days must be > 0, got {self.half_life_days}"
            )
        vectors, cold = context.component("taste").employee_vectors()
        self.user_vectors_ = unit_rows(vectors).astype(np.float32)
        self.cold_vector_ = unit_rows(np.asarray(cold)[None, :])[0].astype(np.float32)
        self.live_ = np.zeros((len(dataset.items), vectors.shape[1]), np.float32)
        self.reference_ = float(dataset.interactions.times.max(initial=0))
        events = dataset.interactions
        self.observe_events(events.users, events.items, events.times, events.weights)
        return self

    # -- shapes -----------------------------------------------------------------------
    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        dot = np.einsum("ij,ij->i", self.user_rows(users), self.live_[items], dtype=np.float64)
        return dot * self.factor(times)

    def row_terms(self, user: int, items: np.ndarray, as_of: float) -> DotRow | None:
        """``q_u . live_i * factor(as_of)`` (:meth:`pairs`) as a dot row."""
        vector = self.user_vectors_[user] if user >= 0 else self.cold_vector_
        return DotRow(vector.astype(np.float64), self.live_, scale=float(self.factor(as_of)))

    def live_scores(
        self, users: np.ndarray, columns: np.ndarray | None, as_of: float, fold: Fold
    ) -> np.ndarray | None:
        scale = np.float32(self.factor(as_of))
        if columns is None:  # whole rows: the items with live rows, weighted, cached per time
            rows = fold.live("rows", lambda: np.flatnonzero(self.live_.any(axis=1)), as_of)
            block = fold.live(
                "block",
                lambda: drop_negligible(self.live_[rows] * fold.float_weights[rows, None] * scale),
                as_of,
            )
            out = np.zeros((len(users), len(self.live_)), np.float32)
            out[:, rows] = self.user_rows(users).astype(np.float32) @ block.T
            return out
        # a few items: the live rows used in place, the product weighted per item
        user_block = (float(self.factor(as_of)) * self.user_rows(users)).astype(np.float32)
        product = user_block @ self.live_[columns].T
        product *= fold.float_weights[columns][None, :]
        return product

    def user_rows(self, users: np.ndarray) -> np.ndarray:
        """Unit taste vectors of ``users`` (the cold vector for -1)."""
        users = np.asarray(users, np.int64)
        if len(users) and users.min() >= 0:  # every employee known: one gather
            return self.user_vectors_[users]
        out = np.broadcast_to(self.cold_vector_, (len(users), len(self.cold_vector_))).copy()
        known = users >= 0
        out[known] = self.user_vectors_[users[known]]
        return out

    # -- live state -------------------------------------------------------------------
    def observe_events(self, users, items, times, weights) -> None:
        if len(times) == 0:
            return
        times = np.asarray(times, np.float64)
        shift = self.advance(times)
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
        drop_negligible(self.live_)

    def set_profiles(self, internal, employee_ids, features, fitted) -> None:
        """Employees added after fit with a usable profile get their taste vector."""
        taste = fitted.get("taste")
        if taste is None:
            return
        rows, vectors = taste.profile_vectors(internal, employee_ids, features)
        self.user_vectors_[rows] = unit_rows(vectors)

    def grow_users(self, count: int) -> None:
        cold = np.broadcast_to(self.cold_vector_, (count, len(self.cold_vector_)))
        self.user_vectors_ = np.vstack([self.user_vectors_, cold]).astype(np.float32)

    def grow_items(self, internal, content_ids, features, times) -> None:
        extra = np.zeros((len(internal), self.live_.shape[1]), np.float32)
        self.live_ = np.vstack([self.live_, extra])

    # -- persistence ------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        return {
            "user_vectors": self.user_vectors_,
            "cold_vector": self.cold_vector_,
            "live": self.live_,
            "reference": np.asarray([self.reference_]),
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.user_vectors_ = arrays["user_vectors"]
        self.cold_vector_ = arrays["cold_vector"]
        # models saved before negligible sums were dropped still hold them
        self.live_ = drop_negligible(np.array(arrays["live"], np.float32))
        self.reference_ = float(arrays["reference"][0])
        return self


def department_of_rows(rows: np.ndarray | sp.spmatrix | None) -> np.ndarray:
    """Index of each row's largest department column; -1 for an all-zero row."""
    if rows is None:
        return np.zeros(0, np.int64)
    rows = np.asarray(sp.csr_matrix(rows).toarray() if sp.issparse(rows) else rows, np.float64)
    if rows.shape[1] == 0:
        return np.full(rows.shape[0], -1, np.int64)
    has = np.any(rows != 0, axis=1)
    return np.where(has, rows.argmax(axis=1), -1).astype(np.int64)
