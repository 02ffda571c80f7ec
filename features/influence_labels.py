"""Influence labels: who was in the organisation's top decile of engagement per share in the
next period ``(T, T + horizon]``.

For each advocate who did not opt out: the shares they made in ``(T, end]`` and, for each, the
latest outcome measured at or before ``end``; engagement = reactions + comments + reshares (a
missing count is 0). ``engagement_per_share`` is the mean over those shares. Advocates with
fewer than ``min_shares`` measured shares in the window have no label (NaN: they did not
share, which says nothing about their influence). Among the labelled, ``label`` is 1 for the
top ``1 - quantile`` (default the top decile: engagement per share at or above the 90th
percentile, and above 0).

Nothing at or before T is used: a share made before T does not count even when it is
measured after T (its earlier measurements are features), so features as of T and labels
never share an event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from features.builder import profiled_rows
from features.data.times import utc
from features.snapshot import Snapshot

logger = logging.getLogger(__name__)

ENGAGEMENT = ("reactions", "comments", "reshares")


@dataclass(frozen=True)
class InfluenceLabels:
    """Labels of one window; arrays are aligned with ``ids``."""

    ids: np.ndarray
    start: pd.Timestamp
    end: pd.Timestamp
    shares: np.ndarray
    engagement_per_share: np.ndarray
    threshold: float
    labels: np.ndarray  # 1.0, 0.0 or NaN (no outcome)

    @property
    def labelled(self) -> int:
        return int((~np.isnan(self.labels)).sum())

    @property
    def positives(self) -> int:
        return int(np.nansum(self.labels))

    def summary(self) -> dict[str, object]:
        return {
            "label_start": self.start.isoformat(),
            "label_end": self.end.isoformat(),
            "labelled": self.labelled,
            "positives": self.positives,
            "top_decile_engagement_per_share": round(float(self.threshold), 4),
        }


def influence_labels(
    snapshot: Snapshot,
    start: datetime | pd.Timestamp | str,
    end: datetime | pd.Timestamp | str | None = None,
    *,
    ids: Sequence[str] | None = None,
    quantile: float = 0.9,
    min_shares: int = 1,
) -> InfluenceLabels:
    """Labels from ``(start, end]`` (``end`` defaults to the snapshot's ``as_of``)."""
    begin, finish = utc(start), utc(end if end is not None else snapshot.as_of)
    if not begin < finish:
        raise ValueError(f"label window: start {begin} must be before end {finish}")
    if snapshot.as_of < finish:
        raise ValueError(
            f"label window ends {finish} but the snapshot stops at {snapshot.as_of}: labels would"
            " miss outcomes"
        )
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    people = profiled_rows(snapshot, ids)["employee_id"].astype(str).to_numpy(dtype=object)
    per_share = _window_shares(snapshot, begin, finish)
    grouped = per_share.groupby("employee_id")["engagement"].agg(["count", "mean"])
    grouped = grouped.reindex(pd.Index(people, name="employee_id"))
    shares = grouped["count"].fillna(0).to_numpy(float)
    eps = grouped["mean"].fillna(0.0).to_numpy(float)
    known = shares >= max(min_shares, 1)
    threshold = float(np.quantile(eps[known], quantile)) if known.any() else 0.0
    labels = np.where(known, ((eps >= threshold) & (eps > 0)).astype(float), np.nan)
    result = InfluenceLabels(people, begin, finish, shares, eps, threshold, labels)
    logger.info("influence labels %s", result.summary())
    return result


def _window_shares(snapshot: Snapshot, begin: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """One row per share made in ``(begin, end]`` with its latest outcome by ``end``."""
    events = snapshot.interactions
    times = pd.to_datetime(events["timestamp"], utc=True)
    window = ((events["event_type"] == "share") & (times > begin) & (times <= end)).to_numpy()
    shares = events.loc[window, ["event_id", "employee_id"]].astype(str)
    outcomes = snapshot.share_outcomes
    measured = pd.to_datetime(outcomes["measured_at"], utc=True)
    outcomes = outcomes.loc[(measured <= end).to_numpy()].assign(_t=measured)
    outcomes = outcomes.sort_values("_t", kind="stable").drop_duplicates("event_id", keep="last")
    engagement = sum(
        pd.to_numeric(outcomes[c], errors="coerce").fillna(0).to_numpy(float) for c in ENGAGEMENT
    )
    scored = pd.DataFrame(
        {"event_id": outcomes["event_id"].astype(str).to_numpy(), "engagement": engagement}
    )
    return shares.merge(scored, on="event_id", how="inner")
