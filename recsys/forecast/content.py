"""Content performance forecast: a post's outcomes (e.g. reach, shares, clicks) with an interval.

Inputs
    ``X``: a float matrix ``(n_posts, len(features))``, columns named by ``features``. Columns in
    ``categorical`` hold category codes (any numbers; one indicator per value seen in ``fit``,
    an unseen value has none, i.e. gets the shrunk common level); columns in ``periods`` are
    cyclic (hour of day, weekday: ``sin``/``cos`` of ``2 pi x / period``); the others are
    numeric (standardised). Missing or infinite inputs are an error naming the column.
    ``y``: outcomes ``>= 0`` as ``(n_posts,)`` or ``(n_posts, len(targets))``.
Model
    Every target is fitted on ``log1p(y)`` (outcomes are heavy-tailed; the error is relative).
    ``model="ridge"`` (the default): an L2 linear model on the indicators, the sin/cos pairs and
    the standardised numbers; with ``alpha`` the categories with few posts are shrunk towards
    the common level (per-type shrinkage). ``"boosting"``: scikit-learn gradient boosting per
    target on the raw columns (category codes as numbers). ``"group_mean"``: the mean of
    ``log1p(y)`` per combination of the categorical columns (the baselines ``mean by type`` /
    ``mean by category``), the overall mean for a combination unseen in ``fit``.
    The point forecast is ``expm1`` of the predicted log (at least 0): an estimate of the median
    outcome.
Interval
    Residual quantiles on the log scale: the training rows are split into ``cv`` folds (shuffled
    with ``random_state``), the model is refitted without each fold and its log residuals on the
    fold are pooled; the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of those
    out-of-fold residuals, per target, are added to the predicted log (extended to 0 when
    needed, so the interval always contains the point). The coverage is measured on held-out
    posts by :func:`forecast_metrics`.
Saved form
    :meth:`ContentForecast.save` writes ``manifest.json`` (parameters) and ``arrays.npz`` (the
    encoding, the ridge's coefficients or the group means, the residual quantiles); no pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

MODELS = ("ridge", "boosting", "group_mean")
#: Version of the files written by :meth:`ContentForecast.save`.
FORMAT_VERSION = 1
_LIST_PARAMS = ("features", "categorical", "targets")


class ContentForecast(BaseEstimator):
    """Outcomes of posts from their inputs, with an interval (see the module docstring)."""

    def __init__(
        self,
        features: Sequence[str] = (),
        categorical: Sequence[str] = (),
        periods: Sequence[tuple[str, float]] = (),
        targets: Sequence[str] = ("outcome",),
        model: str = "ridge",
        alpha: float = 1.0,
        level: float = 0.8,
        cv: int = 5,
        random_state: int | None = 0,
    ) -> None:
        self.features = features
        self.categorical = categorical
        self.periods = periods
        self.targets = targets
        self.model = model
        self.alpha = alpha
        self.level = level
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> ContentForecast:
        """Fit on inputs ``X`` and outcomes ``y`` (module docstring); returns ``self``."""
        self._check_params()
        x = self._checked_inputs(X)
        logs = np.log1p(self._checked_outcomes(y, len(x)))
        if len(x) < max(2, self.cv):
            raise ValueError(f"ContentForecast: fit needs at least {max(2, self.cv)} rows")
        self._fit_encoding(x)
        self.estimators_ = self._fit_estimators(x, logs)
        residuals = np.empty_like(logs)
        folds = KFold(self.cv, shuffle=True, random_state=self.random_state)
        for train, held in folds.split(x):
            fitted = self._fit_estimators(x[train], logs[train])
            residuals[held] = logs[held] - self._predict_logs(fitted, x[held])
        half = (1.0 - self.level) / 2.0
        low, high = np.quantile(residuals, [half, 1.0 - half], axis=0)
        self.residual_quantiles_ = np.column_stack([np.minimum(low, 0.0), np.maximum(high, 0.0)])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Point forecasts ``(n_posts, len(targets))``: ``expm1`` of the predicted log, at
        least 0."""
        return np.maximum(np.expm1(self.predict_log(X)), 0.0)

    def predict_log(self, X: np.ndarray) -> np.ndarray:
        """Predicted ``log1p`` outcomes ``(n_posts, len(targets))``."""
        if not hasattr(self, "estimators_"):
            raise NotFittedError("ContentForecast is not fitted")
        return self._predict_logs(self.estimators_, self._checked_inputs(X))

    def predict_interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds ``(n_posts, len(targets))`` of the ``level`` interval."""
        logs = self.predict_log(X)
        low, high = self.residual_quantiles_[:, 0], self.residual_quantiles_[:, 1]
        return np.maximum(np.expm1(logs + low), 0.0), np.maximum(np.expm1(logs + high), 0.0)

    # -- inputs ---------------------------------------------------------------------------

    def _check_params(self) -> None:
        names = tuple(self.features)
        if not names:
            raise ValueError("ContentForecast: features is empty")
        unknown = (set(self.categorical) | {name for name, _ in self.periods}) - set(names)
        if unknown:
            raise ValueError(f"ContentForecast: not in features: {sorted(unknown)}")
        if self.model not in MODELS:
            raise ValueError(f"ContentForecast: model {self.model!r} not one of {MODELS}")
        if self.model == "group_mean" and not self.categorical:
            raise ValueError("ContentForecast: model 'group_mean' needs categorical columns")
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"ContentForecast: level must be in (0, 1), got {self.level}")
        if any(period <= 0 for _, period in self.periods):
            raise ValueError("ContentForecast: periods must be positive")
        if self.cv < 2:
            raise ValueError(f"ContentForecast: cv must be at least 2, got {self.cv}")

    def _checked_inputs(self, X: np.ndarray) -> np.ndarray:
        names = tuple(self.features)
        try:
            x = np.asarray(X, np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"ContentForecast: inputs {list(names)} must be numbers (codes for the categorical"
                f" ones): {exc}"
            ) from None
        if x.ndim != 2 or x.shape[1] != len(names):
            raise ValueError(
                f"ContentForecast: expected {len(names)} input columns {list(names)}, got shape"
                f" {x.shape}"
            )
        bad = ~np.isfinite(x)
        for column in np.flatnonzero(bad.any(axis=0)):
            rows = np.flatnonzero(bad[:, column])
            raise ValueError(
                f"ContentForecast: input {names[column]!r} has {len(rows)} missing or infinite"
                f" value(s) (rows {rows[:5].tolist()})"
            )
        return x

    def _checked_outcomes(self, y: np.ndarray, n: int) -> np.ndarray:
        names = tuple(self.targets)
        out = np.asarray(y, np.float64)
        out = out[:, None] if out.ndim == 1 else out
        if out.ndim != 2 or out.shape != (n, len(names)):
            raise ValueError(
                f"ContentForecast: expected outcomes of shape ({n}, {len(names)}) for targets"
                f" {list(names)}, got {np.shape(y)}"
            )
        for column, name in enumerate(names):
            bad = ~np.isfinite(out[:, column]) | (out[:, column] < 0)
            if bad.any():
                raise ValueError(
                    f"ContentForecast: target {name!r} has {int(bad.sum())} missing or negative"
                    f" value(s) (rows {np.flatnonzero(bad)[:5].tolist()})"
                )
        return out

    # -- encoding and the inner estimators --------------------------------------------------

    def _fit_encoding(self, x: np.ndarray) -> None:
        names = tuple(self.features)
        self.categories_ = {c: np.unique(x[:, names.index(c)]) for c in self.categorical}
        numeric = [j for j in range(len(names)) if self._kind(names[j]) == "numeric"]
        values = x[:, numeric]
        self.numeric_mean_ = values.mean(axis=0) if numeric else np.zeros(0)
        scale = values.std(axis=0) if numeric else np.zeros(0)
        self.numeric_scale_ = np.where(scale > 0, scale, 1.0)

    def _kind(self, name: str) -> str:
        if name in self.categorical:
            return "categorical"
        return "cyclic" if name in dict(self.periods) else "numeric"

    def _design(self, x: np.ndarray) -> np.ndarray:
        """The ridge's matrix: indicators, sin/cos pairs, standardised numbers."""
        names, periods = tuple(self.features), dict(self.periods)
        blocks, numeric = [], []
        for j, name in enumerate(names):
            kind = self._kind(name)
            if kind == "categorical":
                blocks.append((x[:, [j]] == self.categories_[name][None, :]).astype(np.float64))
            elif kind == "cyclic":
                angle = 2.0 * np.pi * x[:, j] / periods[name]
                blocks.append(np.column_stack([np.sin(angle), np.cos(angle)]))
            else:
                numeric.append(j)
        if numeric:
            blocks.append((x[:, numeric] - self.numeric_mean_) / self.numeric_scale_)
        return np.hstack(blocks)

    def _fit_estimators(self, x: np.ndarray, logs: np.ndarray) -> list[Any]:
        if self.model == "ridge":
            ridge = Ridge(alpha=self.alpha).fit(self._design(x), logs)
            coef = np.asarray(ridge.coef_).reshape(logs.shape[1], -1)
            return [_Linear(coef, np.atleast_1d(np.asarray(ridge.intercept_, np.float64)))]
        if self.model == "boosting":
            return [
                GradientBoostingRegressor(
                    n_estimators=200,
                    learning_rate=0.03,
                    max_depth=3,
                    subsample=0.8,
                    min_samples_leaf=10,
                    random_state=self.random_state,
                ).fit(x, logs[:, t])
                for t in range(logs.shape[1])
            ]
        return [_GroupMean(self._group_columns()).fit(x, logs)]

    def _predict_logs(self, estimators: list[Any], x: np.ndarray) -> np.ndarray:
        if self.model == "ridge":
            return np.asarray(estimators[0].predict(self._design(x)))
        if self.model == "boosting":
            return np.column_stack([e.predict(x) for e in estimators])
        return np.asarray(estimators[0].predict(x))

    def _group_columns(self) -> list[int]:
        names = tuple(self.features)
        return [names.index(c) for c in self.categorical]

    # -- persistence ------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write ``manifest.json`` and ``arrays.npz`` (plain arrays, no pickle) to ``folder``.
        Ridge and group-mean models only (boosting has no plain-array form)."""
        if not hasattr(self, "estimators_"):
            raise NotFittedError("ContentForecast is not fitted")
        if self.model == "boosting":
            raise ValueError("ContentForecast: a 'boosting' model cannot be saved as arrays")
        params = self.get_params()
        params = {k: list(v) if k in _LIST_PARAMS else v for k, v in params.items()}
        params["periods"] = [[name, float(period)] for name, period in self.periods]
        manifest = {
            "kind": "content_forecast",
            "format_version": FORMAT_VERSION,
            "params": params,
            "categorical_columns": list(self.categories_),
        }
        arrays = {
            "numeric_mean": self.numeric_mean_,
            "numeric_scale": self.numeric_scale_,
            "residual_quantiles": self.residual_quantiles_,
            **{f"categories_{i}": v for i, v in enumerate(self.categories_.values())},
            **self.estimators_[0].arrays(),
        }
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "arrays.npz", **arrays)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> ContentForecast:
        """The model written by :meth:`save` to ``folder``."""
        path = Path(folder) / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(f"no content forecast at {folder}: {path.name} is missing")
        manifest = json.loads(path.read_text())
        if manifest.get("kind") != "content_forecast":
            raise ValueError(f"{path} is not a content forecast (kind {manifest.get('kind')!r})")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version {manifest.get('format_version')}")
        params = manifest["params"]
        params |= {k: tuple(params[k]) for k in _LIST_PARAMS}
        params["periods"] = tuple((str(name), float(p)) for name, p in params["periods"])
        model = cls(**params)
        with np.load(Path(folder) / "arrays.npz", allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
        model.numeric_mean_, model.numeric_scale_ = arrays["numeric_mean"], arrays["numeric_scale"]
        model.residual_quantiles_ = arrays["residual_quantiles"]
        columns = manifest["categorical_columns"]
        model.categories_ = {c: arrays[f"categories_{i}"] for i, c in enumerate(columns)}
        inner = _Linear if model.model == "ridge" else _GroupMean
        model.estimators_ = [inner.from_arrays(arrays, model._group_columns())]
        return model


class _Linear:
    """``design @ coef.T + intercept``: the fitted ridge as plain arrays."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        self.coef, self.intercept = coef, intercept

    def predict(self, design: np.ndarray) -> np.ndarray:
        return np.asarray(design @ self.coef.T + self.intercept)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "intercept": self.intercept}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], columns: Sequence[int]) -> _Linear:
        return cls(arrays["coef"], arrays["intercept"])


class _GroupMean:
    """Mean of each column of ``logs`` per combination of the ``columns`` of ``x``."""

    def __init__(self, columns: Sequence[int]) -> None:
        self.columns = list(columns)

    def fit(self, x: np.ndarray, logs: np.ndarray) -> _GroupMean:
        keys, groups = np.unique(x[:, self.columns], axis=0, return_inverse=True)
        groups = groups.reshape(-1)
        counts = np.bincount(groups, minlength=len(keys)).astype(np.float64)
        sums = np.zeros((len(keys), logs.shape[1]))
        np.add.at(sums, groups, logs)
        self.keys_ = keys
        self.means_ = sums / counts[:, None]
        self.overall_ = logs.mean(axis=0)
        return self

    def arrays(self) -> dict[str, np.ndarray]:
        return {"keys": self.keys_, "means": self.means_, "overall": self.overall_}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], columns: Sequence[int]) -> _GroupMean:
        out = cls(columns)
        out.keys_, out.means_, out.overall_ = arrays["keys"], arrays["means"], arrays["overall"]
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.tile(self.overall_, (len(x), 1))
        rows = x[:, self.columns]
        for key, mean in zip(self.keys_, self.means_, strict=True):
            out[(rows == key).all(axis=1)] = mean
        return out


def forecast_metrics(
    y: np.ndarray, point: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> dict[str, float | int]:
    """Errors of forecasts of one outcome (1-D arrays) against the observed ``y``.

    ``mape``: mean of ``|y - point| / y`` over the rows with ``y > 0`` (``n_zero`` rows left
    out); ``mdape``: their median; ``spearman``: rank correlation of ``point`` and ``y``;
    ``coverage``: share of rows with ``lower <= y <= upper``; ``width``: the median of
    ``(upper - lower) / point`` (``point > 0``), the interval's relative width.
    """
    y, point = np.asarray(y, np.float64), np.asarray(point, np.float64)
    positive = y > 0
    ape = np.abs(y[positive] - point[positive]) / y[positive]
    rho = spearmanr(point, y).statistic if len(y) > 1 else float("nan")
    shown = point > 0
    return {
        "mape": float(ape.mean()) if len(ape) else float("nan"),
        "mdape": float(np.median(ape)) if len(ape) else float("nan"),
        "spearman": float(rho),
        "coverage": float(np.mean((lower <= y) & (y <= upper))),
        "width": float(np.median((upper[shown] - lower[shown]) / point[shown])),
        "n": len(y),
        "n_zero": int((~positive).sum()),
    }
