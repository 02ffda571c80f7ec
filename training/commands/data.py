"""``advocacy data ...``: import, generate and inspect the store."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import typer

from features.data.importer import import_path
from features.data.sources import DEFAULT_CHUNK_ROWS
from features.data.store import Store
from features.data.validation import ValidationContext
from features.screening.policy import Policy, PolicyError, resolve_policy
from features.screening.records import screen_pending
from recsys import progress
from training import console

data_app = typer.Typer(help="Import, generate and inspect data.", no_args_is_help=True)

DB_HELP = "Store URL (sqlite:///path.db or postgresql://...); default $ADVOCACY_DB_URL or ./data."


class InputFormat(StrEnum):
    contract = "contract"
    deskdrop = "deskdrop"
    movielens = "movielens"


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@data_app.command("import")
def import_command(
    path: Path = typer.Argument(..., help="A file or folder of contract tables, or a dataset."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    fmt: InputFormat = typer.Option(InputFormat.contract, "--format", help="Layout of PATH."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    future_tolerance: float = typer.Option(
        3600.0, help="Seconds an event time may lie in the future (clock skew)."
    ),
    chunk_rows: int = typer.Option(DEFAULT_CHUNK_ROWS, min=1, help="Rows per batch."),
    policy: Path | None = typer.Option(
        None, "--policy", help="Screening policy for new content (default $ADVOCACY_POLICY)."
    ),
) -> None:
    """Validate and store CSV/Parquet files; screen new or changed content.

    Exit code 0: every row stored; 2: unusable screening policy; 3: some rows rejected
    (valid rows are stored); 4: unusable input (missing file, unknown format or columns).
    """
    try:
        rules = resolve_policy(policy)
    except PolicyError as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    store = Store.open(db)
    context = ValidationContext(datetime.now(UTC), timedelta(seconds=future_tolerance))
    payload = import_and_refresh(
        store, path, fmt=str(fmt), context=context, chunk_rows=chunk_rows, policy=rules
    )
    if as_json:
        console.print_json(payload)
    else:
        console.print_import_report(payload)
    raise typer.Exit(int(payload["exit_code"]))  # type: ignore[call-overload]


def import_and_refresh(
    store: Store,
    path: Path,
    *,
    context: ValidationContext,
    fmt: str = "contract",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    policy: Policy | None = None,
) -> dict[str, object]:
    """Import ``path``, screen new or changed content (``policy``, default
    :func:`~features.screening.policy.resolve_policy`), then bring the program rollups up to
    date for the tables it wrote; the import report with ``screening`` (items screened by
    status), ``screening_seconds`` and ``rollups_seconds`` (both part of ``seconds``)."""
    from features.program import refresh_rollups

    report = import_path(store, path, fmt=fmt, context=context, chunk_rows=chunk_rows)
    written = {table for table, rows in report.accepted.items() if rows}
    started = time.perf_counter()
    with progress.current().stage("screen content"):
        screened = screen_pending(store, policy or resolve_policy())
    screening_seconds = time.perf_counter() - started
    with progress.current().stage("program rollups"):
        refresh = refresh_rollups(store, written)
    payload = report.to_dict()
    payload["screening"] = dict(sorted(screened.by_status.items()))
    payload["screening_seconds"] = round(screening_seconds, 3)
    payload["rollups_seconds"] = round(refresh.seconds, 3)
    payload["seconds"] = round(report.seconds + screening_seconds + refresh.seconds, 3)
    return payload


@data_app.command("generate")
def generate_command(
    out: Path = typer.Option(..., "--out", help="Folder to write the tables to."),
    employees: int = typer.Option(2000, min=1, help="Number of employees."),
    content: int = typer.Option(500, min=1, help="Number of content items."),
    days: int = typer.Option(180, min=1, help="Days of history."),
    seed: int = typer.Option(0, help="Random seed: same seed, same bytes."),
    interactions_per_employee: float = typer.Option(50.0, min=0.0, help="Mean events each."),
    end: str | None = typer.Option(
        None, help="Last day of the data (ISO 8601; naive is UTC); default 2026-11-01."
    ),
    file_format: FileFormat = typer.Option(FileFormat.csv, "--file-format", help="csv or parquet."),
) -> None:
    """Write a synthetic organisation in the contract (and its planted ground truth)."""
    from features.data.synthetic import OrgConfig, generate, write

    options: dict[str, object] = {
        "employees": employees,
        "content": content,
        "days": days,
        "seed": seed,
        "interactions_per_employee": interactions_per_employee,
    }
    if end is not None:
        options["end"] = console.parse_time("--end", end)
    try:
        config = OrgConfig(**options)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    paths = write(generate(config), out, fmt=str(file_format))
    rows = [[p.name, p.stat().st_size] for p in paths]
    console.console.print(console.table(f"Wrote {out}", ["file", "bytes"], rows))


@data_app.command("summary")
def summary_command(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """What the store holds."""
    summary = Store.open(db).summary()
    if as_json:
        console.print_json(summary)
    else:
        console.print_summary(summary)


@data_app.command("export")
def export_command(
    employee: str = typer.Argument(..., help="The employee id."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    out: Path | None = typer.Option(None, "--out", help="Write the JSON here (default stdout)."),
) -> None:
    """Everything stored about one employee, as JSON (every table; see docs/compliance.md)."""
    from features.data.privacy import export_employee

    payload = export_employee(Store.open(db), employee)
    if out is None:
        console.print_json(payload)
        return
    out.write_text(json.dumps(payload, indent=2, default=str))
    tables = payload["tables"]
    rows = sum(len(r) for r in tables.values())  # type: ignore[attr-defined]
    console.console.print(f"Wrote {out}: {rows} rows about {employee}")


@data_app.command("erase")
def erase_command(
    employee: str = typer.Argument(..., help="The employee id."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: the rows cannot be restored."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str = typer.Option(
        os.environ.get("USER", "cli"), "--by", help="Who erases (recorded; default $USER)."
    ),
    model_dir: Path | None = typer.Option(
        None, "--model-dir", help="The served model folder (default: the registry champion)."
    ),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI."),
) -> None:
    """Delete every row about one employee, refuse their id on import until re-enrolled, and
    list the saved models still holding them (``advocacy retrain`` drops them).

    Exit code 0: erased; 2: --yes missing.
    """
    from features.data.privacy import erase_employee
    from training.privacy import models_holding

    if not yes:
        console.errors.print("[red]error:[/red] --yes: erasure cannot be undone; confirm it")
        raise typer.Exit(2)
    erasure = erase_employee(Store.open(db), employee, by=by).to_dict()
    erasure["models"] = models_holding(employee, model_dir=model_dir, tracking_uri=tracking_uri)
    console.print_json(erasure)


@data_app.command("re-enrol")
def re_enrol_command(
    employee: str = typer.Argument(..., help="The employee id."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Remove an erased employee's mark: their rows may be imported again.

    Exit code 0: re-enrolled; 1: the id was not marked erased.
    """
    from features.data.privacy import re_enrol

    if not re_enrol(Store.open(db), employee):
        console.errors.print(f"[red]error:[/red] {employee!r} is not marked erased")
        raise typer.Exit(1)
    console.console.print(f"{employee} re-enrolled: their rows may be imported again")
