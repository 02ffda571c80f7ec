"""Conversion paths read from the store: which shares' links a visitor clicked before a
conversion, and which clicks led to none.

A conversion's path is its visitor's link clicks within ``lookback`` before it (the click
at the conversion's own second included); a conversion without any such click is
*unattributed*. A click may lie on the paths of several conversions of the same visitor.
Clicks on no conversion's path form the *non-converting* paths that data-driven
attribution models learn from: a visitor's remaining clicks, split where two clicks lie
more than ``lookback`` apart; such a path ends ``lookback`` after its last click, or at
the end of the period if that comes first (a path cut by the period's end may still
convert later: it is censored).

Every touch carries the codes of its share, advocate, content, network, department and
content type, so credit can be rolled up to any of them. Conversions are those with
``start <= timestamp < end``; clicks are read from ``start - lookback``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from features.data.reader import fetch_rows
from features.data.schema import CONTRACT_TABLES
from features.data.store import Store
from features.data.times import naive_utc, whole_seconds

logger = logging.getLogger(__name__)
_ISO = "ISO8601"

DEFAULT_LOOKBACK = timedelta(days=30)
ATTRIBUTES = ("share", "advocate", "content", "network", "department", "content_type")
"""What each touch is coded by (the units credit rolls up to)."""

_MISSING = "(none)"


@dataclass(frozen=True)
class Codes:
    """Integer codes per click and the label of each code."""

    codes: np.ndarray  # int64 per click
    labels: np.ndarray  # object (str) per code

    def of(self, touches: np.ndarray) -> np.ndarray:
        """The codes of the clicks at ``touches``."""
        return self.codes[touches]


@dataclass(frozen=True)
class ClickPaths:
    """Conversion and non-converting paths in CSR layout over the period's clicks.

    Path ``p``'s touches are ``touch[indptr[p]:indptr[p + 1]]``, indices into the click
    arrays (``click_time`` and each attribute's codes), in time order. Converting paths
    come first, one per attributed conversion.
    """

    indptr: np.ndarray  # int64, n_paths + 1
    touch: np.ndarray  # int64 per touch: the click
    click_time: np.ndarray  # int64 Unix seconds per click
    attributes: dict[str, Codes]
    end_time: np.ndarray  # int64 per path: conversion time, or the end of observation
    converted: np.ndarray  # bool per path
    conversion_id: np.ndarray  # object per path (None for non-converting)
    value: np.ndarray  # float64 per path (nan: no value)
    currency: np.ndarray  # object per path (None: no value)
    conversions: int  # conversions in the period, attributed or not
    unattributed: int  # conversions in the period without a click in the lookback
    lookback_seconds: int

    @property
    def n_paths(self) -> int:
        return len(self.indptr) - 1

    @property
    def n_converting(self) -> int:
        return int(self.converted.sum())

    def touch_codes(self, attribute: str) -> np.ndarray:
        """The ``attribute`` code of every touch (e.g. the advocate who shared the link)."""
        if attribute not in self.attributes:
            raise KeyError(f"attribute: {attribute!r} is not one of {', '.join(ATTRIBUTES)}")
        return self.attributes[attribute].of(self.touch)

    def path_of_touch(self) -> np.ndarray:
        """The path index of every touch."""
        return np.repeat(np.arange(self.n_paths), np.diff(self.indptr))


def read_click_paths(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    lookback: timedelta = DEFAULT_LOOKBACK,
) -> ClickPaths:
    """The paths of the conversions in ``[start, end)`` and the clicks that led to none."""
    if end <= start:
        raise ValueError(f"end: must be later than start ({start.isoformat()})")
    if lookback <= timedelta(0):
        raise ValueError(f"lookback: must be positive, got {lookback}")
    since, until = naive_utc(start) - lookback, naive_utc(end)
    clicks = _clicks(store, since, until)
    shares = _share_attributes(store, since, until)
    conversions = _conversions(store, naive_utc(start), naive_utc(end))
    paths = _paths(
        clicks, conversions, int(lookback.total_seconds()), whole_seconds([end], format=_ISO)[0]
    )
    return replace(paths, attributes=_attributes(paths.attributes["share"], shares))


def click_data_fingerprint(store: Store) -> str:
    """Rows and latest times of the clicks and conversions: it changes when they do (shares
    never change, and a new share matters to attribution only once it is clicked)."""
    parts = []
    for name, column in (("link_clicks", "timestamp"), ("conversions", "timestamp")):
        table = CONTRACT_TABLES[name]
        query = sa.select(sa.func.count(), sa.func.max(table.c[column]))
        with store.engine.connect() as conn:
            count, latest = conn.execute(query).one()
        parts.append(f"{name}:{count}:{latest}")
    return ";".join(parts)


def _clicks(store: Store, since: datetime, until: datetime) -> pd.DataFrame:
    """The clicks of ``[since, until)``: visitor, time (Unix s) and share."""
    clicks = CONTRACT_TABLES["link_clicks"]
    query = sa.select(clicks.c.visitor_id, clicks.c.timestamp, clicks.c.share_event_id).where(
        clicks.c.timestamp >= since, clicks.c.timestamp < until
    )
    frame = pd.DataFrame.from_records(
        fetch_rows(store, query), columns=["visitor", "time", "share"]
    )
    frame["time"] = whole_seconds(frame["time"], format=_ISO)  # naive UTC or SQLite text
    return frame


def _share_attributes(store: Store, since: datetime, until: datetime) -> pd.DataFrame:
    """Advocate, content, network, department and content type of the shares clicked in
    ``[since, until)``, by share event id (read once per share, not once per click)."""
    clicks, events = CONTRACT_TABLES["link_clicks"], CONTRACT_TABLES["interactions"]
    advocates, content = CONTRACT_TABLES["advocates"], CONTRACT_TABLES["content"]
    clicked = (
        sa.select(clicks.c.share_event_id)
        .where(clicks.c.timestamp >= since, clicks.c.timestamp < until)
        .distinct()
    )
    query = (
        sa.select(
            events.c.event_id,
            events.c.employee_id,
            events.c.content_id,
            events.c.network,
            advocates.c.department,
            content.c.content_type,
        )
        .join(advocates, advocates.c.employee_id == events.c.employee_id)
        .join(content, content.c.content_id == events.c.content_id)
        .where(events.c.event_id.in_(clicked))
    )
    frame = pd.DataFrame.from_records(fetch_rows(store, query), columns=list(ATTRIBUTES))
    return frame.set_index("share")


def _conversions(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    table = CONTRACT_TABLES["conversions"]
    query = sa.select(
        table.c.conversion_id, table.c.visitor_id, table.c.timestamp, table.c.value,
        table.c.currency,
    ).where(table.c.timestamp >= start, table.c.timestamp < end)  # fmt: skip
    columns = ["conversion_id", "visitor", "time", "value", "currency"]
    frame = pd.DataFrame.from_records(fetch_rows(store, query), columns=columns)
    frame["time"] = whole_seconds(frame["time"], format=_ISO)  # naive UTC or SQLite text
    frame["value"] = pd.to_numeric(frame["value"]).astype("float64")
    currency = frame["currency"].astype(object)
    frame["currency"] = currency.where(currency.notna(), None)
    return frame


def _paths(clicks: pd.DataFrame, conversions: pd.DataFrame, lookback: int, end: int) -> ClickPaths:
    visitors = pd.concat([clicks["visitor"], conversions["visitor"]], ignore_index=True)
    visitor_code = pd.factorize(visitors)[0].astype(np.int64)
    click_visitor = visitor_code[: len(clicks)]
    order = np.lexsort((clicks["time"].to_numpy(), click_visitor))
    clicks = clicks.iloc[order].reset_index(drop=True)
    click_visitor = click_visitor[order]
    click_time = clicks["time"].to_numpy(np.int64)
    conversion_visitor = visitor_code[len(order) :]
    conversion_time = conversions["time"].to_numpy(np.int64)

    base = int(min(click_time.min(initial=0), conversion_time.min(initial=0))) - lookback
    key = _key(click_visitor, click_time, base)
    lo = np.searchsorted(key, _key(conversion_visitor, conversion_time - lookback, base), "left")
    hi = np.searchsorted(key, _key(conversion_visitor, conversion_time, base), "right")
    attributed = hi > lo
    touch = _ranges(lo[attributed], hi[attributed])
    on_path = np.zeros(len(clicks), dtype=bool)
    on_path[touch] = True
    open_indptr, open_touch, open_end = _open_paths(
        np.flatnonzero(~on_path), click_visitor, click_time, lookback, end
    )
    n_conv = int(attributed.sum())
    lengths = np.concatenate([hi[attributed] - lo[attributed], np.diff(open_indptr)])
    converted_rows = conversions.loc[attributed]
    n_open = len(open_end)
    logger.info(
        "%d conversions (%d unattributed), %d non-converting paths, %d clicks",
        len(conversions), int((~attributed).sum()), n_open, len(clicks),
    )  # fmt: skip
    return ClickPaths(
        indptr=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        touch=np.concatenate([touch, open_touch]).astype(np.int64),
        click_time=click_time,
        attributes={"share": _codes(clicks["share"])},
        end_time=np.concatenate([conversion_time[attributed], open_end]).astype(np.int64),
        converted=np.concatenate([np.ones(n_conv, bool), np.zeros(n_open, bool)]),
        conversion_id=np.concatenate(
            [converted_rows["conversion_id"].to_numpy(object), np.full(n_open, None, object)]
        ),
        value=np.concatenate(
            [converted_rows["value"].to_numpy(np.float64), np.full(n_open, np.nan)]
        ),
        currency=np.concatenate(
            [converted_rows["currency"].to_numpy(object), np.full(n_open, None, object)]
        ),
        conversions=len(conversions),
        unattributed=int((~attributed).sum()),
        lookback_seconds=lookback,
    )


def _key(visitor: np.ndarray, time: np.ndarray, base: int) -> np.ndarray:
    """One sortable int64 per (visitor, time): visitors in the high bits."""
    return (visitor.astype(np.int64) << 33) + (np.asarray(time, np.int64) - base)


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(lo[i], hi[i])`` for every i."""
    lengths = hi - lo
    if not lengths.sum():
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return starts + np.arange(lengths.sum())


def _open_paths(
    rest: np.ndarray, visitor: np.ndarray, time: np.ndarray, lookback: int, end: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-converting paths over the clicks ``rest`` (sorted by visitor, then time)."""
    if not len(rest):
        return np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    v, t = visitor[rest], time[rest]
    new = np.ones(len(rest), dtype=bool)
    new[1:] = (v[1:] != v[:-1]) | (t[1:] - t[:-1] > lookback)
    starts = np.flatnonzero(new)
    indptr = np.concatenate([starts, [len(rest)]]).astype(np.int64)
    last = t[indptr[1:] - 1]
    return indptr, rest, np.minimum(last + lookback, max(end, int(last.max())))


def _attributes(share: Codes, shares: pd.DataFrame) -> dict[str, Codes]:
    """Every attribute's codes per click, through the click's share."""
    attributes = {"share": share}
    for name in ATTRIBUTES[1:]:
        per_share = _codes(shares[name].reindex(share.labels))
        attributes[name] = Codes(per_share.codes[share.codes], per_share.labels)
    return attributes


def _codes(values: pd.Series) -> Codes:
    codes, labels = pd.factorize(values.fillna(_MISSING), sort=True)
    return Codes(codes.astype(np.int64), np.asarray(labels, dtype=object))
