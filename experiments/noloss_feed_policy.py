"""One feed policy timed in its own process over a model saved by ``bench_feed.py``, to compare
two commits' feed code without the other policies' runs in the same process.

``experiments/bench_feed.py`` times every policy in one process; the spread between its
processes on a shared machine (10-20% for the same code) hid a 5% band in issue 18's "no loss
elsewhere" comparison (docs/recommenders.md). This script builds the same organisation and
feed data as ``bench_feed.py`` (its defaults: 2,000 employees, 10,000 content, 30 days, seed
0), loads the fitted ``Hybrid`` from ``--model-dir`` (written by ``bench_feed.py
--model-dir``), and times ``FeedRanker.feed`` for one employee and one policy: ``--repeats``
calls after ``--warmup``, wall and CPU percentiles in ms; ``--profile N`` then prints the
cProfile of N more calls (own time first). Only APIs present before issue 18 are used.

    cd <worktree> && PYTHONPATH=$PWD python /path/to/experiments/noloss_feed_policy.py \\
        --model-dir /tmp/feed-model --policy mmr [--employee nobody] [--profile 500]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import pstats
import time
from pathlib import Path

import numpy as np

K = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--policy", choices=("plain", "caps", "mmr"), default="mmr")
    parser.add_argument("--employee", default="emp00119", help="'nobody': the cold path")
    parser.add_argument("--repeats", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", type=int, default=0, help="calls under cProfile (0: none)")
    args = parser.parse_args()

    # the codebase on PYTHONPATH is the one measured, bench_feed.py included
    import training
    from features.data.synthetic import OrgConfig, generate
    from features.feed_catalogue import build_feed_data
    from features.snapshot import Snapshot
    from recsys.feed import FeedRanker
    from recsys.models import Hybrid

    root = Path(training.__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("bench_feed", root / "experiments/bench_feed.py")
    assert spec is not None and spec.loader is not None
    bench_feed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_feed)

    config = OrgConfig(employees=2000, content=10_000, days=30, seed=0)
    tables = generate(config).tables
    as_of = float(config.end_s)
    model = Hybrid.load(args.model_dir)
    data = build_feed_data(Snapshot.from_frames(config.end, **tables), model.items_)
    policy = bench_feed.POLICIES[args.policy]
    ranker = FeedRanker(model, data.catalogue, data.audience, policy, data.titles)

    def call() -> object:
        return ranker.feed(args.employee, K, as_of=as_of)

    for _ in range(args.warmup):
        call()
    wall, cpu = [], []
    for _ in range(args.repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    out = {"code": str(root), "policy": args.policy, "employee": args.employee}
    for name, samples in (("wall", wall), ("cpu", cpu)):
        ms = np.asarray(samples) * 1000
        out |= {f"{name}_p{q}": round(float(np.percentile(ms, q)), 3) for q in (50, 95)}
    print(json.dumps(out))
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.profile):
            call()
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(18)
        print(text.getvalue())


if __name__ == "__main__":
    main()
