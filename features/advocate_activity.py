"""Advocates' activity read from the store as of a time, for the lapse forecast.

:func:`read_activity` runs one query on ``interactions``: the events with
``since <= timestamp < as_of`` (``since`` = ``as_of`` minus a bounded lookback, default
:data:`LOOKBACK_DAYS`), of advocates who have not opted out (``NOT IN`` the opted-out advocates,
in the query, so an opt-out counts at once). Nothing at or after ``as_of`` is read, so a store
that also holds later rows gives the same log. The persons are the advocates with an event in
that span (sorted ids); the event kinds are always the contract's :data:`EVENT_TYPES`, so the
feature columns (:func:`recsys.forecast.feature_names`) are the same for every store and time.
Tenure and events ever count within the lookback only. :func:`snapshot_activity` gives the same
from a loaded :class:`~features.snapshot.Snapshot` (what ``advocacy train`` reads).

:func:`forecast_lapse` applies a fitted :class:`recsys.forecast.LapseModel` to the advocates
eligible at ``as_of`` (an event in the 60 days before it): P(lapse), the reasons and the feature
values, likeliest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from features.data.contract import EVENT_TYPES
from features.data.reader import fetch_rows
from features.data.schema import CONTRACT_TABLES
from features.data.store import Store
from features.data.times import column_seconds, naive_utc, utc
from features.snapshot import Snapshot
from recsys.forecast import (
    ActivityLog,
    LapseModel,
    eligible,
    feature_names,
    lapse_features,
    reason_text,
)

#: Days of events before ``as_of`` that :func:`read_activity` reads by default (two years:
#: every gap and window feature looks back 90 days at most; tenure and events ever are capped).
LOOKBACK_DAYS = 730.0

_EVENTS = CONTRACT_TABLES["interactions"]
_ADVOCATES = CONTRACT_TABLES["advocates"]


@dataclass(frozen=True)
class AdvocateActivity:
    """The events of ``[since, as_of)`` as an :class:`ActivityLog`; person ``i`` is
    ``employee_ids[i]``. Times are Unix seconds."""

    log: ActivityLog
    employee_ids: tuple[str, ...]
    as_of: float
    since: float


def read_activity(
    store: Store,
    as_of: datetime | pd.Timestamp | str,
    *,
    lookback_days: float = LOOKBACK_DAYS,
) -> AdvocateActivity:
    """The activity of the store's advocates (not opted out) before ``as_of`` (see the module
    docstring)."""
    if not lookback_days > 0:
        raise ValueError(f"lookback_days must be > 0, got {lookback_days}")
    end = utc(as_of)
    start = end - pd.Timedelta(days=float(lookback_days))
    opted_out = sa.select(_ADVOCATES.c.employee_id).where(_ADVOCATES.c.opted_out.is_(True))
    query = sa.select(_EVENTS.c.timestamp, _EVENTS.c.employee_id, _EVENTS.c.event_type).where(
        _EVENTS.c.timestamp >= naive_utc(start),
        _EVENTS.c.timestamp < naive_utc(end),
        _EVENTS.c.employee_id.not_in(opted_out),
    )
    columns = ["timestamp", "employee_id", "event_type"]
    rows = pd.DataFrame.from_records(fetch_rows(store, query), columns=columns)
    seconds = column_seconds(rows["timestamp"].astype(object), format="ISO8601")
    return _activity(seconds, rows["employee_id"], rows["event_type"], end, start)


def snapshot_activity(
    snapshot: Snapshot,
    *,
    lookback_days: float = LOOKBACK_DAYS,
    as_of: datetime | pd.Timestamp | str | None = None,
) -> AdvocateActivity:
    """What :func:`read_activity` reads as of ``as_of`` (default and at most
    ``snapshot.as_of``), from a loaded snapshot (its interactions and advocates, in memory):
    the same events, persons and kinds."""
    if not lookback_days > 0:
        raise ValueError(f"lookback_days must be > 0, got {lookback_days}")
    end = utc(snapshot.as_of if as_of is None else as_of)
    if end > utc(snapshot.as_of):
        raise ValueError(f"as_of {end} is after the snapshot's as_of {snapshot.as_of}")
    start = end - pd.Timedelta(days=float(lookback_days))
    events = snapshot.interactions
    seconds = column_seconds(events["timestamp"])
    advocates = snapshot.advocates
    opted = advocates["opted_out"].fillna(False).astype(bool).to_numpy()
    out = set(advocates.loc[opted, "employee_id"].astype(str))
    keep = (seconds >= start.timestamp()) & (seconds < end.timestamp())
    keep &= ~events["employee_id"].astype(str).isin(out).to_numpy()
    chosen = events.loc[keep]
    return _activity(seconds[keep], chosen["employee_id"], chosen["event_type"], end, start)


def _activity(
    seconds: np.ndarray,
    people: pd.Series,
    kinds: pd.Series,
    end: pd.Timestamp,
    start: pd.Timestamp,
) -> AdvocateActivity:
    """The :class:`AdvocateActivity` of events (Unix seconds, employee ids, event types)."""
    persons, ids = pd.factorize(people.astype(object).to_numpy(), sort=True)
    kind_codes = pd.Index(EVENT_TYPES).get_indexer(kinds.astype(object).to_numpy())
    if (kind_codes < 0).any():
        raise ValueError("interactions.event_type: a stored value is not a contract event type")
    log = ActivityLog.build(
        seconds,
        persons,
        np.asarray(kind_codes, np.int64),
        n_persons=len(ids),
        kind_names=EVENT_TYPES,
    )
    return AdvocateActivity(log, tuple(str(i) for i in ids), end.timestamp(), start.timestamp())


@dataclass(frozen=True)
class LapseRisk:
    """One advocate's forecast: P(no activity in the model's horizon), the reasons
    ``(feature, log-odds contribution)`` and every feature's value."""

    employee_id: str
    probability: float
    reasons: list[tuple[str, float]]
    features: dict[str, float]

    def reason_rows(self) -> list[dict[str, object]]:
        """The reasons as ``{"feature", "contribution", "text"}`` (readable text with the
        advocate's values, :func:`recsys.forecast.reason_text`)."""
        return [
            {"feature": name, "contribution": value, "text": reason_text(name, self.features)}
            for name, value in self.reasons
        ]


def forecast_lapse(model: LapseModel, activity: AdvocateActivity) -> list[LapseRisk]:
    """The forecast of every advocate eligible at ``activity.as_of``, likeliest to lapse first
    (ties by employee id)."""
    names = feature_names(activity.log.kind_names)
    if tuple(model.features) != names:
        raise ValueError(
            f"lapse model: its features {list(model.features)} are not the store's {list(names)}"
        )
    mask = eligible(activity.log, activity.as_of)
    x = lapse_features(activity.log, activity.as_of)[mask]
    ids = [i for i, keep in zip(activity.employee_ids, mask, strict=True) if keep]
    if not ids:
        return []
    p = model.predict_proba(x)
    reasons = model.reasons(x)
    order = sorted(range(len(ids)), key=lambda i: (-p[i], ids[i]))
    return [
        LapseRisk(
            ids[i],
            float(p[i]),
            reasons[i],
            dict(zip(names, map(float, x[i]), strict=True)),
        )
        for i in order
    ]


def at_risk(
    risks: Sequence[LapseRisk], *, top: int | None = None, min_probability: float = 0.0
) -> list[LapseRisk]:
    """The first ``top`` of ``risks`` (likeliest first) with a probability of at least
    ``min_probability``."""
    if not 0.0 <= min_probability <= 1.0:
        raise ValueError(f"min_probability must be in [0, 1], got {min_probability}")
    if top is not None and top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    kept = [r for r in risks if r.probability >= min_probability]
    return kept if top is None else kept[:top]
