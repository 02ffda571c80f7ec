"""Benchmark: latency of the ranked feed (``FeedRanker``) over a large eligible catalogue.

A synthetic organisation (default 2,000 employees / 10,000 content, 30 days, ~100k events) is
turned into a Dataset with department one-hot profiles, publication times and 384-d content
vectors; a :class:`~recsys.models.Hybrid` (every component: taste, affinity, two global
trends, department trend, freshness) is fitted, and the feed inputs are built with
:func:`features.feed_catalogue.build_feed_data`. Then, after warm-up:

- ``feed``: ``FeedRanker.feed`` for ONE known employee (the one with the most eligible items),
  ``k=20``, p50/p95/p99 ms over ``--repeats`` calls, for the policies ``plain`` (no
  diversity), ``caps`` (2 per topic, 4 per type) and ``mmr`` (lambda 0.7); plus an unknown
  employee (cold path, organisation-wide content) with caps;
- ``feeds``: ``FeedRanker.feeds`` for ``--batch`` employees in one call (seconds);
- ``similar``: ``FeedRanker.similar`` p50/p99 ms;
- ``build``: seconds to fit the model and to build the feed data (the catalogue refresh).

Content vectors: ``--embeddings random`` (default: seeded unit vectors of the encoder's 384
dimensions, same cost per request as real ones; fast to set up) or ``encoder`` (the real
all-MiniLM-L6-v2 on title + body; minutes on a small CPU).

Timings are noisy on shared machines: ``loadavg`` is recorded before and after.

    python experiments/bench_feed.py [--employees 2000] [--content 10000] [--repeats 300]
        [--model-dir /tmp/feed-model]   # fit once, reuse on later runs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.data.synthetic import OrgConfig, generate  # noqa: E402
from features.feed_catalogue import build_feed_data  # noqa: E402
from features.snapshot import Snapshot  # noqa: E402
from recsys.dataset import Dataset  # noqa: E402
from recsys.feed import FeedRanker  # noqa: E402
from recsys.ids import IdMap  # noqa: E402
from recsys.matrix import FeatureMatrix  # noqa: E402
from recsys.models import Hybrid  # noqa: E402
from recsys.models.hybrid import upgrade_params  # noqa: E402
from recsys.policy import PolicyConfig  # noqa: E402

K = 20
DIMENSIONS = 384
POLICIES = {
    "plain": PolicyConfig(),
    "caps": PolicyConfig(max_per_topic=2, max_per_type=4),
    "mmr": PolicyConfig(use_mmr=True, mmr_lambda=0.7),
}


def _seconds(column: pd.Series) -> np.ndarray:
    return column.dt.tz_convert(None).to_numpy().astype("datetime64[s]").astype(np.int64)


def _vectors(content: pd.DataFrame, kind: str) -> np.ndarray:
    if kind == "encoder":
        from features.encoder import SentenceTransformerEncoder

        texts = (content["title"].fillna("") + ". " + content["body"].fillna("")).tolist()
        return np.asarray(SentenceTransformerEncoder().encode(texts), np.float64)
    vectors = np.random.default_rng(0).normal(size=(len(content), DIMENSIONS))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def dataset(tables: dict[str, pd.DataFrame], embeddings: str) -> Dataset:
    content, advocates, events = tables["content"], tables["advocates"], tables["interactions"]
    items = IdMap.from_ids(content["content_id"].tolist(), "content")
    people = IdMap.from_ids(advocates["employee_id"].tolist(), "employee")
    names = sorted(advocates["department"].dropna().unique())
    codes = pd.Categorical(advocates["department"], names).codes
    rows = np.flatnonzero(codes >= 0)
    one_hot = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, codes[rows])), shape=(len(people), len(names))
    )
    emb = FeatureMatrix(
        _vectors(content, embeddings), tuple(f"emb_{j}" for j in range(DIMENSIONS)), items
    )
    return Dataset.from_events(
        events["employee_id"].tolist(),
        events["content_id"].tolist(),
        times=_seconds(events["timestamp"]),
        users=people,
        items=items,
        user_features=FeatureMatrix(one_hot, tuple(f"department={d}" for d in names), people),
        item_features=emb,
        item_times=_seconds(content["published_at"]),
    )


def _percentiles(samples: list[float], prefix: str = "") -> dict[str, float]:
    ms = np.asarray(samples) * 1000
    return {f"{prefix}p{q}": round(float(np.percentile(ms, q)), 3) for q in (50, 95, 99)}


def _timed(call, repeats: int, warmup: int = 10) -> dict[str, float]:
    """Wall-clock ms percentiles, and the same in this process's CPU time (``cpu_*``: less
    sensitive to other processes on a shared machine)."""
    for _ in range(warmup):
        call()
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return _percentiles(wall) | _percentiles(cpu, "cpu_")


def _busiest(feeds: FeedRanker, employees: list[str], as_of: float) -> tuple[str, int]:
    """The known employee (of the first 300) with the most eligible items."""
    best, count = employees[0], -1
    for employee_id in employees[:300]:
        n = len(feeds.eligible(employee_id, as_of=as_of))
        if employee_id in feeds.model.users_ and n > count:
            best, count = employee_id, n
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--content", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--embeddings", choices=("random", "encoder"), default="random")
    parser.add_argument(
        "--hybrid",
        type=json.loads,
        default={},
        help="Hybrid parameters as JSON, nested names, e.g. '{\"ease\": null}' (default: the "
        "defaults; flat names of hybrids before the component redesign are upgraded)",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="load the fitted model from this folder if it holds one, else save it there "
        "(same organisation settings only)",
    )
    args = parser.parse_args()
    out: dict = {"loadavg_before": [round(x, 2) for x in os.getloadavg()], "k": K}
    config = OrgConfig(employees=args.employees, content=args.content, days=args.days, seed=0)
    tables = generate(config).tables
    as_of = float(config.end_s)
    started = time.perf_counter()
    data = dataset(tables, args.embeddings)
    loaded = bool(args.model_dir and (args.model_dir / "manifest.json").exists())
    params = {"taste__epochs": args.epochs, **upgrade_params(args.hybrid)}
    if loaded:
        model = Hybrid.load(args.model_dir)
    else:
        model = Hybrid().set_params(**params).fit(data)
        if args.model_dir:
            model.save(args.model_dir)
    fitted = time.perf_counter()
    feed_data = build_feed_data(Snapshot.from_frames(config.end, **tables), model.items_)
    built = time.perf_counter()
    out["build"] = {
        "employees": len(data.users),
        "content": len(data.items),
        "events": len(data.interactions),
        "hybrid_params": params,
        "components": [str(n) for n in model.component_names_],
        "fit_seconds": round(fitted - started, 2),
        "model_loaded": loaded,
        "feed_data_seconds": round(built - fitted, 3),
    }
    employees = [str(e) for e in tables["advocates"]["employee_id"]]
    feeds = {
        name: FeedRanker(model, feed_data.catalogue, feed_data.audience, policy, feed_data.titles)
        for name, policy in POLICIES.items()
    }
    who, eligible = _busiest(feeds["plain"], employees, as_of)
    out["feed"] = {"employee": who, "eligible_items": eligible}
    for name, ranker in feeds.items():
        out["feed"][name] = _timed(lambda r=ranker: r.feed(who, K, as_of=as_of), args.repeats)
    cold = feeds["caps"]
    out["feed"]["cold_caps"] = _timed(lambda: cold.feed("nobody", K, as_of=as_of), args.repeats)
    out["feeds"] = {}
    for name in ("plain", "caps"):
        started, started_cpu = time.perf_counter(), time.process_time()
        batch = feeds[name].feeds(employees[: args.batch], K, as_of=as_of)
        out["feeds"][name] = {
            "employees": len(batch),
            "seconds": round(time.perf_counter() - started, 3),
            "cpu_seconds": round(time.process_time() - started_cpu, 3),
        }
    first = batch[0].items[0].content_id
    out["similar"] = _timed(lambda: cold.similar(first, K, as_of=as_of), args.repeats)
    out["example"] = [
        {"content_id": i.content_id, "title": i.title, "reasons": [r.text for r in i.reasons]}
        for i in feeds["caps"].feed(who, 5, as_of=as_of).items
    ]
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
