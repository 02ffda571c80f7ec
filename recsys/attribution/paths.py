"""The input of every attribution model: touch-point paths in CSR layout, validated once.

A *path* is one pseudonymous visitor's sequence of tracked-link clicks (*touches*) up to a
conversion or to the end of observation. Path ``p``'s touches are ``indptr[p]:indptr[p + 1]``
in time order. ``channel`` is the unit data-driven models learn on (the advocate, or network x
content type, ...): the caller maps it to codes ``0..n_channels - 1`` and keeps the mapping.

A converting path has at least one touch (a conversion without any touch is "unattributed": it
is not a path, the caller counts it). Non-converting paths (visitors who clicked and did not
convert) feed the data-driven models; every model gives them zero credit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from recsys.attribution.errors import InvalidPathsError


@dataclass(frozen=True, eq=False)
class TouchPaths:
    """Touch points in CSR layout: path p's touches are indptr[p]:indptr[p+1], in time order.

    Arrays are coerced to the dtypes below and checked on construction; every problem raises
    :class:`InvalidPathsError` whose ``field`` names the bad field.
    """

    indptr: np.ndarray  # int64, n_paths + 1, starts at 0, non-decreasing
    channel: np.ndarray  # int64 per touch, codes 0..n_channels - 1
    touch_time: np.ndarray  # float64 seconds per touch, non-decreasing within a path
    end_time: np.ndarray  # float64 per path: conversion time, or end of observation (>= last touch)
    converted: np.ndarray  # bool per path
    n_channels: int

    def __post_init__(self) -> None:
        if not isinstance(self.n_channels, Integral) or isinstance(self.n_channels, bool):
            raise InvalidPathsError("n_channels", f"must be an int, got {self.n_channels!r}")
        if self.n_channels < 0:
            raise InvalidPathsError("n_channels", f"must be >= 0, got {self.n_channels}")
        object.__setattr__(self, "n_channels", int(self.n_channels))
        indptr = _integers("indptr", self.indptr)
        if len(indptr) == 0 or indptr[0] != 0:
            raise InvalidPathsError("indptr", "must start at 0 (it has n_paths + 1 entries)")
        if (np.diff(indptr) < 0).any():
            raise InvalidPathsError("indptr", "must be non-decreasing")
        n_paths, n_touches = len(indptr) - 1, int(indptr[-1])
        channel = _integers("channel", self.channel, n_touches)
        if n_touches and (channel.min() < 0 or channel.max() >= self.n_channels):
            raise InvalidPathsError(
                "channel", f"codes must lie in 0..{self.n_channels - 1} (n_channels)"
            )
        touch_time = _floats("touch_time", self.touch_time, n_touches)
        end_time = _floats("end_time", self.end_time, n_paths)
        converted = np.asarray(self.converted)
        if converted.ndim != 1 or len(converted) != n_paths:
            raise InvalidPathsError("converted", f"must be 1-D of length n_paths = {n_paths}")
        if converted.dtype != np.bool_:
            if converted.size and not np.isin(converted, (0, 1)).all():
                raise InvalidPathsError("converted", "must be bool (or 0/1)")
            converted = converted.astype(bool)
        for name, value in (
            ("indptr", indptr),
            ("channel", channel),
            ("touch_time", touch_time),
            ("end_time", end_time),
            ("converted", converted),
        ):
            object.__setattr__(self, name, value)
        self._check_times()
        if (converted & (np.diff(indptr) == 0)).any():
            first = int(np.flatnonzero(converted & (np.diff(indptr) == 0))[0])
            raise InvalidPathsError(
                "converted", f"path {first} converts but has no touch (count it as unattributed)"
            )

    def _check_times(self) -> None:
        starts = self.indptr[1:-1]
        within = np.ones(max(self.n_touches - 1, 0), bool)
        within[starts[(starts > 0) & (starts < self.n_touches)] - 1] = False
        if (np.diff(self.touch_time)[within] < 0).any():
            raise InvalidPathsError("touch_time", "must be non-decreasing within each path")
        nonempty = np.diff(self.indptr) > 0
        last = self.touch_time[self.indptr[1:][nonempty] - 1]
        late = last > self.end_time[nonempty]
        if late.any():
            path = int(np.flatnonzero(nonempty)[np.argmax(late)])
            raise InvalidPathsError("end_time", f"path {path} has a touch after its end_time")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_lists(
        cls,
        channels: Sequence[Sequence[int]],
        converted: Sequence[bool],
        n_channels: int,
        touch_times: Sequence[Sequence[float]] | None = None,
        end_time: Sequence[float] | None = None,
    ) -> TouchPaths:
        """Paths from one list of channel codes per path (handy in tests and notebooks).

        Without ``touch_times`` touch ``i`` of a path is at ``i`` seconds; without ``end_time``
        a path ends at its last touch (0 for an empty path).
        """
        lengths = [len(path) for path in channels]
        indptr = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        times = (
            [float(i) for n in lengths for i in range(n)]
            if touch_times is None
            else [float(t) for path in touch_times for t in path]
        )
        times_array = np.asarray(times, np.float64)
        if end_time is None:
            ends = [times_array[indptr[p + 1] - 1] if n else 0.0 for p, n in enumerate(lengths)]
            end_time = ends
        return cls(
            indptr=indptr,
            channel=np.asarray([c for path in channels for c in path], np.int64),
            touch_time=times_array,
            end_time=np.asarray(end_time, np.float64),
            converted=np.asarray(converted, bool),
            n_channels=n_channels,
        )

    # ------------------------------------------------------------------ views
    @property
    def n_paths(self) -> int:
        return len(self.indptr) - 1

    @property
    def n_touches(self) -> int:
        return int(self.indptr[-1])

    def lengths(self) -> np.ndarray:
        """Touches per path (int64)."""
        return np.diff(self.indptr)

    def path_index(self) -> np.ndarray:
        """The path of each touch (int64, non-decreasing)."""
        return np.repeat(np.arange(self.n_paths, dtype=np.int64), self.lengths())

    def subset(self, mask: np.ndarray) -> TouchPaths:
        """The paths where ``mask`` (bool per path) is true, in order, with the same channels."""
        mask = np.asarray(mask, bool)
        lengths = self.lengths()[mask]
        touches = np.repeat(mask, self.lengths())
        return TouchPaths(
            indptr=np.concatenate([[0], np.cumsum(lengths)]),
            channel=self.channel[touches],
            touch_time=self.touch_time[touches],
            end_time=self.end_time[mask],
            converted=self.converted[mask],
            n_channels=self.n_channels,
        )

    def distinct(self) -> DistinctChannels:
        """The distinct channels of each path (the "players" of Shapley, the states of Markov)."""
        return DistinctChannels.of(self)


@dataclass(frozen=True, eq=False)
class DistinctChannels:
    """Each path's distinct channels as (path, channel) *pairs*, sorted by path then channel.

    ``indptr`` gives path ``p``'s pairs ``indptr[p]:indptr[p + 1]``; ``touch_pair`` maps every
    touch to its pair and ``count`` is the number of touches of each pair.
    """

    indptr: np.ndarray  # int64, n_paths + 1
    path: np.ndarray  # int64 per pair
    channel: np.ndarray  # int64 per pair
    count: np.ndarray  # int64 per pair: touches of that channel in that path
    touch_pair: np.ndarray  # int64 per touch

    @classmethod
    def of(cls, paths: TouchPaths) -> DistinctChannels:
        width = max(paths.n_channels, 1)
        key = paths.path_index() * width + paths.channel
        keys, touch_pair, count = np.unique(key, return_inverse=True, return_counts=True)
        path = keys // width
        indptr = np.searchsorted(path, np.arange(paths.n_paths + 1)).astype(np.int64)
        return cls(indptr, path, keys % width, count.astype(np.int64), touch_pair.ravel())

    @property
    def n_pairs(self) -> int:
        return len(self.path)

    def spread(self, share: np.ndarray) -> np.ndarray:
        """Per-touch credit from one weight per pair: normalised to 1 within each path, a
        channel's share split equally among its touches. A path whose weights do not sum to a
        positive number gets equal shares per distinct channel."""
        share = np.asarray(share, np.float64)
        n_paths = len(self.indptr) - 1
        total = np.bincount(self.path, share, minlength=n_paths)
        fallback = ~(total > 0) | ~np.isfinite(total)
        if fallback.any():
            share = np.where(fallback[self.path], 1.0, share)
            total = np.bincount(self.path, share, minlength=n_paths)
        pair_credit = share / total[self.path] / self.count
        return pair_credit[self.touch_pair]


def _integers(field: str, values: object, length: int | None = None) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidPathsError(field, f"must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise InvalidPathsError(field, f"must hold integers, got dtype {array.dtype}")
    if length is not None and len(array) != length:
        raise InvalidPathsError(field, f"has length {len(array)}, indptr says {length}")
    return array.astype(np.int64, copy=False)


def _floats(field: str, values: object, length: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidPathsError(field, f"must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.number):
        raise InvalidPathsError(field, f"must hold numbers, got dtype {array.dtype}")
    if len(array) != length:
        raise InvalidPathsError(field, f"has length {len(array)}, indptr says {length}")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise InvalidPathsError(field, "must be finite")
    return array
