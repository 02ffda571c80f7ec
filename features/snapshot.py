"""Everything the store knew at a moment: the input of every feature builder.

A :class:`Snapshot` holds the entity tables (advocates, content, org edges) as they are
and the event tables cut at ``as_of``: interactions, share outcomes and account snapshots
observed later are not in it, so nothing built from it can look ahead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from features.data.contract import FEED_TABLES, TABLES
from features.data.event_log import EventLog
from features.data.reader import StoreReader
from features.data.times import utc

logger = logging.getLogger(__name__)

EVENT_TABLES = ("interactions", "share_outcomes", "social_accounts")
_TIME = {"interactions": "timestamp", "share_outcomes": "measured_at", "social_accounts": "as_of"}


@dataclass(frozen=True)
class Snapshot:
    """The feed tables of the contract (``FEED_TABLES``) as known at ``as_of``."""

    as_of: pd.Timestamp
    advocates: pd.DataFrame
    content: pd.DataFrame
    interactions: pd.DataFrame
    share_outcomes: pd.DataFrame
    social_accounts: pd.DataFrame
    org_edges: pd.DataFrame
    #: The highest interaction sequence number read (None: not read from a store); the
    #: interactions are those numbered up to it and observed by ``as_of``.
    events_seq: int | None = None

    @classmethod
    def load(cls, reader: StoreReader, as_of: datetime | pd.Timestamp) -> Snapshot:
        """Read the store as of ``as_of`` (interactions: those stored before the read began)."""
        moment = utc(as_of)
        head = EventLog(reader.store).head()
        tables = {
            name: reader.table(
                name, as_of=moment, stored_through=head if name == "interactions" else None
            )
            for name in FEED_TABLES
        }
        logger.info(
            "snapshot as of %s: %s", moment, {name: len(frame) for name, frame in tables.items()}
        )
        return cls(as_of=moment, events_seq=head, **tables)

    @classmethod
    def from_frames(cls, as_of: datetime | pd.Timestamp | str, **frames: pd.DataFrame) -> Snapshot:
        """A snapshot of in-memory tables (missing ones are empty), cut at ``as_of``."""
        tables = {
            name: frames.get(name, pd.DataFrame(columns=list(TABLES[name].field_names)))
            for name in FEED_TABLES
        }
        return cls(as_of=utc(as_of), **tables).cut(as_of)

    def cut(self, as_of: datetime | pd.Timestamp | str) -> Snapshot:
        """The same snapshot without the events observed after ``as_of``."""
        moment = utc(as_of)
        events = {}
        for name in EVENT_TABLES:
            frame = getattr(self, name)
            times = pd.to_datetime(frame[_TIME[name]], utc=True)
            events[name] = frame.loc[(times <= moment).to_numpy()].reset_index(drop=True)
        return replace(self, as_of=moment, **events)

    @property
    def profiled_advocates(self) -> pd.DataFrame:
        """Advocates who did not opt out: the only ones whose behaviour may be profiled."""
        opted_out = self.advocates["opted_out"].fillna(False).astype(bool).to_numpy()
        return self.advocates.loc[~opted_out].reset_index(drop=True)
