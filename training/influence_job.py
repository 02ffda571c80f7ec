"""Fitting and evaluating the micro-influencer scorer: the facade over
``features.influence_*`` and ``recsys.influence`` (scoring with a fitted scorer is
:mod:`training.influence_scoring`, re-exported here; the candidates it scores are
:mod:`training.influence_candidates`).

Time
    ``fit_influence`` learns from time inside the data. ``end`` is the last moment with data
    (share outcome, interaction or account snapshot) at or before ``as_of`` (default: the
    snapshot's ``as_of``), so scoring "now" after the data stopped still learns from the last
    full horizon. Features as of ``T = end - horizon``, labels from ``(T, end]`` (top decile of
    engagement per share, see ``features.influence_labels``), plus up to two earlier windows
    of the same length. The model cannot be refit *at* ``as_of`` (its labels would lie in the
    future), so what moves to ``as_of`` is everything else: candidates are scored from
    features built as of ``as_of`` and percentiles compare against the organisation as of
    ``as_of`` (``InfluenceScorer.set_reference``). ``training_`` records ``features_as_of``,
    ``labels_end``, ``scored_as_of`` and every window's label counts.
Evaluation
    ``evaluate_influence`` backtests on the store's own history: fit with labels from
    ``(as_of - 2h, as_of - h]``, score as of ``as_of - h`` and compare with the labels of
    ``(as_of - h, as_of]``, for the model and the ``leaderboard`` and ``followers`` baselines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.data.times import utc
from features.influence_features import advocate_groups
from features.influence_labels import influence_labels
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.influence import (
    FollowersBaseline,
    InfluenceScorer,
    LeaderboardBaseline,
    flag_rates,
)
from recsys.matrix import FeatureMatrix
from recsys.progress import current
from recsys.times import TimeLike
from training.influence_scoring import build_features, data_start
from training.influence_scoring import score_snapshot as score_snapshot  # the job's API too

logger = logging.getLogger(__name__)

FEATURE_PARAMS = ("networks", "prior_impressions", "lift_prior_shares", "org_network")
SCORER_PARAMS = tuple(InfluenceScorer().get_params())
RECOMMENDED_LABELLED = 20


class InsufficientHistoryError(ValueError):
    """Too few advocates with measured shares in the label windows to learn a scorer."""


def data_end(snapshot: Snapshot) -> pd.Timestamp:
    """The last moment with data in ``snapshot`` (at most its ``as_of``)."""
    latest = [
        pd.to_datetime(frame[column], utc=True).max()
        for frame, column in (
            (snapshot.share_outcomes, "measured_at"),
            (snapshot.interactions, "timestamp"),
            (snapshot.social_accounts, "as_of"),
        )
        if len(frame)
    ]
    if not latest:
        raise ValueError("the snapshot holds no events: nothing to learn influence from")
    return min(max(latest), snapshot.as_of)


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``config`` as (feature builder params, scorer params); unknown keys raise."""
    unknown = sorted(set(config) - set(FEATURE_PARAMS) - set(SCORER_PARAMS))
    if unknown:
        raise TypeError(
            f"unknown influence setting(s) {unknown}; known: {[*FEATURE_PARAMS, *SCORER_PARAMS]}"
        )
    features = {k: v for k, v in config.items() if k in FEATURE_PARAMS}
    return features, {k: v for k, v in config.items() if k in SCORER_PARAMS}


def fit_influence(
    snapshot: Snapshot,
    *,
    as_of: TimeLike | None = None,
    horizon_days: float = 30,
    random_state: int = 42,
    windows: int = 3,
    min_labelled: int = 0,
    **config: Any,
) -> InfluenceScorer:
    """Fit the scorer on features as of ``end - horizon`` and labels from ``(end - horizon,
    end]`` (``end``: the last data at or before ``as_of``), plus up to ``windows - 1`` earlier
    windows of the same length (features as of ``end - (i + 1) * horizon``, labels from the
    ``horizon`` after), each kept only when the data reaches back to its start; then set the
    organisation reference as of ``as_of`` (module docstring). Fewer than ``min_labelled``
    labelled rows (and, when ``min_labelled >= 2``, fewer than 2 positives) raise
    :class:`InsufficientHistoryError`; below :data:`RECOMMENDED_LABELLED` a warning is logged.
    The CLI asks for :data:`RECOMMENDED_LABELLED`: no candidate list from a handful of people."""
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be > 0, got {horizon_days}")
    if int(windows) < 1:
        raise ValueError(f"windows must be >= 1, got {windows}")
    feature_config, scorer_config = split_config(config)
    scored_at = snapshot.as_of if as_of is None else utc(as_of)
    if scored_at > snapshot.as_of:
        raise ValueError(f"as_of {scored_at} is after the snapshot's as_of {snapshot.as_of}")
    end = data_end(snapshot.cut(scored_at))
    horizon = pd.Timedelta(days=horizon_days)
    parts, summaries = _label_windows(snapshot, end, horizon, int(windows), feature_config)
    features, labels = _stack(parts)
    labelled, positives = int((~np.isnan(labels)).sum()), int(np.nansum(labels))
    if labelled < min_labelled or (min_labelled >= 2 and positives < 2):
        raise InsufficientHistoryError(
            f"too little history to learn from: {labelled} advocate-windows with a measured share"
            f" in the label windows ({positives} in the top decile); need {min_labelled} and 2"
        )
    if labelled < RECOMMENDED_LABELLED:
        logger.warning(
            "influence scorer fitted on only %d labelled advocate-windows (%d positive):"
            " treat its scores as rough",
            labelled,
            positives,
        )
    info = {
        "features_as_of": (end - horizon).isoformat(),
        "labels_end": end.isoformat(),
        "scored_as_of": scored_at.isoformat(),
        "horizon_days": horizon_days,
        "windows": summaries,
        "features_config": {k: _plain(v) for k, v in feature_config.items()},
        **summaries[0],
    }
    scorer = InfluenceScorer(random_state=random_state, **scorer_config)
    with current().stage("influencer fit"):
        scorer.fit(features, labels, info=info)
        scorer.set_reference(build_features(snapshot.cut(scored_at), feature_config))
    logger.info("fitted influence scorer: %s", scorer.training_)
    return scorer


def _label_windows(
    snapshot: Snapshot,
    end: pd.Timestamp,
    horizon: pd.Timedelta,
    windows: int,
    feature_config: Mapping[str, Any],
) -> tuple[list[tuple[FeatureMatrix, np.ndarray, int]], list[dict]]:
    """Features and labels of up to ``windows`` label windows back from ``end`` (see
    :func:`fit_influence`), each counted in the progress stage "influencer windows"."""
    first = data_start(snapshot)
    parts, summaries = [], []
    with current().stage("influencer windows", windows, "windows") as stage:
        for i in range(windows):
            stop, start = end - i * horizon, end - (i + 1) * horizon
            if i > 0 and start <= first:
                break
            features = build_features(snapshot.cut(start), feature_config)
            ids = list(features.ids.external)
            labels = influence_labels(snapshot.cut(stop), start, stop, ids=ids)
            parts.append((features, labels.labels, i))
            summaries.append(labels.summary())
            stage.advance()
    return parts, summaries


def _stack(parts: list[tuple[FeatureMatrix, np.ndarray, int]]) -> tuple[FeatureMatrix, np.ndarray]:
    """Windows one under the other (row ids ``employee@window``) with their labels."""
    if len(parts) == 1:
        return parts[0][0], parts[0][1]
    names = parts[0][0].names
    values = np.vstack([np.column_stack([m.column(n) for n in names]) for m, _, _ in parts])
    ids = np.concatenate([[f"{e}@{i}" for e in m.ids.external] for m, _, i in parts])
    labels = np.concatenate([y for _, y, _ in parts])
    return FeatureMatrix(values, names, IdMap(ids.astype(object), "advocate_window")), labels


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | list) else value


def influence_ranking_metrics(
    score: np.ndarray, relevant: np.ndarray, k: int, *, labelled: np.ndarray | None = None
) -> dict[str, float | None]:
    """``auc`` (over ``labelled`` rows), ``precision@k`` and ``recall@k`` of ``score``'s top k
    (ties broken by row order) against ``relevant``."""
    score, relevant = np.asarray(score, float), np.asarray(relevant, bool)
    mask = np.ones(len(score), bool) if labelled is None else np.asarray(labelled, bool)
    auc = None
    if len(set(relevant[mask].tolist())) == 2:
        auc = round(float(roc_auc_score(relevant[mask], score[mask])), 6)
    top = np.argsort(-score, kind="stable")[:k]
    hits = int(relevant[top].sum())
    positives = int(relevant.sum())
    return {
        "auc": auc,
        "precision@k": round(hits / k, 6) if k else None,
        "recall@k": round(hits / positives, 6) if positives else None,
    }


def calibration_report(score: np.ndarray, outcome: np.ndarray, bins: int = 5) -> dict:
    """Brier score and, per score quantile bin, the mean score next to the observed rate."""
    score, outcome = np.asarray(score, float), np.asarray(outcome, float)
    if len(score) == 0:
        return {"brier": None, "mean_score": None, "positive_rate": None, "bins": []}
    edges = np.unique(np.quantile(score, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, max(len(edges) - 2, 0))
    table = [
        {
            "n": int((which == b).sum()),
            "mean_score": round(float(score[which == b].mean()), 4),
            "positive_rate": round(float(outcome[which == b].mean()), 4),
        }
        for b in np.unique(which)
    ]
    return {
        "brier": round(float(np.mean((score - outcome) ** 2)), 6),
        "mean_score": round(float(score.mean()), 4),
        "positive_rate": round(float(outcome.mean()), 4),
        "bins": table,
    }


def evaluate_influence(
    snapshot: Snapshot,
    *,
    as_of: TimeLike | None = None,
    horizon_days: float = 30,
    k: int | None = None,
    **config: Any,
) -> dict:
    """Backtest on the snapshot's history (see the module docstring); JSON-able result."""
    started = time.perf_counter()
    end = data_end(snapshot.cut(snapshot.as_of if as_of is None else utc(as_of)))
    middle = end - pd.Timedelta(days=horizon_days)
    clock = time.perf_counter()
    scorer = fit_influence(snapshot, as_of=middle, horizon_days=horizon_days, **config)
    fit_seconds = time.perf_counter() - clock
    present = snapshot.cut(middle)
    clock = time.perf_counter()
    features = build_features(present, scorer.training_.get("features_config"))
    score = scorer.predict_proba(features)
    flagged = scorer.predict(features)
    score_seconds = time.perf_counter() - clock
    labels = influence_labels(snapshot.cut(end), middle, end, ids=list(features.ids.external))
    relevant = labels.labels == 1.0
    labelled = ~np.isnan(labels.labels)
    k = int(k or max(1, labels.positives))
    models = {
        "influence": _entry(score, relevant, labelled, k, fit_seconds, score_seconds),
        **_baselines(features, relevant, labelled, k),
    }
    models["influence"]["calibration"] = calibration_report(score[labelled], relevant[labelled])
    groups = advocate_groups(present, list(features.ids.external))
    return {
        "benchmark": "influence-backtest",
        "protocol": {
            "k": k,
            "horizon_days": horizon_days,
            "train_features_as_of": scorer.training_["features_as_of"],
            "train_labels": [scorer.training_["label_start"], scorer.training_["label_end"]],
            "test_features_as_of": middle.isoformat(),
            "test_labels": [labels.start.isoformat(), labels.end.isoformat()],
            "relevant": "top decile of engagement per share in the test window",
            "auc_over": "advocates with a measured share in the test window",
            "advocates": len(features.ids),
            "labelled": labels.labelled,
            "positives": labels.positives,
            "calibration": scorer.calibration_,
        },
        "models": models,
        "fairness": flag_rates(flagged, groups),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _entry(
    score: np.ndarray,
    relevant: np.ndarray,
    labelled: np.ndarray | None,
    k: int,
    fit_seconds: float,
    score_seconds: float,
) -> dict:
    metrics = influence_ranking_metrics(score, relevant, k, labelled=labelled)
    n = int(len(score) if labelled is None else np.sum(labelled))
    return {
        **metrics,
        "slices": {"all": {**metrics, "n": n}},
        "seconds": {"fit": round(fit_seconds, 3), "score": round(score_seconds, 3)},
    }


def _baselines(
    features: FeatureMatrix, relevant: np.ndarray, labelled: np.ndarray | None, k: int
) -> dict[str, dict]:
    out = {}
    for name, model in (("leaderboard", LeaderboardBaseline()), ("followers", FollowersBaseline())):
        clock = time.perf_counter()
        score = model.fit(features).decision_function(features)
        seconds = time.perf_counter() - clock
        out[name] = _entry(score, relevant, labelled, k, 0.0, seconds)
    return out
