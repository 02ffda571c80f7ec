"""Privacy rights in the store: export, erasure, refusal of erased ids, re-enrolment and
opt-out rejections, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import sqlalchemy as sa

from features.data import privacy, schema
from features.data.importer import EXIT_OK, EXIT_ROWS_REJECTED, import_path
from features.data.reviews import record_review
from features.data.score_history import record_scores
from features.data.store import Store
from features.data.validation import ValidationContext
from features.embedding_cache import EmbeddingCache, text_hash
from features.program import refresh_rollups

GONE = "emp-alice-7731"  # distinctive: no other stored text contains it

FILES = {
    "advocates": f"""
employee_id,department,region,languages,interests,opted_out
{GONE},Marketing,EMEA,en,ai,false
emp-bob-1,Engineering,NA,en,security,false
emp-carol-2,Sales,APAC,en,,true
""",
    "content": f"""
content_id,title,body,content_type,topics,author_id,published_at
c1,Cloud costs,How we cut them.,article,cloud,{GONE},2026-10-01T09:00:00Z
c2,Hiring,Join us.,job,hiring,emp-bob-1,2026-10-02T09:00:00Z
""",
    "interactions": f"""
event_id,employee_id,content_id,event_type,network,timestamp
ev1,{GONE},c1,view,,2026-10-01T10:00:00Z
ev2,{GONE},c1,share,linkedin,2026-10-01T10:05:00Z
ev3,emp-bob-1,c2,share,x,2026-10-03T12:00:00Z
""",
    "share_outcomes": """
event_id,measured_at,impressions,clicks,reactions,comments,reshares
ev2,2026-10-02T10:05:00Z,1200,30,45,6,2
ev3,2026-10-04T12:00:00Z,300,1,4,0,0
""",
    "social_accounts": f"""
employee_id,network,followers,as_of
{GONE},linkedin,2400,2026-10-01T00:00:00Z
emp-bob-1,x,150,2026-10-01T00:00:00Z
""",
    "org_edges": f"""
employee_a,employee_b,weight,kind
{GONE},emp-bob-1,1,team
emp-bob-1,{GONE},1,manager
emp-bob-1,emp-carol-2,1,team
""",
    "link_clicks": """
click_id,share_event_id,visitor_id,timestamp
k1,ev2,v1,2026-10-01T11:00:00Z
k2,ev3,v1,2026-10-03T13:00:00Z
""",
    "conversions": """
conversion_id,visitor_id,timestamp,kind
q1,v1,2026-10-04T09:00:00Z,signup
""",
}


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, text in files.items():
        (folder / f"{table}.csv").write_text(text.strip() + "\n")
    return folder


def _filled(store: Store, context: ValidationContext, folder: Path) -> Store:
    """Every table with a row about GONE (and rows of others that must survive)."""
    report = import_path(store, _write(folder, FILES), context=context)
    assert report.exit_code == EXIT_ROWS_REJECTED  # carol's edge: she opted out
    refresh_rollups(store, ["interactions", "share_outcomes", "link_clicks", "advocates"])
    at = datetime(2026, 11, 1)
    record_review(store, GONE, "approve", note="strong reach", reviewer="Maria", score=0.8, at=at)
    scored = SimpleNamespace(employee_id=GONE, score=0.8, tier="high", flagged=True)
    record_scores(store, [scored], scored_at=at, model_version="scorer@1")
    credit = {"model": "last_touch", "conversion_id": "q1", "converted_at": at, "credit": 1.0}
    with store.engine.begin() as conn:
        conn.execute(schema.attribution_credits.insert(), [{**credit, "share_event_id": "ev2"}])
    EmbeddingCache(store).put("m", [text_hash("How we cut them.")], np.ones((1, 2), np.float32))
    return store


def test_every_table_is_classified() -> None:
    """A new table (or a new employee column) must be classified in features.data.privacy."""
    classified = (
        set(privacy.PERSON_COLUMNS)
        | set(privacy.SHARE_COLUMNS)
        | set(privacy.CLEARED_COLUMNS)
        | set(privacy.NO_PERSON)
    )
    assert set(schema.metadata.tables) == classified
    groups = [privacy.PERSON_COLUMNS, privacy.SHARE_COLUMNS, privacy.CLEARED_COLUMNS]
    assert sum(len(g) for g in groups) + len(privacy.NO_PERSON) == len(classified)  # disjoint
    for table in schema.metadata.tables.values():
        people = {c.name for c in table.c if "employee" in c.name or c.name == "author_id"}
        covered = set(privacy.PERSON_COLUMNS.get(table.name, ()))
        covered |= {privacy.CLEARED_COLUMNS.get(table.name, "")}
        assert people <= covered, f"{table.name}: employee columns {people - covered} not covered"
    deleted = set(privacy._DELETE_ORDER)
    assert deleted == set(privacy.PERSON_COLUMNS) | set(privacy.SHARE_COLUMNS)


def test_export_holds_every_table_with_their_rows(
    store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    _filled(store, context, tmp_path / "in")
    export = privacy.export_employee(store, GONE)
    tables = export["tables"]
    assert isinstance(tables, dict)
    counts = {name: len(rows) for name, rows in tables.items()}
    assert counts == {
        "advocates": 1,
        "interactions": 2,
        "social_accounts": 1,
        "org_edges": 2,
        "influencer_reviews": 1,
        "influencer_scores": 1,
        "share_facts": 1,
        "share_outcomes": 1,
        "link_clicks": 1,
        "attribution_credits": 1,
        "content": 1,
    }
    assert export["erased"] is False
    assert tables["interactions"][1]["timestamp"] == "2026-10-01T10:05:00"  # JSON values
    assert tables["share_facts"][0]["link_clicks"] == 1
    assert tables["influencer_reviews"][0]["note"] == "strong reach"


def test_erase_leaves_the_id_nowhere(
    store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    _filled(store, context, tmp_path / "in")
    assert privacy.occurrences(store, GONE)  # the scan does find it before
    erasure = privacy.erase_employee(store, GONE, by="dpo")
    assert erasure.deleted["interactions"] == 2 and erasure.deleted["org_edges"] == 2
    assert erasure.cleared["content"] == 1
    assert privacy.occurrences(store, GONE) == {}
    with store.engine.connect() as conn:  # the embedding cache holds hashes, no ids
        cached = conn.execute(sa.select(schema.embedding_cache)).mappings().all()
    assert len(cached) == 1 and GONE not in (cached[0]["model_id"], cached[0]["text_hash"])
    # others' rows are kept, and the conversion (a visitor's, not an employee's)
    assert store.count("interactions") == 1 and store.count("link_clicks") == 1
    assert store.count("conversions") == 1 and store.count("content") == 2
    assert [r["employee_id"] for r in store.rows("advocates")] == ["emp-bob-1", "emp-carol-2"]
    export = privacy.export_employee(store, GONE)
    assert export["erased"] is True
    assert not any(export["tables"].values())  # type: ignore[union-attr]


def test_erased_id_is_refused_until_re_enrolled(
    store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    _filled(store, context, tmp_path / "in")
    privacy.erase_employee(store, GONE, by="dpo")
    again = import_path(store, tmp_path / "in", context=context)
    erased = [r for r in again.rejections if r.reason == "erased"]
    assert {(r.table, r.field) for r in erased} == {
        ("advocates", "employee_id"),
        ("interactions", "employee_id"),
        ("social_accounts", "employee_id"),
        ("org_edges", "employee_a"),
        ("org_edges", "employee_b"),
    }
    assert privacy.occurrences(store, GONE) == {}  # content stored, its erased author cleared
    assert store.count("content") == 2

    assert privacy.re_enrol(store, GONE) is True
    assert privacy.re_enrol(store, GONE) is False  # no longer marked
    back = import_path(store, tmp_path / "in", context=context)
    assert not [r for r in back.rejections if r.reason == "erased"]
    assert store.count("interactions") == 3
    assert "content" in privacy.occurrences(store, GONE)


def test_opted_out_audience_and_edges_are_rejected(
    store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    files = {
        "advocates": FILES["advocates"],
        "social_accounts": """
employee_id,network,followers,as_of
emp-carol-2,linkedin,900,2026-10-01T00:00:00Z
emp-bob-1,x,150,2026-10-01T00:00:00Z
""",
        "org_edges": """
employee_a,employee_b,weight,kind
emp-bob-1,emp-carol-2,1,team
emp-carol-2,emp-bob-1,1,email
emp-bob-1,emp-alice-7731,1,team
""",
    }
    report = import_path(store, _write(tmp_path / "in", files), context=context)
    opted = sorted((r.table, r.row, r.field) for r in report.rejections)
    assert opted == [
        ("org_edges", 1, "employee_b"),
        ("org_edges", 2, "employee_a"),
        ("social_accounts", 1, "employee_id"),
    ]
    assert {r.reason for r in report.rejections} == {"opted_out"}
    assert store.count("social_accounts") == 1 and store.count("org_edges") == 1

    # opting back in (a later advocates file) lets their new rows in
    back = FILES["advocates"].replace("APAC,en,,true", "APAC,en,,false")
    again = import_path(
        store, _write(tmp_path / "back", {**files, "advocates": back}), context=context
    )
    assert again.exit_code == EXIT_OK
    assert store.count("social_accounts") == 2 and store.count("org_edges") == 3
