"""Shared fixtures of the training, registry and experiment tests (no tests here).

- ``tracking_uri``: a real MLflow backend, parametrised: a SQLite file in a temp folder and a
  fresh PostgreSQL database (created and dropped per test, so MLflow's own tables never meet
  the store tests' schemas);
- ``tiny_org``: a small synthetic organisation (150 employees, 60 items, 60 days) imported
  into a SQLite store once per session;
- ``encoder``: the real all-MiniLM-L6-v2 (vectors are cached in the tiny store).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from features.data.store import Store
from tests.conftest import PG_URL, _unavailable

END = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = "2026-11-01T00:00:00Z"


@pytest.fixture(params=["sqlite", "postgresql"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mlflow.db'}"
        return
    yield from _postgres_tracking()


def _postgres_tracking() -> Iterator[str]:
    name = f"mlflow_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}")
    url = sa.make_url(PG_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def encoder():
    from features.encoder import SentenceTransformerEncoder

    return SentenceTransformerEncoder()


@pytest.fixture(scope="session")
def tiny_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A small organisation in a SQLite store (read-only for the tests)."""
    from features.data.importer import import_path
    from features.data.synthetic import OrgConfig, generate, write
    from features.data.validation import ValidationContext

    folder = tmp_path_factory.mktemp("tiny_org")
    config = OrgConfig(
        employees=150, content=60, days=60, seed=3, end=END, interactions_per_employee=30
    )
    write(generate(config), folder / "org")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    context = ValidationContext(END + timedelta(days=1), timedelta(hours=1))
    report = import_path(store, folder / "org", context=context)
    assert report.exit_code == 0
    yield store
    store.dispose()
