"""Reading the MLflow model registry: the ``champion`` version of a model, downloaded, and a
summary of a registered model for people. What serving needs, and nothing that writes.

This module imports MLflow's client and nothing of the training pipeline, so the service
(``serving.model_source``) can read the registry without importing training's jobs;
:mod:`training.registry` (registering, promoting, rolling back, the gate) builds its
:class:`~training.registry.Registry` on :class:`RegistryReader` and re-exports these names.

Serving loads models with :func:`champion` (no MLflow types leak out of it)::

    ref = champion(RECOMMENDER)            # None until a first champion exists
    manifest = json.loads((ref.path / "manifest.json").read_text())
    model = MODELS[manifest["model"]].load(ref.path)
    spec = json.loads((ref.path / "feature_spec.json").read_text())

:func:`describe` summarises a registered model for people (the console's model page): its
champion with the training run's headline metrics and times, the last versions and the last
alias events, as plain JSON types.

The embedded default (:func:`default_tracking_uri`) is a SQLite file in the data folder;
``$MLFLOW_TRACKING_URI`` or an explicit URI points elsewhere (an MLflow server, or a
PostgreSQL database as ``postgresql://user@host:5432/db``).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from sqlalchemy.exc import OperationalError

from features.data.store import data_dir as project_data_dir

logger = logging.getLogger(__name__)

RECOMMENDER = "advocacy-recommender"
INFLUENCERS = "advocacy-influencers"
LAPSE = "advocacy-lapse"
SLOTS = "advocacy-slots"
CONTENT_FORECAST = "advocacy-content-forecast"
CHAMPION = "champion"
HISTORY_TAG = "alias_history."
TRACKING_ENV = "MLFLOW_TRACKING_URI"
#: The pyfunc artifact of a logged model that is the project's saved folder.
FOLDER_ARTIFACT = "folder"


@dataclass(frozen=True)
class ModelRef:
    """A registered model version downloaded to ``path`` (the saved model's folder)."""

    name: str
    version: str
    run_id: str
    path: Path


@dataclass(frozen=True)
class Headline:
    """Where a registered model's headline metrics are in its training run's metrics.

    The run logs ``<prefix>.<model>.<metric>`` for the served model and its baselines
    (:mod:`training.tracking`). ``model`` and ``primary`` default to the run's ``model`` and
    ``primary_metric`` tags; the baseline shown is the best one by ``primary``. ``checks``
    are other run metrics shown under their last name part.
    """

    prefix: str
    model: str | None = None
    primary: str | None = None
    checks: tuple[str, ...] = ()


HEADLINES = {
    RECOMMENDER: Headline("rec", checks=("sanity.coverage", "sanity.latency_p95_ms")),
    INFLUENCERS: Headline("inf", model="influence", primary="auc"),
    LAPSE: Headline("lapse", model="lapse", primary="auc"),
    SLOTS: Headline("slots", model="slots", primary="hours@k"),
    CONTENT_FORECAST: Headline("content_forecast", model="content", primary="spearman"),
}
RUN_TAGS = ("config.name", "git.commit", "sanity.passed")  # shown with every ``data.*`` tag
UNAVAILABLE = ("INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE")


class RegistryUnavailableError(ConnectionError):
    """The tracking store did not answer (a ``ConnectionError``: callers need no MLflow)."""


def default_tracking_uri(data_dir: Path | None = None) -> str:
    """The embedded tracking store: ``sqlite:///<data dir>/mlflow.db``."""
    folder = Path(data_dir) if data_dir is not None else project_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder.resolve() / 'mlflow.db'}"


def resolve_tracking_uri(uri: str | None = None) -> str:
    """``uri``, else ``$MLFLOW_TRACKING_URI``, else the embedded default.

    ``postgresql://`` URLs get the installed psycopg 3 driver (``postgresql+psycopg://``).
    """
    uri = uri or os.environ.get(TRACKING_ENV) or default_tracking_uri()
    if uri.startswith(("postgresql://", "postgres://")):
        uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
    return uri


def make_client(tracking_uri: str | None = None) -> MlflowClient:
    uri = resolve_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def champion(
    name: str, *, tracking_uri: str | None = None, dst: Path | None = None
) -> ModelRef | None:
    """The ``champion`` version of ``name`` downloaded locally, or None when there is none.

    The folder is ``<dst>/<name>/<version>`` (``dst`` default: ``<data dir>/models``); a
    version already downloaded there is reused, a download goes to a temporary folder first.
    """
    registry = RegistryReader(make_client(tracking_uri))
    version = registry.champion_version(name)
    if version is None:
        return None
    return registry.download(version, dst)


def describe(
    name: str, *, tracking_uri: str | None = None, history: int = 10, versions: int = 5
) -> dict[str, Any]:
    """``name``'s champion, last ``versions`` versions and last ``history`` alias events.

    Plain JSON types (see :meth:`Registry.describe`); a model that does not exist has no
    champion and empty lists. Raises :class:`RegistryUnavailableError` when the tracking
    store does not answer.
    """
    uri = resolve_tracking_uri(tracking_uri)
    try:
        return RegistryReader(make_client(uri)).describe(name, history=history, versions=versions)
    except (MlflowException, OperationalError, OSError) as exc:
        if isinstance(exc, MlflowException) and exc.error_code not in UNAVAILABLE:
            raise
        message = f"model registry at {uri} unavailable: {exc}"
        raise RegistryUnavailableError(_redacted(message, uri)) from exc


class RegistryReader:
    """What a registered model holds: versions, the champion, its downloads, its history."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    def version(self, name: str, version: str) -> ModelVersion:
        return self.client.get_model_version(name, version)

    def champion_version(self, name: str) -> ModelVersion | None:
        """The version behind ``champion``; None without one (or without the model)."""
        try:
            return self.client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def download(self, version: ModelVersion, dst: Path | None = None) -> ModelRef:
        """``version``'s artifact folder at ``<dst>/<name>/<version>`` (see :func:`champion`)."""
        root = Path(dst) if dst is not None else project_data_dir() / "models"
        target = root / version.name / str(version.version)
        if not _complete(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
                fetched = self._fetch(version, Path(scratch))
                try:  # atomic: replaces a missing or empty folder only
                    fetched.rename(target)
                except OSError:
                    if not _complete(target):  # not another process's finished download
                        raise
        return ModelRef(version.name, str(version.version), version.run_id, target)

    def _fetch(self, version: ModelVersion, scratch: Path) -> Path:
        """The saved folder of ``version`` downloaded under ``scratch``: the run artifact
        folder its source names, or the :data:`FOLDER_ARTIFACT` of its logged model."""
        if version.source.startswith("runs:/"):
            path = _artifact_path(version.source)
            return Path(self.client.download_artifacts(version.run_id, path, str(scratch)))
        root = self.client.get_model_version_download_uri(version.name, version.version)
        root, uri = root.rstrip("/"), self.client.tracking_uri
        meta = download_artifacts(
            f"{root}/MLmodel", dst_path=str(scratch / "meta"), tracking_uri=uri
        )
        artifacts = Model.load(meta).flavors.get("python_function", {}).get("artifacts") or {}
        if FOLDER_ARTIFACT not in artifacts:
            raise ValueError(
                f"{version.name} version {version.version}: its model has no"
                f" {FOLDER_ARTIFACT!r} artifact (not logged by training.mlflow_models)"
            )
        folder = artifacts[FOLDER_ARTIFACT]["path"]
        return Path(download_artifacts(f"{root}/{folder}", dst_path=str(scratch), tracking_uri=uri))

    def describe(self, name: str, *, history: int = 10, versions: int = 5) -> dict[str, Any]:
        """``{"name", "champion", "versions", "history"}`` in plain JSON types.

        ``champion``: None, or :meth:`describe_version` of the champion; ``versions``: the
        newest ``versions`` as ``{"version", "registered_at", "run_id", "champion"}``;
        ``history``: the newest ``history`` alias events, newest first (:meth:`history`).
        """
        current = self.champion_version(name)
        number = None if current is None else str(current.version)
        found = self.client.search_model_versions(
            f"name='{name}'", max_results=max(versions, 1), order_by=["version_number DESC"]
        )
        return {
            "name": name,
            "champion": None if current is None else self.describe_version(current),
            "versions": [_version_row(v, number) for v in found[:versions]],
            "history": list(reversed(self.history(name)))[:history],
        }

    def describe_version(self, version: ModelVersion) -> dict[str, Any]:
        """A version and its training run: times, headline metrics, params count, tags.

        ``trained_at`` is the run's ``{"start", "end", "seconds"}`` (ISO times, None while
        running) and ``training_seconds``, the sum of the logged ``seconds.<stage>`` (the
        training's stages; the run also spans logging the models, and a retrain's gate);
        ``metrics`` the served model's overall holdout metrics, the best baseline's as
        ``baseline.<metric>`` and the :class:`Headline` checks (all the run's metrics when
        the run does not log the expected names); ``model``, ``baseline`` and
        ``primary_metric`` say which were picked (None in the fallback).
        """
        row = {
            "version": str(version.version),
            "run_id": version.run_id,
            "registered_at": _iso(version.creation_timestamp),
        }
        return row | _run_summary(version.name, self._run(version.run_id))

    def _run(self, run_id: str | None) -> Run | None:
        if not run_id:
            return None
        try:
            return self.client.get_run(run_id)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def history(self, name: str) -> list[dict[str, Any]]:
        """Every recorded alias event of ``name``, oldest first (empty without the model)."""
        try:
            tags = self.client.get_registered_model(name).tags
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return []
            raise
        events = [json.loads(v) for k, v in tags.items() if k.startswith(HISTORY_TAG)]
        return sorted(events, key=lambda e: e["seq"])


def _version_row(version: ModelVersion, champion_version: str | None) -> dict[str, Any]:
    return {
        "version": str(version.version),
        "registered_at": _iso(version.creation_timestamp),
        "run_id": version.run_id,
        "champion": str(version.version) == champion_version,
    }


def _run_summary(name: str, run: Run | None) -> dict[str, Any]:
    """The training run's part of :meth:`Registry.describe_version`."""
    if run is None:
        return {"trained_at": None, "params": 0, "tags": {}} | _headline(name, {}, {})
    info, data = run.info, run.data
    start, end = info.start_time, info.end_time
    stages = [v for k, v in data.metrics.items() if k.startswith("seconds.")]
    trained_at = {
        "start": _iso(start),
        "end": _iso(end),
        "seconds": round((end - start) / 1000, 3) if start and end else None,
        "training_seconds": round(sum(stages), 3) if stages else None,
    }
    tags = {k: v for k, v in sorted(data.tags.items()) if k.startswith("data.") or k in RUN_TAGS}
    summary = {"trained_at": trained_at, "params": len(data.params), "tags": tags}
    return summary | _headline(name, dict(data.metrics), dict(data.tags))


def _headline(name: str, metrics: dict[str, float], tags: dict[str, str]) -> dict[str, Any]:
    """``model``, ``baseline``, ``primary_metric`` and ``metrics`` (see :class:`Headline`)."""
    spec = HEADLINES.get(name)
    overall = _overall(metrics, spec.prefix) if spec else {}
    model = spec and (spec.model or tags.get("model"))
    if not model or model not in overall:
        everything = dict(sorted(metrics.items()))
        return {"model": None, "baseline": None, "primary_metric": None, "metrics": everything}
    primary = spec.primary or tags.get("primary_metric") or "ndcg@10"
    rivals = {m: v[primary] for m, v in overall.items() if m != model and primary in v}
    baseline = max(rivals, key=rivals.__getitem__) if rivals else None
    shown = dict(sorted(overall[model].items(), key=lambda kv: (kv[0] != primary, kv[0])))
    if baseline is not None:
        rival = overall[baseline]
        shown |= {f"baseline.{k}": rival[k] for k in list(shown) if k in rival}
    shown |= {key.rsplit(".", 1)[-1]: metrics[key] for key in spec.checks if key in metrics}
    return {"model": model, "baseline": baseline, "primary_metric": primary, "metrics": shown}


def _overall(metrics: dict[str, float], prefix: str) -> dict[str, dict[str, float]]:
    """``{model: {metric: value}}`` from the keys ``<prefix>.<model>.<metric>`` (``@`` back)."""
    found: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == prefix:
            found.setdefault(parts[1], {})[parts[2].replace("_at_", "@")] = value
    return found


def _iso(millis: int | None) -> str | None:
    """Epoch milliseconds (MLflow's timestamps) as an ISO UTC time to the second."""
    if millis is None:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")


def _redacted(text: str, uri: str) -> str:
    """``text`` with the password of ``uri`` (if any) replaced by ``***``."""
    password = urlsplit(uri).password
    return text.replace(password, "***") if password else text


def _complete(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def _artifact_path(source: str) -> str:
    """``runs:/<id>/<path>`` -> ``<path>``."""
    if not source.startswith("runs:/"):
        raise ValueError(f"unexpected model version source {source!r} (expected runs:/...)")
    return source.removeprefix("runs:/").split("/", 1)[1]
