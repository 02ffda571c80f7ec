"""``advocacy train``, ``retrain``, ``rollback`` and ``experiment run``.

Exit codes: ``0`` done (a retrain whose challenger was refused also exits 0: the refusal is
recorded); ``2`` a bad config or option (the message names the key); ``3`` data that fails
validation (nothing registered, no alias moved); ``4`` another retrain holds the lock;
``5`` rollback impossible (no champion, or none before it).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import typer

from training import console
from training.commands.data import DB_HELP

logger = logging.getLogger(__name__)

CONFIG_HELP = "A YAML config (see experiments/configs/); default: every default."
TRACKING_HELP = (
    "MLflow tracking URI (default $MLFLOW_TRACKING_URI, else the embedded SQLite store"
    " in the data folder); postgresql://user@host/db for a PostgreSQL backend."
)
METRICS = ("hr@10", "ndcg@10", "mrr")

experiment_app = typer.Typer(help="Run experiments: config grids as MLflow runs.")


def _config(path: Path | None, sets: list[str] | None = None) -> Any:
    from training.config import ConfigError, load_config, parse_sets

    try:
        overrides = {k: v[0] if len(v) == 1 else v for k, v in parse_sets(sets or []).items()}
        return load_config(path, overrides)
    except ConfigError as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None


def _fail(code: int, message: str) -> typer.Exit:
    console.errors.print(f"[red]error:[/red] {message}", soft_wrap=True)
    return typer.Exit(code)


def train(
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=TRACKING_HELP),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
    sets: list[str] | None = typer.Option(None, "--set", help="Override a key: key=value."),
    out: Path | None = typer.Option(None, "--out", help="Also save the models and JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train the recommender, the influencer scorer and the forecasts on the store; log and
    register them.

    Builds features as of data.as_of (default now), evaluates the model and every baseline
    on the most recent holdout window, fits the shipped models on all the data, logs one
    MLflow run (open for the whole training) and registers versions of advocacy-recommender,
    advocacy-influencers and each forecast (advocacy-lapse: held out on the last monthly
    origin; a forecast with too little history is skipped, and said so). When a model has no
    champion yet, a version that passes the sanity checks becomes it.
    """
    from features.data.store import Store
    from training.datasets import DataValidationError
    from training.pipeline import Stages, load_snapshot
    from training.pipeline import train as run_training

    settings = _config(config, sets)
    if settings.kind != "train":
        raise _fail(2, f"{config}: a {settings.kind} config; use `advocacy experiment run`")
    store = Store.open(db)
    tracker = None
    if not no_track:
        from training.tracking import Tracker

        tracker = Tracker(tracking_uri)
    stages = Stages()
    try:
        with _run(tracker, settings.name) as run_id:
            with stages("snapshot"):
                snapshot = load_snapshot(store, settings)
            result = run_training(snapshot, settings, cache=store, stages=stages)
            tracked = _track(tracker, run_id, result, store.url) if tracker else {}
    except DataValidationError as exc:
        raise _fail(3, str(exc)) from None
    summary: dict[str, Any] = {
        "evaluation": result.evaluation,
        "influencers": result.influence_evaluation,
        **result.forecast_summaries(),
        "sanity": {k: v for k, v in result.sanity.items() if k != "scores"},
        "data": result.profile,
        "seconds": result.seconds,
    }
    if out is not None:
        summary["saved"] = {k: str(v) for k, v in result.save(out).items()}
    summary |= tracked
    if as_json:
        console.print_json(summary)
    else:
        _print_training(summary, settings.recommender.model)


def _run(tracker: Any, name: str) -> AbstractContextManager[str | None]:
    """The training's MLflow run (ended FAILED if the training raises), or no run."""
    return nullcontext(None) if tracker is None else tracker.run(name)


def _track(tracker: Any, run_id: str, result: Any, source: str) -> dict[str, Any]:
    from training.retrain import first_champions
    from training.tracking import log_training, ui_path

    tracked = log_training(tracker, result, run_id=run_id, source=source)
    return {
        "run_id": tracked.run_id,
        "tracking_uri": tracker.tracking_uri,
        "ui_path": ui_path(tracker.experiment_id()),
        "models": tracked.models,
        "versions": tracked.versions,
        "events": first_champions(tracker, result, tracked.versions),
    }


def retrain(
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=TRACKING_HELP),
    sets: list[str] | None = typer.Option(None, "--set", help="Override a key: key=value."),
    lock_file: Path | None = typer.Option(
        None, "--lock-file", help="Lock file (default <data dir>/retrain.lock)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Train a challenger and move `champion` to it only if it wins on the same holdout.

    The challenger and the champion's configuration are evaluated on the same latest holdout
    window; `champion` moves only when the primary metric is not worse beyond gate.tolerance
    and the sanity checks (finite scores, coverage, latency) pass. Every decision is recorded
    in the alias history. Schedule it with cron or a systemd timer (docs/training.md).
    """
    from features.data.store import Store
    from training.datasets import DataValidationError
    from training.retrain import RetrainLocked
    from training.retrain import retrain as run_retrain
    from training.tracking import Tracker

    settings = _config(config, sets)
    if settings.kind != "train":
        raise _fail(2, f"{config}: a {settings.kind} config cannot retrain")
    try:
        report = run_retrain(Store.open(db), settings, Tracker(tracking_uri), lock_path=lock_file)
    except DataValidationError as exc:
        raise _fail(3, f"{exc}; no alias moved") from None
    except RetrainLocked as exc:
        raise _fail(4, str(exc)) from None
    if as_json:
        console.print_json(report.to_dict())
        return
    console.console.print(f"run {report.run_id}; versions {report.versions}")
    rows = [
        [
            name,
            "promoted" if d.promote else "refused",
            _fmt(d.challenger),
            _fmt(d.champion),
            d.reason,
        ]
        for name, d in report.decisions.items()
    ]
    columns = ["model", "decision", "challenger", "champion", "reason"]
    console.console.print(console.table("Gate", columns, rows))
    _print_seconds(report.seconds)


def rollback(
    model: str = typer.Option(
        "recommender",
        "--model",
        help="recommender, influencers, a forecast (lapse, ...) or all (recommender and"
        " influencers).",
    ),
    to: str | None = typer.Option(None, "--to", help="A version (default: the one replaced)."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the alias history)."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=TRACKING_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the events as JSON."),
) -> None:
    """Restore the previous champion (the version the current one replaced)."""
    from training.forecast_jobs import jobs
    from training.registry import INFLUENCERS, RECOMMENDER, NoChampionError, Registry, make_client

    names = {"recommender": [RECOMMENDER], "influencers": [INFLUENCERS]}
    names |= {job.short: [job.name] for job in jobs()}
    names["all"] = [RECOMMENDER, INFLUENCERS]  # as before the forecasts; each on its own
    if model not in names:
        expected = ", ".join(list(names)[:-1])
        raise _fail(2, f"--model: expected {expected} or all, got {model!r}")
    if to is not None and model == "all":
        raise _fail(2, "--to needs one --model")
    registry = Registry(make_client(tracking_uri))
    events = []
    for name in names[model]:
        try:
            events.append(registry.rollback(name, to=to, reason=reason))
        except NoChampionError as exc:
            raise _fail(5, str(exc)) from None
    if as_json:
        console.print_json(events)
        return
    for event in events:
        console.console.print(
            f"{event['model']}: champion {event['previous']} ->"
            f" {event['version']} ({event['reason']})"
        )


@experiment_app.command("run")
def experiment_run(
    configs: list[Path] = typer.Argument(..., help="Config files (experiments/configs/*.yaml)."),
    sets: list[str] | None = typer.Option(
        None, "--set", help="A grid axis key=v1,v2 (repeatable; every combination runs)."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=TRACKING_HELP),
    name: str | None = typer.Option(None, "--name", help="Parent run name."),
    register: bool = typer.Option(False, "--register", help="Register the trained models."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """Run configs (x the --set grid) as child runs of one parent run; compare best first."""
    from features.data.store import Store
    from training.config import ConfigError, parse_sets
    from training.datasets import DataValidationError
    from training.experiment import expand, run_experiment
    from training.tracking import Tracker

    try:
        grid = parse_sets(sets or [])
        points = expand(configs, grid)
    except ConfigError as exc:
        raise _fail(2, str(exc)) from None
    needs_store = any(c.kind == "train" for _, _, c in points)
    store = Store.open(db) if needs_store else None
    try:
        experiment = run_experiment(
            configs,
            grid,
            Tracker(tracking_uri),
            store=store,
            name=name,
            register=register,
        )
    except DataValidationError as exc:
        raise _fail(3, str(exc)) from None
    if as_json:
        console.print_json(experiment.to_dict())
        return
    rows = [
        [
            i,
            Path(r.config).stem,
            _fmt_point(r.overrides),
            r.model,
            f"{r.metric} {_fmt(r.value)}",
            f"{r.seconds:.0f}",
            r.run_id,
        ]
        for i, r in enumerate(experiment.rows, 1)
    ]
    columns = ["#", "config", "overrides", "model", "primary metric", "s", "run id"]
    title = f"Experiment {experiment.parent_run_id} (best first)"
    console.console.print(
        console.table(title, columns, rows), width=max(console.console.width, 150)
    )


# -- printing -----------------------------------------------------------------------------
def _print_training(summary: dict[str, Any], shipped: str) -> None:
    models = summary["evaluation"]["models"]
    rows = []
    for name, entry in models.items():
        for slice_name, values in entry["slices"].items():
            label = f"{name} (shipped)" if name == shipped else name
            rows.append([label, slice_name, *(_fmt(values.get(m)) for m in METRICS), values["n"]])
    columns = ["model", "slice", *METRICS, "pairs"]
    console.console.print(console.table("Holdout window (replay)", columns, rows))
    influencers = summary.get("influencers")
    if influencers:
        entries = influencers["models"]
        keys = [k for k, v in next(iter(entries.values())).items() if _is_number(v)]
        rows = [[name, *(_fmt(entry.get(k)) for k in keys)] for name, entry in entries.items()]
        console.console.print(console.table("Influencer backtest", ["model", *keys], rows))
    from training.forecast_jobs import jobs

    for job in jobs():
        _print_forecast(job, summary.get(job.short) or {})
    sanity = summary["sanity"]
    console.console.print(
        f"sanity: {'passed' if sanity['passed'] else 'FAILED ' + '; '.join(sanity['failures'])}"
        f" (coverage {sanity['coverage']:.3f}, p95 {sanity['latency_p95_ms']:.1f} ms)"
    )
    if "run_id" in summary:
        console.console.print(
            f"MLflow run {summary['run_id']} at {summary['tracking_uri']}; versions"
            f" {summary['versions']}\n  `mlflow ui` on this store shows the training runs at"
            f" http://127.0.0.1:5000/{summary['ui_path']}"
        )
        for event in summary["events"]:
            console.console.print(f"  {event['action']} v{event['version']}: {event['reason']}")
    _print_seconds(summary["seconds"])


def _print_forecast(job: Any, evaluation: dict[str, Any]) -> None:
    """A forecast job's held-out table (its ``columns`` per model), or why it was skipped."""
    if evaluation.get("skipped"):
        console.console.print(f"{job.title} not trained: {evaluation['skipped']}")
        return
    if not evaluation.get("models"):
        return
    rows = [
        [name, *(_fmt(entry.get(k)) for k in job.columns)]
        for name, entry in evaluation["models"].items()
    ]
    console.console.print(console.table(job.caption(evaluation), ["model", *job.columns], rows))


def _print_seconds(seconds: dict[str, float]) -> None:
    rows = [[stage, f"{value:.1f}"] for stage, value in seconds.items()]
    console.console.print(console.table("Seconds per stage", ["stage", "seconds"], rows))


def _is_number(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _fmt_point(point: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in point.items()) or "-"
