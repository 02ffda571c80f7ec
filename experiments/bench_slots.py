"""Benchmark: the best-time-to-share model's cost on a large synthetic organisation (issue 16).

A synthetic organisation (default: the issue's 100k employees, 20k content, 50 events per
employee over 180 days, ~5M events) is generated once. Then: :class:`SlotModel` fitted on every
interaction (one network, groups = departments), the top 3 slots and their lift for every
advocate, a second fit on the shares split by network, and :func:`spread_slots` for the 200
first advocates of one department. Prints seconds per stage (``arrays``: the event arrays from
the tables, data preparation, before memory tracing) and the peak memory the model's stages
allocate (``tracemalloc``, which also slows allocation-heavy steps), plus the process's peak
resident memory (generation included). Quality is not the point: the synthetic organisation
plants no time effects yet (DeskDrop is the quality benchmark, docs/share_slots.md).

    python experiments/bench_slots.py [--employees 100000 --content 20000]
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
from recsys.forecast import SlotModel, spread_slots  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_organisation_options(parser, LARGE)
    args = parser.parse_args()
    report: dict[str, object] = {"benchmark": "slots", "settings": vars(args)}

    started = time.perf_counter()
    org = generate(organisation_config(args))
    events, people = org.tables["interactions"], org.tables["advocates"]
    report["generate_seconds"] = round(time.perf_counter() - started, 1)
    report["events"] = len(events)

    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    ids = pd.Index(people["employee_id"])
    persons = ids.get_indexer(events["employee_id"])
    groups, departments = pd.factorize(people["department"].fillna("?"), sort=True)
    times = events["timestamp"].dt.as_unit("s").astype("int64").to_numpy(np.float64)
    seconds["arrays"] = time.perf_counter() - clock

    tracemalloc.start()
    clock = time.perf_counter()
    model = SlotModel().fit(times, persons, groups)
    seconds["fit_all_events"] = time.perf_counter() - clock

    clock = time.perf_counter()
    top, lift, _ = model.plan(k=3)
    seconds["top3_and_lift_every_advocate"] = time.perf_counter() - clock

    shares = (events["event_type"] == "share").to_numpy()
    clock = time.perf_counter()
    by_network = SlotModel().fit(
        times[shares],
        persons[shares],
        groups,
        networks=events["network"].fillna("?").to_numpy(object)[shares],
    )
    seconds["fit_shares_by_network"] = time.perf_counter() - clock

    colleagues = np.flatnonzero(groups == 0)[:200]
    clock = time.perf_counter()
    spread = spread_slots(model.scores(colleagues), k=3)
    seconds["spread_200_colleagues"] = time.perf_counter() - clock
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    report |= {
        "advocates": len(ids),
        "departments": len(departments),
        "shares": int(shares.sum()),
        "networks": list(by_network.networks_),
        "strengths": {
            "group": round(float(model.group_strength_[0]), 2),
            "person": round(float(model.person_strength_[0]), 2),
        },
        "top3_shape": list(top.shape),
        "advocates_with_a_habit": int(np.sum(~np.isnan(lift[:, 0]))),
        "distinct_slots_spread": len(np.unique(spread)),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "peak_traced_mb": round(peak / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
