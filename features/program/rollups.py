"""The rollup tables program reports read, kept current in the database.

``share_facts`` has one row per share event (``interactions`` with event_type ``share``):
who shared what, on which network and when, the sharer's ``department`` and ``region`` and
the content's ``content_type`` as stored now, and

- ``followers``: the sharer's followers on that network at share time, from the latest
  ``social_accounts`` snapshot of (employee, network) with ``as_of`` <= the share time
  (NULL while there is none);
- ``measured_at``, ``impressions`` ... ``reshares``: the share's latest ``share_outcomes``
  measurement (the one with the greatest ``measured_at``; NULL while there is none);
- ``link_clicks``: the number of ``link_clicks`` rows of the share.

``content_topics`` has one row per (content item, topic of its ``topics`` list).

Which import must be followed by which refresh (:data:`TRIGGERS`; the others change nothing):

- ``interactions``: new shares get their row, with attributes, followers, link clicks and
  latest measurement (shares are immutable facts, so only missing rows are added);
- ``advocates``: rows whose sharer's department or region changed;
- ``share_outcomes``: rows whose share has a measurement later than the stored one;
- ``social_accounts``: every row whose followers at share time changed (a full pass:
  a snapshot may be dated before shares already stored);
- ``link_clicks``: every row whose click count changed (one grouped pass over the clicks);
- ``content``: rows whose content type changed; ``content_topics`` rebuilt (topics may
  change when content is re-imported).

Whether an advocate opted out is never copied here: reports read it from ``advocates``, so
an opt-out takes effect before any refresh.

Every step is one set-based statement (``INSERT ... SELECT``, or ``UPDATE`` from correlated
subqueries on the contract tables' keys or from a join) run in the database, all in one
transaction, and writes only rows that change. :func:`add_shares` adds the rows of shares
recorded one by one (the service's live events); it is also the cheap way to follow a small
import: finding new shares otherwise reads every share event of ``interactions``, which
has no index on ``event_type``. A store upgraded to schema 6 with data in it needs
``refresh_rollups(store, TRIGGERS)`` once to fill the rollups.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from features.data.contract import TABLES
from features.data.schema import CONTRACT_TABLES, content_topics, share_facts
from features.data.store import Store

logger = logging.getLogger(__name__)

INTERACTIONS = CONTRACT_TABLES["interactions"]
OUTCOMES = CONTRACT_TABLES["share_outcomes"]
ACCOUNTS = CONTRACT_TABLES["social_accounts"]
LINK_CLICKS = CONTRACT_TABLES["link_clicks"]
CONTENT = CONTRACT_TABLES["content"]
ADVOCATES = CONTRACT_TABLES["advocates"]
FACTS = share_facts

MEASURES = ("impressions", "clicks", "reactions", "comments", "reshares")
TRIGGERS: dict[str, str] = {
    "interactions": "share_facts: rows of new shares",
    "advocates": "share_facts: department and region",
    "share_outcomes": "share_facts: latest measurements",
    "social_accounts": "share_facts: followers at share time",
    "link_clicks": "share_facts: link click counts",
    "content": "share_facts: content type; content_topics: rebuilt",
}
"""The contract tables whose import changes a rollup, and what their refresh does."""


ANALYZE_MIN_ROWS = 10_000
"""PostgreSQL: a refresh that writes this many rows updates the rollups' planner statistics
(autovacuum may take minutes, and the first reports after a big import would plan badly)."""


class UnknownTableError(ValueError):
    """A name that is not a contract table; ``table`` holds it."""

    def __init__(self, table: str) -> None:
        super().__init__(f"tables: {table!r} is not a contract table")
        self.table = table


@dataclass
class RollupRefresh:
    """Rows each refresh step wrote, and the time it all took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def refresh_rollups(store: Store, tables: Collection[str]) -> RollupRefresh:
    """Bring the rollups up to date after an import that wrote ``tables``."""
    for name in tables:
        if name not in TABLES:
            raise UnknownTableError(name)
    started = time.perf_counter()
    report = RollupRefresh()
    with store.engine.begin() as conn:
        if "content" in tables:
            report.rows["content_topics"] = _rebuild_topics(conn)
            report.rows["content_types"] = _update_content_types(conn)
        if "advocates" in tables:
            report.rows["departments"] = _update_departments(conn)
        if "interactions" in tables:
            report.rows["new_shares"] = _insert_shares(conn, INTERACTIONS.c.event_type == "share")
        if "interactions" in tables or "share_outcomes" in tables:
            report.rows["measurements"] = _update_measurements(conn)
        if "social_accounts" in tables:
            report.rows["followers"] = _update_followers(conn)
        if "link_clicks" in tables:
            report.rows["link_clicks"] = _update_link_clicks(conn)
        if store.dialect == "postgresql" and sum(report.rows.values()) >= ANALYZE_MIN_ROWS:
            conn.exec_driver_sql(f"ANALYZE {FACTS.name}, {content_topics.name}")
    report.seconds = time.perf_counter() - started
    logger.info("refreshed rollups in %.2fs: %s", report.seconds, report.rows)
    return report


def fill_empty_rollups(store: Store) -> RollupRefresh | None:
    """Fill ``share_facts`` and ``content_topics`` from scratch when ``share_facts`` is empty
    but the store holds shares (a store upgraded to schema 6, or filled without an import
    that refreshed them); None when there was nothing to do."""
    with store.engine.connect() as conn:
        has_facts = conn.execute(sa.select(FACTS.c.event_id).limit(1)).first() is not None
        shares = sa.select(INTERACTIONS.c.event_id).where(INTERACTIONS.c.event_type == "share")
        has_shares = conn.execute(shares.limit(1)).first() is not None
    if has_facts or not has_shares:
        return None
    return refresh_rollups(store, TRIGGERS)


def add_shares(store: Store, event_ids: Collection[str]) -> int:
    """Add the ``share_facts`` rows of these events (non-shares and known ones are skipped).

    For shares recorded one by one; returns the number of rows added.
    """
    ids = sorted(set(event_ids))
    if not ids:
        return 0
    with store.engine.begin() as conn:
        selected = sa.and_(INTERACTIONS.c.event_type == "share", INTERACTIONS.c.event_id.in_(ids))
        added = _insert_shares(conn, selected)
        _update_measurements(conn, FACTS.c.event_id.in_(ids))
    return added


def _followers_at(employee: sa.ColumnElement, network: sa.ColumnElement, moment) -> sa.ScalarSelect:
    """The followers of the latest snapshot at or before ``moment``."""
    return (
        sa.select(ACCOUNTS.c.followers)
        .where(
            ACCOUNTS.c.employee_id == employee,
            ACCOUNTS.c.network == network,
            ACCOUNTS.c.as_of <= moment,
        )
        .order_by(ACCOUNTS.c.as_of.desc())
        .limit(1)
        .scalar_subquery()
    )


def _click_count(event_id: sa.ColumnElement) -> sa.ScalarSelect:
    return (
        sa.select(sa.func.count())
        .select_from(LINK_CLICKS)
        .where(LINK_CLICKS.c.share_event_id == event_id)
        .scalar_subquery()
    )


def _latest(column: str, event_id: sa.ColumnElement) -> sa.ScalarSelect:
    """``column`` of the share's latest measurement."""
    return (
        sa.select(OUTCOMES.c[column])
        .where(OUTCOMES.c.event_id == event_id)
        .order_by(OUTCOMES.c.measured_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def _insert_shares(conn: Connection, selected: sa.ColumnElement[bool]) -> int:
    """Rows for the selected share events that have none; measurements are left NULL."""
    event = INTERACTIONS.c
    columns = {
        "event_id": event.event_id,
        "employee_id": event.employee_id,
        "content_id": event.content_id,
        "network": event.network,
        "shared_at": event.timestamp,
        "department": ADVOCATES.c.department,
        "region": ADVOCATES.c.region,
        "content_type": CONTENT.c.content_type,
        "followers": _followers_at(event.employee_id, event.network, event.timestamp),
        "link_clicks": _click_count(event.event_id),
    }
    source = INTERACTIONS.outerjoin(ADVOCATES, ADVOCATES.c.employee_id == event.employee_id)
    source = source.outerjoin(CONTENT, CONTENT.c.content_id == event.content_id)
    missing = ~sa.exists().where(FACTS.c.event_id == event.event_id)
    rows = sa.select(*columns.values()).select_from(source).where(selected, missing)
    return _written(conn, FACTS.insert().from_select(list(columns), rows))


def _update_measurements(conn: Connection, *scope: sa.ColumnElement[bool]) -> int:
    """Rows whose share has a measurement later than the stored one take the latest."""
    later = sa.exists().where(
        OUTCOMES.c.event_id == FACTS.c.event_id,
        sa.or_(FACTS.c.measured_at.is_(None), OUTCOMES.c.measured_at > FACTS.c.measured_at),
    )
    values = {c: _latest(c, FACTS.c.event_id) for c in ("measured_at", *MEASURES)}
    return _written(conn, sa.update(FACTS).where(later, *scope).values(values))


def _update_followers(conn: Connection) -> int:
    at_share = _followers_at(FACTS.c.employee_id, FACTS.c.network, FACTS.c.shared_at)
    changed = FACTS.c.followers.is_distinct_from(at_share)
    return _written(conn, sa.update(FACTS).where(changed).values(followers=at_share))


def _update_link_clicks(conn: Connection) -> int:
    """Rows whose share has more link clicks than stored (clicks are never removed)."""
    clicks = LINK_CLICKS.c
    counts = (
        sa.select(clicks.share_event_id, sa.func.count().label("clicks"))
        .group_by(clicks.share_event_id)
        .subquery()
    )
    update = sa.update(FACTS).where(
        FACTS.c.event_id == counts.c.share_event_id, FACTS.c.link_clicks != counts.c.clicks
    )
    return _written(conn, update.values(link_clicks=counts.c.clicks))


def _update_departments(conn: Connection) -> int:
    """Rows whose sharer's department or region is no longer the stored one."""
    moved = sa.or_(
        FACTS.c.department.is_distinct_from(ADVOCATES.c.department),
        FACTS.c.region.is_distinct_from(ADVOCATES.c.region),
    )
    update = sa.update(FACTS).where(ADVOCATES.c.employee_id == FACTS.c.employee_id, moved)
    values = {"department": ADVOCATES.c.department, "region": ADVOCATES.c.region}
    return _written(conn, update.values(values))


def _update_content_types(conn: Connection) -> int:
    """Rows whose content's type is no longer the stored one."""
    changed = FACTS.c.content_type.is_distinct_from(CONTENT.c.content_type)
    update = sa.update(FACTS).where(CONTENT.c.content_id == FACTS.c.content_id, changed)
    return _written(conn, update.values(content_type=CONTENT.c.content_type))


def _rebuild_topics(conn: Connection) -> int:
    """``content_topics`` from every content item's ``topics`` list (a JSON array)."""
    if conn.dialect.name == "sqlite":
        items = sa.func.json_each(CONTENT.c.topics).table_valued("value")
        is_list = sa.func.json_type(CONTENT.c.topics) == "array"
    else:
        items = sa.func.json_array_elements_text(CONTENT.c.topics).table_valued("value").lateral()
        is_list = sa.func.json_typeof(CONTENT.c.topics) == "array"
    topic = sa.cast(items.c.value, sa.Text)
    rows = (
        sa.select(CONTENT.c.content_id, topic)
        .select_from(CONTENT.join(items, sa.true()))
        .where(is_list, topic != "")
        .distinct()
    )
    conn.execute(sa.delete(content_topics))
    return _written(conn, content_topics.insert().from_select(["content_id", "topic"], rows))


def _written(conn: Connection, statement: sa.Executable) -> int:
    """Run ``statement``; the number of rows it wrote."""
    return conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount
