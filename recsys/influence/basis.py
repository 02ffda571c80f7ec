"""An additive basis: each feature becomes a piecewise-linear function of itself.

With ``n_knots >= 2`` a feature is expanded into hat functions on its training quantiles (at
most ``n_knots`` distinct knots; constant outside the first and last knot), so a linear model
on the basis is a sum of one piecewise-linear curve per feature (a generalised additive
model). With ``n_knots == 0`` a feature is one standardised column (a plain linear model).
Either way every basis column belongs to exactly one feature (``groups_``), which is what
makes per-feature contributions exact.
"""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import NotFittedError


class AdditiveBasis:
    """Piecewise-linear (or linear) expansion of each column of a matrix."""

    def __init__(self, n_knots: int = 5) -> None:
        self.n_knots = n_knots

    def fit(self, values: np.ndarray) -> AdditiveBasis:
        values = np.asarray(values, dtype=float)
        if self.n_knots == 1 or self.n_knots < 0 or int(self.n_knots) != self.n_knots:
            raise ValueError(f"n_knots must be 0 (linear) or an integer >= 2, got {self.n_knots}")
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
        self.mean_ = mean
        self.scale_ = np.where(scale > 0, scale, 1.0)
        knots: list[np.ndarray] = []
        for j in range(values.shape[1]):
            if self.n_knots == 0:
                knots.append(np.zeros(1))
                continue
            quantiles = np.quantile(values[:, j], np.linspace(0.0, 1.0, int(self.n_knots)))
            knots.append(np.unique(quantiles))
        self.offsets_ = np.concatenate([[0], np.cumsum([len(k) for k in knots])]).astype(np.int64)
        self.knots_ = np.concatenate(knots) if knots else np.zeros(0)
        return self

    @property
    def groups_(self) -> np.ndarray:
        """The feature of each basis column."""
        self._check()
        return np.repeat(np.arange(len(self.offsets_) - 1), np.diff(self.offsets_))

    def transform(self, values: np.ndarray) -> np.ndarray:
        self._check()
        values = np.asarray(values, dtype=float)
        if values.shape[1] != len(self.offsets_) - 1:
            raise ValueError(f"expected {len(self.offsets_) - 1} columns, got {values.shape[1]}")
        if self.n_knots == 0:
            return (values - self.mean_) / self.scale_
        columns = []
        for j in range(values.shape[1]):
            knots = self.knots_[self.offsets_[j] : self.offsets_[j + 1]]
            if len(knots) == 1:  # constant in training: carries no information
                columns.append(np.zeros((len(values), 1)))
                continue
            eye = np.eye(len(knots))
            columns.append(np.column_stack([np.interp(values[:, j], knots, e) for e in eye]))
        return np.hstack(columns) if columns else np.zeros((len(values), 0))

    def arrays(self) -> dict[str, np.ndarray]:
        self._check()
        return {
            "basis_knots": self.knots_,
            "basis_offsets": self.offsets_,
            "basis_mean": self.mean_,
            "basis_scale": self.scale_,
        }

    @classmethod
    def from_arrays(cls, n_knots: int, arrays: dict[str, np.ndarray]) -> AdditiveBasis:
        basis = cls(n_knots)
        basis.knots_ = np.asarray(arrays["basis_knots"], dtype=float)
        basis.offsets_ = np.asarray(arrays["basis_offsets"], dtype=np.int64)
        basis.mean_ = np.asarray(arrays["basis_mean"], dtype=float)
        basis.scale_ = np.asarray(arrays["basis_scale"], dtype=float)
        return basis

    def _check(self) -> None:
        if not hasattr(self, "offsets_"):
            raise NotFittedError("AdditiveBasis is not fitted: call fit(values) first")


class StepBasis:
    """Step-function expansion: one indicator column ``x_j > t`` per threshold ``t`` of feature
    ``j`` (the splits of boosted stumps, :mod:`recsys.influence.boosting`). A linear model on it
    is a sum of one step function per feature, so per-feature contributions stay exact. A
    feature without thresholds has no column (its term is constant)."""

    def __init__(self, thresholds: list[np.ndarray] | None = None) -> None:
        self.thresholds = thresholds

    def fit(self, values: np.ndarray | None = None) -> StepBasis:
        """Take the thresholds given at construction (``values`` is not read)."""
        if self.thresholds is None:
            raise ValueError("StepBasis needs thresholds: one sorted array per feature")
        knots = [np.asarray(t, dtype=float) for t in self.thresholds]
        self.offsets_ = np.concatenate([[0], np.cumsum([len(k) for k in knots])]).astype(np.int64)
        self.knots_ = np.concatenate(knots) if knots else np.zeros(0)
        return self

    @property
    def groups_(self) -> np.ndarray:
        """The feature of each basis column."""
        self._check()
        return np.repeat(np.arange(len(self.offsets_) - 1), np.diff(self.offsets_))

    def transform(self, values: np.ndarray) -> np.ndarray:
        self._check()
        values = np.asarray(values, dtype=float)
        if values.ndim != 2 or values.shape[1] != len(self.offsets_) - 1:
            raise ValueError(f"expected {len(self.offsets_) - 1} columns, got {values.shape}")
        return (values[:, self.groups_] > self.knots_).astype(float)

    def arrays(self) -> dict[str, np.ndarray]:
        self._check()
        return {"basis_knots": self.knots_, "basis_offsets": self.offsets_}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> StepBasis:
        basis = cls()
        basis.knots_ = np.asarray(arrays["basis_knots"], dtype=float)
        basis.offsets_ = np.asarray(arrays["basis_offsets"], dtype=np.int64)
        return basis

    def _check(self) -> None:
        if not hasattr(self, "offsets_"):
            raise NotFittedError("StepBasis is not fitted: call fit() first")


class SumBasis:
    """The columns of several bases side by side (e.g. a spline curve and a step function per
    feature): a linear model on it is still one term per feature, the sum of the parts'."""

    def __init__(self, parts: list[AdditiveBasis | StepBasis]) -> None:
        self.parts = parts

    @property
    def groups_(self) -> np.ndarray:
        return np.concatenate([p.groups_ for p in self.parts])

    def transform(self, values: np.ndarray) -> np.ndarray:
        return np.hstack([p.transform(values) for p in self.parts])

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"part{i}_{k}": v for i, p in enumerate(self.parts) for k, v in p.arrays().items()}

    @classmethod
    def from_arrays(cls, n_knots: int, arrays: dict[str, np.ndarray]) -> SumBasis:
        def part(i: int) -> dict[str, np.ndarray]:
            prefix = f"part{i}_"
            return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

        return cls([AdditiveBasis.from_arrays(n_knots, part(0)), StepBasis.from_arrays(part(1))])


#: Any of the bases above (what a fitted scorer's ``basis_`` holds).
Basis = AdditiveBasis | StepBasis | SumBasis
