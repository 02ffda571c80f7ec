"""MLflow tracking of trainings and experiments (with :mod:`training.mlflow_models`, which logs
the models, the only MLflow logging code).

The experiments (``advocacy``; ``advocacy-experiments`` for grids) are tagged
``mlflow.experimentKind = custom_model_development`` (:data:`EXPERIMENT_KIND`), MLflow 3's
mark of a model-training experiment. One training is one run, opened before the training
starts and ended after its models are logged (FAILED, with an ``error`` tag, when anything
raises), holding:

- params: the flattened config (:func:`training.config.flatten`);
- metrics: every model's holdout metrics and their slices, ``rec.<model>.<metric>`` and
  ``rec.<model>.<slice>.<metric>`` (``@`` is written ``_at_``: ``rec.hybrid.ndcg_at_10``),
  the influencer scorer's as ``inf.<model>...``, each forecast's (its held-out evaluation,
  :mod:`training.forecast_jobs`) as ``<short>.<model>.<metric>`` (the lapse forecast:
  ``lapse.lapse.auc``, ``lapse.recency...``, ``lapse.frequency...``), the sanity checks as
  ``sanity.*`` and the seconds of each stage as ``seconds.<stage>``;
- tags: git commit, package versions, data time range, row counts, data fingerprint,
  ``<short>.skipped`` (why, when the store has too little history for a forecast, e.g.
  ``lapse.skipped``);
- dataset inputs (:func:`data_inputs`): ``advocacy-store`` (context ``training``: digest the
  data fingerprint) and ``advocacy-store-holdout`` (context ``evaluation``: the holdout
  window), so runs can be searched by data (``dataset.digest = '<fingerprint>'``);
- logged models (run outputs): ``recommender``, ``influencers`` and each trained forecast's
  (``lapse``, ...), MLflow
  ``pyfunc`` models over the saved folders (:mod:`training.mlflow_models`), which the
  registry's versions are;
- artifacts: ``evaluation.json``, ``config.yaml`` and ``plots/*.png``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import math
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModel, Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.types import ColSpec, Schema
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from training.config import flatten
from training.forecast_jobs import jobs
from training.registry import (
    ARTIFACT_ROOT_ENV,
    Registry,
    default_artifact_root,
    make_client,
    resolve_tracking_uri,
)

logger = logging.getLogger(__name__)

EXPERIMENT = "advocacy"
#: MLflow 3's experiment kind tag and its value for model training (not GenAI) experiments.
KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
NOTE_TAG = "mlflow.note.content"
NOTE = (
    "Trainings of the advocacy feed recommender and influencer scorer (`advocacy train`,"
    " `retrain`, `experiment run`): holdout metrics, data inputs, logged pyfunc models."
)
STORE_SCHEMA = Schema(
    [
        ColSpec("string", "employee_id"),
        ColSpec("string", "content_id"),
        ColSpec("string", "event_type"),
        ColSpec("datetime", "timestamp"),
    ]
)
ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "rectools-lightfm",
    "torch",
    "sentence-transformers",
    "mlflow",
    "advocacy-recsys",
)
_BATCH = 500
_UNSAFE = re.compile(r"[^\w.\-/ :]")


@dataclass
class TrackedRun:
    """A logged training: its run id and the model versions it registered."""

    run_id: str
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)  # logged model ids by registry name


class Tracker:
    """An MLflow client bound to a tracking URI, an artifact root and an experiment."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        artifact_root: str | None = None,
        experiment: str = EXPERIMENT,
    ) -> None:
        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        # a tracking server keeps artifacts where it is configured to (unless told otherwise)
        server = self.tracking_uri.startswith(("http://", "https://", "databricks"))
        self.artifact_root = artifact_root or (
            os.environ.get(ARTIFACT_ROOT_ENV) if server else default_artifact_root()
        )
        self.experiment = experiment
        self.client: MlflowClient = make_client(self.tracking_uri)
        self.registry = Registry(self.client)

    def experiment_id(self, name: str | None = None) -> str:
        """The experiment's id, created with its artifact folder under the root if new.

        Its kind tag (:data:`EXPERIMENT_KIND`) is set on creation, and on an experiment
        made before without one (a kind someone chose is left alone)."""
        name = name or self.experiment
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if KIND_TAG not in found.tags:
                self.client.set_experiment_tag(found.experiment_id, KIND_TAG, EXPERIMENT_KIND)
            return found.experiment_id
        location = f"{self.artifact_root.rstrip('/')}/{name}" if self.artifact_root else None
        tags = {KIND_TAG: EXPERIMENT_KIND, NOTE_TAG: NOTE}
        try:
            return self.client.create_experiment(name, artifact_location=location, tags=tags)
        except MlflowException:  # created meanwhile by another process
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    @contextmanager
    def run(
        self,
        run_name: str,
        *,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        experiment: str | None = None,
    ) -> Iterator[str]:
        """A run that ends FINISHED, or FAILED (tagged with the error) when the body raises."""
        all_tags = dict(tags or {})
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(
            self.experiment_id(experiment), run_name=run_name, tags=all_tags
        )
        run_id = run.info.run_id
        try:
            yield run_id
        except BaseException as exc:
            self.client.set_tag(run_id, "error", f"{type(exc).__name__}: {exc}"[:4000])
            self.client.set_terminated(run_id, "FAILED")
            raise
        self.client.set_terminated(run_id, "FINISHED")

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        items = [Param(k[:250], str(v)[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[start : start + 100])

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, float], stamp: int | None = None
    ) -> None:
        """Step 0 values at ``stamp`` (epoch milliseconds, default now)."""
        stamp = int(time.time() * 1000) if stamp is None else stamp
        items = [Metric(k, float(v), stamp, 0) for k, v in metrics.items()]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(run_id, metrics=items[start : start + _BATCH])

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        items = [RunTag(k, str(v)[:5000]) for k, v in tags.items()]
        self.client.log_batch(run_id, tags=items)

    def log_artifacts(self, run_id: str, folder: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(run_id, str(folder), artifact_path)

    def log_datasets(self, run_id: str, inputs: list[DatasetInput]) -> None:
        self.client.log_inputs(run_id, datasets=inputs)


# -- what a training logs -----------------------------------------------------------------
def metric_key(*parts: str) -> str:
    """A valid MLflow metric key from name parts (``@`` -> ``_at_``, others -> ``_``)."""
    return ".".join(_UNSAFE.sub("_", p.replace("@", "_at_")) for p in parts)


def evaluation_metrics(result: Mapping[str, Any], prefix: str) -> dict[str, float]:
    """Every numeric metric of a runner-shaped result, per model and slice."""
    metrics: dict[str, float] = {}
    for model, entry in (result.get("models") or {}).items():
        for key, value in entry.items():
            if key == "slices":
                for slice_name, values in value.items():
                    for name, number in values.items():
                        _put(metrics, metric_key(prefix, model, slice_name, name), number)
            elif key == "seconds":
                for stage, number in value.items():
                    _put(metrics, metric_key(prefix, model, "seconds", stage), number)
            else:
                _put(metrics, metric_key(prefix, model, key), value)
    return metrics


def training_metrics(result: Any) -> dict[str, float]:
    """All metrics of a :class:`training.pipeline.TrainResult`."""
    metrics = evaluation_metrics(result.evaluation, "rec")
    if result.influence_evaluation:
        metrics |= evaluation_metrics(result.influence_evaluation, "inf")
    for short, forecast in result.forecasts.items():
        if forecast.evaluation:
            metrics |= evaluation_metrics(forecast.evaluation, short)
    for key, value in result.sanity.items():
        if key not in ("scores", "failures"):
            _put(metrics, metric_key("sanity", key), value)
    for stage, seconds in result.seconds.items():
        _put(metrics, metric_key("seconds", stage), seconds)
    return metrics


def training_tags(result: Any) -> dict[str, str]:
    """Provenance: code, packages, data range, row counts, fingerprint, primary metric."""
    profile = result.profile
    tags = {
        "git.commit": git_commit(),
        "data.as_of": str(profile["as_of"]),
        "data.first_event": str(profile["first_event"]),
        "data.last_event": str(profile["last_event"]),
        "data.holdout_start": str(profile.get("holdout_start")),
        "data.fingerprint": str(profile["fingerprint"]),
        "config.name": result.config.name,
        "model": result.config.recommender.model,
        "primary_metric": result.config.gate.primary_metric,
        "sanity.passed": str(result.sanity["passed"]),
    }
    for short, forecast in result.forecasts.items():
        if forecast.skipped:
            tags[f"{short}.skipped"] = str(forecast.skipped)
    tags |= {f"data.rows.{k}": str(v) for k, v in profile["rows"].items()}
    tags |= {f"version.{k}": v for k, v in package_versions().items()}
    return tags


def data_inputs(result: Any, source: str | None = None) -> list[DatasetInput]:
    """The store data a training used, as MLflow dataset inputs (``source``: the store's
    URL, password hidden).

    ``advocacy-store`` (context ``training``): digest the data fingerprint, profile the row
    counts, ``as_of`` and the events' time range. ``advocacy-store-holdout`` (context
    ``evaluation``): the holdout window (``holdout_start`` to ``holdout_end``) and its pairs;
    digest a hash of the fingerprint and the window's start. MLflow keeps one dataset per
    experiment, name and digest: a later run on the same data shares the first one's entry.
    """
    profile = result.profile
    protocol = result.evaluation.get("protocol") or {}
    fingerprint = str(profile["fingerprint"])
    start = profile.get("holdout_start")
    window = hashlib.sha256(f"{fingerprint}:{start}".encode()).hexdigest()[:16]
    stored = {
        "num_rows": profile["rows"].get("interactions"),
        "as_of": profile["as_of"],
        "first_event": profile["first_event"],
        "last_event": profile["last_event"],
        "rows": profile["rows"],
    }
    keys = ("holdout_days", "train_events", "test_pairs", "new_content_pairs", "new_person_pairs")
    holdout = {"num_rows": protocol.get("test_pairs"), "holdout_start": start}
    holdout |= {"holdout_end": profile["last_event"]} | {k: protocol.get(k) for k in keys}
    return [
        _dataset_input("advocacy-store", fingerprint, source, stored, "training"),
        _dataset_input("advocacy-store-holdout", window, source, holdout, "evaluation"),
    ]


def _dataset_input(
    name: str, digest: str, source: str | None, profile: dict[str, Any], context: str
) -> DatasetInput:
    dataset = Dataset(
        name=name,
        digest=digest,
        source_type="sql",
        source=json.dumps({"url": source or "unknown"}),
        schema=json.dumps({"mlflow_colspec": STORE_SCHEMA.to_dict()}),
        profile=json.dumps(profile, default=str),
    )
    return DatasetInput(dataset, tags=[InputTag(MLFLOW_DATASET_CONTEXT, context)])


def chosen_params(result: Any) -> dict[str, str]:
    """What the shipped recommender chose during fit (e.g. EASE's lambda), as run parameters
    ``recommender.chosen.<component>__<name>_``."""
    chosen = result.recommender.chosen_params()
    return {f"recommender.chosen.{key}": str(value) for key, value in chosen.items()}


def log_training(
    tracker: Tracker,
    result: Any,
    *,
    run_id: str | None = None,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    register: bool = True,
    experiment: str | None = None,
    source: str | None = None,
) -> TrackedRun:
    """Log ``result`` into run ``run_id`` (module docstring); register its models when
    ``register``. ``source``: the store's URL (password hidden) for the dataset inputs.

    Open the run before training (``with tracker.run(name) as run_id:``) so that it spans
    the training; without ``run_id`` a new run is opened and ended here.
    """
    if run_id is None:
        with tracker.run(
            run_name or result.config.name, parent_run_id=parent_run_id, experiment=experiment
        ) as opened:
            return log_training(tracker, result, run_id=opened, register=register, source=source)
    from training import plots
    from training.mlflow_models import log_models

    tracker.log_params(run_id, flatten(result.config) | chosen_params(result))
    metrics = training_metrics(result)
    stamp = int(time.time() * 1000)
    tracker.log_metrics(run_id, metrics, stamp)
    tracker.set_tags(run_id, training_tags(result))
    inputs = data_inputs(result, source)
    tracker.log_datasets(run_id, inputs)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        saved = result.save(folder)
        for name in ("evaluation", "config"):
            tracker.client.log_artifact(run_id, str(saved[name]))
        plots.training_plots(result, folder / "plots")
        tracker.log_artifacts(run_id, folder / "plots", "plots")
        models = log_models(tracker.client, result, run_id, saved, (inputs[1].dataset, stamp))
    tracked = TrackedRun(run_id, metrics=metrics)
    tracked.models = {name: model.model_id for name, model in models.items()}
    if register:
        tracked.versions = register_models(tracker.registry, result, models)
    return tracked


def register_models(
    registry: Registry, result: Any, models: Mapping[str, LoggedModel]
) -> dict[str, str]:
    """New versions of the logged recommender (and influencer scorer and forecasts) of one
    training; a forecast's registered model is created with its job's description."""
    tags = {
        "data.fingerprint": str(result.profile["fingerprint"]),
        "config.name": result.config.name,
        "primary_metric": result.config.gate.primary_metric,
        "holdout_value": str(result.primary_metric),
    }
    described = {job.name: job.description for job in jobs()}
    return {
        name: registry.register_logged_model(name, model, tags, description=described.get(name))
        for name, model in models.items()
    }


def ui_path(experiment_id: str) -> str:
    """The experiment's training runs in ``mlflow ui`` (after its address).

    The MLflow 3.17 UI picks its GenAI or model-training view from a switch in its sidebar
    (remembered by the browser, GenAI at first), not from the experiment's kind tag; this
    address asks for the model-training view."""
    return f"#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def git_commit() -> str:
    """The checkout's commit (``+dirty`` when files differ), or ``unknown``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def package_versions() -> dict[str, str]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _put(metrics: dict[str, float], key: str, value: object) -> None:
    """Numbers only (booleans as 0/1); None and NaN (undefined) are left out."""
    if isinstance(value, int | float) and not math.isnan(float(value)):
        metrics[key] = float(value)
