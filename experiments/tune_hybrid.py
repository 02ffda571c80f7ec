"""Tune ``hybrid`` on validation data carved from the MovieLens-100K TRAIN split only.

The benchmark's train split (MS Recommenders protocol, seed 42) is split again, per user and
at random (80/20, seed 7, :func:`~training.evaluation.protocols.stratified_split` with
``filter_by="user"``); models are fitted on the 80% and scored (ndcg@10 / map@10, seen items
excluded, recommendations among every train item) on the 20%. The test split is never read
here. Prints one JSON document::

    python experiments/tune_hybrid.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.metrics import mean_over_users, ranking_metrics_per_user  # noqa: E402
from recsys.models.hybrid import Hybrid  # noqa: E402
from recsys.models.lightfm_hybrid import LightFMHybrid  # noqa: E402
from training.evaluation.movielens import movielens_item_features, ratings_dataset  # noqa: E402
from training.evaluation.protocols import movielens_100k, stratified_split  # noqa: E402

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))
K = 10


def evaluate(model, fit_rows, valid, features) -> dict[str, float]:
    dataset = ratings_dataset(fit_rows, features)
    clock = time.perf_counter()
    model.fit(dataset)
    fit_seconds = time.perf_counter() - clock
    users = np.sort(valid["user_id"].unique()).astype(str)
    recommended, _ = model.recommend(
        list(users), K, as_of=float(fit_rows["timestamp"].max()), exclude_seen=True
    )
    truth = valid.groupby("user_id")["item_id"].apply(lambda s: set(s.astype(str)))
    codes = {}
    recs = np.full((len(users), K), -1, np.int64)
    relevant = []
    for row, (user, ids) in enumerate(zip(users, recommended, strict=True)):
        for col, item in enumerate(ids):
            recs[row, col] = codes.setdefault(str(item), len(codes))
        relevant.append(
            np.asarray([codes.setdefault(i, len(codes)) for i in truth.loc[int(user)]], np.int64)
        )
    per_user = ranking_metrics_per_user(recs, relevant, K)
    return {
        "ndcg@10": round(mean_over_users(per_user["ndcg"]), 4),
        "map@10": round(mean_over_users(per_user["map_n_relevant"]), 4),
        "fit_seconds": round(fit_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller grid")
    args = parser.parse_args()
    path = SHARED / "movielens-100k"
    train, _ = movielens_100k(path)  # the benchmark's train split; its test is not used
    fit_rows, valid = stratified_split(train, 0.8, 7, filter_by="user")
    valid = valid[valid["item_id"].isin(set(fit_rows["item_id"]))]
    features = movielens_item_features(path)
    results = []

    def run(label: str, model) -> None:
        entry = {"model": label, **evaluate(model, fit_rows, valid, features)}
        results.append(entry)
        print(json.dumps(entry), file=sys.stderr, flush=True)

    # 1. taste (LightFM) parameters, on the inner model alone: a coordinate search around
    #    the defaults (64 components, 30 epochs, lr 0.05, no regularisation), then the
    #    combinations of the larger settings
    base = {"no_components": 64, "epochs": 30, "learning_rate": 0.05, "alpha": 0.0}
    variants = [
        {},
        {"alpha": 1e-6},
        {"alpha": 1e-5},
        {"alpha": 1e-4},
        {"no_components": 128},
        {"epochs": 60},
        {"learning_rate": 0.02},
        {"learning_rate": 0.02, "epochs": 60},
        {"no_components": 128, "epochs": 60},
        {"no_components": 128, "epochs": 60, "learning_rate": 0.02},
        {"no_components": 128, "epochs": 60, "learning_rate": 0.02, "alpha": 1e-5},
    ]
    if args.quick:
        variants = variants[:2]
    for variant in variants:
        chosen = base | variant
        params = {
            "no_components": chosen["no_components"],
            "epochs": chosen["epochs"],
            "learning_rate": chosen["learning_rate"],
            "item_alpha": chosen["alpha"],
            "user_alpha": chosen["alpha"],
            "loss": "warp",
        }
        run(f"lightfm_hybrid {json.dumps(params)}", LightFMHybrid(**params))
    best = max(
        (r for r in results if r["model"].startswith("lightfm_hybrid")), key=lambda r: r["ndcg@10"]
    )
    taste = json.loads(best["model"].split(" ", 1)[1])
    # 2. the second stage on top of the best taste parameters
    for stage, negatives, c in itertools.product(["random", "time"], [20], [1.0, 0.01]):
        params = dict(taste, second_stage=stage, negatives=negatives, C=c)
        run(f"hybrid {json.dumps(params)}", Hybrid(**params))
    print(
        json.dumps(
            {
                "protocol": "train of movielens_100k(seed 42) -> per-user random 80/20 (seed 7)",
                "fit_rows": len(fit_rows),
                "valid_rows": len(valid),
                "best_taste": taste,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
