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
