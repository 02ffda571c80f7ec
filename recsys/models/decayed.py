"""Exponentially decayed sums kept relative to the latest event seen (``reference_``).

Each live event costs O(1) (O(dimensions) for vectors) and never overflows: the stored sums
are as of ``reference_``, and a value at a later time ``t`` is the sum times
``2 ** (-(t - reference_) / half_life)``.
"""

from __future__ import annotations

import numpy as np

from recsys.times import decay

#: Decayed values smaller than this are stored as 0. They lie more than 30 orders of
#: magnitude below one event's weight, so no score can tell them from 0; kept, they decay
#: on into subnormal floats, whose arithmetic x86 processors run several times slower (a
#: feed's product over the colleague trend's float32 rows took 78 us instead of 14 us with
#: 6% of them subnormal, after two months of events at a 6-hour half-life).
NEGLIGIBLE = 1e-30


def drop_negligible(values: np.ndarray) -> np.ndarray:
    """``values`` with every entry of magnitude below :data:`NEGLIGIBLE` set to 0 (in
    place)."""
    np.putmask(values, np.abs(values) < NEGLIGIBLE, 0)
    return values


class Decayed:
    """The clock of decayed sums: ``half_life_days``, ``reference_`` and the decay factor."""

    half_life_days: float
    reference_: float

    def decay(self, seconds: np.ndarray | float) -> np.ndarray:
        """``2 ** (-seconds / half_life)``."""
        return decay(np.asarray(seconds, np.float64), self.half_life_days)

    def factor(self, times: np.ndarray | float) -> np.ndarray:
        """Decay from ``reference_`` to each time (1 for times before it).

        The factor of one time (a ``float``, as feeds ask it: several times per request, at
        the same second) is remembered with the ``reference_`` and half-life of its
        computation."""
        if type(times) is not float:
            return self.decay(np.maximum(np.asarray(times, np.float64) - self.reference_, 0.0))
        key = (times, self.reference_, self.half_life_days)
        last = self.__dict__.get("_last_factor")
        if last is not None and last[0] == key:
            return last[1]
        value = self.decay(np.maximum(np.asarray(times, np.float64) - key[1], 0.0))
        self.__dict__["_last_factor"] = (key, value)
        return value

    def advance(self, times: np.ndarray) -> float:
        """Move ``reference_`` to the latest of ``times``; the factor to apply to old sums."""
        latest = float(np.max(times))
        if latest <= self.reference_:
            return 1.0
        shift = float(self.decay(latest - self.reference_))
        self.reference_ = latest
        return shift


def log_trend(decayed: np.ndarray, factor: np.ndarray | float) -> np.ndarray:
    """A trend component's value: ``log1p`` of the decayed count at the factor's time."""
    return np.log1p(np.maximum(decayed * factor, 0.0))
