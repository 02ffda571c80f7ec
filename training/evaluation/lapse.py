"""``deskdrop-lapse``: the lapse forecast on the real DeskDrop interactions, beside baselines.

Protocol
    Origins T: the first of each month (default 2016-04-01 .. 2016-12-01, ``windows`` overrides).
    At T, the advocates are those with an event in the 60 days before T; the label is 1 when they
    have no event in ``[T, T + horizon)`` (default 30 days). Features use the events before T
    only (:func:`recsys.forecast.lapse_features`).
Training
    Rolling: for origin T every model is fitted on the earlier monthly origins T' (month starts
    from the log's first month) whose labels are fully observed before T
    (``T' + horizon <= T``), rows pooled. An origin without such a training origin (or with a
    single class) is skipped and listed in ``protocol["skipped_windows"]``.
Models
    ``lapse`` (:class:`recsys.forecast.LapseModel`), ``recency`` and ``frequency``
    (:class:`recsys.forecast.ScoreBaseline`: the score ranks; a logistic fit of the label on the
    score over the same training rows gives the probability, so the Brier scores compare).
Metrics
    Per window: ROC ``auc`` of P(lapse) against the label, ``brier``, ``precision@10%`` (share of
    lapsed among the ceil(10%) highest, ties in the advocates' order), ``n`` and ``positives``.
    Overall: the mean over the scored windows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from recsys.forecast import (
    BASELINES,
    ActivityLog,
    LapseModel,
    ScoreBaseline,
    baseline,
    eligible,
    feature_names,
    lapse_features,
    lapse_labels,
)
from recsys.times import DAY, TimeLike, epoch_seconds
from training.evaluation.report import result, utc

BENCHMARK = "deskdrop-lapse"
DEFAULT_WINDOWS = tuple(f"2016-{month:02d}-01" for month in range(4, 13))
MODELS = ("lapse", *BASELINES)
METRICS = ("auc", "brier", "precision@10%")


def activity_log(events: pd.DataFrame) -> ActivityLog:
    """DeskDrop events (``timestamp``, ``eventType``, ``personId``) as an :class:`ActivityLog`."""
    persons, person_ids = pd.factorize(events["personId"], sort=True)
    kinds, kind_names = pd.factorize(events["eventType"].astype(str), sort=True)
    return ActivityLog.build(
        events["timestamp"].to_numpy(np.float64),
        persons,
        kinds,
        n_persons=len(person_ids),
        kind_names=[str(k) for k in kind_names],
    )


def month_starts(first: float, last: float) -> list[float]:
    """Unix seconds of every first of a month (UTC) in ``[month of first, last]``."""
    start = pd.Timestamp(first, unit="s").normalize().replace(day=1)
    months = pd.date_range(start, pd.Timestamp(last, unit="s"), freq="MS", tz=None)
    return [float(m.tz_localize("UTC").timestamp()) for m in months]


def deskdrop_lapse(
    events: pd.DataFrame,
    windows: Sequence[TimeLike] = DEFAULT_WINDOWS,
    *,
    horizon_days: float = 30.0,
) -> dict[str, object]:
    """The benchmark (see the module docstring); ``events`` as ``read_deskdrop_events``."""
    started = time.perf_counter()
    log = activity_log(events)
    names = feature_names(log.kind_names)
    horizon = horizon_days * DAY
    origins = sorted(epoch_seconds(w) for w in windows)
    grid = month_starts(float(log.times[0]), max(origins)) if len(log.times) else []
    rows = {t: origin_rows(log, t, horizon_days) for t in sorted(set(grid) | set(origins))}
    per_window: dict[str, dict[str, dict]] = {name: {} for name in MODELS}
    skipped: dict[str, str] = {}
    training: dict[str, dict[str, int]] = {}
    for origin in origins:
        train = [t for t in grid if t + horizon <= origin and len(rows[t][1])]
        x, y = rows[origin]
        if not train or not len(y) or len(np.unique(y)) < 2:
            skipped[utc(int(origin))] = "no earlier fully observed origin or a single class"
            continue
        x_train = np.vstack([rows[t][0] for t in train])
        y_train = np.concatenate([rows[t][1] for t in train])
        if len(np.unique(y_train)) < 2:
            skipped[utc(int(origin))] = "training rows of a single class"
            continue
        for name, model in lapse_models(names, horizon_days).items():
            p = model.fit(x_train, y_train).predict_proba(x)
            per_window[name][utc(int(origin))] = window_metrics(y, p)
        training[utc(int(origin))] = {"origins": len(train), "rows": len(y_train)}
    entries = {name: {**_means(w), "windows": w} for name, w in per_window.items()}
    protocol = {
        "horizon_days": horizon_days,
        "active_days": 60,
        "origins_utc": [utc(int(t)) for t in origins],
        "training": "rolling: earlier month starts T' with T' + horizon <= T, rows pooled",
        "baselines": "recency = days since last event, frequency = -events in 60 days;"
        " probability = logistic fit of the label on the score over the training rows",
        "features": list(names),
        "training_rows": training,
        "skipped_windows": skipped,
    }
    return result(BENCHMARK, protocol, entries, started)


def lapse_models(
    names: Sequence[str], horizon_days: float, C: float = 0.3
) -> dict[str, LapseModel | ScoreBaseline]:
    """Unfitted models of :data:`MODELS` over feature columns ``names``."""
    models: dict[str, LapseModel | ScoreBaseline] = {
        "lapse": LapseModel(tuple(names), C=C, horizon_days=horizon_days)
    }
    return models | {name: baseline(name, names) for name in BASELINES}


def origin_rows(
    log: ActivityLog, origin: float, horizon_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of the advocates eligible at ``origin``."""
    mask = eligible(log, origin)
    return lapse_features(log, origin)[mask], lapse_labels(log, origin, horizon_days)[mask]


def window_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float | int]:
    """AUC, Brier, precision@10%, n and positives of P(lapse) ``p`` against labels ``y``."""
    top = max(1, math.ceil(0.1 * len(y)))
    order = np.argsort(-p, kind="stable")[:top]
    return {
        "auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "precision@10%": float(np.mean(y[order])),
        "n": len(y),
        "positives": int(np.sum(y)),
    }


def _means(windows: dict[str, dict]) -> dict[str, float | None]:
    return {
        m: (float(np.mean([w[m] for w in windows.values()])) if windows else None) for m in METRICS
    }
