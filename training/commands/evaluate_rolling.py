"""``advocacy evaluate deskdrop-replay`` with several origins (``--split-at A,B,...`` or
``--rolling monthly --from D --to D``): runs :mod:`training.evaluation.rolling`, prints its
JSON or tables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from training import console

if TYPE_CHECKING:
    from training.evaluation.registry import ModelFactory

#: The option a :class:`~training.evaluation.rolling.RollingError` names, per how origins came.
OPTIONS = {"from": "--from", "to": "--to", "rolling": "--rolling", "until": "--until"}


def wants_rolling(split_at: str | None, rolling: str | None, start: str | None) -> bool:
    """True when the options ask for several origins (a comma list, ``--rolling``, ``--from``)."""
    return rolling is not None or start is not None or (split_at is not None and "," in split_at)


def origins_from_options(
    split_at: str | None, rolling: str | None, start: str | None, end: str | None
) -> list[str | int]:
    """The origins the options give; :class:`RollingError` naming the option otherwise."""
    from training.evaluation.rolling import RollingError, rolling_origins

    if rolling is not None or start is not None or end is not None:
        if split_at is not None:
            raise RollingError("rolling", "give either --split-at or --rolling, not both")
        if start is None or end is None:
            raise RollingError("from" if start is None else "to", "--rolling needs --from and --to")
        return list(rolling_origins(_time(start), _time(end), rolling or "monthly"))
    parts = [p.strip() for p in (split_at or "").split(",") if p.strip()]
    return [_time(p) for p in parts]


def evaluate_rolling(
    data: Path,
    options: dict[str, str | None],
    models: Mapping[str, ModelFactory] | None,
    seed: int,
    as_json: bool,
) -> None:
    """Run the rolling benchmark on the DeskDrop folder ``data`` (``options``: split_at,
    rolling, from, to, until) for ``models`` (None: every registered model) and print it;
    exit code 2 with the option named on bad dates or empty windows."""
    from training.evaluation.protocols import read_deskdrop_events
    from training.evaluation.rolling import RollingError, deskdrop_rolling

    split_at = options["split_at"]
    try:
        if options["until"] is not None:
            raise RollingError("until", "each origin's window ends by itself (a month at most)")
        origins = origins_from_options(split_at, options["rolling"], options["from"], options["to"])
        result = deskdrop_rolling(read_deskdrop_events(data), origins, models, seed=seed)
    except RollingError as exc:
        default = "--split-at" if split_at is not None else "--rolling"
        option = OPTIONS.get(exc.option, default)
        console.errors.print(f"[red]error:[/red] {option}: {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (ValueError, FileNotFoundError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(result)
        return
    print_rolling(result)


def print_rolling(result: dict) -> None:
    """Per origin and model: the metrics with the primary one's interval; the means; the
    reference model's ratio to the best baseline; the pooled slices; each origin's tuned
    choices."""
    protocol = result["protocol"]
    primary = protocol["primary_metric"]
    level = f"{protocol['bootstrap']['level']:.0%}"
    columns = ["origin", "model", primary, f"{level} interval", "hr@10", "mrr", "pairs"]
    rows = []
    for origin, run in result["origins"].items():
        for name, e in _by_primary(run["models"], primary):
            ci = e["ci"][primary]
            pairs = e["slices"]["all"]["n"]
            rows.append(
                [origin, name, _fmt(e[primary]), _ci(ci), _fmt(e["hr@10"]), _fmt(e["mrr"]), pairs]
            )
    for name, m in sorted(result["mean"].items(), key=lambda item: -item[1][primary]["value"]):
        values = [_fmt(m[x]["value"]) for x in (primary, "hr@10", "mrr")]
        rows.append(["mean", name, values[0], _ci(m[primary]), *values[1:], ""])
    title = f"deskdrop-replay, rolling origins (by {primary}; bootstrap over test pairs)"
    console.console.print(console.table(title, columns, rows))
    versus = result["versus"]
    ratios = [
        [origin, v["baseline"], _fmt(v["ratio"]), _ci(v)]
        for origin, v in [*versus["origins"].items(), ("mean", versus["mean"])]
        if v
    ]
    if ratios:
        title = f"{versus['reference']} / best baseline ({versus['metric']})"
        columns = ["origin", "best baseline", "ratio", f"{level} interval"]
        console.console.print(console.table(title, columns, ratios))
    _print_slices(result["pooled_slices"], primary)
    for origin, chosen in (protocol.get("tuned") or {}).items():
        for name, params in chosen.items():
            console.console.print(f"{origin}: {name} tuned before it: {params}", soft_wrap=True)
    for origin, run in result["origins"].items():
        for name, reason in (run["protocol"].get("skipped_models") or {}).items():
            console.console.print(f"{origin}: skipped {name}: {reason}", soft_wrap=True)
    console.console.print(f"{result['seconds']} s")


def _print_slices(pooled: dict[str, dict], primary: str) -> None:
    names = list(pooled)
    if not names:
        return
    slices = list(pooled[names[0]])
    rows = [
        [s, pooled[names[0]][s]["n"], *(_fmt(pooled[m][s][primary]) for m in names)] for s in slices
    ]
    title = f"{primary} per slice, test pairs of every origin together"
    console.console.print(console.table(title, ["slice", "pairs", *names], rows))


def _by_primary(entries: dict[str, dict], primary: str) -> list[tuple[str, dict]]:
    return sorted(entries.items(), key=lambda item: -(item[1].get(primary) or -1.0))


def _ci(values: dict) -> str:
    return f"{_fmt(values['ci_low'])}-{_fmt(values['ci_high'])}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _time(value: str) -> str | int:
    """Unix seconds when ``value`` is a number, else the date/time text (UTC when naive)."""
    try:
        return int(float(value))
    except ValueError:
        return value
