"""Bounded caches of derived arrays: least recently used out, by entries and by bytes.

The folded scorer keeps two kinds of derived arrays:

- *static* entries (:class:`SourceCache`), computed from arrays that are **replaced, never
  changed in place** (item vectors grow by a new array when content is added, the cold
  flags likewise): an entry is valid while its sources are the same objects. The rule is
  asserted here, once: a source is made read-only when an entry is built from it, so an
  in-place change raises instead of leaving a stale entry;
- *live* entries, which any event may change, dropped by ``clear``: per request time
  (:class:`TimedCache`: the latest few times) or not tied to a time (:class:`BoundedCache`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def _nbytes(value: object) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, tuple):
        return sum(_nbytes(v) for v in value)
    return 0


class BoundedCache:
    """A thread-safe LRU mapping bounded by ``max_entries`` and ``max_bytes`` (array sizes)."""

    def __init__(self, max_entries: int = 256, max_bytes: int = 1 << 30) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError(f"cache bounds must be >= 1, got {max_entries}, {max_bytes}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: object) -> object:
        """Store ``value`` (evicting the least recently used entries); returns it."""
        size = _nbytes(value)
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes -= _nbytes(old)
            self._entries[key] = value
            self._bytes += size
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= _nbytes(evicted)
        return value

    def get_or_build(self, key: Hashable, build: Callable[[], object]) -> object:
        found = self.get(key)
        return found if found is not None else self.put(key, build())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


class TimedCache:
    """Live entries of the latest ``max_times`` request times, each time a
    :class:`BoundedCache`; the entries of an older time are dropped whole when a new time
    comes (requests move forward in time: a server's clock, a replay)."""

    def __init__(
        self, max_times: int = 2, max_entries: int = 256, max_bytes: int = 1 << 30
    ) -> None:
        if max_times < 1:
            raise ValueError(f"max_times must be >= 1, got {max_times}")
        self.max_times = max_times
        self._bounds = (max_entries, max_bytes)
        self._times: OrderedDict[float, BoundedCache] = OrderedDict()
        self._lock = threading.Lock()

    def at(self, as_of: float) -> BoundedCache:
        """The entries of time ``as_of``."""
        with self._lock:
            found = self._times.get(as_of)
            if found is None:
                found = self._times[as_of] = BoundedCache(*self._bounds)
                while len(self._times) > self.max_times:
                    self._times.popitem(last=False)
            return found

    def times(self) -> list[float]:
        """The request times whose entries are kept, oldest first."""
        with self._lock:
            return list(self._times)

    def clear(self) -> None:
        with self._lock:
            self._times.clear()


class SourceCache:
    """Entries valid while the arrays they were built from are the same objects."""

    def __init__(self, max_entries: int = 256, max_bytes: int = 1 << 31) -> None:
        self._cache = BoundedCache(max_entries, max_bytes)

    def get(self, key: Hashable, sources: tuple[np.ndarray, ...], build: Callable[[], T]) -> T:
        """The entry of ``key`` built from ``sources`` (rebuilt when any is another object)."""
        found = self._cache.get(key)
        if isinstance(found, tuple) and all(a is b for a, b in zip(found[0], sources, strict=True)):
            return found[1]
        for source in sources:
            freeze(source)
        value = build()
        self._cache.put(key, (sources, value))
        return value

    def clear(self) -> None:
        self._cache.clear()


def freeze(array: np.ndarray) -> None:
    """Make ``array`` read-only: cached arrays derived from it stay valid only while it is
    never changed in place (a write now raises ``ValueError: assignment destination is
    read-only``)."""
    if isinstance(array, np.ndarray) and array.flags.writeable:
        array.flags.writeable = False
