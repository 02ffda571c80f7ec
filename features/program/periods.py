"""Report periods, their time buckets, and the SQL that puts a stored time in its bucket.

Times are UTC: a naive datetime is taken as UTC, an aware one is converted, and the store
holds naive UTC. A period is ``[start, end)``.

Buckets: ``day`` (00:00 UTC), ``week`` (ISO weeks, Monday 00:00 UTC) and ``month`` (the 1st,
00:00 UTC). A bucket is keyed by the date it starts on; its *span* is the bucket clipped to
the period, so the first and last bucket may be partial. Without a time grain the one span
is the whole period.

The previous period of ``[start, end)`` is ``[start - L, end - L)`` with ``L = end - start``.
A :class:`Window` with ``shift = L`` reads each stored time ``t`` as ``t + L`` and buckets it
with the current period's buckets, so a bucket's previous figures cover its own span moved
back by ``L`` (a 28-day report by week compares each week with the week four weeks earlier).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

GRAINS = ("day", "week", "month")
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

_SQLITE_MODIFIERS: dict[str, tuple[str, ...]] = {
    "day": (),
    "week": ("weekday 0", "-6 days"),  # the next Sunday (or the day itself), back to Monday
    "month": ("start of month",),
}


@dataclass(frozen=True)
class Window:
    """A period in report time; stored times ``t`` are read as ``t + shift``."""

    start: datetime
    end: datetime
    shift: timedelta = timedelta(0)

    @property
    def low(self) -> datetime:
        """The first stored time inside the window."""
        return self.start - self.shift

    @property
    def high(self) -> datetime:
        """The first stored time after the window."""
        return self.end - self.shift

    def previous(self) -> Window:
        """The same period read from the stretch of equal length just before it."""
        return Window(self.start, self.end, self.shift + (self.end - self.start))


def _floor(moment: datetime, grain: str) -> date:
    day = moment.date()
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _next(bucket: date, grain: str) -> date:
    if grain == "day":
        return bucket + DAY
    if grain == "week":
        return bucket + WEEK
    return (bucket.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class Buckets:
    """The buckets of a period: their keys (start dates) and spans (clipped to the period).

    Without a grain there is one bucket, keyed None, spanning the whole period.
    """

    grain: str | None
    keys: tuple[date | None, ...]
    spans: tuple[tuple[datetime, datetime], ...]

    @classmethod
    def of(cls, start: datetime, end: datetime, grain: str | None) -> Buckets:
        if grain is None:
            return cls(None, (None,), ((start, end),))
        keys: list[date] = []
        spans: list[tuple[datetime, datetime]] = []
        bucket = _floor(start, grain)
        while datetime.combine(bucket, time()) < end:
            following = _next(bucket, grain)
            spans.append((max(start, datetime.combine(bucket, time())), min(end, _at(following))))
            keys.append(bucket)
            bucket = following
        return cls(grain, tuple(keys), tuple(spans))

    def index(self, key: date | None) -> int:
        """The position of the bucket holding date ``key``; dates outside the period clip to
        the first/last bucket (None: the first)."""
        if key is None or self.grain is None:
            return 0
        return min(max(bisect_right(self.keys, key) - 1, 0), len(self.keys) - 1)

    def weeks(self, position: int) -> float:
        """The length of a bucket's span in weeks."""
        low, high = self.spans[position]
        return (high - low) / WEEK


def _at(day: date) -> datetime:
    return datetime.combine(day, time())


def bucket_of(column: sa.ColumnElement, grain: str, shift: timedelta, dialect: str) -> sa.Label:
    """SQL: the start date of the ``grain`` bucket of ``column + shift``, labelled ``grain``."""
    if dialect == "sqlite":
        modifiers: Sequence[str] = _SQLITE_MODIFIERS[grain]
        if shift:
            modifiers = (f"+{shift.total_seconds():.6f} seconds", *modifiers)
        return sa.func.date(column, *modifiers, type_=sa.Date).label(grain)
    shifted = column + sa.literal(shift, sa.Interval) if shift else column
    truncated = sa.func.date_trunc(grain, shifted, type_=sa.DateTime)
    return sa.cast(truncated, sa.Date).label(grain)
