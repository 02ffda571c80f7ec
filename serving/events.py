"""Events from front ends: validated by the data contract, stored once, handed to the model.

The contract's own row validation (:func:`features.data.validation.validate_chunk`, the
one the importers use) checks each event; references are checked against the store with
one query per referenced table; an event whose ``event_id`` is already stored (or repeated
earlier in the same request) is a duplicate: accepted, not stored again, not applied again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from features.data.contract import INTERACTIONS
from features.data.schema import CONTRACT_TABLES, event_sequence
from features.data.store import Store
from features.data.times import column_seconds
from features.data.validation import Rejection, RejectionReason, ValidationContext, validate_chunk
from serving.schemas import EventIn

logger = logging.getLogger(__name__)

SOURCE = "request"
_REFERENCES = {"employee_id": ("advocates", "advocate"), "content_id": ("content", "content item")}


@dataclass(frozen=True)
class NewEvents:
    """Stored events as parallel lists (what ``observe`` takes) with their sequence numbers
    in the store (:mod:`features.data.event_log`)."""

    employee_ids: list[str]
    content_ids: list[str]
    event_types: list[str]
    networks: list[str | None]
    times: np.ndarray  # unix seconds
    seqs: np.ndarray  # int64, the store's numbers

    def __len__(self) -> int:
        return len(self.employee_ids)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> NewEvents:
        """Events from interaction rows with a ``seq`` column (in the frame's order)."""
        networks = [None if pd.isna(n) else str(n) for n in frame["network"]]
        return cls(
            frame["employee_id"].astype(str).tolist(),
            frame["content_id"].astype(str).tolist(),
            frame["event_type"].astype(str).tolist(),
            networks,
            column_seconds(frame["timestamp"]),
            frame["seq"].to_numpy(np.int64),
        )

    def take(self, keep: np.ndarray) -> NewEvents:
        """The events at the positions ``keep`` (indices or a mask)."""
        rows = np.arange(len(self))[keep]
        return NewEvents(
            [self.employee_ids[i] for i in rows],
            [self.content_ids[i] for i in rows],
            [self.event_types[i] for i in rows],
            [self.networks[i] for i in rows],
            self.times[rows],
            self.seqs[rows],
        )

    def numbered_after(self, seq: int) -> NewEvents:
        """The events numbered above ``seq``."""
        keep = self.seqs > seq
        return self if keep.all() else self.take(keep)

    def without(self, cursor: int, seen: set[int]) -> NewEvents:
        """The events numbered above ``cursor`` and not in ``seen``."""
        keep = self.seqs > cursor
        if seen:
            keep &= ~np.isin(self.seqs, np.fromiter(seen, np.int64, len(seen)))
        return self if keep.all() else self.take(keep)


@dataclass
class EventsResult:
    received: int
    event_ids: list[str] = field(default_factory=list)
    accepted: int = 0
    stored: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    new: NewEvents | None = None
    new_share_ids: list[str] = field(default_factory=list)  # shares stored for the first time

    @property
    def rejected(self) -> int:
        return len({r.row for r in self.rejections})


class EventRecorder:
    """Validate and store events; one recorder (and its lock) per service process."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        future_tolerance: timedelta = timedelta(hours=1),
    ) -> None:
        self.store = store
        self.clock = clock
        self.future_tolerance = future_tolerance
        self._lock = threading.Lock()

    def record(self, events: Sequence[EventIn]) -> EventsResult:
        """Validate ``events``, check their references and store the new ones.

        The new events are written in one transaction: a store that fails (down, restarting,
        a timeout) raises before anything is counted, and none of them is stored; the
        caller answers 503 and the same request can be sent again.
        """
        now = self.clock()
        frame = _frame(events, now)
        context = ValidationContext(now=now, future_tolerance=self.future_tolerance)
        validated = validate_chunk(INTERACTIONS, frame, file=SOURCE, first_row=0, context=context)
        valid = validated.frame
        result = EventsResult(
            received=len(events),
            event_ids=[e.event_id for e in events],
            rejections=list(validated.rejections),
        )
        with self._lock:  # check-then-write: one request at a time per process
            valid, unknown = self._check_references(valid)
            result.rejections += unknown
            result.accepted = len(valid)
            first = ~valid["event_id"].duplicated(keep="first").to_numpy()
            stored = self._stored_ids(valid["event_id"].tolist())
            new = valid.loc[first & ~valid["event_id"].isin(stored).to_numpy()]
            self.store.write_frame(INTERACTIONS.name, new)
            numbered = new.assign(seq=self._numbers(new["event_id"].tolist()))
        result.stored = len(new)
        result.duplicates = result.accepted - result.stored
        result.rejections.sort(key=lambda r: (r.row, r.field))
        result.new = NewEvents.from_frame(numbered)
        result.new_share_ids = new.loc[new["event_type"] == "share", "event_id"].tolist()
        return result

    def _check_references(self, valid: pd.DataFrame) -> tuple[pd.DataFrame, list[Rejection]]:
        rejections: list[Rejection] = []
        bad = np.zeros(len(valid), dtype=bool)
        for column, (table, what) in _REFERENCES.items():
            target = CONTRACT_TABLES[table].c[column]
            wanted = sorted(set(valid[column]))
            known = self.store.key_set(table, column, where=target.in_(wanted)) if wanted else set()
            unknown = ~valid[column].isin(known).to_numpy() & ~bad
            for row, value in zip(valid.index[unknown], valid[column][unknown], strict=True):
                message = f"no {what} with this id in the store"
                rejections.append(
                    Rejection(
                        SOURCE,
                        INTERACTIONS.name,
                        int(row),
                        column,
                        RejectionReason.UNKNOWN_FOREIGN_KEY,
                        str(value),
                        message,
                    )
                )
            bad |= unknown
        return valid.loc[~bad], rejections

    def _numbers(self, event_ids: list[str]) -> list[int]:
        """The sequence numbers the store gave ``event_ids`` (just written), in order."""
        if not event_ids:
            return []
        table = CONTRACT_TABLES[INTERACTIONS.name]
        seq = event_sequence(self.store.dialect)
        query = sa.select(table.c.event_id, seq).where(table.c.event_id.in_(event_ids))
        with self.store.engine.connect() as conn:
            numbers = {event_id: seq for event_id, seq in conn.execute(query)}
        return [int(numbers[event_id]) for event_id in event_ids]

    def _stored_ids(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        column = CONTRACT_TABLES[INTERACTIONS.name].c["event_id"]
        found: set[str] = set()
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            found |= self.store.key_set(INTERACTIONS.name, "event_id", where=column.in_(chunk))
        return found


def _frame(events: Sequence[EventIn], now: datetime) -> pd.DataFrame:
    """The events as the text columns the contract validation reads."""
    stamp = now.isoformat()
    rows = [
        {
            "event_id": e.event_id,
            "employee_id": e.employee_id,
            "content_id": e.content_id,
            "event_type": e.event_type,
            "network": e.network,
            "timestamp": e.timestamp if e.timestamp is not None else stamp,
            "value": None if e.value is None else repr(float(e.value)),
        }
        for e in events
    ]
    return pd.DataFrame(rows, columns=list(INTERACTIONS.field_names), dtype=object)
