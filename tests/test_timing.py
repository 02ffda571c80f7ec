"""The time components on tiny literal data (values worked out by hand)."""

from __future__ import annotations

import numpy as np

from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.models.component import FitContext
from recsys.models.timing import ColdTimePopularity, ReleaseWindow, SessionCooc, TimePopularity

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


def test_time_popularity_is_the_items_popularity_when_the_employee_was_active() -> None:
    model = TimePopularity(bin_days=1.0, bandwidth_bins=0.0).fit_component(_dataset(), FitContext())
    users, items = np.asarray([0, 0, 2, 2, -1, -1]), np.asarray([0, 1, 0, 1, 0, 1])
    # u1: bin 0 only; u3: bin 2 only; nobody (-1): every event's bins, 2/3 and 1/3
    expected = [np.log(3), 0.0, 0.0, np.log(2), 2 / 3 * np.log(3), 1 / 3 * np.log(2)]
    np.testing.assert_allclose(model.pairs(users, items, np.zeros(6)), expected, rtol=1e-6)
    share = TimePopularity(bin_days=1.0, bandwidth_bins=0.0, item_scale="share")
    share.fit_component(_dataset(), FitContext())
    np.testing.assert_allclose(share.pairs(users, items, np.zeros(6)), [1, 0, 0, 1, 2 / 3, 1 / 3])
    model.observe_events(np.asarray([0]), np.asarray([1]), np.asarray([2.5 * DAY]), np.ones(1))
    np.testing.assert_allclose(
        model.row(0, np.asarray([0, 1]), 0.0), [np.log(3) / 2, np.log(2) / 2]
    )
    model.grow_items(np.asarray([2]), ["new"], None, np.zeros(1))
    assert model.row(0, np.asarray([2]), 0.0)[0] == 0.0  # no event in fit: no popularity


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


def test_session_cooc_counts_items_touched_within_the_window() -> None:
    """u1 rates a then b a minute later (and c hours later), u2 rates a and b 20 minutes
    apart, u3 rates a: only u1's a-b pair is within 6 minutes, so W[a, b] = 1 / sqrt(2 * 2)."""
    dataset = Dataset.from_events(
        ["u1", "u1", "u1", "u2", "u2", "u3"],
        ["a", "b", "c", "a", "b", "a"],
        times=np.asarray([0.0, 60.0, 3 * 3600.0, 0.0, 1200.0, 0.0]),
    )
    model = SessionCooc(window_minutes=6.0).fit_component(dataset, FitContext())
    np.testing.assert_allclose(model.weights_[:2, :2], [[0.0, 0.5], [0.5, 0.0]])
    assert not model.weights_[2].any() and not model.weights_[:, 2].any()
    np.testing.assert_allclose(model.row(2, np.asarray([1, 2]), 0.0), [0.5, 0.0])
    model.observe_events(np.asarray([2]), np.asarray([1]), np.asarray([10.0]), np.ones(1))
    np.testing.assert_allclose(model.row(2, np.asarray([0]), 0.0), [0.5])  # b's row now
    restored = SessionCooc().load_state(model.state())
    np.testing.assert_array_equal(
        restored.pairs(np.asarray([2]), np.asarray([0]), np.zeros(1)), [0.5]
    )


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
