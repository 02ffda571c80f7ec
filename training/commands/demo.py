"""``advocacy demo``: the main job on the embedded defaults, start to end.

Generate an organisation, import it into the default SQLite store, train the recommender and
the influencer scorer with MLflow tracking in the data folder (the first versions become the
``champion``s), record the influencer score history every :data:`HISTORY_EVERY_DAYS` days over
the generated history (the console's score charts), then serve them with BentoML on localhost
and print working curl examples.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import typer

from features.data.store import Store, data_dir, default_db_url
from features.data.validation import ValidationContext
from training import console
from training.commands.data import import_and_refresh

STEPS = 4
HISTORY_EVERY_DAYS = 14
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "experiments" / "configs" / "demo.yaml"


def demo(
    employees: int = typer.Option(2000, min=10, help="Employees in the synthetic organisation."),
    content: int = typer.Option(500, min=10, help="Content items."),
    days: int = typer.Option(120, min=7, help="Days of history, ending today."),
    seed: int = typer.Option(7, help="Random seed."),
    fresh: bool = typer.Option(
        True, help="Start afresh: delete the default SQLite store and the demo's MLflow store."
    ),
    config: Path = typer.Option(
        DEMO_CONFIG, "--config", "-c", help="Training config (every baseline, demo speed)."
    ),
    train: bool = typer.Option(True, help="Train, track and register the models."),
    serve: bool = typer.Option(True, help="Serve the champions on localhost when trained."),
    port: int = typer.Option(3000, "--port", "-p", min=1, max=65535, help="HTTP port."),
) -> None:
    """Generate an organisation, import it, train and register the models, serve them.

    The store is ./data/advocacy.db (or $ADVOCACY_DB_URL), MLflow tracking is the embedded
    SQLite store under ./data (or $MLFLOW_TRACKING_URI); with --fresh (the default) both local
    stores are deleted first, so the demo always starts clean. The server runs until Ctrl-C.
    """
    from features.data.synthetic import OrgConfig, generate, write

    folder = data_dir() / "demo"
    url = default_db_url()
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
        _delete_sqlite(url)
        _delete_local_tracking()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    org = OrgConfig(employees=employees, content=content, days=days, seed=seed, end=today)
    _step(1, f"generating {employees:,} employees, {content:,} items, {days} days")
    write(generate(org), folder / "org")
    store = Store.open(url)
    _step(2, f"importing into {store.url}")
    context = ValidationContext(datetime.now(UTC), timedelta(hours=1))
    report = import_and_refresh(store, folder / "org", context=context)
    console.print_import_report(report)
    if report["exit_code"]:
        raise typer.Exit(int(report["exit_code"]))  # type: ignore[call-overload]
    console.print_summary(store.summary())
    if not train:
        return
    _step(3, "training, evaluating on the latest holdout, tracking and registering")
    _train(config)
    _record_history(days)
    if serve:
        _step(4, f"serving the champions on http://127.0.0.1:{port} (Ctrl-C stops)")
        _serve(port)


def _step(number: int, text: str) -> None:
    console.console.print(f"[bold]{number}/{STEPS}[/bold] {text}")


def _train(config: Path) -> None:
    from training.commands.train import train

    console.invoke(train, config=config)


def _record_history(days: int) -> None:
    """The influencer champion's scores every ``HISTORY_EVERY_DAYS`` over ``days``; a note
    instead when there is no champion to score with."""
    from training.commands.influencers import history

    try:
        console.invoke(history, every_days=HISTORY_EVERY_DAYS, since_days=days)
    except typer.Exit as exc:
        if exc.exit_code:
            console.console.print("no influencer score history recorded (see the error above)")


def _serve(port: int) -> None:
    from training.commands.serve import serve

    console.invoke(serve, port=port, host="127.0.0.1", new_tokens=True)


def _delete_sqlite(url: str) -> None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)


def _delete_local_tracking() -> None:
    """The embedded MLflow store under the data folder (left alone when configured elsewhere)."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return
    _delete_sqlite(f"sqlite:///{data_dir() / 'mlflow.db'}")
    if not os.environ.get("ADVOCACY_ARTIFACT_ROOT"):
        shutil.rmtree(data_dir() / "mlartifacts", ignore_errors=True)
