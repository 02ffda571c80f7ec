"""What recommenders learn from: interactions on internal ids, plus optional features.

External ids live in the two :class:`~recsys.ids.IdMap` objects; every array inside holds
internal row numbers. Built by ``training`` from the store; plain numpy/scipy here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix


@dataclass(frozen=True)
class Interactions:
    """Parallel arrays, one entry per event: who, what, how strong, when (unix seconds)."""

    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    times: np.ndarray

    def __post_init__(self) -> None:
        lengths = {len(self.users), len(self.items), len(self.weights), len(self.times)}
        if len(lengths) != 1:
            raise ValueError("users, items, weights and times must have the same length")
        object.__setattr__(self, "users", np.asarray(self.users, dtype=np.int64))
        object.__setattr__(self, "items", np.asarray(self.items, dtype=np.int64))
        object.__setattr__(self, "weights", np.asarray(self.weights, dtype=np.float32))
        object.__setattr__(self, "times", np.asarray(self.times, dtype=np.int64))
        if len(self.users) and (self.users.min() < 0 or self.items.min() < 0):
            raise ValueError("internal ids must be >= 0")

    def __len__(self) -> int:
        return len(self.users)

    def select(self, mask: np.ndarray) -> Interactions:
        return Interactions(
            self.users[mask], self.items[mask], self.weights[mask], self.times[mask]
        )


@dataclass(frozen=True)
class Dataset:
    """Interactions of ``users`` with ``items``, and their features when there are any.

    Feature matrices may list their rows in any order and may hold more ids; they are
    aligned to ``users`` / ``items`` by :meth:`user_feature_rows` / :meth:`item_feature_rows`.
    ``item_times`` (unix seconds, e.g. publication) lets models reason about freshness.
    """

    users: IdMap
    items: IdMap
    interactions: Interactions
    user_features: FeatureMatrix | None = None
    item_features: FeatureMatrix | None = None
    item_times: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.interactions):
            if self.interactions.users.max() >= len(self.users):
                raise ValueError("an interaction names a user outside the user map")
            if self.interactions.items.max() >= len(self.items):
                raise ValueError("an interaction names an item outside the item map")
        if self.item_times is not None and len(self.item_times) != len(self.items):
            raise ValueError("item_times needs one time per item")

    @classmethod
    def from_events(
        cls,
        user_ids: Sequence[str],
        item_ids: Sequence[str],
        weights: Sequence[float] | np.ndarray | None = None,
        times: Sequence[int] | np.ndarray | None = None,
        *,
        users: IdMap | None = None,
        items: IdMap | None = None,
        **features: object,
    ) -> Dataset:
        """A dataset from parallel external-id lists (maps built in first-seen order)."""
        users = users or IdMap.from_ids(user_ids, "employee")
        items = items or IdMap.from_ids(item_ids, "content")
        n = len(user_ids)
        interactions = Interactions(
            users.to_internal(user_ids),
            items.to_internal(item_ids),
            np.ones(n) if weights is None else np.asarray(weights),
            np.zeros(n) if times is None else np.asarray(times),
        )
        return cls(users, items, interactions, **features)  # type: ignore[arg-type]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.users), len(self.items)

    def matrix(self, *, binary: bool = False) -> sp.csr_matrix:
        """users x items, summed weights (or 1 where any interaction)."""
        events = self.interactions
        values = np.ones(len(events), np.float32) if binary else events.weights
        matrix = sp.csr_matrix((values, (events.users, events.items)), shape=self.shape)
        matrix.sum_duplicates()
        if binary:
            matrix.data[:] = 1.0
        return matrix

    def item_event_counts(self) -> np.ndarray:
        """How many interactions each item has (int64, in ``items`` order; 0: no event)."""
        return np.bincount(self.interactions.items, minlength=len(self.items))

    def user_feature_rows(self) -> np.ndarray | sp.csr_matrix | None:
        """User features in ``users`` order (zero rows for users the matrix lacks)."""
        return _aligned(self.user_features, self.users)

    def item_feature_rows(self) -> np.ndarray | sp.csr_matrix | None:
        """Item features in ``items`` order (zero rows for items the matrix lacks)."""
        return _aligned(self.item_features, self.items)


def _aligned(features: FeatureMatrix | None, ids: IdMap) -> np.ndarray | sp.csr_matrix | None:
    if features is None:
        return None
    rows = features.ids.to_internal(ids.external, missing="ignore")
    if (rows >= 0).all():
        return features.values[rows]
    present = np.flatnonzero(rows >= 0)
    if sp.issparse(features.values):
        picked = sp.csr_matrix(features.values)[rows[present]]
        placer = sp.csr_matrix(
            (np.ones(len(present), np.float32), (present, np.arange(len(present)))),
            shape=(len(ids), len(present)),
        )
        return sp.csr_matrix(placer @ picked)
    aligned = np.zeros((len(ids), features.shape[1]), dtype=features.values.dtype)
    aligned[present] = features.values[rows[present]]
    return aligned
