"""The recommender protocol: id mapping, cold routing, filtering and top-k live here, once.

A model subclasses :class:`Recommender` and implements ``_fit`` and ``_score`` (plus
``_state``/``_set_state`` to be saved, and optionally ``_observe``/``_add_items`` for live
state). Everything a caller touches is public here and speaks external ids.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from itertools import chain, pairwise
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from recsys.dataset import Dataset
from recsys.ids import IdMap, UnknownIdError
from recsys.matrix import FeatureMatrix
from recsys.metrics import top_k

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
SCORE_BATCH_USERS = 1024
CANDIDATE_CACHE_SIZE = 8


class Recommender(BaseEstimator, ABC):
    """Fit on a :class:`Dataset`; recommend content ids with scores for employee ids.

    ``__init__`` of a subclass stores its parameters only (scikit-learn rules); learned
    state ends in ``_``.
    """

    name: ClassVar[str] = "recommender"
    users_: IdMap
    items_: IdMap
    seen_: list[set[int]]
    item_times_: np.ndarray

    # -- public API -------------------------------------------------------------------
    def fit(self, dataset: Dataset) -> Self:
        """Learn from ``dataset``; returns self."""
        self._remember(dataset, seen=True)
        self._fit(dataset)
        return self

    def score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        """Scores (len(users), len(items)) of internal ids (-1: an unknown employee) at
        ``as_of``, seen items included: what a ranking policy re-ranks. Read-only."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        scores = np.asarray(self._score(users, items, float(as_of)))
        if scores.shape != (len(users), len(items)):
            raise RuntimeError(f"{type(self).__name__}._score returned shape {scores.shape}")
        if scores.flags.writeable and not scores.flags.owndata:
            scores = scores.view()
            scores.flags.writeable = False
        return scores

    def recommend(
        self,
        employee_ids: Sequence[str],
        k: int,
        *,
        candidates: Sequence[str] | None = None,
        as_of: float | None = None,
        exclude_seen: bool = True,
        unknown_employees: str = "cold",
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Top-``k`` content ids and scores per employee, best first.

        ``candidates`` limits the ranking to those content ids (default: every item);
        ``as_of`` is the time of the request in unix seconds (default: the latest item
        time). Unknown employees get the model's cold-start ranking
        (``unknown_employees="cold"``) or raise (``"raise"``). ``exclude_seen`` removes
        what each employee already interacted with.
        """
        self._check_fitted()
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if unknown_employees not in ("cold", "raise"):
            raise ValueError("unknown_employees must be 'cold' or 'raise'")
        users = self.users_.to_internal(employee_ids, missing="ignore")
        if unknown_employees == "raise" and (users < 0).any():
            unknown = [e for e, u in zip(employee_ids, users, strict=True) if u < 0]
            raise UnknownIdError("employee", unknown)
        items = self._candidates(candidates)
        moment = float(self.item_times_.max(initial=0)) if as_of is None else float(as_of)
        ids: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        for start in range(0, len(users), SCORE_BATCH_USERS):
            batch = users[start : start + SCORE_BATCH_USERS]
            batch_ids, batch_scores = self._rank(batch, items, k, moment, exclude_seen)
            ids += batch_ids
            scores += batch_scores
        return ids, scores

    def chosen_params(self) -> dict[str, float]:
        """Hyper-parameters the model chose during ``fit`` (learned state, logged with the
        run); none by default."""
        return {}

    def observe(
        self,
        employee_ids: Sequence[str],
        content_ids: Sequence[str],
        times: Sequence[float] | np.ndarray,
        weights: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        """Take live events: new employees are added, unknown content is skipped."""
        self._check_fitted()
        new = [e for e in dict.fromkeys(map(str, employee_ids)) if e not in self.users_]
        if new:
            self.users_ = self.users_.add(new)
            self.seen_.extend(set() for _ in new)
            self._add_users(len(new))
        users = self.users_.to_internal(employee_ids)
        items = self.items_.to_internal(content_ids, missing="ignore")
        known = items >= 0
        if not known.all():
            logger.debug("observe: %d events on content outside the catalogue", (~known).sum())
        values = np.ones(len(users), np.float32) if weights is None else np.asarray(weights)
        users, items = users[known], items[known]
        for user, item in zip(users, items, strict=True):
            self.seen_[user].add(int(item))
        self._observe(users, items, np.asarray(times, np.float64)[known], values[known])

    def add_users(
        self, employee_ids: Sequence[str], features: FeatureMatrix | None = None
    ) -> list[str]:
        """Put new employees in the model, served from their profile ``features`` with no refit.

        Unknown ids are added (nothing seen yet); returns them. With ``features`` (rows by
        employee id, columns by name as in ``fit``), models that learn from profiles rank for
        the new employees from their rows; employees from ``fit`` keep what was learned
        (models may still update live profile facts, e.g. the hybrid's department). Without
        features, or for models without profile features, new employees get the cold-start
        ranking.
        """
        self._check_fitted()
        if features is not None and not isinstance(features, FeatureMatrix):
            raise TypeError(
                f"features must be a FeatureMatrix or None, got {type(features).__name__}"
            )
        ids = list(dict.fromkeys(map(str, employee_ids)))
        new = [e for e in ids if e not in self.users_]
        if new:
            self.users_ = self.users_.add(new)
            self.seen_.extend(set() for _ in new)
            self._add_users(len(new))
        if features is not None and ids:
            self._set_user_features(self.users_.to_internal(ids), ids, features)
        return new

    def add_items(
        self,
        content_ids: Sequence[str],
        features: FeatureMatrix | None = None,
        times: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        """Put new content in the catalogue, scored from ``features`` with no refit."""
        self._check_fitted()
        new = [c for c in dict.fromkeys(map(str, content_ids)) if c not in self.items_]
        if not new:
            return
        first = len(self.items_)
        self.items_ = self.items_.add(new)
        stamps = np.zeros(len(new), np.int64)
        if times is not None:
            by_id = dict(zip(map(str, content_ids), np.asarray(times, np.int64), strict=True))
            stamps = np.asarray([by_id[c] for c in new], np.int64)
        self.item_times_ = np.concatenate([self.item_times_, stamps])
        self._add_items(np.arange(first, len(self.items_)), new, features)

    def save(self, folder: str | Path) -> Path:
        """A folder with ``manifest.json`` and ``arrays.npz`` (no pickle)."""
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        seen = _sets_as_csr(self.seen_, len(self.items_))
        arrays = {
            "users": _text_array(self.users_.external),
            "items": _text_array(self.items_.external),
            "item_times": self.item_times_,
            "seen_indptr": seen.indptr,
            "seen_indices": seen.indices,
            **{f"state_{k}": v for k, v in self._state().items()},
        }
        np.savez(folder / "arrays.npz", **arrays)
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": self.name,
            "params": _json_params(self._saved_params()),
            "libraries": _library_versions(),
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Self:
        """A model saved by :meth:`save`; its rankings are identical."""
        folder = Path(folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{folder}: unsupported format {manifest.get('format_version')}")
        if manifest.get("model") != cls.name:
            raise ValueError(f"{folder} holds a {manifest.get('model')!r} model, not {cls.name!r}")
        model = cls._from_params(manifest["params"])
        with np.load(folder / "arrays.npz", allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        model.users_ = IdMap(arrays["users"].astype(object), "employee")
        model.items_ = IdMap(arrays["items"].astype(object), "content")
        model.item_times_ = arrays["item_times"]
        seen = sp.csr_matrix(
            (
                np.ones(len(arrays["seen_indices"]), np.float32),
                arrays["seen_indices"],
                arrays["seen_indptr"],
            ),
            shape=(len(model.users_), len(model.items_)),
        )
        model.seen_ = _rows_as_sets(seen)
        model._set_state({k[6:]: v for k, v in arrays.items() if k.startswith("state_")})
        return model

    # -- for subclasses ---------------------------------------------------------------
    def _saved_params(self) -> dict[str, object]:
        """The parameters written to the manifest (JSON values)."""
        return self.get_params()

    @classmethod
    def _from_params(cls, params: dict[str, object]) -> Self:
        """A model with the manifest's parameters."""
        return cls(**params)

    @abstractmethod
    def _fit(self, dataset: Dataset) -> None:
        """Learn the model's state from ``dataset``."""

    @abstractmethod
    def _score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        """Scores (len(users), len(items)); ``users`` holds -1 for unknown employees.

        float32 or float64. A writeable array that owns its data is ranked in place (seen
        items overwritten), so return a fresh array, or a read-only view of state.
        """

    @abstractmethod
    def _state(self) -> dict[str, np.ndarray]:
        """Learned arrays to save."""

    @abstractmethod
    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`_state` returned."""

    def _observe(
        self, users: np.ndarray, items: np.ndarray, times: np.ndarray, weights: np.ndarray
    ) -> None:
        """Update live state with events (internal ids); default: nothing."""

    def _add_users(self, count: int) -> None:
        """``count`` employees were appended to ``users_``; default: nothing."""

    def _add_items(
        self, internal: np.ndarray, content_ids: list[str], features: FeatureMatrix | None
    ) -> None:
        """Items were appended to ``items_``; default: nothing."""

    def _set_user_features(
        self, internal: np.ndarray, employee_ids: list[str], features: FeatureMatrix
    ) -> None:
        """Profile rows for employees ``internal`` (from :meth:`add_users`); default: ignored."""

    # -- internals --------------------------------------------------------------------
    def _remember(self, dataset: Dataset, *, seen: bool) -> None:
        """The id maps, item times and (``seen``) each employee's seen items of ``dataset``;
        a model used as a part of another (which keeps the seen items) passes False."""
        self.users_ = dataset.users
        self.items_ = dataset.items
        self.seen_ = _rows_as_sets(dataset.matrix(binary=True)) if seen else []
        times = dataset.item_times
        self.item_times_ = (
            np.zeros(len(dataset.items), np.int64) if times is None else np.asarray(times, np.int64)
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "users_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(dataset) first")

    def _candidates(self, candidates: Sequence[str] | None) -> np.ndarray:
        if candidates is None:
            return np.arange(len(self.items_))
        # Serving repeats the same candidate list: remember the last few mappings, keyed
        # by the ids themselves (a tuple; str hashes are cached) and the item map in use.
        try:
            key = tuple(candidates)
            hash(key)
        except TypeError:
            return _sorted_unique(self.items_.to_internal(candidates))
        cache: tuple[IdMap, dict[tuple[str, ...], np.ndarray]] | None
        cache = self.__dict__.get("_candidate_cache")
        if cache is None or cache[0] is not self.items_:
            cache = (self.items_, {})
            self.__dict__["_candidate_cache"] = cache
        found = cache[1].get(key)
        if found is None:
            found = _sorted_unique(self.items_.to_internal(key))
            found.flags.writeable = False
            if len(cache[1]) >= CANDIDATE_CACHE_SIZE:
                cache[1].pop(next(iter(cache[1])))
            cache[1][key] = found
        return found

    def _rank(
        self, users: np.ndarray, items: np.ndarray, k: int, as_of: float, exclude_seen: bool
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        scores = np.asarray(self._score(users, items, as_of))
        if scores.shape != (len(users), len(items)):
            raise RuntimeError(f"{type(self).__name__}._score returned shape {scores.shape}")
        if scores.dtype not in (np.float32, np.float64):
            scores = scores.astype(np.float64)
        elif not (scores.flags.writeable and scores.flags.owndata):
            scores = scores.copy()  # a view of model state (e.g. broadcast): never written to
        if exclude_seen:
            rows, columns = self._seen_coordinates(users, items)
            scores[rows, columns] = -np.inf
        top, top_scores = top_k(scores, min(k, len(items)) if len(items) else 1, copy=False)
        ids, values = [], []
        external = self.items_.external
        for row, row_scores in zip(top, top_scores, strict=True):
            keep = row >= 0
            ids.append(external[items[row[keep]]])
            values.append(row_scores[keep].astype(np.float32))
        return ids, values

    def _seen_mask(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """True where ``users[i]`` has seen ``items[j]`` (vectorised: searchsorted)."""
        mask = np.zeros((len(users), len(items)), dtype=bool)
        rows, columns = self._seen_coordinates(users, items)
        mask[rows, columns] = True
        return mask

    def _seen_coordinates(
        self, users: np.ndarray, items: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) positions where ``users[row]`` has seen ``items[column]``.

        A repeated item is marked at its last copy only (rankings never hold the same item
        twice).
        """
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        none = np.zeros(0, np.int64), np.zeros(0, np.int64)
        known = np.flatnonzero(users >= 0)
        if not len(known) or not len(items):
            return none
        seen = self.seen_
        rows_seen = [seen[u] for u in users[known].tolist()]
        counts = np.fromiter(map(len, rows_seen), np.int64, count=len(rows_seen))
        total = int(counts.sum())
        if not total:
            return none
        flat = np.fromiter(chain.from_iterable(rows_seen), np.int64, count=total)
        rows = np.repeat(known, counts)
        if len(items) > 1 and not bool(np.all(items[1:] >= items[:-1])):
            order = np.argsort(items, kind="stable")
            sorted_items = items[order]
        else:
            order, sorted_items = None, items
        pos = np.searchsorted(sorted_items, flat, side="right") - 1
        pos_clipped = np.maximum(pos, 0)
        hit = (pos >= 0) & (sorted_items[pos_clipped] == flat)
        rows, pos = rows[hit], pos_clipped[hit]
        return rows, (pos if order is None else order[pos])


def _rows_as_sets(matrix: sp.csr_matrix) -> list[set[int]]:
    flat = matrix.indices.tolist()
    bounds = matrix.indptr.tolist()
    return [set(flat[a:b]) for a, b in pairwise(bounds)]


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for int64: a sort and an adjacent dedupe."""
    values = np.sort(values)
    if len(values) > 1:
        values = values[np.concatenate(([True], values[1:] != values[:-1]))]
    return values


def _sets_as_csr(rows: list[set[int]], n_items: int) -> sp.csr_matrix:
    indptr = np.zeros(len(rows) + 1, np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.fromiter((i for r in rows for i in sorted(r)), np.int64, count=int(indptr[-1]))
    data = np.ones(len(indices), np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), n_items))


def _text_array(values: np.ndarray) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=np.str_)


def _json_params(params: dict[str, object]) -> dict[str, object]:
    try:
        json.dumps(params)
    except TypeError as exc:
        raise TypeError(f"model parameters must be JSON values to be saved: {exc}") from exc
    return params


def _library_versions() -> dict[str, str]:
    import scipy
    import sklearn

    return {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }
