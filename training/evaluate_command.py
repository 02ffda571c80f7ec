"""``advocacy evaluate BENCHMARK``: offline benchmarks of the recommenders (JSON or a table)."""

from __future__ import annotations

from pathlib import Path

import typer

from training import console

MODELS_HELP = "Comma-separated model names (default: every registered model that can fit)."


def evaluate(
    benchmark: str = typer.Argument(
        ..., help="movielens-100k, movielens-100k-cold or deskdrop-replay."
    ),
    data: Path = typer.Option(
        ..., "--data", help="The benchmark's data (folder/file) or the shared data root."
    ),
    split_at: str | None = typer.Option(
        None,
        "--split-at",
        help="deskdrop-replay: test window start, date or unix s (default 2016-11-01).",
    ),
    until: str | None = typer.Option(
        None, "--until", help="deskdrop-replay: end of the test window (default: the log's end)."
    ),
    models: str | None = typer.Option(None, "--models", help=MODELS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Fit models on a benchmark's training data and print their ranking metrics.

    Exit code 2: unknown benchmark or model, or missing data path.
    """
    from training.evaluation.runner import (
        BENCHMARKS,
        UnknownNameError,
        check_benchmark,
        model_factories,
        resolve_data,
        run_benchmark,
    )

    try:
        check_benchmark(benchmark)
        names = None if models is None else [m.strip() for m in models.split(",") if m.strip()]
        factories = None if names is None else model_factories(names)
        path = resolve_data(benchmark, data)
    except (UnknownNameError, FileNotFoundError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    try:
        window = {"split_at": _time(split_at), "until": _time(until)}
        result = run_benchmark(benchmark, path, factories, **window)
    except (ValueError, FileNotFoundError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(result)
        return
    _print_table(result, BENCHMARKS[benchmark])


def _print_table(result: dict, primary: str) -> None:
    entries: dict[str, dict] = result["models"]
    metrics = [
        m
        for m in ("hr@10", "ndcg@10", "mrr", "map@10", "precision@10", "recall@10", "auc")
        if any(m in e for e in entries.values())
    ]
    ordered = sorted(
        entries.items(),
        key=lambda item: -(item[1].get(primary) if item[1].get(primary) is not None else -1.0),
    )
    rows = [
        [name, *(_fmt(e.get(m)) for m in metrics), *(f"{s:.2f}" for s in e["seconds"].values())]
        for name, e in ordered
    ]
    seconds = next(iter(entries.values()))["seconds"] if entries else {}
    columns = ["model", *metrics, *(f"{s} s" for s in seconds)]
    console.console.print(console.table(f"{result['benchmark']} (by {primary})", columns, rows))
    for name, e in ordered:
        slices = {k: v for k, v in e["slices"].items() if k != "all"}
        for slice_name, values in slices.items():
            shown = ", ".join(f"{m} {_fmt(values.get(m))}" for m in metrics if m in values)
            console.console.print(
                f"{name} ({slice_name}, n={values.get('n')}): {shown}",
                soft_wrap=True,
            )
    skipped = result["protocol"].get("skipped_models") or {}
    for name, reason in skipped.items():
        console.console.print(f"skipped {name}: {reason}", soft_wrap=True)
    console.console.print(f"{result['seconds']} s")


def _time(value: str | None) -> str | int | None:
    """Unix seconds when ``value`` is a number, else the date/time text (UTC when naive)."""
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return value


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
