"""Printing reports for people (rich) or programs (JSON)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from recsys import times

console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as an error on stderr; the exit to raise (2: a usage error)."""
    errors.print(f"[red]error:[/red] {message}", soft_wrap=True)
    return typer.Exit(code)


def parse_time(option: str, text: str | None) -> datetime | None:
    """``text`` (ISO 8601 with ``Z``, an offset or naive = UTC) as an aware UTC time, or a
    usage error (exit 2) naming ``option``: every time option of the CLI is read here."""
    if text is None:
        return None
    try:
        return times.parse_time(text, field=option)
    except ValueError as exc:
        raise fail(str(exc)) from None


def invoke(command: Callable[..., Any], **given: Any) -> Any:
    """Call a typer command function from code: every option not ``given`` takes its
    command-line default (a new option cannot break the caller)."""
    values = {}
    for name, parameter in inspect.signature(command).parameters.items():
        default = parameter.default
        values[name] = getattr(default, "default", default)
    unknown = sorted(set(given) - set(values))
    if unknown:
        raise TypeError(f"{command.__name__} has no option(s) {unknown}")
    return command(**{**values, **given})


def print_json(payload: object) -> None:
    """JSON on stdout, nothing else, for programs."""
    print(json.dumps(payload, indent=2, default=str))


def table(title: str, columns: list[str], rows: list[list[object]]) -> Table:
    view = Table(title=title, title_justify="left")
    for column in columns:
        view.add_column(column, justify="left" if column == columns[0] else "right")
    for row in rows:
        view.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    return view


def print_import_report(report: Mapping[str, object], *, shown: int = 20) -> None:
    accepted: Mapping[str, int] = report["accepted"]  # type: ignore[assignment]
    rejected: Mapping[str, int] = report["rejected"]  # type: ignore[assignment]
    new_rows: Mapping[str, int] = report["new_rows"]  # type: ignore[assignment]
    rows = [[t, accepted[t], new_rows[t], rejected[t]] for t in accepted]
    if rows:
        console.print(table("Import", ["table", "accepted", "new rows", "rejected"], rows))
    rejections: list[Mapping[str, object]] = report["rejections"]  # type: ignore[assignment]
    if rejections:
        view = table(
            "Rejected rows",
            ["file", "row", "field", "reason", "value", "message"],
            [
                [r["file"], r["row"], r["field"], r["reason"], r["value"], r["message"]]
                for r in rejections[:shown]
            ],
        )
        console.print(view)
        hidden = len(rejections) - shown + int(report["omitted_rejections"])  # type: ignore[arg-type]
        if hidden > 0:
            console.print(f"... and {hidden:,} more rejections (use --json for the full list)")
    for error in report["errors"]:  # type: ignore[attr-defined]
        errors.print(f"[red]error:[/red] {error}", soft_wrap=True)
    screening: Mapping[str, int] = report.get("screening") or {}  # type: ignore[assignment]
    if screening:
        counts = ", ".join(f"{n:,} {status}" for status, n in screening.items())
        note = (
            " (held content waits for `advocacy screening release`)" if "held" in screening else ""
        )
        console.print(f"content screened: {counts}{note}")
    rollups = report.get("rollups_seconds")
    extra = f" (program rollups {rollups} s)" if rollups is not None else ""
    console.print(f"{report['seconds']} s{extra}, exit code {report['exit_code']}")


def print_summary(summary: Mapping[str, object]) -> None:
    rows_per_table: Mapping[str, int] = summary["rows"]  # type: ignore[assignment]
    console.print(
        table(
            f"Store {summary['db']}", ["table", "rows"], [[t, n] for t, n in rows_per_table.items()]
        )
    )
    for key in ("event_types", "approval_status"):
        counts: Mapping[str, int] = summary[key]  # type: ignore[assignment]
        console.print(
            table(
                key.replace("_", " "),
                ["value", "rows"],
                [[k, v] for k, v in sorted(counts.items())],
            )
        )
    console.print(
        f"interactions from {summary['interactions_from']} to {summary['interactions_to']};"
        f" {summary['opted_out']:,} advocates opted out"
    )


def print_feature_summary(summary: Mapping[str, object]) -> None:
    seconds: Mapping[str, float] = summary["seconds"]  # type: ignore[assignment]
    dims: Mapping[str, int] = summary["features"]  # type: ignore[assignment]
    rows = [[stage, dims.get(stage, ""), f"{s:.2f}"] for stage, s in seconds.items()]
    console.print(
        table(f"Features as of {summary['as_of']}", ["stage", "columns", "seconds"], rows)
    )
    console.print(
        f"{summary['items_embedded']:,} items embedded, {summary['items_from_cache']:,} from the"
        f" cache ({summary['model_id']}, {summary['embedding_dims']} dims);"
        f" {summary['content_items']:,} content items; {summary['advocates']:,} advocates,"
        f" {summary['advocates_profiled']:,} profiled (the others opted out)",
        soft_wrap=True,
    )
