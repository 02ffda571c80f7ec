"""The live state of the service: one immutable reference, swapped atomically.

:class:`LiveState` bundles what a request reads (the :class:`~recsys.feed.FeedRanker`
with its model, catalogue and audience, the model version, refresh times). Requests read
``holder.state`` once and use that object to the end, so a swap never changes the state
under a request.

Mutations are short and happen under ``holder.lock``, which request handlers also hold
while they rank (on the event loop: uncontended, it costs nothing):

- live events (the process's own as soon as they are stored, every process's from the
  store's event log, :mod:`serving.event_follower`), each applied once: ``model.observe``
  in place, and shares/dismissals added to the audience (a new ranker over a new audience);
- content added to the catalogue: ``model.add_items`` in place with features prepared
  outside the lock, then a new ranker over the new catalogue;
- a new champion: loaded, aligned, given the new content and the stored events it was not
  trained on *outside* the lock; inside it only the events applied meanwhile are replayed
  onto it (from the :class:`EventJournal`) and the reference is replaced.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from features.sharing_history import DEFAULT_EVENT_WEIGHTS
from recsys.feed import FeedRanker
from recsys.feed_arrays import FeedAudience
from serving.events import NewEvents
from serving.model_source import ModelVersion

logger = logging.getLogger(__name__)

#: Weight of each event type in ``observe`` (the sharing-history weights; impressions and
#: dismissals are not engagement and are not observed).
EVENT_WEIGHTS: dict[str, float] = dict(DEFAULT_EVENT_WEIGHTS)
JOURNAL_SECONDS = 3600.0


@dataclass(frozen=True)
class LiveState:
    """Everything a request reads, as of one model and one catalogue refresh."""

    ranker: FeedRanker
    model_version: ModelVersion
    model_loaded_at: datetime
    catalogue_digest: str
    catalogue_refreshed_at: datetime
    catalogue_probe: str = ""  # the store's fingerprint when the catalogue was read

    @property
    def live_items(self) -> int:
        return len(self.ranker.catalogue)


@dataclass(frozen=True)
class InfluencerState:
    scorer: object  # recsys.influence InfluenceScorer
    version: ModelVersion
    loaded_at: datetime


@dataclass(frozen=True)
class ForecastState:
    """A loaded forecast model (:mod:`serving.forecasts`)."""

    model: object
    version: ModelVersion
    loaded_at: datetime


class EventJournal:
    """Recently applied events, numbered by batch: replayed onto a state being built.

    A model being swapped in gets the events numbered above what it replayed from the
    store (:meth:`stored_after`); a catalogue refresh gets the shares and dismissals
    applied since it started (:meth:`since`, by batch position).
    """

    def __init__(self, keep_seconds: float = JOURNAL_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self._entries: deque[tuple[int, float, NewEvents]] = deque()
        self._next = 0

    @property
    def position(self) -> int:
        """The position the next batch will get."""
        return self._next

    def append(self, events: NewEvents) -> None:
        now = time.monotonic()
        self._entries.append((self._next, now, events))
        self._next += 1
        while self._entries and now - self._entries[0][1] > self.keep_seconds:
            self._entries.popleft()

    def since(self, position: int) -> list[NewEvents]:
        """Batches appended at or after ``position`` (still kept)."""
        return [events for index, _, events in self._entries if index >= position]

    def stored_after(self, seq: int) -> list[NewEvents]:
        """The kept events whose sequence number is above ``seq``, in the order applied."""
        batches = (events.numbered_after(seq) for _, _, events in self._entries)
        return [events for events in batches if len(events)]


class StateHolder:
    """The current :class:`LiveState` (and influencer scorer) and the lock for mutations.

    Events are applied to the state exactly once: every stored event numbered up to
    ``cursor`` is in it, and so are those above it listed in ``ahead`` (a process's own
    events, applied as soon as they are stored; the follower skips them).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.journal = EventJournal()
        self._state: LiveState | None = None
        self._influencer: InfluencerState | None = None
        self._forecasts: dict[str, ForecastState] = {}
        self.last_error: str | None = None
        self.cursor = 0
        self.ahead: set[int] = set()
        self.applied = 0  # events applied since start (all types)

    @property
    def state(self) -> LiveState | None:
        return self._state

    @property
    def influencer(self) -> InfluencerState | None:
        return self._influencer

    def forecast(self, key: str) -> ForecastState | None:
        """The loaded forecast model ``key`` of :data:`serving.forecasts.SERVED_FORECASTS`."""
        return self._forecasts.get(key)

    def swap(self, state: LiveState, *, replayed_through: int | None = None) -> None:
        """Make ``state`` current. With ``replayed_through`` (``state`` holds every stored
        event up to that number), first apply the journal's events above it."""
        with self.lock:
            if replayed_through is not None:
                for events in self.journal.stored_after(replayed_through):
                    state = dataclasses.replace(state, ranker=applied(state.ranker, events))
                self.advance(replayed_through)
            self._state = state

    def set_influencer(self, influencer: InfluencerState) -> None:
        self._influencer = influencer

    def set_forecast(self, key: str, forecast: ForecastState) -> None:
        self._forecasts = {**self._forecasts, key: forecast}  # readers see one dict or the next

    def apply(self, events: NewEvents) -> int:
        """Apply stored events not applied yet; returns how many of them the model observed.

        Without a state nothing is applied: loading a model replays the store.
        """
        if not len(events):
            return 0
        with self.lock:
            state = self._state
            if state is None:
                return 0
            fresh = events.without(self.cursor, self.ahead)
            if not len(fresh):
                return 0
            self.ahead.update(fresh.seqs.tolist())
            self.journal.append(fresh)
            self.applied += len(fresh)
            ranker = applied(state.ranker, fresh)
            if ranker is not state.ranker:
                self._state = dataclasses.replace(state, ranker=ranker)
            return engagements(fresh)

    def advance(self, through: int) -> None:
        """Every stored event numbered up to ``through`` has been applied (or skipped)."""
        with self.lock:
            if through > self.cursor:
                self.cursor = through
                self.ahead = {seq for seq in self.ahead if seq > through}


def engagements(events: NewEvents) -> int:
    """How many of ``events`` the model observes (engagement kinds; shares among them)."""
    return int(sum(EVENT_WEIGHTS.get(t, 0.0) > 0 for t in events.event_types))


def applied(ranker: FeedRanker, events: NewEvents) -> FeedRanker:
    """``observe`` the engagement events in place; shares and dismissals join the audience."""
    weights = np.asarray([EVENT_WEIGHTS.get(t, 0.0) for t in events.event_types], np.float32)
    engaged = np.flatnonzero(weights > 0)
    if len(engaged):
        ranker.model.observe(
            [events.employee_ids[i] for i in engaged],
            [events.content_ids[i] for i in engaged],
            events.times[engaged],
            weights[engaged],
        )
    audience = replay_audience(ranker.audience, [events])
    return ranker if audience is ranker.audience else ranker.with_audience(audience)


def replay_audience(audience: FeedAudience, batches: list[NewEvents]) -> FeedAudience:
    """``audience`` with the shares and dismissals of ``batches`` added (same object if none)."""
    shared: dict[str, list[str]] = {}
    dismissed: dict[str, list[str]] = {}
    for events in batches:
        _collect(events, "share", shared)
        _collect(events, "dismiss", dismissed)
    if not shared and not dismissed:
        return audience
    return dataclasses.replace(
        audience,
        shared=_merged(audience.shared, shared),
        dismissed=_merged(audience.dismissed, dismissed),
    )


def _collect(events: NewEvents, event_type: str, found: dict[str, list[str]]) -> None:
    for employee, content, kind in zip(
        events.employee_ids, events.content_ids, events.event_types, strict=True
    ):
        if kind == event_type:
            found.setdefault(employee, []).append(content)


def _merged(
    current: Mapping[str, tuple[str, ...]], new: dict[str, list[str]]
) -> dict[str, tuple[str, ...]]:
    merged = dict(current)
    for employee, contents in new.items():
        merged[employee] = tuple(dict.fromkeys([*merged.get(employee, ()), *contents]))
    return merged
