"""Benchmark: generate a synthetic organisation and import it into SQLite and PostgreSQL.

Each stage runs as its own `advocacy` process, so its wall time and peak memory are its
own. The organisation is generated once and imported into a new SQLite file
(``WORKDIR/bench.db``, kept for bench_features.py) and into a new PostgreSQL database
created next to ``--pg-url``'s and dropped afterwards. ``--pg-executemany`` adds a third
import into another new database through the store's path before COPY (executemany).
Prints one JSON document with both imports and the PostgreSQL/SQLite time ratio. The
figures of the issue's organisation:

    python experiments/bench_generate_import.py --employees 100000 --content 20000 \
        --interactions-per-employee 50 --days 180 --workdir /tmp/bench100k
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from organisation import LARGE, add_organisation_options, generate_arguments
from stages import run_stage

from features.data.store import create_engine

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
EXECUTEMANY = str(Path(__file__).with_name("import_executemany.py"))


def main() -> None:
    options = _options()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="advocacy-bench-"))
    org = workdir / "org"
    generated = _generate(org, options)
    for leftover in workdir.glob("bench.db*"):
        leftover.unlink()
    imports = {"sqlite": _import(org, f"sqlite:///{workdir / 'bench.db'}")}
    with fresh_database(options.pg_url) as url:
        imports["postgresql"] = _import(org, url)
    if options.pg_executemany:
        with fresh_database(options.pg_url) as url:
            imports["postgresql_executemany"] = _import(org, url, script=EXECUTEMANY)
    sqlite_seconds = imports["sqlite"]["seconds"]
    result = {
        "benchmark": "generate+import",
        "config": {k: v for k, v in vars(options).items() if k != "workdir"},
        "generate": generated,
        "import": imports,
        "pg_sqlite_ratio": {
            name: round(stage["seconds"] / sqlite_seconds, 2)
            for name, stage in imports.items()
            if name != "sqlite"
        },
    }
    print(json.dumps(result, indent=2))


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_organisation_options(parser, LARGE, seed=0)
    parser.add_argument("--file-format", choices=["csv", "parquet"], default="csv")
    parser.add_argument(
        "--pg-url",
        default=PG_URL,
        help="A PostgreSQL database whose server gets the benchmark's own new database",
    )
    parser.add_argument(
        "--pg-executemany",
        action="store_true",
        help="Also import into PostgreSQL through the executemany path (before COPY)",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    return parser.parse_args()


def _generate(org: Path, options: argparse.Namespace) -> dict[str, object]:
    """Write the organisation to ``org``: the generate stage's time, memory and bytes."""
    shutil.rmtree(org, ignore_errors=True)
    args = [*generate_arguments(options), "--file-format", options.file_format]
    stage = run_stage(["data", "generate", "--out", str(org), *args])
    stage.pop("stdout")
    stage["bytes_written"] = sum(p.stat().st_size for p in org.iterdir())
    return stage


def _import(org: Path, db: str, script: str | None = None) -> dict[str, object]:
    """Import ``org`` into ``db`` in its own process: time, memory, rows."""
    stage = run_stage(["data", "import", str(org), "--db", db, "--json"], script=script)
    report = json.loads(str(stage.pop("stdout")))
    rows = sum(report["accepted"].values())
    return {
        **stage,
        "accepted": report["accepted"],
        "rejected": sum(report["rejected"].values()),
        "rows_per_second": round(rows / float(stage["seconds"])),
    }


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on ``url``'s server, dropped on exit: its URL."""
    name = f"advocacy_bench_{os.getpid()}"
    admin = create_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
