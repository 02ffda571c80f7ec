"""Time components of the hybrid: when the employee was active against when the item was.

Both are bilinear over fixed time bins of ``bin_days`` from the first training event: the
employee's row is the histogram of their own events over the bins, smoothed with a Gaussian
kernel of ``bandwidth_bins`` bins and normalised to sum 1 (employees without events: the
histogram of every training event), so the value is the mean of the item's row over the
employee's active times.

- :class:`ReleaseWindow`: the item's row is 1 on the bins that end after its release (the
  item feature column ``release_column``, days since the Unix epoch; missing: released
  before everything), so the value is the share of the employee's activity after the
  release; new content gets its row from its features. With ``cold_only``, content with
  events in ``fit`` is 1 on every bin.
- :class:`ColdTimePopularity`: for content without events, the item's row is its
  popularity per bin (``log1p`` of its events) predicted from its features and its release
  bins; content with events has a zero row.

Bins are fixed at ``fit``: events after the last bin count in the last one. Live events add
to their employee's histogram only (the item rows are the training ones).

Both come from issue 18's MovieLens trials and are in the MovieLens hybrid config; the
components tried there and not kept are described, with their figures, in
docs/recommenders.md ("Time signals").
"""

from __future__ import annotations

from typing import Self

import numpy as np

from recsys.dataset import Dataset
from recsys.matrix import FeatureMatrix, dense, rows_by_name
from recsys.models.component import DotRow, FitContext, Fold, ScoreComponent, register
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

    def _after_release(self, released_days: np.ndarray) -> np.ndarray:
        """bool (len(released_days), bins): True on the bins that end after the release
        (days since the Unix epoch; NaN: released before everything)."""
        n_bins = self.user_counts_.shape[1]
        ends = self.start_ + self.width_ * np.arange(1, n_bins + 1)
        return ends[None, :] > np.nan_to_num(released_days)[:, None] * DAY

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


def _item_counts(dataset: Dataset, bins: np.ndarray, n_bins: int) -> np.ndarray:
    """Each item's events per bin (``bins``: each event's)."""
    counts = np.zeros((len(dataset.items), n_bins))
    np.add.at(counts, (np.asarray(dataset.interactions.items, np.int64), bins), 1.0)
    return counts


def released_days(features: FeatureMatrix, content_ids: list[str], column: str) -> np.ndarray:
    """The release-time column (days since the Unix epoch) of ``content_ids``' feature rows."""
    return rows_by_name(features, content_ids, np.asarray([column], dtype=np.str_))[:, 0]


@register
class ReleaseWindow(_ActiveTimes):
    """The share of the employee's activity after the item's release (see the module
    docstring); ``release_column``: the item feature with the release time in days since
    the Unix epoch (0 or missing: released before everything); ``cold_only``: content with
    an event in ``fit`` counts as released before everything (so only the cold head, which
    scores content without events, can weigh the component)."""

    name = "release_window"

    def __init__(
        self,
        *,
        bin_days: float = 1.0,
        bandwidth_bins: float = 0.0,
        release_column: str = "released",
        cold_only: bool = False,
    ) -> None:
        self.bin_days = bin_days
        self.bandwidth_bins = bandwidth_bins
        self.release_column = release_column
        self.cold_only = cold_only

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
            engaged = dataset.item_event_counts() > 0
            self.item_rows_[engaged] = 1.0
        return self

    def _release_rows(self, released_days: np.ndarray) -> np.ndarray:
        """float32: 1 on the bins that end after the release, else 0."""
        return np.ascontiguousarray(self._after_release(released_days), np.float32)

    def grow_items(self, internal, content_ids, features, times) -> None:
        released = np.zeros(len(internal))
        if features is not None:
            released = released_days(features, list(content_ids), self.release_column)
        extra = self._release_rows(released)
        self.item_rows_ = np.ascontiguousarray(np.vstack([self.item_rows_, extra]))

    def state(self) -> dict[str, np.ndarray]:
        return self._user_state()

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self._load_user_state(arrays)
        return self


@register
class ColdTimePopularity(_ActiveTimes):
    """How popular the item was when the employee was active, for content without events
    only (see the module docstring): its row is predicted from its features (a ridge
    regression, ``alpha``, of the engaged items' ``log1p`` events per bin on the columns
    starting with one of the comma-separated ``prefixes`` and the item's release bins as
    :class:`ReleaseWindow` builds them from ``release_column``, when present); content with
    events in ``fit`` gets a zero row (nothing for the warm head to weigh)."""

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
        engaged = dataset.item_event_counts() > 0
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
        released = released_days(features, content_ids, self.release_column)
        return np.hstack([columns, self._after_release(released).astype(np.float64)])

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
