"""Screen the time components alone on the MovieLens validation splits of tune_hybrid.py.

Warm: each setting of :class:`~recsys.models.timing.TimePopularity` (and ``ReleaseWindow``)
alone as the score (seen items removed, every fit item a candidate), nDCG@10 / MAP@10 on the
per-user 80/20 re-split of the benchmark's train split; all-time popularity for reference.
Combined (``--parts combined``): log1p popularity plus the time lift, EASE (lambda 500) plus
``SessionCooc`` (z-scores), and ``SessionCooc`` alone. Cold: per-user AUC of
``ReleaseWindow``, ``TreePrior`` and ``ColdTimePopularity`` alone over the validation-cold
items. Prints JSON lines::

    python experiments/screen_time.py [--parts warm,combined,cold]
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
from recsys.models.ease import TreePrior, ease_weights  # noqa: E402
from recsys.models.timing import (  # noqa: E402
    ColdTimePopularity,
    ReleaseWindow,
    SessionCooc,
    TimePopularity,
)
from training.evaluation.movielens import movielens_item_features, ratings_dataset  # noqa: E402
from training.evaluation.protocols import movielens_100k, stratified_split  # noqa: E402

K = 10
WARM = [
    {"bin_days": 7.0, "bandwidth_bins": 1.0, "item_scale": "log1p"},
    {"bin_days": 7.0, "bandwidth_bins": 1.0, "item_scale": "share"},
    {"bin_days": 7.0, "bandwidth_bins": 0.0, "item_scale": "log1p"},
    {"bin_days": 7.0, "bandwidth_bins": 2.0, "item_scale": "log1p"},
    {"bin_days": 1.0, "bandwidth_bins": 7.0, "item_scale": "log1p"},
    {"bin_days": 1.0, "bandwidth_bins": 3.0, "item_scale": "log1p"},
    {"bin_days": 14.0, "bandwidth_bins": 1.0, "item_scale": "log1p"},
    {"bin_days": 30.0, "bandwidth_bins": 0.0, "item_scale": "log1p"},
]


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
    for params in WARM:
        component = TimePopularity(**params).fit_component(dataset, FitContext())
        metrics = warm_metrics(component_scores(component, n_users), dataset, valid)
        print(json.dumps({"screen": "time_popularity", **params, **metrics}), flush=True)
    for params in ({"bin_days": 1.0}, {"bin_days": 7.0}):
        component = ReleaseWindow(**params).fit_component(dataset, FitContext())
        scores = component_scores(component, n_users) + 1e-6 * popular / counts.max()
        metrics = warm_metrics(scores, dataset, valid)
        print(json.dumps({"screen": "release_window+pop tiebreak", **params, **metrics}))


def combined(features) -> None:
    """Popularity plus the time lift, and EASE plus the session co-occurrence (z-scores)."""
    train, _ = movielens_100k(SHARED / "movielens-100k")
    fit_rows, valid = stratified_split(train, 0.8, 7, filter_by="user")
    valid = valid[valid["item_id"].isin(set(fit_rows["item_id"]))]
    dataset = ratings_dataset(fit_rows, features)
    n_users = len(dataset.users)
    counts = np.bincount(dataset.interactions.items, minlength=len(dataset.items))
    log_pop = np.log1p(counts.astype(np.float64))[None, :]
    for prior in (30.0, 100.0, 300.0):
        params = {"bandwidth_bins": 2.0, "item_scale": "lift", "prior_events": prior}
        lift = component_scores(
            TimePopularity(**params).fit_component(dataset, FitContext()), n_users
        )
        for w in (0.5, 1.0, 2.0):
            metrics = warm_metrics(log_pop + w * lift, dataset, valid)
            print(
                json.dumps({"screen": "log1p popularity + w * lift", **params, "w": w, **metrics})
            )
    history = dataset.matrix(binary=True)
    ease = np.asarray(history @ ease_weights(history, 500.0), np.float64)
    print(json.dumps({"screen": "ease (lambda 500)", **warm_metrics(ease, dataset, valid)}))
    for minutes in (1.0, 6.0, 60.0, 360.0):
        model = SessionCooc(window_minutes=minutes).fit_component(dataset, FitContext())
        cooc = np.asarray(history @ model.weights_, np.float64)
        metrics = warm_metrics(cooc, dataset, valid)
        print(json.dumps({"screen": "session_cooc", "window_minutes": minutes, **metrics}))
        if minutes == 6.0:
            for w in (0.1, 0.25, 0.5, 1.0):
                metrics = warm_metrics(_z(ease) + w * _z(cooc), dataset, valid)
                print(json.dumps({"screen": "z(ease) + w * z(session_cooc 6)", "w": w, **metrics}))


def _z(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / values.std()


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
    if "combined" in args.parts:
        combined(features)
    if "cold" in args.parts:
        cold(features)


if __name__ == "__main__":
    main()
