"""Conventions shared by the feature builders.

A builder follows scikit-learn's rules: ``__init__`` stores parameters only; ``fit(snapshot)``
learns what it needs (vocabularies, scales) from a :class:`~features.snapshot.Snapshot` and
returns ``self``; learned state ends in ``_``; ``transform(snapshot, ids=None)`` returns a
:class:`~recsys.matrix.FeatureMatrix` (rows = ids, named columns) computed only from what the
snapshot knew at its ``as_of``. A fitted builder transforms rows it never saw in ``fit``
(new content, new hires) without refitting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from features.snapshot import Snapshot
from recsys.errors import OptedOutError
from recsys.ids import IdMap, UnknownIdError

OTHER = "__other__"


def check_fitted(builder: object, attribute: str) -> None:
    """Raise a clear error when ``builder`` is used before ``fit``."""
    if not hasattr(builder, attribute):
        raise NotFittedError(f"{type(builder).__name__} is not fitted: call fit(snapshot) first")


def select_rows(frame: pd.DataFrame, key: str, ids: Sequence[str] | None) -> pd.DataFrame:
    """Rows of ``frame`` for ``ids`` in that order (all rows if None); unknown ids raise."""
    if ids is None:
        return frame.reset_index(drop=True)
    indexed = frame.set_index(key, drop=False)
    missing = [i for i in ids if i not in indexed.index]
    if missing:
        raise KeyError(f"unknown {key}(s): {', '.join(map(str, missing[:5]))}")
    return indexed.loc[list(ids)].reset_index(drop=True)


def vocabulary(
    values: Iterable[object], *, min_count: int = 1, limit: int | None = None
) -> list[str]:
    """Distinct non-empty values seen at least ``min_count`` times, most frequent first."""
    counts = pd.Series([str(v) for v in values if v is not None and v == v and str(v) != ""])
    counts = counts.value_counts()
    counts = counts[counts >= min_count]
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [value for value, _ in ordered[:limit]]


def one_hot(
    values: Sequence[object], vocab: list[str], prefix: str
) -> tuple[sp.csr_matrix, list[str]]:
    """One-hot columns ``prefix=value`` for ``vocab`` plus ``prefix=__other__`` for the rest."""
    index = {v: i for i, v in enumerate(vocab)}
    other = len(vocab)
    rows, cols = [], []
    for row, value in enumerate(values):
        if value is None or value != value or str(value) == "":
            continue
        rows.append(row)
        cols.append(index.get(str(value), other))
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(values), other + 1)
    )
    return matrix, [f"{prefix}={v}" for v in [*vocab, OTHER]]


def multi_hot(
    lists: Sequence[Sequence[str]], vocab: list[str], prefix: str
) -> tuple[sp.csr_matrix, list[str]]:
    """Multi-hot columns ``prefix=value`` for ``vocab``; values outside it are dropped."""
    index = {v: i for i, v in enumerate(vocab)}
    rows, cols = [], []
    for row, items in enumerate(lists):
        for item in set(items or ()):
            if item in index:
                rows.append(row)
                cols.append(index[item])
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(lists), len(vocab))
    )
    return matrix, [f"{prefix}={v}" for v in vocab]


def profiled_rows(snapshot: Snapshot, ids: Sequence[str] | None) -> pd.DataFrame:
    """Advocate rows for ``ids`` in that order (default: all who did not opt out).

    Raises :class:`~recsys.ids.UnknownIdError` for ids not in the snapshot and
    :class:`~recsys.errors.OptedOutError` for advocates who opted out.
    """
    profiled = snapshot.profiled_advocates
    if ids is None:
        return profiled
    wanted = [str(i) for i in ids]
    known = pd.Index(snapshot.advocates["employee_id"].astype(str))
    unknown = [i for i, pos in zip(wanted, known.get_indexer(wanted), strict=True) if pos < 0]
    if unknown:
        raise UnknownIdError("advocate", unknown)
    positions = pd.Index(profiled["employee_id"].astype(str)).get_indexer(wanted)
    opted_out = [i for i, pos in zip(wanted, positions, strict=True) if pos < 0]
    if opted_out:
        raise OptedOutError(opted_out)
    return profiled.iloc[positions].reset_index(drop=True)


def until(frame: pd.DataFrame, column: str, as_of: pd.Timestamp) -> pd.DataFrame:
    """Rows of ``frame`` observed at or before ``as_of`` (a guard for uncut snapshots)."""
    keep = (pd.to_datetime(frame[column], utc=True) <= as_of).to_numpy()
    return frame if keep.all() else frame.loc[keep]


def lookup(column: pd.Series, keys: pd.Index) -> np.ndarray:
    """Position in ``keys`` of each cell's text (-1 when missing or absent); fast on long
    columns with few distinct values (factorises first)."""
    codes, uniques = pd.factorize(column)
    if len(uniques) == 0:
        return np.full(len(codes), -1, dtype=np.int64)
    positions = keys.get_indexer(pd.Index(np.asarray(uniques, dtype=object).astype(str)))
    return np.where(codes >= 0, positions[np.clip(codes, 0, None)], -1).astype(np.int64)


def advocate_index(advocates: pd.DataFrame) -> IdMap:
    """The row ids of a builder's output."""
    return IdMap(advocates["employee_id"].astype(str).to_numpy(dtype=object), "advocate")
