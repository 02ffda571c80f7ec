"""MovieLens-100K benchmarks: MS Recommenders' top-10 protocol, and cold items by AUC.

``movielens-100k``
    MS Recommenders' protocol (:func:`~training.evaluation.protocols.movielens_100k`: item-
    stratified split, ratio 0.75, seed 42). Fit on train (weight = rating, time = timestamp,
    genre item features), top 10 per test user with training items removed
    (``exclude_seen``), ``as_of`` the last train time. ``map@10`` is MS ``map`` (sum of
    precisions at the hits divided by the user's number of relevant items), ``ndcg@10``,
    ``precision@10``, ``recall@10``: means over every test user (all 943).
``movielens-100k-cold``
    :func:`~training.evaluation.protocols.movielens_cold_items` (20% of the items held out,
    seed 42). Fit on the other items; the cold items enter with ``add_items(ids, features)``;
    per test user, ROC AUC of the scores of the cold items the user rated (positives) against
    the cold items they did not rate (negatives), averaged over users (LightFM paper, Kula
    2015).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.metrics import auc, mean_over_users, ranking_metrics_per_user
from recsys.models import make_recommender
from recsys.models.content import GenreAffinity
from recsys.models.ease import TreePrior
from recsys.models.timing import ColdTimePopularity, ReleaseWindow
from training.evaluation.protocols import movielens_100k, movielens_cold_items
from training.evaluation.registry import (
    BENCHMARKS,
    ModelFactory,
    factories,
    is_registered_default,
)
from training.evaluation.report import K, entry, fit_model, models_in_progress, result

logger = logging.getLogger(__name__)

#: Parameters of registered models on both MovieLens benchmarks, used when a model comes as
#: its bare registered class (the default model list; reported in ``protocol["configs"]``).
#: LightFM models take the genre columns as item features (the title embeddings feed the
#: content model and the hybrid's affinity and item prior); the hybrid has no live trends
#: among colleagues (ratings are not a live stream) and centres the title embeddings for cold
#: items (its affinity; centring warm items too lowered the warm top-10); the content
#: baseline centres them for every item. Issue 18: no global trends (decayed counts at the
#: end of the ratings are noise for the top 10), an undecayed affinity, 200 negatives per
#: second-stage positive, the item prior from gradient-boosted trees over genres and year
#: (``tree_prior``, in place of the ridge prior) and a centred genre affinity
#: (``genre_affinity``); the two are extra components so a saved model rebuilds them. Issue
#: 18's time signals, both for content without events only: the share of the employee's
#: activity after its release (``release_window``, ``cold_only``) and its popularity when the
#: employee was active, predicted from genres, year and release date
#: (``cold_time_popularity``).
#: Chosen on validation splits carved out of the training data only
#: (``experiments/tune_hybrid.py``; figures in docs/recommenders.md).
CONFIGS: dict[str, dict[str, object]] = {
    "lightfm_hybrid": {"item_feature_prefix": "genre="},
    "content": {"centre": True},
    "hybrid": {
        "taste__item_feature_prefix": "genre=",
        "colleague_trend": None,
        "affinity__centre": "cold",
        "affinity__half_life_days": None,
        "global_trend_short": None,
        "global_trend_long": None,
        "negatives": 200,
        "item_prior": None,
        "extra_components": (
            TreePrior(),
            GenreAffinity(),
            ReleaseWindow(cold_only=True),
            ColdTimePopularity(),
        ),
    },
}


FEATURES_NOTE = "genres (19 flags), year, release date, title embedding (all-MiniLM-L6-v2, 384)"
NO_TITLES_NOTE = "genres (19 flags), year, release date"


def movielens_item_features(path: Path | str, *, titles: bool = True) -> FeatureMatrix:
    """Item features of every movie of ``u.item``, ids as strings.

    ``genre=*``: the 19 genre flags; ``year``: release year, centred on 1990 and divided by
    10 (0 when unknown); ``released``: the release date in days since the Unix epoch (0 when
    unknown; :class:`~recsys.models.timing.ReleaseWindow` reads it); with ``titles``,
    ``emb_*``: the all-MiniLM-L6-v2 embedding of the title (sentence-transformers through
    :mod:`features.encoder`, computed once per process and folder, see
    :func:`title_embeddings`).
    """
    items, genres = _read_items(path)
    flags = items[genres].to_numpy(np.float32)
    released = pd.to_datetime(items["release"], format="%d-%b-%Y", errors="coerce")
    year = ((released.dt.year - 1990) / 10).fillna(0.0).to_numpy(np.float32)[:, None]
    days = (released - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    release_days = days.fillna(0.0).to_numpy(np.float32)[:, None]
    names = [*(f"genre={g}" for g in genres), "year", "released"]
    values = np.hstack([flags, year, release_days])
    if titles:
        vectors = title_embeddings(path)
        names += [f"emb_{j}" for j in range(vectors.shape[1])]
        values = np.hstack([values, vectors])
    ids = IdMap.from_ids(items["item_id"].astype(str), "content")
    return FeatureMatrix(values.astype(np.float32), tuple(names), ids)


def _read_items(path: Path | str) -> tuple[pd.DataFrame, list[str]]:
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    genres = pd.read_csv(folder / "u.genre", sep="|", names=["genre", "code"], encoding="latin-1")
    genres = genres.dropna().sort_values("code")
    columns = ["item_id", "title", "release", "video", "url", *genres["genre"]]
    items = pd.read_csv(
        folder / "u.item", sep="|", names=columns, encoding="latin-1", usecols=range(len(columns))
    )
    return items, genres["genre"].tolist()


@functools.cache
def _title_embeddings(folder: Path) -> np.ndarray:
    from features.encoder import SentenceTransformerEncoder

    items, _ = _read_items(folder)
    titles = items["title"].fillna("").astype(str).tolist()
    logger.info("movielens: embedding %d titles with the sentence-transformers model", len(titles))
    vectors = SentenceTransformerEncoder().encode(titles)
    vectors.flags.writeable = False
    return vectors


def title_embeddings(path: Path | str) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings of the movie titles of ``u.item`` (cached per folder)."""
    path = Path(path).resolve()
    return _title_embeddings(path if path.is_dir() else path.parent)


def configured(
    models: Mapping[str, ModelFactory] | None,
) -> tuple[dict[str, ModelFactory], dict[str, dict[str, object]]]:
    """The factories to run, with :data:`CONFIGS` applied to bare registered classes."""
    chosen = factories(models)
    used: dict[str, dict[str, object]] = {}
    for name, factory in chosen.items():
        if name in CONFIGS and is_registered_default(name, factory):
            chosen[name] = functools.partial(make_recommender, name, CONFIGS[name])
            used[name] = CONFIGS[name]
    return chosen, used


def ratings_dataset(train: pd.DataFrame, features: FeatureMatrix) -> Dataset:
    """Ratings as a :class:`Dataset`: weight = rating, time = timestamp, item features."""
    return Dataset.from_events(
        train["user_id"].astype(str).tolist(),
        train["item_id"].astype(str).tolist(),
        weights=train["rating"].to_numpy(np.float32),
        times=train["timestamp"].to_numpy(np.int64),
        item_features=features,
    )


def users_and_relevant(
    test: pd.DataFrame, positions: Mapping[str, int]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Test users (sorted) and each one's relevant items as positions in ``positions``."""
    users = np.sort(test["user_id"].unique()).astype(str)
    truth = test.groupby("user_id")["item_id"].apply(
        lambda s: np.asarray([positions[str(i)] for i in s], np.int64)
    )
    return users, [truth.loc[int(u)] for u in users]


def movielens_benchmark(
    path: Path | str,
    models: Mapping[str, ModelFactory] | None = None,
    *,
    ratio: float = 0.75,
    seed: int = 42,
    titles: bool = True,
) -> dict[str, object]:
    """MS Recommenders' MovieLens-100K benchmark (see the module docstring); ``titles=False``
    leaves the title embeddings out of the item features (quicker, for tests)."""
    started = time.perf_counter()
    train, test = movielens_100k(path, ratio=ratio, seed=seed)
    dataset = ratings_dataset(train, movielens_item_features(path, titles=titles))
    as_of = float(train["timestamp"].max())
    item_codes = {str(i): j for j, i in enumerate(np.sort(test["item_id"].unique()))}
    users, relevant = users_and_relevant(test, item_codes)
    results: dict[str, dict[str, object]] = {}
    skipped: dict[str, str] = {}
    chosen, configs = configured(models)
    for name, factory in models_in_progress(chosen):
        model, fit_seconds = fit_model(name, factory, dataset, skipped, strict=models is not None)
        if model is None:
            continue
        clock = time.perf_counter()
        recommended, _ = model.recommend(list(users), K, as_of=as_of, exclude_seen=True)
        recommend_seconds = time.perf_counter() - clock
        per_user = ranking_metrics_per_user(_codes(recommended, item_codes), relevant, K)
        metrics = {
            "map@10": mean_over_users(per_user["map_n_relevant"]),
            "ndcg@10": mean_over_users(per_user["ndcg"]),
            "precision@10": mean_over_users(per_user["precision"]),
            "recall@10": mean_over_users(per_user["recall"]),
        }
        results[name] = entry(
            metrics, {"all": {**metrics, "n": len(users)}}, fit_seconds, recommend_seconds
        )
    protocol = {
        "split": "MS Recommenders python_stratified_split(filter_by='item', min_rating=1)",
        "ratio": ratio,
        "seed": seed,
        "train_rows": len(train),
        "test_rows": len(test),
        "test_users": len(users),
        "k": K,
        "exclude_seen": True,
        "weights": "rating",
        "item_features": FEATURES_NOTE if titles else NO_TITLES_NOTE,
        "configs": configs,
        "map": "MS Recommenders `map`: sum of precision at hit ranks / n_relevant",
        "primary_metric": BENCHMARKS["movielens-100k"],
        "skipped_models": skipped,
    }
    return result("movielens-100k", protocol, results, started)


def _codes(recommended: list[np.ndarray], item_codes: Mapping[str, int]) -> np.ndarray:
    """Recommendations as test-item codes; items outside the test items get fresh codes."""
    recs = np.full((len(recommended), K), -1, np.int64)
    misses = len(item_codes)  # recommended items outside the test items: never relevant
    for row, ids in enumerate(recommended):
        for col, item in enumerate(ids):
            code = item_codes.get(str(item), -1)
            if code < 0:
                code, misses = misses, misses + 1
            recs[row, col] = code
    return recs


def movielens_cold_benchmark(
    path: Path | str,
    models: Mapping[str, ModelFactory] | None = None,
    *,
    holdout: float = 0.2,
    seed: int = 42,
    titles: bool = True,
) -> dict[str, object]:
    """Cold-item MovieLens-100K: per-user AUC over held-out items (see the module docstring);
    ``titles`` as in :func:`movielens_benchmark`."""
    started = time.perf_counter()
    train, test, cold = movielens_cold_items(path, holdout=holdout, seed=seed)
    features = movielens_item_features(path, titles=titles)
    dataset = ratings_dataset(train, features)
    cold_ids = [str(i) for i in cold]
    cold_features = FeatureMatrix(
        features.rows(cold_ids), features.names, IdMap.from_ids(cold_ids, "content")
    )
    as_of = float(train["timestamp"].max())
    position = {c: j for j, c in enumerate(cold_ids)}
    users, relevant = users_and_relevant(test, position)
    results: dict[str, dict[str, object]] = {}
    skipped: dict[str, str] = {}
    chosen, configs = configured(models)
    for name, factory in models_in_progress(chosen):
        model, fit_seconds = fit_model(name, factory, dataset, skipped, strict=models is not None)
        if model is None:
            continue
        clock = time.perf_counter()
        model.add_items(cold_ids, cold_features)
        ids, scores = model.recommend(
            list(users), len(cold_ids), candidates=cold_ids, as_of=as_of, exclude_seen=False
        )
        recommend_seconds = time.perf_counter() - clock
        matrix = np.full((len(users), len(cold_ids)), -np.inf)
        for row, (row_ids, row_scores) in enumerate(zip(ids, scores, strict=True)):
            matrix[row, [position[str(i)] for i in row_ids]] = row_scores
        per_user = auc(matrix, relevant)
        value = mean_over_users(per_user)
        n = int((~np.isnan(per_user)).sum())
        results[name] = entry(
            {"auc": value}, {"all": {"auc": value, "n": n}}, fit_seconds, recommend_seconds
        )
    protocol = {
        "split": "movielens_cold_items: whole items held out",
        "holdout": holdout,
        "seed": seed,
        "cold_items": len(cold_ids),
        "train_rows": len(train),
        "test_rows": len(test),
        "test_users": len(users),
        "weights": "rating",
        "item_features": f"{FEATURES_NOTE if titles else NO_TITLES_NOTE}; cold items via "
        "add_items(ids, features)",
        "configs": configs,
        "auc": "per user: rated cold items vs unrated cold items, mean over users",
        "primary_metric": BENCHMARKS["movielens-100k-cold"],
        "skipped_models": skipped,
    }
    return result("movielens-100k-cold", protocol, results, started)
