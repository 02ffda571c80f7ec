"""Slices of the DeskDrop replay's test pairs: who the person is and how old the content is.

Every slice is a boolean mask over ``replay.pairs`` (the rows of one replay, in its order):

- ``new_content``: the content's first event in the whole log is at or after the split;
- ``new_person``: the person has no event before the split (they may have earlier events
  inside the test window: those are observed by the replay);
- ``person_events_<bucket>``: the person's events in the log (any type, every row counts)
  strictly before the pair's time ``t``, bucketed by :data:`ACTIVITY_BUCKETS`: ``0`` (no
  earlier event at all: new at ``t``), ``1``, ``2-5``, ``6_plus`` (6 or more);
- ``content_age_<bucket>``: ``t`` minus the content's first event in the whole log
  (publication proxy; a content's first read is not a test pair, so it is above 0), bucketed
  by :data:`AGE_BUCKETS` in days: ``0-1d`` (under a day), ``1-7d``, ``7-30d``, ``30d_plus``
  (lower bounds inclusive).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.times import DAY

#: Slice suffix -> [low, high) count of the person's events before the pair's time.
ACTIVITY_BUCKETS: dict[str, tuple[int, float]] = {
    "0": (0, 1),
    "1": (1, 2),
    "2-5": (2, 6),
    "6_plus": (6, np.inf),
}

#: Slice suffix -> [low, high) content age in days at the pair's time.
AGE_BUCKETS: dict[str, tuple[float, float]] = {
    "0-1d": (0.0, 1.0),
    "1-7d": (1.0, 7.0),
    "7-30d": (7.0, 30.0),
    "30d_plus": (30.0, np.inf),
}


def slice_names() -> list[str]:
    """Every slice name in report order (``all`` excluded)."""
    return [
        "new_content",
        "new_person",
        *(f"person_events_{b}" for b in ACTIVITY_BUCKETS),
        *(f"content_age_{b}" for b in AGE_BUCKETS),
    ]


def earlier_events(
    log_persons: np.ndarray, log_times: np.ndarray, persons: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """For each (person, time): how many log rows of that person have a time ``< time``."""
    log_times = np.asarray(log_times, dtype=np.int64)
    times = np.asarray(times, dtype=np.int64)
    codes, _ = pd.factorize(np.concatenate([np.asarray(log_persons), np.asarray(persons)]))
    log_codes, codes = codes[: len(log_times)].astype(np.int64), codes[len(log_times) :]
    if not log_times.size:
        return np.zeros(len(times), np.int64)
    t0 = int(min(log_times.min(), times.min(initial=log_times.min())))
    span = int(max(log_times.max(), times.max(initial=log_times.max()))) - t0 + 1
    keys = np.sort(log_codes * span + (log_times - t0))
    start = np.searchsorted(keys, codes.astype(np.int64) * span, side="left")
    end = np.searchsorted(keys, codes.astype(np.int64) * span + (times - t0), side="left")
    return end - start


def slice_masks(
    pairs: pd.DataFrame, log: pd.DataFrame, first_seen: np.ndarray
) -> dict[str, np.ndarray]:
    """Every slice of :func:`slice_names` as a mask over ``pairs`` (a replay's test pairs).

    ``log`` is the weighted log (string ``person`` ids, ``timestamp``); ``first_seen`` the
    replay index's first-seen time per content position."""
    times = pairs["timestamp"].to_numpy(np.int64)
    masks = {c: pairs[c].to_numpy(bool) for c in ("new_content", "new_person")}
    persons = pairs["person_id"].astype(str).to_numpy(object)
    counts = earlier_events(log["person"].to_numpy(object), log["timestamp"], persons, times)
    for name, (low, high) in ACTIVITY_BUCKETS.items():
        masks[f"person_events_{name}"] = (counts >= low) & (counts < high)
    age_days = (times - first_seen[pairs["content_pos"].to_numpy(np.int64)]) / DAY
    for name, (low_days, high_days) in AGE_BUCKETS.items():
        masks[f"content_age_{name}"] = (age_days >= low_days) & (age_days < high_days)
    return masks
