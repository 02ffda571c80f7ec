"""Privacy rights in the store: export everything about one employee, erase it, and refuse
an erased id on import until the employee is re-enrolled.

Every table of :data:`features.data.schema.metadata` is classified once, here: tables holding
employee ids (:data:`PERSON_COLUMNS`), tables whose rows belong to an employee's shares
(:data:`SHARE_COLUMNS`), the column cleared rather than deleted (:data:`CLEARED_COLUMNS`)
and tables that hold no employee id (:data:`NO_PERSON`, with the reason). A test fails when
a table is added without being classified.

An erasure is recorded in ``erasures`` as the plain sha256 of the UTF-8 employee id
(:func:`erasure_hash`), without a salt: any process holding an id can check it, so the
importer and the service recognise an erased id; the hash is a pseudonym, not anonymous
(ids from a small known set can be found by hashing them all).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from features.data import schema
from features.data.store import Store

PERSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "advocates": ("employee_id",),
    "interactions": ("employee_id",),
    "social_accounts": ("employee_id",),
    "org_edges": ("employee_a", "employee_b"),
    "influencer_reviews": ("employee_id",),
    "influencer_scores": ("employee_id",),
    "share_facts": ("employee_id",),
}
"""Tables whose rows are about the employee named in any of these columns (deleted)."""

SHARE_COLUMNS: dict[str, str] = {
    "share_outcomes": "event_id",
    "link_clicks": "share_event_id",
    "attribution_credits": "share_event_id",
}
"""Tables whose rows belong to one of the employee's events, by this column (deleted)."""

CLEARED_COLUMNS: dict[str, str] = {"content": "author_id"}
"""Company rows naming the employee in this column: exported, and the column set to NULL."""

NO_PERSON: dict[str, str] = {
    "conversions": "a visitor's results, linked to a share only through link_clicks (erased)",
    "attribution_runs": "per-model totals",
    "content_topics": "topics per content item",
    "embedding_cache": "vectors by model and text hash",
    "schema_version": "migrations applied",
    "content_screening": "decisions per content item; decided_by is a manager's name",
    "screening_audit": "append-only; actor is a manager's name, never an employee id",
    "erasures": "sha256 of erased ids only",
}
"""Tables holding no employee id, with the reason."""

#: The contract tables' employee columns checked on import (content's author is cleared).
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    table: columns
    for table, columns in PERSON_COLUMNS.items()
    if table in ("advocates", "interactions", "social_accounts", "org_edges")
}


def erasure_hash(employee_id: str) -> str:
    """The hex sha256 of the UTF-8 id: how ``erasures`` names an erased employee."""
    return hashlib.sha256(str(employee_id).encode("utf-8")).hexdigest()


def _table(name: str) -> sa.Table:
    return schema.metadata.tables[name]


def _mentions(table: sa.Table, columns: Iterable[str], employee_id: str) -> sa.ColumnElement:
    return sa.or_(*(table.c[c] == employee_id for c in columns))


def _their_events(employee_id: str) -> sa.Select:
    interactions = _table("interactions")
    return sa.select(interactions.c.event_id).where(interactions.c.employee_id == employee_id)


def _selections(employee_id: str) -> dict[str, sa.ColumnElement[bool]]:
    """Per table, the condition selecting the employee's rows (every classified table)."""
    where: dict[str, sa.ColumnElement[bool]] = {}
    for name, columns in PERSON_COLUMNS.items():
        where[name] = _mentions(_table(name), columns, employee_id)
    for name, column in SHARE_COLUMNS.items():
        where[name] = _table(name).c[column].in_(_their_events(employee_id))
    for name, column in CLEARED_COLUMNS.items():
        where[name] = _table(name).c[column] == employee_id
    return where


def _json_value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def export_employee(store: Store, employee_id: str) -> dict[str, object]:
    """Everything stored about ``employee_id`` as JSON values: per table, its rows (sorted by
    key), plus whether the id is marked erased."""
    tables: dict[str, list[dict[str, object]]] = {}
    with store.engine.connect() as conn:
        for name, condition in _selections(employee_id).items():
            table = _table(name)
            query = sa.select(table).where(condition).order_by(*table.primary_key.columns)
            tables[name] = [
                {k: _json_value(v) for k, v in row._mapping.items()} for row in conn.execute(query)
            ]
        erased = _is_erased(conn, employee_id)
    return {"employee_id": employee_id, "erased": erased, "tables": tables}


@dataclass
class Erasure:
    """What an erasure removed: rows deleted per table, columns cleared per table."""

    employee_id: str
    erased_at: datetime
    erased_by: str
    deleted: Counter[str] = field(default_factory=Counter)
    cleared: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, object]:
        return {
            "employee_id": self.employee_id,
            "erased_at": self.erased_at.isoformat(),
            "erased_by": self.erased_by,
            "deleted": dict(sorted(self.deleted.items())),
            "cleared": dict(sorted(self.cleared.items())),
        }


#: Delete order: rows referencing others go first (foreign keys).
_DELETE_ORDER = (
    "attribution_credits",
    "link_clicks",
    "share_outcomes",
    "share_facts",
    "influencer_reviews",
    "influencer_scores",
    "social_accounts",
    "org_edges",
    "interactions",
    "advocates",
)


def erase_employee(
    store: Store, employee_id: str, *, by: str, now: datetime | None = None
) -> Erasure:
    """Delete every row about ``employee_id`` (and of their events), clear them as content
    author, and mark the id erased, in one transaction. Erasing an unknown id only marks it."""
    if not employee_id:
        raise ValueError("employee_id: must not be empty")
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    erasure = Erasure(employee_id, moment, by)
    where = _selections(employee_id)
    with store.engine.begin() as conn:
        for name in _DELETE_ORDER:
            erasure.deleted[name] = conn.execute(
                sa.delete(_table(name)).where(where[name])
            ).rowcount
        for name, column in CLEARED_COLUMNS.items():
            cleared = sa.update(_table(name)).where(where[name]).values({column: None})
            erasure.cleared[name] = conn.execute(cleared).rowcount
        _mark(conn, employee_id, moment, by)
    return erasure


def _mark(conn: Connection, employee_id: str, moment: datetime, by: str) -> None:
    erasures = schema.erasures
    digest = erasure_hash(employee_id)
    conn.execute(sa.delete(erasures).where(erasures.c.id_hash == digest))
    conn.execute(erasures.insert().values(id_hash=digest, erased_at=moment, erased_by=by))


def _is_erased(conn: Connection, employee_id: str) -> bool:
    erasures = schema.erasures
    query = sa.select(erasures.c.id_hash).where(erasures.c.id_hash == erasure_hash(employee_id))
    return conn.execute(query).first() is not None


def re_enrol(store: Store, employee_id: str) -> bool:
    """Remove the erasure mark of ``employee_id`` (their rows may be imported again);
    False if the id was not marked."""
    erasures = schema.erasures
    with store.engine.begin() as conn:
        gone = conn.execute(
            sa.delete(erasures).where(erasures.c.id_hash == erasure_hash(employee_id))
        )
    return bool(gone.rowcount)


def erased_hashes(store: Store) -> set[str]:
    """The hashes of every erased id (small: one row per erasure)."""
    with store.engine.connect() as conn:
        return set(conn.execute(sa.select(schema.erasures.c.id_hash)).scalars())


def erased_among(ids: Collection[object], hashes: Collection[str]) -> set[str]:
    """The ids of ``ids`` whose hash is in ``hashes`` (each distinct id hashed once)."""
    if not hashes:
        return set()
    return {str(i) for i in set(ids) if i is not None and erasure_hash(str(i)) in hashes}


def _text_columns(table: sa.Table) -> list[sa.Column]:
    kinds = (sa.String, sa.Text, sa.JSON)
    return [c for c in table.c if isinstance(c.type, kinds)]


def occurrences(store: Store, employee_id: str) -> dict[str, int]:
    """Rows per table (every table of the schema) with a text value equal to ``employee_id``
    or a JSON value containing it as a string: the check that an erasure left nothing."""
    quoted = json.dumps(employee_id)
    pattern = quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found: dict[str, int] = {}
    with store.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            tests = [
                sa.cast(c, sa.Text).like(f"%{pattern}%", escape="\\")
                if isinstance(c.type, sa.JSON)
                else c == employee_id
                for c in _text_columns(table)
            ]
            if not tests:
                continue
            query = sa.select(sa.func.count()).select_from(table).where(sa.or_(*tests))
            count = conn.execute(query).scalar_one()
            if count:
                found[table.name] = count
    return found
