"""Time components of the hybrid: when the employee was active against when the item was.

Written for issue 18's MovieLens trials (figures in docs/recommenders.md); the MovieLens
config uses :class:`ReleaseWindow` (``cold_only``), the other two were not kept.

The first two are bilinear over fixed time bins of ``bin_days`` from the first training event: the
employee's row is the histogram of their own events over the bins, smoothed with a Gaussian
kernel of ``bandwidth_bins`` bins and normalised to sum 1 (employees without events: the
histogram of every training event), so the value is the mean of the item's row over the
employee's active times.

- :class:`TimePopularity`: the item's row is its training events per bin, as ``log1p`` of
  the counts, its share of each bin's events or the log lift of that share over its overall
  share (``item_scale``): how popular the item was when the employee was active. Content
  with no event in ``fit`` (added later) has a zero row.
- :class:`ReleaseWindow`: the item's row is 1 on the bins that end after its release (the
  item feature column ``release_column``, days since the Unix epoch; missing: released
  before everything), so the value is the share of the employee's activity after the
  release; new content gets its row from its features.

Bins are fixed at ``fit``: events after the last bin count in the last one. Live events add
to their employee's histogram only (the item rows are the training ones).

- :class:`SessionCooc`: EASE's shapes with its matrix replaced by the normalised counts of
  items one person touched within ``window_minutes`` of each other.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from recsys.dataset import Dataset
from recsys.matrix import dense, rows_by_name
from recsys.models.component import DotRow, FitContext, Fold, ScoreComponent, register
from recsys.models.ease import ItemItem
from recsys.times import DAY


class _ActiveTimes(ScoreComponent):
    """The employee side shared by the time components (see the module docstring)."""

    bin_days: float
    bandwidth_bins: float

    def left_out(self, dataset: Dataset) -> str | None:
        return "no events" if not len(dataset.interactions) else None

    def _fit_users(self, dataset: Dataset) -> np.ndarray:
        """Fit the bins and the employees' counts; returns each event's bin."""
        times = np.asarray(dataset.interactions.times, np.float64)
        self.start_ = float(times.min())
        self.width_ = float(self.bin_days) * DAY
        n_bins = int((times.max() - self.start_) // self.width_) + 1
        bins = self._bins(times, n_bins)
        users = np.asarray(dataset.interactions.users, np.int64)
        self.user_counts_ = np.zeros((len(dataset.users), n_bins))
        np.add.at(self.user_counts_, (users, bins), 1.0)
        self.everyone_ = self._normalised(self.user_counts_.sum(axis=0, keepdims=True))[0]
        return bins

    def _bins(self, times: np.ndarray, n_bins: int | None = None) -> np.ndarray:
        n_bins = self.user_counts_.shape[1] if n_bins is None else n_bins
        raw = np.floor((np.asarray(times, np.float64) - self.start_) / self.width_)
        return np.clip(raw, 0, n_bins - 1).astype(np.int64)

    def _kernel(self) -> np.ndarray:
        n_bins = self.user_counts_.shape[1]
        if self.bandwidth_bins <= 0:
            return np.eye(n_bins)
        gap = np.subtract.outer(np.arange(n_bins), np.arange(n_bins)) / self.bandwidth_bins
        return np.exp(-0.5 * gap**2)

    def _normalised(self, counts: np.ndarray) -> np.ndarray:
        smooth = counts @ self._kernel() if self.bandwidth_bins > 0 else counts
        total = smooth.sum(axis=1, keepdims=True)
        return np.divide(smooth, total, out=np.zeros_like(smooth), where=total > 0)

    def user_rows(self, users: np.ndarray) -> np.ndarray:
        """float64 (len(users), bins): the employees' normalised smoothed histograms (no
        event of their own, or -1: the histogram of every training event)."""
        users = np.asarray(users, np.int64)
        counts = np.zeros((len(users), self.user_counts_.shape[1]))
        known = users >= 0
        counts[known] = self.user_counts_[users[known]]
        rows = self._normalised(counts)
        rows[~rows.any(axis=1)] = self.everyone_
        return rows

    # -- shapes (the item rows ``item_rows_`` come from the subclass) -----------------
    item_rows_: np.ndarray

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        rows = self.item_rows_[np.asarray(items, np.int64)].astype(np.float64)
        unique, inverse = np.unique(np.asarray(users, np.int64), return_inverse=True)
        return np.einsum("ij,ij->i", self.user_rows(unique)[inverse], rows)

    def row(self, user: int, items: np.ndarray, as_of: float) -> np.ndarray:
        rows = self.item_rows_[np.asarray(items, np.int64)].astype(np.float64)
        return rows @ self.user_rows(np.asarray([user]))[0]

    def row_terms(self, user: int, items: np.ndarray, as_of: float) -> DotRow | None:
        return DotRow(self.user_rows(np.asarray([user]))[0], self.item_rows_)

    def static_scores(
        self, users: np.ndarray, columns: np.ndarray | None, fold: Fold
    ) -> np.ndarray | None:
        block = fold.scaled_rows(self.item_rows_)
        block = block if columns is None else block[columns]
        return self.user_rows(users).astype(np.float32) @ block.T

    def static_sources(self) -> tuple[np.ndarray, ...]:
        return (self.item_rows_,)

    # -- live state -------------------------------------------------------------------
    def observe_events(self, users, items, times, weights) -> None:
        np.add.at(self.user_counts_, (np.asarray(users, np.int64), self._bins(times)), 1.0)

    def grow_users(self, count: int) -> None:
        extra = np.zeros((count, self.user_counts_.shape[1]))
        self.user_counts_ = np.vstack([self.user_counts_, extra])

    def _user_state(self) -> dict[str, np.ndarray]:
        return {
            "bins": np.asarray([self.start_, self.width_]),
            "user_counts": self.user_counts_,
            "everyone": self.everyone_,
            "item_rows": self.item_rows_,
        }

    def _load_user_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.start_, self.width_ = (float(v) for v in arrays["bins"])
        self.user_counts_ = np.array(arrays["user_counts"], np.float64)
        self.everyone_ = np.asarray(arrays["everyone"], np.float64)
        self.item_rows_ = np.ascontiguousarray(arrays["item_rows"], np.float32)


@register
class TimePopularity(_ActiveTimes):
    """How popular the item was when the employee was active (see the module docstring):
    ``item_scale`` ``"log1p"`` (of the item's events per bin), ``"share"`` (its events
    over all events of the bin) or ``"lift"`` (:func:`_log_lift`: how much more popular
    than overall, shrunk by ``prior_events``)."""

    name = "time_popularity"

    def __init__(
        self,
        *,
        bin_days: float = 7.0,
        bandwidth_bins: float = 1.0,
        item_scale: str = "log1p",
        prior_events: float = 100.0,
    ) -> None:
        self.bin_days = bin_days
        self.bandwidth_bins = bandwidth_bins
        self.item_scale = item_scale
        self.prior_events = prior_events

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        bins = self._fit_users(dataset)
        counts = _item_counts(dataset, bins, self.user_counts_.shape[1])
        if self.item_scale == "share":
            values = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1.0)
        elif self.item_scale == "log1p":
            values = np.log1p(counts)
        elif self.item_scale == "lift":
            values = _log_lift(counts, self.prior_events)
        else:
            raise ValueError(f"item_scale must be log1p, share or lift, not {self.item_scale!r}")
        self.item_rows_ = np.ascontiguousarray(values, np.float32)
        return self

    def grow_items(self, internal, content_ids, features, times) -> None:
        extra = np.zeros((len(internal), self.item_rows_.shape[1]), np.float32)
        self.item_rows_ = np.ascontiguousarray(np.vstack([self.item_rows_, extra]))

    def state(self) -> dict[str, np.ndarray]:
        return self._user_state()

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self._load_user_state(arrays)
        return self


def _item_counts(dataset: Dataset, bins: np.ndarray, n_bins: int) -> np.ndarray:
    """Each item's events per bin (``bins``: each event's)."""
    counts = np.zeros((len(dataset.items), n_bins))
    np.add.at(counts, (np.asarray(dataset.interactions.items, np.int64), bins), 1.0)
    return counts


def _log_lift(counts: np.ndarray, prior_events: float) -> np.ndarray:
    """``log(share_ib / share_i)``: the item's share of each bin's events, shrunk towards
    its overall share ``share_i`` by ``prior_events`` pseudo-events, over that overall share
    (0 for items without events)."""
    overall = counts.sum(axis=1) / max(counts.sum(), 1.0)
    per_bin = counts.sum(axis=0)
    shrunk = (counts + prior_events * overall[:, None]) / (per_bin[None, :] + prior_events)
    ratio = np.divide(
        shrunk, overall[:, None], out=np.ones_like(shrunk), where=overall[:, None] > 0
    )
    return np.log(ratio)


@register
class ReleaseWindow(_ActiveTimes):
    """The share of the employee's activity after the item's release (see the module
    docstring); ``release_column``: the item feature with the release time in days since
    the Unix epoch (0 or missing: released before everything); ``cold_only``: content with
    an event in ``fit`` counts as released before everything (so only the cold head, which
    scores content without events, can weigh the component); ``lag_days``: the content
    counts as out that many days after its release date (on MovieLens' training data the
    first rating of a recent film came a median 23 days after it); ``buzz``: the bins
    after the release weigh ``1 + buzz * 2 ** (-age / buzz_half_life_days)`` (age at the
    bin's middle) instead of 1, for an audience right after the release."""

    name = "release_window"

    def __init__(
        self,
        *,
        bin_days: float = 1.0,
        bandwidth_bins: float = 0.0,
        release_column: str = "released",
        cold_only: bool = False,
        lag_days: float = 0.0,
        buzz: float = 0.0,
        buzz_half_life_days: float = 30.0,
    ) -> None:
        self.bin_days = bin_days
        self.bandwidth_bins = bandwidth_bins
        self.release_column = release_column
        self.cold_only = cold_only
        self.lag_days = lag_days
        self.buzz = buzz
        self.buzz_half_life_days = buzz_half_life_days

    def left_out(self, dataset: Dataset) -> str | None:
        features = dataset.item_features
        if features is None or self.release_column not in features.names:
            return f"no item feature column {self.release_column!r}"
        return super().left_out(dataset)

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        rows = dataset.item_feature_rows()
        if rows is None or dataset.item_features is None:
            raise ValueError("ReleaseWindow needs item features")
        self._fit_users(dataset)
        column = dataset.item_features.names.index(self.release_column)
        self.item_rows_ = self._release_rows(dense(rows[:, [column]])[:, 0])
        if self.cold_only:  # content with events in fit: 1 for everyone (nothing to weigh)
            engaged = np.bincount(dataset.interactions.items, minlength=len(dataset.items)) > 0
            self.item_rows_[engaged] = 1.0
        return self

    def _release_rows(self, released_days: np.ndarray) -> np.ndarray:
        """1 on the bins that end after the release plus ``lag_days``."""
        n_bins = self.user_counts_.shape[1]
        ends = self.start_ + self.width_ * np.arange(1, n_bins + 1)
        available = (np.nan_to_num(released_days) + self.lag_days) * DAY
        after = ends[None, :] > available[:, None]
        if not self.buzz:
            return np.ascontiguousarray(after, np.float32)
        age = np.maximum(ends[None, :] - 0.5 * self.width_ - available[:, None], 0.0)
        fresh = np.exp2(-age / (self.buzz_half_life_days * DAY))
        return np.ascontiguousarray(after * (1.0 + self.buzz * fresh), np.float32)

    def grow_items(self, internal, content_ids, features, times) -> None:
        released = np.zeros(len(internal))
        if features is not None:
            names = np.asarray([self.release_column], dtype=np.str_)
            released = rows_by_name(features, list(content_ids), names)[:, 0]
        extra = self._release_rows(released)
        self.item_rows_ = np.ascontiguousarray(np.vstack([self.item_rows_, extra]))

    def state(self) -> dict[str, np.ndarray]:
        return self._user_state()

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self._load_user_state(arrays)
        return self


@register
class SessionCooc(ItemItem):
    """Item-item weights from ratings close in time: ``W[h, i] = C[h, i] / sqrt((d_h + 1)
    (d_i + 1))`` with ``C[h, i]`` the number of times one person touched ``h`` and ``i``
    (h != i) at most ``window_minutes`` apart and ``d`` its row sums; the value of
    (employee u, item i) is ``x_u . W[:, i]`` over u's whole live history (EASE's shapes,
    :class:`~recsys.models.ease.ItemItem`, with its matrix replaced; no lambda). Left out
    above ``max_items`` items (the matrix is items x items)."""

    name = "session_cooc"

    def __init__(self, *, window_minutes: float = 6.0, max_items: int = 5_000) -> None:
        self.window_minutes = window_minutes
        self.max_items = max_items

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        events = dataset.interactions
        n_items = len(dataset.items)
        order = np.lexsort((events.times, events.users))
        users = np.asarray(events.users, np.int64)[order]
        items = np.asarray(events.items, np.int64)[order]
        times = np.asarray(events.times, np.float64)[order]
        counts = np.zeros((n_items, n_items))
        for lag in range(1, len(items)):
            near = (users[lag:] == users[:-lag]) & (
                times[lag:] - times[:-lag] <= self.window_minutes * 60
            )
            if not near.any():
                break
            np.add.at(counts, (items[:-lag][near], items[lag:][near]), 1.0)
        counts += counts.T
        counts[np.diag_indices_from(counts)] = 0.0
        degree = counts.sum(axis=1) + 1.0
        self.weights_ = (counts / np.sqrt(np.outer(degree, degree))).astype(np.float32)
        self.lam_, self.validation_ = 0.0, {}
        matrix = dataset.matrix(binary=True)
        self.history_ = [set(map(int, row.indices)) for row in matrix]
        return self

    def refit_settings(self) -> Self:
        return type(self)(**self.get_params(deep=False))

    def chosen(self) -> dict[str, float]:
        return {}


@register
class ColdTimePopularity(TimePopularity):
    """:class:`TimePopularity` for content without events only: its row is predicted from
    its features (a ridge regression, ``alpha``, of the engaged items' ``log1p`` rows on the
    columns starting with one of the comma-separated ``prefixes`` and the item's release
    rows as :class:`ReleaseWindow` builds them from ``release_column``, when present); content
    with events in ``fit`` gets a zero row (nothing for the warm head to weigh)."""

    name = "cold_time_popularity"

    def __init__(
        self,
        *,
        bin_days: float = 7.0,
        bandwidth_bins: float = 2.0,
        prefixes: str = "genre=,year",
        release_column: str = "released",
        alpha: float = 1.0,
    ) -> None:
        self.bin_days = bin_days
        self.bandwidth_bins = bandwidth_bins
        self.prefixes = prefixes
        self.release_column = release_column
        self.alpha = alpha

    def left_out(self, dataset: Dataset) -> str | None:
        if dataset.item_features is None:
            return "no item features"
        return super().left_out(dataset)

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        from sklearn.linear_model import Ridge

        features = dataset.item_features
        if features is None:
            raise ValueError("ColdTimePopularity needs item features")
        bins = self._fit_users(dataset)
        self.item_rows_ = np.log1p(_item_counts(dataset, bins, self.user_counts_.shape[1]))
        wanted = [p for p in self.prefixes.split(",") if p]
        names = [n for n in features.names if any(n.startswith(p) for p in wanted)]
        self.feature_names_ = np.asarray(names, dtype=np.str_)
        ids = [str(i) for i in dataset.items.to_external(np.arange(len(dataset.items)))]
        inputs = self._inputs(features, ids)
        engaged = np.bincount(dataset.interactions.items, minlength=len(dataset.items)) > 0
        ridge = Ridge(alpha=self.alpha).fit(inputs[engaged], self.item_rows_[engaged])
        n_bins = self.item_rows_.shape[1]  # one bin: scikit-learn's coef_ is 1-d
        self.coef_ = np.asarray(ridge.coef_, np.float64).reshape(n_bins, inputs.shape[1])
        self.intercept_ = np.asarray(ridge.intercept_, np.float64).reshape(n_bins)
        rows = np.where(engaged[:, None], 0.0, self._predict(inputs))
        self.item_rows_ = np.ascontiguousarray(rows, np.float32)
        return self

    def _inputs(self, features, content_ids: list[str]) -> np.ndarray:
        columns = rows_by_name(features, content_ids, self.feature_names_)
        if self.release_column not in features.names:
            return columns
        names = np.asarray([self.release_column], dtype=np.str_)
        released = rows_by_name(features, content_ids, names)[:, 0]
        n_bins = self.user_counts_.shape[1]
        ends = self.start_ + self.width_ * np.arange(1, n_bins + 1)
        after = (ends[None, :] > np.nan_to_num(released)[:, None] * DAY).astype(np.float64)
        return np.hstack([columns, after])

    def _predict(self, inputs: np.ndarray) -> np.ndarray:
        return np.maximum(inputs @ self.coef_.T + self.intercept_, 0.0)

    def grow_items(self, internal, content_ids, features, times) -> None:
        extra = np.zeros((len(internal), self.item_rows_.shape[1]))
        if features is not None:
            inputs = self._inputs(features, list(content_ids))
            if inputs.shape[1] == self.coef_.shape[1]:
                extra = self._predict(inputs)
        rows = np.vstack([self.item_rows_, extra.astype(np.float32)])
        self.item_rows_ = np.ascontiguousarray(rows)

    def state(self) -> dict[str, np.ndarray]:
        return {
            **self._user_state(),
            "feature_names": self.feature_names_,
            "coef": self.coef_,
            "intercept": np.asarray(self.intercept_, np.float64),
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self._load_user_state(arrays)
        self.feature_names_ = arrays["feature_names"]
        self.coef_ = np.asarray(arrays["coef"], np.float64)
        self.intercept_ = np.asarray(arrays["intercept"], np.float64)
        return self
