"""Every third-party module the packages import is a declared dependency of the project.

The imports are read from the source (``ast``: top-level, inside functions and under
``TYPE_CHECKING`` alike), mapped to distributions with
:func:`importlib.metadata.packages_distributions`, and compared with ``[project]
dependencies`` in pyproject.toml. Something installed only because another dependency
pulls it in (starlette by BentoML, huggingface_hub by sentence-transformers) breaks the day
that dependency drops it.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("recsys", "features", "training", "serving")


def _normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for requirement in project["dependencies"]:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
        assert match, requirement
        names.add(_normalise(match.group()))
    return names


def imported_modules() -> dict[str, set[str]]:
    """Top-level module name -> the files (relative paths) importing it, absolute imports only."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def third_party(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    return {
        name: files
        for name, files in modules.items()
        if name not in sys.stdlib_module_names and name not in PACKAGES
    }


def test_the_scan_sees_the_imports() -> None:
    modules = imported_modules()
    assert {"numpy", "recsys", "os"} <= set(modules)
    assert "recsys" not in third_party(modules) and "os" not in third_party(modules)
    assert "numpy" in third_party(modules)
    # names parse past bounds and extras ("psycopg[binary]>=3.1") and are normalised
    assert {"numpy", "torch", "sqlalchemy", "psycopg", "scikit-learn"} <= declared()


def test_every_third_party_import_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    wanted = declared()
    missing = []
    for module, files in sorted(third_party(imported_modules()).items()):
        provided_by = {_normalise(d) for d in distributions.get(module, [])}
        if not provided_by:
            missing.append(f"{module} (not installed at all) in {sorted(files)[:3]}")
        elif not provided_by & wanted:
            missing.append(f"{module} (from {sorted(provided_by)}) in {sorted(files)[:3]}")
    assert not missing, "imported but not in [project] dependencies:\n" + "\n".join(missing)
