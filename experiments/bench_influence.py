"""Benchmark: the micro-influencer scorer's quality and speed. Prints one JSON document.

Quality (model vs the ``leaderboard`` and ``followers`` baselines):
- ``synthetic-influencers``: precision@k / recall@k / AUC against the planted truth
  (``training.evaluation.influence.run_synthetic_influencers``, several seeds);
- ``peerindex``: pairwise AUC on a held-out 25% and with 5-fold cross-validation (skipped when
  the shared data folder is absent);
- ``backtest``: next-period top-decile labels on a generated organisation
  (``training.influence_job.evaluate_influence``), with the calibration report.
Speed: per organisation size, the seconds of each stage (features as of T, labels, fit with
its windows, scoring every advocate with reasons, the candidate list) and the process's peak
RSS after it (cumulative: ``ru_maxrss`` never goes down).

    OPENBLAS_NUM_THREADS=1 python experiments/bench_influence.py --sizes 2000,20000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd

from features.data.synthetic import OrgConfig, generate
from features.influence_labels import influence_labels
from features.snapshot import Snapshot
from recsys.influence import InfluenceScorer, apply_reviews
from training.evaluation.influence import run_peerindex, run_synthetic_influencers
from training.influence_job import build_features, evaluate_influence, fit_influence

T = TypeVar("T")
SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", Path(__file__).parents[2] / "shared/data"))


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _timed(stages: dict, name: str, work: Callable[[], T]) -> T:
    started = time.perf_counter()
    value = work()
    stages[name] = {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mb": _peak_mb()}
    return value


def speed(employees: int, interactions: float) -> dict:
    stages: dict[str, dict] = {}
    config = OrgConfig(
        employees=employees,
        content=max(100, employees // 5),
        days=180,
        interactions_per_employee=interactions,
    )
    org = _timed(stages, "generate", lambda: generate(config))
    snapshot = Snapshot.from_frames(config.end, **org.tables)
    start = config.end - pd.Timedelta(days=30)
    features = _timed(stages, "features_as_of_T", lambda: build_features(snapshot.cut(start)))
    ids = list(features.ids.external)
    _timed(stages, "labels", lambda: influence_labels(snapshot, start, config.end, ids=ids))
    scorer = _timed(stages, "fit_influence (3 windows)", lambda: fit_influence(snapshot))
    now = _timed(stages, "features_as_of_now", lambda: build_features(snapshot))
    candidates = _timed(stages, "score_with_reasons", lambda: scorer.score(now))
    _timed(
        stages,
        "list (reviews, sort)",
        lambda: sorted(apply_reviews(candidates, {}), key=lambda c: (not c.flagged, -c.score)),
    )
    with tempfile.TemporaryDirectory() as folder:
        _timed(stages, "save", lambda: scorer.save(folder))
        _timed(stages, "load", lambda: InfluenceScorer.load(folder))
    return {
        "employees": employees,
        "interactions": len(org.tables["interactions"]),
        "share_outcomes": len(org.tables["share_outcomes"]),
        "advocates_scored": len(candidates),
        "training_rows": scorer.training_["rows"],
        "stages": stages,
    }


def quality(seeds: list[int]) -> dict:
    synthetic = {}
    for seed in seeds:
        result = run_synthetic_influencers(seed=seed)
        synthetic[str(seed)] = {
            "k": result["protocol"]["k"],
            "models": {n: _metrics(m) for n, m in result["models"].items()},
            "fairness_min_max_ratio": {
                d: r["min_max_ratio"] for d, r in result["fairness"]["dimensions"].items()
            },
        }
    out: dict[str, object] = {"synthetic-influencers": synthetic}
    pairs = SHARED / "peerindex" / "train_public.csv"
    if pairs.is_file():
        out["peerindex"] = {
            "held_out_25": _models(run_peerindex(pairs)),
            "cv_5_fold": _models(run_peerindex(pairs, folds=5)),
        }
    config = OrgConfig(interactions_per_employee=200)
    org = generate(config)
    backtest = evaluate_influence(Snapshot.from_frames(config.end, **org.tables))
    out["backtest"] = {
        "protocol": {k: backtest["protocol"][k] for k in ("k", "labelled", "positives")},
        "models": _models(backtest),
        "calibration": backtest["models"]["influence"]["calibration"],
    }
    return out


def _metrics(entry: dict) -> dict:
    keys = ("auc", "precision@k", "recall@k", "flagged", "flagged_precision")
    return {k: entry[k] for k in keys if k in entry}


def _models(result: dict) -> dict:
    return {name: _metrics(entry) for name, entry in result["models"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000", help="Organisation sizes (employees).")
    parser.add_argument("--interactions-per-employee", type=float, default=50.0)
    parser.add_argument("--seeds", default="0,1,2,3", help="Seeds of synthetic-influencers.")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    report: dict[str, object] = {}
    if not args.skip_quality:
        report["quality"] = quality([int(s) for s in args.seeds.split(",")])
    sizes = [int(s) for s in args.sizes.split(",") if s]
    report["speed"] = [speed(n, args.interactions_per_employee) for n in sizes]
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
