"""The MLflow model registry: versions, the ``champion`` alias, its history, the retrain gate.

Registered models: :data:`RECOMMENDER` (a folder written by ``Recommender.save`` plus
``feature_spec.json``), :data:`INFLUENCERS` (a folder written by the influencer scorer's
``save``) and one per forecast job (:mod:`training.forecast_jobs`: :data:`LAPSE`, a folder
written by ``LapseModel.save``, ...; its description is the job's). A version made by a
training is an MLflow logged model of its run: a ``pyfunc`` model
(:mod:`training.pyfunc_models`) whose artifact :data:`FOLDER_ARTIFACT` is that folder, so
``mlflow.pyfunc.load_model("models:/advocacy-recommender@champion")`` works in a notebook
(:meth:`Registry.register_logged_model`). Versions registered before that have the run's
artifact folder ``runs:/<run id>/<name>`` as their source (:meth:`Registry.register`); serving
downloads the saved folder of either kind.

Every change of the ``champion`` alias (and every refusal by the retrain gate) is recorded as
a registered-model tag ``alias_history.<seq>`` holding JSON: ``seq``, ``model``, ``action``
(``promote``, ``rollback`` or ``refused``), ``alias``, ``version``, ``previous``, ``metrics``,
``reason``, ``time``, ``run_id``. :meth:`Registry.rollback` restores the champion the current
one replaced.

Reading (the champion downloaded, :func:`describe`, the tracking URI) is
:mod:`training.registry_reader`, which serving uses without importing this module; its names
are re-exported here. Runs store artifacts under :func:`default_artifact_root`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow.entities import LoggedModel
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

from features.data.store import data_dir as project_data_dir
from training.registry_reader import (
    CHAMPION,
    FOLDER_ARTIFACT,
    HEADLINES,
    HISTORY_TAG,
    INFLUENCERS,
    LAPSE,
    RECOMMENDER,
    TRACKING_ENV,
    Headline,
    ModelRef,
    RegistryReader,
    RegistryUnavailableError,
    champion,
    default_tracking_uri,
    describe,
    make_client,
    resolve_tracking_uri,
)

__all__ = [
    "ARTIFACT_ROOT_ENV",
    "CHAMPION",
    "DESCRIPTIONS",
    "FOLDER_ARTIFACT",
    "HEADLINES",
    "HISTORY_TAG",
    "INFLUENCERS",
    "LAPSE",
    "RECOMMENDER",
    "TRACKING_ENV",
    "GateDecision",
    "Headline",
    "ModelRef",
    "NoChampionError",
    "Registry",
    "RegistryUnavailableError",
    "champion",
    "decide",
    "default_artifact_root",
    "default_tracking_uri",
    "describe",
    "make_client",
    "resolve_tracking_uri",
]

logger = logging.getLogger(__name__)

ARTIFACT_ROOT_ENV = "ADVOCACY_ARTIFACT_ROOT"
DESCRIPTIONS = {
    RECOMMENDER: "Feed ranking model: an MLflow pyfunc (employee ids in, the service's feed out)"
    " over a recsys Recommender folder (manifest.json, arrays.npz, feature_spec.json).",
    INFLUENCERS: "Micro-influencer scorer: an MLflow pyfunc (feature rows in, scores out) over"
    " the scorer's folder (manifest + arrays, no pickle).",
}


class NoChampionError(LookupError):
    """An operation needs a champion (or a previous one) that does not exist."""


def default_artifact_root(data_dir: Path | None = None) -> str:
    """Where runs store artifacts: ``$ADVOCACY_ARTIFACT_ROOT`` or ``<data dir>/mlartifacts``."""
    configured = os.environ.get(ARTIFACT_ROOT_ENV)
    if configured:
        return configured
    folder = Path(data_dir) if data_dir is not None else project_data_dir()
    return (folder.resolve() / "mlartifacts").as_uri()


class Registry(RegistryReader):
    """Registered models, versions, the champion alias and its history: the reads of
    :class:`~training.registry_reader.RegistryReader` and the writes."""

    # -- versions ---------------------------------------------------------------------
    def register(
        self, name: str, run_id: str, artifact_path: str, tags: dict[str, str] | None = None
    ) -> str:
        """A new version of ``name`` from the run's artifact folder; its version number."""
        self._ensure(name)
        version = self.client.create_model_version(
            name, source=f"runs:/{run_id}/{artifact_path}", run_id=run_id, tags=tags or {}
        )
        logger.info("registered %s version %s (run %s)", name, version.version, run_id)
        return str(version.version)

    def register_logged_model(
        self,
        name: str,
        model: LoggedModel,
        tags: dict[str, str] | None = None,
        *,
        description: str | None = None,
    ) -> str:
        """A new version of ``name`` from an MLflow logged model; its version number
        (``description``: of the registered model when it is created, default
        :data:`DESCRIPTIONS`).

        The source is the model's artifact location (a ``models:/<id>`` source would make
        the SQL registry look the model up through the process-wide tracking URI, not this
        client's); the model's ``mlflow.modelVersions`` tag lists the version, as
        ``log_model(registered_model_name=...)`` does, so the UI links the two.
        """
        self._ensure(name, description)
        version = self.client.create_model_version(
            name,
            source=model.artifact_location,
            run_id=model.source_run_id,
            tags=tags or {},
            model_id=model.model_id,
        )
        current = self.client.get_logged_model(model.model_id).tags.get(MLFLOW_MODEL_VERSIONS)
        listed = [*json.loads(current or "[]"), {"name": name, "version": version.version}]
        self.client.set_logged_model_tags(
            model.model_id, {MLFLOW_MODEL_VERSIONS: json.dumps(listed)}
        )
        logger.info("registered %s version %s (model %s)", name, version.version, model.model_id)
        return str(version.version)

    # -- the champion alias -----------------------------------------------------------
    def promote(
        self,
        name: str,
        version: str,
        *,
        reason: str,
        metrics: dict[str, Any] | None = None,
        action: str = "promote",
    ) -> dict[str, Any]:
        """Point ``champion`` at ``version`` and record the change; the history event."""
        current = self.champion_version(name)
        previous = None if current is None else str(current.version)
        self.client.set_registered_model_alias(name, CHAMPION, version)
        return self._record(name, action, version, previous, reason, metrics)

    def refuse(
        self, name: str, version: str, *, reason: str, metrics: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Record that ``version`` was not promoted, and why (the alias does not move)."""
        current = self.champion_version(name)
        previous = None if current is None else str(current.version)
        return self._record(name, "refused", version, previous, reason, metrics)

    def rollback(self, name: str, *, to: str | None = None, reason: str = "") -> dict[str, Any]:
        """Restore the champion the current one replaced (or version ``to``)."""
        current = self.champion_version(name)
        if current is None:
            raise NoChampionError(f"{name} has no champion to roll back")
        target = to
        if target is None:
            target = self._replaced_by(name, str(current.version))
        if target is None:
            raise NoChampionError(f"{name} version {current.version} replaced no earlier champion")
        self.version(name, target)  # raises if it does not exist
        why = reason or f"rollback from version {current.version}"
        return self.promote(name, target, reason=why, action="rollback")

    # -- internals --------------------------------------------------------------------
    def _replaced_by(self, name: str, version: str) -> str | None:
        """``previous`` of the latest promotion of ``version`` (rollbacks walk back)."""
        for event in reversed(self.history(name)):
            if event["action"] == "promote" and event["version"] == version:
                return event["previous"]
        return None

    def _record(
        self,
        name: str,
        action: str,
        version: str,
        previous: str | None,
        reason: str,
        metrics: dict[str, Any] | None,
    ) -> dict[str, Any]:
        history = self.history(name)
        event = {
            "seq": (history[-1]["seq"] + 1) if history else 1,
            "model": name,
            "action": action,
            "alias": CHAMPION,
            "version": str(version),
            "previous": previous,
            "metrics": metrics or {},
            "reason": reason,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "run_id": self.version(name, str(version)).run_id,
        }
        tag = f"{HISTORY_TAG}{event['seq']:05d}"
        self.client.set_registered_model_tag(name, tag, json.dumps(event, default=str))
        self.client.set_model_version_tag(name, str(version), f"gate.{action}", reason[:4000])
        logger.info("%s %s: %s version %s (%s)", name, CHAMPION, action, version, reason)
        return event

    def _ensure(self, name: str, description: str | None = None) -> None:
        try:
            self.client.get_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            try:
                self.client.create_registered_model(
                    name, description=description or DESCRIPTIONS.get(name)
                )
            except MlflowException as race:
                if race.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise


# -- the gate -----------------------------------------------------------------------------
@dataclass(frozen=True)
class GateDecision:
    """Whether a challenger replaces the champion, and why (recorded either way)."""

    promote: bool
    reason: str
    metric: str
    challenger: float | None
    champion: float | None

    def metrics(self) -> dict[str, Any]:
        return {"metric": self.metric, "challenger": self.challenger, "champion": self.champion}


def decide(
    challenger: float | None,
    champion: float | None,
    *,
    metric: str,
    tolerance: float,
    failures: list[str] | tuple[str, ...] = (),
) -> GateDecision:
    """Promote when sanity checks pass and ``challenger >= champion - tolerance``.

    Higher is better. No champion yet: the challenger is promoted if it is sane and its
    metric is defined.
    """

    def verdict(promote: bool, reason: str) -> GateDecision:
        if failures:
            return GateDecision(
                False,
                f"sanity checks failed: {'; '.join(failures)} ({reason})",
                metric,
                challenger,
                champion,
            )
        return GateDecision(promote, reason, metric, challenger, champion)

    if challenger is None or challenger != challenger:
        return verdict(False, f"challenger {metric} is undefined")
    if champion is None or champion != champion:
        return verdict(True, f"no champion {metric} to beat; challenger {metric}={challenger:.4f}")
    comparison = f"challenger {metric}={challenger:.4f}, champion {champion:.4f}"
    if challenger >= champion - tolerance:
        return verdict(True, f"{comparison}: not worse beyond tolerance {tolerance}")
    return verdict(False, f"{comparison}: worse by {champion - challenger:.4f} > {tolerance}")
