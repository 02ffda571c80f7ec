"""Looking advocates and content up for people: find by id, one advocate's attributes,
picker choices, content titles.

Advocates who opted out are never returned (as if they were not in the store); the
departments and regions offered as choices are groups, listed from everyone else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from features.data import schema
from features.data.store import Store

ADVOCATES = schema.CONTRACT_TABLES["advocates"]
CONTENT = schema.CONTRACT_TABLES["content"]
MAX_FOUND = 100
CONTENT_CHUNK = 500


@dataclass(frozen=True)
class Advocate:
    """What the console shows about an advocate (no contact details are stored)."""

    employee_id: str
    department: str | None
    region: str | None
    role: str | None
    seniority: str | None
    languages: tuple[str, ...]


def _visible() -> sa.ColumnElement[bool]:
    return sa.or_(ADVOCATES.c.opted_out.is_(None), ADVOCATES.c.opted_out == sa.false())


def advocate(store: Store, employee_id: str) -> Advocate | None:
    """The advocate ``employee_id``, or None when unknown or opted out."""
    query = sa.select(ADVOCATES).where(ADVOCATES.c.employee_id == str(employee_id), _visible())
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().one_or_none()
    return None if row is None else _advocate(row)


def find_advocates(
    store: Store, text: str = "", *, department: str | None = None, limit: int = 20
) -> list[Advocate]:
    """Up to ``limit`` (1-100) advocates whose id contains ``text`` (case-insensitive),
    ids starting with it first, then by id."""
    if not 1 <= limit <= MAX_FOUND:
        raise ValueError(f"limit: must be 1-{MAX_FOUND}, got {limit}")
    wanted = text.strip().lower()
    ident = sa.func.lower(ADVOCATES.c.employee_id)
    query = sa.select(ADVOCATES).where(_visible())
    if wanted:
        escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(ident.like(f"%{escaped}%", escape="\\"))
    if department:
        query = query.where(sa.func.lower(ADVOCATES.c.department) == department.strip().lower())
    prefix = sa.case((ident.like(f"{wanted}%", escape="\\"), 0), else_=1) if wanted else None
    order = [prefix, ADVOCATES.c.employee_id] if prefix is not None else [ADVOCATES.c.employee_id]
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(*order).limit(limit)).mappings().all()
    return [_advocate(row) for row in rows]


def group_choices(store: Store) -> dict[str, list[str]]:
    """Distinct departments, regions, roles and seniorities of advocates who did not opt
    out (for pickers), each sorted."""
    columns = ("department", "region", "role", "seniority")
    found: dict[str, list[str]] = {}
    with store.engine.connect() as conn:
        for name in columns:
            column = ADVOCATES.c[name]
            query = sa.select(column).where(_visible(), column.is_not(None)).distinct()
            found[name] = sorted(str(v) for (v,) in conn.execute(query) if str(v).strip())
    return found


def departments(store: Store) -> dict[str, str | None]:
    """The department of every advocate who did not opt out (None: not recorded)."""
    query = sa.select(ADVOCATES.c.employee_id, ADVOCATES.c.department).where(_visible())
    with store.engine.connect() as conn:
        return {str(row.employee_id): row.department for row in conn.execute(query)}


def opted_out(store: Store) -> set[str]:
    """The ids of the advocates who opted out (read fresh: an opt-out counts at once)."""
    query = sa.select(ADVOCATES.c.employee_id).where(ADVOCATES.c.opted_out.is_(True))
    with store.engine.connect() as conn:
        return {str(employee_id) for (employee_id,) in conn.execute(query)}


def content_titles(store: Store, ids: Iterable[str | None]) -> dict[str, str]:
    """The titles of content items ``ids`` (those the store knows)."""
    wanted = sorted({i for i in ids if i})
    titles: dict[str, str] = {}
    with store.engine.connect() as conn:
        for at in range(0, len(wanted), CONTENT_CHUNK):
            chunk = wanted[at : at + CONTENT_CHUNK]
            query = sa.select(CONTENT.c.content_id, CONTENT.c.title).where(
                CONTENT.c.content_id.in_(chunk)
            )
            titles.update({row.content_id: row.title for row in conn.execute(query) if row.title})
    return titles


def _advocate(row: sa.RowMapping) -> Advocate:
    languages = row["languages"] or ()
    return Advocate(
        employee_id=str(row["employee_id"]),
        department=row["department"],
        region=row["region"],
        role=row["role"],
        seniority=row["seniority"],
        languages=tuple(str(x) for x in languages),
    )
