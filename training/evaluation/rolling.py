"""Rolling-origin DeskDrop replay: one replay per origin, every model, bootstrap intervals.

For each origin ``T`` (:func:`rolling_origins` gives month starts) the single-split replay of
:mod:`training.evaluation.deskdrop` runs with ``split_at=T``: every model is fitted on the
events before ``T`` only, then the test window is replayed as today (every earlier event
observed, contents added as they appear, never refit). Tuned models (``TUNED``: the
``recent_popular`` baseline and the hybrid) choose their parameters on the validation window
before ``T`` (the ``VALIDATION_DAYS`` ending at ``T``), never on the test window; each
origin's choices are in ``protocol["tuned"]``, their validation grids in the origin's
``protocol["tuning"]``. The test window of ``T`` is ``[T, end)`` with ``end`` the earlier of
the next origin and one calendar month after ``T`` (:func:`origin_windows`), so windows never
overlap and each is at most a month.

Intervals (:func:`bootstrap`): percentile bootstrap over test pairs, ``resamples`` replicates
from ``numpy.random.default_rng(seed)``. Each replicate resamples every origin's test pairs
with replacement within that origin (same size; the same draw for every model, so models and
their ratios are compared on the same pairs); an origin's interval comes from its replicate
means; the mean over origins (each origin weighs the same) gets its interval from the same
replicates, each averaged over the origins (the pooled resample). ``versus`` divides the
``reference`` model (``hybrid``) by the best other model of each origin (by its point value of
the primary metric), with the interval of that ratio over the same replicates.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from recsys.times import TimeLike
from training.evaluation.deskdrop import (
    VALIDATION_DAYS,
    ReplayRun,
    pair_metrics,
    pair_values,
    replay_run,
)
from training.evaluation.protocols import unix_seconds
from training.evaluation.registry import BENCHMARKS, ModelFactory
from training.evaluation.replay_slices import slice_names
from training.evaluation.report import json_safe, utc

METRICS = ("hr@10", "ndcg@10", "mrr")
PRIMARY = BENCHMARKS["deskdrop-replay"]
EVERY = ("monthly",)


class RollingError(ValueError):
    """Unusable origins; ``option`` names what was wrong (``origins``, ``from``, ``to``)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


def rolling_origins(start: TimeLike, end: TimeLike, every: str = "monthly") -> list[int]:
    """Unix seconds of each month start (00:00 UTC) from ``start`` to ``end`` inclusive; a
    ``start`` within a month begins at the next month start."""
    if every not in EVERY:
        raise RollingError("rolling", f"unknown rolling step {every!r}; known: {', '.join(EVERY)}")
    first, last = _timestamp(start, "from"), _timestamp(end, "to")
    if last < first:
        raise RollingError("to", f"{utc_key(last)} is before the first origin {utc_key(first)}")
    months = pd.date_range(first.ceil("D"), last, freq="MS")
    if not len(months):
        raise RollingError("from", f"no month starts between {first} and {last}")
    return [int(m.timestamp()) for m in months]


def origin_windows(origins: Sequence[TimeLike]) -> list[tuple[int, int]]:
    """``(start, end)`` unix seconds of each origin's test window (module docstring)."""
    starts = [int(_timestamp(o, "origins").timestamp()) for o in origins]
    if not starts:
        raise RollingError("origins", "no origins given")
    if any(b <= a for a, b in itertools.pairwise(starts)):
        raise RollingError("origins", "origins must be distinct and in increasing order")
    month_ends = [_month_after(s) for s in starts]
    return [
        (s, min(month_ends[j], starts[j + 1]) if j + 1 < len(starts) else month_ends[j])
        for j, s in enumerate(starts)
    ]


def deskdrop_rolling(
    events: pd.DataFrame,
    origins: Sequence[TimeLike],
    models: Mapping[str, ModelFactory] | None = None,
    *,
    tune: bool = True,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    reference: str = "hybrid",
) -> dict[str, object]:
    """The rolling benchmark (module docstring); ``events`` as ``read_deskdrop_events``.

    Returns ``{"benchmark", "protocol", "origins": {T: single-split result, each model with
    "ci": {metric: {"ci_low", "ci_high"}}}, "mean": {model: {metric: {"value", "ci_low",
    "ci_high"}}}, "pooled_slices": {model: {slice: metrics}}, "versus", "seconds"}``; ``T`` is
    the origin's date (its UTC time when not midnight). The mean covers the models evaluated at
    every origin. Raises :class:`RollingError` for an origin without events before it or in
    its window (every origin is checked before anything is fitted), or without test pairs."""
    started = time.perf_counter()
    windows = origin_windows(origins)
    times = events["timestamp"].to_numpy(np.int64)
    for start, end in windows:
        key = utc_key(start)
        if not (times < start).any():
            raise RollingError("origins", f"origin {key}: no events before it to fit on")
        if not ((times >= start) & (times < end)).any():
            raise RollingError("origins", f"origin {key}: no events in [{key}, {utc_key(end)})")
    runs: dict[str, ReplayRun] = {}
    for start, end in windows:
        key = utc_key(start)
        runs[key] = replay_run(events, models, split_at=start, until=end, tune=tune)
        if not len(runs[key].setup.replay.pairs):
            raise RollingError("origins", f"origin {key}: no test pairs in its window")
    report = rolling_report(runs, resamples=resamples, seed=seed, level=level, reference=reference)
    return report | {"seconds": round(time.perf_counter() - started, 3)}


def rolling_report(
    runs: Mapping[str, ReplayRun],
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    reference: str = "hybrid",
) -> dict[str, object]:
    """The result of :func:`deskdrop_rolling` from its replays (origin key -> run, in order);
    ``seconds`` sums the replays' own."""
    boot = Bootstrap.draw(runs, resamples=resamples, seed=seed, level=level)
    for key, run in runs.items():
        entries: dict[str, dict[str, object]] = run.result["models"]  # type: ignore[assignment]
        for name, entry in entries.items():
            entry["ci"] = boot.origin_interval(key, name)
    protocol = {
        "kind": "rolling-origin",
        "origins": list(runs),
        "windows": {
            k: {"start": utc(r.setup.replay.split_at), "end": utc(r.setup.replay.until or 0)}
            for k, r in runs.items()
        },
        "test_window": "[origin, min(next origin, origin + 1 calendar month))",
        "validation_days": VALIDATION_DAYS,
        "tuning": "per origin, on the validation days ending at the origin",
        "tuned": {k: tuned_choices(r) for k, r in runs.items()},
        "test_pairs": {k: len(r.setup.replay.pairs) for k, r in runs.items()},
        "bootstrap": {
            "resamples": resamples,
            "seed": seed,
            "level": level,
            "method": "percentile; test pairs resampled within each origin, the same draw for"
            " every model; the mean over origins from the same replicates (pooled resample)",
        },
        "slices": ["all", *slice_names()],
        "primary_metric": PRIMARY,
    }
    report = {
        "benchmark": "deskdrop-replay",
        "protocol": protocol,
        "origins": {k: r.result for k, r in runs.items()},
        "mean": {m: boot.mean(m) for m in complete_models(runs)},
        "pooled_slices": {m: pooled_slices(runs, m) for m in complete_models(runs)},
        "versus": boot.versus(reference),
        "seconds": round(sum(cast(float, r.result["seconds"]) for r in runs.values()), 3),
    }
    return json_safe(report)  # type: ignore[return-value]


def tuned_choices(run: ReplayRun) -> dict[str, object]:
    """Model -> the parameters chosen on its validation days (None: defaults kept)."""
    protocol: dict[str, dict] = run.result["protocol"]  # type: ignore[assignment]
    return {name: entry["chosen"] for name, entry in protocol["tuning"].items()}


def complete_models(runs: Mapping[str, ReplayRun]) -> list[str]:
    """The models evaluated at every origin, in the first origin's order."""
    first = next(iter(runs.values()))
    return [m for m in first.ranks if all(m in r.ranks for r in runs.values())]


def pooled_slices(runs: Mapping[str, ReplayRun], model: str) -> dict[str, dict]:
    """``model``'s metrics per slice over the test pairs of every origin together."""
    ranks = np.concatenate([r.ranks[model] for r in runs.values()])
    slices = {"all": pair_metrics(ranks)}
    for name in slice_names():
        masks = np.concatenate([r.setup.masks[name] for r in runs.values()])
        slices[name] = pair_metrics(ranks[masks])
    return slices


@dataclass(frozen=True)
class Bootstrap:
    """Replicate means of every origin's resampled test pairs (module docstring).

    ``replicates[origin][model]`` is ``(resamples, len(METRICS))``; ``points`` the same
    metrics on the pairs as they are."""

    replicates: dict[str, dict[str, np.ndarray]]
    points: dict[str, dict[str, np.ndarray]]
    level: float

    @classmethod
    def draw(
        cls, runs: Mapping[str, ReplayRun], *, resamples: int, seed: int, level: float
    ) -> Bootstrap:
        if resamples < 2:
            raise ValueError("resamples must be at least 2")
        if not 0.0 < level < 1.0:
            raise ValueError("level must be strictly between 0 and 1")
        rng = np.random.default_rng(seed)
        replicates: dict[str, dict[str, np.ndarray]] = {}
        points: dict[str, dict[str, np.ndarray]] = {}
        for key, run in runs.items():
            names = list(run.ranks)
            values = np.column_stack(
                [pair_values(run.ranks[m])[metric] for m in names for metric in METRICS]
            )
            n = len(values)
            means = np.concatenate(
                [
                    rng.multinomial(n, np.full(n, 1.0 / n), size=size) @ values / n
                    for size in _chunks(resamples, 250)
                ]
            )
            width = len(METRICS)
            replicates[key] = {
                m: means[:, j * width : (j + 1) * width] for j, m in enumerate(names)
            }
            points[key] = {
                m: values[:, j * width : (j + 1) * width].mean(0) for j, m in enumerate(names)
            }
        return cls(replicates, points, level)

    def _bounds(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tail = 50.0 * (1.0 - self.level)
        return np.percentile(samples, tail, axis=0), np.percentile(samples, 100.0 - tail, axis=0)

    def origin_interval(self, origin: str, model: str) -> dict[str, dict[str, float]]:
        """``{metric: {"ci_low", "ci_high"}}`` of ``model`` at ``origin``."""
        low, high = self._bounds(self.replicates[origin][model])
        return {m: {"ci_low": low[i], "ci_high": high[i]} for i, m in enumerate(METRICS)}

    def mean(self, model: str) -> dict[str, dict[str, float]]:
        """``{metric: {"value", "ci_low", "ci_high"}}`` of the mean over origins."""
        value = np.mean([p[model] for p in self.points.values()], axis=0)
        pooled = np.mean([r[model] for r in self.replicates.values()], axis=0)
        low, high = self._bounds(pooled)
        return {
            m: {"value": value[i], "ci_low": low[i], "ci_high": high[i]}
            for i, m in enumerate(METRICS)
        }

    def versus(self, reference: str) -> dict[str, object]:
        """``reference`` / the best other model on the primary metric (by point value), per
        origin and for the mean over origins (models at every origin), with the interval of
        the ratio over the same replicates."""
        origins = {
            key: self._ratio(points, self.replicates[key], reference)
            for key, points in self.points.items()
        }
        complete = set.intersection(*(set(p) for p in self.points.values()))
        mean_points = {m: np.mean([p[m] for p in self.points.values()], 0) for m in complete}
        pooled = {m: np.mean([r[m] for r in self.replicates.values()], 0) for m in complete}
        return {
            "reference": reference,
            "metric": PRIMARY,
            "origins": {k: v for k, v in origins.items() if v is not None},
            "mean": self._ratio(mean_points, pooled, reference),
        }

    def _ratio(
        self, points: Mapping[str, np.ndarray], replicates: Mapping[str, np.ndarray], reference: str
    ) -> dict[str, object] | None:
        at = METRICS.index(PRIMARY)
        others = {m: float(p[at]) for m, p in points.items() if m != reference}
        if reference not in points or not others:
            return None
        best = max(others, key=lambda m: others[m])
        top, bottom = float(points[reference][at]), others[best]
        samples = replicates[reference][:, at] / np.maximum(replicates[best][:, at], 1e-12)
        low, high = self._bounds(samples)
        return {
            "baseline": best,
            "ratio": top / bottom if bottom > 0 else None,
            "ci_low": float(low),
            "ci_high": float(high),
        }


def utc_key(seconds: int | pd.Timestamp) -> str:
    """An origin's key: its date when at 00:00 UTC, else its UTC time."""
    stamp = pd.Timestamp(
        int(seconds.timestamp()) if isinstance(seconds, pd.Timestamp) else seconds,
        unit="s",
        tz="UTC",
    )
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else utc(int(stamp.timestamp()))


def _timestamp(value: TimeLike, option: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(unix_seconds(value), unit="s", tz="UTC")
    except (TypeError, ValueError):
        message = f"cannot read {value!r} as a date (ISO 8601) or unix seconds"
        raise RollingError(option, message) from None


def _month_after(seconds: int) -> int:
    stamp = pd.Timestamp(seconds, unit="s", tz="UTC")
    return int((stamp + pd.DateOffset(months=1)).timestamp())


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]
