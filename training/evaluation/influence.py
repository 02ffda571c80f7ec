"""Benchmarks of the micro-influencer scorer, each beside the ``leaderboard`` and ``followers``
baselines, in the output shape of ``advocacy evaluate``::

    {"benchmark", "protocol": {..., "k"}, "models": {"influence" | "leaderboard" | "followers":
     {"auc", "precision@k", "recall@k", "slices": {"all": {..., "n"}}, "seconds": {...}}},
     "fairness": {...}, "seconds"}

``synthetic-influencers``
    Generate an organisation (``features.data.synthetic``; default 2,000 employees, 500 items,
    180 days, seed 0, 200 interactions per employee: at the generator's default of 50 the
    median planted micro-influencer never shares in 180 days, so nothing but the follower
    count could tell them apart), fit with ``fit_influence`` at its end (labels from its own last
    ``horizon_days``) and rank the advocates who did not opt out: the model by candidate order
    (flagged first, then in the micro band, then by score), the baselines by their score.
    Relevant = the planted micro-influencers (``ground_truth`` tier ``micro``). ``k`` defaults
    to their number, so precision@k = recall@k = R-precision. ``auc`` is ROC AUC of the same
    order against the planted truth over every scored advocate. The model entry also gives the
    precision and recall of the flagged set itself. ``fairness``: flag rates by department,
    region and seniority.
``peerindex``
    Kaggle "Influencers in Social Networks" (PeerIndex): pairs of Twitter users with 11
    features each and a human choice (1 = A is more influential). Each user's 11 numbers are
    mapped onto the scorer's features (:func:`peerindex_features`), the scorer is fitted on the
    train pairs as a Bradley-Terry model (``InfluenceScorer.fit_pairs``) with
    ``PEERINDEX_SCORER`` (boosted stumps: an additive model of step functions; its rounds are
    chosen on a held-out fifth of the train pairs, nothing is tuned on test; ``**config``
    overrides, e.g. ``learner="spline"``) and ``auc`` is the pairwise ROC AUC of
    ``score(A) - score(B)`` against ``Choice`` on the test pairs. Without ``--test`` a seeded
    random ``test_fraction`` of the file is held out (default 25%, seed 42); ``folds`` > 1
    runs k-fold cross-validation instead and reports the mean (and each fold's AUC).
    ``precision@k`` / ``recall@k``: of the k test pairs with the most confident predictions
    (largest ``|score(A) - score(B)|``), how many were judged the way the score orders them
    (recall: of all test pairs); k defaults to 10% of the test pairs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

from features.data.synthetic import OrgConfig, generate
from features.influence_features import advocate_groups, engagement_lift
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.influence import (
    Candidate,
    FollowersBaseline,
    InfluenceScorer,
    LeaderboardBaseline,
    flag_rates,
)
from recsys.matrix import FeatureMatrix
from training.influence_job import fit_influence, influence_ranking_metrics, score_snapshot

logger = logging.getLogger(__name__)

INFLUENCE_BENCHMARKS = ("synthetic-influencers", "peerindex")
PEERINDEX_FIELDS = (
    "follower_count", "following_count", "listed_count", "mentions_received",
    "retweets_received", "mentions_sent", "retweets_sent", "posts",
    "network_feature_1", "network_feature_2", "network_feature_3",
)  # fmt: skip
PEERINDEX_FEATURES = (
    "log_followers_max",
    "log_following_max",
    "log_posts_90d",
    "log_engagement_received",
    "log_reshares_per_share",
    "engagement_lift",
    "log_comments_made",
    "log_reshares_made",
    "log_org_weighted_degree",
    "log_org_degree",
    "log_org_pagerank_rel",
    "org_core_number",
    "log_engagement_per_share",
    "log_engagement_rate",
    "log_follower_ratio",
    "log_reshare_rate",
    "log_mention_rate",
    "log_listed_rate",
    "log_org_degree_rate",
)

PEERINDEX_SCORER = {"learner": "boosted", "learning_rate": 0.05, "min_leaf": 20}


def _entry(metrics: Mapping[str, Any], n: int, seconds: Mapping[str, float]) -> dict:
    return {
        **metrics,
        "slices": {"all": {**metrics, "n": n}},
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }


# ---------------------------------------------------------------- synthetic-influencers
def run_synthetic_influencers(
    *,
    employees: int = 2000,
    content: int = 500,
    days: int = 180,
    seed: int = 0,
    interactions_per_employee: float = 200.0,
    k: int | None = None,
    horizon_days: float = 30,
    **config: Any,
) -> dict:
    """The ``synthetic-influencers`` benchmark (see the module docstring)."""
    started = time.perf_counter()
    org_config = OrgConfig(
        employees=employees,
        content=content,
        days=days,
        seed=seed,
        interactions_per_employee=interactions_per_employee,
    )
    org = generate(org_config)
    snapshot = Snapshot.from_frames(org_config.end, **org.tables)
    clock = time.perf_counter()
    scorer = fit_influence(snapshot, horizon_days=horizon_days, **config)
    fit_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    features, candidates = score_snapshot(snapshot, scorer)
    seconds = {"fit": fit_seconds, "score": time.perf_counter() - clock}
    ids = list(features.ids.external)
    truth = org.ground_truth.set_index("employee_id")["tier"].reindex(ids).to_numpy() == "micro"
    k = int(k or max(1, truth.sum()))
    flagged = np.array([c.flagged for c in candidates], bool)
    return {
        "benchmark": "synthetic-influencers",
        "protocol": {
            "k": k,
            "employees": employees,
            "content": content,
            "days": days,
            "seed": seed,
            "interactions_per_employee": interactions_per_employee,
            "horizon_days": horizon_days,
            "as_of": scorer.training_["scored_as_of"],
            "advocates_scored": len(ids),
            "opted_out_excluded": len(org.tables["advocates"]) - len(ids),
            "relevant": "planted micro-influencers (ground truth tier 'micro')",
            "planted": int(truth.sum()),
            "model_order": "flagged, then in the micro band, then by score",
            "training": scorer.training_,
            "calibration": scorer.calibration_,
        },
        "models": _synthetic_models(features, candidates, truth, k, seconds),
        "fairness": flag_rates(flagged, advocate_groups(snapshot, ids)),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _synthetic_models(
    features: FeatureMatrix,
    candidates: list[Candidate],
    truth: np.ndarray,
    k: int,
    seconds: Mapping[str, float],
) -> dict[str, dict]:
    """The model (candidate order) and both baselines against the planted truth."""
    flagged = np.array([c.flagged for c in candidates], bool)
    order = np.array([2.0 * c.flagged + c.in_band + c.score for c in candidates])
    model = _entry(influence_ranking_metrics(order, truth, k), len(truth), seconds)
    model["flagged"] = int(flagged.sum())
    model["flagged_precision"] = round(float(truth[flagged].mean()), 6) if flagged.any() else None
    model["flagged_recall"] = round(float(truth[flagged].sum() / max(truth.sum(), 1)), 6)
    models = {"influence": model}
    for name, baseline in (
        ("leaderboard", LeaderboardBaseline()),
        ("followers", FollowersBaseline()),
    ):
        clock = time.perf_counter()
        score = baseline.fit(features).decision_function(features)
        models[name] = _entry(
            influence_ranking_metrics(score, truth, k),
            len(truth),
            {"score": time.perf_counter() - clock},
        )
    return models


# ---------------------------------------------------------------- peerindex
def read_peerindex(path: str | Path) -> pd.DataFrame:
    """The pairs file: ``Choice`` and ``A_<field>`` / ``B_<field>`` for the 11 fields."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"peerindex: no file at {path}")
    frame = pd.read_csv(path)
    wanted = ["Choice", *(f"{s}_{f}" for s in "AB" for f in PEERINDEX_FIELDS)]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(f"peerindex: {path.name} lacks column(s) {missing[:4]}")
    values = frame[wanted].apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1) | (values[wanted[1:]] < 0).any(axis=1)
    bad |= ~values["Choice"].isin([0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise ValueError(
            f"peerindex: {int(bad.sum())} row(s) of {path.name} have a missing, negative or"
            f" non-numeric value or a Choice other than 0/1 (first: row {row})"
        )
    return values.reset_index(drop=True)


def peerindex_features(
    users: pd.DataFrame, *, fit_rows: np.ndarray | None = None, prefix: str = "u"
) -> FeatureMatrix:
    """Map each user's 11 PeerIndex fields onto the scorer's features.

    followers -> ``log_followers_max``; following -> ``log_following_max``; posts ->
    ``log_posts_90d`` (and ``shares_made`` for the leaderboard); mentions + retweets received
    -> ``log_engagement_received`` (and ``clicks_earned`` for the leaderboard); retweets
    received -> ``log_reshares_per_share``; ``engagement_lift``: engagement received vs what
    followers predict (line fitted on ``fit_rows``: the training users); mentions sent ->
    ``log_comments_made``; retweets sent -> ``log_reshares_made``; listed (others put them in a
    list: an incoming tie) -> ``log_org_weighted_degree``; the undisclosed network features 1,
    2, 3 -> ``log_org_degree``, ``log_org_pagerank_rel``, ``org_core_number``. Every feature
    is ``log1p`` of the count. Rates are differences of those logs: engagement received per
    post (``log_engagement_per_share``) and per follower (``log_engagement_rate``), retweets
    and mentions received per follower, lists per follower, network feature 1 per follower,
    followers per account followed (``log_follower_ratio``). The rates were chosen by 5-fold
    cross-validation inside the training part of the default hold-out split (0.868 -> 0.873
    mean AUC), never on its test part.
    """
    f = {name: users[name].to_numpy(float) for name in PEERINDEX_FIELDS}
    received = f["mentions_received"] + f["retweets_received"]
    log = np.log1p
    lift = engagement_lift(
        log(received),
        log(f["follower_count"]),
        np.ones(len(users)),
        prior_shares=0.0,
        fit_rows=fit_rows,
    )
    columns = {
        "log_followers_max": log(f["follower_count"]),
        "log_following_max": log(f["following_count"]),
        "log_posts_90d": log(f["posts"]),
        "log_engagement_received": log(received),
        "log_reshares_per_share": log(f["retweets_received"]),
        "engagement_lift": lift,
        "log_comments_made": log(f["mentions_sent"]),
        "log_reshares_made": log(f["retweets_sent"]),
        "log_org_weighted_degree": log(f["listed_count"]),
        "log_org_degree": log(f["network_feature_1"]),
        "log_org_pagerank_rel": log(f["network_feature_2"]),
        "org_core_number": log(f["network_feature_3"]),
        # rates: per post, per follower, per account followed (log ratios)
        "log_engagement_per_share": log(received) - log(f["posts"]),
        "log_engagement_rate": log(received) - log(f["follower_count"]),
        "log_follower_ratio": log(f["follower_count"]) - log(f["following_count"]),
        "log_reshare_rate": log(f["retweets_received"]) - log(f["follower_count"]),
        "log_mention_rate": log(f["mentions_received"]) - log(f["follower_count"]),
        "log_listed_rate": log(f["listed_count"]) - log(f["follower_count"]),
        "log_org_degree_rate": log(f["network_feature_1"]) - log(f["follower_count"]),
        "followers_max": f["follower_count"],
        "shares_made": f["posts"],
        "clicks_earned": received,
    }
    names = tuple(columns)
    values = np.column_stack([columns[n] for n in names])
    ids = IdMap(np.array([f"{prefix}{i}" for i in range(len(users))], dtype=object), "user")
    return FeatureMatrix(values, names, ids)


def _sides(pairs: pd.DataFrame, train_rows: np.ndarray) -> tuple[FeatureMatrix, FeatureMatrix]:
    """A's and B's features; the lift line is fitted on the training pairs' users."""
    users = pd.concat(
        [
            pairs[[f"A_{c}" for c in PEERINDEX_FIELDS]].set_axis(PEERINDEX_FIELDS, axis=1),
            pairs[[f"B_{c}" for c in PEERINDEX_FIELDS]].set_axis(PEERINDEX_FIELDS, axis=1),
        ],
        ignore_index=True,
    )
    fit_rows = np.concatenate([train_rows, train_rows])
    both = peerindex_features(users, fit_rows=fit_rows)
    n = len(pairs)
    a = FeatureMatrix(both.values[:n], both.names, IdMap(both.ids.external[:n], "user"))
    b = FeatureMatrix(both.values[n:], both.names, IdMap(both.ids.external[n:], "user"))
    return a, b


def _rows(matrix: FeatureMatrix, rows: np.ndarray) -> FeatureMatrix:
    return FeatureMatrix(matrix.values[rows], matrix.names, IdMap(matrix.ids.external[rows]))


def _pair_metrics(diff: np.ndarray, choice: np.ndarray, k: int) -> dict[str, float | None]:
    auc = round(float(roc_auc_score(choice, diff)), 6) if len(set(choice.tolist())) == 2 else None
    confident = np.argsort(-np.abs(diff), kind="stable")[:k]
    right = ((diff > 0) == (choice == 1))[confident]
    return {
        "auc": auc,
        "precision@k": round(float(right.mean()), 6) if k else None,
        "recall@k": round(float(right.sum() / len(choice)), 6) if len(choice) else None,
    }


def _fold(pairs: pd.DataFrame, train: np.ndarray, test: np.ndarray, k: int | None, config):
    """Fit on ``train`` rows, evaluate every model on ``test`` rows."""
    mask = np.zeros(len(pairs), bool)
    mask[train] = True
    a, b = _sides(pairs, mask)
    choice = pairs["Choice"].to_numpy(float)
    k = int(k or max(1, round(0.1 * len(test))))
    clock = time.perf_counter()
    scorer = InfluenceScorer(features=PEERINDEX_FEATURES, **{**PEERINDEX_SCORER, **config})
    scorer.fit_pairs(_rows(a, train), _rows(b, train), choice[train])
    fit_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    diff = scorer.decision_function(_rows(a, test)) - scorer.decision_function(_rows(b, test))
    results = {"influence": (_pair_metrics(diff, choice[test], k), fit_seconds, clock)}
    for name, baseline in (
        ("leaderboard", LeaderboardBaseline()),
        ("followers", FollowersBaseline()),
    ):
        clock = time.perf_counter()
        model = baseline.fit(a)
        diff = model.decision_function(_rows(a, test)) - model.decision_function(_rows(b, test))
        results[name] = (_pair_metrics(diff, choice[test], k), 0.0, clock)
    now = time.perf_counter()
    out = {
        name: _entry(metrics, len(test), {"fit": fit, "score": now - start})
        for name, (metrics, fit, start) in results.items()
    }
    return out, k, scorer


def run_peerindex(
    train: str | Path,
    test: str | Path | None = None,
    *,
    test_fraction: float = 0.25,
    seed: int = 42,
    folds: int | None = None,
    k: int | None = None,
    **config: Any,
) -> dict:
    """The ``peerindex`` benchmark (see the module docstring)."""
    started = time.perf_counter()
    pairs, splits, protocol = _peerindex_splits(train, test, test_fraction, seed, folds)
    runs = [_fold(pairs, tr, te, k, config) for tr, te in splits]
    models = _mean_models([r[0] for r in runs])
    if len(runs) > 1:
        for name in models:
            models[name]["fold_auc"] = [r[0][name]["auc"] for r in runs]
    scorer = runs[0][2]
    return {
        "benchmark": "peerindex",
        "protocol": {
            **protocol,
            "k": runs[0][1],
            "train_pairs": len(splits[0][0]),
            "test_pairs": len(splits[0][1]),
            "metric": "pairwise ROC AUC of score(A) - score(B) against Choice",
            "precision@k": "share of the k most confident test pairs ordered as judged",
            "model": f"InfluenceScorer.fit_pairs (Bradley-Terry, additive, {scorer.learner})",
            "features": list(PEERINDEX_FEATURES),
            "scorer": {k: v for k, v in scorer.get_params().items() if k in _PEERINDEX_REPORTED},
            "rounds": [r[2].training_.get("rounds") for r in runs],
            "references": {"followers alone": 0.843, "logistic on log differences": 0.86},
        },
        "models": models,
        "seconds": round(time.perf_counter() - started, 3),
    }


Split = tuple[np.ndarray, np.ndarray]
_PEERINDEX_REPORTED = (
    "learner", "n_knots", "C", "max_rounds", "learning_rate", "min_leaf", "validation_fraction",
)  # fmt: skip


def _peerindex_splits(
    train: str | Path,
    test: str | Path | None,
    test_fraction: float,
    seed: int,
    folds: int | None,
) -> tuple[pd.DataFrame, list[Split], dict[str, str]]:
    """The pairs and (train rows, test rows) splits: given files, k folds or a hold-out."""
    train_pairs = read_peerindex(train)
    if test is not None:
        test_pairs = read_peerindex(test)
        pairs = pd.concat([train_pairs, test_pairs], ignore_index=True)
        splits = [(np.arange(len(train_pairs)), len(train_pairs) + np.arange(len(test_pairs)))]
        return pairs, splits, {"split": "given files", "train": str(train), "test": str(test)}
    if folds and folds > 1:
        splits = list(KFold(int(folds), shuffle=True, random_state=seed).split(train_pairs))
        split = f"{folds}-fold cross-validation, seed {seed}"
        return train_pairs, splits, {"split": split, "train": str(train)}
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(train_pairs))
    cut = round(len(train_pairs) * (1 - test_fraction))
    split = f"held-out {test_fraction:.0%} of the file, seed {seed}"
    return (
        train_pairs,
        [(np.sort(order[:cut]), np.sort(order[cut:]))],
        {"split": split, "train": str(train)},
    )


def _mean_models(runs: list[dict[str, dict]]) -> dict[str, dict]:
    if len(runs) == 1:
        return runs[0]
    out = {}
    for name in runs[0]:
        metrics = {
            m: round(float(np.mean([r[name][m] for r in runs])), 6)
            for m in ("auc", "precision@k", "recall@k")
        }
        seconds = {
            s: round(float(np.sum([r[name]["seconds"][s] for r in runs])), 3)
            for s in runs[0][name]["seconds"]
        }
        n = int(sum(r[name]["slices"]["all"]["n"] for r in runs))
        out[name] = _entry(metrics, n, seconds)
    return out
