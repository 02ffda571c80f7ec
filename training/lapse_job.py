"""Fitting and evaluating the lapse forecast on the store (``advocacy train``): the facade over
:mod:`features.advocate_activity` and :mod:`recsys.forecast`.

Data
    The activity of the advocates who have not opted out, up to the snapshot's last event at or
    before its ``as_of`` (the cut-off: the data's end, so a store whose data stopped long ago is
    read where it stopped), within ``lapse.lookback_days`` before it
    (:func:`features.advocate_activity.snapshot_activity`).
Origins
    The first of each month T (UTC) from the month of the first event on, whose label window is
    over by the last event (``T + horizon <= end``) and with at least one eligible advocate (an
    event in the 60 days before T). Rows: features as of T, label = no event in
    ``[T, T + horizon)`` (:func:`training.evaluation.lapse.origin_rows`).
Held out
    The last origin. ``lapse`` and the baselines ``recency`` and ``frequency`` are fitted on the
    earlier origins whose labels end by it (``T' + horizon <= T_last``, the rolling protocol of
    :mod:`training.evaluation.lapse`) and scored there: ``auc``, ``brier``, ``precision@10%``,
    ``n``, ``positives`` and the seconds to fit and score.
Shipped
    :class:`recsys.forecast.LapseModel` fitted on the rows of every origin; ``training_`` holds
    the rows, the origins, the held-out origin and the cut-off.
Too little history
    Fewer than ``lapse.min_origins`` origins, no earlier origin to train the held-out window's
    models on, or a single class: :class:`InsufficientLapseHistory` (``advocacy train`` then says
    so and trains the other models).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.advocate_activity import AdvocateActivity, snapshot_activity
from features.data.times import column_seconds
from features.data.times import utc as utc_time
from features.snapshot import Snapshot
from recsys.forecast import LapseModel, feature_names
from recsys.times import DAY
from training.config import LapseConfig
from training.evaluation.lapse import lapse_models, month_starts, origin_rows, window_metrics
from training.evaluation.report import utc
from training.forecast_jobs import ForecastJob, InsufficientHistory
from training.registry_reader import LAPSE

BENCHMARK = "store-lapse"


class InsufficientLapseHistory(InsufficientHistory):
    """Too few monthly origins (or a single class) in the store to fit and hold out."""


def train_lapse(snapshot: Snapshot, settings: LapseConfig) -> tuple[LapseModel, dict[str, Any]]:
    """The held-out evaluation and the shipped model of ``snapshot`` (module docstring)."""
    activity = lapse_activity(snapshot, settings)
    rows = lapse_origin_rows(activity, settings)
    evaluation = evaluate_lapse(activity, settings, rows)
    model = fit_lapse(activity, settings, rows)
    model.training_ |= {"held_out": evaluation["protocol"]["held_out"]}
    return model, evaluation


def lapse_activity(snapshot: Snapshot, settings: LapseConfig) -> AdvocateActivity:
    """The activity the lapse forecast learns from: up to the snapshot's last interaction (just
    after it), ``settings.lookback_days`` back (module docstring)."""
    times = column_seconds(snapshot.interactions["timestamp"])
    times = times[times <= utc_time(snapshot.as_of).timestamp()]
    if not len(times):
        raise InsufficientLapseHistory("too little history for the lapse forecast: no events")
    end = min(pd.Timestamp(float(times.max()) + 1.0, unit="s", tz="UTC"), utc_time(snapshot.as_of))
    return snapshot_activity(snapshot, lookback_days=settings.lookback_days, as_of=end)


def lapse_origin_rows(
    activity: AdvocateActivity, settings: LapseConfig
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Features and labels per origin (module docstring), origins ascending; raises
    :class:`InsufficientLapseHistory` below ``settings.min_origins``."""
    log = activity.log
    horizon = settings.horizon_days * DAY
    end = float(log.times[-1]) if len(log.times) else activity.as_of
    grid = month_starts(float(log.times[0]), end - horizon) if len(log.times) else []
    rows = {}
    for origin in grid:
        if origin + horizon <= end:
            x, y = origin_rows(log, origin, settings.horizon_days)
            if len(y):
                rows[origin] = (x, y)
    if len(rows) < settings.min_origins:
        raise InsufficientLapseHistory(
            f"too little history for the lapse forecast: {len(rows)} monthly origin(s) with"
            f" active advocates and a {settings.horizon_days:g}-day label window before the last"
            f" event ({utc(int(end))}); need {settings.min_origins}"
        )
    return rows


def evaluate_lapse(
    activity: AdvocateActivity,
    settings: LapseConfig,
    rows: dict[float, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """The models and baselines on the held-out last origin (runner-shaped result)."""
    started = time.perf_counter()
    rows = rows if rows is not None else lapse_origin_rows(activity, settings)
    held_out = max(rows)
    train = [t for t in rows if t + settings.horizon_days * DAY <= held_out]
    x, y = rows[held_out]
    x_train = np.vstack([rows[t][0] for t in train]) if train else np.zeros((0, x.shape[1]))
    y_train = np.concatenate([rows[t][1] for t in train]) if train else np.zeros(0, bool)
    if len(np.unique(y)) < 2 or len(np.unique(y_train)) < 2:
        raise InsufficientLapseHistory(
            f"too little history for the lapse forecast: the held-out origin"
            f" {utc(int(held_out))} ({len(y)} advocates) or its {len(y_train)} training rows"
            " hold a single class (all lapsed or all active)"
        )
    names = feature_names(activity.log.kind_names)
    models: dict[str, Any] = {}
    for name, model in lapse_models(names, settings.horizon_days, settings.C).items():
        clock = time.perf_counter()
        model.fit(x_train, y_train)
        fitted = time.perf_counter() - clock
        p = model.predict_proba(x)
        scored = time.perf_counter() - clock - fitted
        seconds = {"fit": round(fitted, 3), "score": round(scored, 3)}
        models[name] = {**window_metrics(y, p), "seconds": seconds}
    protocol = {
        "cut_off": utc(int(activity.as_of)),
        "data_end": utc(int(activity.log.times[-1])),
        "horizon_days": settings.horizon_days,
        "active_days": 60,
        "lookback_days": settings.lookback_days,
        "origins": [utc(int(t)) for t in rows],
        "held_out": utc(int(held_out)),
        "training_origins": [utc(int(t)) for t in train],
        "training_rows": len(y_train),
        "primary_metric": "auc",
    }
    return {
        "benchmark": BENCHMARK,
        "protocol": protocol,
        "models": models,
        "seconds": round(time.perf_counter() - started, 3),
    }


def fit_lapse(
    activity: AdvocateActivity,
    settings: LapseConfig,
    rows: dict[float, tuple[np.ndarray, np.ndarray]] | None = None,
) -> LapseModel:
    """The shipped model: fitted on every origin's rows (module docstring)."""
    rows = rows if rows is not None else lapse_origin_rows(activity, settings)
    x = np.vstack([r[0] for r in rows.values()])
    y = np.concatenate([r[1] for r in rows.values()])
    if len(np.unique(y)) < 2:
        raise InsufficientLapseHistory(
            f"too little history for the lapse forecast: all {len(y)} rows are one class"
        )
    names = feature_names(activity.log.kind_names)
    model = LapseModel(names, C=settings.C, horizon_days=settings.horizon_days).fit(x, y)
    model.training_ |= {
        "cut_off": utc(int(activity.as_of)),
        "lookback_days": settings.lookback_days,
        "origins": [utc(int(t)) for t in rows],
    }
    return model


def champion_evaluation(snapshot: Snapshot, settings: LapseConfig) -> dict[str, Any]:
    """A (champion's) configuration refitted and held out on ``snapshot``: the same cut-off,
    origins and held-out origin as the challenger's (the retrain gate)."""
    return evaluate_lapse(lapse_activity(snapshot, settings), settings)


def _signature(model: LapseModel) -> Any:
    from training.mlflow_models import lapse_signature

    return lapse_signature(model)


def _caption(evaluation: Mapping[str, Any]) -> str:
    return f"Lapse forecast, held-out origin {evaluation['protocol']['held_out'][:10]}"


JOB = ForecastJob(
    name=LAPSE,
    short="lapse",
    title="lapse forecast",
    model_key="lapse",
    train=train_lapse,
    evaluate=champion_evaluation,
    code=Path(__file__).with_name("pyfunc_lapse.py"),
    signature=_signature,
    model_type="lapse-forecast",
    description="Lapse forecast: an MLflow pyfunc (feature rows in, P(no activity in the"
    " horizon) and reasons out) over the LapseModel's folder (manifest.json + arrays.npz, no"
    " pickle).",
    columns=("auc", "brier", "precision@10%", "n", "positives"),
    caption=_caption,
)
