"""A feature matrix: rows for ids, named columns."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys.ids import IdMap


@dataclass(frozen=True)
class FeatureMatrix:
    """``values[i, j]`` is feature ``names[j]`` of ``ids.external[i]``."""

    values: np.ndarray | sp.csr_matrix
    names: tuple[str, ...]
    ids: IdMap

    def __post_init__(self) -> None:
        rows, columns = self.values.shape
        if rows != len(self.ids):
            raise ValueError(f"{rows} rows for {len(self.ids)} {self.ids.kind} ids")
        if columns != len(self.names):
            raise ValueError(f"{columns} columns for {len(self.names)} feature names")
        if len(set(self.names)) != len(self.names):
            raise ValueError("feature names are not unique")

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    def column(self, name: str) -> np.ndarray:
        """One feature for every id, dense."""
        j = self.names.index(name)
        column = self.values[:, j]
        return column if isinstance(column, np.ndarray) else np.asarray(column.todense()).ravel()

    def select(self, prefix: str) -> FeatureMatrix:
        """The columns whose names start with ``prefix``."""
        keep = [j for j, n in enumerate(self.names) if n.startswith(prefix)]
        return FeatureMatrix(self.values[:, keep], tuple(self.names[j] for j in keep), self.ids)

    def rows(self, external_ids: list[str]) -> np.ndarray | sp.csr_matrix:
        return self.values[self.ids.to_internal(external_ids)]

    @staticmethod
    def hstack(*parts: FeatureMatrix) -> FeatureMatrix:
        """Side by side; every part must have the same ids in the same order."""
        first = parts[0]
        for part in parts[1:]:
            if not np.array_equal(part.ids.external, first.ids.external):
                raise ValueError("feature matrices have different ids")
        if any(sp.issparse(p.values) for p in parts):
            values = sp.hstack([sp.csr_matrix(p.values) for p in parts], format="csr")
        else:
            values = np.hstack([p.values for p in parts])
        names = tuple(n for p in parts for n in p.names)
        return FeatureMatrix(values, names, first.ids)


def dense(values: np.ndarray | sp.spmatrix) -> np.ndarray:
    """float64 dense copy of a dense or sparse block."""
    if sp.issparse(values):
        return np.asarray(sp.csr_matrix(values).toarray(), np.float64)
    return np.asarray(values, np.float64)


def rows_by_name(features: FeatureMatrix, ids: list[str], names: np.ndarray) -> np.ndarray:
    """Dense rows of ``features`` for ``ids`` in the column order ``names``.

    Ids the matrix lacks get zero rows; columns it lacks are zero; extra columns are ignored.
    """
    out = np.zeros((len(ids), len(names)))
    rows = features.ids.to_internal(ids, missing="ignore")
    position = {name: j for j, name in enumerate(features.names)}
    columns = np.asarray([position.get(str(n), -1) for n in names], np.int64)
    present, have = np.flatnonzero(rows >= 0), columns >= 0
    if len(present) and have.any():
        block = dense(features.values[rows[present]])
        out[np.ix_(present, np.flatnonzero(have))] = block[:, columns[have]]
    return out


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float64); zero rows stay zero.

    The norms are ``np.linalg.norm(matrix, axis=1)``'s own arithmetic (the same values),
    without its argument handling: a feed normalises one row per request."""
    matrix = np.asarray(matrix, np.float64)
    if matrix.shape[0] == 1:  # a feed's one profile: the same sum, without the broadcasting
        norm = math.sqrt(float(np.add.reduce(matrix[0] * matrix[0])))
        return matrix / norm if norm > 0 else np.zeros(matrix.shape)
    norms = np.sqrt(np.add.reduce(matrix * matrix, axis=1, keepdims=True))
    return np.divide(matrix, norms, out=np.zeros(matrix.shape), where=norms > 0)


def save_matrix(matrix: FeatureMatrix, path: str | Path) -> None:
    """Write ``matrix`` to an ``.npz`` file of plain arrays (no pickle)."""
    arrays: dict[str, np.ndarray] = {
        "names": np.asarray(matrix.names, dtype=np.str_),
        "ids": np.asarray(matrix.ids.external.tolist(), dtype=np.str_),
        "id_kind": np.asarray(matrix.ids.kind, dtype=np.str_),
    }
    if sp.issparse(matrix.values):
        csr = sp.csr_matrix(matrix.values)
        arrays |= {
            "data": csr.data,
            "indices": csr.indices,
            "indptr": csr.indptr,
            "shape": np.asarray(csr.shape, dtype=np.int64),
        }
    else:
        arrays["values"] = np.asarray(matrix.values)
    np.savez(path, allow_pickle=False, **arrays)


def load_matrix(path: str | Path) -> FeatureMatrix:
    """Read a matrix written by :func:`save_matrix`."""
    with np.load(path, allow_pickle=False) as stored:
        if "values" in stored:
            values: np.ndarray | sp.csr_matrix = stored["values"]
        else:
            shape = tuple(int(n) for n in stored["shape"])
            values = sp.csr_matrix((stored["data"], stored["indices"], stored["indptr"]), shape)
        ids = IdMap(stored["ids"].astype(object), str(stored["id_kind"]))
        return FeatureMatrix(values, tuple(str(n) for n in stored["names"]), ids)
