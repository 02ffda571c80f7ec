"""Import of contract files: every rejection reason, idempotence, batches, both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.data.importer import (
    EXIT_OK,
    EXIT_ROWS_REJECTED,
    EXIT_UNUSABLE_INPUT,
    Importer,
    import_path,
)
from features.data.sources import TableChunk, read_chunks
from features.data.store import Store
from features.data.validation import ValidationContext

SMALL = Path(__file__).parent / "fixtures" / "contract_small"
EXPECTED = {
    "advocates": 3,
    "content": 3,
    "interactions": 4,
    "share_outcomes": 2,
    "social_accounts": 2,
    "org_edges": 2,
    "link_clicks": 3,
    "conversions": 2,
}


def _write(folder: Path, table: str, text: str) -> Path:
    path = folder / f"{table}.csv"
    path.write_text(text.strip() + "\n")
    return path


def test_valid_folder_is_stored_whole(store: Store, context: ValidationContext) -> None:
    report = import_path(store, SMALL, context=context)
    assert report.exit_code == EXIT_OK
    assert dict(report.accepted) == EXPECTED
    assert report.new_rows == EXPECTED
    assert store.counts() == EXPECTED
    ana = next(r for r in store.rows("advocates") if r["employee_id"] == "ana")
    assert ana["languages"] == ["de", "en"] and ana["opted_out"] is False
    events = {r["event_id"]: r for r in store.rows("interactions")}
    assert events["e3"]["timestamp"].isoformat() == "2026-10-02T06:00:00"  # +02:00 -> UTC
    assert events["e2"]["network"] == "linkedin" and events["e1"]["network"] is None


def test_reimport_stores_nothing_twice(store: Store, context: ValidationContext) -> None:
    import_path(store, SMALL, context=context)
    again = import_path(store, SMALL, context=context)
    assert again.exit_code == EXIT_OK
    assert again.new_rows == dict.fromkeys(EXPECTED, 0)
    assert store.counts() == EXPECTED


def test_reimport_updates_entities_but_not_facts(
    store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    import_path(store, SMALL, context=context)
    _write(
        tmp_path,
        "content",
        """
content_id,content_type,published_at,approval_status
c1,article,2026-10-01T09:00:00Z,retired
""",
    )
    _write(
        tmp_path,
        "interactions",
        """
event_id,employee_id,content_id,event_type,network,timestamp
e1,ben,c2,like,,2026-10-05T10:00:00Z
""",
    )
    report = import_path(store, tmp_path, context=context)
    assert report.exit_code == EXIT_OK
    content = {r["content_id"]: r for r in store.rows("content")}
    assert content["c1"]["approval_status"] == "retired"
    e1 = next(r for r in store.rows("interactions") if r["event_id"] == "e1")
    assert (e1["employee_id"], e1["event_type"]) == ("ana", "view")  # events are immutable


def test_every_rejection_reason_is_reported_and_valid_rows_kept(
    store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    import_path(store, SMALL, context=context)
    path = _write(
        tmp_path,
        "interactions",
        """
event_id,employee_id,content_id,event_type,network,timestamp,value
ok1,ana,c2,view,,2026-10-04T10:00:00Z,
,ana,c2,view,,2026-10-04T10:00:00Z,
bad-type,ana,c2,view,,2026-10-04T10:00:00Z,lots
bad-event,ana,c2,teleport,,2026-10-04T10:00:00Z,
bad-fk,nobody,c2,view,,2026-10-04T10:00:00Z,
bad-item,ana,c404,view,,2026-10-04T10:00:00Z,
bad-time,ana,c2,view,,yesterday,
future,ana,c2,view,,2027-01-01T00:00:00Z,
no-network,ana,c2,share,,2026-10-04T10:00:00Z,
ok2,ben,c1,like,,2026-10-04T11:00:00Z,
""",
    )
    _write(
        tmp_path,
        "social_accounts",
        """
employee_id,network,followers,following,posts_last_90d,as_of
ana,x,-5,1,1,2026-10-01T00:00:00Z
""",
    )
    _write(
        tmp_path,
        "content",
        """
content_id,content_type,published_at,expires_at
c9,article,2026-10-05T00:00:00Z,2026-10-01T00:00:00Z
""",
    )
    report = import_path(store, tmp_path, context=context)
    assert report.exit_code == EXIT_ROWS_REJECTED
    assert report.accepted["interactions"] == 2 and report.rejected["interactions"] == 8
    found = {(r.row, r.field, str(r.reason)) for r in report.rejections if r.file == str(path)}
    assert found == {
        (2, "event_id", "missing_value"),
        (3, "value", "bad_type"),
        (4, "event_type", "not_allowed"),
        (5, "employee_id", "unknown_foreign_key"),
        (6, "content_id", "unknown_foreign_key"),
        (7, "timestamp", "unparsable_timestamp"),
        (8, "timestamp", "future_timestamp"),
        (9, "network", "missing_value"),
    }
    messages = {r.field: r.message for r in report.rejections if r.file == str(path)}
    assert messages["content_id"] == "no content item with this id in the store or this import"
    reasons = {str(r.reason) for r in report.rejections}
    assert {"out_of_range", "inconsistent"} <= reasons
    stored = {r["event_id"] for r in store.rows("interactions")}
    assert {"ok1", "ok2"} <= stored and "future" not in stored
    payload = report.to_dict()
    assert payload["accepted"]["interactions"] == 2
    assert payload["rejections"][0].keys() >= {"file", "row", "field", "reason", "message"}


def test_references_resolve_within_the_same_import(
    store: Store, context: ValidationContext
) -> None:
    report = import_path(store, SMALL, context=context)
    assert report.rejected["share_outcomes"] == 0  # shares from interactions.csv of this import


def test_outcome_of_a_non_share_is_rejected(
    store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    import_path(store, SMALL, context=context)
    _write(
        tmp_path,
        "share_outcomes",
        """
event_id,measured_at,impressions
e1,2026-10-02T00:00:00Z,10
""",
    )
    report = import_path(store, tmp_path, context=context)
    assert [(r.field, str(r.reason), r.message) for r in report.rejections] == [
        (
            "event_id",
            "unknown_foreign_key",
            "no share event with this id in the store or this import",
        )
    ]


def test_unusable_input(sqlite_store: Store, context: ValidationContext, tmp_path: Path) -> None:
    missing = import_path(sqlite_store, tmp_path / "nope", context=context)
    assert missing.exit_code == EXIT_UNUSABLE_INPUT and "no such file" in missing.errors[0]
    (tmp_path / "notes.txt").write_text("hello")
    nothing = import_path(sqlite_store, tmp_path, context=context)
    assert nothing.exit_code == EXIT_UNUSABLE_INPUT
    _write(tmp_path, "interactions", "event_id,employee_id\ne1,ana")
    columns = import_path(sqlite_store, tmp_path / "interactions.csv", context=context)
    assert columns.exit_code == EXIT_UNUSABLE_INPUT
    assert "content_id, event_type, timestamp" in columns.errors[0]
    wrong = import_path(sqlite_store, tmp_path, fmt="excel", context=context)
    assert wrong.exit_code == EXIT_UNUSABLE_INPUT


def test_rows_are_numbered_across_chunks(
    sqlite_store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    lines = ["employee_id,seniority"] + [f"p{i},{'boss' if i == 7 else 'mid'}" for i in range(10)]
    path = _write(tmp_path, "advocates", "\n".join(lines))
    report = Importer(sqlite_store, context).run([read_chunks(path, "advocates", chunk_rows=3)])
    assert [(r.row, r.field) for r in report.rejections] == [(8, "seniority")]
    assert sqlite_store.count("advocates") == 9


def test_parquet_files_import_like_csv(
    store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    for csv in SMALL.glob("*.csv"):
        pd.read_csv(csv, dtype=str, keep_default_na=False).to_parquet(
            tmp_path / f"{csv.stem}.parquet"
        )
    report = import_path(store, tmp_path, context=context)
    assert report.exit_code == EXIT_OK and store.counts() == EXPECTED


def test_a_crash_mid_import_leaves_whole_batches_only(
    sqlite_store: Store, context: ValidationContext
) -> None:
    import_path(sqlite_store, SMALL, context=context)
    frame = pd.DataFrame(
        {
            "event_id": [f"n{i}" for i in range(6)],
            "employee_id": "ana",
            "content_id": "c1",
            "event_type": "view",
            "timestamp": "2026-10-10T00:00:00Z",
        }
    )

    def crashing() -> Iterator[TableChunk]:
        yield TableChunk("interactions", frame.iloc[:3], "f.csv", 1)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        Importer(sqlite_store, context).run([crashing()])
    assert sqlite_store.count("interactions") == EXPECTED["interactions"] + 3


def test_a_failing_batch_is_rolled_back_whole(store: Store, context: ValidationContext) -> None:
    import_path(store, SMALL, context=context)
    rows = [
        {"event_id": "x1", "employee_id": "ana", "content_id": "c1", "event_type": "view"},
        {"event_id": "x2", "employee_id": "ana", "content_id": "c1", "event_type": None},
    ]
    with pytest.raises(sa.exc.IntegrityError):
        store.write("interactions", rows)
    assert store.count("interactions") == EXPECTED["interactions"]


def test_generated_organisation_imports_without_rejections(
    sqlite_store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    from features.data.synthetic import OrgConfig, generate, write

    org = generate(
        OrgConfig(employees=150, content=60, days=60, seed=3, interactions_per_employee=20)
    )
    write(org, tmp_path / "org")
    report = import_path(sqlite_store, tmp_path / "org", context=context)
    assert report.exit_code == EXIT_OK, report.to_dict()["rejections"][:5]
    assert {t: sqlite_store.count(t) for t in org.tables} == {
        t: len(frame) for t, frame in org.tables.items()
    }


def test_sqlite_foreign_keys_stay_enforced_after_an_import(
    sqlite_store: Store, context: ValidationContext
) -> None:
    import_path(sqlite_store, SMALL, context=context)
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with pytest.raises(sa.exc.IntegrityError):
        sqlite_store.write(
            "interactions",
            [
                {
                    "event_id": "z",
                    "employee_id": "ghost",
                    "content_id": "c1",
                    "event_type": "view",
                    "timestamp": datetime(2026, 10, 1),
                }
            ],
        )
