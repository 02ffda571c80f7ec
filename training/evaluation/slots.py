"""``deskdrop-slots``: best hour-of-week slots on the real DeskDrop interactions, beside baselines.

Protocol
    Origins T: the first of each month (default 2016-04-01 .. 2016-12-01, ``windows`` overrides).
    Every model is fitted on the events before T. Advocates scored at T: an event before T and
    one in ``[T, T + horizon)`` (default 30 days), so every label is read inside the horizon and
    later rows change nothing.
Group
    DeskDrop has no department: the group of an advocate is where their latest event before T
    with a location came from, ``group="region"`` (country and region, e.g. ``BR/SP``, the
    default), ``"country"`` or ``"none"`` (one group); no location -> the group ``?``.
Slots
    UTC hour of the week (:func:`recsys.forecast.slots.hour_of_week`); the per-advocate and
    per-group levels absorb the offset of where people are.
Models (top-``k`` slots per advocate)
    ``pooled``: :class:`recsys.forecast.SlotModel`; ``organisation``: the organisation's hour
    histogram (the same slots for everyone); ``own``: the advocate's own histogram, ties: the
    earlier slot of the week; ``own_then_org``: the same, ties broken by the organisation's
    histogram. All count the same unit (``unit``): ``"hours"`` = one per advocate and clock hour
    with an event (a session of many clicks counts once; the default), or ``"events"``.
Metrics (per window; overall = the mean over windows)
    ``next@k``: share of the advocates whose next event at or after T falls in their top-k;
    ``hours@k``: per advocate the share of their active clock hours in ``[T, T + horizon)``
    that fall in their top-k, averaged over advocates; ``n`` advocates and ``hours`` counted.
    ``pooled`` also has ``versus``: per baseline, over all windows' next events, the advocates
    only ``pooled`` hits, only the baseline hits, and a two-sided sign test on the two (the
    same advocate in several windows counts in each).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from features.data.deskdrop import INTERACTIONS_FILE, find_file, read_interactions
from features.data.sources import InputError
from recsys.forecast.slots import N_SLOTS, SlotModel, hour_of_week, top_k
from recsys.times import DAY, HOUR, TimeLike, epoch_seconds
from training.evaluation.report import result, utc

BENCHMARK = "deskdrop-slots"
DEFAULT_WINDOWS = tuple(f"2016-{month:02d}-01" for month in range(4, 13))
MODELS = ("pooled", "organisation", "own", "own_then_org")
METRICS = ("next@k", "hours@k")
GROUPS = ("region", "country", "none")
UNITS = ("hours", "events")
UNKNOWN = "?"


def read_slot_events(path: Path | str) -> pd.DataFrame:
    """DeskDrop interactions (folder or file, ``features.data.deskdrop`` reader): numeric
    ``timestamp``, ``personId`` and the location columns (empty when the file has none)."""
    path = Path(path)
    file = find_file(path, INTERACTIONS_FILE) if path.is_dir() else path
    if file is None or not file.is_file():
        raise FileNotFoundError(f"{path}: no {INTERACTIONS_FILE}[.gz] here")
    frame = read_interactions(file)
    stamps = pd.to_numeric(frame["timestamp"], errors="coerce")
    if stamps.isna().any():
        bad = frame["timestamp"][stamps.isna()].iloc[0]
        raise InputError(f"{file}: timestamp: {bad!r} is not Unix seconds")
    out = pd.DataFrame({"timestamp": stamps.astype(np.float64), "personId": frame["personId"]})
    for column in ("userCountry", "userRegion"):
        out[column] = frame[column] if column in frame.columns else ""
    return out


def locations(events: pd.DataFrame, group: str) -> np.ndarray:
    """The group key of each event (``""`` when it has no location)."""
    if group not in GROUPS:
        raise ValueError(f"group: {group!r} is not one of {', '.join(GROUPS)}")
    country = events["userCountry"].fillna("").astype(str).str.strip()
    if group == "none":
        return np.full(len(events), "all", object)
    if group == "country":
        return country.to_numpy(object)
    region = events["userRegion"].fillna("").astype(str).str.strip()
    keys = np.where(country == "", "", country + "/" + region)
    return np.asarray(keys, object)


def deskdrop_slots(
    events: pd.DataFrame,
    windows: Sequence[TimeLike] = DEFAULT_WINDOWS,
    *,
    k: int = 3,
    horizon_days: float = 30.0,
    group: str = "region",
    unit: str = "hours",
    half_life_days: float | None = None,
) -> dict[str, object]:
    """The benchmark (see the module docstring); ``events`` as :func:`read_slot_events`."""
    started = time.perf_counter()
    if unit not in UNITS:
        raise ValueError(f"unit: {unit!r} is not one of {', '.join(UNITS)}")
    if not 1 <= k <= N_SLOTS:
        raise ValueError(f"k: {k} is not in 1..{N_SLOTS}")
    place = locations(events, group)
    person_ids, persons = np.unique(events["personId"].astype(str), return_inverse=True)
    times = events["timestamp"].to_numpy(np.float64)
    order = np.lexsort((place.astype(str), persons, times))
    times, persons, place = times[order], persons[order], place[order]
    per_window: dict[str, dict[str, dict]] = {name: {} for name in MODELS}
    fitted: dict[str, dict[str, object]] = {}
    hits: dict[str, list[np.ndarray]] = {name: [] for name in MODELS}
    skipped: dict[str, str] = {}
    for origin in sorted(epoch_seconds(w) for w in windows):
        past = times < origin
        groups, names = person_groups(persons[past], place[past], len(person_ids))
        fit_t, fit_p = fit_rows(times[past], persons[past], unit)
        model = SlotModel(half_life_days=half_life_days).fit(fit_t, fit_p, groups, now=origin)
        future = (times >= origin) & (times < origin + horizon_days * DAY)
        scored = np.intersect1d(np.unique(persons[past]), np.unique(persons[future]))
        if not len(scored):
            skipped[utc(int(origin))] = "nobody with events both before and after the origin"
            continue
        tops = {
            "pooled": model.top_slots(scored, k),
            **baseline_tops(fit_t, fit_p, scored, k, len(person_ids)),
        }
        for name, top in tops.items():
            per_window[name][utc(int(origin))] = window_metrics(
                top, scored, times[future], persons[future]
            )
            hits[name].append(next_hits(top, scored, times[future], persons[future]))
        fitted[utc(int(origin))] = {
            "group_strength": round(float(model.group_strength_[0]), 3),
            "person_strength": round(float(model.person_strength_[0]), 3),
            "groups": len(names),
        }
    entries = {name: {**_means(w), "windows": w} for name, w in per_window.items()}
    entries["pooled"]["versus"] = paired(hits)
    protocol = {
        "k": k,
        "horizon_days": horizon_days,
        "group": group,
        "unit": unit,
        "half_life_days": half_life_days,
        "slots": "hour of the week in UTC, 0 = Monday 00:00",
        "origins_utc": [utc(int(epoch_seconds(w))) for w in sorted(windows, key=epoch_seconds)],
        "scored": "an event before T and one in [T, T + horizon)",
        "fitted": fitted,
        "skipped_windows": skipped,
    }
    return result(BENCHMARK, protocol, entries, started)


def person_groups(
    persons: np.ndarray, place: np.ndarray, n_persons: int
) -> tuple[np.ndarray, list[str]]:
    """Group position per advocate: the place of their latest located event (events in time
    order); :data:`UNKNOWN` without one. Positions follow the sorted group names."""
    latest = np.full(n_persons, UNKNOWN, object)
    located = place != ""
    latest[persons[located]] = place[located]  # later events overwrite earlier ones
    names, positions = np.unique(latest.astype(str), return_inverse=True)
    return positions, [str(n) for n in names]


def fit_rows(times: np.ndarray, persons: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """The events the models count: all of them, or one per advocate and clock hour."""
    if unit == "events":
        return times, persons
    hours = np.floor(times / HOUR).astype(np.int64)
    _, first = np.unique(np.stack([persons, hours]), axis=1, return_index=True)
    first = np.sort(first)
    return times[first], persons[first]


def baseline_tops(
    times: np.ndarray, persons: np.ndarray, scored: np.ndarray, k: int, n_persons: int
) -> dict[str, np.ndarray]:
    """Top-k slots of the ``organisation``, ``own`` and ``own_then_org`` baselines."""
    counts = np.zeros((n_persons, N_SLOTS))
    np.add.at(counts, (persons, hour_of_week(times)), 1.0)
    org = counts.sum(axis=0)
    own = counts[scored]
    share = org / max(org.sum(), 1.0)  # < 1 per slot: breaks ties of whole counts only
    return {
        "organisation": np.tile(top_k(org[None, :], k), (len(scored), 1)),
        "own": top_k(own, k),
        "own_then_org": top_k(own + 0.5 * share[None, :], k),
    }


def window_metrics(
    top: np.ndarray, scored: np.ndarray, times: np.ndarray, persons: np.ndarray
) -> dict[str, float | int]:
    """``next@k`` and ``hours@k`` of the top slots ``top`` (rows: ``scored`` advocates) against
    the events ``times``/``persons`` of the horizon (in time order)."""
    mine, who = _scored_events(scored, times, persons)
    hit = np.any(top[who] == hour_of_week(mine)[:, None], axis=1)
    hours = np.floor(mine / HOUR).astype(np.int64)
    _, once = np.unique(np.stack([who, hours]), axis=1, return_index=True)
    per = np.bincount(who[once], weights=hit[once], minlength=len(scored))
    per /= np.bincount(who[once], minlength=len(scored))
    return {
        "next@k": float(np.mean(next_hits(top, scored, times, persons))),
        "hours@k": float(np.mean(per)),
        "n": len(scored),
        "hours": len(once),
    }


def next_hits(
    top: np.ndarray, scored: np.ndarray, times: np.ndarray, persons: np.ndarray
) -> np.ndarray:
    """Per ``scored`` advocate: their earliest event of ``times``/``persons`` (in time order)
    falls in their row of ``top``."""
    times, who = _scored_events(scored, times, persons)
    _, first = np.unique(who, return_index=True)
    return np.any(top == hour_of_week(times[first])[:, None], axis=1)


def _scored_events(
    scored: np.ndarray, times: np.ndarray, persons: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The events of the ``scored`` advocates, with each one's row in ``scored``."""
    row = np.full(int(max(persons.max(), scored.max())) + 1, -1)
    row[scored] = np.arange(len(scored))
    mine = row[persons] >= 0
    return times[mine], row[persons[mine]]


def paired(hits: dict[str, list[np.ndarray]]) -> dict[str, dict[str, float | int]]:
    """``pooled`` against each baseline over all windows' next events: the advocates only
    ``pooled`` hits, only the baseline hits, and the two-sided sign test on them."""
    ours = np.concatenate(hits["pooled"]) if hits["pooled"] else np.zeros(0, bool)
    out: dict[str, dict[str, float | int]] = {}
    for name in MODELS[1:]:
        theirs = np.concatenate(hits[name]) if hits[name] else np.zeros(0, bool)
        wins, losses = int(np.sum(ours & ~theirs)), int(np.sum(~ours & theirs))
        p = binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
        out[name] = {"pooled_only": wins, "baseline_only": losses, "sign_test_p": float(p)}
    return out


def _means(windows: dict[str, dict]) -> dict[str, float | None]:
    return {
        m: (float(np.mean([w[m] for w in windows.values()])) if windows else None) for m in METRICS
    }
