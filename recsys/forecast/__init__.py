"""Forecasts (plain numpy/scikit-learn): who is about to lapse, how content will perform.

See :mod:`recsys.forecast.lapse` for the lapse features, model and reasons, and
:mod:`recsys.forecast.content` for the content performance forecast and its interval.
"""

from recsys.forecast.baselines import BASELINES, ScoreBaseline, baseline
from recsys.forecast.content import ContentForecast, forecast_metrics
from recsys.forecast.lapse import (
    ActivityLog,
    LapseModel,
    eligible,
    feature_names,
    lapse_features,
    lapse_labels,
)

__all__ = [
    "BASELINES",
    "ActivityLog",
    "ContentForecast",
    "LapseModel",
    "ScoreBaseline",
    "baseline",
    "eligible",
    "feature_names",
    "forecast_metrics",
    "lapse_features",
    "lapse_labels",
]
