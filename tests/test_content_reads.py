"""``ContentReads``: the content forecast's store reads of the past, kept for a while (the
service keeps them an hour). Kept reads give the same rows as fresh ones; an event stored
late is seen once what was kept is ``ttl`` old (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from features.content_performance import ContentPerformanceFeatures
from features.content_reads import ContentReads
from features.data.store import Store
from tests.test_content_performance import C1, T, measured, programme, share

IDS = ["c3", "c4"]  # c3's history reads c1's and c2's first weeks; c4 is a scheduled draft


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_kept_reads_give_the_fresh_rows_and_a_late_event_shows_after_ttl(store: Store) -> None:
    programme(store)
    builder = ContentPerformanceFeatures(components=0).fit(store, ["c1", "c2", "c3"])
    clock = Clock()
    reads = ContentReads(ttl=60.0, clock=clock)
    fresh = builder.transform(store, IDS, as_of=T).values
    np.testing.assert_array_equal(builder.transform(store, IDS, as_of=T, reads=reads).values, fresh)
    np.testing.assert_array_equal(builder.transform(store, IDS, as_of=T, reads=reads).values, fresh)

    # stored late: a share inside c1's first week, measured in it (c3's topic and recent record)
    store.write("interactions", [share("late", "a2", "c1", C1 + timedelta(days=4))])
    store.write("share_outcomes", [measured("late", C1 + timedelta(days=5), 5000, 400)])
    now = builder.transform(store, IDS, as_of=T).values
    assert not np.array_equal(now, fresh), "the late share changes c3's inputs"
    clock.now = 59.0
    np.testing.assert_array_equal(builder.transform(store, IDS, as_of=T, reads=reads).values, fresh)
    clock.now = 60.0
    np.testing.assert_array_equal(builder.transform(store, IDS, as_of=T, reads=reads).values, now)


def test_only_unseen_windows_are_read_and_nothing_is_kept_without_a_ttl(store: Store) -> None:
    programme(store)
    day = timedelta(days=1)
    starts, stops = [T - 30 * day, T - 10 * day], [T, T]
    kept = ContentReads(ttl=3600.0)
    first = kept.audience(store, starts, stops)
    assert first[0, 0] > 0  # advocates active in the 30 days before T
    store.write("interactions", [share("late", "a1", "c2", T - 2 * day)])
    # the two windows are kept; a new one is read, with the late share
    again = kept.audience(store, [*starts, T - 5 * day], [*stops, T])
    np.testing.assert_array_equal(again[:2], first)
    fresh = ContentReads().audience(store, starts, stops)
    assert fresh[0, 1] == first[0, 1] + 1 and again[2, 1] == 1
    assert ContentReads().audience(store, starts, stops)[0, 1] == fresh[0, 1]


def test_a_negative_ttl_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="ttl"):
        ContentReads(ttl=-1.0)
