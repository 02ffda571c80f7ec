"""MLflow tracking of trainings and experiments (the only MLflow logging code).

One training is one run of experiment ``advocacy`` (``advocacy-experiments`` for grids):

- params: the flattened config (:func:`training.config.flatten`);
- metrics: every model's holdout metrics and their slices, ``rec.<model>.<metric>`` and
  ``rec.<model>.<slice>.<metric>`` (``@`` is written ``_at_``: ``rec.hybrid.ndcg_at_10``),
  the influencer scorer's as ``inf.<model>...``, the sanity checks as ``sanity.*`` and the
  seconds of each stage as ``seconds.<stage>``;
- tags: git commit, package versions, data time range, row counts, data fingerprint;
- artifacts: ``recommender/`` and ``influencers/`` (the saved models), ``evaluation.json``,
  ``config.yaml`` and ``plots/*.png``.
"""

from __future__ import annotations

import importlib.metadata
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
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from training.config import flatten
from training.registry import (
    ARTIFACT_ROOT_ENV,
    INFLUENCERS,
    RECOMMENDER,
    Registry,
    default_artifact_root,
    make_client,
    resolve_tracking_uri,
)

logger = logging.getLogger(__name__)

EXPERIMENT = "advocacy"
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
        """The experiment's id, created with its artifact folder under the root if new."""
        name = name or self.experiment
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = f"{self.artifact_root.rstrip('/')}/{name}" if self.artifact_root else None
        try:
            return self.client.create_experiment(name, artifact_location=location)
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

    def log_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        stamp = int(time.time() * 1000)
        items = [Metric(k, float(v), stamp, 0) for k, v in metrics.items()]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(run_id, metrics=items[start : start + _BATCH])

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        items = [RunTag(k, str(v)[:5000]) for k, v in tags.items()]
        self.client.log_batch(run_id, tags=items)

    def log_artifacts(self, run_id: str, folder: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(run_id, str(folder), artifact_path)


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
    tags |= {f"data.rows.{k}": str(v) for k, v in profile["rows"].items()}
    tags |= {f"version.{k}": v for k, v in package_versions().items()}
    return tags


def log_training(
    tracker: Tracker,
    result: Any,
    *,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    register: bool = True,
    experiment: str | None = None,
) -> TrackedRun:
    """Log ``result`` as one run (module docstring); register its models when ``register``."""
    from training import plots

    with tracker.run(
        run_name or result.config.name, parent_run_id=parent_run_id, experiment=experiment
    ) as run_id:
        tracker.log_params(run_id, flatten(result.config))
        metrics = training_metrics(result)
        tracker.log_metrics(run_id, metrics)
        tracker.set_tags(run_id, training_tags(result))
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            result.save(folder)
            plots.training_plots(result, folder / "plots")
            tracker.log_artifacts(run_id, folder)
        tracked = TrackedRun(run_id, metrics=metrics)
        if register:
            tracked.versions = register_models(tracker.registry, result, run_id)
    return tracked


def register_models(registry: Registry, result: Any, run_id: str) -> dict[str, str]:
    """New versions of the recommender (and the influencer scorer) from run ``run_id``."""
    tags = {
        "data.fingerprint": str(result.profile["fingerprint"]),
        "config.name": result.config.name,
        "primary_metric": result.config.gate.primary_metric,
        "holdout_value": str(result.primary_metric),
    }
    versions = {RECOMMENDER: registry.register(RECOMMENDER, run_id, "recommender", tags)}
    if result.influencer is not None:
        versions[INFLUENCERS] = registry.register(INFLUENCERS, run_id, "influencers", tags)
    return versions


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
