"""The DeskDrop time-ordered replay benchmark, with baseline tuning on a validation window.

:func:`~training.evaluation.protocols.deskdrop_replay` after ``split_at`` (default
2016-11-01), optionally up to ``until``. Fit on the events before the split with
:data:`EVENT_WEIGHTS`; then test pairs in time order (a content's first read is not one).
Before the pairs at time ``t``: contents first seen before ``t`` are added (``add_items`` with
their first-seen time, no features) and every log event with time ``< t`` is observed (never
refit). Each (person, ``t``) is ranked once with ``as_of=t`` over its candidates (first
seen before ``t``, not touched by the person before ``t``); ``hr@10``, ``ndcg@10`` and
``mrr`` of the single target (uncut MRR over the whole candidate ranking). Ties follow the
model's ranking (equal scores: catalogue order). Slices ``all``, ``new_content``,
``new_person``, the person's earlier events and the content's age at the pair's time
(:mod:`training.evaluation.replay_slices`).

Tuning (never on test): a registered model in :data:`TUNED` passed as its bare class (the
default model list) has its parameters chosen from a grid (every combination of the listed
values, set with ``set_params``) by ``ndcg@10`` of the same replay on the validation window
:func:`deskdrop_validation_window` (the :data:`VALIDATION_DAYS` before ``split_at``: fit on
the events before the window, score the pairs inside it, nothing at or after ``split_at`` is
read; ties go to the earlier grid point). The grid, the validation figures and the choice are
reported in ``protocol["tuning"]``; the test run uses the chosen values. The bare hybrid also
gets the :data:`HYBRID_EXTRAS` components (``protocol["configs"]``).
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.models.component import COMPONENTS
from recsys.models.covisit import CoVisit
from recsys.models.neighbours import NeighbourTrend
from recsys.times import DAY, TimeLike
from training.evaluation.protocols import (
    CandidateIndex,
    DeskDropReplay,
    deskdrop_replay,
    unix_seconds,
)
from training.evaluation.registry import (
    BENCHMARKS,
    ModelFactory,
    factories,
    is_registered_default,
)
from training.evaluation.replay_slices import slice_masks
from training.evaluation.report import K, fit_model, models_in_progress, result, rounded, utc

logger = logging.getLogger(__name__)

DEFAULT_SPLIT_AT = "2016-11-01"

#: Days before the split scored for tuning (split 2016-11-01: October 2016).
VALIDATION_DAYS = 31

#: DeskDrop event weights (strength of the signal): a comment is worth four views.
EVENT_WEIGHTS: dict[str, float] = {
    "VIEW": 1.0,
    "LIKE": 2.0,
    "BOOKMARK": 2.5,
    "FOLLOW": 3.0,
    "COMMENT CREATED": 4.0,
}

#: Model name -> {parameter: values} tuned on the validation window (module docstring); the
#: grid is every combination, in order. The hybrid's: its two most influential DeskDrop
#: settings in ``experiments/tune_deskdrop.py`` and ``experiments/rolling_tuned_hybrid.py``,
#: the short global trend's half-life (15 min, 30 min, 1 h) and the colleague trend's (6 h,
#: 1 day), its defaults (1 h, 6 h) among them: 6 validation replays per split.
TUNED: dict[str, dict[str, tuple[float, ...]]] = {
    "recent_popular": {
        "half_life_days": (
            *(0.25 / 24, 0.5 / 24, 1 / 24, 2 / 24, 4 / 24, 8 / 24),
            *(0.5, 1.0, 2.0, 4.0, 8.0),
        ),
    },
    "hybrid": {
        "global_trend_short__half_life_days": (0.25 / 24, 0.5 / 24, 1 / 24),
        "colleague_trend__half_life_days": (0.25, 1.0),
    },
}

#: Extra score components of the hybrid on DeskDrop (registered name -> parameters), given to
#: its bare registered class (the default model list) before tuning; reported in
#: ``protocol["configs"]``. ``covisit``: what people read next after the employee's latest
#: items, kept because it lifted the validation days before each of the 7 rolling origins;
#: ``neighbour_trend``: what the employee's nearest co-readers engage with now, kept for the
#: same reason beside it (docs/recommenders.md).
HYBRID_EXTRAS: dict[str, dict[str, object]] = {CoVisit.name: {}, NeighbourTrend.name: {}}


@dataclass(frozen=True)
class ReplaySetup:
    """A replay with everything a model needs: the training Dataset and the weighted log."""

    replay: DeskDropReplay
    log: pd.DataFrame
    content_str: np.ndarray
    dataset: Dataset

    @classmethod
    def build(
        cls, events: pd.DataFrame, split_at: TimeLike, until: TimeLike | None, log: pd.DataFrame
    ) -> ReplaySetup:
        replay = deskdrop_replay(events, split_at, until)
        content_str = np.asarray([str(c) for c in replay.index.content_ids], dtype=object)
        train = log[log["timestamp"].to_numpy() < replay.split_at]
        dataset = deskdrop_dataset(train, replay.index, content_str, replay.split_at)
        return cls(replay, log, content_str, dataset)

    @functools.cached_property
    def masks(self) -> dict[str, np.ndarray]:
        """The slices' masks over the test pairs (:func:`replay_slices.slice_masks`)."""
        return slice_masks(self.replay.pairs, self.log, self.replay.index.first_seen)

    def evaluate(self, model: Recommender) -> tuple[dict[str, dict], dict[str, float]]:
        """Slices of metrics and seconds of the replay of a fitted ``model``."""
        ranks, seconds = replay_ranks(model, self.replay, self.log, self.content_str)
        return self.slices(ranks), seconds

    def slices(self, ranks: np.ndarray) -> dict[str, dict]:
        """Metrics of ``ranks`` (one per test pair) over all pairs and each slice."""
        return {"all": pair_metrics(ranks)} | {
            name: pair_metrics(ranks[mask]) for name, mask in self.masks.items()
        }


def deskdrop_validation_window(split_at: TimeLike, days: float = 14) -> tuple[int, int]:
    """``(start, end)`` unix seconds of the ``days`` before ``split_at``, for tuning.

    ``deskdrop_benchmark(events, split_at=start, until=end)`` fits before ``start`` and scores
    the pairs of ``[start, end)``; no event at or after ``end`` is used (observed events are
    always before the pair's time).
    """
    end = unix_seconds(split_at)
    return end - int(days * DAY), end


def deskdrop_benchmark(
    events: pd.DataFrame,
    models: Mapping[str, ModelFactory] | None = None,
    *,
    split_at: TimeLike = DEFAULT_SPLIT_AT,
    until: TimeLike | None = None,
    tune: bool = True,
) -> dict[str, object]:
    """Time-ordered DeskDrop replay (see the module docstring); ``events`` as read by
    :func:`~training.evaluation.protocols.read_deskdrop_events`."""
    return replay_run(events, models, split_at=split_at, until=until, tune=tune).result


@dataclass(frozen=True)
class ReplayRun:
    """A benchmark's result dict, its setup and each evaluated model's rank per test pair."""

    result: dict[str, object]
    setup: ReplaySetup
    ranks: dict[str, np.ndarray]


def replay_run(
    events: pd.DataFrame,
    models: Mapping[str, ModelFactory] | None = None,
    *,
    split_at: TimeLike = DEFAULT_SPLIT_AT,
    until: TimeLike | None = None,
    tune: bool = True,
) -> ReplayRun:
    """:func:`deskdrop_benchmark` keeping the per-pair ranks (rolling origins resample them)."""
    started = time.perf_counter()
    log = weighted_log(events)
    setup = ReplaySetup.build(events, split_at, until, log)
    results: dict[str, dict[str, object]] = {}
    ranks: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    tuning: dict[str, dict[str, object]] = {}
    configs: dict[str, dict[str, object]] = {}
    for name, factory in models_in_progress(factories(models)):
        default = is_registered_default(name, factory)
        if default and name == "hybrid" and HYBRID_EXTRAS:
            factory = functools.partial(with_extras, factory)
            configs[name] = {"extra_components": HYBRID_EXTRAS}
        if tune and name in TUNED and default:
            factory, tuning[name] = tune_on_validation(events, log, name, factory, split_at)
        strict = models is not None
        model, fit_seconds = fit_model(name, factory, setup.dataset, skipped, strict=strict)
        if model is None:
            continue
        ranks[name], seconds = replay_ranks(model, setup.replay, setup.log, setup.content_str)
        slices = setup.slices(ranks[name])
        overall = {k: v for k, v in slices["all"].items() if k != "n"}
        timing = rounded({"fit": fit_seconds, **seconds})
        results[name] = {**overall, "slices": slices, "seconds": timing}
    protocol = _protocol(setup, skipped, tuning) | {"configs": configs}
    report = result("deskdrop-replay", protocol, results, started)
    return ReplayRun(report, setup, ranks)


def tune_on_validation(
    events: pd.DataFrame, log: pd.DataFrame, name: str, factory: ModelFactory, split_at: TimeLike
) -> tuple[ModelFactory, dict[str, object]]:
    """``factory`` with its :data:`TUNED` parameters chosen on the validation window; the
    report names the parameters, the window, the validation ``ndcg@10`` of each grid point
    (labelled ``parameter=value, ...``) and the chosen values (None: defaults kept)."""
    grid = tuning_grid(TUNED[name])
    start, end = deskdrop_validation_window(split_at, VALIDATION_DAYS)
    report: dict[str, object] = {
        "parameters": list(TUNED[name]),
        "validation_start_utc": utc(start),
        "validation_end_utc": utc(end),
        "metric": "ndcg@10",
    }
    first_event = int(log["timestamp"].min()) if len(log) else end
    if first_event >= start:
        report |= {"chosen": None, "note": "no events before the validation window: defaults"}
        return factory, report
    setup = ReplaySetup.build(events[events["timestamp"] < end], start, end, log)
    if not len(setup.replay.pairs):
        report |= {"chosen": None, "note": "no validation pairs: defaults kept"}
        return factory, report
    scores: dict[str, float] = {}
    for point in grid:
        model = factory().set_params(**point).fit(setup.dataset)
        slices, _ = setup.evaluate(model)
        scores[grid_label(point)] = float(slices["all"]["ndcg@10"])
    values = list(scores.values())
    chosen = grid[max(range(len(grid)), key=lambda j: (values[j], -j))]
    logger.info("deskdrop tuning %s: %s (%s)", name, chosen, scores)
    report |= {"validation_pairs": len(setup.replay.pairs), "grid": scores, "chosen": chosen}
    return functools.partial(_configured, factory, chosen), report


def tuning_grid(values: Mapping[str, tuple[float, ...]]) -> list[dict[str, float]]:
    """Every combination of ``values`` (parameter -> values), the last parameter fastest."""
    return [dict(zip(values, point, strict=True)) for point in itertools.product(*values.values())]


def grid_label(point: Mapping[str, float]) -> str:
    """``parameter=value, ...`` of a grid point (values rounded to 6 decimals)."""
    return ", ".join(f"{k}={round(v, 6)!r}" for k, v in point.items())


def _configured(factory: ModelFactory, params: Mapping[str, float]) -> Recommender:
    return factory().set_params(**params)


def with_extras(factory: ModelFactory) -> Recommender:
    """The hybrid of ``factory`` with the :data:`HYBRID_EXTRAS` components added."""
    extras = tuple(COMPONENTS[n](**p) for n, p in HYBRID_EXTRAS.items())  # type: ignore[arg-type]
    return factory().set_params(extra_components=extras)


def _protocol(
    setup: ReplaySetup, skipped: dict[str, str], tuning: dict[str, dict[str, object]]
) -> dict[str, object]:
    replay, pairs = setup.replay, setup.replay.pairs
    return {
        "split_at": replay.split_at,
        "split_at_utc": utc(replay.split_at),
        "until": replay.until,
        "until_utc": None if replay.until is None else utc(replay.until),
        "train_events": len(setup.dataset.interactions),
        "test_pairs": len(pairs),
        "first_reads_left_out": replay.first_reads,
        "new_content_pairs": int(pairs["new_content"].sum()),
        "new_person_pairs": int(pairs["new_person"].sum()),
        "slice_pairs": {name: int(mask.sum()) for name, mask in setup.masks.items()},
        "mean_candidates": float(pairs["n_candidates"].mean()) if len(pairs) else None,
        "event_weights": EVENT_WEIGHTS,
        "k": K,
        "replay": "observe every event with time < t before scoring pairs at t; no refit",
        "mrr": "uncut: 1 / rank of the target among all its candidates",
        "tuning": tuning,
        "primary_metric": BENCHMARKS["deskdrop-replay"],
        "skipped_models": skipped,
    }


def weighted_log(events: pd.DataFrame) -> pd.DataFrame:
    """The event log in time order (stable) with string ids and a ``weight`` column."""
    weights = events["eventType"].map(EVENT_WEIGHTS)
    unknown = weights.isna()
    if unknown.any():
        logger.warning(
            "deskdrop: %d events of unknown type %s get weight 1",
            unknown.sum(),
            sorted(events.loc[unknown, "eventType"].astype(str).unique()),
        )
    log = pd.DataFrame(
        {
            "timestamp": events["timestamp"].to_numpy(np.int64),
            "person": events["personId"].astype(str).to_numpy(object),
            "content": events["contentId"].astype(str).to_numpy(object),
            "weight": weights.fillna(1.0).to_numpy(np.float32),
        }
    )
    return log.sort_values("timestamp", kind="stable").reset_index(drop=True)


def deskdrop_dataset(
    train: pd.DataFrame, index: CandidateIndex, content_str: np.ndarray, split_at: int
) -> Dataset:
    """Train events; items (first seen before the split) in first-seen order, with times."""
    n_items = int(index.n_available(split_at))
    items = IdMap(content_str[:n_items], "content")
    return Dataset.from_events(
        train["person"].tolist(),
        train["content"].tolist(),
        weights=train["weight"].to_numpy(),
        times=train["timestamp"].to_numpy(),
        items=items,
        item_times=index.first_seen[:n_items],
    )


def replay_ranks(
    model: Recommender, replay: DeskDropReplay, log: pd.DataFrame, content_str: np.ndarray
) -> tuple[np.ndarray, dict[str, float]]:
    """Rank of each test pair's target among its candidates (1 = first)."""
    index = replay.index
    pairs = replay.pairs
    log_times = log["timestamp"].to_numpy(np.int64)
    log_persons = log["person"].to_numpy(object)
    log_contents = log["content"].to_numpy(object)
    log_weights = log["weight"].to_numpy(np.float32)
    times = pairs["timestamp"].to_numpy(np.int64)
    person_pos = pairs["person_pos"].to_numpy(np.int64)
    person_ids = pairs["person_id"].astype(str).to_numpy(object)
    targets = content_str[pairs["content_pos"].to_numpy(np.int64)]
    n_candidates = pairs["n_candidates"].to_numpy(np.int64)
    ranks = np.zeros(len(pairs), np.int64)
    observed = int(np.searchsorted(log_times, replay.split_at, side="left"))
    added = len(model.items_)
    seconds = {"observe": 0.0, "recommend": 0.0}
    boundaries = np.flatnonzero(np.diff(times)) + 1
    for group in np.split(np.arange(len(pairs)), boundaries):
        if not group.size:
            continue
        t = int(times[group[0]])
        clock = time.perf_counter()
        available = int(index.n_available(t))
        if available > added:
            model.add_items(content_str[added:available], times=index.first_seen[added:available])
            added = available
        end = int(np.searchsorted(log_times, t, side="left"))
        if end > observed:
            model.observe(
                log_persons[observed:end],
                log_contents[observed:end],
                log_times[observed:end],
                log_weights[observed:end],
            )
            observed = end
        seconds["observe"] += time.perf_counter() - clock
        clock = time.perf_counter()
        people = list(dict.fromkeys(person_ids[group]))
        # the catalogue is exactly the contents available at t (only added here): rank it all
        every = None if len(model.items_) == available else content_str[:available]
        ranked, _ = model.recommend(
            people, available, candidates=every, as_of=t, exclude_seen=False
        )
        seconds["recommend"] += time.perf_counter() - clock
        by_person = dict(zip(people, ranked, strict=True))
        for row in group:
            order = by_person[person_ids[row]]
            hit = np.flatnonzero(order == targets[row])
            if not hit.size:  # the model dropped the target (e.g. a -inf score): last place
                ranks[row] = int(n_candidates[row])
                continue
            touched = set(content_str[index.touched_before(int(person_pos[row]), t)].tolist())
            skipped = sum(1 for c in order[: hit[0]].tolist() if c in touched) if touched else 0
            ranks[row] = hit[0] + 1 - skipped
    return ranks, seconds


def pair_values(ranks: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pair ``hr@10``, ``ndcg@10`` and reciprocal rank of single-target ranks (1-based)."""
    inside = ranks <= K
    return {
        "hr@10": inside.astype(np.float64),
        "ndcg@10": np.where(inside, 1.0 / np.log2(ranks + 1.0), 0.0),
        "mrr": 1.0 / ranks,
    }


def pair_metrics(ranks: np.ndarray) -> dict[str, object]:
    """HR@10, NDCG@10 and MRR of single-target rankings (ranks 1-based): means of
    :func:`pair_values`."""
    if not ranks.size:
        return {"hr@10": None, "ndcg@10": None, "mrr": None, "n": 0}
    means: dict[str, object] = {m: float(v.mean()) for m, v in pair_values(ranks).items()}
    return means | {"n": int(ranks.size)}
