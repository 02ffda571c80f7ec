"""Benchmark: the lapse forecast's cost on a large synthetic organisation (issue 16).

A synthetic organisation (default: the issue's 100k employees, 20k content, 50 events per
employee over 180 days, ~5M events) is generated once; its interactions become an
:class:`~recsys.forecast.ActivityLog`. Then, as ``advocacy evaluate deskdrop-lapse`` does for
one origin (the last month start): the features and labels of every earlier month start
whose horizon ends before the origin (the training rows), the fit of :class:`LapseModel` on
them, and the forecast of every advocate eligible at the origin. Prints seconds per stage and
the peak memory the stages allocate (``tracemalloc``, numpy's arrays included), plus the
process's peak resident memory (generation included). The quality is not the point here:
the synthetic organisation plants no lapse behaviour (DeskDrop is the quality benchmark).

    python experiments/bench_lapse.py [--employees 100000 --content 20000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from organisation import LARGE, add_organisation_options, organisation_config  # noqa: E402

from features.data.synthetic import generate  # noqa: E402
from recsys.forecast import (  # noqa: E402
    ActivityLog,
    LapseModel,
    eligible,
    feature_names,
    lapse_features,
)
from recsys.times import DAY  # noqa: E402
from training.evaluation.lapse import month_starts, origin_rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_organisation_options(parser, LARGE)
    parser.add_argument("--horizon-days", type=float, default=30.0)
    args = parser.parse_args()
    report: dict[str, object] = {"benchmark": "lapse", "settings": vars(args)}

    started = time.perf_counter()
    org = generate(organisation_config(args))
    events = org.tables["interactions"]
    report["generate_seconds"] = round(time.perf_counter() - started, 1)
    report["events"] = len(events)

    tracemalloc.start()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    log = activity_log(events)
    seconds["log"] = time.perf_counter() - clock

    clock = time.perf_counter()
    horizon = args.horizon_days * DAY
    grid = month_starts(float(log.times[0]), float(log.times[-1]))
    origin = grid[-1]
    train = [t for t in grid if t + horizon <= origin]
    rows = [origin_rows(log, t, args.horizon_days) for t in train]
    x_train = np.vstack([x for x, _ in rows])
    y_train = np.concatenate([y for _, y in rows])
    seconds["training_features"] = time.perf_counter() - clock

    clock = time.perf_counter()
    model = LapseModel(feature_names(log.kind_names), horizon_days=args.horizon_days)
    model.fit(x_train, y_train)
    seconds["fit"] = time.perf_counter() - clock

    clock = time.perf_counter()
    mask = eligible(log, origin)
    x = lapse_features(log, origin)[mask]
    probabilities = model.predict_proba(x)
    reasons = model.reasons(x[: min(1000, len(x))])
    seconds["score"] = time.perf_counter() - clock
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    report |= {
        "origin_utc": pd.Timestamp(origin, unit="s", tz="UTC").isoformat(),
        "training_origins": len(train),
        "training_rows": len(y_train),
        "scored_advocates": len(probabilities),
        "reasons_for": len(reasons),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "peak_traced_mb": round(peak / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=2))


def activity_log(events: pd.DataFrame) -> ActivityLog:
    """The organisation's interactions (``timestamp``, ``employee_id``, ``event_type``)."""
    persons, ids = pd.factorize(events["employee_id"], sort=True)
    kinds, names = pd.factorize(events["event_type"].astype(str), sort=True)
    times = events["timestamp"].dt.as_unit("s").astype("int64").to_numpy(np.float64)
    return ActivityLog.build(
        times, persons, kinds, n_persons=len(ids), kind_names=[str(k) for k in names]
    )


if __name__ == "__main__":
    main()
