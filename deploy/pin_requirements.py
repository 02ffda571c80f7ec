"""Write ``deploy/requirements.txt``: the service's runtime dependencies, pinned as installed.

Starts from ``[project.dependencies]`` of ``pyproject.toml`` (with their extras, e.g.
``psycopg[binary]``), follows each installed distribution's own requirements whose
environment markers hold here (Linux, CPython 3.11, as in the Bento's image), and pins every
distribution reached at its installed version. The result is the lock the Bento installs
(``bentofile.yaml``: ``python.requirements_txt``, with BentoML's own locking off, which would
resolve against the package index at build time). A CPU build of torch (``+cpu``) adds the
PyTorch CPU index, where those builds are published. Run it with the project's environment
after a dependency changes::

    .venv/bin/python deploy/pin_requirements.py [--output deploy/requirements.txt]
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import tomllib
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
HEADER = """\
# The advocacy service's runtime dependencies, pinned as installed: written by
# deploy/pin_requirements.py from pyproject.toml's [project.dependencies] and the
# environment it ran in (do not edit by hand; run it again after a dependency changes).
"""


def project_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[Requirement]:
    """The ``[project.dependencies]`` of ``pyproject``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


def closure(roots: Iterable[Requirement]) -> dict[str, metadata.Distribution]:
    """Every installed distribution ``roots`` need here, by canonical name.

    Raises :class:`LookupError` naming a needed distribution that is not installed.
    """
    found: dict[str, metadata.Distribution] = {}
    extras_seen: dict[str, set[str]] = {}
    pending = [(req, "") for req in roots]
    while pending:
        req, parent_extra = pending.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": parent_extra}):
            continue
        name = canonicalize_name(req.name)
        new_extras = set(req.extras) - extras_seen.setdefault(name, set())
        if name in found and not new_extras:
            continue
        try:
            dist = found.get(name) or metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            needed_by = f" (needed by extra {parent_extra!r})" if parent_extra else ""
            raise LookupError(f"{req.name} is required but not installed{needed_by}") from None
        first = name not in found
        found[name] = dist
        extras_seen[name] |= new_extras
        for spec in dist.requires or []:
            child = Requirement(spec)
            if first:
                pending.append((child, ""))
            for extra in new_extras:
                pending.append((child, extra))
    return found


def render(found: dict[str, metadata.Distribution]) -> str:
    """The requirements file: one ``name==version`` a line, sorted by name."""
    lines = [HEADER]
    torch = found.get("torch")
    if torch is not None and torch.version.endswith("+cpu"):
        lines.append(f"--extra-index-url {TORCH_CPU_INDEX}\n")
    for name in sorted(found):
        lines.append(f"{name}=={found[name].version}\n")
    return "".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "deploy" / "requirements.txt")
    args = parser.parse_args()
    found = closure(project_requirements())
    found.pop(canonicalize_name("advocacy-recsys"), None)
    args.output.write_text(render(found))
    print(f"{args.output}: {len(found)} distributions pinned")


if __name__ == "__main__":
    main()
