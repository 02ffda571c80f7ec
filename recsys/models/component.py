"""The score-component protocol of the hybrid: one class per term, its formula written once.

A component is an estimator (``__init__`` stores parameters; ``fit_component`` learns state
ending in ``_``) that answers the shapes the hybrid needs, all from the same formula:

- :meth:`ScoreComponent.pairs`: the raw value of (users[j], items[j], times[j]) triples
  (the second stage's examples, :meth:`Hybrid.components`);
- :meth:`ScoreComponent.row`: one employee over some items at one time (a feed's reasons);
- the whole catalogue for many employees at one time, folded with the second stage's
  per-item weights ``w`` (:class:`~recsys.models.hybrid_scoring.FoldedScorer`):
  ``w * raw == w * item_values(t) + static_scores + live_scores``, where
  :meth:`~ScoreComponent.item_values` is the item-only part (the same for everyone),
  :meth:`~ScoreComponent.static_scores` the part only the employee's own events change
  (kept per employee by servers) and :meth:`~ScoreComponent.live_scores` the rest.

Live state follows ``observe_events``/``grow_users``/``grow_items``/``set_profiles`` (internal
ids), and ``state``/``load_state`` save it as arrays. Adding a component to the hybrid means
writing one subclass and registering it in :data:`COMPONENTS` (``register``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Self

import numpy as np
from sklearn.base import BaseEstimator

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.matrix import FeatureMatrix
from recsys.models.cache import BoundedCache, SourceCache, TimedCache


@dataclass(frozen=True)
class FitContext:
    """What a component may use while fitting besides the dataset: the components fitted
    before it (by name, in the hybrid's order), the seed, and whether items with no event
    in the dataset must be represented as content added later would be (the second
    stage's fits, so held-out items look like new content)."""

    fitted: Mapping[str, ScoreComponent] = field(default_factory=dict)
    random_state: int = 42
    reset_unseen: bool = False

    def component(self, name: str) -> ScoreComponent:
        found = self.fitted.get(name)
        if found is None:
            raise ValueError(f"this component needs the {name!r} component, fitted before it")
        return found


@dataclass(frozen=True)
class DotRow:
    """One employee's raw values of items ``i`` (rows of ``matrix``) as ``scale * (vector .
    matrix[i]) + offset + bias[j]`` (``bias[j]``: the j-th requested item's term, None: 0),
    the dot product summed in float64."""

    vector: np.ndarray  # float64 (d,)
    matrix: np.ndarray  # (n_items, d), float32 or float64, C-contiguous
    scale: float = 1.0
    offset: float = 0.0
    bias: np.ndarray | None = None  # float64, one per requested item


@dataclass(frozen=True)
class HistoryRow:
    """One employee's raw row as ``sum(matrix[h, i] for h in history)`` in float64, summed
    in ``history`` order (0 for items beyond ``matrix``'s columns)."""

    history: np.ndarray  # int64 item ids
    matrix: np.ndarray  # (n, n) float32, C-contiguous


class Fold:
    """A component's view of the folded scorer: its per-item weights and its cache entries.

    ``weights`` is the float64 weight of the component's raw value for every item (warm or
    cold head); :meth:`static` entries live while their source arrays are the same objects
    (the cold flags are always among them), :meth:`live` entries until the next event (or,
    for a request time, until that time is no longer among the latest ones).
    """

    def __init__(
        self,
        name: str,
        weights: Callable[[], np.ndarray],
        cold_items: Callable[[], np.ndarray],
        static: SourceCache,
        live: BoundedCache,
        timed: TimedCache,
    ) -> None:
        self.name = name
        self._weights = weights
        self._cold_items = cold_items
        self._static = static
        self._live = live
        self._timed = timed

    @property
    def weights(self) -> np.ndarray:
        return self._weights()

    @property
    def float_weights(self) -> np.ndarray:
        """float32 :attr:`weights` (cached)."""
        return self.static("float32 weights", (), lambda: self.weights.astype(np.float32))

    def static(
        self, key: Hashable, sources: tuple[np.ndarray, ...], build: Callable[[], np.ndarray]
    ) -> np.ndarray:
        return self._static.get((self.name, key), (self._cold_items(), *sources), build)

    def live(
        self, key: Hashable, build: Callable[[], np.ndarray], as_of: float | None = None
    ) -> np.ndarray:
        """An entry kept until the next event (and, with ``as_of``, while that time is
        among the latest ones)."""
        cache = self._live if as_of is None else self._timed.at(as_of)
        return cache.get_or_build((self.name, key), build)  # type: ignore[return-value]

    def scaled_rows(self, rows: np.ndarray) -> np.ndarray:
        """float32 ``weights[:, None] * rows`` (item rows replaced, never changed in place;
        cached while they are the same object)."""
        return self.static(
            "scaled",
            (rows,),
            lambda: np.ascontiguousarray(self.weights[:, None] * rows, dtype=np.float32),
        )


class ScoreComponent(BaseEstimator, ABC):
    """One term of the hybrid's score (see the module docstring)."""

    #: The key the hybrid gives the component by default (and its registry name).
    name: ClassVar[str] = "component"

    def left_out(self, dataset: Dataset) -> str | None:
        """Why the component cannot be used on ``dataset`` (logged), or None."""
        return None

    @abstractmethod
    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        """Learn the state from ``dataset``; returns self."""

    def refit_settings(self) -> Self:
        """An unfitted copy for the final fit on every event, after this one was fitted on
        the second stage's part of them (a component may carry over what it chose, e.g.
        EASE its lambda); default: a plain copy of the parameters."""
        return type(self)(**self.get_params(deep=False))

    def chosen(self) -> dict[str, float]:
        """Hyper-parameters chosen during fit (learned state, e.g. ``{"lam_": 200.0}``)."""
        return {}

    # -- shapes -----------------------------------------------------------------------
    @abstractmethod
    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        """float64 raw value of each (users[j], items[j], times[j]); -1 = unknown employee."""

    def row(self, user: int, items: np.ndarray, as_of: float) -> np.ndarray:
        """:meth:`pairs` of one employee with ``items`` at one time."""
        items = np.asarray(items, np.int64)
        return self.pairs(np.full(len(items), user, np.int64), items, np.full(len(items), as_of))

    def row_terms(self, user: int, items: np.ndarray, as_of: float) -> DotRow | HistoryRow | None:
        """:meth:`row` of one employee over ``items`` as terms a compiled kernel evaluates
        (:mod:`recsys.feed_kernel`), when the row is one dot product or one history sum per
        item; None: only :meth:`row` computes it."""
        return None

    def row_key(self, user: int) -> Hashable | None:
        """What the employee's whole row depends on besides the time, when it is shared with
        other employees (item-only components: ``()``), else None."""
        return () if self.is_item_only() else None

    def is_item_only(self) -> bool:
        """True when the value depends on the item and the time only."""
        return False

    def item_values(self, as_of: float) -> np.ndarray | None:
        """float64 item-only part of the raw value over the whole catalogue, or None."""
        return None

    def static_scores(
        self, users: np.ndarray, columns: np.ndarray | None, fold: Fold
    ) -> np.ndarray | None:
        """Weighted part that only the employees' own events (and replaced sources) change:
        a fresh float32 array (len(users), items or ``columns``), or None."""
        return None

    def live_scores(
        self, users: np.ndarray, columns: np.ndarray | None, as_of: float, fold: Fold
    ) -> np.ndarray | None:
        """Weighted part that everyone's events or the time change, float32 (len(users) or
        1, items or ``columns``; may be a cached array, never written to), or None."""
        return None

    def static_sources(self) -> tuple[np.ndarray, ...]:
        """The arrays :meth:`static_scores` is computed from (replaced, never changed)."""
        return ()

    # -- live state -------------------------------------------------------------------
    def observe_events(
        self, users: np.ndarray, items: np.ndarray, times: np.ndarray, weights: np.ndarray
    ) -> None:
        """Take events (internal ids); default: nothing changes."""

    def grow_users(self, count: int) -> None:
        """``count`` employees were appended; default: nothing per employee."""

    def grow_items(
        self,
        internal: np.ndarray,
        content_ids: list[str],
        features: FeatureMatrix | None,
        times: np.ndarray,
    ) -> None:
        """Content was appended (ids ``internal``, published at ``times``); default: nothing."""

    def set_profiles(
        self,
        internal: np.ndarray,
        employee_ids: list[str],
        features: FeatureMatrix,
        fitted: Mapping[str, ScoreComponent],
    ) -> None:
        """Profile rows of employees ``internal`` (``add_users``); default: ignored."""

    # -- persistence ------------------------------------------------------------------
    @abstractmethod
    def state(self) -> dict[str, np.ndarray]:
        """Learned arrays to save."""

    @abstractmethod
    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        """Restore what :meth:`state` returned; returns self."""


class RecommenderComponent(Recommender, ScoreComponent):
    """A component that is also a recommender of its own (taste, affinity, global trend):
    the component's hooks are the recommender's, and it keeps no seen items (the hybrid
    keeps them once)."""

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        self._remember(dataset, seen=False)
        self._fit(dataset)
        return self

    def observe_events(self, users, items, times, weights) -> None:
        self._observe(users, items, times, weights)

    def grow_users(self, count: int) -> None:
        self._add_users(count)

    def grow_items(self, internal, content_ids, features, times) -> None:
        self._add_items(internal, content_ids, features)

    def set_profiles(self, internal, employee_ids, features, fitted) -> None:
        self._set_user_features(internal, employee_ids, features)

    def state(self) -> dict[str, np.ndarray]:
        return self._state()

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self._set_state(arrays)
        return self


#: Component classes by name: what a saved hybrid's components are rebuilt from.
COMPONENTS: dict[str, type[ScoreComponent]] = {}


def register(cls: type[ScoreComponent]) -> type[ScoreComponent]:
    """Class decorator: make ``cls`` loadable by its ``name``."""
    if cls.name in COMPONENTS and COMPONENTS[cls.name] is not cls:
        raise ValueError(f"a score component named {cls.name!r} is already registered")
    COMPONENTS[cls.name] = cls
    return cls
