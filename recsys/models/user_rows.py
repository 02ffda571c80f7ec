"""Per-employee score rows kept between requests: the part of a hybrid's score that only the
employee's own events change.

A feed scores every live item for one employee. Most of that work (the taste and content
affinity products over the whole catalogue, the EASE row of the employee's history) gives
the same row until the employee acts, the catalogue grows or the model is replaced, while
the time-dependent terms (trends, freshness, colleague activity) are cheap vectors per
second. :class:`UserRows` keeps such rows, least recently used first out, within a byte
budget; :class:`~recsys.models.hybrid_scoring.FoldedScorer` fills and reads it.

Validity:

- ``token``: the objects the rows were computed from (item blocks, cold flags); a row read
  or written with another token empties the cache first;
- ``drop(users)``: the employees' own state changed (their events);
- generations: a row computed outside the caller's lock (a background warm-up) is stored
  only if no ``drop``/``clear`` touched its employee since :meth:`UserRows.snapshot`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np


class UserRows:
    """A bounded LRU of float32 rows by internal employee id (thread-safe)."""

    def __init__(self, max_bytes: int) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"max_bytes must be a non-negative integer, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self._rows: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._token: tuple[object, ...] = ()
        self._epoch = 0
        self._generations: dict[int, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def room_for(self, row_bytes: int) -> bool:
        """Whether one more row of ``row_bytes`` fits without evicting another."""
        return self._bytes + row_bytes <= self.max_bytes

    def get(self, user: int, token: tuple[object, ...]) -> np.ndarray | None:
        """The row of ``user`` computed from ``token``'s sources, or ``None``."""
        with self._lock:
            if not self._same(token):
                self._clear()
                self._token = token
                return None
            row = self._rows.get(user)
            if row is not None:
                self._rows.move_to_end(user)
            return row

    def snapshot(self, user: int, token: tuple[object, ...]) -> tuple[int, int]:
        """The generation of ``user``'s row computed from ``token``'s sources: take it
        before computing the row, pass it to :meth:`put`."""
        with self._lock:
            if not self._same(token):
                self._clear()
                self._token = token
            return self._generation(user)

    def put(
        self, user: int, row: np.ndarray, token: tuple[object, ...], snapshot: tuple[int, int]
    ) -> bool:
        """Keep ``row`` (not copied: the caller hands it over) unless the employee's state or
        the sources changed since ``snapshot``; evicts the least recently used rows."""
        if row.nbytes > self.max_bytes:
            return False
        with self._lock:
            if not self._same(token) or snapshot != self._generation(user):
                return False
            old = self._rows.pop(user, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._rows[user] = row
            self._bytes += row.nbytes
            while self._bytes > self.max_bytes:
                _, evicted = self._rows.popitem(last=False)
                self._bytes -= evicted.nbytes
            return True

    def drop(self, users: Iterable[int]) -> None:
        """Forget the rows of ``users`` (their own state changed)."""
        with self._lock:
            for user in users:
                self._generations[user] = self._generations.get(user, 0) + 1
                old = self._rows.pop(user, None)
                if old is not None:
                    self._bytes -= old.nbytes

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._rows.clear()
        self._bytes = 0
        self._epoch += 1
        self._generations.clear()

    def _generation(self, user: int) -> tuple[int, int]:
        return self._epoch, self._generations.get(user, 0)

    def _same(self, token: tuple[object, ...]) -> bool:
        return len(token) == len(self._token) and all(
            a is b for a, b in zip(token, self._token, strict=True)
        )
