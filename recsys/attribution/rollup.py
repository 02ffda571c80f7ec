"""Rolling per-touch credit up to the caller's keys: shares, advocates, content, networks,
departments (any per-touch integer code)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.attribution.errors import InvalidInputError
from recsys.attribution.paths import TouchPaths


@dataclass(frozen=True, eq=False)
class RolledUp:
    """Credit per key: in conversions, and in conversion value (``None`` without values)."""

    conversions: np.ndarray  # float64 per key
    value: np.ndarray | None  # float64 per key


def roll_up(
    paths: TouchPaths,
    credit: np.ndarray,
    key: np.ndarray,
    value: np.ndarray | None = None,
    n_keys: int | None = None,
) -> RolledUp:
    """Sum ``credit`` (per touch) by ``key`` (int per touch, >= 0).

    ``conversions[k]`` is the credited conversions of key ``k``; with ``value`` (float per
    path, e.g. a purchase amount, 0 when unknown) ``value[k]`` sums ``credit * value`` of the
    touch's path. ``n_keys`` (default ``key.max() + 1``) sets the length of the results.
    Both sum to the totals of the converting paths when credit sums to 1 per path.
    """
    credit = np.asarray(credit)
    if credit.shape != (paths.n_touches,) or not np.issubdtype(credit.dtype, np.number):
        raise InvalidInputError("credit", f"must be numbers, one per touch ({paths.n_touches})")
    key = np.asarray(key)
    if key.shape != (paths.n_touches,):
        raise InvalidInputError("key", f"must have one entry per touch ({paths.n_touches})")
    if key.size and (not np.issubdtype(key.dtype, np.integer) or key.min() < 0):
        raise InvalidInputError("key", "must hold integers >= 0")
    needed = int(key.max()) + 1 if key.size else 0
    if n_keys is None:
        n_keys = needed
    elif n_keys < needed:
        raise InvalidInputError("n_keys", f"is {n_keys}, but key holds {needed - 1}")
    key = key.astype(np.int64, copy=False)
    conversions = np.bincount(key, credit.astype(np.float64), minlength=n_keys)
    if value is None:
        return RolledUp(conversions, None)
    value = np.asarray(value)
    if value.shape != (paths.n_paths,) or not np.issubdtype(value.dtype, np.number):
        raise InvalidInputError("value", f"must be numbers, one per path ({paths.n_paths})")
    if not np.isfinite(value).all():
        raise InvalidInputError("value", "must be finite (use 0 for an unknown value)")
    touch_value = credit * value.astype(np.float64)[paths.path_index()]
    return RolledUp(conversions, np.bincount(key, touch_value, minlength=n_keys))
