"""Store-side aggregates of content performance, computed in SQL over per-item time windows.

Every query here takes explicit windows ``[start, stop)`` (one per content item, or one per
distinct day) and reads only the rows of the event tables observed inside them, so a store
that also holds later rows gives the same numbers.

- :func:`first_week_outcomes`: per item, its shares (``interactions`` of type ``share`` at or
  after its publication and before ``stop``), its reach (the impressions of the latest
  ``share_outcomes`` measurement of each of those shares taken by ``stop``) and its clicks
  (the same measurements' clicks). With ``stop = published_at + 7 days`` these are the
  item's first-week outcomes as known at the end of that week.
- :func:`audience_activity`: per window, the advocates (not opted out) with an event other
  than an impression in it, the share events in it, and the mean impressions and clicks of
  the share measurements taken in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import sqlalchemy as sa

from features.data.reader import fetch_rows
from features.data.schema import CONTRACT_TABLES
from features.data.store import Store

OUTCOMES = ("shares", "reach", "clicks")
AUDIENCE = ("active_advocates", "shares", "reach_per_measurement", "clicks_per_measurement")
#: Windows per query (three bound parameters each, well inside SQLite's limit).
CHUNK = 2000


def first_week_outcomes(
    store: Store,
    ids: Sequence[str],
    starts: Sequence[datetime],
    stops: Sequence[datetime],
) -> np.ndarray:
    """Shares, reach and clicks ``(len(ids), 3)`` of each item in its window (module
    docstring); ``starts``/``stops`` are naive UTC datetimes; 0 for an item without shares."""
    out = np.zeros((len(ids), len(OUTCOMES)))
    position = {content_id: i for i, content_id in enumerate(ids)}
    for lo in range(0, len(ids), CHUNK):
        part = slice(lo, lo + CHUNK)
        windows = _windows("key", list(ids[part]), list(starts[part]), list(stops[part]))
        for key, shares, reach, clicks in fetch_rows(store, _outcome_query(windows)):
            out[position[key]] = (shares, reach or 0, clicks or 0)
    return out


def _outcome_query(windows: sa.CTE) -> sa.Select:
    events, measured = CONTRACT_TABLES["interactions"], CONTRACT_TABLES["share_outcomes"]
    shares = (
        sa.select(events.c.event_id, windows.c.key, windows.c.stop)
        .select_from(windows)
        .join(
            events,
            (events.c.content_id == windows.c.key)
            & (events.c.timestamp >= windows.c.start)
            & (events.c.timestamp < windows.c.stop),
        )
        .where(events.c.event_type == "share")
        .cte("shares")
    )
    latest = (
        sa.select(shares.c.event_id, sa.func.max(measured.c.measured_at).label("at"))
        .join(
            measured,
            (measured.c.event_id == shares.c.event_id) & (measured.c.measured_at <= shares.c.stop),
        )
        .group_by(shares.c.event_id)
        .cte("latest")
    )
    last = measured.alias("last")
    return (
        sa.select(
            shares.c.key,
            sa.func.count(shares.c.event_id),
            sa.func.sum(last.c.impressions),
            sa.func.sum(last.c.clicks),
        )
        .select_from(shares)
        .outerjoin(latest, latest.c.event_id == shares.c.event_id)
        .outerjoin(
            last, (last.c.event_id == latest.c.event_id) & (last.c.measured_at == latest.c.at)
        )
        .group_by(shares.c.key)
    )


def audience_activity(
    store: Store, starts: Sequence[datetime], stops: Sequence[datetime]
) -> np.ndarray:
    """Per window ``[start, stop)`` (naive UTC), the :data:`AUDIENCE` figures ``(n, 4)``
    (module docstring; the means are 0 without measurements)."""
    out = np.zeros((len(starts), len(AUDIENCE)))
    for lo in range(0, len(starts), CHUNK):
        keys = list(range(lo, min(lo + CHUNK, len(starts))))
        windows = _windows("key", keys, list(starts[lo : lo + CHUNK]), list(stops[lo : lo + CHUNK]))
        for key, active, shares in fetch_rows(store, _activity_query(windows)):
            out[key, :2] = (active, shares or 0)
        for key, reach, clicks in fetch_rows(store, _measurement_query(windows)):
            out[key, 2:] = (reach or 0.0, clicks or 0.0)
    return out


def _activity_query(windows: sa.CTE) -> sa.Select:
    events, advocates = CONTRACT_TABLES["interactions"], CONTRACT_TABLES["advocates"]
    opted_out = sa.select(advocates.c.employee_id).where(advocates.c.opted_out.is_(True))
    return (
        sa.select(
            windows.c.key,
            sa.func.count(sa.distinct(events.c.employee_id)),
            sa.func.sum(sa.case((events.c.event_type == "share", 1), else_=0)),
        )
        .select_from(windows)
        .join(
            events, (events.c.timestamp >= windows.c.start) & (events.c.timestamp < windows.c.stop)
        )
        .where(events.c.event_type != "impression", events.c.employee_id.not_in(opted_out))
        .group_by(windows.c.key)
    )


def _measurement_query(windows: sa.CTE) -> sa.Select:
    measured = CONTRACT_TABLES["share_outcomes"]
    return (
        sa.select(
            windows.c.key,
            sa.func.avg(sa.cast(measured.c.impressions, sa.Float)),
            sa.func.avg(sa.cast(measured.c.clicks, sa.Float)),
        )
        .select_from(windows)
        .join(
            measured,
            (measured.c.measured_at >= windows.c.start) & (measured.c.measured_at < windows.c.stop),
        )
        .group_by(windows.c.key)
    )


def _windows(
    name: str, keys: Sequence[object], starts: list[datetime], stops: list[datetime]
) -> sa.CTE:
    """A ``VALUES`` table ``(key, start, stop)``."""
    kind = sa.Integer if keys and isinstance(keys[0], int) else sa.Text
    columns = (
        sa.column(name, kind),
        sa.column("start", sa.DateTime),
        sa.column("stop", sa.DateTime),
    )
    rows = list(zip(keys, starts, stops, strict=True))
    return sa.values(*columns, name="windows").data(rows).cte("windows")
