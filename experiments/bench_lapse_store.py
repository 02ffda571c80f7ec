"""Benchmark: the lapse forecast from a store (issue 16): what ``advocacy train`` and
``advocacy advocates at-risk`` cost on a large synthetic organisation.

A synthetic organisation (default: the issue's 100k employees, 20k content, 50 events per
employee over 180 days, ~5M events) is generated, written and imported into a new SQLite store
in ``--workdir`` (``advocacy data import``'s code). Then, in this process:

1. ``snapshot``: the store loaded as of the organisation's end (what ``advocacy train`` reads);
2. ``train_lapse``: the lapse stage of ``advocacy train`` on it (monthly origins, the held-out
   evaluation of the model and both baselines, the final fit);
3. ``read_activity``: the store query of ``at-risk`` as of the end (events of the two-year
   lookback, opted-out advocates left out) into an activity log;
4. ``forecast``: every eligible advocate's probability and reasons, likeliest first;

and, as its own process, ``advocacy advocates at-risk --model-dir ... --top 20 --json`` (no
registry: reason-specific actions): wall seconds. Prints one JSON document (with this
process's peak resident memory).
The synthetic organisation plants no lapse behaviour: the AUC is not the point here.

    python experiments/bench_lapse_store.py --workdir /tmp/lapse100k [--employees 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from organisation import LARGE, add_organisation_options, imported_store  # noqa: E402
from stages import run_stage  # noqa: E402

from features.advocate_activity import forecast_lapse, read_activity  # noqa: E402
from features.data.reader import StoreReader  # noqa: E402
from features.data.store import Store  # noqa: E402
from features.snapshot import Snapshot  # noqa: E402
from training.config import LapseConfig  # noqa: E402
from training.lapse_job import train_lapse  # noqa: E402

END = datetime(2026, 11, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    add_organisation_options(parser, LARGE)
    args = parser.parse_args()
    report: dict[str, object] = {"benchmark": "lapse-store", "settings": vars(args)}
    seconds: dict[str, float] = {}
    url = imported_store(args, args.workdir, END, seconds)

    store = Store.open(url)
    clock = time.perf_counter()
    snapshot = Snapshot.load(StoreReader(store), END)
    seconds["snapshot"] = time.perf_counter() - clock
    clock = time.perf_counter()
    model, evaluation = train_lapse(snapshot, LapseConfig())
    seconds["train_lapse"] = time.perf_counter() - clock
    del snapshot
    clock = time.perf_counter()
    activity = read_activity(store, END)
    seconds["read_activity"] = time.perf_counter() - clock
    clock = time.perf_counter()
    risks = forecast_lapse(model, activity)
    seconds["forecast"] = time.perf_counter() - clock
    store.dispose()
    folder = model.save(args.workdir / "lapse")
    command = ["advocates", "at-risk", "--db", url, "--model-dir", str(folder), "--json"]
    command += ["--as-of", END.isoformat(), "--tracking-uri", f"sqlite:///{args.workdir}/ml.db"]
    cli = run_stage(command)
    report |= {
        "events_read": len(activity.log.times),
        "advocates_read": len(activity.employee_ids),
        "eligible": len(risks),
        "held_out": evaluation["protocol"]["held_out"],
        "training_rows": model.training_["rows"],
        "held_out_auc": {k: round(v["auc"], 4) for k, v in evaluation["models"].items()},
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # its peak memory is not reported: the child forked from this large process counts
        # the pages it shared before exec
        "at_risk_cli_seconds": cli["seconds"],
    }
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
