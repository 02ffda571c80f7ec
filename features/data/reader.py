"""Reading the store into frames, as of a time.

Every reader of events takes an explicit ``as_of``: rows observed after it are never read,
so whatever is built from them cannot see the future.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from features.data.contract import TABLES, Kind
from features.data.rows import SQLITE_DATETIME
from features.data.schema import CONTRACT_TABLES, event_sequence
from features.data.store import Store
from features.data.times import naive_utc

_TIME_COLUMN = {
    "interactions": "timestamp",
    "share_outcomes": "measured_at",
    "social_accounts": "as_of",
}


class StoreReader:
    """Frames of contract tables with typed columns (UTC-aware timestamps, lists)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def table(
        self,
        name: str,
        *,
        as_of: datetime | None = None,
        since: datetime | None = None,
        columns: Sequence[str] | None = None,
        stored_through: int | None = None,
    ) -> pd.DataFrame:
        """Rows of ``name``; for event tables only those observed in ``(since, as_of]``;
        for interactions with ``stored_through``, only those numbered up to it
        (:func:`~features.data.schema.event_sequence`)."""
        target = CONTRACT_TABLES[name]
        selected = list(columns) if columns else list(TABLES[name].field_names)
        query = sa.select(*(target.c[c] for c in selected))
        if stored_through is not None:
            if name != "interactions":
                raise ValueError(f"stored_through: {name} has no event sequence")
            query = query.where(event_sequence(self.store.dialect) <= stored_through)
        time_column = _TIME_COLUMN.get(name)
        if time_column and as_of is not None:
            query = query.where(target.c[time_column] <= naive_utc(as_of))
        if time_column and since is not None:
            query = query.where(target.c[time_column] > naive_utc(since))
        frame = pd.DataFrame.from_records(fetch_rows(self.store, query), columns=selected)
        return typed_frame(name, frame)

    def shares(self, *, as_of: datetime) -> pd.DataFrame:
        """Share events up to ``as_of`` with the employee, content, network and time."""
        frame = self.table(
            "interactions",
            as_of=as_of,
            columns=["event_id", "employee_id", "content_id", "event_type", "network", "timestamp"],
        )
        return frame[frame["event_type"] == "share"].reset_index(drop=True)


def fetch_rows(store: Store, query: sa.Select) -> list[tuple]:
    """The rows of ``query`` as the driver returns them (plain tuples, no per-row work).

    SQLite gives timestamps as text (``YYYY-MM-DD HH:MM:SS.ffffff``), PostgreSQL as naive
    datetimes; both are naive UTC.
    """
    with store.engine.connect() as conn:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(*_compiled(query, conn))
            return cursor.fetchall()
        finally:
            cursor.close()


def _compiled(query: sa.Select, conn: sa.Connection) -> tuple[str, object]:
    """The query as driver SQL and parameters: rows come back without per-row processing."""
    compiled = query.compile(dialect=conn.dialect)
    params = {k: _driver_value(v, conn.dialect.name) for k, v in compiled.params.items()}
    if compiled.positiontup:
        return compiled.string, tuple(params[name] for name in compiled.positiontup)
    return compiled.string, params


def _driver_value(value: object, dialect: str) -> object:
    if dialect == "sqlite" and isinstance(value, datetime):
        return value.strftime(SQLITE_DATETIME)  # compared as text with the stored values
    return value


def typed_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Driver values of table ``name`` to typed columns (in place; SQLite gives text for
    times and JSON)."""
    for spec in TABLES[name].fields:
        if spec.name not in frame:
            continue
        column = frame[spec.name]
        if spec.kind is Kind.TIMESTAMP:
            frame[spec.name] = pd.to_datetime(column, utc=True, format="ISO8601")
        elif spec.kind is Kind.DATE:
            frame[spec.name] = pd.to_datetime(column, format="ISO8601").dt.date
        elif spec.kind is Kind.LIST:
            frame[spec.name] = _lists(column)
        elif spec.kind is Kind.BOOL:
            frame[spec.name] = column.astype("boolean")
        elif spec.kind is Kind.INT:
            frame[spec.name] = pd.to_numeric(column).astype("Int64")
        elif spec.kind is Kind.FLOAT:
            frame[spec.name] = pd.to_numeric(column).astype("float64")
    return frame


def _lists(column: pd.Series) -> list[object]:
    """A list column's values: JSON text (SQLite) parsed in one call, or the driver's lists
    (PostgreSQL; None is [])."""
    values = column.tolist()
    if values and all(isinstance(v, str) for v in values):
        return list(json.loads("[" + ",".join(values) + "]"))
    return [json.loads(v) if isinstance(v, str) else (v or []) for v in values]
