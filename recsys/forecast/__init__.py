"""Forecasts of advocate behaviour (plain numpy/scikit-learn): who is about to lapse, and when
to share.

See :mod:`recsys.forecast.lapse` for the features, the model and its reasons, and
:mod:`recsys.forecast.slots` for the hour-of-week slots.
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
    "LapseModel",
    "ScoreBaseline",
    "SlotModel",
    "baseline",
    "eligible",
    "feature_names",
    "fit_strength",
    "hour_of_week",
    "lapse_features",
    "lapse_labels",
    "slot_name",
    "spread_slots",
]
