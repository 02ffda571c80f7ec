"""``advocacy analytics``: what the program earned in a period, by any grouping (a table,
``--json`` or ``--csv``), read through ``features.program`` like the service's
``/analytics``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from features.program.request import DEFAULT_ATTRIBUTION_MODEL
from recsys.times import DAY
from training import console
from training.commands.attribution import DB_HELP

DEFAULT_DAYS = 90
SHOWN = (
    ("active_advocates", "active"),
    ("shares", "shares"),
    ("participation_rate", "particip."),
    ("potential_reach", "reach"),
    ("impressions", "impressions"),
    ("engagement_rate", "eng. rate"),
    ("link_clicks", "link clicks"),
    ("emv", "EMV"),
    ("conversions", "conversions"),
    ("attributed_value", "value"),
)


def analytics(
    by: str = typer.Option(
        "",
        "--by",
        help="Comma-separated grouping: department, region, network, content_type, topic,"
        " content, advocate and one of day, week, month (empty: the whole program).",
    ),
    start: str | None = typer.Option(None, "--from", help="Period start (default: 90 days back)."),
    end: str | None = typer.Option(
        None, "--to", help="Period end, exclusive (default: the day after the last share)."
    ),
    model: str = typer.Option(
        DEFAULT_ATTRIBUTION_MODEL, "--model", help="Attribution model of conversions."
    ),
    min_group_size: int = typer.Option(
        5, "--min-group-size", min=0, help="Groups of fewer advocates are suppressed (0: off)."
    ),
    top: int | None = typer.Option(None, "--top", min=1, help="Only the first rows."),
    order_by: str | None = typer.Option(
        None, "--order-by", help="Figure that ranks the rows (e.g. emv, shares, conversions)."
    ),
    ascending: bool = typer.Option(False, "--ascending", help="Smallest first."),
    filters: list[str] = typer.Option(
        [], "--filter", help="DIMENSION=VALUE, e.g. department=Sales (repeatable)."
    ),
    emv_config: Path | None = typer.Option(
        None, "--emv-config", help="EMV rates (YAML; default: the shipped examples)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Participation, shares, reach, engagement, earned media value, conversions and
    attributed value, with the change vs. the previous period of the same length.

    Opted-out advocates never appear by name. Exit codes: 2 usage error (the field named).
    """
    if as_json and as_csv:
        raise console.fail("choose one of --json and --csv")
    from features.data.store import Store
    from features.program import (
        EXAMPLE_CONFIG,
        EmvConfigError,
        ReportRequest,
        RequestError,
        fill_empty_rollups,
        load_emv_config,
        program_report,
    )
    from recsys.attribution import MODELS
    from training.attribution_job import current_credits

    try:
        rates = load_emv_config(emv_config or EXAMPLE_CONFIG)
    except (EmvConfigError, OSError) as exc:
        raise console.fail(f"--emv-config: {exc}") from None
    store = Store.open(db)
    try:
        period_end = console.parse_time("--to", end) or _default_end(store)
        period_start = console.parse_time("--from", start) or period_end - timedelta(
            days=DEFAULT_DAYS
        )
        try:
            request = ReportRequest(
                start=period_start,
                end=period_end,
                group_by=tuple(p.strip() for p in by.split(",") if p.strip()),
                attribution_model=model,
                min_group_size=min_group_size,
                top=top,
                order_by=order_by,
                descending=not ascending,
                filters=_filters(filters),
            )
        except RequestError as exc:
            raise console.fail(f"{_option(exc.field)}: {exc.problem}") from None
        if model not in MODELS:
            raise console.fail(f"--model: unknown {model!r}; one of {', '.join(sorted(MODELS))}")
        fill_empty_rollups(store)
        if current_credits(store, model):
            console.errors.print(f"{model} attribution credits recomputed for the current data")
        try:
            report = program_report(store, request, rates)
        except RequestError as exc:
            raise console.fail(f"{_option(exc.field)}: {exc.problem}") from None
    finally:
        store.dispose()
    if as_json:
        console.print_json(report.to_dict())
    elif as_csv:
        print(report.to_csv(), end="")
    else:
        _print(report.to_dict())


def _default_end(store) -> datetime:
    """Midnight after the last share (or now, if the store has no events)."""
    from features.data.times import utc

    _, last = store.time_range("interactions", "timestamp")
    moment = utc(last).to_pydatetime() if last else datetime.now(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _filters(values: list[str]) -> dict[str, str]:
    found = {}
    for value in values:
        name, sep, wanted = value.partition("=")
        if not sep or not name.strip() or not wanted.strip():
            raise console.fail(f"--filter: expected DIMENSION=VALUE, got {value!r}")
        found[name.strip()] = wanted.strip()
    return found


def _option(field: str) -> str:
    """The CLI option behind a request field."""
    options = {
        "start": "--from",
        "end": "--to",
        "group_by": "--by",
        "attribution_model": "--model",
        "descending": "--ascending",
    }
    if field.startswith("filters"):
        return "--filter " + field.partition(".")[2]
    return options.get(field, "--" + field.replace("_", "-"))


RATES = ("participation_rate", "engagement_rate", "click_through_rate")


def _cell(name: str, value: object) -> str:
    """A figure as the table shows it: rates in percent, money and counts with separators."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{v:,.0f} {c}" for c, v in value.items()) or "0"
    if name in RATES:
        return f"{value:.1%}"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def _print(report: dict) -> None:
    names = report["group_by"]
    columns = [*(names or ["program"]), *(label for _, label in SHOWN)]
    rows = []
    for row in [*report["rows"], {**report["totals"], "key": {}}]:
        key = [str(row["key"].get(n, "total")) for n in names] if names else ["total"]
        if row["suppressed"]:
            rows.append([*key, *(["suppressed"] + [""] * (len(SHOWN) - 1))])
            continue
        figures = row["figures"]
        rows.append([*key, *(_cell(name, figures[name]) for name, _ in SHOWN)])
    period = report["period"]
    title = f"Program {period['start'][:10]} to {period['end'][:10]}"
    console.console.print(console.table(title, columns, rows))
    change = report["totals"]["change"] or {}
    shown = ", ".join(f"{n} {_change(change.get(n))}" for n in ("shares", "emv", "conversions"))
    console.console.print(f"vs. the previous {_days(period)} days: {shown}", soft_wrap=True)
    if report["suppressed"]:
        console.console.print(
            f"{report['suppressed']} groups of fewer than {report['min_group_size']} advocates"
            " suppressed"
        )
    if report["emv"]["rates_are_examples"]:
        console.console.print("EMV rates are the shipped examples: give your own with --emv-config")
    if report["attribution"] is None:
        console.console.print(f"no {report['attribution_model']} attribution run: no conversions")


def _change(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{c} {_change(v)}" for c, v in value.items()) or "-"
    return "-" if value is None else f"{value:+.1%}"


def _days(period: dict) -> int:
    start, end = (datetime.fromisoformat(period[k]) for k in ("start", "end"))
    return round((end - start).total_seconds() / DAY)
