"""Saved models that still hold an erased employee (``advocacy data erase``).

The store forgets an employee at once (:func:`features.data.privacy.erase_employee`); saved
models keep their row until the next training, which reads the store (``advocacy retrain``,
``advocacy train``). This lists the model folders holding the id: ``--model-dir``, the
recommender champion of the registry (when a registry is configured or exists), the
downloaded models under ``<data dir>/models`` and a local MLflow artifact root.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from features.data.store import data_dir
from recsys.saved_ids import folders_holding, model_folders
from training.registry import default_artifact_root
from training.registry_reader import RECOMMENDER, TRACKING_ENV, champion

logger = logging.getLogger(__name__)


def _local_root(uri: str) -> Path | None:
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    return Path(uri) if not parts.scheme else None


def _registry_configured(tracking_uri: str | None) -> bool:
    """A registry is named, or the embedded one exists (never created just to look)."""
    if tracking_uri or os.environ.get(TRACKING_ENV):
        return True
    return (data_dir() / "mlflow.db").is_file()


def models_holding(
    employee_id: str, *, model_dir: Path | None = None, tracking_uri: str | None = None
) -> dict[str, object]:
    """``served``: whether the served model (``model_dir``, else the registry champion)
    holds the id (None: no such model, with ``served_model`` saying why); ``folders``: every
    saved model folder found that holds it."""
    served_path: Path | None = model_dir
    note = str(model_dir) if model_dir is not None else "no --model-dir and no champion"
    if model_dir is None and _registry_configured(tracking_uri):
        try:
            ref = champion(RECOMMENDER, tracking_uri=tracking_uri)
        except Exception as exc:  # the registry is optional here: say why it was not read
            note = f"registry not read: {type(exc).__name__}: {exc}"
        else:
            if ref is not None:
                served_path, note = ref.path, f"{ref.name}@{ref.version} ({ref.path})"
    served = None
    if served_path is not None and model_folders([served_path]):
        served = bool(folders_holding(employee_id, [served_path]))
    roots = [data_dir() / "models"]
    artifacts = _local_root(default_artifact_root())
    roots += [artifacts] if artifacts is not None else []
    roots += [served_path] if served_path is not None else []
    folders = folders_holding(employee_id, [r for r in roots if r.exists()])
    return {"served": served, "served_model": note, "folders": [str(f) for f in folders]}
