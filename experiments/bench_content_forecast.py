"""Benchmark: the content performance forecast from a store (issue 16): what ``advocacy
train``'s content stage and a forecast of the newest items cost on a large organisation.

A synthetic organisation (default: the issue's 100k employees, 20k content, 50 events per
employee over 180 days, ~5M events) is generated and imported into a SQLite store in
``--workdir`` (reused when there). Then, in this process, each stage timed:

1. ``snapshot``: the store loaded as of the organisation's end (what ``advocacy train`` reads);
2. ``evaluate``: the held-out evaluation of ``advocacy train`` (inputs of the training and
   held-out items, the text embeddings of every item, encoded with the real encoder on the
   first run and read from the store's cache after, the model and both baselines);
3. ``fit``: the shipped forecaster on every usable item;
4. ``forecast``: the newest ``--newest`` items (drafts first), as ``/content_forecast`` does.

Prints one JSON document with the held-out Spearman of each model, the seconds per stage,
whether the embeddings were cached, and this process's peak resident memory.

    python experiments/bench_content_forecast.py --workdir /tmp/content100k [--employees N]
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

from features.content_forecaster import newest_items  # noqa: E402
from features.data.reader import StoreReader  # noqa: E402
from features.data.store import Store  # noqa: E402
from features.snapshot import Snapshot  # noqa: E402
from training.config import ContentForecastConfig  # noqa: E402
from training.content_forecast_job import (  # noqa: E402
    evaluate_content_forecast,
    fit_content_forecast,
)

END = datetime(2026, 11, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--newest", type=int, default=100, help="Items forecast at the end.")
    add_organisation_options(parser, LARGE)
    args = parser.parse_args()
    report: dict[str, object] = {"benchmark": "content-forecast-store", "settings": vars(args)}
    seconds: dict[str, float] = {}
    cached = (args.workdir / "store.db").is_file()
    store = Store.open(imported_store(args, args.workdir, END, seconds))
    settings = ContentForecastConfig()

    clock = time.perf_counter()
    snapshot = Snapshot.load(StoreReader(store), END)
    seconds["snapshot"] = time.perf_counter() - clock
    clock = time.perf_counter()
    evaluation = evaluate_content_forecast(snapshot, settings, store=store)
    seconds["evaluate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    forecaster = fit_content_forecast(snapshot, settings, store=store)
    seconds["fit"] = time.perf_counter() - clock
    del snapshot
    ids = newest_items(store, as_of=END, days=7.0, limit=args.newest)
    clock = time.perf_counter()
    outlooks = forecaster.forecast(store, ids, as_of=END)
    seconds["forecast"] = time.perf_counter() - clock
    store.dispose()
    report |= {
        "store_reused": cached,
        "items_used": forecaster.training["items"],
        "training_items": evaluation["protocol"]["training_items"],
        "held_out_items": evaluation["protocol"]["held_out_items"],
        "spearman": {
            name: round(entry["spearman"], 4)
            for name, entry in evaluation["models"].items()
            if entry.get("spearman") is not None
        },
        "forecast_items": len(outlooks),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
