"""Compiled inner loops of a feed (numba), beside the numpy code they must equal.

A feed's own work is a few passes over the catalogue (eligibility, the score row, the best
``k``) and a few small per-item steps (reasons), each cheap, but as numpy calls each one
pays a call's overhead: dozens of them per request. The functions here do the same work
in one compiled call each. :class:`~recsys.feed.FeedRanker` uses them when its ``kernel``
is ``"numba"`` and the numpy code otherwise: the numpy code is the reference, and the tests
hold the two equal (same items, same scores, same reasons).

The kernel is chosen by :func:`resolve_kernel`: an explicit name, else the
``ADVOCACY_FEED_KERNEL`` environment variable (``numba`` or ``numpy``), else ``numba``.

Compilation: every function is compiled for fixed signatures when this module is imported
(not on a request), and numba caches the machine code (``cache=True``): in
``NUMBA_CACHE_DIR`` when it is set, else in ``__pycache__`` beside this file when that is
writable, else in the user's cache folder. Where no folder is writable the functions are
compiled in every process (a warning is logged); the import then takes a few seconds more
(~6 s of CPU here, against ~0.5 s from the cache), and nothing else changes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

numba: Any
try:
    import numba
except ImportError:  # pragma: no cover - numba is a pinned dependency
    numba = None

logger = logging.getLogger(__name__)

KERNEL_ENV = "ADVOCACY_FEED_KERNEL"
KERNELS = ("numba", "numpy")
DEFAULT_KERNEL = "numba"

#: Seconds this process spent compiling or loading the compiled functions at import.
COMPILE_SECONDS: float = 0.0


def resolve_kernel(kernel: str | None = None) -> str:
    """``kernel`` if given, else ``$ADVOCACY_FEED_KERNEL``, else ``"numba"`` (``"numpy"``
    when numba cannot be imported); a name outside :data:`KERNELS`, or ``"numba"`` without
    numba, raises ``ValueError`` naming where it came from."""
    source = "kernel"
    if kernel is None:
        found = os.environ.get(KERNEL_ENV, "").strip()
        if not found:
            return DEFAULT_KERNEL if numba is not None else "numpy"
        kernel, source = found, KERNEL_ENV
    name = str(kernel).strip().lower()
    if name not in KERNELS:
        raise ValueError(f"{source}: unknown feed kernel {kernel!r}; known: {', '.join(KERNELS)}")
    if name == "numba" and numba is None:
        raise ValueError(f"{source}: the numba feed kernel needs numba, which is not installed")
    return name


def _compile(signatures: list[Any]) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(signatures, cache=True)``; without a writable cache folder, the same
    without the cache (numba raises when no cache locator is available); without numba,
    the plain function (never called: :func:`resolve_kernel` refuses ``"numba"``)."""

    def decorate(function: Callable[..., Any]) -> Any:
        if numba is None:  # pragma: no cover
            return function
        try:
            return numba.njit(_typed(signatures), cache=True, nogil=True)(function)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            logger.warning("numba cannot cache %s (%s): compiled per process", function, exc)
            return numba.njit(_typed(signatures), cache=False, nogil=True)(function)

    return decorate


def _matrices(dtypes: tuple[str, ...]) -> list[Any]:
    """C-contiguous 2-D array types of these dtypes, writable and read-only (the model's
    cached sources are made read-only, :func:`recsys.models.cache.freeze`)."""
    if numba is None:  # pragma: no cover
        return []
    return [
        numba.types.Array(getattr(numba.types, dtype), 2, "C", readonly=readonly)
        for dtype in dtypes
        for readonly in (False, True)
    ]


if numba is not None:
    _F8 = numba.types.float64[::1]
    _I8 = numba.types.int64[::1]
    _SCALAR = numba.types.float64
else:  # pragma: no cover
    _F8 = _I8 = _SCALAR = None


def _rows(dtypes: tuple[str, ...]) -> list[Any]:
    """C-contiguous 1-D array types of these dtypes, writable and read-only."""
    return [
        numba.types.Array(getattr(numba.types, dtype), 1, "C", readonly=readonly)
        for dtype in dtypes
        for readonly in (False, True)
    ]


def _typed(signatures: list[Any]) -> list[Any]:
    """Signatures as numba takes them: strings as they are, argument tuples as ``void``
    functions of those types."""
    return [s if not isinstance(s, tuple) else numba.types.void(*s) for s in signatures]


_started = time.perf_counter()


# -- the best k eligible items of a score row ----------------------------------------------
def _inline(signature: str) -> Callable[[Callable[..., Any]], Any]:
    """A compiled helper that the kernels inline (not called from Python)."""

    def decorate(function: Callable[..., Any]) -> Any:
        if numba is None:  # pragma: no cover
            return function
        return numba.njit(signature, inline="always", nogil=True)(function)

    return decorate


@_inline("int64(float64, int64, int64, int64, int64[::1], float64[::1])")
def _keep_best(value, i, found, k, out_items, out_scores) -> int:  # pragma: no cover - compiled
    """Insert position ``i`` with ``value`` into the ``found`` best so far (at most ``k``,
    best first; a tie keeps the earlier position ahead; a value that is not finite is
    skipped); returns the new count."""
    if not np.isfinite(value):
        return found
    if found == k:
        if value <= out_scores[k - 1]:  # ties: the earlier (lower) position stays
            return found
        found -= 1
    j = found
    while j > 0 and out_scores[j - 1] < value:
        out_scores[j] = out_scores[j - 1]
        out_items[j] = out_items[j - 1]
        j -= 1
    out_scores[j] = value
    out_items[j] = i
    return found + 1


@_compile(
    [
        numba.types.int64(row, numba.types.boolean[::1], numba.types.int64, _I8, _F8)
        for row in _rows(("float32", "float64"))
    ]
    if numba is not None
    else []
)
def top_eligible(
    scores: np.ndarray, eligible: np.ndarray, k: int, out_items: np.ndarray, out_scores: np.ndarray
) -> int:  # pragma: no cover - compiled
    """The best ``k`` positions of ``scores`` where ``eligible`` and the score is finite,
    best first, ties to the lower position (:func:`recsys.metrics.top_k`'s order), written
    to ``out_items`` / ``out_scores`` (as float64); returns how many were found."""
    found = 0
    for i in range(scores.shape[0]):
        if eligible[i]:
            found = _keep_best(np.float64(scores[i]), i, found, k, out_items, out_scores)
    return found


@_compile(
    [
        "int64(float32[::1], float32[::1], float32[::1], float32[::1], float32[::1], int64,"
        " boolean[::1], int64, int64[::1], float64[::1])"
    ]
)
def top_eligible_sum(
    static, vector, first, second, third, parts, eligible, k, out_items, out_scores
) -> int:  # pragma: no cover - compiled
    """:func:`top_eligible` of the float32 scores ``static + live`` (over ``eligible``'s
    length), ``live`` being ``vector`` plus the first ``parts`` (0-3) of ``first``,
    ``second``, ``third``, added in that order in float32: the sums numpy makes of the
    same rows, without writing them."""
    found = 0
    for i in range(eligible.shape[0]):
        if not eligible[i]:
            continue
        live = vector[i]
        if parts > 0:
            live = np.float32(live + first[i])
        if parts > 1:
            live = np.float32(live + second[i])
        if parts > 2:
            live = np.float32(live + third[i])
        value = np.float64(np.float32(static[i] + live))
        found = _keep_best(value, i, found, k, out_items, out_scores)
    return found


# -- reasons: contributions of the chosen items, and which parts each item names ------------
@_compile(
    [
        (_F8, matrix, _I8, _SCALAR, _SCALAR, _F8, _F8, _F8, _F8, _F8)
        for matrix in _matrices(("float32",))
    ]
)
def dot_contributions(
    vector, matrix, items, scale, offset, bias, coef, mean, sd, out
) -> None:  # pragma: no cover - compiled
    """``out[t] = coef[i] * (raw - mean[i]) / sd[i]`` for ``i = items[t]``, ``raw = scale *
    (vector . matrix[i]) + offset + bias[t]`` (:class:`~recsys.models.component.DotRow`
    of float32 rows; an empty ``bias`` adds nothing). The dot product is summed in float64
    in order, as numpy's einsum of float32 rows sums it here."""
    d = vector.shape[0]
    for t in range(items.shape[0]):
        i = items[t]
        total = 0.0
        for j in range(d):
            total += vector[j] * np.float64(matrix[i, j])
        raw = scale * total + offset
        if bias.shape[0]:
            raw += bias[t]
        out[t] = coef[i] * (raw - mean[i]) / sd[i]


@_compile([(_I8, matrix, _I8, _F8, _F8, _F8, _F8) for matrix in _matrices(("float32",))])
def history_contributions(
    history, matrix, items, coef, mean, sd, out
) -> None:  # pragma: no cover - compiled
    """``out[t] = coef[i] * (raw - mean[i]) / sd[i]`` for ``i = items[t]``, ``raw`` the sum
    of ``matrix[h, i]`` over ``history`` in order (0 beyond ``matrix``'s columns;
    :class:`~recsys.models.component.HistoryRow`)."""
    n = matrix.shape[1]
    for t in range(items.shape[0]):
        i = items[t]
        raw = 0.0
        if i < n:
            for h in history:
                raw += np.float64(matrix[h, i])
        out[t] = coef[i] * (raw - mean[i]) / sd[i]


@_compile(
    [
        "void(float64[:, ::1], int64[::1], int64, int64, int64, int64[::1], int64[::1],"
        " boolean[::1], int64[::1], int64, float64, int64[:, ::1], float64[:, ::1], int64[::1],"
        " int64[::1])"
    ]
)
def choose_reasons(
    contributions,
    column_of,
    n_columns,
    fresh_column,
    topic_column,
    topic_indptr,
    topic_codes,
    followed,
    items,
    per_item,
    min_contribution,
    out_columns,
    out_values,
    out_counts,
    out_topic,
) -> None:  # pragma: no cover - compiled
    """Per item (column ``t`` of ``contributions``, one row per score component): the
    components summed per reason column (``column_of``; -1: no reason), in row order; the
    freshness moved to ``topic_column`` for an item in a ``followed`` topic (its first such
    topic in ``out_topic``, else -1); then up to ``per_item`` columns contributing more than
    ``min_contribution``, largest first, ties to the lower column (``out_columns``,
    ``out_values``, ``out_counts``). :func:`recsys.reasons.feed_reasons_for_rows` and
    ``ReasonBuilder._new_in_topic`` are the reference."""
    m, k = contributions.shape
    sums = np.zeros(n_columns)
    for t in range(k):
        sums[:] = 0.0
        for r in range(m):
            c = column_of[r]
            if c >= 0:
                sums[c] += contributions[r, t]
        out_topic[t] = -1
        if fresh_column >= 0:
            item = items[t]
            for p in range(topic_indptr[item], topic_indptr[item + 1]):
                if followed[topic_codes[p]]:
                    out_topic[t] = topic_codes[p]
                    break
            if out_topic[t] >= 0:
                sums[topic_column] = sums[fresh_column]
                sums[fresh_column] = 0.0
            else:
                sums[topic_column] = 0.0
        count = 0
        for c in range(n_columns):
            value = sums[c]
            if not (np.isfinite(value) and value > min_contribution):
                continue
            if count == per_item:
                if value <= out_values[t, per_item - 1]:
                    continue
                count -= 1
            j = count
            while j > 0 and out_values[t, j - 1] < value:
                out_values[t, j] = out_values[t, j - 1]
                out_columns[t, j] = out_columns[t, j - 1]
                j -= 1
            out_values[t, j] = value
            out_columns[t, j] = c
            count += 1
        out_counts[t] = count


COMPILE_SECONDS = time.perf_counter() - _started
