"""Lapse baselines: one feature as the score, mapped to a probability for the Brier score.

``recency``: days since the last event (longer = more likely to lapse). ``frequency``: minus the
events of the last 60 days (fewer = more likely to lapse). :class:`ScoreBaseline` ranks by that
score alone; its ``predict_proba`` is a one-variable logistic fit of the label on the score over
the training rows (monotone, so the ranking and the AUC are the score's own).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from recsys.forecast.lapse import feature_names

#: Baseline name -> (feature, sign of the score).
BASELINES: dict[str, tuple[str, float]] = {
    "recency": ("days_since_last", 1.0),
    "frequency": ("events_60d", -1.0),
}


class ScoreBaseline(BaseEstimator):
    """Score = ``sign * X[:, feature]``; probability = a logistic fit of the label on it."""

    def __init__(
        self,
        feature: str = "days_since_last",
        sign: float = 1.0,
        features: Sequence[str] = feature_names(()),
    ) -> None:
        self.feature = feature
        self.sign = sign
        self.features = features

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        """The baseline's raw score per row (higher = more likely to lapse)."""
        column = tuple(self.features).index(self.feature)
        return self.sign * np.asarray(X, np.float64)[:, column]

    def fit(self, X: np.ndarray, y: np.ndarray) -> ScoreBaseline:
        s = self.raw_score(X)
        self.mean_ = float(s.mean())
        self.scale_ = float(s.std()) or 1.0
        model = LogisticRegression(C=1e6, max_iter=1_000)
        model.fit(((s - self.mean_) / self.scale_)[:, None], np.asarray(y).astype(np.int64))
        self.coef_ = float(model.coef_[0, 0])
        self.intercept_ = float(model.intercept_[0])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(lapse) per row (1-D)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("ScoreBaseline is not fitted")
        z = (self.raw_score(X) - self.mean_) / self.scale_
        return np.asarray(expit(self.intercept_ + self.coef_ * z))


def baseline(name: str, features: Sequence[str]) -> ScoreBaseline:
    """The baseline ``name`` of :data:`BASELINES` over columns ``features``."""
    feature, sign = BASELINES[name]
    return ScoreBaseline(feature, sign, tuple(features))
