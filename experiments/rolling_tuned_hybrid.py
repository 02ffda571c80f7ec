"""The hybrid on DeskDrop's monthly origins with its short trend's half-life chosen per origin.

For each origin (month starts 2016-06-01 .. 2016-12-01): the hybrid's
``global_trend_short__half_life_days`` is chosen from :data:`GRID` by nDCG@10 on the
validation days before the origin (fit before them, replay them; nothing at or after the
origin is read), then the chosen hybrid is fitted before the origin and replayed on its month.
Prints one JSON line per origin (choice, validation grid, test nDCG@10)::

    python experiments/rolling_tuned_hybrid.py [--from 2016-06-01] [--to 2016-12-01]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.models import Hybrid  # noqa: E402
from training.evaluation.deskdrop import (  # noqa: E402
    VALIDATION_DAYS,
    deskdrop_benchmark,
    deskdrop_validation_window,
)
from training.evaluation.protocols import read_deskdrop_events  # noqa: E402
from training.evaluation.rolling import origin_windows, rolling_origins, utc_key  # noqa: E402

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))
PARAMETER = "global_trend_short__half_life_days"
#: Half-lives in days: 30 min (recent_popular's choice before June-September) and 1 h (default).
GRID = (0.5 / 24, 1 / 24)


def hybrid(value: float):
    return lambda: Hybrid().set_params(**{PARAMETER: value})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", default="2016-06-01")
    parser.add_argument("--to", dest="end", default="2016-12-01")
    args = parser.parse_args()
    events = read_deskdrop_events(SHARED / "deskdrop")
    for start, end in origin_windows(rolling_origins(args.start, args.end)):
        low, high = deskdrop_validation_window(start, VALIDATION_DAYS)
        before = events[events["timestamp"] < high]
        grid = {f"{v:.6f}": hybrid(v) for v in GRID}
        validation = deskdrop_benchmark(before, grid, split_at=low, until=high, tune=False)
        scores = {k: e["ndcg@10"] for k, e in validation["models"].items()}
        chosen = GRID[max(range(len(GRID)), key=lambda j: (list(scores.values())[j], -j))]
        test = deskdrop_benchmark(
            events, {"hybrid": hybrid(chosen)}, split_at=start, until=end, tune=False
        )
        entry = test["models"]["hybrid"]
        print(
            json.dumps(
                {
                    "origin": utc_key(start),
                    "chosen": chosen,
                    "validation": scores,
                    "ndcg@10": entry["ndcg@10"],
                    "hr@10": entry["hr@10"],
                    "mrr": entry["mrr"],
                    "test_pairs": entry["slices"]["all"]["n"],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
