"""Benchmark: program analytics and attribution on one organisation, in SQLite and PostgreSQL.

For each store (a new SQLite file and a new PostgreSQL database on ``--pg-url``'s server,
dropped afterwards):

1. ``advocacy data import`` in its own process: seconds, peak memory, and the part spent
   keeping the program rollups current (``rollups_seconds``, also as a share of the import);
2. ``advocacy attribution --model M`` for every model (SQLite; the default model on both),
   each in its own process: wall seconds, peak memory and the in-process attribution time;
3. the two reports of the issue over the last 90 days of data, in this process: grouped by
   department and week, and by advocate (top 100 by EMV): the first (cold) answer and the
   best and median of ``--repeat`` warm answers.

Prints one JSON document. The figures of the issue's organisation::

    python experiments/bench_generate_import.py ... --workdir /tmp/b100   # or any org folder
    python experiments/bench_analytics.py --org /tmp/b100/org --workdir /tmp/b100
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench_generate_import import PG_URL, fresh_database
from stages import run_stage

from features.data.store import Store
from features.program import EXAMPLE_CONFIG, ReportRequest, load_emv_config, program_report
from recsys.attribution import MODELS
from training.attribution_job import DEFAULT_MODEL

REPORT_DAYS = 90


def main() -> None:
    options = _options()
    sqlite_url = f"sqlite:///{options.workdir / 'analytics.db'}"
    for leftover in options.workdir.glob("analytics.db*"):
        leftover.unlink()
    models = tuple(sorted(MODELS)) if not options.default_only else (DEFAULT_MODEL,)
    result: dict[str, object] = {"benchmark": "analytics", "org": str(options.org)}
    result["sqlite"] = _store_run(sqlite_url, options, models)
    if not options.no_pg:
        with fresh_database(options.pg_url) as url:
            result["postgresql"] = _store_run(url, options, (DEFAULT_MODEL,))
    print(json.dumps(result, indent=2))


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org", type=Path, required=True, help="A folder of contract files")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--default-only", action="store_true", help="Attribute the default only")
    parser.add_argument("--repeat", type=int, default=5, help="Warm answers per report")
    return parser.parse_args()


def _store_run(url: str, options: argparse.Namespace, models: tuple[str, ...]) -> dict:
    imported = _import(options.org, url)
    attribution = {model: _attribute(url, model) for model in models}
    return {"import": imported, "attribution": attribution, "reports": _reports(url, options)}


def _import(org: Path, db: str) -> dict[str, object]:
    stage = run_stage(["data", "import", str(org), "--db", db, "--json"])
    report = json.loads(str(stage.pop("stdout")))
    rollups = float(report["rollups_seconds"])
    return {
        **stage,
        "rows": sum(report["accepted"].values()),
        "rejected": sum(report["rejected"].values()),
        "rollups_seconds": rollups,
        "rollups_share_of_import": round(rollups / (float(report["seconds"]) - rollups), 4),
    }


def _attribute(db: str, model: str) -> dict[str, object]:
    save = "--save" if model == DEFAULT_MODEL else "--no-save"
    stage = run_stage(["attribution", "--model", model, "--db", db, "--json", "--top", "3", save])
    payload = json.loads(str(stage.pop("stdout")))
    return {
        **stage,
        "attribution_seconds": payload["seconds"],
        "conversions": payload["totals"]["conversions"],
        "unattributed": payload["totals"]["unattributed"],
        "touches": payload["totals"]["touches"],
        "non_converting_paths": payload["totals"]["non_converting_paths"],
    }


def _reports(url: str, options: argparse.Namespace) -> dict[str, dict[str, object]]:
    store = Store.open(url)
    try:
        _, last = store.time_range("interactions", "timestamp")
        end = datetime.combine(last.date(), datetime.min.time()) + timedelta(days=1)
        start = end - timedelta(days=REPORT_DAYS)
        rates = load_emv_config(EXAMPLE_CONFIG)
        order = f"emv.{rates.currencies[0]}"
        requests = {
            "department_week": ReportRequest(start, end, ("department", "week")),
            "advocate_top100_by_emv": ReportRequest(
                start, end, ("advocate",), top=100, order_by=order
            ),
        }
        return {
            name: _timed(store, request, rates, options.repeat)
            for name, request in requests.items()
        }
    finally:
        store.dispose()


def _timed(store: Store, request: ReportRequest, rates, repeat: int) -> dict[str, object]:
    seconds = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        report = program_report(store, request, rates)
        seconds.append(time.perf_counter() - started)
    return {
        "period": [request.start.isoformat(), request.end.isoformat()],
        "rows": len(report.rows),
        "suppressed": report.suppressed,
        "cold_seconds": round(seconds[0], 3),
        "warm_best_seconds": round(min(seconds[1:]), 3),
        "warm_median_seconds": round(statistics.median(seconds[1:]), 3),
    }


if __name__ == "__main__":
    main()
