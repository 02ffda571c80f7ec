"""Training: snapshot -> features -> holdout evaluation -> final models, timed per stage.

:func:`train` does what ``advocacy train`` does without MLflow (tracking is
:mod:`training.tracking`, the registry :mod:`training.registry`):

1. the weighted engagement log of the snapshot (:func:`training.datasets.engagement_log`);
   the holdout window is its last ``data.holdout_days`` days;
2. evaluation (:func:`evaluate_recommenders`): features as of the window's start, every model
   (the configured one and its baselines) fitted on the events before it, then the replay
   protocol of :func:`training.evaluation.protocols.deskdrop_replay` on the store's events:
   each (employee, content) pair first engaged with inside the window, except a content's
   first engagement, is ranked at its time among the contents first engaged with before
   then, after the models observed every earlier event (never refit); slices ``all``,
   ``new_content``, ``new_person``;
3. the shipped recommender fitted on every event with features as of ``data.as_of``, and
   sanity checks on it (:func:`sanity_checks`: finite scores, catalogue coverage, latency);
4. the influencer scorer (:mod:`training.influence_job`) backtested, fitted and scored
   (``influencer.enabled``);
5. the forecasts of :func:`training.forecast_jobs.jobs` (the lapse forecast,
   :mod:`training.lapse_job`, ...), each evaluated on its held-out data and fitted when its
   config section is ``enabled``; one with too little history is skipped
   (``forecasts[short].skipped`` says why) and the other models are trained as usual.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.data.reader import StoreReader
from features.data.store import Store
from features.encoder import SentenceTransformerEncoder, TextEncoder
from features.pipeline import FeaturePipeline, FeatureSet
from features.snapshot import Snapshot
from recsys.base import Recommender
from recsys.models import make_recommender
from recsys.progress import Progress, resolve
from recsys.times import DAY, epoch_seconds
from training.config import TrainConfig, config_yaml
from training.datasets import (
    DataValidationError,
    build_dataset,
    check_data,
    data_profile,
    engagement_log,
)
from training.evaluation.deskdrop import pair_metrics, replay_ranks
from training.evaluation.protocols import DeskDropReplay, deskdrop_replay
from training.evaluation.report import fit_model
from training.forecast_jobs import Forecast, ForecastJob, InsufficientHistory, jobs

logger = logging.getLogger(__name__)

PROTOCOL = "store-replay"


@dataclass
class TrainResult:
    """Everything one training produced; :meth:`save` writes it as folders and JSON."""

    config: TrainConfig
    profile: dict[str, Any]
    evaluation: dict[str, Any]
    recommender: Recommender
    feature_spec: dict[str, Any]
    sanity: dict[str, Any]
    influencer: Any = None
    influence_evaluation: dict[str, Any] | None = None
    influencer_candidates: list[Any] | None = None
    forecasts: dict[str, Forecast] = field(default_factory=dict)  # by the job's short name
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def primary_metric(self) -> float | None:
        """The configured model's ``gate.primary_metric`` on the holdout."""
        entry = self.evaluation["models"][self.config.recommender.model]
        value = entry.get(self.config.gate.primary_metric)
        return None if value is None else float(value)

    def forecast(self, short: str) -> Forecast:
        """What training did with forecast job ``short`` (empty when it was disabled)."""
        return self.forecasts.get(short) or Forecast()

    def forecast_summaries(self) -> dict[str, dict[str, Any] | None]:
        """Per forecast job: its held-out evaluation, ``{"skipped": why}``, or None
        (disabled)."""
        return {job.short: self.forecast(job.short).summary for job in jobs()}

    # the lapse forecast's parts under their earlier names
    @property
    def lapse(self) -> Any:
        return self.forecast("lapse").model

    @property
    def lapse_evaluation(self) -> dict[str, Any] | None:
        return self.forecast("lapse").evaluation

    @property
    def lapse_skipped(self) -> str | None:
        return self.forecast("lapse").skipped

    @property
    def lapse_summary(self) -> dict[str, Any] | None:
        return self.forecast("lapse").summary

    def save(self, folder: Path) -> dict[str, Path]:
        """``recommender/`` (model + feature_spec.json), ``influencers/``, one folder per
        trained forecast (``lapse/``, ...), JSON and YAML."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"recommender": self.recommender.save(folder / "recommender")}
        (paths["recommender"] / "feature_spec.json").write_text(
            json.dumps(self.feature_spec, indent=2)
        )
        if self.influencer is not None:
            self.influencer.save(folder / "influencers")
            paths["influencers"] = folder / "influencers"
        for short, forecast in self.forecasts.items():
            if forecast.model is not None:
                paths[short] = Path(forecast.model.save(folder / short))
        evaluation = {
            "recommender": self.evaluation,
            "influencers": self.influence_evaluation,
            **self.forecast_summaries(),
            "sanity": {k: v for k, v in self.sanity.items() if k != "scores"},
            "data": self.profile,
            "seconds": self.seconds,
        }
        paths["evaluation"] = folder / "evaluation.json"
        paths["evaluation"].write_text(json.dumps(evaluation, indent=2, default=str))
        paths["config"] = folder / "config.yaml"
        paths["config"].write_text(config_yaml(self.config))
        return paths


class Stages:
    """Seconds per named stage (``with stages("fit"): ...``), each also a progress stage
    ("train <name>") of ``progress`` (default :func:`recsys.progress.current`)."""

    def __init__(
        self, clock: Callable[[], float] = time.perf_counter, progress: Progress | None = None
    ) -> None:
        self.clock = clock
        self.progress = progress
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = self.clock()
        try:
            with resolve(self.progress).stage(f"train {name}"):
                yield
        finally:
            self.seconds[name] = round(self.clock() - started, 3)


def make_encoder(config: TrainConfig) -> TextEncoder:
    """The configured sentence-transformers encoder (default: the bundled MiniLM)."""
    features = config.features
    return SentenceTransformerEncoder(
        features.encoder_model, expected_sha256=features.encoder_sha256
    )


def load_snapshot(store: Store, config: TrainConfig, now: datetime | None = None) -> Snapshot:
    """The store as of ``data.as_of`` (default ``now``, default the current time)."""
    moment = config.data.as_of or now or datetime.now(UTC)
    return Snapshot.load(StoreReader(store), moment)


def train(
    snapshot: Snapshot,
    config: TrainConfig,
    *,
    encoder: TextEncoder | None = None,
    cache: Store | None = None,
    models: list[str] | None = None,
    stages: Stages | None = None,
) -> TrainResult:
    """Evaluate on the holdout, then fit the shipped models on all the data (module doc).

    ``models`` limits the evaluated models (default: the configured model and baselines).
    Raises :class:`DataValidationError` before fitting anything when the data is too thin.
    """
    stages = stages or Stages()
    encoder = encoder or make_encoder(config)
    with stages("log"):
        log = engagement_log(snapshot, config.data.event_weights)
        split_at = holdout_start(log, config.data.holdout_days)
        check_data(
            log,
            split_at,
            min_train=config.data.min_train_events,
            min_test=config.data.min_test_pairs,
        )
        profile = data_profile(snapshot)
    names = models or [config.recommender.model, *config.recommender.baselines]
    evaluation = evaluate_recommenders(
        snapshot, config, log, split_at, names, encoder=encoder, cache=cache, stages=stages
    )
    with stages("features"):
        features = _pipeline(config, encoder, cache).fit_transform(snapshot)
    with stages("fit"):
        dataset = build_dataset(snapshot, features, config.features, log)
        name = config.recommender.model
        recommender = make_recommender(name, config.model_params(name)).fit(dataset)
    with stages("sanity"):
        sanity = sanity_checks(recommender, snapshot, config)
    result = TrainResult(
        config=config,
        profile=profile | {"holdout_start": _iso(split_at)},
        evaluation=evaluation,
        recommender=recommender,
        feature_spec=feature_spec(config, features, dataset.user_features, encoder, snapshot),
        sanity=sanity,
    )
    if config.influencer.enabled:
        _train_influencer(result, snapshot, config, stages)
    for job in jobs():
        if job.settings(config).enabled:
            result.forecasts[job.short] = train_forecast(
                job, snapshot, config, stages, store=cache, encoder=encoder
            )
    result.seconds = dict(stages.seconds)
    return result


def holdout_start(log: pd.DataFrame, holdout_days: float) -> int:
    """Start (unix s) of the last ``holdout_days`` days of the log."""
    if not len(log):
        raise DataValidationError("interactions: no weighted events in the store")
    return int(log["timestamp"].max()) - round(holdout_days * DAY) + 1


def evaluate_recommenders(
    snapshot: Snapshot,
    config: TrainConfig,
    log: pd.DataFrame,
    split_at: int,
    names: list[str],
    *,
    encoder: TextEncoder,
    cache: Store | None = None,
    stages: Stages | None = None,
) -> dict[str, Any]:
    """Replay the holdout window for models ``names`` (see the module docstring).

    Returns the runner's result shape: ``{"benchmark": "store-replay", "protocol",
    "models": {name: {metric: value, "slices": {...}, "seconds": {...}}}, "seconds"}``.
    """
    stages = stages or Stages()
    started = time.perf_counter()
    before = snapshot.cut(pd.Timestamp(split_at, unit="s", tz="UTC") - pd.Timedelta(1, "ns"))
    with stages("holdout_features"):
        features = _pipeline(config, encoder, cache).fit_transform(before)
    train_log = log[log["timestamp"].to_numpy() < split_at]
    dataset = build_dataset(before, features, config.features, train_log)
    replay = deskdrop_replay(
        log,
        split_at,
        None,
        time_col="timestamp",
        person_col="person",
        content_col="content",
        event_col="event_type",
    )
    content = np.asarray([str(c) for c in replay.index.content_ids], dtype=object)
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    with stages("holdout_models"):
        for name in dict.fromkeys(names):
            factory = functools.partial(make_recommender, name, config.model_params(name))
            strict = name == config.recommender.model  # a baseline that cannot fit is skipped
            with resolve(stages.progress).stage(f"holdout {name}"):
                model, fit_seconds = fit_model(name, factory, dataset, skipped, strict=strict)
                if model is not None:
                    results[name] = _replayed(model, replay, log, content, fit_seconds)
            if model is not None:
                logger.info("holdout %s: %s", name, results[name]["slices"]["all"])
    protocol = _protocol(config, replay, split_at, len(train_log), features.as_of, skipped)
    report = {
        "benchmark": PROTOCOL,
        "protocol": protocol,
        "models": results,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return json.loads(json.dumps(report, default=_plain))


def _replayed(
    model: Recommender,
    replay: DeskDropReplay,
    log: pd.DataFrame,
    content: np.ndarray,
    fit_seconds: float,
) -> dict[str, Any]:
    """One model's metrics (overall and per slice) and seconds on the replay."""
    ranks, seconds = replay_ranks(model, replay, log, content)
    slices = {"all": pair_metrics(ranks)}
    for column in ("new_content", "new_person"):
        slices[column] = pair_metrics(ranks[replay.pairs[column].to_numpy(bool)])
    overall = {k: v for k, v in slices["all"].items() if k != "n"}
    timing = {k: round(v, 3) for k, v in {"fit": fit_seconds, **seconds}.items()}
    return {**overall, "slices": slices, "seconds": timing}


def _protocol(
    config: TrainConfig,
    replay: DeskDropReplay,
    split_at: int,
    train_events: int,
    features_as_of: pd.Timestamp,
    skipped: dict[str, str],
) -> dict[str, Any]:
    pairs = replay.pairs
    return {
        "split_at": split_at,
        "split_at_utc": _iso(split_at),
        "holdout_days": config.data.holdout_days,
        "train_events": train_events,
        "test_pairs": len(pairs),
        "first_reads_left_out": replay.first_reads,
        "new_content_pairs": int(pairs["new_content"].sum()),
        "new_person_pairs": int(pairs["new_person"].sum()),
        "mean_candidates": float(pairs["n_candidates"].mean()) if len(pairs) else None,
        "event_weights": config.data.event_weights,
        "features_as_of": features_as_of.isoformat(),
        "replay": "deskdrop_replay on the store's weighted events; observe before t, no refit",
        "primary_metric": config.gate.primary_metric,
        "skipped_models": skipped,
    }


def sanity_checks(model: Recommender, snapshot: Snapshot, config: TrainConfig) -> dict[str, Any]:
    """Recommend for a seeded sample of advocates over the live catalogue, one request each.

    Fails (``passed: False``, ``failures`` say why) on non-finite scores, a catalogue
    coverage (distinct items recommended / candidates) under ``gate.min_coverage``, or a
    95th-percentile request latency over ``gate.latency_budget_ms``.
    """
    gate = config.gate
    candidates = live_catalogue(snapshot)
    people = snapshot.advocates["employee_id"].astype(str).to_numpy(object)
    rng = np.random.default_rng(config.seed)
    sample = rng.choice(people, min(gate.sample_employees, len(people)), replace=False)
    as_of = epoch_seconds(snapshot.as_of)
    latencies, scores, shown = [], [], set()
    for person in sample.tolist():
        clock = time.perf_counter()
        ids, values = model.recommend([person], gate.k, candidates=candidates, as_of=as_of)
        latencies.append((time.perf_counter() - clock) * 1000.0)
        scores.append(values[0])
        shown.update(ids[0].tolist())
    flat = np.concatenate(scores) if scores else np.zeros(0)
    report = {
        "employees": len(sample),
        "candidates": len(candidates),
        "non_finite_scores": int((~np.isfinite(flat)).sum()),
        "coverage": len(shown) / len(candidates) if candidates else 0.0,
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else 0.0,
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else 0.0,
    }
    failures = []
    if report["non_finite_scores"]:
        failures.append(f"{report['non_finite_scores']} non-finite scores")
    if not candidates:
        failures.append("no live content to recommend")
    elif report["coverage"] < gate.min_coverage:
        failures.append(f"coverage {report['coverage']:.3f} < {gate.min_coverage}")
    if report["latency_p95_ms"] > gate.latency_budget_ms:
        failures.append(f"p95 latency {report['latency_p95_ms']:.1f} ms > {gate.latency_budget_ms}")
    return report | {"passed": not failures, "failures": failures, "scores": flat}


def live_catalogue(snapshot: Snapshot) -> list[str]:
    """Approved content published by the snapshot time and not expired."""
    content = snapshot.content
    now = snapshot.as_of
    published = pd.to_datetime(content["published_at"], utc=True) <= now
    expires = pd.to_datetime(content["expires_at"], utc=True)
    alive = expires.isna() | (expires > now)
    approved = content["approval_status"].fillna("approved").astype(str) == "approved"
    keep = (published & alive & approved).to_numpy(bool)
    return content.loc[keep, "content_id"].astype(str).tolist()


def feature_spec(
    config: TrainConfig,
    features: FeatureSet,
    user_features: Any,
    encoder: TextEncoder,
    snapshot: Snapshot | None = None,
) -> dict[str, Any]:
    """What serving needs to build feature rows the model understands and to replay the
    events the model has not seen (``as_of`` and ``events_seq``, see
    :mod:`features.data.event_log`): feature_spec.json."""
    items = features.combined(list(config.features.item_matrices))
    return {
        "as_of": features.as_of.isoformat(),
        "events_seq": None if snapshot is None else snapshot.events_seq,
        "user_matrices": list(config.features.user_matrices),
        "item_matrices": list(config.features.item_matrices),
        "user_feature_names": list(user_features.names) if user_features is not None else [],
        "item_feature_names": list(items.names),
        "encoder_model_id": encoder.model_id,
        "encoder_model": config.features.encoder_model,
        "encoder_sha256": config.features.encoder_sha256,
        "history_half_life_days": config.features.history_half_life_days,
        "event_weights": config.data.event_weights,
    }


# -- influencers --------------------------------------------------------------------------
def influence_job() -> Any:
    """The influencer scorer's module (imported on first use: it loads its own stack)."""
    from training import influence_job as job

    return job


def _train_influencer(
    result: TrainResult, snapshot: Snapshot, config: TrainConfig, stages: Stages
) -> None:
    """Backtest, fit (as of the last data) and score the influencer scorer.

    Too little share history to learn from is invalid data (:class:`DataValidationError`).
    """
    job = influence_job()
    settings = config.influencer
    try:
        with stages("influencer_evaluation"):
            result.influence_evaluation = evaluate_influencer(job, snapshot, config)
        with stages("influencer_fit"):
            result.influencer = job.fit_influence(
                snapshot,
                horizon_days=settings.horizon_days,
                random_state=config.seed,
                **settings.params,
            )
    except job.InsufficientHistoryError as exc:
        raise DataValidationError(f"influencers: {exc}") from exc
    with stages("influencer_scoring"):
        _, result.influencer_candidates = job.score_snapshot(snapshot, result.influencer)


def evaluate_influencer(job: Any, snapshot: Snapshot, config: TrainConfig) -> dict[str, Any]:
    """The influencer backtest of ``config`` on ``snapshot`` (runner-shaped result)."""
    settings = config.influencer
    return job.evaluate_influence(
        snapshot,
        horizon_days=settings.horizon_days,
        k=settings.k,
        random_state=config.seed,
        **settings.params,
    )


# -- the forecasts -----------------------------------------------------------------------
def train_forecast(
    job: ForecastJob,
    snapshot: Snapshot,
    config: TrainConfig,
    stages: Stages,
    *,
    store: Store | None = None,
    encoder: TextEncoder | None = None,
) -> Forecast:
    """Evaluate and fit one forecast (stage ``job.short``; ``store`` and ``encoder`` for a
    job that reads them); too little history is logged and recorded as the forecast's
    ``skipped`` (the other models are unaffected)."""
    try:
        with stages(job.short):
            model, evaluation = job.fit(
                snapshot, job.settings(config), store=store, encoder=encoder
            )
    except InsufficientHistory as exc:
        logger.warning("%s not trained: %s", job.title, exc)
        return Forecast(skipped=str(exc))
    return Forecast(model, evaluation)


# -- helpers ------------------------------------------------------------------------------
def _pipeline(config: TrainConfig, encoder: TextEncoder, cache: Store | None) -> FeaturePipeline:
    return FeaturePipeline(
        encoder=encoder,
        cache=cache,
        history_half_life_days=config.features.history_half_life_days,
    )


def _plain(value: object) -> object:
    """numpy scalars as Python values (JSON)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _iso(seconds: int) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").isoformat()


__all__ = [
    "DataValidationError",
    "Stages",
    "TrainResult",
    "evaluate_influencer",
    "evaluate_recommenders",
    "holdout_start",
    "live_catalogue",
    "load_snapshot",
    "sanity_checks",
    "train",
    "train_forecast",
]
