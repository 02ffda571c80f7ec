"""Which saved model folders still hold an id (after an employee's erasure from the store).

Saved models are folders of ``manifest.json`` (and other JSON) plus ``arrays.npz``
(:meth:`recsys.base.Recommender.save` keeps its ``users_`` ids in the ``users`` array; other
models keep ids in string arrays or their JSON). A folder holds an id when any string array of
its ``arrays.npz`` has an element equal to it, or any of its JSON files has it as a string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

ARRAYS = "arrays.npz"


def model_folders(roots: Iterable[Path]) -> list[Path]:
    """Every folder under (or at) ``roots`` holding an ``arrays.npz``, sorted, each once."""
    found: set[Path] = set()
    for root in roots:
        root = Path(root)
        if (root / ARRAYS).is_file():
            found.add(root.resolve())
        if root.is_dir():
            found.update(p.parent.resolve() for p in root.rglob(ARRAYS))
    return sorted(found)


def holds_id(folder: Path, external_id: str) -> bool:
    """Whether the saved model in ``folder`` holds ``external_id`` (see the module)."""
    wanted = str(external_id)
    with np.load(Path(folder) / ARRAYS, allow_pickle=False) as stored:
        for key in stored.files:
            values = stored[key]
            if values.dtype.kind in "US" and wanted in values.astype(str):
                return True
    quoted = json.dumps(wanted)
    return any(quoted in path.read_text() for path in Path(folder).glob("*.json"))


def folders_holding(external_id: str, roots: Iterable[Path]) -> list[Path]:
    """The saved model folders under ``roots`` that hold ``external_id``."""
    return [folder for folder in model_folders(roots) if holds_id(folder, external_id)]
