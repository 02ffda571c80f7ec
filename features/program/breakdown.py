"""Computing a report's rows and totals: the queries of each period and the privacy rules.

A report needs the sums of two periods (:class:`Sums` per period) for its rows and for its
totals. These are independent, so they run :data:`WORKERS` at a time besides the calling
thread, each on its own connection (SQLite readers do not block each other in WAL mode;
the drivers release the GIL while a query runs; an in-memory SQLite store runs them one
after the other). Previous-period rows that depend on which current rows are kept (a
``top`` cut, or rows keyed by advocate or content, whose previous sums are read for the
kept keys only) wait for the current rows. When the rows of both periods cover every share
once, the totals add up the rows' sums and query only their distinct counts, enrolment and
content.

Privacy rules (see :mod:`features.program.report`) are applied here: ``private`` scopes for
groupings that name advocates, k-suppression of rows, previous figures and filtered totals.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from features.data.store import Store
from features.program import aggregates
from features.program.aggregates import Key, Scope
from features.program.emv import EmvConfig
from features.program.figures import (
    DISTINCT,
    CreditSums,
    Figures,
    ShareSums,
    figures_of,
    merged_credits,
    merged_shares,
)
from features.program.periods import Buckets, Window
from features.program.request import INDIVIDUAL, ReportRequest

WORKERS = 2
"""Queries run at once besides the calling thread's (the benchmark machine has 2 cores)."""

Result = TypeVar("Result")


@dataclass(frozen=True)
class Row:
    """A computed row: key values, figures (None: suppressed), previous figures."""

    key: Key
    suppressed: bool
    figures: Figures | None
    previous: Figures | None = None
    previous_suppressed: bool = False


@dataclass(frozen=True)
class Sums:
    """What the database returned for one scope, from which any key's figures follow."""

    scope: Scope
    buckets: Buckets
    shares: Mapping[Key, ShareSums]
    credits: Mapping[Key, CreditSums] | None  # None: the attribution model has no run
    enrolled: Mapping[Key, int]
    available: Mapping[Key, int]

    def active_keys(self) -> list[Key]:
        """The groups with a share or a credit."""
        return list({**self.shares, **(self.credits or {})})

    def figures(self, key: Key, rates: EmvConfig) -> Figures:
        """The figures of group ``key`` (a group without activity has zero sums)."""
        dims = self.scope.dimensions
        position = self.buckets.index(key[-1]) if self.scope.grain else 0
        advocate = tuple(key[i] for i, d in enumerate(dims) if d in aggregates.ADVOCATE_DIMENSIONS)
        content = tuple(key[i] for i, d in enumerate(dims) if d in aggregates.CONTENT_DIMENSIONS)
        return figures_of(
            self.shares.get(key, ShareSums()),
            None if self.credits is None else self.credits.get(key, CreditSums()),
            enrolled=self.enrolled.get((*advocate, position), 0),
            available=self.available.get((*content, position), 0),
            weeks=self.buckets.weeks(position),
            rates=rates,
        )


class Breakdown:
    """One report's computation over a store."""

    def __init__(
        self,
        store: Store,
        request: ReportRequest,
        rates: EmvConfig,
        model: str | None,
        order_by: str | None,
    ) -> None:
        self.store = store
        self.request = request
        self.rates = rates
        self.model = model  # None: no attribution run
        self.order_by = order_by
        self.k = request.min_group_size
        self.window = Window(request.start, request.end)
        self.buckets = Buckets.of(request.start, request.end, request.grain)
        self.whole = Buckets.of(request.start, request.end, None)
        self.dialect = store.engine.dialect.name

    def run(self) -> tuple[list[Row], int, Row]:
        """The kept rows, how many groups were suppressed, and the totals."""
        periods = (self.window, self.window.previous())
        with self._executor() as pool:
            if self._rows_partition_shares:
                extras = [pool.submit(self._connected, self._totals_extras, w) for w in periods]
                rows, suppressed, sums = self._rows(pool)
                totals = [self._merged(s, e.result()) for s, e in zip(sums, extras, strict=True)]
            else:
                gathered = [
                    pool.submit(
                        self._connected, self.gather, self._totals_scope(w), [()], self.whole
                    )
                    for w in periods
                ]
                rows, suppressed, _ = self._rows(pool)
                totals = [future.result() for future in gathered]
            return rows, suppressed, self._totals(*totals)

    def _executor(self) -> ThreadPoolExecutor | _InThread:
        """Worker threads, unless the store is an in-memory SQLite database (each thread's
        connection would open another, empty one)."""
        url = self.store.engine.url
        if self.dialect == "sqlite" and url.database in (None, "", ":memory:"):
            return _InThread()
        return ThreadPoolExecutor(max_workers=WORKERS)

    @property
    def _rows_partition_shares(self) -> bool:
        """True when the rows' sums of both periods cover every share of the totals once.

        That is, every group of both periods is read (no top cut, no per-key reads), none is
        left out (rows do not name advocates) and no share counts twice (no topics). The
        totals then need only their distinct counts, enrolment and content from the database.
        """
        request = self.request
        scope = self._scope(self.window)
        return (
            bool(request.group_by)
            and request.top is None
            and _largest(scope) is None
            and not request.names_advocates
            and "topic" not in request.dimensions
        )

    # -- rows ---------------------------------------------------------------------------
    def _rows(
        self, pool: ThreadPoolExecutor | _InThread
    ) -> tuple[list[Row], int, tuple[Sums, Sums] | None]:
        """The kept rows, how many were suppressed, and the sums of both periods."""
        if not self.request.group_by:
            return [], 0, None
        current = self._scope(self.window)
        previous = self._scope(self.window.previous())
        early: Future[Sums] | None = None
        if self.request.top is None and _largest(current) is None:
            early = pool.submit(self._connected, self.gather, previous, None, self.buckets)
        with self.store.engine.connect() as conn:
            top = self._ranked_in_sql(conn, current)
            sums = self.gather(conn, current, top, self.buckets)
            keys = top or sums.active_keys()
            rows = self._ordered([self._row(key, sums) for key in keys])
            suppressed = sum(row.suppressed for row in rows)
            rows = rows[: self.request.top]
            kept = [row.key for row in rows if not row.suppressed]
            before = early.result() if early else self.gather(conn, previous, kept, self.buckets)
        return [self._with_previous(row, before) for row in rows], suppressed, (sums, before)

    def _ranked_in_sql(self, conn: Connection, scope: Scope) -> list[Key] | None:
        """The top keys ranked by the database, when that gives the rows Python would keep."""
        request = self.request
        if request.top is None or self._suppressible or not request.descending:
            return None
        top = aggregates.ranked_keys(
            conn, scope, self.rates, self.model, self.order_by, request.top
        )
        if top is None or len(top) < request.top:
            return None  # groups without a share (or credit) may belong to the top
        return top

    @property
    def _suppressible(self) -> bool:
        """Rows are k-suppressed unless they name advocates (individual by design)."""
        return self.k > 0 and not self.request.names_advocates

    def _row(self, key: Key, sums: Sums) -> Row:
        """The row of ``key``; a suppressed one is not worked out at all."""
        active = sums.shares[key].active_advocates if key in sums.shares else 0
        if self._suppressible and active < self.k:
            return Row(key, True, None)
        return Row(key, False, sums.figures(key, self.rates))

    def _with_previous(self, row: Row, before: Sums, suppressible: bool | None = None) -> Row:
        if row.suppressed:
            return row
        previous = before.figures(row.key, self.rates)
        suppressible = self._suppressible if suppressible is None else suppressible
        hidden = suppressible and previous.active_advocates < self.k
        return replace(row, previous=None if hidden else previous, previous_suppressed=hidden)

    def _ordered(self, rows: list[Row]) -> list[Row]:
        """By ``order_by`` (unknown values, then suppressed rows last; ties by key), or key."""
        descending = self.request.descending

        def order(row: Row) -> tuple:
            key = sortable(row.key)
            if self.order_by is None:
                return (key,)
            value = None if row.figures is None else row.figures.get(self.order_by)
            if value is None:
                return (row.figures is None, True, 0.0, key)
            return (False, False, -value if descending else value, key)

        return sorted(rows, key=order)

    # -- totals -------------------------------------------------------------------------
    def _totals(self, now: Sums, before: Sums) -> Row:
        """Filtered totals are a group (k-suppressed unless filtered by advocate)."""
        filters = self.request.filters
        suppressible = self.k > 0 and bool(filters) and INDIVIDUAL not in filters
        figures = now.figures((), self.rates)
        if suppressible and figures.active_advocates < self.k:
            return Row((), True, None)
        return self._with_previous(Row((), False, figures), before, suppressible)

    def _totals_extras(self, conn: Connection, window: Window) -> Sums:
        """The totals' distinct counts, enrolment and available content (see _merged)."""
        scope = self._totals_scope(window)
        distinct = aggregates.distinct_counts(conn, scope)
        shares = {(): ShareSums(**distinct)}
        enrolled = aggregates.enrolled_counts(conn, scope, self.whole)
        available = aggregates.available_counts(conn, scope, self.whole)
        return Sums(scope, self.whole, shares, None, enrolled, available)

    def _merged(self, rows: Sums, extras: Sums) -> Sums:
        """Totals from the sums of rows that partition the shares, and the extras."""
        distinct = {name: getattr(extras.shares[()], name) for name in DISTINCT}
        shares = {(): merged_shares(rows.shares.values(), distinct)}
        credits = None if rows.credits is None else {(): merged_credits(rows.credits.values())}
        return replace(extras, shares=shares, credits=credits)

    def _totals_scope(self, window: Window) -> Scope:
        """The whole period: the request's filters, no grouping."""
        filters = self.request.filters
        return Scope(window, (), None, filters, INDIVIDUAL in filters, self.dialect)

    def unpriced_networks(self) -> tuple[str | None, ...]:
        """Networks (None: no network) of the period's shares the EMV config does not price."""
        facts = aggregates.FACTS
        scope = self._totals_scope(self.window)
        source, conditions, _ = aggregates.share_source(scope, facts)
        query = (
            sa.select(facts.c.network)
            .select_from(source)
            .where(
                *conditions,
                facts.c.shared_at >= scope.window.low,
                facts.c.shared_at < scope.window.high,
                sa.or_(
                    facts.c.network.is_(None), facts.c.network.not_in(sorted(self.rates.networks))
                ),
            )
            .distinct()
        )
        with self.store.engine.connect() as conn:
            return tuple(
                sorted(conn.execute(query).scalars(), key=lambda n: (n is not None, n or ""))
            )

    # -- sums ---------------------------------------------------------------------------
    def _scope(self, window: Window) -> Scope:
        request = self.request
        return Scope(
            window=window,
            dimensions=request.dimensions,
            grain=request.grain,
            filters=request.filters,
            private=request.names_advocates,
            dialect=self.dialect,
        )

    def gather(
        self, conn: Connection, scope: Scope, keys: Collection[Key] | None, buckets: Buckets
    ) -> Sums:
        """The sums of ``keys`` (None: of every group with activity in the scope's window)."""
        if keys is not None:
            scope = replace(scope, only=_restriction(scope, keys))
        shares = aggregates.share_sums(conn, scope, self.rates)
        credits = None
        if self.model is not None:
            credits = aggregates.credit_sums(conn, scope, self.model)
        wanted = keys if keys is not None else {*shares, *(credits or {})}
        enrolled_scope = replace(scope, only=_restriction(scope, wanted, "advocate"))
        available_scope = replace(scope, only=_restriction(scope, wanted, "content"))
        return Sums(
            scope,
            buckets,
            shares,
            credits,
            aggregates.enrolled_counts(conn, enrolled_scope, buckets),
            aggregates.available_counts(conn, available_scope, buckets),
        )

    def _connected(self, function: Callable[..., Result], *args: object) -> Result:
        """``function(conn, *args)`` on a connection of its own (for a worker thread)."""
        with self.store.engine.connect() as conn:
            return function(conn, *args)


class _InThread:
    """An executor that runs each task at once, in the calling thread."""

    def submit(self, function: Callable[..., Result], *args: object) -> Future[Result]:
        future: Future[Result] = Future()
        try:
            future.set_result(function(*args))
        except Exception as error:
            future.set_exception(error)
        return future

    def __enter__(self) -> _InThread:
        return self

    def __exit__(self, *_: object) -> None:
        return None


def _largest(scope: Scope) -> str | None:
    """The dimension with many values (advocate, else content) if the scope groups by it."""
    return next((d for d in ("advocate", "content") if d in scope.dimensions), None)


def _restriction(
    scope: Scope, keys: Iterable[Key], name: str | None = None
) -> tuple[str, tuple[str, ...]] | None:
    """Restrict dimension ``name`` (default: the largest) to the values it has in ``keys``."""
    dimension = name if name in scope.dimensions else None if name else _largest(scope)
    if dimension is None:
        return None
    at = scope.dimensions.index(dimension)
    return dimension, tuple(sorted({key[at] for key in keys}))


def sortable(key: Key) -> tuple:
    """A key that sorts with None first in each position."""
    return tuple((value is not None, value if value is not None else "") for value in key)
