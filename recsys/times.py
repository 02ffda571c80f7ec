"""Time, defined once: units, UTC normalisation, Unix seconds, the CLI's time parser, decay.

Conventions of the whole code base: a naive datetime is UTC; an aware one is converted to
UTC; numbers are Unix seconds (float unless said otherwise). Standard library and NumPy only:
the pandas counterparts (timestamps and columns) are in :mod:`features.data.times`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import overload

import numpy as np

#: Seconds in an hour and in a day (floats: divide by them freely).
HOUR: float = 3_600.0
DAY: float = 86_400.0

#: A point in time as the code accepts it: Unix seconds, ISO 8601 text or a datetime (naive
#: means UTC; ``pandas.Timestamp`` is a datetime).
TimeLike = int | float | str | datetime


def to_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive is taken as UTC, aware is converted)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def naive_utc(moment: datetime | date) -> datetime:
    """``moment`` as a naive UTC datetime, as the store holds it (a date is its midnight;
    naive is taken as UTC, aware is converted)."""
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time())
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def epoch_seconds(value: TimeLike | date) -> float:
    """Unix seconds of ``value``: a number is taken as seconds, text is read as ISO 8601, a
    date is its midnight, a naive datetime is UTC."""
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str):
        value = parse_time(value, field="time")
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return to_utc(value).timestamp()


def parse_time(text: str, *, field: str) -> datetime:
    """ISO 8601 ``text`` (a date or a date and time, with ``Z``, an offset or naive = UTC) as
    an aware UTC datetime; a ``ValueError`` naming ``field`` and the text otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{field}: cannot read {text!r} as a date or time (ISO 8601)") from None
    return to_utc(moment)


@overload
def decay(age_seconds: float, half_life_days: float) -> float: ...
@overload
def decay(age_seconds: np.ndarray, half_life_days: float) -> np.ndarray: ...
def decay(age_seconds, half_life_days):
    """Weight of something ``age_seconds`` old with a half-life of ``half_life_days``:
    ``0.5 ** (age / (half_life_days * DAY))``, computed as ``exp2(-age / ...)`` in float64
    (element-wise on arrays; 1 at age 0, 0.5 at one half-life)."""
    return np.exp2(-np.asarray(age_seconds, np.float64) / (half_life_days * DAY))
