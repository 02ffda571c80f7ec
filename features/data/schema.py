"""The SQL schema of the store, derived from the contract, and its versioned migrations.

A new store is created at the head version in one step; an existing one is brought up
to date by applying the steps after its recorded version, each in its own transaction.
A schema change adds a step to ``MIGRATIONS`` *and* changes the metadata below, so a new
store and a migrated one end up identical. The one column outside the metadata is the event
sequence (:func:`event_sequence`), which a new store gets from the same step as a migrated one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from features.data.contract import FEED_TABLES, TABLES, FieldSpec, Kind, TableSpec

logger = logging.getLogger(__name__)

_SQL_TYPES: dict[Kind, Callable[[], sa.types.TypeEngine]] = {
    Kind.STRING: sa.Text,
    Kind.TOKEN: lambda: sa.String(64),
    Kind.ENUM: lambda: sa.String(32),
    Kind.INT: sa.BigInteger,
    Kind.FLOAT: sa.Float,
    Kind.BOOL: sa.Boolean,
    Kind.TIMESTAMP: sa.DateTime,  # naive, always UTC
    Kind.DATE: sa.Date,
    Kind.LIST: sa.JSON,
    Kind.CURRENCY: lambda: sa.String(3),
}

# Secondary indexes on the columns that feature builders and serving filter or join on.
_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "content": (("published_at",), ("approval_status",)),
    # Two only: every index costs ~3 us per imported event (5M-event imports).
    "interactions": (("employee_id", "timestamp"), ("timestamp",)),
    "social_accounts": (("as_of",),),
    "org_edges": (("employee_b",),),
    "link_clicks": (("share_event_id",), ("visitor_id", "timestamp"), ("timestamp",)),
    "conversions": (("visitor_id", "timestamp"), ("timestamp",)),
}

metadata = sa.MetaData()


def _column(table: TableSpec, spec: FieldSpec) -> sa.Column:
    references = {fk.field: fk.table for fk in table.foreign_keys}
    args: list[object] = [_SQL_TYPES[spec.kind]()]
    if spec.name in references:
        target = TABLES[references[spec.name]]
        args.append(sa.ForeignKey(f"{target.name}.{target.key[0]}"))
    return sa.Column(
        spec.name,
        *args,
        primary_key=spec.name in table.key,
        nullable=spec.name not in table.key and not (spec.required and spec.default is None),
        comment=spec.description or None,
    )


def _table(spec: TableSpec) -> sa.Table:
    table = sa.Table(
        spec.name,
        metadata,
        *(_column(spec, f) for f in spec.fields),
        comment=spec.description,
    )
    for columns in _INDEXES.get(spec.name, ()):
        sa.Index(f"ix_{spec.name}_{'_'.join(columns)}", *(table.c[c] for c in columns))
    return table


CONTRACT_TABLES: dict[str, sa.Table] = {name: _table(spec) for name, spec in TABLES.items()}

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.DateTime, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)


# Text embeddings by (model, sha256 of the text): a re-run embeds only new or changed text,
# and a new model never reads another model's vectors. ``vector`` is ``dim`` float32 values,
# little-endian (see features.embedding_cache).
embedding_cache = sa.Table(
    "embedding_cache",
    metadata,
    sa.Column("model_id", sa.String(200), primary_key=True),
    sa.Column("text_hash", sa.String(64), primary_key=True),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),  # naive, always UTC
    comment="Cached text embeddings: float32 little-endian vectors by model and text hash.",
)


# Program managers' decisions on micro-influencer candidates (features.data.reviews): one row
# per decision, kept as history; the latest per advocate is the one in force.
influencer_reviews = sa.Table(
    "influencer_reviews",
    metadata,
    sa.Column("review_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("employee_id", sa.Text, sa.ForeignKey("advocates.employee_id"), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),  # approve | dismiss
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=True),  # the candidate's score when decided
    sa.Column("decided_at", sa.DateTime, nullable=False),  # naive, always UTC
    sa.Index("ix_influencer_reviews_employee_id_decided_at", "employee_id", "decided_at"),
    comment="Review decisions on micro-influencer candidates (history; latest wins).",
)


# Program analytics (features.program), schema step 6. Attribution credits and runs are
# written by the attribution job: one row per (model, conversion, credited share), ``credit``
# the share's fraction of the conversion (0..1), ``value`` = credit x the conversion's value.
attribution_credits = sa.Table(
    "attribution_credits",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("conversion_id", sa.Text, primary_key=True),
    sa.Column("share_event_id", sa.Text, primary_key=True),
    sa.Column("converted_at", sa.DateTime, nullable=False),  # naive, always UTC
    sa.Column("credit", sa.Float, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Index("ix_attribution_credits_model_converted_at", "model", "converted_at"),
    sa.Index("ix_attribution_credits_share_event_id_model", "share_event_id", "model"),
    comment="Each credited share's fraction of a conversion, per attribution model.",
)

attribution_runs = sa.Table(
    "attribution_runs",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("computed_at", sa.DateTime, nullable=False),  # naive, always UTC
    sa.Column("lookback_days", sa.Float, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("conversions", sa.Integer, nullable=False),
    sa.Column("unattributed", sa.Integer, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    comment="The latest run of each attribution model: when, with what, over how much.",
)

# Rollups kept current by features.program.rollups (refresh_rollups / add_shares): one row per
# share event with the sharer's department and region and the content's type (as stored
# now), followers at share time (latest snapshot as_of <= shared_at), the latest measurement
# and the tracked link clicks; and one row per (content, topic). On SQLite both are clustered
# on their key (WITHOUT ROWID) and ix_share_facts_window covers the report queries, so a
# period is read from one index range without touching the table.
_SHARE_FACT_FIGURES = ("followers", "impressions", "clicks", "reactions", "comments", "reshares")
share_facts = sa.Table(
    "share_facts",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("employee_id", sa.Text, nullable=False),
    sa.Column("content_id", sa.Text, nullable=False),
    sa.Column("network", sa.String(32), nullable=True),
    sa.Column("shared_at", sa.DateTime, nullable=False),  # naive, always UTC
    sa.Column("department", sa.Text, nullable=True),
    sa.Column("region", sa.Text, nullable=True),
    sa.Column("content_type", sa.String(64), nullable=True),
    *(sa.Column(name, sa.BigInteger, nullable=True) for name in _SHARE_FACT_FIGURES),
    sa.Column("measured_at", sa.DateTime, nullable=True),  # the latest measurement's time
    sa.Column("link_clicks", sa.BigInteger, nullable=False),
    sa.Index(
        "ix_share_facts_window",
        "shared_at",
        "network",
        "employee_id",
        "content_id",
        "department",
        "region",
        "content_type",
        *_SHARE_FACT_FIGURES,
        "link_clicks",
    ),
    sa.Index("ix_share_facts_employee_id_shared_at", "employee_id", "shared_at"),
    comment="Rollup: one row per share with its attributes, reach, latest outcome, clicks.",
    sqlite_with_rowid=False,
)

content_topics = sa.Table(
    "content_topics",
    metadata,
    sa.Column("content_id", sa.Text, primary_key=True),
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Index("ix_content_topics_topic", "topic"),
    comment="Rollup: the topics of each content item, one row per (content, topic).",
    sqlite_with_rowid=False,
)

PROGRAM_TABLES = (attribution_credits, attribution_runs, share_facts, content_topics)

# Influencer scores over time (features.data.score_history), schema step 7: the scorer's own
# score, tier and flag per advocate, day (``scored_at``: the UTC day's midnight) and model
# version; recording a day and version again replaces its rows.
influencer_scores = sa.Table(
    "influencer_scores",
    metadata,
    sa.Column("employee_id", sa.Text, sa.ForeignKey("advocates.employee_id"), primary_key=True),
    sa.Column("scored_at", sa.DateTime, primary_key=True),  # naive, always UTC, a midnight
    sa.Column("model_version", sa.Text, primary_key=True),  # name@version of the scorer
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("tier", sa.String(16), nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Index("ix_influencer_scores_scored_at_model_version", "scored_at", "model_version"),
    comment="Influencer scores per advocate, day and scorer version (no review applied).",
)


# Content screening (features.screening.records), schema step 9: the decision in force
# per content item (the screen's, or a program manager's release or block) with the hash of
# the text it judged and the policy's fingerprint; and the append-only log of every decision.
content_screening = sa.Table(
    "content_screening",
    metadata,
    sa.Column("content_id", sa.Text, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # passed|held|blocked|released
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("policy", sa.String(64), nullable=False),  # the policy's fingerprint
    sa.Column("decided_by", sa.Text, nullable=False),  # "screen" or the manager
    sa.Column("decided_at", sa.DateTime, nullable=False),  # naive, always UTC
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_content_screening_status", "status"),
    comment="The screening decision in force per content item.",
)
screening_audit = sa.Table(
    "screening_audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),  # naive, always UTC
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("content_id", sa.Text, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # screened|released|blocked
    sa.Column("status_before", sa.String(16), nullable=True),
    sa.Column("status_after", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("policy", sa.String(64), nullable=False),
    comment="Every screening decision, append-only (triggers refuse updates and deletes).",
)


# Erased employees (features.data.privacy), schema step 10: the sha256 of each erased id (see
# privacy.erasure_hash), when and by whom; an id marked here is refused on import until it is
# re-enrolled. No plain employee id is stored.
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("erased_at", sa.DateTime, nullable=False),  # naive, always UTC
    sa.Column("erased_by", sa.Text, nullable=False),
    comment="Erased employees by the sha256 of their id: refused on import until re-enrolled.",
)


def _create_contract_tables(conn: Connection) -> None:
    """The six tables of the first contract (later contract tables have their own steps)."""
    metadata.create_all(conn, tables=[CONTRACT_TABLES[name] for name in FEED_TABLES])


def _create_embedding_cache(conn: Connection) -> None:
    metadata.create_all(conn, tables=[embedding_cache])


def _create_influencer_reviews(conn: Connection) -> None:
    metadata.create_all(conn, tables=[influencer_reviews])


def _add_content_networks(conn: Connection) -> None:
    """Add the column unless the table already has it (created from today's metadata)."""
    if "networks" in {c["name"] for c in sa.inspect(conn).get_columns("content")}:
        return
    column = CONTRACT_TABLES["content"].c.networks
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE content ADD COLUMN networks {kind}"))


def _create_click_tables(conn: Connection) -> None:
    metadata.create_all(
        conn, tables=[CONTRACT_TABLES["link_clicks"], CONTRACT_TABLES["conversions"]]
    )


def _create_program_tables(conn: Connection) -> None:
    """Attribution tables and the program rollups (filled by features.program.rollups)."""
    metadata.create_all(conn, tables=list(PROGRAM_TABLES))


def _create_influencer_scores(conn: Connection) -> None:
    metadata.create_all(conn, tables=[influencer_scores])


def _create_screening_tables(conn: Connection) -> None:
    metadata.create_all(conn, tables=[content_screening, screening_audit])
    _append_only(conn, screening_audit.name)


def _create_erasures(conn: Connection) -> None:
    metadata.create_all(conn, tables=[erasures])


def _append_only(conn: Connection, table: str) -> None:
    """Triggers refusing UPDATE and DELETE on ``table`` (SQLite and PostgreSQL)."""
    message = f"{table} is append-only"
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger"
                f" LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{message}'; END $$"
            )
        )
        conn.execute(
            sa.text(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE"
                f" ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )
        )
        return
    for event in ("UPDATE", "DELETE"):
        conn.execute(
            sa.text(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{event.lower()} BEFORE {event}"
                f" ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        )


#: The column numbering interactions in the order they were stored (see :func:`event_sequence`).
EVENT_SEQUENCE = "seq"


def event_sequence(dialect: str) -> sa.ColumnElement[int]:
    """The order in which interactions were stored, as a column of ``interactions``.

    PostgreSQL: the identity column ``seq`` (added by migration 8); writers of interactions
    take :func:`lock_event_sequence` so that numbers become visible in increasing order.
    SQLite: the table's ``rowid``, assigned max + 1 by its single writer (rows are never
    replaced: interactions are written with ``ON CONFLICT DO NOTHING``).
    """
    column = EVENT_SEQUENCE if dialect == "postgresql" else "rowid"
    return sa.literal_column(f"interactions.{column}", sa.BigInteger)


#: The advisory lock key serialising writers of interactions on PostgreSQL.
_EVENT_LOCK = 0x61647663  # "advc"


def lock_event_sequence(conn: Connection) -> None:
    """PostgreSQL: hold the event lock until this transaction ends, so that a later sequence
    number never commits before an earlier one (followers read ``seq > cursor``)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_EVENT_LOCK)))


def _add_event_sequence(conn: Connection) -> None:
    """PostgreSQL: an identity column ``interactions.seq`` (existing rows numbered) with a
    unique index; SQLite numbers rows already (``rowid``)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        sa.text(
            f"ALTER TABLE interactions ADD COLUMN IF NOT EXISTS {EVENT_SEQUENCE}"
            " BIGINT GENERATED BY DEFAULT AS IDENTITY"
        )
    )
    conn.execute(
        sa.text(
            f"CREATE UNIQUE INDEX IF NOT EXISTS ix_interactions_{EVENT_SEQUENCE}"
            f" ON interactions ({EVENT_SEQUENCE})"
        )
    )


Migration = tuple[int, str, Callable[[Connection], None]]

MIGRATIONS: tuple[Migration, ...] = (
    (
        1,
        "contract tables: advocates, content, interactions, outcomes, accounts, edges",
        _create_contract_tables,
    ),
    (2, "embedding cache: vectors by (model_id, text_hash)", _create_embedding_cache),
    (
        3,
        "influencer reviews: approve/dismiss decisions with note and reviewer",
        _create_influencer_reviews,
    ),
    (4, "content.networks: the networks content is meant for", _add_content_networks),
    (
        5,
        "link_clicks and conversions: tracked visits from shares and what they led to",
        _create_click_tables,
    ),
    (
        6,
        "program analytics: attribution credits and runs; share_facts and content_topics rollups",
        _create_program_tables,
    ),
    (
        7,
        "influencer scores: score, tier and flag per advocate, day and scorer version",
        _create_influencer_scores,
    ),
    (
        8,
        "interactions.seq: the order events were stored in (serving processes follow it)",
        _add_event_sequence,
    ),
    (
        9,
        "content screening: the decision per content item and its append-only audit log",
        _create_screening_tables,
    ),
    (10, "erasures: hashed ids of erased employees, refused on import", _create_erasures),
)
HEAD = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int | None:
    """The store's schema version, or None for an empty database."""
    if not sa.inspect(conn).has_table(schema_version.name):
        return None
    return conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema; returns the version now in place."""
    with engine.begin() as conn:
        version = current_version(conn)
        if version is None:
            metadata.create_all(conn)
            _add_event_sequence(conn)  # not in the metadata: the dialects number rows differently
            _append_only(conn, screening_audit.name)  # triggers: not in the metadata either
            _record(conn, HEAD, "created at head")
            logger.info("created store schema at version %d", HEAD)
            return HEAD
    if version > HEAD:
        raise RuntimeError(
            f"the store has schema version {version}, newer than this code's {HEAD}: upgrade"
            " advocacy-recsys"
        )
    for number, description, step in MIGRATIONS:
        if number <= version:
            continue
        with engine.begin() as conn:
            step(conn)
            _record(conn, number, description)
        logger.info("migrated store schema to version %d: %s", number, description)
    return HEAD


def _record(conn: Connection, version: int, description: str) -> None:
    conn.execute(
        schema_version.insert().values(
            version=version,
            applied_at=datetime.now(UTC).replace(tzinfo=None),
            description=description,
        )
    )
