"""The store: the contract tables in a SQL database, through SQLAlchemy 2.

A SQLite file by default (``<data dir>/advocacy.db``), PostgreSQL (or any SQLAlchemy URL
with an ``ON CONFLICT`` dialect) in production. Writes are idempotent on each table's key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from features.data import rows as params
from features.data import schema
from features.data.contract import TABLES, Conflict

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "ADVOCACY_DATA_DIR"
DB_URL_ENV = "ADVOCACY_DB_URL"

COPY_MIN_ROWS = 200
"""PostgreSQL frames from this many rows are written with COPY (see Store.write_frame); below
it one executemany is as fast (measured: about equal at 100-300 rows of interactions)."""


def data_dir() -> Path:
    """The folder for the embedded store and tracking files (``$ADVOCACY_DATA_DIR`` or ./data)."""
    return Path(os.environ.get(DATA_DIR_ENV, "data")).resolve()


def default_db_url() -> str:
    """``$ADVOCACY_DB_URL`` if set, else a SQLite file in :func:`data_dir`."""
    return os.environ.get(DB_URL_ENV) or f"sqlite:///{data_dir() / 'advocacy.db'}"


def _sqlite_pragmas(dbapi_connection: object, _: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA wal_autocheckpoint=20000")  # pages: fewer checkpoints in big imports
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: index updates of big imports
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


@dataclass(frozen=True)
class Timeouts:
    """Bounds on waiting for a PostgreSQL store, in seconds (the service's, so that a
    request never waits long on a dead or stuck store; tools keep the driver's defaults).

    ``connect``: libpq's ``connect_timeout`` (whole seconds, at least 2); ``statement``: the
    server's ``statement_timeout`` for every statement of the engine (None: none);
    ``pool``: waiting for a free pooled connection. TCP keepalives (10 s idle, 3 probes 5 s
    apart) and a 15 s ``tcp_user_timeout`` notice a peer that went silent mid-query.
    """

    connect: float = 3.0
    statement: float | None = 30.0
    pool: float = 10.0


def _postgres_args(url: sa.URL, timeouts: Timeouts) -> dict[str, object]:
    """``connect_args`` and pool settings of :class:`Timeouts` (options of ``url`` kept)."""
    args: dict[str, object] = {
        "connect_timeout": max(2, round(timeouts.connect)),
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": 15_000,
    }
    if timeouts.statement is not None:
        given = url.query.get("options")
        options = [given] if isinstance(given, str) else list(given or ())
        options.append(f"-c statement_timeout={round(timeouts.statement * 1000)}")
        args["options"] = " ".join(options)
    return {"connect_args": args, "pool_timeout": timeouts.pool}


def create_engine(url: str, *, timeouts: Timeouts | None = None) -> Engine:
    """An engine for ``url``; SQLite files get their folder, WAL and foreign keys;
    PostgreSQL gets pre-ping and, with ``timeouts``, bounded waits (:class:`Timeouts`)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    postgres = parsed.get_backend_name() == "postgresql"
    if postgres and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    bounded = _postgres_args(parsed, timeouts) if postgres and timeouts is not None else {}
    return sa.create_engine(parsed, pool_pre_ping=True, **bounded)


def _before_write(conn: sa.Connection, table: str) -> None:
    """Interactions are numbered in commit order (:func:`~features.data.schema.event_sequence`)."""
    if table == "interactions":
        schema.lock_event_sequence(conn)


class Store:
    """The contract tables of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(
        cls, url: str | None = None, *, migrate: bool = True, timeouts: Timeouts | None = None
    ) -> Store:
        """Connect to ``url`` (default :func:`default_db_url`) and bring its schema up to date
        (``timeouts``: see :class:`Timeouts`)."""
        store = cls(create_engine(url or default_db_url(), timeouts=timeouts))
        if migrate:
            schema.migrate(store.engine)
        return store

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    def write(self, table: str, rows: Sequence[Mapping[str, object]]) -> None:
        """Write ``rows`` in one transaction: all of them or none.

        A row whose key is already stored is skipped for fact tables and updated for
        entity tables (see :class:`~features.data.contract.Conflict`).
        """
        if not rows:
            return
        with self.engine.begin() as conn:
            _before_write(conn, table)
            conn.execute(self._upsert(table), list(rows))

    def write_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Write a typed, validated frame of ``table`` in one transaction (see :meth:`write`).

        On PostgreSQL a frame of ``COPY_MIN_ROWS`` rows or more goes through
        :meth:`copy_frame`; a smaller one (the service's event batches) through
        :meth:`write`, one statement instead of three. On SQLite see :meth:`_write_sqlite`.
        Other dialects raise NotImplementedError, as in :meth:`write`.
        """
        if frame.empty:
            return
        if self.dialect != "postgresql":
            self._write_sqlite(table, frame)
        elif len(frame) >= COPY_MIN_ROWS:
            self.copy_frame(table, frame)
        else:
            self.write(table, params.records(TABLES[table], frame))

    def copy_frame(self, table: str, frame: pd.DataFrame) -> None:
        """PostgreSQL: write a typed frame with ``COPY``, in one transaction.

        The rows (one per key, see :func:`~features.data.rows.unique_keys`) are copied as
        CSV into a temporary table dropped at commit, then moved into ``table`` by one
        ``INSERT ... SELECT`` with the conflict rule of :meth:`write`; the target's
        constraints and foreign keys are checked there and raise SQLAlchemy's errors.
        """
        spec = TABLES[table]
        staging = sa.table(
            f"_staging_{table}", *(sa.column(c) for c in spec.field_names), schema="pg_temp"
        )
        columns = ", ".join(f'"{c}"' for c in spec.field_names)
        data = params.copy_csv(spec, params.unique_keys(spec, frame))
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                f'CREATE TEMPORARY TABLE "{staging.name}" ON COMMIT DROP'
                f' AS SELECT {columns} FROM "{table}" WITH NO DATA'
            )
            with conn.connection.cursor() as cursor:
                sql = f'COPY pg_temp."{staging.name}" ({columns}) FROM STDIN (FORMAT csv)'
                with cursor.copy(sql) as copy:
                    copy.write(memoryview(data))
            _before_write(conn, table)  # after the copy: the lock is held for the insert only
            conn.execute(self._upsert(table).from_select(list(spec.field_names), staging))

    def _write_sqlite(self, table: str, frame: pd.DataFrame) -> None:
        """SQLite: rows straight to the driver, with foreign-key checks off for the batch.

        The rows are pre-converted to what SQLAlchemy would store, which imports several
        times faster than per-row processing. The frame's references were checked by the
        importer, so SQLite's own foreign-key checks (a quarter of the write time) are
        switched off for this one batch.
        """
        compiled = self._upsert(table).compile(dialect=self.engine.dialect)
        rows = params.sqlite_tuples(TABLES[table], frame, list(compiled.positiontup or ()))
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction: takes effect
            conn.commit()
            try:
                conn.exec_driver_sql(compiled.string, rows)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()

    def _upsert(self, table: str) -> sa.Insert:
        spec = TABLES[table]
        target = schema.CONTRACT_TABLES[table]
        dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        if self.dialect not in dialects:
            raise NotImplementedError(f"no idempotent insert for the {self.dialect} dialect")
        statement = dialects[self.dialect](target)
        if spec.on_conflict is Conflict.IGNORE:
            return statement.on_conflict_do_nothing(index_elements=list(spec.key))
        updated = {c: statement.excluded[c] for c in spec.field_names if c not in spec.key}
        return statement.on_conflict_do_update(index_elements=list(spec.key), set_=updated)

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(schema.CONTRACT_TABLES[table])
            ).scalar_one()

    def counts(self) -> dict[str, int]:
        """Rows per contract table."""
        return {name: self.count(name) for name in TABLES}

    def key_set(
        self, table: str, column: str, *, where: sa.ColumnElement | None = None
    ) -> set[str]:
        """All values of ``column`` in ``table`` (optionally filtered), as a set."""
        target = schema.CONTRACT_TABLES[table]
        query = sa.select(target.c[column])
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def share_event_ids(self) -> set[str]:
        """Event ids of stored shares (what share outcomes may reference)."""
        interactions = schema.CONTRACT_TABLES["interactions"]
        return self.key_set("interactions", "event_id", where=interactions.c.event_type == "share")

    def time_range(self, table: str, column: str) -> tuple[object, object]:
        target = schema.CONTRACT_TABLES[table]
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(sa.func.min(target.c[column]), sa.func.max(target.c[column]))
            ).one()
        return row[0], row[1]

    def rows(self, table: str, columns: Iterable[str] | None = None) -> list[dict[str, object]]:
        """Every row of a (small) table as dicts: for tests and summaries."""
        target = schema.CONTRACT_TABLES[table]
        selected = [target.c[c] for c in columns] if columns else list(target.c)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(*selected))]

    def grouped_counts(self, table: str, column: str) -> dict[str, int]:
        """Rows of ``table`` per value of ``column``."""
        target = schema.CONTRACT_TABLES[table]
        query = sa.select(target.c[column], sa.func.count()).group_by(target.c[column])
        with self.engine.connect() as conn:
            return {str(value): count for value, count in conn.execute(query)}

    def summary(self) -> dict[str, object]:
        """What the store holds: rows per table, event types, content states, time span."""
        first, last = self.time_range("interactions", "timestamp")
        return {
            "db": self.url,
            "schema_version": schema.HEAD,
            "rows": self.counts(),
            "event_types": self.grouped_counts("interactions", "event_type"),
            "approval_status": self.grouped_counts("content", "approval_status"),
            "opted_out": self.grouped_counts("advocates", "opted_out").get("True", 0),
            "interactions_from": first.isoformat() if first else None,
            "interactions_to": last.isoformat() if last else None,
        }
