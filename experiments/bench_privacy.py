"""Benchmark: privacy rights on a synthetic organisation (issue 17, docs/compliance.md).

A synthetic organisation (default 2,000 employees, 500 items, 180 days) is generated into
``--workdir`` and imported into ``--db`` (a new, empty store), with its program rollups.
Then, for the first ``--erase`` advocates one at a time: the export (rows about them,
seconds), the erasure and the scan of every table for the id (``privacy.occurrences``, which
must find nothing). Finally the same files are imported again: the rejection reasons show
the erased ids refused. Prints one JSON document.

    python experiments/bench_privacy.py --workdir /tmp/privacy --db sqlite:////tmp/privacy/s.db
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.data import privacy
from features.data.importer import import_path
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate, write
from features.data.validation import ValidationContext
from features.program import refresh_rollups

END = datetime(2026, 11, 1, tzinfo=UTC)


def _seconds(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--db", required=True, help="An empty store's URL.")
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--erase", type=int, default=5)
    args = parser.parse_args()
    org = args.workdir / "org"
    if not org.exists():
        config = OrgConfig(employees=args.employees, content=500, days=180, seed=0, end=END)
        write(generate(config), org)
    store = Store.open(args.db)
    context = ValidationContext(END + timedelta(days=1), timedelta(hours=1))
    started = time.perf_counter()
    first = import_path(store, org, context=context)
    refresh_rollups(store, list(first.accepted))
    result: dict[str, object] = {"import_seconds": _seconds(started), "rows": store.counts()}
    erased = []
    for employee in sorted(store.key_set("advocates", "employee_id"))[: args.erase]:
        started = time.perf_counter()
        export = privacy.export_employee(store, employee)
        export_seconds = _seconds(started)
        started = time.perf_counter()
        privacy.erase_employee(store, employee, by="bench")
        erase_seconds = _seconds(started)
        started = time.perf_counter()
        left = privacy.occurrences(store, employee)
        rows = sum(len(r) for r in export["tables"].values())  # type: ignore[attr-defined]
        erased.append(
            {
                "employee_id": employee,
                "rows": rows,
                "export_seconds": export_seconds,
                "erase_seconds": erase_seconds,
                "scan_seconds": _seconds(started),
                "found_after": left,
            }
        )
    result["erased"] = erased
    started = time.perf_counter()
    again = import_path(store, org, context=context)
    result["reimport_seconds"] = _seconds(started)
    result["reimport_reasons"] = dict(again.reasons)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
