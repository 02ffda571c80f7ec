"""Tune ``hybrid`` for MovieLens-100K on validation data carved from TRAINING data only.

Warm (``movielens-100k``): the benchmark's train split (MS Recommenders protocol, seed 42) is
split again per user at random (80/20, seed 7, :func:`~training.evaluation.protocols.
stratified_split` with ``filter_by="user"``); models fit on the 80% and are scored (ndcg@10 /
map@10, seen items excluded, among every train item) on the 20%.

Cold (``movielens-100k-cold``): the cold benchmark's training ratings (its held-out items are
never read) lose 20% of their items again (seed 7); models fit on the rest and the per-user
AUC over those validation-cold items is measured, as the benchmark does.

Each configuration overrides the MovieLens base config of the benchmark
(:data:`training.evaluation.movielens.CONFIGS`) with the hybrid's nested parameters
(``Hybrid().set_params(**params)``: ``<component>__<setting>``, a component to swap it in,
None to leave it out). ``--variants`` takes a JSON list of them instead of
:data:`VARIANTS` (a component as ``{"component": name, "params": {...}}``, extra components as
``"extra_components": [[name, {...}], ...]``); ``--parts warm`` or ``cold`` runs one side.
Prints one JSON document::

    python experiments/tune_hybrid.py [--quick] [--variants JSON] [--parts warm,cold]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.ids import IdMap  # noqa: E402
from recsys.matrix import FeatureMatrix  # noqa: E402
from recsys.metrics import auc, mean_over_users, ranking_metrics_per_user  # noqa: E402
from recsys.models import make_recommender  # noqa: E402
from recsys.models.component import COMPONENTS  # noqa: E402
from recsys.models.content import GenreAffinity  # noqa: E402
from recsys.models.ease import ItemPrior, TreePrior  # noqa: E402
from recsys.models.trends import ColleagueTrend  # noqa: E402
from training.evaluation.movielens import (  # noqa: E402
    CONFIGS,
    movielens_item_features,
    ratings_dataset,
)
from training.evaluation.protocols import (  # noqa: E402
    movielens_100k,
    movielens_cold_items,
    stratified_split,
)

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))
K = 10

VARIANTS: list[dict[str, object]] = [
    {},
    {"affinity__centre": False},
    {"negatives": 20},  # the default (issue 18 chose 100)
    {"extra_components": (TreePrior(),)},  # without the genre affinity
    {"item_prior": ItemPrior(), "extra_components": (GenreAffinity(),)},  # the ridge prior
    # the base config leaves the colleague trend out: put one back (half-life 6 h)
    {"colleague_trend": ColleagueTrend(), "colleague_trend__half_life_days": 0.25},
    {"ease": None},
    {"C": 0.01},
]


def evaluate_warm(model, fit_rows, valid, features) -> dict[str, float]:
    dataset = ratings_dataset(fit_rows, features)
    clock = time.perf_counter()
    model.fit(dataset)
    fit_seconds = time.perf_counter() - clock
    users = np.sort(valid["user_id"].unique()).astype(str)
    recommended, _ = model.recommend(
        list(users), K, as_of=float(fit_rows["timestamp"].max()), exclude_seen=True
    )
    truth = valid.groupby("user_id")["item_id"].apply(lambda s: set(s.astype(str)))
    codes: dict[str, int] = {}
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


def cold_validation(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The cold benchmark's train, with 20% of its items held out again (seed 7)."""
    train, _, _ = movielens_cold_items(path)
    items = np.sort(train["item_id"].unique())
    cold = np.sort(np.random.default_rng(7).choice(items, round(0.2 * len(items)), False))
    is_cold = train["item_id"].isin(cold).to_numpy()
    fit_rows, valid = train[~is_cold], train[is_cold]
    valid = valid[valid["user_id"].isin(fit_rows["user_id"].unique())]
    return fit_rows, valid, [str(i) for i in cold]


def evaluate_cold(model, fit_rows, valid, cold_ids, features) -> dict[str, float]:
    model.fit(ratings_dataset(fit_rows, features))
    cold_features = FeatureMatrix(
        features.rows(cold_ids), features.names, IdMap.from_ids(cold_ids, "content")
    )
    model.add_items(cold_ids, cold_features)
    users = np.sort(valid["user_id"].unique()).astype(str)
    ids, scores = model.recommend(
        list(users),
        len(cold_ids),
        candidates=cold_ids,
        as_of=float(fit_rows["timestamp"].max()),
        exclude_seen=False,
    )
    position = {c: j for j, c in enumerate(cold_ids)}
    matrix = np.full((len(users), len(cold_ids)), -np.inf)
    for row, (row_ids, row_scores) in enumerate(zip(ids, scores, strict=True)):
        matrix[row, [position[str(i)] for i in row_ids]] = row_scores
    truth = valid.groupby("user_id")["item_id"].apply(
        lambda s: np.asarray([position[str(i)] for i in s], np.int64)
    )
    return {"auc": round(mean_over_users(auc(matrix, [truth.loc[int(u)] for u in users])), 4)}


def parse_variant(variant: dict[str, object]) -> dict[str, object]:
    """A JSON variant as hybrid parameters: ``"extra_components": [[name, {params}], ...]``
    becomes registered components built from their parameters, and so does a value
    ``{"component": name, "params": {...}}`` (a component swapped in)."""
    out = {
        k: COMPONENTS[v["component"]](**v.get("params", {}))
        if isinstance(v, dict) and "component" in v
        else v
        for k, v in variant.items()
    }
    extra = out.pop("extra_components", None)
    if extra is not None:
        out["extra_components"] = tuple(COMPONENTS[n](**p) for n, p in extra)  # type: ignore[attr-defined]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first two variants only")
    parser.add_argument("--variants", help="a JSON list of variants instead of VARIANTS")
    parser.add_argument("--parts", default="warm,cold", help="warm, cold or both")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    path = SHARED / "movielens-100k"
    train, _ = movielens_100k(path)  # the benchmark's train split; its test is not used
    fit_rows, valid = stratified_split(train, 0.8, 7, filter_by="user")
    valid = valid[valid["item_id"].isin(set(fit_rows["item_id"]))]
    cold_fit, cold_valid, cold_ids = cold_validation(path)
    features = movielens_item_features(path)
    results = []
    variants = json.loads(args.variants) if args.variants else VARIANTS
    for variant in variants[:2] if args.quick else variants:
        params = CONFIGS["hybrid"] | parse_variant(variant)
        entry: dict[str, object] = {"variant": variant}
        if "warm" in parts:
            model = make_recommender("hybrid", params)
            entry |= evaluate_warm(model, fit_rows, valid, features)
            entry["chosen"] = model.chosen_params()
        if "cold" in parts:
            model = make_recommender("hybrid", params)
            entry |= evaluate_cold(model, cold_fit, cold_valid, cold_ids, features)
        results.append(entry)
        print(json.dumps(entry, default=repr), file=sys.stderr, flush=True)
    out = {
        "protocol": "warm: train(seed 42) -> per-user 80/20 (seed 7); cold: cold train -> "
        "20% of its items held out (seed 7)",
        "base_config": CONFIGS["hybrid"],
        "results": results,
    }
    print(json.dumps(out, indent=2, default=repr))  # components as their repr


if __name__ == "__main__":
    main()
