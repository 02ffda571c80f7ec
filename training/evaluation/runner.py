"""Offline benchmarks of recommenders: MovieLens-100K (warm and cold items), DeskDrop replay.

:func:`run_benchmark` fits each named model factory on a benchmark's training data and returns
one JSON-able dict::

    {"benchmark": str, "protocol": {...},
     "models": {name: {"<metric>": value, ..., "slices": {slice: {...}},
                       "seconds": {"fit": s, "recommend": s, ...}}},
     "seconds": s}

(the replay also times ``observe``: its ``add_items`` and ``observe`` calls).

Metric keys are ``hr@10``, ``ndcg@10``, ``mrr``, ``map@10``, ``precision@10``, ``recall@10``
and ``auc`` (those that apply to the benchmark). Undefined values are ``None``. Every model
entry has ``slices`` with at least ``all`` (the same metrics plus ``n``, the users or pairs
averaged over).

Benchmarks (:data:`BENCHMARKS`)
    ``movielens-100k``
        MS Recommenders' protocol (:func:`~training.evaluation.protocols.movielens_100k`: item-
        stratified split, ratio 0.75, seed 42). Fit on train (weight = rating, time =
        timestamp, genre item features), top 10 per test user with training items removed
        (``exclude_seen``), ``as_of`` the last train time. ``map@10`` is MS ``map`` (sum of
        precisions at the hits divided by the user's number of relevant items), ``ndcg@10``,
        ``precision@10``, ``recall@10``: means over every test user (all 943).
    ``movielens-100k-cold``
        :func:`~training.evaluation.protocols.movielens_cold_items` (20% of the items held out,
        seed 42). Fit on the other items; the cold items enter with ``add_items(ids, genre
        features)``; per test user, ROC AUC of the scores of the cold items the user rated
        (positives) against the cold items they did not rate (negatives), averaged over users
        (LightFM paper, Kula 2015).
    ``deskdrop-replay``
        :func:`~training.evaluation.protocols.deskdrop_replay` after ``split_at`` (default
        2016-11-01), optionally up to ``until``. Fit on the events before the split with
        :data:`EVENT_WEIGHTS`; then test pairs in time order. Before the pairs at time ``t``:
        contents first seen at or before ``t`` are added (``add_items`` with their first-seen
        time, no features) and every log event with time ``< t`` is observed (never refit).
        Each (person, ``t``) is ranked once with ``as_of=t`` over its candidates (available at
        ``t``, not touched by the person before ``t``); ``hr@10``, ``ndcg@10`` and ``mrr`` of
        the single target (uncut MRR over the whole candidate ranking). Ties follow the model's
        ranking (equal scores: catalogue order). Slices ``all``, ``new_content``,
        ``new_person``. For tuning, :func:`deskdrop_validation_window` gives the window before
        a split to pass as ``split_at`` / ``until``.

Models that need what a benchmark cannot give (e.g. item features on DeskDrop) fail at fit;
in the default model list they are skipped (listed in ``protocol["skipped_models"]``), a model
asked for by name raises.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.metrics import auc, mean_over_users, ranking_metrics_per_user
from training.evaluation.protocols import (
    CandidateIndex,
    DeskDropReplay,
    TimeLike,
    deskdrop_replay,
    movielens_100k,
    movielens_cold_items,
    read_deskdrop_events,
    unix_seconds,
)

logger = logging.getLogger(__name__)

ModelFactory = Callable[[], Recommender]
K = 10
DEFAULT_SPLIT_AT = "2016-11-01"
DAY = 86_400

#: DeskDrop event weights (strength of the signal): a comment is worth four views.
EVENT_WEIGHTS: dict[str, float] = {
    "VIEW": 1.0,
    "LIKE": 2.0,
    "BOOKMARK": 2.5,
    "FOLLOW": 3.0,
    "COMMENT CREATED": 4.0,
}

#: Benchmark name -> its primary metric (tables sort by it, best first).
BENCHMARKS: dict[str, str] = {
    "movielens-100k": "map@10",
    "movielens-100k-cold": "auc",
    "deskdrop-replay": "ndcg@10",
}

#: Benchmark name -> the folder under the shared data root it reads.
DATA_FOLDERS: dict[str, str] = {
    "movielens-100k": "movielens-100k",
    "movielens-100k-cold": "movielens-100k",
    "deskdrop-replay": "deskdrop",
}


class UnknownNameError(ValueError):
    """An unknown benchmark or model name."""


# -- public entry points ------------------------------------------------------------------
def model_factories(names: Sequence[str] | None = None) -> dict[str, ModelFactory]:
    """Factories of the registered models ``names`` (default: all of ``MODELS``)."""
    from recsys.models import MODELS

    if names is None:
        return dict(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise UnknownNameError(
            f"unknown model(s): {', '.join(unknown)}; known: {', '.join(sorted(MODELS))}"
        )
    return {name: MODELS[name] for name in names}


def resolve_data(benchmark: str, path: Path | str) -> Path:
    """The benchmark's data: ``path`` itself, or its dataset folder under a shared data root."""
    check_benchmark(benchmark)
    path = Path(path)
    nested = path / DATA_FOLDERS[benchmark]
    if nested.exists():
        return nested
    if not path.exists():
        raise FileNotFoundError(f"data path not found: {path}")
    return path


def check_benchmark(benchmark: str) -> None:
    if benchmark not in BENCHMARKS:
        raise UnknownNameError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")


def run_benchmark(
    benchmark: str,
    data: Path | str,
    models: Mapping[str, ModelFactory] | None = None,
    *,
    split_at: TimeLike | None = None,
    until: TimeLike | None = None,
) -> dict[str, object]:
    """Run ``benchmark`` on ``data`` (its folder/file or the shared data root) for ``models``.

    ``models`` maps names to zero-argument factories (default: every registered model that
    can fit the data). ``split_at`` / ``until`` apply to ``deskdrop-replay`` only.
    """
    check_benchmark(benchmark)
    path = resolve_data(benchmark, data)
    if benchmark == "movielens-100k":
        return movielens_benchmark(path, models)
    if benchmark == "movielens-100k-cold":
        return movielens_cold_benchmark(path, models)
    events = read_deskdrop_events(path)
    return deskdrop_benchmark(
        events, models, split_at=DEFAULT_SPLIT_AT if split_at is None else split_at, until=until
    )


def deskdrop_validation_window(split_at: TimeLike, days: float = 14) -> tuple[int, int]:
    """``(start, end)`` unix seconds of the ``days`` before ``split_at``, for tuning.

    ``deskdrop_benchmark(events, split_at=start, until=end)`` fits before ``start`` and scores
    the pairs of ``[start, end)``; no event at or after ``end`` is used (observed events are
    always before the pair's time).
    """
    end = unix_seconds(split_at)
    return end - int(days * DAY), end


# -- MovieLens ----------------------------------------------------------------------------
def movielens_item_features(path: Path | str) -> FeatureMatrix:
    """Genre multi-hot of every movie of ``u.item`` (sparse float32, ids as strings)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    genres = pd.read_csv(folder / "u.genre", sep="|", names=["genre", "code"], encoding="latin-1")
    genres = genres.dropna().sort_values("code")
    columns = ["item_id", "title", "release", "video", "url", *genres["genre"]]
    items = pd.read_csv(
        folder / "u.item", sep="|", names=columns, encoding="latin-1", usecols=range(len(columns))
    )
    values = sp.csr_matrix(items[genres["genre"].tolist()].to_numpy(np.float32))
    names = tuple(f"genre={g}" for g in genres["genre"])
    return FeatureMatrix(values, names, IdMap.from_ids(items["item_id"].astype(str), "content"))


def _ratings_dataset(train: pd.DataFrame, features: FeatureMatrix) -> Dataset:
    return Dataset.from_events(
        train["user_id"].astype(str).tolist(),
        train["item_id"].astype(str).tolist(),
        weights=train["rating"].to_numpy(np.float32),
        times=train["timestamp"].to_numpy(np.int64),
        item_features=features,
    )


def _test_users(
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
) -> dict[str, object]:
    """MS Recommenders' MovieLens-100K benchmark (see the module docstring)."""
    started = time.perf_counter()
    train, test = movielens_100k(path, ratio=ratio, seed=seed)
    dataset = _ratings_dataset(train, movielens_item_features(path))
    as_of = float(train["timestamp"].max())
    item_codes = {str(i): j for j, i in enumerate(np.sort(test["item_id"].unique()))}
    users, relevant = _test_users(test, item_codes)
    results: dict[str, dict[str, object]] = {}
    skipped: dict[str, str] = {}
    for name, factory in _factories(models).items():
        model, fit_seconds = _fit(name, factory, dataset, skipped, strict=models is not None)
        if model is None:
            continue
        clock = time.perf_counter()
        recommended, _ = model.recommend(list(users), K, as_of=as_of, exclude_seen=True)
        recommend_seconds = time.perf_counter() - clock
        recs = np.full((len(users), K), -1, np.int64)
        misses = len(item_codes)  # recommended items outside the test items: never relevant
        for row, ids in enumerate(recommended):
            codes = [item_codes.get(str(i), -1) for i in ids]
            for col, code in enumerate(codes):
                if code < 0:
                    code, misses = misses, misses + 1
                recs[row, col] = code
        per_user = ranking_metrics_per_user(recs, relevant, K)
        metrics = {
            "map@10": mean_over_users(per_user["map_n_relevant"]),
            "ndcg@10": mean_over_users(per_user["ndcg"]),
            "precision@10": mean_over_users(per_user["precision"]),
            "recall@10": mean_over_users(per_user["recall"]),
        }
        results[name] = _entry(
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
        "item_features": "genres (multi-hot, 19)",
        "map": "MS Recommenders `map`: sum of precision at hit ranks / n_relevant",
        "primary_metric": BENCHMARKS["movielens-100k"],
        "skipped_models": skipped,
    }
    return _result("movielens-100k", protocol, results, started)


def movielens_cold_benchmark(
    path: Path | str,
    models: Mapping[str, ModelFactory] | None = None,
    *,
    holdout: float = 0.2,
    seed: int = 42,
) -> dict[str, object]:
    """Cold-item MovieLens-100K: per-user AUC over held-out items (see the module docstring)."""
    started = time.perf_counter()
    train, test, cold = movielens_cold_items(path, holdout=holdout, seed=seed)
    features = movielens_item_features(path)
    dataset = _ratings_dataset(train, features)
    cold_ids = [str(i) for i in cold]
    cold_features = FeatureMatrix(
        features.rows(cold_ids), features.names, IdMap.from_ids(cold_ids, "content")
    )
    as_of = float(train["timestamp"].max())
    position = {c: j for j, c in enumerate(cold_ids)}
    users, relevant = _test_users(test, position)
    results: dict[str, dict[str, object]] = {}
    skipped: dict[str, str] = {}
    for name, factory in _factories(models).items():
        model, fit_seconds = _fit(name, factory, dataset, skipped, strict=models is not None)
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
        results[name] = _entry(
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
        "item_features": "genres (multi-hot, 19); cold items via add_items(ids, features)",
        "auc": "per user: rated cold items vs unrated cold items, mean over users",
        "primary_metric": BENCHMARKS["movielens-100k-cold"],
        "skipped_models": skipped,
    }
    return _result("movielens-100k-cold", protocol, results, started)


# -- DeskDrop -----------------------------------------------------------------------------
def deskdrop_benchmark(
    events: pd.DataFrame,
    models: Mapping[str, ModelFactory] | None = None,
    *,
    split_at: TimeLike = DEFAULT_SPLIT_AT,
    until: TimeLike | None = None,
) -> dict[str, object]:
    """Time-ordered DeskDrop replay (see the module docstring); ``events`` as read by
    :func:`~training.evaluation.protocols.read_deskdrop_events`."""
    started = time.perf_counter()
    replay = deskdrop_replay(events, split_at, until)
    log = _weighted_log(events)
    index = replay.index
    content_str = np.asarray([str(c) for c in index.content_ids], dtype=object)
    train = log[log["timestamp"].to_numpy() < replay.split_at]
    dataset = _deskdrop_dataset(train, index, content_str, replay.split_at)
    results: dict[str, dict[str, object]] = {}
    skipped: dict[str, str] = {}
    for name, factory in _factories(models).items():
        model, fit_seconds = _fit(name, factory, dataset, skipped, strict=models is not None)
        if model is None:
            continue
        ranks, seconds = _replay(model, replay, log, content_str)
        seconds = {"fit": fit_seconds, **seconds}
        slices = {"all": _pair_metrics(ranks)}
        for column in ("new_content", "new_person"):
            mask = replay.pairs[column].to_numpy(bool)
            slices[column] = _pair_metrics(ranks[mask])
        overall = {k: v for k, v in slices["all"].items() if k != "n"}
        results[name] = {**overall, "slices": slices, "seconds": _rounded(seconds)}
    pairs = replay.pairs
    protocol = {
        "split_at": replay.split_at,
        "split_at_utc": _utc(replay.split_at),
        "until": replay.until,
        "until_utc": None if replay.until is None else _utc(replay.until),
        "train_events": len(train),
        "test_pairs": len(pairs),
        "new_content_pairs": int(pairs["new_content"].sum()),
        "new_person_pairs": int(pairs["new_person"].sum()),
        "mean_candidates": float(pairs["n_candidates"].mean()) if len(pairs) else None,
        "event_weights": EVENT_WEIGHTS,
        "k": K,
        "replay": "observe every event with time < t before scoring pairs at t; no refit",
        "mrr": "uncut: 1 / rank of the target among all its candidates",
        "primary_metric": BENCHMARKS["deskdrop-replay"],
        "skipped_models": skipped,
    }
    return _result("deskdrop-replay", protocol, results, started)


def _weighted_log(events: pd.DataFrame) -> pd.DataFrame:
    """The event log in time order (stable) with string ids and a ``weight`` column."""
    weights = events["eventType"].map(EVENT_WEIGHTS)
    unknown = weights.isna()
    if unknown.any():
        logger.warning(
            "deskdrop: %d events of unknown type %s get weight 1",
            unknown.sum(),
            sorted(events.loc[unknown, "eventType"].astype(str).unique()),
        )
    log = pd.DataFrame(
        {
            "timestamp": events["timestamp"].to_numpy(np.int64),
            "person": events["personId"].astype(str).to_numpy(object),
            "content": events["contentId"].astype(str).to_numpy(object),
            "weight": weights.fillna(1.0).to_numpy(np.float32),
        }
    )
    return log.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _deskdrop_dataset(
    train: pd.DataFrame, index: CandidateIndex, content_str: np.ndarray, split_at: int
) -> Dataset:
    """Train events; items (first seen before the split) in first-seen order, with times."""
    n_items = int(index.n_available(split_at - 1))
    items = IdMap(content_str[:n_items], "content")
    return Dataset.from_events(
        train["person"].tolist(),
        train["content"].tolist(),
        weights=train["weight"].to_numpy(),
        times=train["timestamp"].to_numpy(),
        items=items,
        item_times=index.first_seen[:n_items],
    )


def _replay(
    model: Recommender, replay: DeskDropReplay, log: pd.DataFrame, content_str: np.ndarray
) -> tuple[np.ndarray, dict[str, float]]:
    """Rank of each test pair's target among its candidates (1 = first)."""
    index = replay.index
    pairs = replay.pairs
    log_times = log["timestamp"].to_numpy(np.int64)
    log_persons = log["person"].to_numpy(object)
    log_contents = log["content"].to_numpy(object)
    log_weights = log["weight"].to_numpy(np.float32)
    times = pairs["timestamp"].to_numpy(np.int64)
    person_pos = pairs["person_pos"].to_numpy(np.int64)
    person_ids = pairs["person_id"].astype(str).to_numpy(object)
    targets = content_str[pairs["content_pos"].to_numpy(np.int64)]
    n_candidates = pairs["n_candidates"].to_numpy(np.int64)
    ranks = np.zeros(len(pairs), np.int64)
    observed = int(np.searchsorted(log_times, replay.split_at, side="left"))
    added = len(model.items_)
    seconds = {"observe": 0.0, "recommend": 0.0}
    boundaries = np.flatnonzero(np.diff(times)) + 1
    for group in np.split(np.arange(len(pairs)), boundaries):
        if not group.size:
            continue
        t = int(times[group[0]])
        clock = time.perf_counter()
        available = int(index.n_available(t))
        if available > added:
            model.add_items(content_str[added:available], times=index.first_seen[added:available])
            added = available
        end = int(np.searchsorted(log_times, t, side="left"))
        if end > observed:
            model.observe(
                log_persons[observed:end],
                log_contents[observed:end],
                log_times[observed:end],
                log_weights[observed:end],
            )
            observed = end
        seconds["observe"] += time.perf_counter() - clock
        clock = time.perf_counter()
        people = list(dict.fromkeys(person_ids[group]))
        # the catalogue is exactly the contents available at t (only added here): rank it all
        every = None if len(model.items_) == available else content_str[:available]
        ranked, _ = model.recommend(
            people, available, candidates=every, as_of=t, exclude_seen=False
        )
        seconds["recommend"] += time.perf_counter() - clock
        by_person = dict(zip(people, ranked, strict=True))
        for row in group:
            order = by_person[person_ids[row]]
            hit = np.flatnonzero(order == targets[row])
            if not hit.size:  # the model dropped the target (e.g. a -inf score): last place
                ranks[row] = int(n_candidates[row])
                continue
            touched = set(content_str[index.touched_before(int(person_pos[row]), t)].tolist())
            skipped = sum(1 for c in order[: hit[0]].tolist() if c in touched) if touched else 0
            ranks[row] = hit[0] + 1 - skipped
    return ranks, seconds


def _pair_metrics(ranks: np.ndarray) -> dict[str, object]:
    """HR@10, NDCG@10 and MRR of single-target rankings (ranks 1-based)."""
    if not ranks.size:
        return {"hr@10": None, "ndcg@10": None, "mrr": None, "n": 0}
    inside = ranks <= K
    return {
        "hr@10": float(inside.mean()),
        "ndcg@10": float(np.where(inside, 1.0 / np.log2(ranks + 1.0), 0.0).mean()),
        "mrr": float((1.0 / ranks).mean()),
        "n": int(ranks.size),
    }


# -- shared -------------------------------------------------------------------------------
def _factories(models: Mapping[str, ModelFactory] | None) -> dict[str, ModelFactory]:
    return model_factories() if models is None else dict(models)


def _fit(
    name: str, factory: ModelFactory, dataset: Dataset, skipped: dict[str, str], *, strict: bool
) -> tuple[Recommender | None, float]:
    """A fitted model and its fit seconds; a default model that cannot fit is skipped."""
    clock = time.perf_counter()
    try:
        model = factory().fit(dataset)
    except Exception as exc:
        if strict:
            raise
        logger.warning("skipping model %s: %s", name, exc)
        skipped[name] = f"{type(exc).__name__}: {exc}"
        return None, 0.0
    return model, time.perf_counter() - clock


def _entry(
    metrics: dict[str, float],
    slices: dict[str, dict[str, object]],
    fit_seconds: float,
    recommend_seconds: float,
) -> dict[str, object]:
    return {
        **metrics,
        "slices": slices,
        "seconds": _rounded({"fit": fit_seconds, "recommend": recommend_seconds}),
    }


def _rounded(seconds: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in seconds.items()}


def _json_safe(value: object) -> object:
    """NaN -> None, numpy scalars -> Python, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _result(
    benchmark: str, protocol: dict[str, object], models: dict[str, object], started: float
) -> dict[str, object]:
    return _json_safe(
        {
            "benchmark": benchmark,
            "protocol": protocol,
            "models": models,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )


def _utc(seconds: int) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").isoformat()
