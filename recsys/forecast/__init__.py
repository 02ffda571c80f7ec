"""Forecasts of advocate behaviour (plain numpy/scikit-learn): who is about to lapse.

See :mod:`recsys.forecast.lapse` for the features, the model and its reasons.
"""

from recsys.forecast.baselines import BASELINES, ScoreBaseline, baseline
from recsys.forecast.lapse import (
    ActivityLog,
    LapseModel,
    eligible,
    feature_names,
    lapse_features,
    lapse_labels,
)
from recsys.forecast.reasons import feed_action, reason_action, reason_text

__all__ = [
    "BASELINES",
    "ActivityLog",
    "LapseModel",
    "ScoreBaseline",
    "baseline",
    "eligible",
    "feature_names",
    "feed_action",
    "lapse_features",
    "lapse_labels",
    "reason_action",
    "reason_text",
]
