"""The content performance forecast's reads of the store's past, optionally kept for a while.

A forecast of an item reads three things about the time before its moment
(:mod:`features.content_performance`): the advocates (who was hired by then, where, in
which languages), the audience's activity in whole-day windows that end at the UTC midnight
before the moment, and the first-week outcomes of the items whose first week ended before it.
Each of these windows lies in the past, so the same read gives the same answer until an event
is stored late (with an earlier timestamp) or erased.

:class:`ContentReads` makes those reads. With ``ttl`` (seconds) above 0 it keeps what it read
and answers the same window again from memory, reading only the windows it has not seen;
everything kept is dropped together once it is ``ttl`` old, so an event stored late (or an
erasure) shows within ``ttl``. A served forecast keeps reads for an hour
(``serving.content_forecast``), ``advocacy train`` for the run (its evaluation and its fit
read each window once); ``ttl`` 0, the default, keeps nothing (every call reads the store).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from features.content_outcomes import AUDIENCE, OUTCOMES, audience_activity, first_week_outcomes
from features.data.reader import StoreReader
from features.data.store import Store

#: The advocates' columns a forecast reads.
ADVOCATE_COLUMNS = ("employee_id", "region", "department", "languages", "hire_date")


class ContentReads:
    """The forecast's store reads, kept ``ttl`` seconds of ``clock`` (module docstring)."""

    def __init__(self, ttl: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not ttl >= 0:
            raise ValueError(f"ttl must be >= 0 seconds, got {ttl}")
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()  # guards the fields below
        self._since = clock()
        self._generation = 0  # counts the drops: a read that spans one keeps nothing
        self._store: Store | None = None
        self._advocates: pd.DataFrame | None = None
        self._outcomes: dict[Hashable, np.ndarray] = {}
        self._audience: dict[Hashable, np.ndarray] = {}

    @property
    def keeps(self) -> bool:
        return self.ttl > 0

    @property
    def windows_kept(self) -> int:
        """How many audience and first-week windows are kept now."""
        with self._lock:
            return len(self._outcomes) + len(self._audience)

    def advocates(self, store: Store) -> pd.DataFrame:
        """The advocates' :data:`ADVOCATE_COLUMNS` (kept: the frame read first in the span)."""
        with self._lock:
            self._expire(store)
            if self._advocates is not None:
                return self._advocates
            generation = self._generation
        frame = StoreReader(store).table("advocates", columns=list(ADVOCATE_COLUMNS))
        with self._lock:
            if self.keeps and generation == self._generation:
                self._advocates = frame
        return frame

    def outcomes(
        self,
        store: Store,
        ids: Sequence[str],
        starts: Sequence[datetime],
        stops: Sequence[datetime],
    ) -> np.ndarray:
        """:func:`~features.content_outcomes.first_week_outcomes` of the windows, the ones
        kept from memory."""
        keys = list(zip(ids, starts, stops, strict=True))

        def read(wanted: list[int]) -> np.ndarray:
            return first_week_outcomes(
                store,
                [ids[i] for i in wanted],
                [starts[i] for i in wanted],
                [stops[i] for i in wanted],
            )

        return self._read(store, self._outcomes, keys, len(OUTCOMES), read)

    def audience(
        self, store: Store, starts: Sequence[datetime], stops: Sequence[datetime]
    ) -> np.ndarray:
        """:func:`~features.content_outcomes.audience_activity` of the windows, the ones kept
        from memory."""
        keys = list(zip(starts, stops, strict=True))

        def read(wanted: list[int]) -> np.ndarray:
            return audience_activity(store, [starts[i] for i in wanted], [stops[i] for i in wanted])

        return self._read(store, self._audience, keys, len(AUDIENCE), read)

    def _read(
        self,
        store: Store,
        kept: dict[Hashable, np.ndarray],
        keys: list[Hashable],
        width: int,
        read: Callable[[list[int]], np.ndarray],
    ) -> np.ndarray:
        """Rows of ``keys``: kept ones from ``kept``, the others by ``read`` (of their
        positions), which are then kept too."""
        out = np.zeros((len(keys), width))
        with self._lock:
            self._expire(store)
            missing = []
            for i, key in enumerate(keys):
                row = kept.get(key)
                if row is None:
                    missing.append(i)
                else:
                    out[i] = row
            generation = self._generation
        if missing:
            rows = read(missing)
            out[missing] = rows
            with self._lock:
                if self.keeps and generation == self._generation:
                    kept.update((keys[i], row) for i, row in zip(missing, rows, strict=True))
        return out

    def _expire(self, store: Store) -> None:
        """Drop everything kept once it is ``ttl`` old, or read from another store (call with
        the lock held)."""
        now = self.clock()
        if store is self._store and now - self._since < self.ttl:
            return
        self._store, self._since = store, now
        self._generation += 1
        self._advocates = None
        self._outcomes.clear()
        self._audience.clear()


__all__ = ["ADVOCATE_COLUMNS", "ContentReads"]
