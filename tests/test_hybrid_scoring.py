"""FoldedScorer caches: exact after live events at the same request time, and the static
item blocks survive events (only replaced sources rebuild them)."""

from __future__ import annotations

import numpy as np

from recsys.models.hybrid import Hybrid
from tests.recsys_contract import DAY
from tests.test_hybrid import SMALL, _with_features, trend_dataset


def _exact(model: Hybrid, users: np.ndarray, items: np.ndarray, as_of: float) -> None:
    total = sum(model.contributions(users, items, as_of).values()) + model.intercept_
    np.testing.assert_allclose(total, model._score(users, items, as_of), rtol=1e-5, atol=1e-5)


def test_scores_follow_events_and_new_content_at_the_same_time() -> None:
    """Requests of one second share the per-time caches: events and new content in between
    must still show in the next score (trends, department rows, colleagues, EASE history)."""
    model = Hybrid(**SMALL).fit(_with_features(trend_dataset()))
    users, as_of = np.asarray([0, 1, 3, -1]), 10.5 * DAY
    items = np.arange(len(model.items_))
    before = model._score(users, items, as_of)
    _exact(model, users, items, as_of)
    model.observe(["u1", "u2", "u3", "u4"], ["quiet"] * 4, [as_of] * 4)
    quiet = model.items_.to_internal(["quiet"])[0]
    after = model._score(users, items, as_of)
    assert not np.allclose(after[:, quiet], before[:, quiet])
    _exact(model, users, items, as_of)
    _exact(model, users, np.asarray([quiet, 2, quiet]), as_of)
    model.add_items(["fresh"], times=[as_of])
    every = np.arange(len(model.items_))
    _exact(model, users, every, as_of)
    model.observe(["u0"], ["fresh"], [as_of])
    _exact(model, users, every[::-1], as_of)


def test_static_blocks_survive_events_and_rebuild_for_new_content() -> None:
    model = Hybrid(**SMALL).fit(_with_features(trend_dataset()))
    scorer, as_of = model.scorer_, 10.5 * DAY
    model._score(np.asarray([0]), np.arange(len(model.items_)), as_of)
    taste, affinity = scorer._item_block("taste"), scorer._item_block("affinity")
    model.observe(["u1"], ["i2"], [as_of])
    assert scorer._item_block("taste") is taste
    assert scorer._item_block("affinity") is affinity
    model.add_items(["fresh"], times=[as_of])
    grown = scorer._item_block("affinity")
    assert grown is not affinity and len(grown) == len(affinity) + 1
    np.testing.assert_array_equal(grown[:-1], affinity)
