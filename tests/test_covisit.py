"""The session co-visitation component on tiny literal data (the shape contract is in
tests/test_components.py)."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.dataset import Dataset
from recsys.models.component import FitContext
from recsys.models.covisit import CoVisit
from recsys.reasons import ReasonKind, component_kind

HOUR = 3_600.0
DAY = 86_400.0
T0 = 1_460_000_000.0  # a DeskDrop-like epoch: the decay's multiplier must not overflow


def reading() -> Dataset:
    """a and b read x then y within the hour; c read x then z a day apart; d read x now."""
    events = [
        ("a", "x", T0),
        ("a", "y", T0 + 0.5 * HOUR),
        ("b", "x", T0 + 2 * HOUR),
        ("b", "y", T0 + 2.2 * HOUR),
        ("c", "x", T0 + 3 * HOUR),
        ("c", "z", T0 + 27 * HOUR),
        ("d", "x", T0 + 30 * HOUR),
    ]
    users, items, times = zip(*events, strict=True)
    return Dataset.from_events(list(users), list(items), times=np.asarray(times))


def fitted(**params: float | bool) -> CoVisit:
    """Fitted on :func:`reading`: one-hour window and session, directed, unless given."""
    settings = {"window_hours": 1.0, "session_half_life_hours": 1.0, "symmetric": False}
    return CoVisit(**(settings | params)).fit_component(reading(), FitContext())  # type: ignore[arg-type]


def test_what_others_read_next_after_the_employees_latest_item_scores() -> None:
    component = fitted(half_life_days=1e6)
    d, x, y, z = 3, 0, 1, 2  # internal ids in first-seen order
    now = T0 + 30 * HOUR
    values = component.pairs(np.full(3, d), np.asarray([x, y, z]), np.full(3, now))
    # x -> y twice within the hour (z came a day after x: outside the window); alpha = 1
    assert values == pytest.approx([0.0, 2 / (2 + 1), 0.0])


def test_symmetric_counts_what_was_read_before_too() -> None:
    component = fitted(half_life_days=1e6, symmetric=True)
    a, x, y = 0, 0, 1
    now = T0 + 1 * HOUR  # a read x (1 h ago) then y (30 min ago); a and b read x before y
    values = component.pairs(np.full(2, a), np.asarray([x, y]), np.full(2, now))
    # x from y (y -> x counted too) at the session weight of y; y from x at that of x
    assert values == pytest.approx([2**-0.5 * 2 / 3, 0.5 * 2 / 3])


def test_the_session_and_the_counts_decay() -> None:
    component = fitted(half_life_days=1e6, session_half_life_hours=1.0)
    later = T0 + 32 * HOUR  # d read x two hours earlier: a quarter of the weight
    value = component.pairs(np.asarray([3]), np.asarray([1]), np.asarray([later]))
    assert value == pytest.approx([0.25 * 2 / 3])
    counts_decay = fitted(half_life_days=1.0, session_half_life_hours=1e6)
    # both transitions ~28-29.5 h old at T0 + 30 h: decayed counts over decayed counts + 1
    value = counts_decay.pairs(np.asarray([3]), np.asarray([1]), np.asarray([T0 + 30 * HOUR]))
    decayed = 2 ** (-29.5 / 24) + 2 ** (-27.8 / 24)
    assert value == pytest.approx([decayed / (decayed + 1)])


def test_live_events_count_and_unknown_employees_score_zero() -> None:
    component = fitted(half_life_days=1e6)
    now = T0 + 31 * HOUR
    component.observe_events(
        np.asarray([3]), np.asarray([2]), np.asarray([now]), np.ones(1, np.float32)
    )
    assert component.counts_[0, 2] == pytest.approx(1.0)  # d: x -> z within the hour
    assert component.last_items_[3, :2].tolist() == [2, 0]
    assert component.pairs(np.asarray([-1]), np.asarray([1]), np.asarray([now])) == [0.0]


def test_a_long_quiet_spell_rebases_without_changing_values() -> None:
    component = fitted(half_life_days=0.01)
    before = component.pairs(np.asarray([3]), np.asarray([1]), np.asarray([T0 + 31 * HOUR]))
    base = component.base_
    component.observe_events(
        np.asarray([0]), np.asarray([0]), np.asarray([T0 + 60 * DAY]), np.ones(1, np.float32)
    )
    assert component.base_ > base
    assert np.isfinite(component.counts_).all()
    assert before >= 0


def test_it_gives_the_co_engagement_reason() -> None:
    assert component_kind("covisit") is ReasonKind.CO_ENGAGEMENT


def test_a_hybrid_with_it_gives_the_same_contributions_on_the_compiled_path() -> None:
    from recsys.models import Hybrid
    from tests.test_hybrid import SMALL, _with_features, trend_dataset

    covisit = CoVisit(window_hours=48.0, session_half_life_hours=24.0)
    model = Hybrid(extra_components=(covisit,)).set_params(**SMALL)
    model.fit(_with_features(trend_dataset()))
    items, as_of = np.arange(len(model.items_)), 10.5 * DAY
    names, rows = model.contribution_matrix(0, items, as_of)
    parts = model.contributions(np.asarray([0]), items, as_of)
    assert "covisit" in names
    for name, row in zip(names, rows, strict=True):
        np.testing.assert_allclose(row, parts[name][0], rtol=1e-6, atol=1e-9)
