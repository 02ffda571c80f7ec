"""``advocacy demo``: the main job on the embedded defaults, start to end."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import typer

from features.data.importer import import_path
from features.data.store import Store, data_dir, default_db_url
from features.data.validation import ValidationContext
from training import console


def demo(
    employees: int = typer.Option(2000, min=10, help="Employees in the synthetic organisation."),
    content: int = typer.Option(500, min=10, help="Content items."),
    days: int = typer.Option(120, min=7, help="Days of history, ending today."),
    seed: int = typer.Option(7, help="Random seed."),
    fresh: bool = typer.Option(
        True, help="Start the default store afresh (deletes it if it is a SQLite file)."
    ),
) -> None:
    """Generate an organisation, import it into the default store, print a summary.

    The default store is ./data/advocacy.db (or $ADVOCACY_DB_URL); with --fresh (the
    default) a SQLite store is deleted first, so the demo always starts clean.
    """
    from features.data.synthetic import OrgConfig, generate, write

    folder = data_dir() / "demo"
    url = default_db_url()
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
        _delete_sqlite(url)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    config = OrgConfig(employees=employees, content=content, days=days, seed=seed, end=today)
    console.console.print(f"1/3 generating {employees:,} employees, {content:,} items, {days} days")
    write(generate(config), folder / "org")
    store = Store.open(url)
    console.console.print(f"2/3 importing into {store.url}")
    context = ValidationContext(datetime.now(UTC), timedelta(hours=1))
    report = import_path(store, folder / "org", context=context)
    console.print_import_report(report.to_dict())
    if report.exit_code:
        raise typer.Exit(report.exit_code)
    console.console.print("3/3 store summary")
    console.print_summary(store.summary())


def _delete_sqlite(url: str) -> None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
