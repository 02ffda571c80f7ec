"""Benchmark: what ``/share_plan`` and ``/feed``'s ``suggest_times`` cost per request (issue 16).

Random events and shares (uniform hours; the cost does not depend on the effects): ``events``
per advocate under ``"all"``, ``shares`` per advocate over the contract's networks with a
lognormal engagement, ``groups`` departments. The bundle's two models are fitted, then
:class:`serving.share_plan.SlotPlanner` is built (what a load adds: one BLAKE2b key per
advocate, the members of each group) and timed on ``advocates`` random advocates:
``plan`` (every network of one item: what ``/share_plan`` computes after its two store
reads) and ``feed`` (the suggested network and its times for ``items`` items: what
``suggest_times`` adds to a feed). Prints milliseconds (median and 90th percentile).

    python experiments/bench_share_plan.py [--employees 100000 --groups 9 --items 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.feed_arrays import NETWORKS  # noqa: E402
from recsys.forecast import SlotModel, SlotRateModel  # noqa: E402
from serving.share_plan import SlotPlanner  # noqa: E402

DAY = 86_400.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=9)
    parser.add_argument("--events", type=int, default=20, help="events per advocate")
    parser.add_argument("--shares", type=int, default=3, help="shares per advocate")
    parser.add_argument("--items", type=int, default=20, help="feed items")
    parser.add_argument("--advocates", type=int, default=200, help="advocates timed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.employees
    end = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    groups = rng.integers(0, args.groups, n)
    who = np.repeat(np.arange(n), args.events)
    times = end - rng.uniform(0, 180 * DAY, len(who))
    sharer = np.repeat(np.arange(n), args.shares)
    share_times = end - rng.uniform(0, 180 * DAY, len(sharer))
    networks = np.asarray(NETWORKS, object)[rng.integers(0, len(NETWORKS), len(sharer))]
    values = rng.lognormal(0.0, 0.5, len(sharer))
    figures: dict[str, float] = {}
    clock = time.perf_counter()
    activity = SlotModel().fit(
        np.concatenate([times, share_times]),
        np.concatenate([who, sharer]),
        groups,
        networks=np.concatenate([np.full(len(who), "all", object), networks]),
    )
    rates = SlotRateModel().fit(share_times, sharer, groups, values, networks)
    figures["fit_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    planner = SlotPlanner(activity, [f"emp{i:06d}" for i in range(n)], rates)
    figures["planner_build_s"] = time.perf_counter() - clock
    now = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    chosen = rng.choice(n, args.advocates, replace=False)
    plan_ms, feed_ms = [], []
    for person in chosen:
        employee = f"emp{person:06d}"
        clock = time.perf_counter()
        planner.plan(employee, f"c{person}", [], now)
        plan_ms.append(1000 * (time.perf_counter() - clock))
        clock = time.perf_counter()
        for item in range(args.items):
            position = planner.position(employee)
            best = planner.best_network(position, planner.networks_for(position, []))
            if best is not None:
                planner.network_plan(position, f"c{item}", best, now)
        feed_ms.append(1000 * (time.perf_counter() - clock))
    for name, values_ms in (("plan_ms", plan_ms), ("feed_ms", feed_ms)):
        figures[f"{name}_median"] = float(np.median(values_ms))
        figures[f"{name}_p90"] = float(np.percentile(values_ms, 90))
    config = {k: v for k, v in vars(args).items()}
    print(json.dumps({"config": config} | {k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
