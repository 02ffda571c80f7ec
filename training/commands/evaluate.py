"""``advocacy evaluate BENCHMARK``: offline benchmarks of the recommenders and of the
micro-influencer scorer (JSON or a table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from training import console
from training.commands.evaluate_rolling import evaluate_rolling, wants_rolling

MODELS_HELP = "Comma-separated model names (default: every registered model that can fit)."
INFLUENCE_BENCHMARKS = ("synthetic-influencers", "peerindex")
ATTRIBUTION_BENCHMARK = "synthetic-attribution"
LAPSE_BENCHMARK = "deskdrop-lapse"
SLOTS_BENCHMARK = "deskdrop-slots"
CONTENT_BENCHMARK = "uci-facebook"
SYNTHETIC_CONTENT_BENCHMARK = "synthetic-content"
SCREENING_BENCHMARK = "synthetic-screening"
SYNTHETIC_SLOTS_BENCHMARK = "synthetic-slots"
PEERINDEX_FILE = Path("peerindex") / "train_public.csv"
#: The synthetic benchmarks' default organisation: employees, content items, days.
ORG_DEFAULTS: dict[str, tuple[int, int, int]] = {
    "synthetic-influencers": (2000, 500, 180),
    SCREENING_BENCHMARK: (500, 2000, 60),
    SYNTHETIC_SLOTS_BENCHMARK: (1000, 500, 180),
    SYNTHETIC_CONTENT_BENCHMARK: (2000, 1000, 180),
}
#: Every benchmark this command runs besides the recommenders' (training.evaluation.runner).
OTHER_BENCHMARKS = (
    *INFLUENCE_BENCHMARKS,
    ATTRIBUTION_BENCHMARK,
    LAPSE_BENCHMARK,
    SLOTS_BENCHMARK,
    CONTENT_BENCHMARK,
    SYNTHETIC_CONTENT_BENCHMARK,
    SCREENING_BENCHMARK,
    SYNTHETIC_SLOTS_BENCHMARK,
)


def org_sizes(
    benchmark: str, employees: int | None, content: int | None, days: int | None, seed: int | None
) -> dict[str, int]:
    """The synthetic organisation's size and seed: the options given, else the benchmark's
    defaults (:data:`ORG_DEFAULTS`; seed 0)."""
    default_employees, default_content, default_days = ORG_DEFAULTS[benchmark]
    return {
        "employees": employees or default_employees,
        "content": content or default_content,
        "days": days or default_days,
        "seed": seed or 0,
    }


def evaluate(
    benchmark: str = typer.Argument(
        ...,
        help="movielens-100k, movielens-100k-cold, deskdrop-replay (recommenders);"
        " synthetic-influencers, peerindex (micro-influencer scorer); synthetic-attribution"
        " (attribution models); deskdrop-lapse (lapse forecast); deskdrop-slots (best hours to"
        " share); uci-facebook, synthetic-content (content performance forecast);"
        " synthetic-screening (content screening); synthetic-slots (best hours to share vs"
        " planted effects).",
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
        help="deskdrop-replay: test window start, date or unix s (default 2016-11-01); several"
        " comma-separated: one replay per origin (rolling origins).",
    ),
    until: str | None = typer.Option(
        None, "--until", help="deskdrop-replay: end of the test window (default: the log's end)."
    ),
    rolling: str | None = typer.Option(
        None,
        "--rolling",
        help="deskdrop-replay: origins every month start from --from to --to (value: monthly).",
    ),
    start: str | None = typer.Option(
        None, "--from", help="deskdrop-replay --rolling: first origin."
    ),
    end: str | None = typer.Option(None, "--to", help="deskdrop-replay --rolling: last origin."),
    windows: str | None = typer.Option(
        None,
        "--windows",
        help="deskdrop-lapse, deskdrop-slots: origins, comma-separated dates (default: month"
        " starts of 2016-04..2016-12).",
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
        " / synthetic-content organisation seed (0) / deskdrop-replay origins' bootstrap (0).",
    ),
    seeds: str = typer.Option(
        "0,1,2", "--seeds", help="synthetic-attribution: organisation seeds, comma-separated."
    ),
    k: int | None = typer.Option(
        None,
        "--k",
        min=1,
        help="Influence benchmarks: k of precision@k / recall@k; deskdrop-slots: top-k slots (3).",
    ),
    group: str = typer.Option(
        "region", "--group", help="deskdrop-slots: advocates' group: region, country or none."
    ),
    employees: int | None = typer.Option(
        None,
        "--employees",
        min=50,
        help="synthetic-influencers (2000), synthetic-screening (500), synthetic-slots (1000),"
        " synthetic-content (2000).",
    ),
    content: int | None = typer.Option(
        None,
        "--content",
        min=10,
        help="synthetic-influencers (500), synthetic-screening (2000), synthetic-slots (500),"
        " synthetic-content (1000).",
    ),
    days: int | None = typer.Option(
        None,
        "--days",
        min=30,
        help="synthetic-influencers (180), synthetic-screening (60), synthetic-slots (180),"
        " synthetic-content (180).",
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
        help="synthetic-influencers, deskdrop-lapse, deskdrop-slots: label window in days.",
    ),
    violation_rate: float = typer.Option(
        0.2,
        "--violation-rate",
        min=0.01,
        max=1.0,
        help="synthetic-screening: share of content with a planted violation.",
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="synthetic-screening: the screening policy (the shipped example)."
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
    if benchmark == SCREENING_BENCHMARK:
        sizes = org_sizes(benchmark, employees, content, days, seed)
        _evaluate_screening(sizes, policy, violation_rate, as_json)
        return
    if benchmark == SYNTHETIC_SLOTS_BENCHMARK:
        sizes = org_sizes(benchmark, employees, content, days, seed)
        _evaluate_synthetic_slots(sizes, k or 3, as_json)
        return
    if benchmark == SLOTS_BENCHMARK:
        options = {"k": k or 3, "horizon_days": horizon_days, "group": group}
        _evaluate_slots(data, windows, options, as_json)
        return
    if benchmark == CONTENT_BENCHMARK:
        split = {"folds": folds or 5, "repeats": repeats, "seed": seed or 0}
        _evaluate_content(data, models, split, as_json)
        return
    if benchmark == SYNTHETIC_CONTENT_BENCHMARK:
        org: dict[str, Any] = {
            **org_sizes(benchmark, employees, content, days, seed),
            "interactions_per_employee": interactions_per_employee,
        }
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
            "content": content,
            "days": days,
            "interactions_per_employee": interactions_per_employee,
            "horizon_days": horizon_days,
        }
        _evaluate_influence(benchmark, options, as_json)
        return
    from training.evaluation.runner import BENCHMARKS as RECOMMENDER_BENCHMARKS

    if benchmark not in RECOMMENDER_BENCHMARKS:
        known = ", ".join([*RECOMMENDER_BENCHMARKS, *OTHER_BENCHMARKS])
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
    if benchmark == "deskdrop-replay" and wants_rolling(split_at, rolling, start):
        window_options = {"split_at": split_at, "rolling": rolling, "from": start, "to": end}
        evaluate_rolling(path, window_options | {"until": until}, factories, seed or 0, as_json)
        return
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
            sizes = org_sizes(
                benchmark, options["employees"], options["content"], options["days"], None
            )
            result = run_synthetic_influencers(
                employees=sizes["employees"],
                content=sizes["content"],
                days=sizes["days"],
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
        folder = _deskdrop_folder(data, LAPSE_BENCHMARK)
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


def _deskdrop_folder(data: Path | None, benchmark: str) -> Path:
    """The DeskDrop folder given by --data: ``deskdrop/`` under a shared data root, or itself."""
    if data is None:
        raise FileNotFoundError(f"{benchmark} needs --data")
    folder = data / "deskdrop" if (data / "deskdrop").is_dir() else data
    if not folder.exists():
        raise FileNotFoundError(f"data path not found: {data}")
    return folder


def _evaluate_slots(
    data: Path | None, windows: str | None, options: dict[str, Any], as_json: bool
) -> None:
    """Run ``deskdrop-slots`` (``training.evaluation.slots``) and print it."""
    from features.data.sources import InputError
    from training.evaluation.slots import DEFAULT_WINDOWS, METRICS, deskdrop_slots, read_slot_events

    try:
        folder = _deskdrop_folder(data, SLOTS_BENCHMARK)
        origins = DEFAULT_WINDOWS if windows is None else _parts(windows)
        result = deskdrop_slots(read_slot_events(folder), origins, **options)
    except (ValueError, FileNotFoundError, InputError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(result)
        return
    k = options["k"]
    columns = ["window", "model", *(m.replace("@k", f"@{k}") for m in METRICS), "n", "hours"]
    rows = []
    for name, entry in result["models"].items():
        for window, w in entry["windows"].items():
            rows.append([window[:10], name, *(_fmt(w[m]) for m in METRICS), w["n"], w["hours"]])
        rows.append(["mean", name, *(_fmt(entry[m]) for m in METRICS), "", ""])
    title = f"{SLOTS_BENCHMARK} (top {k} hour-of-week slots, group {options['group']})"
    console.console.print(console.table(title, columns, rows))
    for name, v in result["models"]["pooled"]["versus"].items():
        console.console.print(
            f"next event, pooled vs {name}: {v['pooled_only']} advocate-windows hit by pooled"
            f" only, {v['baseline_only']} by {name} only (sign test p={v['sign_test_p']:.3g})",
            soft_wrap=True,
        )
    console.console.print(f"{result['seconds']} s")


def _evaluate_synthetic_slots(sizes: dict[str, int], k: int, as_json: bool) -> None:
    """Run ``synthetic-slots`` (``training.evaluation.slots_synthetic``) and print it."""
    from training.evaluation.slots_synthetic import METRICS, synthetic_slots

    try:
        result = synthetic_slots(**sizes, k=k)
    except ValueError as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(result)
        return
    columns = ["model", *(m.replace("@k", f"@{k}") for m in METRICS), "pairs"]
    rows = [
        [name, *(_fmt(entry[m]) for m in METRICS), entry["pairs"]]
        for name, entry in result["models"].items()
    ]
    protocol = result["protocol"]
    title = (
        f"{SYNTHETIC_SLOTS_BENCHMARK} ({protocol['shares_fitted']} shares before"
        f" {protocol['cut_off'][:10]}, within@1 = {1 - protocol['within']:.0%} of the best)"
    )
    console.console.print(console.table(title, columns, rows))
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


def _evaluate_screening(
    sizes: dict[str, int], policy: Path | None, rate: float, as_json: bool
) -> None:
    """Run ``synthetic-screening`` (``training.evaluation.screening``) and print it."""
    from features.screening.policy import EXAMPLE_POLICY, PolicyError
    from training.evaluation.screening import synthetic_screening

    try:
        result = synthetic_screening(**sizes, rate=rate, policy=policy or EXAMPLE_POLICY)
    except (PolicyError, ValueError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(result)
        return
    metrics = result["models"]["screen"]
    rows = [
        [kind, metrics["planted"][kind], _fmt(value)] for kind, value in metrics["recall"].items()
    ]
    protocol = result["protocol"]
    title = f"{SCREENING_BENCHMARK} ({protocol['items']} items, {protocol['planted']} planted)"
    console.console.print(console.table(title, ["kind", "planted", "recall"], rows))
    rows = [[name, _fmt(value)] for name, value in metrics["precision"].items()]
    console.console.print(console.table("precision per detector", ["detector", "precision"], rows))
    console.console.print(
        f"false holds {metrics['false_holds']:.2%} of {metrics['clean_items']} clean items;"
        f" goal met: {metrics['goal_met']}; {protocol['screen_ms_per_item']} ms per item"
    )


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
