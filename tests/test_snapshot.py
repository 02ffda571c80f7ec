"""Reading the store as of a time, and the snapshot every builder starts from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.data.importer import import_path
from features.data.reader import StoreReader
from features.data.store import Store
from features.data.validation import ValidationContext
from features.snapshot import Snapshot

SMALL = Path(__file__).parent / "fixtures" / "contract_small"


def test_reader_types_and_cuts_events_at_as_of(store: Store, context: ValidationContext) -> None:
    import_path(store, SMALL, context=context)
    reader = StoreReader(store)
    # e2 happened exactly at 10:05: an event at as_of is known at as_of
    events = reader.table("interactions", as_of=pd.Timestamp("2026-10-01T10:05:00Z"))
    assert sorted(events["event_id"]) == ["e1", "e2"]
    assert str(events["timestamp"].dt.tz) == "UTC"
    later = reader.table("interactions", since=pd.Timestamp("2026-10-01T10:05:00Z"))
    assert sorted(later["event_id"]) == ["e3", "e4"]
    advocates = reader.table("advocates")
    ana = advocates.set_index("employee_id").loc["ana"]
    assert ana["languages"] == ["de", "en"] and not ana["opted_out"]
    outcomes = reader.table("share_outcomes")
    assert outcomes["impressions"].tolist() == [1200, 300]
    assert pd.isna(outcomes["clicks"].iloc[1])


def test_snapshot_load_equals_cut_of_a_later_snapshot(
    sqlite_store: Store, context: ValidationContext
) -> None:
    import_path(sqlite_store, SMALL, context=context)
    reader = StoreReader(sqlite_store)
    as_of = pd.Timestamp("2026-10-02T12:00:00Z")
    loaded = Snapshot.load(reader, as_of)
    cut = Snapshot.load(reader, "2026-11-01").cut(as_of)
    for name in ("interactions", "share_outcomes", "social_accounts"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(cut, name))
    assert sorted(loaded.interactions["event_id"]) == ["e1", "e2", "e3"]
    assert loaded.share_outcomes["event_id"].tolist() == ["e2"]  # e4's is measured 10-04
    assert sorted(loaded.profiled_advocates["employee_id"]) == ["ana", "ben"]
