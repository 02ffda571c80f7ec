"""The synthetic organisation a benchmark builds: its options, settings and generator config.

Two sizes are in use: :data:`LARGE` (the issues' 100k organisation: 100k employees, 20k
content, ~5M events over 180 days) and :data:`SERVING` (the serving benchmarks' 10k x 5k over
60 days). A benchmark declares the options with :func:`add_organisation_options`, keys its
reusable preparation by :func:`organisation_settings`, and builds the organisation from
:func:`organisation_config` (in process) or :func:`generate_arguments` (``advocacy data
generate`` as its own process); :func:`imported_store` writes it into a reusable SQLite store.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from features.data.synthetic import OrgConfig

LARGE = {"employees": 100_000, "content": 20_000, "days": 180, "interactions_per_employee": 50.0}
SERVING = {"employees": 10_000, "content": 5_000, "days": 60, "interactions_per_employee": 30.0}


def add_organisation_options(
    parser: argparse.ArgumentParser, size: dict[str, Any], *, seed: int | None = None
) -> None:
    """``--employees``, ``--content``, ``--days`` and ``--interactions-per-employee`` with
    ``size``'s defaults, and ``--seed`` when a default seed is given."""
    parser.add_argument("--employees", type=int, default=size["employees"])
    parser.add_argument("--content", type=int, default=size["content"])
    parser.add_argument("--days", type=int, default=size["days"])
    parser.add_argument(
        "--interactions-per-employee", type=float, default=size["interactions_per_employee"]
    )
    if seed is not None:
        parser.add_argument("--seed", type=int, default=seed)


def organisation_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The organisation options given (what a reusable preparation is keyed by)."""
    names = ("employees", "content", "days", "interactions_per_employee", "seed")
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def organisation_config(args: argparse.Namespace, **overrides: Any) -> OrgConfig:
    """The generator's config of the options given, with ``overrides`` (e.g. ``end``)."""
    return OrgConfig(**(organisation_settings(args) | overrides))


def generate_arguments(args: argparse.Namespace) -> list[str]:
    """The options given as ``advocacy data generate`` arguments."""
    return [
        item
        for name, value in organisation_settings(args).items()
        for item in (f"--{name.replace('_', '-')}", str(value))
    ]


def imported_store(
    args: argparse.Namespace, workdir: Path, end: datetime, seconds: dict[str, float]
) -> str:
    """The organisation of ``args`` ending at ``end``, generated and imported into
    ``<workdir>/store.db`` (``advocacy data import``'s code), or the store already there;
    its URL. The stages run are timed into ``seconds`` (``generate``, ``import``)."""
    from features.data.importer import import_path
    from features.data.store import Store
    from features.data.synthetic import generate, write
    from features.data.validation import ValidationContext

    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "store.db"
    url = f"sqlite:///{path}"
    if path.is_file():
        return url
    clock = time.perf_counter()
    write(generate(organisation_config(args, end=end)), workdir / "org")
    seconds["generate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    store = Store.open(url)
    context = ValidationContext(end + timedelta(days=1), timedelta(hours=1))
    report = import_path(store, workdir / "org", context=context)
    store.dispose()
    if report.exit_code != 0:
        raise SystemExit(f"import failed: exit code {report.exit_code}")
    seconds["import"] = time.perf_counter() - clock
    return url
