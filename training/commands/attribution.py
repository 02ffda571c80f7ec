"""``advocacy attribution``: which shares, advocates, content and networks conversions are
credited to, by one attribution model (a table, ``--json`` or ``--csv``)."""

from __future__ import annotations

import csv
import io

import typer

from features.program.request import DEFAULT_ATTRIBUTION_CHANNEL as DEFAULT_CHANNEL
from features.program.request import DEFAULT_ATTRIBUTION_MODEL as DEFAULT_MODEL
from training import console

DB_HELP = "Database URL (default $ADVOCACY_DB_URL or ./data/advocacy.db)."
BY_CHOICES = ("advocate", "content", "network", "department", "content_type", "share")


def _breakdowns(by: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in by.split(",") if part.strip())
    unknown = [part for part in chosen if part not in BY_CHOICES]
    if unknown or not chosen:
        raise console.fail(
            f"--by: unknown {', '.join(unknown) or '(empty)'}; use {', '.join(BY_CHOICES)}"
        )
    return chosen


def attribution(
    model: str = typer.Option(
        DEFAULT_MODEL,
        "--model",
        help="last_touch, first_touch, linear, time_decay, position_based, markov or shapley.",
    ),
    start: str | None = typer.Option(None, "--from", help="Conversions from (default: first)."),
    end: str | None = typer.Option(None, "--to", help="Conversions before (default: last)."),
    lookback_days: float = typer.Option(30.0, "--lookback-days", help="Path lookback in days."),
    channel: str = typer.Option(
        DEFAULT_CHANNEL, "--channel", help="What data-driven models learn on (a touch attribute)."
    ),
    by: str = typer.Option(
        "advocate,content,network,department", "--by", help=f"Roll-ups: {', '.join(BY_CHOICES)}."
    ),
    top: int = typer.Option(20, "--top", min=1, help="Rows per roll-up."),
    min_group_size: int = typer.Option(
        5, "--min-group-size", min=1, help="Departments with fewer credited advocates are hidden."
    ),
    save: bool = typer.Option(
        True, "--save/--no-save", help="Store the credits for `advocacy analytics`."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Credit conversions to the shares whose links the visitor clicked before converting.

    Opted-out advocates never appear by name. Exit codes: 2 usage error.
    """
    if as_json and as_csv:
        raise console.fail("choose one of --json and --csv")
    breakdowns = _breakdowns(by)
    from features.data.store import Store
    from training.attribution_job import (
        AttributionRequest,
        AttributionRequestError,
        attribute,
        opted_out,
        save_credits,
    )

    try:
        request = AttributionRequest(
            model=model,
            start=console.parse_time("--from", start),
            end=console.parse_time("--to", end),
            lookback_days=lookback_days,
            channel=channel,
        )
    except AttributionRequestError as exc:
        raise console.fail(f"--{exc.field.replace('_', '-')}: {exc.problem}") from None
    store = Store.open(db)
    try:
        result = attribute(store, request)
        if save:
            save_credits(store, result)
        payload = result.to_dict(
            breakdowns, top=top, hidden=opted_out(store), min_group_size=min_group_size
        )
    except AttributionRequestError as exc:
        raise console.fail(str(exc)) from None
    finally:
        store.dispose()
    if as_json:
        console.print_json(payload)
    elif as_csv:
        print(_csv(payload), end="")
    else:
        _print(payload)


def _currencies(payload: dict) -> list[str]:
    found = set(payload["totals"]["attributed_value"])
    for rows in payload["by"].values():
        for row in rows:
            found.update(row.get("value") or {})
    return sorted(found)


def _csv(payload: dict) -> str:
    currencies = _currencies(payload)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["breakdown", "key", "conversions", *(f"value_{c}" for c in currencies)])
    for attribute, rows in payload["by"].items():
        for row in rows:
            value = row.get("value") or {}
            conversions = "" if row.get("suppressed") else row["conversions"]
            writer.writerow(
                [attribute, row[attribute], conversions, *(value.get(c, "") for c in currencies)]
            )
    return out.getvalue()


def _print(payload: dict) -> None:
    totals = payload["totals"]
    console.console.print(
        f"{payload['model']} attribution of {totals['conversions']:,} conversions"
        f" ({payload['start'][:10]} to {payload['end'][:10]}, lookback"
        f" {payload['lookback_days']:g} days): {totals['attributed']:,} attributed,"
        f" {totals['unattributed']:,} without a tracked click"
    )
    currencies = _currencies(payload)
    for attribute, rows in payload["by"].items():
        table_rows = [
            [row[attribute], "suppressed" if row.get("suppressed") else f"{row['conversions']:.2f}"]
            + [f"{(row.get('value') or {}).get(c, 0):,.2f}" for c in currencies]
            for row in rows
        ]
        columns = [attribute, "conversions", *(f"value {c}" for c in currencies)]
        console.console.print(console.table(f"By {attribute}", columns, table_rows))
