"""Participation forecast: the calibrated probability that an advocate is inactive next period.

Activity log
    :class:`ActivityLog` holds events as arrays: time (Unix seconds), person position
    (``0..n_persons-1``) and event kind position (``0..n_kinds-1``). Every function below takes an
    ``origin`` T and reads only the events with time ``< T``; the label reads ``[T, T + horizon)``.
Features (:data:`FEATURES`, one row per person, readable units)
    Days since the last event and since the first (tenure), events in the last 7/30/60 days and
    in the 60 days before the last 30 (``events_30_90d``, for the trend), active days in the last
    30/60 days, the trend (``log1p`` of the last 30 days' events minus ``log1p`` of half the 60
    days before them), the mean and longest gap between active days in the last 90 days
    (90 when there is no gap), each kind's share of the last 60 days' events, events ever.
    The log has no team or department, so there is no team feature.
Model
    :class:`LapseModel`: fixed ``log1p`` of the count and day columns (:data:`LOG_FEATURES`),
    standardised, an L2 logistic regression on them. Its probabilities are calibrated on their
    own (the log-loss fit) and checked by the Brier score of the evaluation.
Persistence
    :meth:`LapseModel.save` writes a folder: ``arrays.npz`` (``mean``, ``scale``, ``coef``, plain
    arrays) and ``manifest.json`` (params, feature names, horizon, intercept and the training
    facts); :meth:`LapseModel.load` reads it back (no pickle).
Reasons
    The log-odds are an exact sum ``intercept_ + sum_j coef_j * z_j`` (``z_j`` the standardised,
    transformed value): :meth:`LapseModel.contributions` returns ``coef_j * z_j`` and
    :meth:`LapseModel.reasons` the features with the largest ones towards lapsing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from recsys.times import DAY

#: Version of the folder :meth:`LapseModel.save` writes.
FORMAT_VERSION = 1
#: ``kind`` in the manifest of a saved :class:`LapseModel`.
MODEL_KIND = "lapse_model"
#: Days of history that make an advocate eligible (active in them before the origin).
ACTIVE_DAYS = 60.0
#: Gap features look this many days back; also their value without a gap.
GAP_DAYS = 90.0

COUNT_FEATURES = (
    "days_since_last",
    "tenure_days",
    "events_7d",
    "events_30d",
    "events_60d",
    "events_30_90d",
    "active_days_30d",
    "active_days_60d",
    "activity_trend",
    "gap_mean_days",
    "gap_max_days",
    "events_total",
)
#: Columns the model takes the ``log1p`` of (all the others are shares or a log ratio).
LOG_FEATURES = frozenset(COUNT_FEATURES) - {"activity_trend"}


@dataclass(frozen=True)
class ActivityLog:
    """Events as arrays, in time order (see the module docstring)."""

    times: np.ndarray  # float64 Unix seconds, ascending
    persons: np.ndarray  # int64 positions 0..n_persons-1
    kinds: np.ndarray  # int64 positions into ``kind_names``
    n_persons: int
    kind_names: tuple[str, ...]

    @classmethod
    def build(
        cls,
        times: Sequence[float] | np.ndarray,
        persons: Sequence[int] | np.ndarray,
        kinds: Sequence[int] | np.ndarray,
        *,
        n_persons: int,
        kind_names: Sequence[str],
    ) -> ActivityLog:
        """The log sorted by time (stable), with the arrays as the types above."""
        t = np.asarray(times, np.float64)
        order = np.argsort(t, kind="stable")
        return cls(
            t[order],
            np.asarray(persons, np.int64)[order],
            np.asarray(kinds, np.int64)[order],
            int(n_persons),
            tuple(kind_names),
        )

    def before(self, origin: float) -> ActivityLog:
        """The events with time ``< origin``."""
        end = int(np.searchsorted(self.times, origin, side="left"))
        return ActivityLog(
            self.times[:end], self.persons[:end], self.kinds[:end], self.n_persons, self.kind_names
        )

    def counts(self, start: float, end: float) -> np.ndarray:
        """Events per person with time in ``[start, end)``."""
        lo, hi = np.searchsorted(self.times, (start, end), side="left")
        return np.bincount(self.persons[lo:hi], minlength=self.n_persons)


def feature_names(kind_names: Sequence[str]) -> tuple[str, ...]:
    """:data:`COUNT_FEATURES` and one ``share_<kind>`` column per event kind."""
    shares = tuple("share_" + name.lower().replace(" ", "_") for name in kind_names)
    return COUNT_FEATURES + shares


def eligible(log: ActivityLog, origin: float, days: float = ACTIVE_DAYS) -> np.ndarray:
    """Boolean per person: at least one event in the ``days`` before ``origin``."""
    return log.counts(origin - days * DAY, origin) > 0


def lapse_labels(log: ActivityLog, origin: float, horizon_days: float = 30.0) -> np.ndarray:
    """Boolean per person: no event in ``[origin, origin + horizon_days)``."""
    return log.counts(origin, origin + horizon_days * DAY) == 0


def lapse_features(log: ActivityLog, origin: float) -> np.ndarray:
    """``(n_persons, len(feature_names(log.kind_names)))`` features as of ``origin`` (events
    before it only). Persons without history get 0 counts and ``GAP_DAYS``-capped days."""
    past = log.before(origin)
    n = log.n_persons
    age = (origin - past.times) / DAY
    last = np.full(n, np.inf)
    np.minimum.at(last, past.persons, age)
    first = np.zeros(n)
    np.maximum.at(first, past.persons, age)
    window = {d: np.bincount(past.persons[age < d], minlength=n) for d in (7.0, 30.0, 60.0)}
    older = np.bincount(past.persons[(age >= 30) & (age < 90)], minlength=n)
    trend = np.log1p(window[30.0]) - np.log1p(older / 2.0)
    gap_mean, gap_max = _gaps(past.persons, age, n)
    columns = [
        np.minimum(last, 365.0),
        first,
        window[7.0],
        window[30.0],
        window[60.0],
        older,
        _active_days(past.persons, age, n, 30.0),
        _active_days(past.persons, age, n, 60.0),
        trend,
        gap_mean,
        gap_max,
        np.bincount(past.persons, minlength=n),
    ]
    return np.column_stack([*columns, _kind_shares(past, age < 60.0)]).astype(np.float64)


def _active_days(persons: np.ndarray, age: np.ndarray, n: int, days: float) -> np.ndarray:
    """Distinct days (24 h steps back from the origin) with an event, within ``days``."""
    inside = age < days
    pairs = np.unique(persons[inside] * 100_000 + np.floor(age[inside]).astype(np.int64))
    return np.bincount(pairs // 100_000, minlength=n)


def _gaps(persons: np.ndarray, age: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and longest gap in days between consecutive active days within ``GAP_DAYS``."""
    inside = age < GAP_DAYS
    keys = np.unique(persons[inside] * 100_000 + np.floor(age[inside]).astype(np.int64))
    who, day = keys // 100_000, (keys % 100_000).astype(np.float64)
    same = who[1:] == who[:-1]
    gap = (day[1:] - day[:-1])[same]
    owner = who[1:][same]
    count = np.bincount(owner, minlength=n)
    total = np.bincount(owner, weights=gap, minlength=n)
    longest = np.zeros(n)
    np.maximum.at(longest, owner, gap)
    mean = np.where(count > 0, total / np.maximum(count, 1), GAP_DAYS)
    return mean, np.where(count > 0, longest, GAP_DAYS)


def _kind_shares(past: ActivityLog, recent: np.ndarray) -> np.ndarray:
    """Each kind's share of a person's recent events (0 without any)."""
    mix = np.zeros((past.n_persons, len(past.kind_names)))
    np.add.at(mix, (past.persons[recent], past.kinds[recent]), 1.0)
    return mix / np.maximum(mix.sum(axis=1, keepdims=True), 1.0)


class LapseModel(BaseEstimator):
    """P(no activity in the next ``horizon_days``) from :func:`lapse_features` (see the module
    docstring). ``horizon_days`` documents the label the model was fitted on."""

    def __init__(
        self,
        features: Sequence[str] = feature_names(()),
        C: float = 0.3,
        horizon_days: float = 30.0,
        max_reasons: int = 3,
        random_state: int | None = 0,
    ) -> None:
        self.features = features
        self.C = C
        self.horizon_days = horizon_days
        self.max_reasons = max_reasons
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> LapseModel:
        """Fit on rows ``X`` (columns named by ``features``) and labels ``y`` (1 = lapsed)."""
        x = self._transform(np.asarray(X, np.float64))
        labels = np.asarray(y).astype(np.int64)
        if len(np.unique(labels)) < 2:
            raise ValueError("LapseModel.fit needs both lapsed and active rows")
        self.mean_ = x.mean(axis=0)
        self.scale_ = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        model = LogisticRegression(C=self.C, max_iter=5_000, random_state=self.random_state)
        model.fit((x - self.mean_) / self.scale_, labels)
        self.coef_ = model.coef_[0].copy()
        self.intercept_ = float(model.intercept_[0])
        self.training_: dict[str, object] = {"rows": len(labels), "lapsed": int(labels.sum())}
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(lapse) per row (1-D)."""
        return np.asarray(expit(self.decision_function(X)))

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of lapsing: ``intercept_ + contributions(X).sum(axis=1)``."""
        parts = self.contributions(X)
        return self.intercept_ + parts.sum(axis=1)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """``coef_j * z_j`` per row and feature (log-odds of lapsing, exact)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("LapseModel is not fitted")
        x = self._transform(np.asarray(X, np.float64))
        return (x - self.mean_) / self.scale_ * self.coef_

    def reasons(self, X: np.ndarray) -> list[list[tuple[str, float]]]:
        """Per row, up to ``max_reasons`` (feature, contribution) pushing towards lapsing,
        largest first."""
        parts = self.contributions(X)
        names = tuple(self.features)
        chosen = np.argsort(-parts, axis=1, kind="stable")[:, : self.max_reasons]
        return [
            [(names[j], float(row[j])) for j in picks if row[j] > 0]
            for row, picks in zip(parts, chosen, strict=True)
        ]

    def save(self, folder: str | Path, facts: Mapping[str, object] | None = None) -> Path:
        """Write ``manifest.json`` and ``arrays.npz`` to ``folder`` (see the module docstring);
        ``facts`` (JSON values, e.g. the training origins) join ``training_`` in the manifest."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("LapseModel is not fitted")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        params = self.get_params()
        params["features"] = list(params["features"])
        manifest = {
            "kind": MODEL_KIND,
            "format_version": FORMAT_VERSION,
            "params": params,
            "feature_names": list(self.features),
            "horizon_days": float(self.horizon_days),
            "intercept": self.intercept_,
            "training": {**self.training_, **(facts or {})},
        }
        np.savez(folder / "arrays.npz", mean=self.mean_, scale=self.scale_, coef=self.coef_)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> LapseModel:
        """A model saved by :meth:`save`: identical probabilities and reasons."""
        folder = Path(folder)
        path = folder / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(f"no lapse model at {folder}: {path.name} is missing")
        manifest = json.loads(path.read_text())
        if manifest.get("kind") != MODEL_KIND:
            raise ValueError(f"{path} is not a lapse model (kind {manifest.get('kind')!r})")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version {manifest.get('format_version')}")
        params = dict(manifest["params"])
        params["features"] = tuple(params["features"])
        model = cls(**params)
        with np.load(folder / "arrays.npz", allow_pickle=False) as stored:
            model.mean_, model.scale_ = stored["mean"], stored["scale"]
            model.coef_ = stored["coef"]
        if len(model.coef_) != len(model.features):
            raise ValueError(
                f"{folder}: {len(model.coef_)} coefficients for {len(model.features)} features"
            )
        model.intercept_ = float(manifest["intercept"])
        model.training_ = dict(manifest["training"])
        return model

    def _transform(self, x: np.ndarray) -> np.ndarray:
        names = tuple(self.features)
        if x.ndim != 2 or x.shape[1] != len(names):
            raise ValueError(f"LapseModel: expected {len(names)} feature columns, got {x.shape}")
        logged = np.array([name in LOG_FEATURES for name in names])
        out = x.copy()
        out[:, logged] = np.log1p(np.maximum(out[:, logged], 0.0))
        return out
