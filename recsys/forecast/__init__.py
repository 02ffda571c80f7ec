"""Forecasts (plain numpy/scikit-learn): who is about to lapse, when to share, how content
will perform.

See :mod:`recsys.forecast.lapse` for the lapse features, model and reasons (their texts and
suggested actions: :mod:`recsys.forecast.reasons`),
:mod:`recsys.forecast.slots` for the hour-of-week slots to share in,
:mod:`recsys.forecast.slot_rates` for the engagement per share by slot,
:mod:`recsys.forecast.share_plan` for both saved and loaded together, and
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
from recsys.forecast.reasons import feed_action, reason_action, reason_text
from recsys.forecast.share_plan import SharePlan, SharePlanModel, load_slot_models
from recsys.forecast.slot_rates import SlotRateModel
from recsys.forecast.slots import (
    N_SLOTS,
    SlotModel,
    fit_strength,
    hour_of_week,
    slot_name,
    spread_slots,
)

__all__ = [
    "BASELINES",
    "N_SLOTS",
    "ActivityLog",
    "ContentForecast",
    "LapseModel",
    "ScoreBaseline",
    "SharePlan",
    "SharePlanModel",
    "SlotModel",
    "SlotRateModel",
    "baseline",
    "eligible",
    "feature_names",
    "feed_action",
    "fit_strength",
    "forecast_metrics",
    "hour_of_week",
    "lapse_features",
    "lapse_labels",
    "load_slot_models",
    "reason_action",
    "reason_text",
    "slot_name",
    "spread_slots",
]
