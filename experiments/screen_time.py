"""Screen the kept time components alone on the MovieLens validation splits of tune_hybrid.py.

Warm: ``ReleaseWindow`` alone as the score (popularity breaking the ties; seen items removed,
every fit item a candidate), nDCG@10 / MAP@10 on the per-user 80/20 re-split of the
benchmark's train split; all-time popularity for reference. Cold: per-user AUC of
:class:`~recsys.models.timing.ReleaseWindow`, ``TreePrior`` and ``ColdTimePopularity`` alone
over the validation-cold items. The screens of the components tried and not kept
(``time_popularity``, its lift over popularity, ``session_cooc`` beside EASE) were removed
with their code: their figures are in docs/recommenders.md ("Time signals"), the code in git
history (commits ``9e80ae9..d1c5162``). Prints JSON lines::

    python experiments/screen_time.py [--parts warm,cold]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.tune_hybrid import SHARED, cold_validation  # noqa: E402
from recsys.ids import IdMap  # noqa: E402
from recsys.matrix import FeatureMatrix  # noqa: E402
from recsys.metrics import auc, mean_over_users, ranking_metrics_per_user  # noqa: E402
from recsys.models.component import FitContext  # noqa: E402
from recsys.models.ease import TreePrior  # noqa: E402
from recsys.models.timing import ColdTimePopularity, ReleaseWindow  # noqa: E402
from training.evaluation.movielens import movielens_item_features, ratings_dataset  # noqa: E402
from training.evaluation.protocols import movielens_100k, stratified_split  # noqa: E402

K = 10


def warm_metrics(scores: np.ndarray, dataset, valid) -> dict[str, float]:
    """nDCG@10 / MAP@10 of full score rows (dataset users x items) on ``valid``."""
    seen = dataset.matrix(binary=True).toarray() > 0
    scores = np.where(seen, -np.inf, scores)
    users = np.sort(valid["user_id"].unique()).astype(str)
    rows = dataset.users.to_internal(list(users))
    top = np.argsort(-scores[rows], axis=1, kind="stable")[:, :K]
    items = dataset.items.to_internal(valid["item_id"].astype(str).tolist())
    truth = {u: [] for u in users}
    for user, item in zip(valid["user_id"].astype(str), items, strict=True):
        truth[user].append(item)
    relevant = [np.asarray(truth[u], np.int64) for u in users]
    per_user = ranking_metrics_per_user(top, relevant, K)
    return {
        "ndcg@10": round(mean_over_users(per_user["ndcg"]), 4),
        "map@10": round(mean_over_users(per_user["map_n_relevant"]), 4),
    }


def component_scores(component, n_users: int) -> np.ndarray:
    return component.user_rows(np.arange(n_users)) @ component.item_rows_.T.astype(np.float64)


def warm(features) -> None:
    train, _ = movielens_100k(SHARED / "movielens-100k")
    fit_rows, valid = stratified_split(train, 0.8, 7, filter_by="user")
    valid = valid[valid["item_id"].isin(set(fit_rows["item_id"]))]
    dataset = ratings_dataset(fit_rows, features)
    n_users = len(dataset.users)
    counts = np.bincount(dataset.interactions.items, minlength=len(dataset.items))
    popular = np.broadcast_to(counts.astype(np.float64), (n_users, len(counts)))
    print(json.dumps({"screen": "popular", **warm_metrics(popular, dataset, valid)}), flush=True)
    for params in ({"bin_days": 1.0}, {"bin_days": 7.0}):
        component = ReleaseWindow(**params).fit_component(dataset, FitContext())
        scores = component_scores(component, n_users) + 1e-6 * popular / counts.max()
        metrics = warm_metrics(scores, dataset, valid)
        print(json.dumps({"screen": "release_window+pop tiebreak", **params, **metrics}))


def cold(features) -> None:
    fit_rows, valid, cold_ids = cold_validation(SHARED / "movielens-100k")
    dataset = ratings_dataset(fit_rows, features)
    cold_features = FeatureMatrix(
        features.rows(cold_ids), features.names, IdMap.from_ids(cold_ids, "content")
    )
    position = {c: j for j, c in enumerate(cold_ids)}
    users = np.sort(valid["user_id"].unique()).astype(str)
    truth = valid.groupby("user_id")["item_id"].apply(
        lambda s: np.asarray([position[str(i)] for i in s], np.int64)
    )
    relevant = [truth.loc[int(u)] for u in users]
    for params in ({"bin_days": 1.0}, {"bin_days": 7.0}, {"bin_days": 1.0, "bandwidth_bins": 7.0}):
        component = ReleaseWindow(**params).fit_component(dataset, FitContext())
        n_items = len(dataset.items)
        component.grow_items(
            np.arange(n_items, n_items + len(cold_ids)), cold_ids, cold_features, None
        )
        rows = component.user_rows(dataset.users.to_internal(list(users)))
        scores = rows @ component.item_rows_[n_items:].T.astype(np.float64)
        value = mean_over_users(auc(scores, relevant))
        print(json.dumps({"screen": "release_window cold", **params, "auc": round(value, 4)}))
    n_items, rows = len(dataset.items), dataset.users.to_internal(list(users))
    new = np.arange(n_items, n_items + len(cold_ids))
    prior = TreePrior().fit_component(dataset, FitContext())
    prior.grow_items(new, cold_ids, cold_features, None)
    flat = np.broadcast_to(prior.values_[n_items:], (len(users), len(cold_ids))).copy()
    print(
        json.dumps(
            {"screen": "tree_prior cold", "auc": round(mean_over_users(auc(flat, relevant)), 4)}
        )
    )
    for alpha in (1.0, 10.0):
        component = ColdTimePopularity(alpha=alpha).fit_component(dataset, FitContext())
        component.grow_items(new, cold_ids, cold_features, None)
        predicted = component.item_rows_[n_items:].astype(np.float64)
        scores = component.user_rows(rows) @ predicted.T
        static = np.broadcast_to(predicted.mean(axis=1), scores.shape).copy()
        print(
            json.dumps(
                {
                    "screen": "cold_time_popularity cold",
                    "alpha": alpha,
                    "auc": round(mean_over_users(auc(scores, relevant)), 4),
                    "auc of the row means (no time)": round(
                        mean_over_users(auc(static, relevant)), 4
                    ),
                }
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="warm,cold")
    args = parser.parse_args()
    features = movielens_item_features(SHARED / "movielens-100k", titles=False)
    if "warm" in args.parts:
        warm(features)
    if "cold" in args.parts:
        cold(features)


if __name__ == "__main__":
    main()
