"""PostgreSQL's COPY write path against the executemany path: the same rows read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.data import rows as params
from features.data.contract import FEED_TABLES, TABLES
from features.data.importer import EXIT_OK, import_path
from features.data.sources import contract_files, read_chunks
from features.data.store import Store
from features.data.validation import ValidationContext, validate_chunk

SMALL = Path(__file__).parent / "fixtures" / "contract_small"

Frames = dict[str, pd.DataFrame]


def _validated(table: str, frame: pd.DataFrame, context: ValidationContext) -> pd.DataFrame:
    """The typed rows of ``frame`` as the importer writes them (all must be valid)."""
    result = validate_chunk(TABLES[table], frame, file=table, first_row=1, context=context)
    assert not result.rejections, result.rejections[:3]
    return result.frame


def _folder_frames(folder: Path, context: ValidationContext) -> Frames:
    return {
        table: pd.concat(
            [_validated(table, chunk.frame, context) for chunk in read_chunks(path, table)]
        )
        for table, path in contract_files(folder)
    }


def _generated(folder: Path) -> Path:
    from features.data.synthetic import OrgConfig, generate, write

    write(generate(OrgConfig(employees=200, content=50, days=30, seed=5)), folder)
    return folder


def _write_rows(store: Store, frames: Frames) -> None:
    """The executemany path: parameter dicts through Store.write."""
    for table, frame in frames.items():
        store.write(table, params.records(TABLES[table], frame))


def _copy(store: Store, frames: Frames) -> None:
    for table, frame in frames.items():
        store.copy_frame(table, frame)


def _rows(store: Store, table: str) -> list[dict[str, object]]:
    """The rows of ``table`` as Python values, by key."""
    key = TABLES[table].key
    return sorted(store.rows(table), key=lambda row: [str(row[k]) for k in key])


def _read_back(store: Store) -> dict[str, tuple[list[str], list[dict[str, object]]]]:
    """Each contract table as PostgreSQL's text of every row and as Python rows, sorted
    (the contract's columns: not the event sequence, which numbers each write anew)."""
    tables = {}
    with store.engine.connect() as conn:
        for table in TABLES:
            columns = ", ".join(f'"{c}"' for c in TABLES[table].field_names)
            query = f'SELECT ROW({columns})::text FROM "{table}"'
            text = sorted(conn.exec_driver_sql(query).scalars())
            tables[table] = (text, _rows(store, table))
    return tables


def _empty(store: Store) -> None:
    names = ", ".join(f'"{table}"' for table in TABLES)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")


def _both_paths(store: Store, frames: Frames, times: int = 1) -> tuple[dict, dict]:
    """What ``times`` writes of ``frames`` leave, by executemany and by COPY."""
    for _ in range(times):
        _write_rows(store, frames)
    by_rows = _read_back(store)
    _empty(store)
    for _ in range(times):
        _copy(store, frames)
    return by_rows, _read_back(store)


@pytest.mark.parametrize("source", ["fixture", "generated"])
def test_copy_reads_back_like_executemany(
    pg_store: Store, context: ValidationContext, tmp_path: Path, source: str
) -> None:
    folder = SMALL if source == "fixture" else _generated(tmp_path / "org")
    frames = _folder_frames(folder, context)
    assert set(frames) == set(TABLES) if source == "fixture" else set(frames) >= set(FEED_TABLES)
    by_rows, by_copy = _both_paths(pg_store, frames)
    assert by_copy == by_rows
    assert {t: len(by_copy[t][0]) for t in frames} == {t: len(f) for t, f in frames.items()}


def _awkward_frames(context: ValidationContext) -> Frames:
    """Literal rows with the values a text format gets wrong, and repeated keys."""
    odd = ['say "hi", twice', "tab\there", "two\nlines\r\n", "back\\slash", "\\N", "\\.", "日本 é"]
    advocates = pd.DataFrame(
        {
            "employee_id": ["ana", *odd, "ana"],
            "department": ["first", *odd, "last"],
            "languages": ["de;EN", "", '["x\\"y", "b\\\\c"]', "fr", "", "", "", "", "it"],
            "hire_date": ["2019-04-01", "", "2020-02-29", "", "", "", "", "", "2021-01-01"],
            "opted_out": ["", "true", "false", "", "", "", "", "", "yes"],
        }
    )
    interactions = pd.DataFrame(
        {
            "event_id": ["x1", "x2", "x3", "x4", "x1"],
            "employee_id": ["ana", "tab\there", "\\N", "ana", "ana"],
            "content_id": "c1",
            "event_type": ["share", "view", "click", "view", "like"],
            "network": ["linkedin", "", "", "", ""],
            "timestamp": [
                "2026-10-04T10:00:00.123456Z",
                "2026-10-04T10:00:00.5+02:00",
                "2026-10-04",
                "2026-10-04T23:59:59.999999-05:00",
                "2026-10-05T00:00:00Z",
            ],
            "value": ["0.1", "1e-300", "1.7976931348623157e308", "", "0.6666666666666666"],
        }
    )
    raw = {
        "advocates": advocates,
        "content": pd.DataFrame(
            {"content_id": ["c1"], "content_type": ["article"], "published_at": ["2026-10-01"]}
        ),
        "interactions": interactions,
        "share_outcomes": pd.DataFrame(
            {"event_id": ["x1"], "measured_at": ["2026-10-05"], "impressions": ["123456789012"]}
        ),
        "conversions": pd.DataFrame(
            {
                "conversion_id": ["q1", "q2"],
                "visitor_id": ["v", "v"],
                "timestamp": ["2026-10-04", "2026-10-04"],
                "kind": ["lead", "lead"],
                "value": ["5e-324", ""],
                "currency": ["eur", ""],
            }
        ),
    }
    return {table: _validated(table, frame, context) for table, frame in raw.items()}


def test_awkward_values_and_repeated_keys_read_back_like_executemany(
    pg_store: Store, context: ValidationContext
) -> None:
    by_rows, by_copy = _both_paths(pg_store, _awkward_frames(context), times=2)
    assert by_copy == by_rows
    advocates = {r["employee_id"]: r for r in by_copy["advocates"][1]}
    assert advocates["ana"]["department"] == "last"  # entities: the last row of a key
    assert advocates["tab\there"]["languages"] == ['x"y', "b\\c"]
    assert advocates["\\N"]["department"] == "\\N" and advocates["ana"]["opted_out"] is True
    x1 = next(r for r in by_copy["interactions"][1] if r["event_id"] == "x1")
    assert x1["event_type"] == "share"  # facts: the first row of a key
    assert x1["timestamp"].isoformat() == "2026-10-04T10:00:00.123456"
    assert [r["value"] for r in by_copy["conversions"][1]] == [5e-324, None]


def test_a_failing_copy_is_rolled_back_whole(pg_store: Store, context: ValidationContext) -> None:
    frames = _awkward_frames(context)
    _copy(pg_store, {t: frames[t] for t in ("advocates", "content")})
    ghost = frames["interactions"].assign(employee_id=["ana", "ana", "ghost", "ana", "ana"])
    with pytest.raises(sa.exc.IntegrityError):
        pg_store.copy_frame("interactions", ghost)
    assert pg_store.count("interactions") == 0
    pg_store.copy_frame("interactions", frames["interactions"])  # the staging table is gone
    assert pg_store.count("interactions") == 4


def test_a_copied_import_reads_back_like_sqlite(
    pg_store: Store, sqlite_store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    folder = _generated(tmp_path / "org")
    for store in (sqlite_store, pg_store):  # batches over COPY_MIN_ROWS rows: COPY on PostgreSQL
        assert import_path(store, folder, context=context).exit_code == EXIT_OK
    for table in TABLES:
        assert _rows(sqlite_store, table) == _rows(pg_store, table), table
