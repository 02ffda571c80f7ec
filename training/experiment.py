"""Experiments: a grid of configs as child runs under one parent MLflow run, compared.

``run_experiment(configs, grid)`` expands every config file with every combination of the
``--set key=v1,v2`` values (:func:`training.config.grid_points`) and runs each point as a
child run of one parent run (experiment ``advocacy-experiments``):

- ``kind: train`` points are trainings (:func:`training.pipeline.train`) on the store,
  logged as by ``advocacy train`` (models are not registered unless asked);
- ``kind: benchmark`` points run :func:`training.evaluation.runner.run_benchmark` (MovieLens,
  DeskDrop) and log its metrics (``bench.<model>.<metric>``), the result JSON and a plot;
  with ``origins`` or ``rolling`` the DeskDrop rolling-origin benchmark
  (:func:`training.evaluation.rolling.deskdrop_rolling`): the point's run logs the means over
  origins (``bench.<model>.<metric>`` with ``.ci_low`` / ``.ci_high``, and
  ``bench.versus.<origin|mean>.ratio``), and each origin is a child run of it with that
  origin's metrics, tagged ``origin``.

Rows (:class:`Row`) come back best first by each point's primary metric; the parent run gets
the comparison as ``comparison.json`` and the best child's id and value as tags/metrics.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from features.data.store import Store
from features.encoder import TextEncoder
from features.snapshot import Snapshot
from recsys.progress import Progress, resolve
from training.config import (
    BenchmarkConfig,
    Config,
    ConfigError,
    TrainConfig,
    config_yaml,
    flatten,
    grid_points,
    load_config,
)
from training.pipeline import Stages, load_snapshot, make_encoder, train
from training.tracking import Tracker, evaluation_metrics, log_training, metric_key

logger = logging.getLogger(__name__)

EXPERIMENT = "advocacy-experiments"
SHARED_DATA_ENV = "ADVOCACY_SHARED_DATA"


@dataclass
class Row:
    """One point of the grid: its run, config, overrides and primary metric."""

    run_id: str
    config: str
    overrides: dict[str, Any]
    metric: str
    value: float | None
    model: str
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Experiment:
    parent_run_id: str
    rows: list[Row]

    def to_dict(self) -> dict[str, Any]:
        return {"parent_run_id": self.parent_run_id, "rows": [asdict(r) for r in self.rows]}


def expand(
    paths: Sequence[Path], grid: dict[str, list[Any]]
) -> list[tuple[Path, dict[str, Any], Config]]:
    """Every (config file, grid point) validated before anything runs."""
    points = grid_points(grid)
    expanded = []
    for path in paths:
        for point in points:
            try:
                expanded.append((path, point, load_config(path, point)))
            except ConfigError as exc:
                raise ConfigError(f"{exc} (with {point})" if point else str(exc)) from None
    return expanded


def run_experiment(
    paths: Sequence[Path],
    grid: dict[str, list[Any]],
    tracker: Tracker,
    *,
    store: Store | None = None,
    name: str | None = None,
    register: bool = False,
    encoder: TextEncoder | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Experiment:
    """Run the grid as child runs of one parent (module docstring); rows best first.

    ``progress`` (default :func:`recsys.progress.current`) gets the stage "experiment
    child runs", advanced after each child run, and a stage "run <label>" per child."""
    progress = resolve(progress)
    points = expand(paths, grid)
    if any(isinstance(c, TrainConfig) for _, _, c in points) and store is None:
        raise ConfigError("train configs need a store (--db)")
    title = name or "+".join(p.stem for p in paths)
    cached = _Shared(encoder, now)
    rows: list[Row] = []
    with tracker.run(title, experiment=EXPERIMENT) as parent:
        tracker.log_params(parent, {"configs": ",".join(map(str, paths)), "grid": json.dumps(grid)})
        children = progress.stage("experiment child runs", len(points), "runs")
        with children as runs:
            for path, point, config in points:
                label = f"{path.stem}" + "".join(f" {k}={v}" for k, v in point.items())
                with progress.stage(f"run {label}"):
                    row = _point_row(
                        tracker, parent, label, path, point, config, store, register, cached
                    )
                rows.append(row)
                runs.advance()
        rows.sort(key=lambda r: (r.value is None, -(r.value or 0.0)))
        _log_comparison(tracker, parent, rows)
    return Experiment(parent, rows)


@dataclass
class _Shared:
    """What the child runs of one experiment share: encoders and snapshots, loaded once."""

    encoder: TextEncoder | None
    now: datetime | None
    encoders: dict[tuple[str | None, str | None], TextEncoder] = field(default_factory=dict)
    snapshots: dict[object, Snapshot] = field(default_factory=dict)


def _point_row(
    tracker: Tracker,
    parent: str,
    label: str,
    path: Path,
    point: dict[str, Any],
    config: Any,
    store: Store | None,
    register: bool,
    shared: _Shared,
) -> Row:
    """Run one grid point as a child run of ``parent``: train it, or run its benchmark."""
    if not isinstance(config, TrainConfig):
        return _benchmark_point(tracker, parent, label, path, point, config)
    key = (config.features.encoder_model, config.features.encoder_sha256)
    chosen = shared.encoder or shared.encoders.setdefault(key, make_encoder(config))
    moment = config.data.as_of or shared.now
    if moment not in shared.snapshots:
        shared.snapshots[moment] = load_snapshot(store, config, shared.now)  # type: ignore[arg-type]
    snapshot = shared.snapshots[moment]
    return _train_point(
        tracker, parent, label, path, point, config, snapshot, store, chosen, register
    )


def _train_point(
    tracker: Tracker,
    parent: str,
    label: str,
    path: Path,
    point: dict[str, Any],
    config: TrainConfig,
    snapshot: Snapshot,
    store: Store | None,
    encoder: TextEncoder,
    register: bool,
) -> Row:
    stages = Stages()
    with tracker.run(label, parent_run_id=parent, experiment=EXPERIMENT) as run_id:
        result = train(snapshot, config, encoder=encoder, cache=store, stages=stages)
        source = None if store is None else store.url
        tracked = log_training(tracker, result, run_id=run_id, register=register, source=source)
    metric = config.gate.primary_metric
    shipped = result.evaluation["models"][config.recommender.model]
    return Row(
        run_id=tracked.run_id,
        config=str(path),
        overrides=point,
        metric=metric,
        value=result.primary_metric,
        model=config.recommender.model,
        metrics={k: v for k, v in shipped.items() if isinstance(v, int | float)},
        seconds=round(sum(stages.seconds.values()), 3),
    )


def _benchmark_point(
    tracker: Tracker,
    parent: str,
    label: str,
    path: Path,
    point: dict[str, Any],
    config: BenchmarkConfig,
) -> Row:
    from training.evaluation.registry import BENCHMARKS, model_factories, resolve_data
    from training.evaluation.runner import run_benchmark

    data = config.data or Path(os.environ.get(SHARED_DATA_ENV, "../shared/data"))
    factories = None
    if config.models or config.model_params:
        names = config.models or list(model_factories())
        factories = {
            n: _factory(f, config.model_params.get(n, {}))
            for n, f in model_factories(names).items()
        }
    origins = config.origin_list()
    if origins is not None:
        return _rolling_point(tracker, parent, label, path, point, config, data, factories)
    with tracker.run(label, parent_run_id=parent, experiment=EXPERIMENT) as run_id:
        tracker.log_params(run_id, flatten(config))
        result = run_benchmark(
            config.benchmark,
            resolve_data(config.benchmark, data),
            factories,
            split_at=config.split_at,
            until=config.until,
        )
        metrics = evaluation_metrics(result, "bench")
        tracker.log_metrics(run_id, metrics)
        metric = BENCHMARKS[config.benchmark]
        best_model, best = _best(result, metric)
        tracker.set_tags(run_id, {"benchmark": config.benchmark, "best_model": best_model})
        _log_result(tracker, run_id, result, config, result)
    return _benchmark_row(run_id, path, point, metric, (best_model, best), metrics, result)


def _rolling_point(
    tracker: Tracker,
    parent: str,
    label: str,
    path: Path,
    point: dict[str, Any],
    config: BenchmarkConfig,
    data: Path,
    factories: dict[str, Callable[[], Any]] | None,
) -> Row:
    """The rolling-origin benchmark as one run with a child run per origin."""
    from training.evaluation.protocols import read_deskdrop_events
    from training.evaluation.registry import BENCHMARKS, resolve_data
    from training.evaluation.rolling import deskdrop_rolling

    metric = BENCHMARKS[config.benchmark]
    events = read_deskdrop_events(resolve_data(config.benchmark, data))
    with tracker.run(label, parent_run_id=parent, experiment=EXPERIMENT) as run_id:
        tracker.log_params(run_id, flatten(config))
        result: dict[str, Any] = deskdrop_rolling(events, config.origin_list() or [], factories)
        metrics = rolling_metrics(result, "bench")
        tracker.log_metrics(run_id, metrics)
        means = {m: {metric: e[metric]["value"]} for m, e in result["mean"].items()}
        best_model, best = _best({"models": means}, metric)
        tracker.set_tags(run_id, {"benchmark": config.benchmark, "best_model": best_model})
        for origin, single in result["origins"].items():
            _origin_run(tracker, run_id, f"{label} {origin}", origin, single, metric)
        _log_result(tracker, run_id, result, config, {"benchmark": "rolling mean", "models": means})
    return _benchmark_row(run_id, path, point, metric, (best_model, best), metrics, result)


def _benchmark_row(
    run_id: str,
    path: Path,
    point: dict[str, Any],
    metric: str,
    best: tuple[str, float | None],
    metrics: dict[str, float],
    result: dict[str, Any],
) -> Row:
    """The table row of a benchmark run: its best model's value and ``bench.<model>.*``
    metrics."""
    model, value = best
    return Row(
        run_id=run_id,
        config=str(path),
        overrides=point,
        metric=metric,
        value=value,
        model=model,
        metrics={k: v for k, v in metrics.items() if k.startswith(f"bench.{model}.")},
        seconds=float(result.get("seconds") or 0.0),
    )


def _origin_run(
    tracker: Tracker, parent: str, label: str, origin: str, result: dict[str, Any], metric: str
) -> None:
    """One origin of a rolling benchmark as a child run of ``parent``."""
    with tracker.run(label, parent_run_id=parent, experiment=EXPERIMENT) as run_id:
        protocol = result["protocol"]
        params = {"origin": origin, "until": protocol["until_utc"] or ""}
        tracker.log_params(run_id, params | {"test_pairs": str(protocol["test_pairs"])})
        metrics = evaluation_metrics(result, "bench")
        for model, entry in result["models"].items():
            for name, bounds in entry["ci"].items():
                for side, value in bounds.items():
                    metrics[metric_key("bench", model, f"{name}_{side}")] = float(value)
        tracker.log_metrics(run_id, metrics)
        best_model, _ = _best(result, metric)
        tags = {"benchmark": result["benchmark"], "origin": origin, "best_model": best_model}
        tracker.set_tags(run_id, tags)
        with tempfile.TemporaryDirectory() as scratch:
            (Path(scratch) / "result.json").write_text(json.dumps(result, indent=2, default=str))
            tracker.log_artifacts(run_id, Path(scratch))


def rolling_metrics(result: dict[str, Any], prefix: str) -> dict[str, float]:
    """The means over origins (``<prefix>.<model>.<metric>``, ``..._ci_low``, ``..._ci_high``)
    and the reference's ratios (``<prefix>.versus.<origin or mean>.ratio`` and bounds)."""
    metrics: dict[str, float] = {}
    for model, entry in result["mean"].items():
        for name, values in entry.items():
            metrics[metric_key(prefix, model, name)] = float(values["value"])
            for side in ("ci_low", "ci_high"):
                metrics[metric_key(prefix, model, f"{name}_{side}")] = float(values[side])
    versus = result["versus"]
    for origin, ratio in [*versus["origins"].items(), ("mean", versus["mean"])]:
        for side in ("ratio", "ci_low", "ci_high"):
            if ratio and ratio[side] is not None:
                metrics[metric_key(prefix, "versus", origin, side)] = float(ratio[side])
    return metrics


def _log_result(
    tracker: Tracker,
    run_id: str,
    result: dict[str, Any],
    config: BenchmarkConfig,
    plotted: dict[str, Any],
) -> None:
    """``result.json``, ``config.yaml`` and a bar plot of ``plotted`` (runner-shaped)."""
    from training import plots
    from training.evaluation.registry import BENCHMARKS

    metric = BENCHMARKS[config.benchmark]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "result.json").write_text(json.dumps(result, indent=2, default=str))
        (folder / "config.yaml").write_text(config_yaml(config))
        plots.benchmark_plot(
            plotted, metric, folder / f"benchmark_{metric.replace('@', '_at_')}.png"
        )
        tracker.log_artifacts(run_id, folder)


def _factory(cls: Any, params: dict[str, Any]) -> Callable[[], Any]:
    def make() -> Any:
        return cls().set_params(**params)

    return make


def _best(result: dict[str, Any], metric: str) -> tuple[str, float | None]:
    models = result.get("models") or {}
    scored = [(m, e.get(metric)) for m, e in models.items() if e.get(metric) is not None]
    if not scored:
        return "", None
    name, value = max(scored, key=lambda item: item[1])
    return name, float(value)


def _log_comparison(tracker: Tracker, parent: str, rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "comparison.json"
        path.write_text(json.dumps([asdict(r) for r in rows], indent=2, default=str))
        tracker.log_artifacts(parent, Path(scratch))
    if rows and rows[0].value is not None:
        tracker.set_tags(parent, {"best_run_id": rows[0].run_id, "best_metric": rows[0].metric})
        tracker.log_metrics(parent, {"best_value": rows[0].value})
