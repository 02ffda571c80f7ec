"""Whether the store answers, known without asking it on a request.

:class:`StoreHealth` probes the store (``SELECT 1``) every ``interval`` seconds on a daemon
thread, and at once when a request's store work failed (:meth:`StoreHealth.poke`).
``/readyz``, ``/status`` and the quick refusal of ``/events`` read its last answer, so none
of them waits on a dead store; feeds never touch the store at all.

:func:`is_outage` tells a store that does not answer (connection refused or dropped, the
server shutting down or restarting, a connect or statement timeout, no free pooled
connection, a locked SQLite file) from a fault of the query itself, which stays an error;
:meth:`StoreHealth.guard` turns the first kind into :class:`~serving.errors.StoreUnavailable`
(503 with ``Retry-After``).
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from features.data.store import Store
from serving import metrics
from serving.errors import ServingError, StoreUnavailable

logger = logging.getLogger(__name__)

#: Seconds between two probes of the store.
CHECK_INTERVAL = 2.0
#: SQLite result codes of a file that cannot be used now (busy, locked, I/O, cannot open).
_SQLITE_UNAVAILABLE = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CANTOPEN,
}


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised from) says the store did not answer.

    SQLAlchemy's pool timeouts and invalidated connections; the driver's operational and
    interface errors (psycopg: connection failures, ``admin_shutdown``, ``query_canceled``
    by ``statement_timeout``, too many connections, ...; SQLite: busy, locked, I/O, cannot
    open). A missing table, a constraint or a syntax error is not an outage.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if _outage(seen):
            return True
        seen = seen.__cause__
    return False


def _outage(exc: BaseException) -> bool:
    if isinstance(exc, sa.exc.TimeoutError | sa.exc.DisconnectionError):
        return True
    driver: BaseException | None = exc
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        driver = exc.orig
    if isinstance(driver, sqlite3.Error):
        code = getattr(driver, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in _SQLITE_UNAVAILABLE
    psycopg = sys.modules.get("psycopg")
    errors = () if psycopg is None else (psycopg.OperationalError, psycopg.InterfaceError)
    return isinstance(driver, errors)


def describe(exc: BaseException) -> str:
    """The driver's error type and first line (SQLAlchemy's wrapper and SQL left out)."""
    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")


class StoreHealth:
    """The store's last known reachability, probed in the background (module docstring)."""

    def __init__(
        self, store: Store, clock: Callable[[], datetime], *, interval: float = CHECK_INTERVAL
    ) -> None:
        self.store = store
        self.clock = clock
        self.interval = interval
        self._reachable = True
        self._down_since: datetime | None = None
        self._error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def reachable(self) -> bool:
        """The last probe's answer (True before the first)."""
        return self._reachable

    @property
    def down_since(self) -> datetime | None:
        """When the probes started failing; None while the store answers."""
        return self._down_since

    @property
    def error(self) -> str | None:
        """The last failed probe's exception type and message; None while the store answers."""
        return self._error

    def check(self) -> bool:
        """Probe the store now (through the pool: pre-ping, connect timeout) and record it."""
        try:
            with self.store.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:
            self._record(False, describe(exc))
            return False
        self._record(True, None)
        return True

    def poke(self) -> None:
        """Probe at once (a request's store work just failed) instead of at the next interval."""
        self._wake.set()

    def require(self, message: str) -> None:
        """Raise :class:`StoreUnavailable` with ``message`` while the store is known down:
        an answer at once instead of a wait on a connect timeout."""
        if not self._reachable:
            raise StoreUnavailable(message)

    @contextmanager
    def guard(self, message: str | None = None) -> Iterator[None]:
        """Outages raised inside (:func:`is_outage`) become :class:`StoreUnavailable` and a
        probe at once; every other exception passes unchanged."""
        try:
            yield
        except ServingError:
            raise
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.warning("the store did not answer a request: %s", type(exc).__name__)
            self.poke()
            raise StoreUnavailable(
                message
                or "the store does not answer (restarting or unreachable); nothing was changed,"
                " try again shortly"
            ) from None

    # -- the probe thread -------------------------------------------------------------
    def start(self) -> None:
        """Probe every ``interval`` seconds on a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="advocacy-store-health", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.check()
            except Exception:  # never let the probe thread die
                logger.exception("store probe failed unexpectedly")

    def _record(self, reachable: bool, error: str | None) -> None:
        was = self._reachable
        if not reachable and self._down_since is None:
            self._down_since = self.clock()
        if reachable:
            self._down_since = None
        self._reachable, self._error = reachable, error
        metrics.store_up(reachable)
        if was and not reachable:
            logger.warning(
                "store unreachable (%s): feeds are served from the loaded state, events answer"
                " 503 until it returns",
                error,
            )
        elif reachable and not was:
            logger.info("store reachable again")
