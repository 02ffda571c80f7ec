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
4. ``forecast``: the newest ``--newest`` items (drafts first), as ``/content_forecast`` does,
   reading the store's past for the request; then ``forecast_kept_first``, ``_again``,
   ``draft_kept`` and ``forecast_kept_next_hour`` with those reads kept as the service keeps
   them (:class:`~features.content_reads.ContentReads`), and ``forecast_next_hour`` without.

Prints one JSON document with the held-out Spearman of each model, the seconds per stage,
whether the kept reads gave the same forecasts, and this process's peak resident memory.
``--reuse`` loads the forecaster an earlier run saved in the work folder (no snapshot, no fit).

    python experiments/bench_content_forecast.py --workdir /tmp/content100k [--employees N]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from organisation import LARGE, add_organisation_options, imported_store  # noqa: E402

from features.content_forecaster import (  # noqa: E402
    ContentForecaster,
    draft_row,
    newest_items,
)
from features.content_performance import content_table  # noqa: E402
from features.content_reads import ContentReads  # noqa: E402
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
    parser.add_argument(
        "--skip-evaluate", action="store_true", help="Leave out the held-out evaluation."
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Load the forecaster saved in WORKDIR/forecaster by an earlier run (no fit).",
    )
    add_organisation_options(parser, LARGE)
    args = parser.parse_args()
    report: dict[str, object] = {"benchmark": "content-forecast-store", "settings": vars(args)}
    seconds: dict[str, float] = {}
    cached = (args.workdir / "store.db").is_file()
    store = Store.open(imported_store(args, args.workdir, END, seconds))
    saved = args.workdir / "forecaster"
    if args.reuse:
        forecaster = ContentForecaster.load(saved)
    else:
        forecaster = fitted(store, args.skip_evaluate, saved, seconds, report)
    same = served(store, forecaster, args.newest, seconds)
    store.dispose()
    report |= {
        "store_reused": cached,
        "items_used": forecaster.training["items"],
        "kept_reads_give_the_same_forecasts": same,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=2, default=str))


def fitted(
    store: Store,
    skip_evaluate: bool,
    folder: Path,
    seconds: dict[str, float],
    report: dict[str, object],
) -> ContentForecaster:
    """``advocacy train``'s stages: the snapshot, the held-out evaluation (unless skipped),
    the shipped fit (saved in ``folder``)."""
    settings = ContentForecastConfig()
    clock = time.perf_counter()
    snapshot = Snapshot.load(StoreReader(store), END)
    seconds["snapshot"] = time.perf_counter() - clock
    if not skip_evaluate:
        clock = time.perf_counter()
        evaluation = evaluate_content_forecast(snapshot, settings, store=store)
        seconds["evaluate"] = time.perf_counter() - clock
        report |= {
            "training_items": evaluation["protocol"]["training_items"],
            "held_out_items": evaluation["protocol"]["held_out_items"],
            "spearman": {
                name: round(entry["spearman"], 4)
                for name, entry in evaluation["models"].items()
                if entry.get("spearman") is not None
            },
        }
    clock = time.perf_counter()
    forecaster = fit_content_forecast(snapshot, settings, store=store)
    seconds["fit"] = time.perf_counter() - clock
    forecaster.save(folder)
    return forecaster


def served(
    store: Store, forecaster: ContentForecaster, newest: int, seconds: dict[str, float]
) -> bool:
    """Forecasts of the newest items as ``/content_forecast`` makes them: ``forecast`` reads
    the store's past for the request; then with the reads kept as the service keeps them
    (:class:`~features.content_reads.ContentReads`, an hour): the first request, the same
    request again, a draft, and the list an hour later. Whether the kept reads gave the
    same forecasts as the fresh ones."""
    content = content_table(store)
    ids = newest_items(store, as_of=END, days=7.0, limit=newest, content=content)
    seconds["forecast_items"] = len(ids)
    reads = ContentReads(ttl=3600.0)
    later = END + timedelta(hours=1)
    draft = draft_row(
        title="Our new product line", content_type="product", published_at=later, topics=["ai"]
    )
    runs = {
        "forecast": lambda: forecaster.forecast(store, ids, as_of=END),
        "forecast_kept_first": lambda: forecaster.forecast(store, ids, as_of=END, reads=reads),
        "forecast_kept_again": lambda: forecaster.forecast(store, ids, as_of=END, reads=reads),
        "draft_kept": lambda: forecaster.forecast_frame(store, draft, as_of=END, reads=reads),
        "forecast_kept_next_hour": lambda: forecaster.forecast(
            store, ids, as_of=later, reads=reads
        ),
        "forecast_next_hour": lambda: forecaster.forecast(store, ids, as_of=later),
    }
    answers = {}
    for name, run in runs.items():
        clock = time.perf_counter()
        answers[name] = [o.to_dict() for o in run()]
        seconds[name] = time.perf_counter() - clock
    return (
        answers["forecast"] == answers["forecast_kept_first"] == answers["forecast_kept_again"]
        and answers["forecast_next_hour"] == answers["forecast_kept_next_hour"]
    )


if __name__ == "__main__":
    main()
