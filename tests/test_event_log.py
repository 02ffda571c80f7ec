"""The store's event log: interactions numbered in the order stored, on both databases, read
after a cursor or outside a training cut; a snapshot records the number it read through."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from features.data import schema
from features.data.event_log import EventLog
from features.data.reader import StoreReader
from features.data.store import Store
from features.snapshot import Snapshot
from tests.test_serving_data import advocates, content, write_table


def _events(first: int, n: int, day: int = 1, kind: str = "view") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": [f"ev{j}" for j in range(first, first + n)],
            "employee_id": "e1",
            "content_id": "c01",
            "event_type": kind,
            "network": None,
            "timestamp": pd.Timestamp(datetime(2026, 11, day, 12, tzinfo=UTC)),
            "value": None,
        }
    )


def _filled(store: Store) -> Store:
    write_table(store, "advocates", advocates())
    write_table(store, "content", content())
    return store


@pytest.mark.parametrize("rows", [3, 250])  # a statement, and COPY on PostgreSQL
def test_events_are_numbered_in_the_order_stored(store: Store, rows: int) -> None:
    log = EventLog(_filled(store))
    assert log.head() == 0 and log.after(0, limit=10).empty
    store.write_frame("interactions", _events(0, rows))
    store.write_frame("interactions", _events(1000, 2, kind="share"))
    store.write_frame("interactions", _events(0, rows))  # stored already: not numbered again
    read = log.after(0, limit=10_000)
    assert read["event_id"].tolist() == [*(f"ev{j}" for j in range(rows)), "ev1000", "ev1001"]
    assert read["seq"].is_monotonic_increasing and read["seq"].is_unique
    assert log.head() == read["seq"].iloc[-1]
    later = log.after(int(read["seq"].iloc[rows - 1]), limit=10)
    assert later["event_id"].tolist() == ["ev1000", "ev1001"]
    assert later["event_type"].tolist() == ["share", "share"]
    assert str(later["timestamp"].dt.tz) == "UTC"
    assert log.after(0, limit=2)["event_id"].tolist() == ["ev0", "ev1"]


def test_reading_outside_a_training_cut(store: Store) -> None:
    """A model trained through #3 as of day 2 has not seen #4 and later, nor #1-#3 events
    observed after day 2."""
    log = EventLog(_filled(store))
    store.write_frame("interactions", _events(0, 1, day=1))
    store.write_frame("interactions", _events(1, 1, day=5))  # late for the cut's as_of
    store.write_frame("interactions", _events(2, 1, day=1))
    store.write_frame("interactions", _events(3, 2, day=1))
    seqs = log.after(0, limit=10)["seq"].tolist()
    cut = (seqs[2], datetime(2026, 11, 2, tzinfo=UTC))
    unseen = log.after(0, limit=10, unseen_by=cut)
    assert unseen["event_id"].tolist() == ["ev1", "ev3", "ev4"]
    assert log.after(0, limit=10, through=seqs[3], unseen_by=cut)["event_id"].tolist() == [
        "ev1",
        "ev3",
    ]


def test_a_snapshot_reads_the_events_numbered_up_to_the_head(store: Store) -> None:
    _filled(store)
    store.write_frame("interactions", _events(0, 4))
    snapshot = Snapshot.load(StoreReader(store), datetime(2026, 12, 1, tzinfo=UTC))
    assert snapshot.events_seq == EventLog(store).head()
    assert len(snapshot.interactions) == 4
    first = int(EventLog(store).after(0, limit=1)["seq"].iloc[0])
    older = StoreReader(store).table("interactions", stored_through=first)
    assert older["event_id"].tolist() == ["ev0"]
    with pytest.raises(ValueError, match="stored_through"):
        StoreReader(store).table("content", stored_through=1)


def test_migration_8_numbers_the_events_of_an_older_postgresql_store(pg_store: Store) -> None:
    _filled(pg_store)
    pg_store.write_frame("interactions", _events(0, 3))
    with pg_store.engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_interactions_seq"))
        conn.execute(sa.text("ALTER TABLE interactions DROP COLUMN seq"))
        conn.execute(sa.delete(schema.schema_version).where(schema.schema_version.c.version > 7))
    assert schema.migrate(pg_store.engine) == schema.HEAD
    log = EventLog(pg_store)
    assert sorted(log.after(0, limit=10)["event_id"]) == ["ev0", "ev1", "ev2"]
    pg_store.write_frame("interactions", _events(3, 1))
    assert log.after(log.head() - 1, limit=10)["event_id"].tolist() == ["ev3"]
    assert schema.migrate(pg_store.engine) == schema.HEAD  # a second run changes nothing
