"""The baselines every influence evaluation runs beside the scorer.

- :class:`LeaderboardBaseline`: what advocacy vendors show, points for activity: past shares
  plus the clicks those shares earned (``shares_made + clicks_earned``).
- :class:`FollowersBaseline`: audience size (followers on the largest network).

Both follow the scorer's interface where it matters (``fit(features) -> self``,
``decision_function(features)`` -> a ranking score per row) and learn nothing from labels.
The score is ``log1p`` of the count: the same ranking, and a difference of two scores is a
log ratio (how pairwise comparisons such as PeerIndex judge audience size).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import NotFittedError

from recsys.matrix import FeatureMatrix


class _ColumnSum:
    columns: tuple[str, ...] = ()

    def fit(self, features: FeatureMatrix, labels: Sequence[float] | None = None) -> _ColumnSum:
        missing = [c for c in self.columns if c not in features.names]
        if missing:
            raise ValueError(f"features: missing column(s) {missing} for {type(self).__name__}")
        self.columns_ = self.columns
        return self

    def decision_function(self, features: FeatureMatrix) -> np.ndarray:
        if not hasattr(self, "columns_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(features) first")
        total = np.sum([np.asarray(features.column(c), float) for c in self.columns_], axis=0)
        return np.log1p(np.maximum(total, 0.0))


class LeaderboardBaseline(_ColumnSum):
    """Rank by past shares plus the clicks they earned."""

    columns = ("shares_made", "clicks_earned")


class FollowersBaseline(_ColumnSum):
    """Rank by followers on the largest network."""

    columns = ("followers_max",)
