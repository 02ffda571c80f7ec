"""Training examples of the hybrid's second stage: replayed time split, or random holdout.

Both fit the component models on part of the training events (``fit_parts``) and turn the
held-back events into labelled rows of raw component values (1: the event's item, 0: sampled
items the employee had not touched), which the hybrid's logistic regression learns from.

``time_examples`` is vectorised: the held-back period is cut into ``blocks`` consecutive
blocks of equally many positives; before a block, the live components observe every event
before the block's first time, then all of the block's examples are computed at once, each at
its own time (trends decayed to it, freshness from it). So within a block the live state lags
by at most the block's span (1/``blocks`` of the held-back events), where the former per-event
loop had none; with the default 200 blocks on DeskDrop a block spans about an hour.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np

from recsys.dataset import Dataset
from recsys.models.hybrid_scoring import pair_values

logger = logging.getLogger(__name__)

Examples = tuple[np.ndarray, np.ndarray]
FitParts = Callable[[Dataset], dict[str, object]]


def _empty(names: list[str]) -> Examples:
    return np.zeros((0, len(names))), np.zeros(0, np.int64)


def time_examples(
    dataset: Dataset,
    names: list[str],
    fit_parts: FitParts,
    *,
    validation_fraction: float,
    negatives: int,
    rng: np.random.Generator,
    item_times: np.ndarray,
    blocks: int = 200,
) -> Examples:
    """(X, y) of the first events of (employee, item) pairs after the time split."""
    events = dataset.interactions
    if len(events) < 4:
        return _empty(names)
    times = events.times.astype(np.float64)
    split = float(np.quantile(times, 1.0 - validation_fraction))
    before = times < split
    if before.sum() < 2 or before.all():
        return _empty(names)
    early = dataclasses.replace(dataset, interactions=events.select(before))
    parts = fit_parts(early)
    n_items = len(dataset.items)
    keys, first_time = _first_touches(events.users, events.items, times, n_items)
    late = first_time >= split
    order = np.argsort(first_time[late], kind="stable")
    pos_keys, pos_times = keys[late][order], first_time[late][order]
    pos_users, pos_items = pos_keys // n_items, pos_keys % n_items
    neg_items, valid = _negatives(
        pos_users, pos_items, pos_times, keys, first_time, item_times, negatives, rng
    )
    keep = valid.any(axis=1)
    pos_users, pos_items, pos_times = pos_users[keep], pos_items[keep], pos_times[keep]
    neg_items, valid = neg_items[keep], valid[keep]
    if not len(pos_users):
        return _empty(names)
    event_order = np.argsort(times, kind="stable")
    observed = int(np.searchsorted(times[event_order], split, side="left"))
    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for block in np.array_split(np.arange(len(pos_users)), min(blocks, len(pos_users))):
        start_time = pos_times[block[0]]
        end = int(np.searchsorted(times[event_order], start_time, side="left"))
        if end > observed:
            chosen = event_order[observed:end]
            _observe(
                parts,
                events.users[chosen],
                events.items[chosen],
                times[chosen],
                events.weights[chosen],
            )
            observed = end
        x, y = _block_rows(
            parts,
            item_times,
            names,
            pos_users[block],
            pos_items[block],
            pos_times[block],
            neg_items[block],
            valid[block],
        )
        rows.append(x)
        labels.append(y)
    return np.vstack(rows), np.concatenate(labels)


def _first_touches(
    users: np.ndarray, items: np.ndarray, times: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique pair keys ``user * n_items + item`` and each pair's first time."""
    keys = np.asarray(users, np.int64) * n_items + np.asarray(items, np.int64)
    order = np.lexsort((times, keys))
    sorted_keys = keys[order]
    unique, first = np.unique(sorted_keys, return_index=True)
    return unique, times[order][first]


def _negatives(
    users: np.ndarray,
    items: np.ndarray,
    times: np.ndarray,
    keys: np.ndarray,
    first_time: np.ndarray,
    item_times: np.ndarray,
    negatives: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``negatives`` items per positive drawn among the items available at its time; ``valid``
    is False for draws the employee touched before that time, or the positive itself."""
    n_items = len(item_times)
    by_time = np.argsort(item_times, kind="stable")
    available = np.searchsorted(np.asarray(item_times)[by_time], times, side="right")
    draws = np.floor(rng.random((len(users), negatives)) * available[:, None]).astype(np.int64)
    chosen = by_time[np.minimum(draws, n_items - 1)]
    query = users[:, None] * n_items + chosen
    at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    touched = (keys[at] == query) & (first_time[at] < times[:, None])
    valid = ~touched & (chosen != items[:, None]) & (available[:, None] > 0)
    return chosen, valid


def _block_rows(parts, item_times, names, users, items, times, neg_items, valid) -> Examples:
    counts = valid.sum(axis=1)
    all_users = np.concatenate([users, np.repeat(users, counts)])
    all_items = np.concatenate([items, neg_items[valid]])
    all_times = np.concatenate([times, np.repeat(times, counts)])
    values = pair_values(parts, item_times, all_users, all_items, all_times, names)
    x = np.column_stack([values[name] for name in names])
    y = np.r_[np.ones(len(users), np.int64), np.zeros(int(counts.sum()), np.int64)]
    return x, y


def random_examples(
    dataset: Dataset,
    names: list[str],
    fit_parts: FitParts,
    *,
    validation_fraction: float,
    negatives: int,
    rng: np.random.Generator,
    item_times: np.ndarray,
) -> Examples:
    """(X, y) of a seeded random holdout of the events; empty when there is none."""
    events = dataset.interactions
    n = len(events)
    n_items = len(dataset.items)
    if n < 4:
        return _empty(names)
    size = round(validation_fraction * n)
    if size < 1 or size >= n - 1:
        return _empty(names)
    held = np.zeros(n, bool)
    held[rng.choice(n, size=size, replace=False)] = True
    users = np.asarray(events.users, np.int64)
    items = np.asarray(events.items, np.int64)
    pair = users * n_items + items
    rest_pairs = np.unique(pair[~held])
    positives = np.unique(pair[held & ~np.isin(pair, rest_pairs)])
    if not len(positives):
        return _empty(names)
    rest = dataclasses.replace(dataset, interactions=events.select(~held))
    parts = fit_parts(rest)
    as_of = float(np.asarray(events.times, np.float64).max())
    touched = np.unique(pair)
    popularity = np.bincount(items[~held], minlength=n_items) + 1.0
    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    pos_users = positives // n_items
    for user in np.unique(pos_users):
        mine = positives[pos_users == user] % n_items
        seen = touched[(touched >= user * n_items) & (touched < (user + 1) * n_items)]
        pool = np.setdiff1d(np.arange(n_items), seen % n_items)
        if not len(pool):
            continue
        count = min(negatives * len(mine), len(pool))
        weights = popularity[pool] / popularity[pool].sum()
        chosen = np.sort(rng.choice(pool, size=count, replace=False, p=weights))
        candidates = np.r_[mine, chosen].astype(np.int64)
        repeated = np.full(len(candidates), user, np.int64)
        values = pair_values(parts, item_times, repeated, candidates, as_of, names)
        rows.append(np.column_stack([values[name] for name in names]))
        labels.append(np.r_[np.ones(len(mine), np.int64), np.zeros(count, np.int64)])
    if not rows:
        return _empty(names)
    return np.vstack(rows), np.concatenate(labels)


def _observe(parts: dict[str, object], users, items, times, weights) -> None:
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    times = np.asarray(times, np.float64)
    weights = np.asarray(weights, np.float32)
    for part in parts.values():
        part._observe(users, items, times, weights)
