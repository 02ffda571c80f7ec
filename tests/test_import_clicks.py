"""Import of link_clicks and conversions: every rejection reason, currencies, idempotence,
small chunks, and the schema step that adds the two tables, on both stores."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from features.data import schema
from features.data.importer import EXIT_OK, EXIT_ROWS_REJECTED, ImportReport, import_path
from features.data.sources import DEFAULT_CHUNK_ROWS
from features.data.store import Store
from features.data.validation import ValidationContext

SMALL = Path(__file__).parent / "fixtures" / "contract_small"
CHUNKINGS = pytest.mark.parametrize("chunk_rows", [1, DEFAULT_CHUNK_ROWS])

# SMALL's interactions: e1 a view, e2 and e4 shares.
CLICKS = """
click_id,share_event_id,visitor_id,timestamp,landing_url
ok1,e2,v7,2026-10-04T10:00:00Z,https://example.com/c1
no-visitor,e2,,2026-10-04T10:00:00Z,
bad-time,e2,v7,yesterday,
future,e2,v7,2027-01-01T00:00:00Z,
ghost-share,e404,v7,2026-10-04T10:00:00Z,
a-view,e1,v7,2026-10-04T10:00:00Z,
ok2,e4,v8,2026-10-04T11:00:00+02:00,
"""

CONVERSIONS = """
conversion_id,visitor_id,timestamp,kind,value,currency
ok-eur,v7,2026-10-04T10:00:00Z,Lead,120.5,eur
ok-bare,v7,2026-10-04T10:00:00Z,signup,,
no-visitor,,2026-10-04T10:00:00Z,lead,,
bad-time,v7,soon,lead,,
future,v7,2027-01-01T00:00:00Z,lead,,
shape,v7,2026-10-04T10:00:00Z,lead,10,EURO
not-iso,v7,2026-10-04T10:00:00Z,lead,10,ABC
no-currency,v7,2026-10-04T10:00:00Z,lead,10,
negative,v7,2026-10-04T10:00:00Z,lead,-1,EUR
ok-usd,v8,2026-10-04T10:00:00Z,purchase,0,usd
"""


def _write(folder: Path, table: str, text: str) -> Path:
    path = folder / f"{table}.csv"
    path.write_text(text.strip() + "\n")
    return path


def _found(report: ImportReport, path: Path) -> set[tuple[int, str, str]]:
    """(row, field, reason) of the rejections of ``path`` (checked to be of its table)."""
    rejections = [r for r in report.rejections if r.file == str(path)]
    assert {r.table for r in rejections} <= {path.stem}
    return {(r.row, r.field, str(r.reason)) for r in rejections}


def _by_key(store: Store, table: str, key: str) -> dict[str, dict[str, object]]:
    return {str(row[key]): row for row in store.rows(table)}


@CHUNKINGS
def test_link_click_rejections_and_valid_rows(
    store: Store, context: ValidationContext, tmp_path: Path, chunk_rows: int
) -> None:
    import_path(store, SMALL, context=context)
    path = _write(tmp_path, "link_clicks", CLICKS)
    report = import_path(store, tmp_path, context=context, chunk_rows=chunk_rows)
    assert report.exit_code == EXIT_ROWS_REJECTED
    assert (report.accepted["link_clicks"], report.rejected["link_clicks"]) == (2, 5)
    assert _found(report, path) == {
        (2, "visitor_id", "missing_value"),
        (3, "timestamp", "unparsable_timestamp"),
        (4, "timestamp", "future_timestamp"),
        (5, "share_event_id", "unknown_foreign_key"),
        (6, "share_event_id", "unknown_foreign_key"),  # e1 is a view, not a share
    }
    view = next(r for r in report.rejections if r.row == 6)
    assert (view.value, view.message) == (
        "e1",
        "no share event with this id in the store or this import",
    )
    clicks = _by_key(store, "link_clicks", "click_id")
    assert set(clicks) == {"k1", "k2", "k3", "ok1", "ok2"}
    assert clicks["ok2"]["timestamp"] == datetime(2026, 10, 4, 9, 0)  # +02:00 -> UTC
    assert clicks["ok2"]["landing_url"] is None
    assert clicks["ok1"]["landing_url"] == "https://example.com/c1"


@CHUNKINGS
def test_conversion_rejections_currencies_and_valid_rows(
    store: Store, context: ValidationContext, tmp_path: Path, chunk_rows: int
) -> None:
    path = _write(tmp_path, "conversions", CONVERSIONS)
    report = import_path(store, tmp_path, context=context, chunk_rows=chunk_rows)
    assert report.exit_code == EXIT_ROWS_REJECTED
    assert (report.accepted["conversions"], report.rejected["conversions"]) == (3, 7)
    assert _found(report, path) == {
        (3, "visitor_id", "missing_value"),
        (4, "timestamp", "unparsable_timestamp"),
        (5, "timestamp", "future_timestamp"),
        (6, "currency", "bad_type"),
        (7, "currency", "not_allowed"),
        (8, "currency", "missing_value"),
        (9, "value", "out_of_range"),
    }
    stored = {
        key: (row["kind"], row["value"], row["currency"])
        for key, row in _by_key(store, "conversions", "conversion_id").items()
    }
    assert stored == {
        "ok-eur": ("lead", 120.5, "EUR"),
        "ok-bare": ("signup", None, None),
        "ok-usd": ("purchase", 0.0, "USD"),
    }


def test_fixture_currency_is_stored_upper_case(store: Store, context: ValidationContext) -> None:
    assert import_path(store, SMALL, context=context).exit_code == EXIT_OK
    stored = _by_key(store, "conversions", "conversion_id")
    assert (stored["q1"]["value"], stored["q1"]["currency"]) == (500.0, "EUR")
    assert (stored["q2"]["value"], stored["q2"]["currency"]) == (None, None)


@CHUNKINGS
def test_reimport_stores_nothing_twice_and_keeps_the_first_facts(
    store: Store, context: ValidationContext, tmp_path: Path, chunk_rows: int
) -> None:
    import_path(store, SMALL, context=context, chunk_rows=chunk_rows)
    again = import_path(store, SMALL, context=context, chunk_rows=chunk_rows)
    assert again.exit_code == EXIT_OK
    assert (again.new_rows["link_clicks"], again.new_rows["conversions"]) == (0, 0)
    _write(
        tmp_path, "link_clicks", "click_id,share_event_id,visitor_id,timestamp\nk1,e4,v5,2026-10-05"
    )
    _write(
        tmp_path, "conversions", "conversion_id,visitor_id,timestamp,kind\nq1,v5,2026-10-05,lead"
    )
    changed = import_path(store, tmp_path, context=context, chunk_rows=chunk_rows)
    assert changed.exit_code == EXIT_OK and changed.new_rows == {"link_clicks": 0, "conversions": 0}
    assert (store.count("link_clicks"), store.count("conversions")) == (3, 2)
    k1 = _by_key(store, "link_clicks", "click_id")["k1"]
    assert (k1["share_event_id"], k1["visitor_id"]) == ("e2", "v1")  # facts are immutable
    q1 = _by_key(store, "conversions", "conversion_id")["q1"]
    assert (q1["kind"], q1["currency"]) == ("demo_request", "EUR")


@CHUNKINGS
def test_clicks_reference_shares_of_the_same_import(
    store: Store, context: ValidationContext, chunk_rows: int
) -> None:
    report = import_path(store, SMALL, context=context, chunk_rows=chunk_rows)
    assert report.rejected["link_clicks"] == 0 and report.new_rows["link_clicks"] == 3


def _tables(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def _versions(store: Store) -> list[tuple[int, str]]:
    with store.engine.connect() as conn:
        query = sa.select(schema.schema_version.c.version, schema.schema_version.c.description)
        return sorted(tuple(row) for row in conn.execute(query))


def _to_version_4(store: Store) -> None:
    """Make ``store`` what a version-4 store was: no link_clicks or conversions."""
    with store.engine.begin() as conn:
        schema.CONTRACT_TABLES["conversions"].drop(conn)
        schema.CONTRACT_TABLES["link_clicks"].drop(conn)
        conn.execute(sa.delete(schema.schema_version))
        conn.execute(
            schema.schema_version.insert().values(
                version=4, applied_at=datetime(2026, 1, 1), description="before clicks"
            )
        )


def test_a_version_4_store_migrates_keeping_its_data(
    store: Store, context: ValidationContext
) -> None:
    import_path(store, SMALL, context=context)
    feed = {t: n for t, n in store.counts().items() if t not in ("link_clicks", "conversions")}
    _to_version_4(store)
    assert not {"link_clicks", "conversions"} & _tables(store)
    assert schema.migrate(store.engine) == schema.HEAD >= 5
    assert {"link_clicks", "conversions"} <= _tables(store)
    assert store.counts() == {**feed, "link_clicks": 0, "conversions": 0}
    assert 5 in dict(_versions(store))
    tables, versions = _tables(store), _versions(store)
    assert schema.migrate(store.engine) == schema.HEAD  # a second run changes nothing
    assert (_tables(store), _versions(store)) == (tables, versions)
    report = import_path(store, SMALL, context=context)
    assert report.exit_code == EXIT_OK
    assert report.new_rows == {**dict.fromkeys(feed, 0), "link_clicks": 3, "conversions": 2}
