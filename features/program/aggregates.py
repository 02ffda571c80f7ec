"""The grouped SQL behind program reports, each figure family one GROUP BY query.

- :func:`share_sums`: shares in the window (``share_facts`` by ``shared_at``; department,
  region and content type are columns of the rollup, topics a join to ``content_topics``).
- :func:`credit_sums`: a model's attribution credits converted in the window (by
  ``converted_at``), grouped by the credited share's attributes, per currency.
- :func:`enrolled_counts`: advocates hired before each span's end, by advocate attributes.
- :func:`available_counts`: approved content live in each span, by content attributes.
- :func:`ranked_keys`: the first groups by one figure (``ORDER BY ... LIMIT``);
  :func:`distinct_counts`: the distinct counts of the totals when their sums come from rows.

Enrolment and content return, per group, how many rows are *live from* each bucket (and,
for content, *until* which one); the per-bucket counts are accumulated in Python over the
few rows this gives.

A :class:`Scope` says what one query covers. ``private`` leaves opted-out advocates out
(rows that name advocates), read from the live ``advocates`` table so that an opt-out
counts before any rollup refresh; ``only`` restricts one dimension to given values
(follow-up queries for the rows a report keeps), run in chunks of :data:`CHUNK` values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from features.data.schema import CONTRACT_TABLES, attribution_credits, content_topics, share_facts
from features.program.emv import EmvConfig, earned_media_value
from features.program.figures import RATIOS, SUMMED, CreditSums, ShareSums
from features.program.periods import Buckets, Window, bucket_of
from features.program.request import ADVOCATE_DIMENSIONS, CONTENT_DIMENSIONS
from features.program.rollups import MEASURES

ADVOCATES = CONTRACT_TABLES["advocates"]
CONTENT = CONTRACT_TABLES["content"]
FACTS = share_facts
TOPICS = content_topics
CREDITS = attribution_credits
CHUNK = 5000
_EMV_INPUTS = (FACTS.c.impressions, FACTS.c.reactions, FACTS.c.clicks)

Key = tuple[object, ...]
"""A group: its dimension values in request order, then its bucket's start date (if any)."""

_SHARE_COLUMNS: dict[str, sa.ColumnElement] = {
    "department": FACTS.c.department,
    "region": FACTS.c.region,
    "advocate": FACTS.c.employee_id,
    "network": FACTS.c.network,
    "content_type": FACTS.c.content_type,
    "topic": TOPICS.c.topic,
    "content": FACTS.c.content_id,
}
_ADVOCATE_COLUMNS: dict[str, sa.ColumnElement] = {
    "department": ADVOCATES.c.department,
    "region": ADVOCATES.c.region,
    "advocate": ADVOCATES.c.employee_id,
}
_CONTENT_COLUMNS: dict[str, sa.ColumnElement] = {
    "content_type": CONTENT.c.content_type,
    "topic": TOPICS.c.topic,
    "content": CONTENT.c.content_id,
}


@dataclass(frozen=True)
class Scope:
    """What one query covers: window, grouping, filters, privacy and a restriction."""

    window: Window
    dimensions: tuple[str, ...]
    grain: str | None
    filters: Mapping[str, str]
    private: bool
    dialect: str
    only: tuple[str, tuple[str, ...]] | None = None

    def bucket(self, column: sa.ColumnElement) -> list[sa.Label]:
        """The bucket of ``column`` as a key column (none without a grain)."""
        if self.grain is None:
            return []
        return [bucket_of(column, self.grain, self.window.shift, self.dialect)]


def _chunked(scope: Scope) -> Iterable[Scope]:
    """The scope split so that each ``only`` list has at most CHUNK values."""
    if scope.only is None or len(scope.only[1]) <= CHUNK:
        yield scope
        return
    name, values = scope.only
    for at in range(0, len(values), CHUNK):
        yield replace(scope, only=(name, values[at : at + CHUNK]))


def _conditions(
    scope: Scope, columns: Mapping[str, sa.ColumnElement], content_id: sa.ColumnElement
) -> list[sa.ColumnElement[bool]]:
    """Filters and restriction on the dimensions ``columns`` knows (topic via EXISTS)."""
    conditions = []
    for name, value in scope.filters.items():
        if name == "topic" and "topic" not in scope.dimensions:
            tagged = sa.exists().where(TOPICS.c.content_id == content_id, TOPICS.c.topic == value)
            conditions.append(tagged)
        elif name in columns:
            conditions.append(columns[name] == value)
    if scope.only is not None and scope.only[0] in columns:
        conditions.append(columns[scope.only[0]].in_(scope.only[1]))
    return conditions


def share_source(scope: Scope, base: sa.FromClause) -> tuple[sa.FromClause, list, list]:
    """``base`` (holding share_facts) joined as the grouping needs; conditions; key columns.

    Opted-out advocates are left out of a private scope by their live ``advocates`` row.
    """
    source = base
    if "topic" in scope.dimensions:
        source = source.join(TOPICS, TOPICS.c.content_id == FACTS.c.content_id)
    conditions = _conditions(scope, _SHARE_COLUMNS, FACTS.c.content_id)
    if scope.private:
        opted_out = sa.select(ADVOCATES.c.employee_id).where(ADVOCATES.c.opted_out.is_(True))
        conditions.append(FACTS.c.employee_id.not_in(opted_out))
    keys = [_SHARE_COLUMNS[d].label(d) for d in scope.dimensions]
    return source, conditions, keys


def _total(column: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(column), 0)


def _share_aggregates(rates: EmvConfig) -> dict[str, sa.ColumnElement]:
    """Every share sum as an aggregate; EMV as ``emv.<currency>``."""
    priced = sorted(rates.networks)
    aggregates: dict[str, sa.ColumnElement] = {
        "shares": sa.func.count(FACTS.c.event_id),
        "active_advocates": sa.func.count(sa.distinct(FACTS.c.employee_id)),
        "content_used": sa.func.count(sa.distinct(FACTS.c.content_id)),
        "potential_reach": _total(FACTS.c.followers),
        **{name: _total(FACTS.c[name]) for name in MEASURES},
        "link_clicks": _total(FACTS.c.link_clicks),
        "unpriced_shares": _total(sa.case((FACTS.c.network.in_(priced), 0), else_=1)),
    }
    for currency in rates.currencies:
        aggregates[f"emv.{currency}"] = _emv_sum(rates, currency)
    return aggregates


def _emv_sum(rates: EmvConfig, currency: str) -> sa.ColumnElement:
    """The EMV in ``currency`` of the shares on the networks priced in it."""

    def rate(name: str) -> sa.ColumnElement:
        networks = rates.networks_in(currency)
        chosen = ((FACTS.c.network == n, getattr(rates.networks[n], name)) for n in networks)
        return sa.case(*chosen, else_=sa.null()).cast(sa.Float)

    per_share = earned_media_value(
        rate("cpm"), rate("cpc"), rate("reaction_multiplier"), *_EMV_INPUTS
    )
    return sa.func.coalesce(sa.func.sum(per_share), 0.0)


def _share_measure(name: str, rates: EmvConfig) -> sa.ColumnElement | None:
    """Figure ``name`` as one aggregate over share_facts, or None if SQL cannot rank by it.

    ``emv`` must name its currency here (``emv.USD``).
    """
    sums = _share_aggregates(rates)
    if name in SUMMED or name in sums:
        return sums[name]
    if name in ("engagement_rate", "click_through_rate"):
        top, bottom = RATIOS[name]
        return sa.cast(sum(sums[n] for n in top), sa.Float) / sa.func.nullif(sums[bottom], 0)
    return None


def ranked_keys(
    conn: Connection, scope: Scope, rates: EmvConfig, model: str | None, figure: str, limit: int
) -> list[Key] | None:
    """The ``limit`` groups with the highest ``figure``, ranked in SQL (ties by key).

    None when SQL cannot rank by that figure (or it is a conversion figure without a
    ``model`` run). Groups with no share (or no credit, for conversion figures) are not
    ranked.
    """
    if figure == "conversions" or figure.startswith("attributed_value."):
        if model is None:
            return None
        source, conditions, keys = _credit_source(scope, model)
        currency = figure.partition(".")[2]
        credited = CREDITS.c.credit
        if currency:
            credited = sa.case((CREDITS.c.currency == currency, CREDITS.c.value), else_=0.0)
        measure = sa.func.sum(credited)
    else:
        measure = _share_measure(figure, rates)
        if measure is None:
            return None
        source, conditions, keys = _share_window(scope)
    query = (
        sa.select(*keys)
        .select_from(source)
        .where(*conditions)
        .group_by(*keys)
        .order_by(measure.desc().nulls_last(), *keys)
        .limit(limit)
    )
    return [tuple(row) for row in conn.execute(query)]


def _share_window(scope: Scope) -> tuple[sa.FromClause, list, list]:
    """The scope's shares: source, conditions and keys (with the bucket of shared_at)."""
    source, conditions, keys = share_source(scope, FACTS)
    window = scope.window
    conditions += [FACTS.c.shared_at >= window.low, FACTS.c.shared_at < window.high]
    return source, conditions, keys + scope.bucket(FACTS.c.shared_at)


def share_sums(conn: Connection, scope: Scope, rates: EmvConfig) -> dict[Key, ShareSums]:
    """The share sums of every group with a share in the scope's window."""
    found: dict[Key, ShareSums] = {}
    for part in _chunked(scope):
        found |= _share_sums(conn, part, rates)
    return found


def distinct_counts(conn: Connection, scope: Scope) -> dict[str, int]:
    """Active advocates and content used over the scope's shares (no grouping)."""
    source, conditions, _ = _share_window(replace(scope, dimensions=(), grain=None))
    counts = {
        "active_advocates": sa.func.count(sa.distinct(FACTS.c.employee_id)),
        "content_used": sa.func.count(sa.distinct(FACTS.c.content_id)),
    }
    query = sa.select(*counts.values()).select_from(source).where(*conditions)
    return dict(zip(counts, conn.execute(query).one(), strict=True))


def _share_sums(conn: Connection, scope: Scope, rates: EmvConfig) -> dict[Key, ShareSums]:
    source, conditions, keys = _share_window(scope)
    aggregates = _share_aggregates(rates)
    query = (
        sa.select(*keys, *(value.label(name) for name, value in aggregates.items()))
        .select_from(source)
        .where(*conditions)
        .group_by(*keys)
    )
    found = {}
    for row in conn.execute(query).mappings():
        key = tuple(row[k.name] for k in keys)
        emv = {c: float(row[f"emv.{c}"]) for c in rates.currencies}
        found[key] = ShareSums(**{name: int(row[name]) for name in SUMMED}, emv=emv)
    return found


def credit_sums(conn: Connection, scope: Scope, model: str) -> dict[Key, CreditSums]:
    """Per group: the model's credit and value (per currency) converted in the window."""
    conversions: dict[Key, float] = defaultdict(float)
    values: dict[Key, dict[str, float]] = defaultdict(dict)
    for part in _chunked(scope):
        for key, currency, credit, value in _credit_rows(conn, part, model):
            conversions[key] += credit
            if currency is not None and value is not None:
                values[key][currency] = values[key].get(currency, 0.0) + value
    return {key: CreditSums(total, values.get(key, {})) for key, total in conversions.items()}


def _credit_source(scope: Scope, model: str) -> tuple[sa.FromClause, list, list]:
    """The model's credits converted in the window, joined to their shares when the scope
    needs a share's attributes: source, conditions, keys (with the bucket of converted_at)."""
    window = scope.window
    conditions = [
        CREDITS.c.model == model,
        CREDITS.c.converted_at >= window.low,
        CREDITS.c.converted_at < window.high,
    ]
    keys: list = []
    source: sa.FromClause = CREDITS
    if scope.dimensions or scope.filters or scope.private or scope.only:
        base = CREDITS.join(FACTS, FACTS.c.event_id == CREDITS.c.share_event_id)
        source, share_conditions, keys = share_source(scope, base)
        conditions += share_conditions
    if scope.only is not None:
        # the few restricted shares first: SQLite would otherwise join every credit
        name, values = scope.only
        restricted = sa.select(FACTS.c.event_id).where(_SHARE_COLUMNS[name].in_(values))
        conditions.append(CREDITS.c.share_event_id.in_(restricted))
    return source, conditions, keys + scope.bucket(CREDITS.c.converted_at)


def _credit_rows(conn: Connection, scope: Scope, model: str) -> Iterable[tuple]:
    source, conditions, keys = _credit_source(scope, model)
    sums = (sa.func.sum(CREDITS.c.credit), sa.func.sum(CREDITS.c.value))
    query = (
        sa.select(*keys, CREDITS.c.currency, *sums)
        .select_from(source)
        .where(*conditions)
        .group_by(*keys, CREDITS.c.currency)
    )
    for row in conn.execute(query):
        *key, currency, credit, value = row
        yield tuple(key), currency, float(credit), None if value is None else float(value)


def enrolled_counts(conn: Connection, scope: Scope, buckets: Buckets) -> dict[Key, int]:
    """Advocates hired before each span's end, per advocate-attribute values and bucket index."""
    dims = [d for d in scope.dimensions if d in ADVOCATE_DIMENSIONS]
    hired = ADVOCATES.c.hire_date

    def where(part: Scope) -> list:
        conditions = [sa.or_(hired.is_(None), hired < _day_after(part.window.high))]
        if part.private:
            conditions.append(ADVOCATES.c.opted_out.is_not(True))
        return conditions + _conditions(part, _ADVOCATE_COLUMNS, sa.null())

    from_start = sa.or_(hired.is_(None), hired < scope.window.low.date())
    spans = _Spans(ADVOCATES, dims, _ADVOCATE_COLUMNS, (hired, from_start), None)
    return spans.count(conn, scope, buckets, where)


def available_counts(conn: Connection, scope: Scope, buckets: Buckets) -> dict[Key, int]:
    """Approved content live in each span, per content-attribute values and bucket index."""
    dims = [d for d in scope.dimensions if d in CONTENT_DIMENSIONS]
    published, expires = CONTENT.c.published_at, CONTENT.c.expires_at
    low, high = scope.window.low, scope.window.high

    def where(part: Scope) -> list:
        conditions = [
            CONTENT.c.approval_status == "approved",
            published < high,
            sa.or_(expires.is_(None), expires >= low),
        ]
        return conditions + _conditions(part, _CONTENT_COLUMNS, CONTENT.c.content_id)

    source = CONTENT
    if "topic" in dims:
        source = CONTENT.join(TOPICS, TOPICS.c.content_id == CONTENT.c.content_id)
    live_from = (published, published < low)
    live_until = (expires, sa.or_(expires.is_(None), expires >= high))
    spans = _Spans(source, dims, _CONTENT_COLUMNS, live_from, live_until)
    return spans.count(conn, scope, buckets, where)


Edge = tuple[sa.ColumnElement, sa.ColumnElement[bool]]
"""A time column, and the condition under which it lies outside the period (NULL bucket)."""


@dataclass(frozen=True)
class _Spans:
    """Rows live from one time (and until another), counted per key and bucket.

    Only times inside the period are bucketed; the others count as the first (or last)
    bucket, so most rows cost no date arithmetic.
    """

    source: sa.FromClause
    dims: list[str]
    columns: Mapping[str, sa.ColumnElement]
    live_from: Edge
    live_until: Edge | None

    def count(
        self,
        conn: Connection,
        scope: Scope,
        buckets: Buckets,
        where: Callable[[Scope], list],
    ) -> dict[Key, int]:
        """Rows per (key values..., bucket index): each is live from its first bucket to its
        last (the last of the period without ``live_until``)."""
        keys = [self.columns[d].label(d) for d in self.dims]
        edges = self._edges(scope)
        counts: dict[Key, int] = defaultdict(int)
        for part in _chunked(scope):
            query = (
                sa.select(*keys, *edges, sa.func.count())
                .select_from(self.source)
                .where(*where(part))
                .group_by(*keys, *edges)
            )
            for row in conn.execute(query):
                first, last = _live_buckets(row, len(keys), len(edges), buckets)
                for position in range(first, last + 1):
                    counts[(*row[: len(keys)], position)] += row[-1]
        return counts

    def _edges(self, scope: Scope) -> list[sa.Label]:
        """The bucket each row is live from (and until); NULL outside the period."""
        if scope.grain is None:
            return []
        edges = [("live_from", self.live_from)]
        if self.live_until is not None:
            edges.append(("live_until", self.live_until))
        return [
            sa.case((outside, sa.null()), else_=scope.bucket(moment)[0].element).label(name)
            for name, (moment, outside) in edges
        ]


def _live_buckets(row: tuple, at: int, edges: int, buckets: Buckets) -> tuple[int, int]:
    last = len(buckets.keys) - 1
    if edges == 0:
        return 0, last
    first = buckets.index(row[at])
    if edges == 2 and row[at + 1] is not None:
        last = buckets.index(row[at + 1])
    return first, last


def _day_after(moment: datetime) -> date:
    """The first date whose midnight is not before ``moment``: hired before it means hired."""
    day = moment.date()
    return day if moment.time() == time() else day + timedelta(days=1)
