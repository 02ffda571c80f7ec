"""The layers: store (``features.data``) -> features -> recsys -> training -> serving.

Importing the service must not import training's jobs, pipelines or MLflow; the store must
not import the scorer; recsys must not import the store. Imports run in a fresh interpreter
(``sys.modules`` of this one holds whatever other tests imported).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What serving may import of training, and why: the registry through its reader, the
#: influencer candidates (scoring with a fitted scorer, never the fitting job) and the
#: attribution facade (``/attribution`` runs one; imported on first use, not at start).
SERVING_MAY_IMPORT = {
    "training.registry_reader",
    "training.influence_candidates",
    "training.attribution_job",
}
#: Imported when the service starts (``influence_candidates`` needs ``influence_scoring``).
SERVING_STARTS_WITH = {"training", "training.influence_candidates", "training.influence_scoring"}


def imported_after(*modules: str) -> set[str]:
    """Every module in ``sys.modules`` of a fresh interpreter after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def package_modules(package: str) -> list[str]:
    folder = ROOT / package.replace(".", "/")
    names = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imports_of(path: Path) -> set[str]:
    """Every absolute module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_starting_the_service_imports_no_training_job_and_no_mlflow() -> None:
    loaded = imported_after(*package_modules("serving"))
    training = {m for m in loaded if m == "training" or m.startswith("training.")}
    assert training <= SERVING_STARTS_WITH, sorted(training - SERVING_STARTS_WITH)
    assert not {m for m in loaded if m.split(".")[0] == "mlflow"}


def test_the_model_source_and_runtime_import_no_training_at_all_until_asked() -> None:
    loaded = imported_after("serving.model_source")
    assert not {m for m in loaded if m.split(".")[0] in ("training", "mlflow")}
    runtime = imported_after("serving.runtime")
    assert "training.influence_job" not in runtime
    assert "training.registry" not in runtime and "training.pipeline" not in runtime


def test_the_registry_reader_needs_nothing_else_of_training() -> None:
    loaded = imported_after("training.registry_reader")
    assert {m for m in loaded if m.startswith("training")} == {
        "training",
        "training.registry_reader",
    }


@pytest.mark.parametrize("path", sorted((ROOT / "serving").rglob("*.py")), ids=str)
def test_serving_imports_only_the_training_modules_it_may(path: Path) -> None:
    """Also the imports inside functions (on a request path)."""
    wrong = {
        m
        for m in imports_of(path)
        if m.startswith("training.")
        and not any(m == ok or m.startswith(f"{ok}.") for ok in SERVING_MAY_IMPORT)
    }
    assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_store_does_not_import_the_scorer_or_the_builders() -> None:
    loaded = imported_after("features.data.reviews", "features.data.score_history")
    assert not {m for m in loaded if m.startswith("recsys.influence")}
    assert "features.builder" not in loaded  # the layer above the store


def test_recsys_influence_does_not_import_the_store() -> None:
    loaded = imported_after("recsys.influence")
    assert "sqlalchemy" not in loaded and "features.data.store" not in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("training", "serving")}


@pytest.mark.parametrize(
    ("library", "home"), [("mlflow", "training"), ("bentoml", "serving")], ids=str
)
def test_mlflow_and_bentoml_stay_in_their_layer(library: str, home: str) -> None:
    wrong = [
        str(path.relative_to(ROOT))
        for package in ("recsys", "features", "training", "serving")
        if package != home
        for path in sorted((ROOT / package).rglob("*.py"))
        if any(m.split(".")[0] == library for m in imports_of(path))
    ]
    assert not wrong
