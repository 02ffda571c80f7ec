"""FoldedScorer caches: exact after live events at the same request time, and the static
item blocks survive events (only replaced sources rebuild them)."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.models.hybrid import Hybrid
from recsys.models.hybrid_scoring import LIVE_TIMES, pair_values
from tests.recsys_contract import DAY
from tests.test_hybrid import SMALL, _with_features, trend_dataset


def _exact(model: Hybrid, users: np.ndarray, items: np.ndarray, as_of: float) -> None:
    total = sum(model.contributions(users, items, as_of).values()) + model.intercept_
    np.testing.assert_allclose(total, model.score(users, items, as_of), rtol=1e-5, atol=1e-5)


def test_scores_follow_events_and_new_content_at_the_same_time() -> None:
    """Requests of one second share the per-time caches: events and new content in between
    must still show in the next score (trends, department rows, colleagues, EASE history)."""
    model = Hybrid().set_params(**SMALL).fit(_with_features(trend_dataset()))
    users, as_of = np.asarray([0, 1, 3, -1]), 10.5 * DAY
    items = np.arange(len(model.items_))
    before = model.score(users, items, as_of)
    _exact(model, users, items, as_of)
    model.observe(["u1", "u2", "u3", "u4"], ["quiet"] * 4, [as_of] * 4)
    quiet = model.items_.to_internal(["quiet"])[0]
    after = model.score(users, items, as_of)
    assert not np.allclose(after[:, quiet], before[:, quiet])
    _exact(model, users, items, as_of)
    _exact(model, users, np.asarray([quiet, 2, quiet]), as_of)
    model.add_items(["fresh"], times=[as_of])
    every = np.arange(len(model.items_))
    _exact(model, users, every, as_of)
    model.observe(["u0"], ["fresh"], [as_of])
    _exact(model, users, every[::-1], as_of)


def test_static_blocks_survive_events_and_rebuild_for_new_content() -> None:
    model = Hybrid().set_params(**SMALL).fit(_with_features(trend_dataset()))
    scorer, as_of = model.scorer_, 10.5 * DAY
    model.score(np.asarray([0]), np.arange(len(model.items_)), as_of)

    def block(name: str) -> np.ndarray:
        return scorer.folds[name].scaled_rows(model.components_[name].item_vectors_)

    taste, affinity = block("taste"), block("affinity")
    model.observe(["u1"], ["i2"], [as_of])
    assert block("taste") is taste
    assert block("affinity") is affinity
    with pytest.raises(ValueError, match="read-only"):  # the rule the static cache relies on
        model.components_["affinity"].item_vectors_[0, 0] = 1.0
    model.add_items(["fresh"], times=[as_of])
    grown = block("affinity")
    assert grown is not affinity and len(grown) == len(affinity) + 1
    np.testing.assert_array_equal(grown[:-1], affinity)


def test_kept_user_rows_give_the_same_scores_through_events_users_and_content() -> None:
    """With per-employee rows kept (serving), every score equals the model without them:
    after warm-up, after the employee's own events, others' events (the cold profile),
    new employees and new content."""
    data = _with_features(trend_dataset())
    plain, kept = Hybrid().set_params(**SMALL).fit(data), Hybrid().set_params(**SMALL).fit(data)
    kept.keep_user_rows(1 << 20)
    assert kept.warm_user_rows() == len(kept.users_)
    as_of = 10.5 * DAY
    users = np.asarray([0, 1, 3, -1])

    def same(items: np.ndarray) -> None:
        np.testing.assert_allclose(
            kept._score(users, items, as_of), plain._score(users, items, as_of), atol=1e-5
        )
        for user in users:  # one at a time, as a feed asks
            np.testing.assert_allclose(
                kept._score(np.asarray([user]), items, as_of),
                plain._score(np.asarray([user]), items, as_of),
                atol=1e-5,
            )

    same(np.arange(len(kept.items_)))
    for model in (plain, kept):
        model.observe(["u1", "u3"], ["quiet", "i2"], [as_of, as_of])
    same(np.arange(len(kept.items_)))
    same(np.asarray([2, 0, 1]))
    for model in (plain, kept):
        model.add_users(["newbie"])
        model.observe(["newbie"], ["i1"], [as_of])
    users = np.asarray([0, 1, len(kept.users_) - 1, -1])
    same(np.arange(len(kept.items_)))
    for model in (plain, kept):
        model.add_items(["fresh"], times=[as_of])
    same(np.arange(len(kept.items_)))
    assert len(kept.scorer_.rows) <= len(kept.users_)


def test_kept_rows_are_dropped_for_the_employee_who_acted_and_bounded_in_bytes() -> None:
    model = Hybrid().set_params(**SMALL).fit(_with_features(trend_dataset()))
    row_bytes = 4 * len(model.items_)
    model.keep_user_rows(2 * row_bytes)
    assert model.warm_user_rows() == 2  # the budget holds two rows
    rows = model.scorer_.rows
    assert rows is not None and rows.nbytes == 2 * row_bytes
    kept = set(rows._rows)
    acted = model.users_.external[next(iter(kept))]
    model.observe([str(acted)], ["i2"], [10.5 * DAY])
    assert len(rows) == 1
    model.score(np.arange(len(model.users_)), np.arange(len(model.items_)), 10.5 * DAY)
    assert rows.nbytes <= 2 * row_bytes
    model.keep_user_rows(0)
    assert model.scorer_.rows is None and model.warm_user_rows() == 0


def test_one_employee_rows_equal_the_pair_values() -> None:
    """The feed's reasons take ``raw_rows`` (one employee); it must give what the
    per-pair path gives: known, new and unknown employees, new content, after events."""
    model = Hybrid().set_params(**SMALL).fit(_with_features(trend_dataset()))
    as_of = 10.5 * DAY
    model.add_users(["newbie"])
    model.add_items(["fresh"], times=[as_of])
    model.observe(["u1", "u2"], ["fresh", "i2"], [as_of, as_of])
    names = [str(n) for n in model.component_names_]
    items = np.asarray([len(model.items_) - 1, 0, 2, 1, 2])
    for user in (0, 1, 2, len(model.users_) - 1, -1, 0, 1):
        pairs = pair_values(model.components_, np.full(len(items), user), items, as_of)
        row = model.scorer_.raw_rows(user, items, as_of)  # shared rows kept per time
        assert list(row) == names
        for name in names:
            np.testing.assert_allclose(row[name], pairs[name], rtol=1e-9, atol=1e-12)
    _exact(model, np.asarray([1]), items, as_of)
    _exact(model, np.asarray([-1]), items, as_of)


def test_live_entries_of_older_request_times_are_dropped() -> None:
    """A server asks at a new second every second: only the latest times' entries stay."""
    model = Hybrid().set_params(**SMALL).fit(_with_features(trend_dataset()))
    scorer, every = model.scorer_, np.arange(len(model.items_))
    for second in range(10):
        model.score(np.asarray([0, -1]), every, 10.5 * DAY + second)
    assert scorer.timed.times() == [10.5 * DAY + 8, 10.5 * DAY + 9][-LIVE_TIMES:]


def test_score_parts_add_the_shared_department_row_to_the_item_vector_first() -> None:
    """The compiled walk's parts: the department trend (shared per department) comes added
    to the item vector, and the parts' float32 sum in order is the score row, bit for bit."""
    model = Hybrid().set_params(**SMALL).fit(_with_features(trend_dataset()))
    scorer, n, as_of = model.scorer_, len(model.items_), 10.5 * DAY
    assert "department_trend" in model.components_ and "colleague_trend" in model.components_
    folded = 0
    for user in [*range(len(model.users_)), -1]:
        found = scorer.score_parts(user, as_of, n)
        assert found is not None
        static, (first, *live) = found
        total = first.copy()
        for row in live:
            total += row
        np.testing.assert_array_equal(static + total, scorer.score_row(user, as_of, n))
        given = [
            c.live_scores(np.asarray([user]), None, as_of, scorer.folds[name])
            for name, c in model.components_.items()
        ]
        count = sum(part is not None for part in given)
        assert len(live) in (count, count - 1)
        folded += len(live) < count
    assert folded > len(model.users_) // 2  # most employees: their department's row added
