"""``advocacy evaluate BENCHMARK``: offline benchmarks of the recommenders and of the
micro-influencer scorer (JSON or a table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from training import console

MODELS_HELP = "Comma-separated model names (default: every registered model that can fit)."
INFLUENCE_BENCHMARKS = ("synthetic-influencers", "peerindex")
ATTRIBUTION_BENCHMARK = "synthetic-attribution"
LAPSE_BENCHMARK = "deskdrop-lapse"
CONTENT_BENCHMARK = "uci-facebook"
SYNTHETIC_CONTENT_BENCHMARK = "synthetic-content"
#: --content when not given: synthetic-influencers, synthetic-content.
DEFAULT_CONTENT = {"synthetic-influencers": 500, SYNTHETIC_CONTENT_BENCHMARK: 1000}
PEERINDEX_FILE = Path("peerindex") / "train_public.csv"


def evaluate(
    benchmark: str = typer.Argument(
        ...,
        help="movielens-100k, movielens-100k-cold, deskdrop-replay (recommenders);"
        " synthetic-influencers, peerindex (micro-influencer scorer); synthetic-attribution"
        " (attribution models); deskdrop-lapse (lapse forecast); uci-facebook, synthetic-content"
        " (content performance forecast).",
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="The benchmark's data (folder/file) or the shared data root (required for the"
        " recommender benchmarks; peerindex: the pairs file or the shared data root).",
    ),
    split_at: str | None = typer.Option(
        None,
        "--split-at",
        help="deskdrop-replay: test window start, date or unix s (default 2016-11-01).",
    ),
    until: str | None = typer.Option(
        None, "--until", help="deskdrop-replay: end of the test window (default: the log's end)."
    ),
    windows: str | None = typer.Option(
        None,
        "--windows",
        help="deskdrop-lapse: origins, comma-separated dates (default: month starts of"
        " 2016-04..2016-12).",
    ),
    models: str | None = typer.Option(None, "--models", help=MODELS_HELP),
    train: Path | None = typer.Option(
        None, "--train", help="peerindex: the training pairs file (default: --data)."
    ),
    test: Path | None = typer.Option(
        None, "--test", help="peerindex: test pairs (default: hold out part of --train)."
    ),
    test_fraction: float = typer.Option(
        0.25, "--test-fraction", min=0.01, max=0.99, help="peerindex: held-out share of --train."
    ),
    folds: int | None = typer.Option(
        None,
        "--folds",
        min=2,
        help="peerindex: k-fold cross-validation instead of a hold-out; uci-facebook: folds (5).",
    ),
    repeats: int = typer.Option(
        3, "--repeats", min=1, help="uci-facebook: K-fold repeats (seeds seed, seed+1, ...)."
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        help="peerindex split seed (42) / synthetic organisation seed (0) / uci-facebook (0)"
        " / synthetic-content organisation seed (0).",
    ),
    seeds: str = typer.Option(
        "0,1,2", "--seeds", help="synthetic-attribution: organisation seeds, comma-separated."
    ),
    k: int | None = typer.Option(
        None, "--k", min=1, help="Influence benchmarks: k of precision@k / recall@k."
    ),
    employees: int = typer.Option(
        2000, "--employees", min=50, help="synthetic-influencers, synthetic-content."
    ),
    content: int | None = typer.Option(
        None,
        "--content",
        min=10,
        help="synthetic-influencers (500), synthetic-content (1000): content items.",
    ),
    days: int = typer.Option(
        180, "--days", min=30, help="synthetic-influencers, synthetic-content."
    ),
    interactions_per_employee: float = typer.Option(
        200.0,
        "--interactions-per-employee",
        min=1,
        help="synthetic-influencers, synthetic-content.",
    ),
    horizon_days: float = typer.Option(
        30.0,
        "--horizon-days",
        min=1,
        help="synthetic-influencers, deskdrop-lapse: label window in days.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Fit models on a benchmark's training data and print their metrics.

    Exit code 2: unknown benchmark or model, or missing or unusable data.
    """
    if benchmark == ATTRIBUTION_BENCHMARK:
        _evaluate_attribution(seeds, models, as_json)
        return
    if benchmark == LAPSE_BENCHMARK:
        _evaluate_lapse(data, windows, horizon_days, as_json)
        return
    if benchmark == CONTENT_BENCHMARK:
        split = {"folds": folds or 5, "repeats": repeats, "seed": seed or 0}
        _evaluate_content(data, models, split, as_json)
        return
    org: dict[str, Any] = {
        "employees": employees,
        "content": content or DEFAULT_CONTENT.get(benchmark, 500),
        "days": days,
        "seed": seed or 0,
        "interactions_per_employee": interactions_per_employee,
    }
    if benchmark == SYNTHETIC_CONTENT_BENCHMARK:
        _evaluate_synthetic_content(org, models, as_json)
        return
    if benchmark in INFLUENCE_BENCHMARKS:
        options = {
            "data": data,
            "train": train,
            "test": test,
            "test_fraction": test_fraction,
            "folds": folds,
            "seed": seed,
            "k": k,
            "employees": employees,
            "content": org["content"],
            "days": days,
            "interactions_per_employee": interactions_per_employee,
            "horizon_days": horizon_days,
        }
        _evaluate_influence(benchmark, options, as_json)
        return
    from training.evaluation.runner import BENCHMARKS as RECOMMENDER_BENCHMARKS

    if benchmark not in RECOMMENDER_BENCHMARKS:
        known = ", ".join([*RECOMMENDER_BENCHMARKS, *INFLUENCE_BENCHMARKS])
        console.errors.print(
            f"[red]error:[/red] unknown benchmark {benchmark!r}; known: {known}", soft_wrap=True
        )
        raise typer.Exit(2)
    if data is None:
        console.errors.print(f"[red]error:[/red] {benchmark} needs --data", soft_wrap=True)
        raise typer.Exit(2)
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


def _evaluate_influence(benchmark: str, options: dict, as_json: bool) -> None:
    """Run an influence benchmark (``training.evaluation.influence``) and print it."""
    from training.evaluation.influence import run_peerindex, run_synthetic_influencers

    try:
        if benchmark == "peerindex":
            train = options["train"] or _peerindex_file(options["data"])
            result = run_peerindex(
                train,
                options["test"],
                test_fraction=options["test_fraction"],
                seed=42 if options["seed"] is None else options["seed"],
                folds=options["folds"],
                k=options["k"],
            )
        else:
            result = run_synthetic_influencers(
                employees=options["employees"],
                content=options["content"],
                days=options["days"],
                seed=0 if options["seed"] is None else options["seed"],
                interactions_per_employee=options["interactions_per_employee"],
                k=options["k"],
                horizon_days=options["horizon_days"],
            )
    except (ValueError, FileNotFoundError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(result)
        return
    _print_influence(result)


def _evaluate_attribution(seeds: str, models: str | None, as_json: bool) -> None:
    """Run ``synthetic-attribution`` (``training.evaluation.attribution``) and print it."""
    from recsys.attribution import MODELS
    from training.evaluation.attribution import LEVELS, run_synthetic_attribution

    try:
        chosen = tuple(int(part) for part in seeds.split(",") if part.strip())
    except ValueError:
        console.errors.print(f"[red]error:[/red] --seeds: not integers: {seeds!r}")
        raise typer.Exit(2) from None
    names = None if models is None else tuple(m.strip() for m in models.split(",") if m.strip())
    unknown = sorted(set(names or ()) - set(MODELS))
    if unknown or not chosen:
        what = f"unknown model(s) {', '.join(unknown)}" if unknown else "--seeds: none given"
        console.errors.print(f"[red]error:[/red] {what}; models: {', '.join(sorted(MODELS))}")
        raise typer.Exit(2)
    result = run_synthetic_attribution(seeds=chosen, models=names)
    if as_json:
        console.print_json(result)
        return
    measures = ("spearman", "nae", "spearman_all_clicked")
    columns = ["model", *(f"{lv} {m}" for lv in LEVELS for m in measures)]
    for seed, run in result["seeds"].items():
        rows = [
            [name, *(f"{s[lv][m]:.4f}" for lv in LEVELS for m in measures)]
            for name, s in run["models"].items()
        ]
        console.console.print(console.table(f"seed {seed}: {run['data']}", columns, rows))
    console.console.print(f"goal (beats last_touch on spearman and nae): {result['goal']}")
    console.console.print(f"on spearman_all_clicked and nae: {result['goal_all_clicked']}")
    console.console.print(f"{result['seconds']} s")


def _evaluate_lapse(
    data: Path | None, windows: str | None, horizon_days: float, as_json: bool
) -> None:
    """Run ``deskdrop-lapse`` (``training.evaluation.lapse``) and print it."""
    from training.evaluation.lapse import DEFAULT_WINDOWS, METRICS, deskdrop_lapse
    from training.evaluation.protocols import read_deskdrop_events

    try:
        if data is None:
            raise FileNotFoundError(f"{LAPSE_BENCHMARK} needs --data")
        folder = data / "deskdrop" if (data / "deskdrop").is_dir() else data
        if not folder.exists():
            raise FileNotFoundError(f"data path not found: {data}")
        origins = DEFAULT_WINDOWS if windows is None else _parts(windows)
        result = deskdrop_lapse(read_deskdrop_events(folder), origins, horizon_days=horizon_days)
    except (ValueError, FileNotFoundError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(result)
        return
    columns = ["window", "model", *METRICS, "n", "lapsed"]
    rows = []
    for name, entry in result["models"].items():
        for window, w in entry["windows"].items():
            rows.append([window[:10], name, *(_fmt(w[m]) for m in METRICS), w["n"], w["positives"]])
        rows.append(["mean", name, *(_fmt(entry[m]) for m in METRICS), "", ""])
    title = f"{LAPSE_BENCHMARK} (horizon {horizon_days:g} days)"
    console.console.print(console.table(title, columns, rows))
    for window, reason in result["protocol"]["skipped_windows"].items():
        console.console.print(f"skipped {window}: {reason}", soft_wrap=True)
    console.console.print(f"{result['seconds']} s")


def _evaluate_content(
    data: Path | None, models: str | None, split: dict[str, int], as_json: bool
) -> None:
    """Run ``uci-facebook`` (``training.evaluation.uci_facebook``) and print it."""
    from training.evaluation.uci_facebook import (
        DEFAULT_MODELS,
        METRICS,
        TARGETS,
        data_file,
        uci_facebook,
    )

    try:
        if data is None:
            raise FileNotFoundError(f"{CONTENT_BENCHMARK} needs --data")
        names = DEFAULT_MODELS if models is None else tuple(_parts(models))
        result = uci_facebook(data_file(data), models=names, **split)
    except (ValueError, FileNotFoundError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(result)
        return
    rows = [
        [target.removeprefix("lifetime_"), name, *(_fmt(entry[target][m]) for m in METRICS)]
        for target in TARGETS.values()
        for name, entry in result["models"].items()
    ]
    protocol = result["protocol"]
    title = (
        f"{CONTENT_BENCHMARK} ({protocol['used']} posts, {protocol['folds']}-fold x"
        f" {protocol['repeats']}, {protocol['level']:.0%} intervals)"
    )
    console.console.print(console.table(title, ["target", "model", *METRICS], rows))
    for column, count in protocol["dropped_rows"].items():
        console.console.print(f"dropped {count} post(s) missing {column}", soft_wrap=True)
    console.console.print(f"{result['seconds']} s")


def _evaluate_synthetic_content(org: dict[str, Any], models: str | None, as_json: bool) -> None:
    """Run ``synthetic-content`` (``training.evaluation.content_synthetic``) and print it."""
    from training.evaluation.content_synthetic import (
        DEFAULT_MODELS,
        METRICS,
        OUTCOMES,
        synthetic_content,
    )

    try:
        names = DEFAULT_MODELS if models is None else tuple(_parts(models))
        result = synthetic_content(models=names, **org)
    except ValueError as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(result)
        return
    rows = [
        [target, name, *(_fmt(entry[target][m]) for m in METRICS), entry[target]["n_zero"]]
        for target in OUTCOMES
        for name, entry in result["models"].items()
    ]
    protocol = result["protocol"]
    title = (
        f"{SYNTHETIC_CONTENT_BENCHMARK} ({protocol['train_items']} training / "
        f"{protocol['test_items']} test items, cut-off {protocol['cut_off'][:10]},"
        f" {protocol['level']:.0%} intervals)"
    )
    columns = ["target", "model", *METRICS, "zero"]
    console.console.print(console.table(title, columns, rows))
    console.console.print(f"{result['seconds']} s")


def _parts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _peerindex_file(data: Path | None) -> Path:
    """The pairs file given by --data: the file itself, or inside a (shared data) folder."""
    if data is None:
        raise FileNotFoundError("peerindex needs --train PATH (or --data PATH)")
    if data.is_dir():
        for candidate in (data / PEERINDEX_FILE, data / PEERINDEX_FILE.name):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"peerindex: {PEERINDEX_FILE} not found under {data}")
    return data


def _print_influence(result: dict) -> None:
    metrics = ["auc", "precision@k", "recall@k"]
    entries: dict[str, dict] = result["models"]
    rows = []
    for name, entry in entries.items():
        extra = ""
        if "flagged" in entry:
            extra = f"{entry['flagged']} flagged, precision {_fmt(entry['flagged_precision'])}"
        rows.append([name, *(_fmt(entry.get(m)) for m in metrics), extra])
    k = result["protocol"]["k"]
    title = f"{result['benchmark']} (k={k})"
    console.console.print(console.table(title, ["model", *metrics, "flagged"], rows))
    split = result["protocol"].get("split")
    if split:
        console.console.print(f"split: {split}", soft_wrap=True)
    fairness = result.get("fairness")
    if fairness:
        print_fairness(fairness)
    console.console.print(f"{result['seconds']} s")


def print_fairness(fairness: dict) -> None:
    """Flag rates per group of each dimension (``recsys.influence.flag_rates``), as tables."""
    console.console.print(
        f"flag rate {fairness['rate']:.2%} ({fairness['flagged']} of {fairness['advocates']}"
        " advocates scored; opted-out advocates are never scored)",
        soft_wrap=True,
    )
    for dimension, report in fairness["dimensions"].items():
        rows = [
            [group, g["advocates"], g["flagged"], f"{g['rate']:.2%}"]
            for group, g in report["groups"].items()
        ]
        ratio = report["min_max_ratio"]
        title = f"flag rate by {dimension} (lowest/highest {_fmt(ratio)})"
        console.console.print(
            console.table(title, [dimension, "advocates", "flagged", "rate"], rows)
        )
