"""Training examples of the hybrid's second stage: replayed time split, or random holdout.

Both fit the component models on part of the training events (``fit_parts``) and turn the
held-back events into labelled rows of raw component values (1: the event's item, 0: sampled
items the employee had not touched), which the hybrid's logistic regression learns from.

``time_examples`` is vectorised: the held-back period is cut into ``blocks`` consecutive
blocks of equally many positives; before a block, the live components observe every event
before the block's first time, then all of the block's examples are computed at once, each at
its own time (trends decayed to it, freshness from it). So within a block the live state lags
by at most the block's span (1/``blocks`` of the held-back events). At most
``max_positives`` positives (a seeded sample, default 100,000) become examples, which bounds
the memory of the examples (each positive gives ``1 + negatives`` rows).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping

import numpy as np

from recsys.dataset import Dataset
from recsys.models.component import ScoreComponent
from recsys.models.hybrid_scoring import pair_values

logger = logging.getLogger(__name__)

#: (X, y, cold, group): raw values, labels, rows on items scored as new content, and the
#: ranking each row belongs to (rows of one group are candidates of one ranking).
Examples = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
FitParts = Callable[[Dataset], dict[str, ScoreComponent]]


def _empty(names: list[str]) -> Examples:
    return (
        np.zeros((0, len(names))),
        np.zeros(0, np.int64),
        np.zeros(0, bool),
        np.zeros(0, np.int64),
    )


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
    max_positives: int = 100_000,
) -> Examples:
    """(X, y, cold) of the first events of (employee, item) pairs after the time split;
    ``cold`` marks rows whose item had no event before the split (scored as new content)."""
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
    if len(pos_keys) > max_positives:  # a seeded sample, still in time order
        sample = np.sort(rng.choice(len(pos_keys), max_positives, replace=False))
        pos_keys, pos_times = pos_keys[sample], pos_times[sample]
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
    unseen = np.bincount(events.items[before], minlength=n_items) == 0
    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    colds: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    for block in np.array_split(np.arange(len(pos_users)), min(blocks, len(pos_users))):
        start_time = pos_times[block[0]]
        end = int(np.searchsorted(times[event_order], start_time, side="left"))
        if end > observed:
            chosen = event_order[observed:end]
            observe_all(
                parts,
                events.users[chosen],
                events.items[chosen],
                times[chosen],
                events.weights[chosen],
            )
            observed = end
        x, y, items = _block_rows(
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
        colds.append(unseen[items])
        counts = valid[block].sum(axis=1)
        groups.append(np.r_[block, np.repeat(block, counts)])
    return (
        np.vstack(rows),
        np.concatenate(labels),
        np.concatenate(colds),
        np.concatenate(groups),
    )


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


def _block_rows(
    parts, item_times, names, users, items, times, neg_items, valid
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = valid.sum(axis=1)
    all_users = np.concatenate([users, np.repeat(users, counts)])
    all_items = np.concatenate([items, neg_items[valid]])
    all_times = np.concatenate([times, np.repeat(times, counts)])
    values = pair_values(parts, all_users, all_items, all_times)
    x = np.column_stack([values[name] for name in names])
    y = np.r_[np.ones(len(users), np.int64), np.zeros(int(counts.sum()), np.int64)]
    return x, y, all_items


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
    """(X, y, cold) of a seeded random holdout; empty when there is none.

    ``validation_fraction`` of the events is held out, and as many items entirely (with all
    their events: they enter the fitted parts as new content does, from features). Warm rows:
    held-out events of the other items against popularity-sampled items the employee never
    touched; cold rows (``cold`` True): the held-out items' pairs against held-out items the
    employee never touched.
    """
    events = dataset.interactions
    n, n_items = len(events), len(dataset.items)
    size = round(validation_fraction * n)
    if n < 4 or size < 1 or size >= n - 1:
        return _empty(names)
    users = np.asarray(events.users, np.int64)
    items = np.asarray(events.items, np.int64)
    held = np.zeros(n, bool)
    held[rng.choice(n, size=size, replace=False)] = True
    cold_items = np.zeros(n_items, bool)
    n_cold = round(validation_fraction * n_items)
    if 2 <= n_cold < n_items - 1:
        cold_items[rng.choice(n_items, size=n_cold, replace=False)] = True
    on_cold = cold_items[items]
    rest = ~held & ~on_cold
    if rest.sum() < 2:
        return _empty(names)
    pair = users * n_items + items
    touched = np.unique(pair)
    positives = np.unique(pair[held & ~on_cold & ~np.isin(pair, np.unique(pair[rest]))])
    parts = fit_parts(dataclasses.replace(dataset, interactions=events.select(rest)))
    as_of = float(np.asarray(events.times, np.float64).max())
    popularity = np.bincount(items[rest], minlength=n_items) + 1.0
    warm = _holdout_rows(
        parts,
        item_times,
        names,
        positives,
        touched,
        np.flatnonzero(~cold_items),
        popularity,
        negatives,
        rng,
        as_of,
        n_items,
    )
    cold = _holdout_rows(
        parts,
        item_times,
        names,
        np.unique(pair[on_cold]),
        touched,
        np.flatnonzero(cold_items),
        np.ones(n_items),
        negatives,
        rng,
        as_of,
        n_items,
    )
    x = np.vstack([warm[0], cold[0]])
    y = np.concatenate([warm[1], cold[1]])
    flags = np.r_[np.zeros(len(warm[1]), bool), np.ones(len(cold[1]), bool)]
    groups = np.r_[warm[2], cold[2] + len(dataset.users)]
    return x, y, flags, groups


def _holdout_rows(
    parts,
    item_times,
    names,
    positives,
    touched,
    pool_items,
    popularity,
    negatives,
    rng,
    as_of,
    n_items,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per employee of ``positives`` (pair keys): their items and sampled untouched items of
    ``pool_items`` (weighted by ``popularity``), as rows of raw component values."""
    rows: list[np.ndarray] = [np.zeros((0, len(names)))]
    labels: list[np.ndarray] = [np.zeros(0, np.int64)]
    groups: list[np.ndarray] = [np.zeros(0, np.int64)]
    pos_users = positives // n_items
    for user in np.unique(pos_users):
        mine = positives[pos_users == user] % n_items
        seen = touched[(touched >= user * n_items) & (touched < (user + 1) * n_items)]
        pool = np.setdiff1d(pool_items, seen % n_items)
        if not len(pool):
            continue
        count = min(negatives * len(mine), len(pool))
        weights = popularity[pool] / popularity[pool].sum()
        chosen = np.sort(rng.choice(pool, size=count, replace=False, p=weights))
        candidates = np.r_[mine, chosen].astype(np.int64)
        repeated = np.full(len(candidates), user, np.int64)
        values = pair_values(parts, repeated, candidates, as_of)
        rows.append(np.column_stack([values[name] for name in names]))
        labels.append(np.r_[np.ones(len(mine), np.int64), np.zeros(count, np.int64)])
        groups.append(np.full(len(candidates), user, np.int64))
    return np.vstack(rows), np.concatenate(labels), np.concatenate(groups)


def observe_all(components: Mapping[str, ScoreComponent], users, items, times, weights) -> None:
    """Feed events (internal ids) to every component's live state."""
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    times = np.asarray(times, np.float64)
    weights = np.asarray(weights, np.float32)
    for component in components.values():
        component.observe_events(users, items, times, weights)
