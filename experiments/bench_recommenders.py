"""Benchmark: every registered recommender on the three offline benchmarks.

MovieLens-100K (MS Recommenders' protocol), MovieLens-100K cold items (per-user AUC) and the
DeskDrop time-ordered replay after 2016-11-01, all from ../shared/data (or
$ADVOCACY_SHARED_DATA). Models that cannot fit a benchmark's data (e.g. needing content
embeddings) are listed under ``protocol.skipped_models``. Prints one JSON document::

    python experiments/bench_recommenders.py [--models popular,recent_popular]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.evaluation.runner import BENCHMARKS, model_factories, run_benchmark  # noqa: E402

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated names (default: every model)")
    parser.add_argument("--split-at", default="2016-11-01", help="DeskDrop split (UTC date)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"shared data not found at {SHARED}: set ADVOCACY_SHARED_DATA")
    models = None if args.models is None else model_factories(args.models.split(","))
    started = time.perf_counter()
    results = [
        run_benchmark(name, SHARED, models, split_at=args.split_at if "deskdrop" in name else None)
        for name in BENCHMARKS
    ]
    print(
        json.dumps(
            {"benchmarks": results, "seconds": round(time.perf_counter() - started, 1)}, indent=2
        )
    )


if __name__ == "__main__":
    main()
