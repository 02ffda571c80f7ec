"""Retraining with a gate: a challenger replaces the champion only when it is not worse.

:func:`retrain`, under a file lock (two retrains never race), in one MLflow run open from the
snapshot to the last gate decision:

1. a challenger trained as by ``advocacy train`` (evaluated with its baselines on the most
   recent holdout window, sanity-checked, logged, its versions registered);
2. the current champion's configuration (its run's ``config.yaml``: features and
   recommender sections) evaluated on the *same* snapshot, holdout window and event weights;
3. :func:`training.registry.decide` per registered model: ``champion`` moves to the
   challenger only if its primary metric is not worse beyond ``gate.tolerance`` and its
   sanity checks passed; otherwise the refusal and its reason are recorded. The influencer
   scorer and each trained forecast (:mod:`training.forecast_jobs`) are gated the same way on
   their own held-out metric (``gate.influencer_metric``, ``gate.<short>_metric`` such as
   ``gate.lapse_metric``: the champion's configuration evaluated on the same snapshot). Every
   outcome is in the registered model's alias history and on the run (tags ``gate.*``).

Invalid data (:class:`training.datasets.DataValidationError`) or any failure before step 3
ends the run as FAILED (tag ``error``) and moves no alias; a failure before anything is
logged is also tagged ``retrain.aborted`` and ``retrain.error``, a failed gate ``gate.error``.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from features.data.store import Store, data_dir
from features.encoder import TextEncoder
from features.snapshot import Snapshot
from training.config import ConfigError, TrainConfig, load_config
from training.datasets import engagement_log
from training.forecast_jobs import ForecastJob, InsufficientHistory, job_by_name, jobs
from training.pipeline import (
    Stages,
    TrainResult,
    evaluate_influencer,
    evaluate_recommenders,
    holdout_start,
    influence_job,
    load_snapshot,
    make_encoder,
    train,
)
from training.registry import INFLUENCERS, RECOMMENDER, GateDecision, decide
from training.tracking import TrackedRun, Tracker, log_training

logger = logging.getLogger(__name__)

LOCK_NAME = "retrain.lock"


class RetrainLocked(RuntimeError):
    """Another retrain holds the lock."""


@dataclass
class RetrainReport:
    """What a retrain did: its run, versions, decisions and the alias events it recorded."""

    run_id: str
    versions: dict[str, str]
    decisions: dict[str, GateDecision]
    events: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "versions": self.versions,
            "decisions": {
                name: {"promote": d.promote, "reason": d.reason, **d.metrics()}
                for name, d in self.decisions.items()
            },
            "events": self.events,
            "metrics": self.metrics,
            "seconds": self.seconds,
        }


def default_lock_path() -> Path:
    return data_dir() / LOCK_NAME


def retrain(
    store: Store,
    config: TrainConfig,
    tracker: Tracker,
    *,
    encoder: TextEncoder | None = None,
    lock_path: Path | None = None,
    now: datetime | None = None,
) -> RetrainReport:
    """Train a challenger and let the gate decide (module docstring)."""
    lock = FileLock(str(lock_path or default_lock_path()))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RetrainLocked(
            f"another retrain is running (lock {lock.lock_file}); try again later"
        ) from None
    try:
        return _retrain(store, config, tracker, encoder or make_encoder(config), now)
    finally:
        lock.release()


def _retrain(
    store: Store,
    config: TrainConfig,
    tracker: Tracker,
    encoder: TextEncoder,
    now: datetime | None,
) -> RetrainReport:
    stages = Stages()
    with tracker.run(f"retrain-{config.name}") as run_id:
        try:
            with stages("snapshot"):
                snapshot = load_snapshot(store, config, now)
            result = train(snapshot, config, encoder=encoder, cache=store, stages=stages)
        except Exception as exc:
            _record_abort(tracker, run_id, exc)
            raise
        tracked = log_training(tracker, result, run_id=run_id, source=store.url)
        try:
            return _gate(tracker, tracked, result, snapshot, encoder, store, stages)
        except Exception as exc:  # the run is logged; nothing moved (the run fails)
            tracker.set_tags(run_id, {"gate.error": f"{type(exc).__name__}: {exc}"[:4000]})
            raise


def first_champions(
    tracker: Tracker, result: TrainResult, versions: dict[str, str]
) -> list[dict[str, Any]]:
    """Make each new version champion of a model that has none, if the gate would pass it.

    What ``advocacy train`` does so that a fresh installation can serve: no champion to beat,
    so the version needs sane scores (recommender) and a defined primary metric.
    """
    gate = result.config.gate
    events = []
    for name, version in versions.items():
        if tracker.registry.champion_version(name) is not None:
            continue
        if name == RECOMMENDER:
            decision = decide(
                result.primary_metric,
                None,
                metric=gate.primary_metric,
                tolerance=gate.tolerance,
                failures=result.sanity["failures"],
            )
        elif (job := job_by_name(name)) is not None:
            metric = job.gate_metric(gate)
            decision = decide(
                job.value(result.forecast(job.short).evaluation, metric),
                None,
                metric=metric,
                tolerance=job.gate_tolerance(gate),
            )
        else:
            metric = _influencer_metric(result)
            decision = decide(
                _influence_value(result.influence_evaluation or {}, metric),
                None,
                metric=metric,
                tolerance=result.config.gate.influencer_tolerance,
            )
        move = tracker.registry.promote if decision.promote else tracker.registry.refuse
        reason = f"first champion: {decision.reason}"
        events.append(move(name, version, reason=reason, metrics=decision.metrics()))
    return events


def _record_abort(tracker: Tracker, run_id: str, exc: Exception) -> None:
    """Tag the run with why the retrain stopped before anything was logged (it then fails)."""
    tags = {"retrain.error": f"{type(exc).__name__}: {exc}"[:4000], "retrain.aborted": "true"}
    tracker.set_tags(run_id, tags)


def _gate(
    tracker: Tracker,
    tracked: TrackedRun,
    result: TrainResult,
    snapshot: Snapshot,
    encoder: TextEncoder,
    store: Store,
    stages: Stages,
) -> RetrainReport:
    registry = tracker.registry
    with stages("champion_evaluation"):
        decisions = {
            RECOMMENDER: _recommender_gate(tracker, result, snapshot, encoder, store, stages)
        }
        if INFLUENCERS in tracked.versions:
            decisions[INFLUENCERS] = _influencer_gate(tracker, result, snapshot)
        for job in jobs():
            if job.name in tracked.versions:
                decisions[job.name] = _forecast_gate(
                    tracker, result, snapshot, job, store=store, encoder=encoder
                )
    events = []
    for name, decision in decisions.items():
        move = registry.promote if decision.promote else registry.refuse
        events.append(
            move(name, tracked.versions[name], reason=decision.reason, metrics=decision.metrics())
        )
    tags = {f"gate.{_short(n)}.promoted": str(d.promote) for n, d in decisions.items()}
    tags |= {f"gate.{_short(n)}.reason": d.reason for n, d in decisions.items()}
    tracker.set_tags(tracked.run_id, tags)
    tracker.log_metrics(tracked.run_id, {f"seconds.{k}": v for k, v in stages.seconds.items()})
    return RetrainReport(
        run_id=tracked.run_id,
        versions=tracked.versions,
        decisions=decisions,
        events=events,
        seconds=dict(stages.seconds),
        metrics={"challenger": result.primary_metric, "sanity": _sanity(result)},
    )


def _recommender_gate(
    tracker: Tracker,
    result: TrainResult,
    snapshot: Snapshot,
    encoder: TextEncoder,
    store: Store,
    stages: Stages,
) -> GateDecision:
    config = result.config
    gate = config.gate
    current = tracker.registry.champion_version(RECOMMENDER)
    champion_value = None
    if current is not None:
        champion_config = _champion_config(tracker, current.run_id, config)
        log = engagement_log(snapshot, config.data.event_weights)
        split_at = holdout_start(log, config.data.holdout_days)
        model = champion_config.recommender.model
        evaluation = evaluate_recommenders(
            snapshot,
            champion_config,
            log,
            split_at,
            [model],
            encoder=encoder,
            cache=store,
            stages=Stages(),
        )
        champion_value = evaluation["models"][model].get(gate.primary_metric)
    return decide(
        result.primary_metric,
        champion_value,
        metric=gate.primary_metric,
        tolerance=gate.tolerance,
        failures=result.sanity["failures"],
    )


def _champion_config(tracker: Tracker, run_id: str, challenger: TrainConfig) -> TrainConfig:
    """The champion's features/recommender config with the challenger's data and gate."""
    with tempfile.TemporaryDirectory() as scratch:
        path = tracker.client.download_artifacts(run_id, "config.yaml", scratch)
        try:
            loaded = load_config(Path(path))
        except ConfigError as exc:
            raise ConfigError(f"champion run {run_id}: {exc}") from None
    if not isinstance(loaded, TrainConfig):
        raise ConfigError(f"champion run {run_id} was not a training run")
    return loaded.model_copy(update={"data": challenger.data, "gate": challenger.gate})


def _influencer_gate(tracker: Tracker, result: TrainResult, snapshot: Snapshot) -> GateDecision:
    """The influencer scorer's primary metric against the champion configuration's."""
    config = result.config
    evaluation = result.influence_evaluation or {}
    metric = _influencer_metric(result)
    challenger = _influence_value(evaluation, metric)
    current = tracker.registry.champion_version(INFLUENCERS)
    champion = None
    if current is not None:
        champion_config = _champion_config(tracker, current.run_id, config)
        champion_eval = evaluate_influencer(influence_job(), snapshot, champion_config)
        champion = _influence_value(champion_eval, metric)
    return decide(challenger, champion, metric=metric, tolerance=config.gate.influencer_tolerance)


def _forecast_gate(
    tracker: Tracker,
    result: TrainResult,
    snapshot: Snapshot,
    job: ForecastJob,
    *,
    store: Store | None = None,
    encoder: TextEncoder | None = None,
) -> GateDecision:
    """A forecast's held-out metric against the champion configuration's, evaluated by the
    job on the same snapshot (for the lapse forecast: the same cut-off, origins and held-out
    origin); a champion configuration that cannot be evaluated there has no value to beat."""
    config = result.config
    metric = job.gate_metric(config.gate)
    challenger = job.value(result.forecast(job.short).evaluation, metric)
    current = tracker.registry.champion_version(job.name)
    champion = None
    if current is not None:
        settings = job.settings(_champion_config(tracker, current.run_id, config))
        try:
            evaluation = job.reevaluate(snapshot, settings, store=store, encoder=encoder)
        except InsufficientHistory as exc:
            logger.warning("%s champion configuration not evaluated: %s", job.title, exc)
        else:
            champion = job.value(evaluation, metric)
    return decide(challenger, champion, metric=metric, tolerance=job.gate_tolerance(config.gate))


def _model_value(evaluation: dict[str, Any], model: str, metric: str) -> float | None:
    entry = (evaluation.get("models") or {}).get(model) or {}
    value = entry.get(metric)
    return None if value is None else float(value)


def _influencer_metric(result: TrainResult) -> str:
    protocol = (result.influence_evaluation or {}).get("protocol") or {}
    return result.config.gate.influencer_metric or protocol.get("primary_metric", "auc")


def _influence_value(evaluation: dict[str, Any], metric: str) -> float | None:
    return _model_value(evaluation, "influence", metric)


def _sanity(result: TrainResult) -> dict[str, Any]:
    return {k: v for k, v in result.sanity.items() if k != "scores"}


def _short(name: str) -> str:
    return name.removeprefix("advocacy-")
