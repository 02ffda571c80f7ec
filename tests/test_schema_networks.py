"""Schema version 4: content.networks (the networks content is meant for) on both databases."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from features.data import schema
from features.data.reader import StoreReader
from features.data.store import Store


def _columns(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns("content")}


def test_a_version_3_store_gains_content_networks(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE content DROP COLUMN networks"))
        conn.execute(sa.delete(schema.schema_version))
        conn.execute(
            schema.schema_version.insert().values(
                version=3, applied_at=datetime(2026, 1, 1), description="before networks"
            )
        )
    assert "networks" not in _columns(store)
    assert schema.migrate(store.engine) == schema.HEAD >= 4
    assert "networks" in _columns(store)
    assert schema.migrate(store.engine) == schema.HEAD  # a second run changes nothing


def test_networks_are_stored_and_read_back(store: Store) -> None:
    row = {
        "content_id": "c1",
        "title": "Hello",
        "content_type": "article",
        "published_at": datetime(2026, 11, 1),
        "networks": ["linkedin", "x"],
    }
    store.write("content", [row, {**row, "content_id": "c2", "networks": None}])
    frame = StoreReader(store).table("content", columns=["content_id", "networks"])
    by_id = dict(zip(frame["content_id"], frame["networks"], strict=True))
    assert list(by_id["c1"]) == ["linkedin", "x"]
    assert by_id["c2"] is None or len(by_id["c2"]) == 0
