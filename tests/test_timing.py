"""The time components on tiny literal data (values worked out by hand)."""

from __future__ import annotations

import numpy as np

from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.models.component import FitContext
from recsys.models.timing import ColdTimePopularity, ReleaseWindow

DAY = 86_400.0


def _dataset() -> Dataset:
    """u1 and u2 rate a on day 0, u3 rates b on day 2 (daily bins: 3); b was released on
    day 1.5 (days since the Unix epoch, the events' clock), a before everything."""
    ids = IdMap.from_ids(["a", "b"], "content")
    released = FeatureMatrix(np.asarray([[0.0], [1.5]], np.float32), ("released",), ids)
    return Dataset.from_events(
        ["u1", "u2", "u3"],
        ["a", "a", "b"],
        times=np.asarray([0.0, 0.5, 2.2]) * DAY,
        items=ids,
        item_features=released,
    )


def test_release_window_is_the_share_of_activity_after_the_release() -> None:
    model = ReleaseWindow(bin_days=1.0).fit_component(_dataset(), FitContext())
    users, items = np.asarray([0, 2, -1, 0]), np.asarray([1, 1, 1, 0])
    np.testing.assert_allclose(model.pairs(users, items, np.zeros(4)), [0.0, 1.0, 1 / 3, 1.0])
    new = FeatureMatrix(
        np.asarray([[2.9]], np.float32), ("released",), IdMap.from_ids(["late"], "content")
    )
    model.grow_items(np.asarray([2]), ["late"], new, np.zeros(1))
    model.observe_events(np.asarray([0]), np.asarray([0]), np.asarray([2.0 * DAY]), np.ones(1))
    # bins end on days 1, 2, 3: 'late' is out only in the last one; u1 now half in it
    np.testing.assert_allclose(model.row(0, np.asarray([1, 2]), 0.0), [0.5, 0.5])
    restored = ReleaseWindow(bin_days=1.0).load_state(model.state())
    np.testing.assert_array_equal(restored.row(0, np.asarray([1, 2]), 0.0), [0.5, 0.5])


def test_cold_time_popularity_predicts_a_new_items_row_from_its_features() -> None:
    """a (genre x) was rated on day 0, b (genre y) on day 2: new content of genre x gets
    a's row (a near-exact ridge), content with events gets zeros."""
    ids = IdMap.from_ids(["a", "b"], "content")
    genres = FeatureMatrix(np.eye(2, dtype=np.float32), ("genre=x", "genre=y"), ids)
    dataset = Dataset.from_events(
        ["u1", "u2", "u3"],
        ["a", "a", "b"],
        times=np.asarray([0.0, 0.5, 2.2]) * DAY,
        items=ids,
        item_features=genres,
    )
    model = ColdTimePopularity(bin_days=1.0, bandwidth_bins=0.0, prefixes="genre=", alpha=1e-9)
    model.fit_component(dataset, FitContext())
    new = FeatureMatrix(
        np.asarray([[1.0, 0.0]], np.float32), ("genre=x", "genre=y"), IdMap.from_ids(["c"], "c")
    )
    model.grow_items(np.asarray([2]), ["c"], new, np.zeros(1))
    np.testing.assert_allclose(
        model.row(0, np.asarray([0, 1, 2]), 0.0), [0, 0, np.log(3)], atol=1e-5
    )
    np.testing.assert_allclose(model.row(2, np.asarray([2]), 0.0), [0.0], atol=1e-5)
    restored = ColdTimePopularity(**model.get_params()).load_state(model.state())
    np.testing.assert_array_equal(
        restored.row(0, np.asarray([2]), 0.0), model.row(0, np.asarray([2]), 0.0)
    )
