"""UserRows: the LRU of per-employee score rows (budget, tokens, stale puts)."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.models.user_rows import UserRows


def _row(value: float, n: int = 4) -> np.ndarray:
    return np.full(n, value, np.float32)


def test_rows_are_kept_within_the_budget_least_recently_used_out() -> None:
    rows = UserRows(3 * 16)
    token = (object(),)
    for user in range(3):
        assert rows.put(user, _row(user), token, rows.snapshot(user, token))
    assert rows.get(0, token) is not None  # 0 is now the most recent
    assert rows.put(3, _row(3), token, rows.snapshot(3, token))
    assert rows.get(1, token) is None and rows.get(0, token) is not None
    assert len(rows) == 3 and rows.nbytes == 48
    assert not rows.room_for(16)


def test_another_token_empties_the_cache() -> None:
    rows, first, second = UserRows(1024), (np.zeros(2),), (np.zeros(2),)
    assert rows.put(1, _row(1), first, rows.snapshot(1, first))
    assert rows.get(1, second) is None
    assert rows.get(1, first) is None and len(rows) == 0


def test_a_row_computed_before_a_drop_or_clear_is_not_kept() -> None:
    rows, token = UserRows(1024), (object(),)
    snapshot = rows.snapshot(7, token)
    rows.drop([7])  # the employee acted while their row was computed
    assert not rows.put(7, _row(7), token, snapshot)
    snapshot = rows.snapshot(8, token)
    rows.clear()
    assert not rows.put(8, _row(8), token, snapshot)
    assert rows.put(8, _row(8), token, rows.snapshot(8, token))
    assert rows.get(8, token)[0] == 8


def test_budget_is_checked() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        UserRows(-1)
    assert not UserRows(8).put(1, _row(1), (), (0, 0))  # larger than the whole budget
