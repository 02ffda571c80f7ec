"""Influencer scores over time, stored in the store (schema v7, ``influencer_scores``).

One row per advocate, day and model version: the scorer's own score, tier and flag (no
review applied; decisions have their own history in ``features.data.reviews``). The day is
the UTC date of the scoring time, stored as its midnight. Recording a day and version again
replaces its rows, so the writers (``advocacy influencers history``, the demo, the service
once a day per loaded version) may repeat themselves. :func:`score_history` never returns
the rows of an advocate who opted out (one who opts out later disappears from it too).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import pandas as pd
import sqlalchemy as sa

from features.data import schema
from features.data.store import Store
from features.data.times import naive_utc, utc
from recsys.errors import FieldError

logger = logging.getLogger(__name__)

TABLE = schema.influencer_scores


class Scored(Protocol):
    """What a score row is made of: a ``recsys.influence.Candidate`` is one (the store
    needs only these fields, not the scorer's types)."""

    @property
    def employee_id(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def tier(self) -> str: ...
    @property
    def flagged(self) -> bool: ...


class ScoreHistoryError(FieldError):
    """Scores that cannot be recorded: names the field and the problem."""


@dataclass(frozen=True)
class ScorePoint:
    """One advocate's score on one day by one model version."""

    scored_at: datetime  # UTC-aware midnight of the day
    model_version: str
    score: float
    tier: str
    flagged: bool


def scoring_day(moment: datetime | pd.Timestamp | str) -> pd.Timestamp:
    """The UTC day of ``moment`` (its midnight, UTC-aware): the ``scored_at`` stored."""
    return utc(moment).floor("D")


def record_scores(
    store: Store,
    candidates: Iterable[Scored],
    *,
    scored_at: datetime | pd.Timestamp | str,
    model_version: str,
) -> pd.Timestamp:
    """Store one row per candidate for the day of ``scored_at`` and ``model_version``,
    replacing rows already stored for that advocate, day and version (one transaction; a
    candidate listed twice is stored once, the last). Returns the day; a blank
    ``model_version`` raises :class:`ScoreHistoryError`."""
    version = str(model_version or "").strip()
    if not version:
        raise ScoreHistoryError("model_version", "missing: say which model scored")
    day = scoring_day(scored_at)
    rows = list({row[0]: row for row in (_row(c, version) for c in candidates)}.values())
    writers = {"postgresql": _copy_postgresql, "sqlite": _write_sqlite}
    if store.dialect not in writers:
        raise NotImplementedError(f"no idempotent insert for the {store.dialect} dialect")
    if rows:
        writers[store.dialect](store, rows, naive_utc(day))
    logger.info("recorded %d influencer scores of %s for %s", len(rows), version, day.date())
    return day


def _row(candidate: Scored, version: str) -> tuple[str, str, float, str, bool]:
    """``(employee_id, model_version, score, tier, flagged)``: :data:`_COLUMNS` but the day."""
    return (
        str(candidate.employee_id),
        version,
        float(candidate.score),
        str(candidate.tier),
        bool(candidate.flagged),
    )


_COLUMNS = ("employee_id", "scored_at", "model_version", "score", "tier", "flagged")
_KEY = ("employee_id", "scored_at", "model_version")


def _upsert_sql(source: str) -> str:
    """``INSERT ... <source> ON CONFLICT (key) DO UPDATE``, the same on both dialects."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c not in _KEY)
    return (
        f"INSERT INTO {TABLE.name} ({', '.join(_COLUMNS)}) {source}"
        f" ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {updates}"
    )


def _write_sqlite(store: Store, rows: list[tuple], day: datetime) -> None:
    """The driver's ``executemany`` in one transaction, the day stored as SQLAlchemy's
    ``DateTime`` stores it (so queries through SQLAlchemy match it)."""
    dialect = store.engine.dialect
    process = TABLE.c.scored_at.type.dialect_impl(dialect).bind_processor(dialect)
    stamp = process(day) if process is not None else day
    statement = _upsert_sql("VALUES (?, ?, ?, ?, ?, ?)")
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            statement, [(e, stamp, v, score, t, int(f)) for e, v, score, t, f in rows]
        )


def _copy_postgresql(store: Store, rows: list[tuple], day: datetime) -> None:
    """``COPY`` into a temporary table dropped at commit, then one ``INSERT ... SELECT``
    with the conflict rule, in one transaction."""
    staging = "_staging_influencer_scores"
    columns = ", ".join(_COLUMNS)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TEMPORARY TABLE "{staging}" ON COMMIT DROP'
            f" AS SELECT {columns} FROM {TABLE.name} WITH NO DATA"
        )
        sql = f'COPY pg_temp."{staging}" ({columns}) FROM STDIN'
        with conn.connection.cursor() as cursor, cursor.copy(sql) as copy:
            for employee, version, score, tier, flagged in rows:
                copy.write_row((employee, day, version, score, tier, flagged))
        conn.exec_driver_sql(_upsert_sql(f'SELECT {columns} FROM pg_temp."{staging}"'))


def has_scores(
    store: Store, *, scored_at: datetime | pd.Timestamp | str, model_version: str
) -> bool:
    """Whether any score is stored for the day of ``scored_at`` and ``model_version``."""
    query = (
        sa.select(TABLE.c.employee_id)
        .where(TABLE.c.scored_at == naive_utc(scoring_day(scored_at)))
        .where(TABLE.c.model_version == str(model_version))
        .limit(1)
    )
    with store.engine.connect() as conn:
        return conn.execute(query).first() is not None


def score_history(
    store: Store, employee_id: str, *, model_versions: Sequence[str] | None = None
) -> list[ScorePoint]:
    """One advocate's stored scores (of ``model_versions`` only, if given), oldest first;
    empty for an unknown advocate or one who opted out."""
    advocates = schema.CONTRACT_TABLES["advocates"]
    query = (
        sa.select(TABLE)
        .join(advocates, advocates.c.employee_id == TABLE.c.employee_id)
        .where(TABLE.c.employee_id == str(employee_id))
        .where(sa.or_(advocates.c.opted_out.is_(None), advocates.c.opted_out == sa.false()))
        .order_by(TABLE.c.scored_at, TABLE.c.model_version)
    )
    if model_versions is not None:
        query = query.where(TABLE.c.model_version.in_([str(v) for v in model_versions]))
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_point(row) for row in rows]


def _point(row: sa.RowMapping) -> ScorePoint:
    return ScorePoint(
        scored_at=utc(row["scored_at"]).to_pydatetime(),
        model_version=str(row["model_version"]),
        score=float(row["score"]),
        tier=str(row["tier"]),
        flagged=bool(row["flagged"]),
    )
