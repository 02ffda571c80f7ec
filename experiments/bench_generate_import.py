"""Benchmark: generate a synthetic organisation and import it into a fresh store.

Each stage runs as its own `advocacy` process, so its wall time and peak memory are its
own. Prints one JSON document. The figures of the issue's organisation:

    python experiments/bench_generate_import.py --employees 100000 --content 20000 \
        --interactions-per-employee 50 --days 180
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from stages import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--content", type=int, default=20_000)
    parser.add_argument("--interactions-per-employee", type=float, default=50.0)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--file-format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--db", default=None, help="Store URL (default: a new SQLite file)")
    parser.add_argument("--workdir", type=Path, default=None)
    options = parser.parse_args()

    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="advocacy-bench-"))
    org = workdir / "org"
    shutil.rmtree(org, ignore_errors=True)
    db = options.db or f"sqlite:///{workdir / 'bench.db'}"
    if options.db is None:
        for leftover in workdir.glob("bench.db*"):
            leftover.unlink()
    generate = run_stage(
        [
            "data",
            "generate",
            "--out",
            str(org),
            "--employees",
            str(options.employees),
            "--content",
            str(options.content),
            "--days",
            str(options.days),
            "--seed",
            str(options.seed),
            "--interactions-per-employee",
            str(options.interactions_per_employee),
            "--file-format",
            options.file_format,
        ]
    )
    generate.pop("stdout")
    generate["bytes_written"] = sum(p.stat().st_size for p in org.iterdir())
    imported = run_stage(["data", "import", str(org), "--db", db, "--json"])
    report = json.loads(imported.pop("stdout"))
    rows = sum(report["accepted"].values())
    result = {
        "benchmark": "generate+import",
        "config": {k: v for k, v in vars(options).items() if k != "workdir"},
        "generate": generate,
        "import": {
            **imported,
            "accepted": report["accepted"],
            "rejected": sum(report["rejected"].values()),
            "rows_per_second": round(rows / imported["seconds"]),
        },
        "total_seconds": round(generate["seconds"] + imported["seconds"], 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
