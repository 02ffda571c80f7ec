"""Rule-based attribution: fixed shares by a touch's position or age; ``fit`` only validates.

Every rule works on touches (a channel clicked twice gets two touches' shares) and gives
non-converting paths nothing. With ``n`` touches in a converting path:

- ``last_touch``: the last touch gets 1;
- ``first_touch``: the first touch gets 1;
- ``linear``: each touch gets ``1 / n``;
- ``time_decay``: touch ``i`` gets a share proportional to ``2 ** (-(end_time - t_i) / h)``,
  ``h = half_life_days`` days (a touch one half-life older than another gets half its share);
- ``position_based`` (U-shaped): with ``n >= 3`` the first touch gets ``first`` (0.4), the last
  ``last`` (0.4) and the ``n - 2`` middle touches share ``1 - first - last`` (0.2) equally; with
  ``n = 2`` the two get ``first / (first + last)`` and ``last / (first + last)`` (0.5 / 0.5 by
  default); a single touch gets 1.
"""

from __future__ import annotations

import numpy as np

from recsys.attribution.base import AttributionModel
from recsys.attribution.paths import TouchPaths
from recsys.times import decay


class LastTouch(AttributionModel):
    """All credit to the last touch before the conversion."""

    name = "last_touch"

    def _weights(self, paths: TouchPaths) -> np.ndarray:
        weights = np.zeros(paths.n_touches)
        weights[paths.indptr[1:] - 1] = 1.0
        return weights


class FirstTouch(AttributionModel):
    """All credit to the first touch of the path."""

    name = "first_touch"

    def _weights(self, paths: TouchPaths) -> np.ndarray:
        weights = np.zeros(paths.n_touches)
        weights[paths.indptr[:-1]] = 1.0
        return weights


class Linear(AttributionModel):
    """Equal credit to every touch of the path."""

    name = "linear"

    def _weights(self, paths: TouchPaths) -> np.ndarray:
        return np.ones(paths.n_touches)


class TimeDecay(AttributionModel):
    """Credit proportional to ``2 ** (-(end_time - touch_time) / (half_life_days * DAY))``.

    Computed relative to each path's last touch (the common factor cancels in the
    normalisation), so long paths never underflow to all zeros.
    """

    name = "time_decay"

    def __init__(self, *, half_life_days: float = 7.0) -> None:
        self.half_life_days = half_life_days

    def _check_params(self) -> None:
        if not (np.isfinite(self.half_life_days) and self.half_life_days > 0):
            raise self._invalid("half_life_days", f"must be > 0, got {self.half_life_days}")

    def _weights(self, paths: TouchPaths) -> np.ndarray:
        last = paths.touch_time[paths.indptr[1:] - 1]
        age = last[paths.path_index()] - paths.touch_time
        return decay(age, self.half_life_days)


class PositionBased(AttributionModel):
    """U-shaped credit: ``first`` to the first touch, ``last`` to the last, the rest shared
    equally by the middle touches (see the module docstring for one and two touches)."""

    name = "position_based"

    def __init__(self, *, first: float = 0.4, last: float = 0.4) -> None:
        self.first = first
        self.last = last

    def _check_params(self) -> None:
        for parameter in ("first", "last"):
            value = getattr(self, parameter)
            if not (np.isfinite(value) and value >= 0):
                raise self._invalid(parameter, f"must be >= 0, got {value}")
        if self.first + self.last > 1 or self.first + self.last <= 0:
            raise self._invalid("last", "first + last must lie in (0, 1]")

    def _weights(self, paths: TouchPaths) -> np.ndarray:
        n = paths.lengths()[paths.path_index()]
        middle = (1.0 - self.first - self.last) / np.maximum(n - 2, 1)
        weights = np.where(n >= 3, middle, 0.0)
        starts, ends = paths.indptr[:-1], paths.indptr[1:] - 1
        weights[ends] = self.last
        weights[starts] = np.where(starts == ends, 1.0, self.first)
        return weights
