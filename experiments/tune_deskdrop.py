"""Tune ``hybrid`` for DeskDrop on the validation window only (never the test window).

The validation window is the :data:`~training.evaluation.deskdrop.VALIDATION_DAYS` before the
test split (split 2016-11-01: fit on events before 2016-10-01, score October's pairs with the
replay protocol). Events at or after the split are dropped before anything is built. Each
configuration in the grid (half-lives in days of the hybrid's trend components; None leaves
the component out) is fitted and replayed; prints one JSON document, best first, each
configuration as the hybrid's nested parameters::

    python experiments/tune_deskdrop.py [--split-at 2016-11-01] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.models import make_recommender  # noqa: E402
from training.evaluation.deskdrop import (  # noqa: E402
    VALIDATION_DAYS,
    deskdrop_benchmark,
    deskdrop_validation_window,
)
from training.evaluation.protocols import read_deskdrop_events  # noqa: E402

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))

#: Component -> half-lives (days) tried; None leaves the component out.
GRID: dict[str, list[float | None]] = {
    "colleague_trend": [None, 0.25, 1.0, 4.0],
    "global_trend_short": [1 / 24, 0.25],
    "global_trend_long": [2.0],
}
QUICK: dict[str, list[float | None]] = {
    "colleague_trend": [None, 1.0],
    "global_trend_short": [0.25],
}


def hybrid_params(half_lives: dict[str, float | None]) -> dict[str, object]:
    """Nested hybrid parameters of one grid point: ``<component>__half_life_days``, or
    ``<component>=None`` to leave it out."""
    return {
        name if days is None else f"{name}__half_life_days": days
        for name, days in half_lives.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split-at", default="2016-11-01")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    events = read_deskdrop_events(SHARED / "deskdrop")
    start, end = deskdrop_validation_window(args.split_at, VALIDATION_DAYS)
    events = events[events["timestamp"] < end]
    grid = GRID | QUICK if args.quick else GRID
    names = list(grid)
    rows = []
    started = time.perf_counter()
    for values in itertools.product(*grid.values()):
        params = hybrid_params(dict(zip(names, values, strict=True)))
        factory = functools.partial(make_recommender, "hybrid", params)
        result = deskdrop_benchmark(
            events, {"hybrid": factory}, split_at=start, until=end, tune=False
        )
        entry = result["models"]["hybrid"]
        rows.append({"params": params, "ndcg@10": entry["ndcg@10"], "mrr": entry["mrr"]})
        print(json.dumps(rows[-1]), file=sys.stderr)
    rows.sort(key=lambda r: -r["ndcg@10"])
    window = {"validation_start": start, "validation_end": end}
    out = {"window": window, "results": rows, "seconds": round(time.perf_counter() - started)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
