"""Time with pandas: UTC timestamps and Unix seconds of columns, on :mod:`recsys.times`'s
conventions (naive means UTC, aware is converted, seconds since the Unix epoch)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from recsys import times

_EPOCH = pd.Timestamp(0, tz="UTC")


def utc(moment: datetime | pd.Timestamp | str) -> pd.Timestamp:
    """A UTC-aware timestamp (naive input is taken as UTC)."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def naive_utc(moment: datetime | pd.Timestamp | str) -> datetime:
    """``moment`` as the naive UTC datetime the store holds (naive input is taken as UTC)."""
    return times.naive_utc(utc(moment).to_pydatetime())


def column_seconds(values: object, *, format: str | None = None) -> np.ndarray:
    """Unix seconds (float64, NaN where missing) of a column of times: datetimes, timestamps
    or text, read by ``pd.to_datetime(values, utc=True, format=format)`` (naive is UTC)."""
    delta = pd.to_datetime(values, utc=True, format=format) - _EPOCH
    seconds = delta.dt.total_seconds() if isinstance(delta, pd.Series) else delta.total_seconds()
    return np.asarray(seconds, dtype=np.float64)


def whole_seconds(values: object, *, format: str | None = None) -> np.ndarray:
    """Whole Unix seconds (int64, rounded down) of a column of times without missing values,
    read as :func:`column_seconds` reads them."""
    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format=format)
    return (stamps.astype("datetime64[ns, UTC]").astype("int64") // 10**9).to_numpy(np.int64)
