"""Conversion paths read from the store: lookback, unattributed conversions, the clicks that
led to none, and the codes every touch carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from features.click_paths import read_click_paths
from features.data.importer import import_path
from features.data.store import Store
from features.data.validation import ValidationContext

SMALL = Path(__file__).parent / "fixtures" / "contract_small"
START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def _labels(paths, attribute: str, path: int) -> list[str]:
    codes = paths.attributes[attribute]
    touches = paths.touch[paths.indptr[path] : paths.indptr[path + 1]]
    return list(codes.labels[codes.codes[touches]])


def test_paths_of_the_small_store(store: Store, context: ValidationContext) -> None:
    import_path(store, SMALL, context=context)
    paths = read_click_paths(store, START, END)
    # q1 (visitor v1): clicks k1 (share e2, ana, linkedin) then k2 (share e4, ben, x);
    # q2 (visitor v9) has no click: unattributed; v2's click k3 led to nothing.
    assert (paths.conversions, paths.unattributed, paths.n_paths) == (2, 1, 2)
    assert list(paths.converted) == [True, False]
    assert list(paths.conversion_id) == ["q1", None]
    assert _labels(paths, "share", 0) == ["e2", "e4"]
    assert _labels(paths, "advocate", 0) == ["ana", "ben"]
    assert _labels(paths, "network", 0) == ["linkedin", "x"]
    assert _labels(paths, "department", 0) == ["Marketing", "Engineering"]
    assert _labels(paths, "content_type", 0) == ["article", "job"]
    assert _labels(paths, "share", 1) == ["e2"]
    assert paths.value[0] == 500.0 and paths.currency[0] == "EUR"
    assert paths.end_time[0] == _seconds("2026-10-04T09:00:00")
    # k3 at 2026-10-02 09:30 + 30 days lies after the period's end: cut there (censored)
    assert paths.end_time[1] == _seconds("2026-11-01T00:00:00")
    times = paths.click_time[paths.touch[:2]]
    assert list(times) == [_seconds("2026-10-01T11:00:00"), _seconds("2026-10-03T13:00:00")]


def test_lookback_bounds_the_path(sqlite_store: Store, context: ValidationContext) -> None:
    import_path(sqlite_store, SMALL, context=context)
    # k1 lies 2.9 days before q1, k2 0.8 days before: a 2-day lookback keeps k2 only
    paths = read_click_paths(sqlite_store, START, END, lookback=timedelta(days=2))
    assert _labels(paths, "share", 0) == ["e4"]
    assert paths.n_converting == 1
    # k1 and k3 were on no conversion's path; they lie 22.5 h apart but belong to two visitors
    assert sorted(len(_labels(paths, "share", p)) for p in range(1, paths.n_paths)) == [1, 1]
    assert np.all(np.diff(paths.indptr) >= 1)


def test_conversions_outside_the_period_are_not_read(
    sqlite_store: Store, context: ValidationContext
) -> None:
    import_path(sqlite_store, SMALL, context=context)
    paths = read_click_paths(sqlite_store, START, datetime(2026, 10, 4, 9, tzinfo=UTC))
    # q1 at 09:00 sharp lies at the (exclusive) end: not read; its clicks are non-converting
    assert (paths.conversions, paths.n_converting) == (0, 0)
    assert paths.n_paths == 2  # v1's two clicks (2.1 days apart) and v2's one


def test_bad_period_names_the_field(sqlite_store: Store) -> None:
    with pytest.raises(ValueError, match=r"^end:"):
        read_click_paths(sqlite_store, END, START)
    with pytest.raises(ValueError, match=r"^lookback:"):
        read_click_paths(sqlite_store, START, END, lookback=timedelta(0))
