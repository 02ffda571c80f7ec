"""Shared fixtures: stores on SQLite and PostgreSQL, the shared real datasets, a clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa

from features.data.store import Store
from features.data.validation import ValidationContext

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("ADVOCACY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


#: Fixtures (or fixture parameters ``name -> value``) that need the PostgreSQL server.
POSTGRES_FIXTURES = {"pg_store", "module_pg_store"}
POSTGRES_PARAMS = {"store": "postgresql", "tracking_uri": "postgresql"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The markers follow the fixtures, so a new test cannot forget them: ``slow`` on every
    test that reads the real datasets (``shared_data``), ``postgres`` on every test that
    needs the server at 127.0.0.1:5432. Both run by default (CI runs everything); leave
    them out locally with ``-m "not slow"`` / ``-m "not postgres"``."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        if "shared_data" in names:
            item.add_marker(pytest.mark.slow)
        if names & POSTGRES_FIXTURES or any(
            params.get(name) == value for name, value in POSTGRES_PARAMS.items()
        ):
            item.add_marker(pytest.mark.postgres)


def _unavailable(message: str) -> NoReturn:
    """Skip on a user's machine; fail in CI, where everything must be there."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: this must not be skipped)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets in ../shared/data (see its README)."""
    folder = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not folder.is_dir():
        _unavailable(f"real datasets not found at {folder}: set ADVOCACY_SHARED_DATA")
    return folder


@pytest.fixture
def context() -> ValidationContext:
    return ValidationContext(now=NOW, future_tolerance=timedelta(hours=1))


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.dispose()


@contextmanager
def _pg_schema_store() -> Iterator[Store]:
    """A store in a fresh PostgreSQL schema of database ``test``, dropped afterwards."""
    schema_name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}")
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema_name}"})
    store = Store.open(url.render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_store() -> Iterator[Store]:
    """A store in a fresh PostgreSQL schema of database ``test``, dropped afterwards."""
    with _pg_schema_store() as store:
        yield store


@pytest.fixture(scope="module")
def module_pg_store() -> Iterator[Store]:
    """:func:`pg_store` shared by the tests of one module (servers started once)."""
    with _pg_schema_store() as store:
        yield store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Store:
    """The same test on both stores."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)
