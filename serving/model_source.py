"""Where the served models come from: a fixed folder, or the MLflow registry's champion.

A :class:`ModelSource` answers "which version should be served now?" with a
:class:`ModelVersion` whose ``path`` is a local folder (``Recommender.save`` output or a
saved influencer scorer). The refresher polls it and loads a version only when it changes;
``describe()`` tells people what is there (the console's model page).
Serving never imports MLflow itself: the registry source reads through
``training.registry_reader`` (imported at the first poll, and nothing else of ``training``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger(__name__)

#: MLflow's HTTP client settings for a service (MLflow's own defaults: 7 retries with
#: exponential backoff and a 120 s timeout, about four minutes per call to a dead server).
#: A poll that fails is retried at the next interval anyway.
REGISTRY_WAITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}


def bound_registry_waits(environ: MutableMapping[str, str] | None = None) -> None:
    """Set :data:`REGISTRY_WAITS` in this process's environment where not set already (the
    operator's values win): an unreachable tracking server fails a poll in seconds."""
    env = os.environ if environ is None else environ
    for name, value in REGISTRY_WAITS.items():
        env.setdefault(name, value)


@dataclass(frozen=True)
class ModelVersion:
    """One servable version of a model, saved in the local folder ``path``."""

    name: str
    version: str
    path: Path
    run_id: str | None = None

    @property
    def label(self) -> str:
        """``name@version``: what responses and logs call it."""
        return f"{self.name}@{self.version}"


class ModelSource(Protocol):
    """Which version to serve now; ``None`` when there is none yet."""

    name: str

    def fetch(self) -> ModelVersion | None: ...

    def release(self, version: ModelVersion) -> None:
        """The folder of ``version`` is no longer needed (loaded or skipped)."""

    def describe(self) -> dict[str, Any]:
        """What this source holds, in plain JSON types; ``source`` says which shape."""


class FolderSource:
    """A saved model folder; its version is a digest of its files, so a rewrite is noticed."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = Path(folder)
        self.name = name

    def fetch(self) -> ModelVersion | None:
        version = self._version()
        if version is None:
            logger.warning("no saved model at %s", self.folder)
            return None
        return ModelVersion(self.name, version, self.folder)

    def release(self, version: ModelVersion) -> None:
        """Nothing to clean: the folder belongs to whoever saved it."""

    def describe(self) -> dict[str, Any]:
        """``source`` "folder", ``name``, ``path``, ``version`` (the digest :meth:`fetch`
        serves), ``saved_at`` (the manifest's mtime, ISO UTC), ``model`` (the manifest's
        model or kind), ``params`` (the manifest's), ``training`` (the manifest's scalar
        training facts and the feature spec's ``as_of`` as ``features_as_of``) and
        ``libraries``; without a saved model every value but the first three is None or empty.
        """
        manifest_path = self.folder / "manifest.json"
        row = {"source": "folder", "name": self.name, "path": str(self.folder)}
        version = self._version()
        if version is None:
            empty = {"model": None, "params": {}, "training": {}, "libraries": {}}
            return row | {"version": None, "saved_at": None} | empty
        manifest = json.loads(manifest_path.read_text())
        saved = datetime.fromtimestamp(manifest_path.stat().st_mtime, UTC)
        return row | {
            "version": version,
            "saved_at": saved.isoformat(timespec="seconds"),
            "model": manifest.get("model") or manifest.get("kind"),
            "params": manifest.get("params") or {},
            "training": self._training(manifest),
            "libraries": manifest.get("libraries") or {},
        }

    def _version(self) -> str | None:
        """A digest of the folder's file names, sizes and mtimes; None without a manifest."""
        if not (self.folder / "manifest.json").is_file():
            return None
        digest = hashlib.sha256()
        for path in sorted(self.folder.iterdir()):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        return f"dir-{digest.hexdigest()[:12]}"

    def _training(self, manifest: dict[str, Any]) -> dict[str, Any]:
        recorded = manifest.get("training") or {}
        facts = {k: v for k, v in recorded.items() if isinstance(v, str | int | float | bool)}
        spec = self.folder / "feature_spec.json"
        if spec.is_file():
            as_of = json.loads(spec.read_text()).get("as_of")
            facts |= {} if as_of is None else {"features_as_of": as_of}
        return facts


class RegistrySource:
    """The ``champion`` alias of a registered model, through :mod:`training.registry_reader`.

    Each poll asks the registry which version holds the alias; a version is downloaded
    once into ``cache_dir/<name>/<version>`` (default ``<data dir>/models``) and reused.
    """

    def __init__(self, name: str, *, tracking_uri: str | None, cache_dir: Path | None = None):
        self.name = name
        self.tracking_uri = tracking_uri
        self.cache_dir = cache_dir

    def fetch(self) -> ModelVersion | None:
        from training import registry_reader as registry

        ref = registry.champion(self.name, tracking_uri=self.tracking_uri, dst=self.cache_dir)
        if ref is None:
            return None
        return ModelVersion(self.name, str(ref.version), Path(ref.path), ref.run_id)

    def release(self, version: ModelVersion) -> None:
        """Keep the download: a rollback to it needs no new download."""

    def describe(self) -> dict[str, Any]:
        """``source`` "registry" and :func:`training.registry_reader.describe` (``name``,
        ``champion``, ``versions``, ``history``); an unreachable registry raises a
        ``ConnectionError``."""
        from training import registry_reader as registry

        return {"source": "registry"} | registry.describe(self.name, tracking_uri=self.tracking_uri)
