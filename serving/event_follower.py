"""Every process applies every stored event: it follows the store's event log.

Events are written to the store first, whichever process (or ``advocacy data import``)
received them, and numbered there (:mod:`features.data.event_log`). Each serving process
reads the events numbered above its cursor every ``ADVOCACY_EVENT_FOLLOW`` seconds and
applies those it has not applied yet (its own are applied when stored); a model being
loaded is first given every stored event it was not trained on (:meth:`EventFollower.replay`),
so a restarted process rebuilds its live state from the model and the store, and applies
no event twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from features.data.event_log import EventLog
from features.data.times import utc
from recsys.feed import FeedRanker
from serving import metrics
from serving.events import NewEvents
from serving.state import StateHolder, applied

logger = logging.getLogger(__name__)

#: Events read per query.
BATCH = 5000


@dataclass(frozen=True)
class ModelCut:
    """Which stored events a saved model was trained on: those observed by ``as_of`` and
    numbered up to ``events_seq``. Unknown parts (None) mean: take the model as it is."""

    as_of: datetime | None = None
    events_seq: int | None = None

    @classmethod
    def of(cls, folder: Path) -> ModelCut:
        """The cut recorded in ``folder/feature_spec.json`` by training (none: empty)."""
        spec = Path(folder) / "feature_spec.json"
        if not spec.is_file():
            return cls()
        recorded = json.loads(spec.read_text())
        as_of, seq = recorded.get("as_of"), recorded.get("events_seq")
        return cls(None if as_of is None else utc(as_of), None if seq is None else int(seq))


class EventFollower:
    """Reads the event log for one :class:`~serving.state.StateHolder`."""

    def __init__(self, log: EventLog, holder: StateHolder, batch: int = BATCH) -> None:
        self.log = log
        self.holder = holder
        self.batch = batch

    def follow(self) -> int:
        """Apply the stored events numbered above the holder's cursor; returns how many
        were read. Nothing is read while no model is live (its load replays the store)."""
        read = 0
        while self.holder.state is not None:
            frame = self.log.after(self.holder.cursor, limit=self.batch)
            if frame.empty:
                break
            events = NewEvents.from_frame(frame)
            self.holder.apply(events)
            self.holder.advance(int(events.seqs[-1]))
            read += len(events)
            if len(frame) < self.batch:
                break
        if read:
            metrics.events_followed(read)
        return read

    def replay(self, ranker: FeedRanker, cut: ModelCut) -> tuple[FeedRanker, int, int]:
        """``ranker`` (not live yet) given every stored event its model was not trained on,
        in the order stored.

        Returns the ranker, the number it holds every stored event up to (for
        :meth:`StateHolder.swap`) and the count of events replayed. A cut without either
        part replays nothing (the model is taken as it is, as of the current head).
        """
        head = self.log.head()
        after, count = 0, 0
        if cut.events_seq is None and cut.as_of is None:
            after = head
        elif cut.as_of is None:
            after = cut.events_seq or 0
        while after < head:
            frame = self.log.after(
                after, limit=self.batch, through=head, unseen_by=(cut.events_seq, cut.as_of)
            )
            if frame.empty:
                break
            events = NewEvents.from_frame(frame)
            ranker = applied(ranker, events)
            after = int(events.seqs[-1])
            count += len(events)
        logger.info("replayed %d stored events onto the model (through #%d)", count, head)
        return ranker, head, count
