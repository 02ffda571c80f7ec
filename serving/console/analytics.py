"""Program analytics: the period's key figures and their change, one figure over time (the
programme and its top groups), the grouping table and its CSV, and the top advocates,
content and departments.

Every figure comes from :meth:`serving.program.ProgramViews.analytics`, the function behind
``/analytics`` and ``advocacy analytics``: this module only chooses the requests and lays
out their answers. Its privacy rules hold here too: opted-out advocates never appear as
individuals, and a group with fewer than :data:`MIN_GROUP_SIZE` active advocates is shown
as withheld.

Requests per page: the grouping with its totals (one call), the chosen figure by period
(one call), one call per top group's line (at most :data:`TREND_GROUPS`, each filtered to
its group: bounded work whatever the number of advocates or content items), and one per top
list the grouping does not already answer. Dates are UTC days; ``to`` is included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from features.data.currencies import ISO_4217
from features.data.schema import CONTRACT_TABLES
from features.data.store import Store
from features.program.figures import Figures
from features.program.periods import GRAINS, Buckets, naive_utc
from features.program.request import DIMENSIONS
from serving.console.app import MOUNT, Handler, Page
from serving.console.charts import bar_chart, format_number, line_chart
from serving.console.exports import csv_response
from serving.errors import Unprocessable
from serving.program import ProgramViews
from serving.schemas import AnalyticsOut, ReportRowOut

DEFAULT_DAYS = 90
DEFAULT_BY = "department"
DEFAULT_PERIOD = "week"
MIN_GROUP_SIZE = 5
TREND_GROUPS = 5
TOP = 10
TABLE_ROWS = 200
"""Groups listed on the page (the CSV has every group)."""
BAR_ROWS = 20
MAX_DAILY_DAYS = 731
MAX_DAYS = 20 * 366
CONTENT_CHUNK = 500
WITHHELD = f"withheld (fewer than {MIN_GROUP_SIZE} active advocates)"
DIMENSION_LABELS = {
    "department": "Department",
    "region": "Region",
    "network": "Network",
    "content_type": "Content type",
    "topic": "Topic",
    "content": "Content",
    "advocate": "Advocate",
}
PERIOD_LABELS = {"day": "Day", "week": "Week (from Monday)", "month": "Month"}
TOP_LISTS = (
    ("advocate", "top-advocates", "Top advocates"),
    ("content", "top-content", "Top content"),
    ("department", "top-departments", "Top departments"),
)
REQUEST_FIELDS = {
    "start": "from",
    "end": "to",
    "group_by": "by",
    "attribution_model": "model",
    "order_by": "metric",
}
"""The form field of each report request field (an error names the form's field)."""


def routes(page: Callable[[Handler], Callable]) -> list[Route]:
    return [
        Route("/analytics", page(analytics_page), methods=["GET"]),
        Route("/analytics.csv", page(analytics_csv), methods=["GET"]),
    ]


# -- the figures shown ------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    """A figure the page shows: ``name`` is a figure, or ``figure.CUR`` for one currency."""

    name: str
    label: str
    kind: str  # count, rate, money or credit (fractional conversions)
    short: str = ""  # a table column's heading, when shorter than the label

    @property
    def base(self) -> str:
        return self.name.partition(".")[0]

    @property
    def currency(self) -> str:
        return self.name.partition(".")[2]

    @property
    def column(self) -> str:
        """The CSV column, named as in the report's own CSV (``emv_USD``)."""
        return self.name.replace(".", "_")

    def value(self, figures: Figures | None) -> float | None:
        value = None if figures is None else figures.get(self.name)
        return value if isinstance(value, int | float) else None

    def change(self, row: ReportRowOut) -> float | None:
        """The relative change vs the previous period (None: not known)."""
        value = (row.change or {}).get(self.base)
        if isinstance(value, dict):
            value = value.get(self.currency)
        return value

    def idle(self, has_run: bool) -> float | None:
        """The value of a period without activity: 0 for sums, unknown for rates."""
        if self.kind == "rate" or (self.base in CREDITED and not has_run):
            return None
        return 0.0

    def text(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.kind == "rate":
            return percent(value)
        if self.kind == "money":
            digits = 0 if abs(value) >= 1000 else 2
            return f"{value:,.{digits}f} {self.currency}"
        if self.kind == "credit":
            return f"{value:,.1f}"
        return f"{value:,.0f}"

    def axis(self, value: float) -> str:
        return percent(value) if self.kind == "rate" else format_number(value)


CREDITED = ("conversions", "attributed_value")
PLAIN = (
    Metric("participation_rate", "Participation", "rate"),
    Metric("shares", "Shares", "count"),
    Metric("potential_reach", "Potential reach", "count", "Reach"),
    Metric("engagement_rate", "Engagement rate", "rate", "Engagement"),
    Metric("click_through_rate", "Click-through rate", "rate", "CTR"),
    Metric("link_clicks", "Link clicks", "count", "Clicks"),
)
CONVERSIONS = Metric("conversions", "Attributed conversions", "credit", "Conversions")


def emv_metric(currency: str) -> Metric:
    return Metric(f"emv.{currency}", f"EMV ({currency})", "money")


def value_metric(currency: str) -> Metric:
    label = f"Attributed value ({currency})"
    return Metric(f"attributed_value.{currency}", label, "money", f"Value ({currency})")


def metrics(emv: Sequence[str], values: Iterable[str]) -> list[Metric]:
    """The main figures, EMV and attributed value once per currency."""
    return [
        *PLAIN,
        *(emv_metric(c) for c in emv),
        CONVERSIONS,
        *(value_metric(c) for c in sorted(set(values))),
    ]


def percent(value: float) -> str:
    """``0.125`` as ``12%``; small shares keep two significant digits (``1.2%``, ``0.45%``)."""
    size = abs(value)
    digits = 0 if size >= 0.1 or size == 0 else 1 if size >= 0.01 else 2
    return f"{100 * value:.{digits}f}%"


def change_text(change: float | None) -> tuple[str, str]:
    """The change as text ("+12%") and its direction: up, down, flat or "" (unknown)."""
    if change is None:
        return "", ""
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    arrow = {"up": "▲", "down": "▼", "flat": "■"}[direction]
    return f"{arrow} {'+' if change > 0 else ''}{percent(change)}", direction


# -- the query --------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """The page's filters, validated: days ``first`` to ``last`` (both included)."""

    first: date
    last: date
    by: str | None
    period: str
    model: str
    metric: Metric

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def params(self) -> dict[str, str]:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "by": self.by or "none",
            "period": self.period,
            "model": self.model,
            "metric": self.metric.name,
        }


def parse_query(params: QueryParams, today: date, emv: Sequence[str]) -> Query:
    """The filters in ``params`` (defaults for those missing); Unprocessable names a bad one."""
    from recsys.attribution import MODELS
    from training.attribution_job import DEFAULT_MODEL

    last = _day(params, "to", today)
    first = _day(params, "from", last - timedelta(days=DEFAULT_DAYS - 1))
    if last < first:
        raise Unprocessable(f"must not be before from ({first})", field="to")
    by = _choice(params, "by", DEFAULT_BY, ("none", *DIMENSIONS))
    period = _choice(params, "period", DEFAULT_PERIOD, GRAINS)
    model = _choice(params, "model", DEFAULT_MODEL, tuple(MODELS))
    query = Query(first, last, None if by == "none" else by, period, model, _metric(params, emv))
    if query.days > MAX_DAYS:
        raise Unprocessable(f"at most {MAX_DAYS // 366} years before to", field="from")
    if period == "day" and query.days > MAX_DAILY_DAYS:
        raise Unprocessable(
            f"by day for at most {MAX_DAILY_DAYS} days; choose week or month", field="period"
        )
    return query


def _day(params: QueryParams, name: str, default: date) -> date:
    value = params.get(name, "").strip()
    if not value:
        return default
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"must be a date YYYY-MM-DD, got {value!r}", field=name) from None


def _choice(params: QueryParams, name: str, default: str, allowed: Sequence[str]) -> str:
    value = params.get(name, "").strip() or default
    if value not in allowed:
        raise Unprocessable(f"unknown {value!r}; one of {', '.join(allowed)}", field=name)
    return value


def _metric(params: QueryParams, emv: Sequence[str]) -> Metric:
    value = params.get("metric", "").strip()
    if not value:
        return emv_metric(emv[0]) if emv else PLAIN[1]
    base, dot, currency = value.partition(".")
    currency = currency.upper()
    plain = {m.name: m for m in (*PLAIN, CONVERSIONS)}
    if base in plain and not dot:
        return plain[base]
    if base == "emv" and not dot and len(emv) == 1:
        return emv_metric(emv[0])
    if base == "emv" and currency in emv:
        return emv_metric(currency)
    if base == "attributed_value" and currency in ISO_4217:
        return value_metric(currency)
    known = ", ".join([*plain, *(f"emv.{c}" for c in emv), "attributed_value.<currency>"])
    raise Unprocessable(f"unknown figure {value!r}; one of {known}", field="metric")


# -- the requests -----------------------------------------------------------------------
@dataclass(frozen=True)
class Answers:
    """What the reports answered for one page."""

    table: AnalyticsOut
    trend: AnalyticsOut
    lines: dict[str, AnalyticsOut]  # a top group's key -> its figures by period
    tops: dict[str, list[ReportRowOut]]  # top list -> its rows
    titles: dict[str, str]  # content id -> title


class Reports:
    """The report requests of one query."""

    def __init__(self, program: ProgramViews, query: Query) -> None:
        self.program = program
        self.query = query

    def ask(
        self,
        group_by: Sequence[str],
        *,
        top: int | None = None,
        ordered: bool = True,
        filters: Mapping[str, str] | None = None,
    ) -> AnalyticsOut:
        q = self.query
        try:
            return self.program.analytics(
                start=q.start,
                end=q.end,
                group_by=list(group_by),
                attribution_model=q.model,
                min_group_size=MIN_GROUP_SIZE,
                top=top,
                order_by=q.metric.name if ordered else None,
                descending=True,
                filters=dict(filters or {}),
            )
        except Unprocessable as error:
            raise Unprocessable(error.message, field=_form_field(error.field)) from None

    def table(self) -> AnalyticsOut:
        """The grouping (rows by the metric) and the totals."""
        return self.ask([self.query.by] if self.query.by else [])

    def page(self) -> Answers:
        q = self.query
        table = self.table()
        trend = self.ask([q.period], ordered=False)
        lines = {}
        if q.by:
            for key in _leaders(table, q.metric):
                lines[key] = self.ask([q.period], ordered=False, filters={q.by: key})
        tops = {
            name: table.rows[:TOP] if name == q.by else self.ask([name], top=TOP).rows
            for name, _, _ in TOP_LISTS
        }
        content = [row.key.get("content") for row in tops["content"]]
        if q.by == "content":
            content += [row.key.get("content") for row in table.rows[:TABLE_ROWS]]
        titles = content_titles(self.program.store, content)
        return Answers(table, trend, lines, tops, titles)


def _form_field(name: str | None) -> str | None:
    if name is None:
        return None
    if name.startswith("filters."):
        return "by"
    return REQUEST_FIELDS.get(name, name)


def _leaders(table: AnalyticsOut, metric: Metric) -> list[str]:
    """The keys of the first groups with a value of ``metric`` (rows are in its order)."""
    name = table.group_by[0]
    keys = [
        row.key[name]
        for row in table.rows
        if not row.suppressed and row.key.get(name) and metric.value(row.figures)
    ]
    return [key for key in keys if key is not None][:TREND_GROUPS]


def content_titles(store: Store, ids: Iterable[str | None]) -> dict[str, str]:
    """The titles of content items ``ids`` (those the store knows)."""
    table = CONTRACT_TABLES["content"]
    wanted = sorted({i for i in ids if i})
    titles: dict[str, str] = {}
    with store.engine.connect() as conn:
        for at in range(0, len(wanted), CONTENT_CHUNK):
            chunk = wanted[at : at + CONTENT_CHUNK]
            query = sa.select(table.c.content_id, table.c.title).where(
                table.c.content_id.in_(chunk)
            )
            titles.update({row.content_id: row.title for row in conn.execute(query) if row.title})
    return titles


# -- the page ---------------------------------------------------------------------------
async def analytics_page(request: Request, page: Page) -> Response:
    runtime = page.runtime
    emv = runtime.program.emv.currencies
    query = parse_query(request.query_params, naive_utc(runtime.clock()).date(), emv)
    answers = await page.work(lambda: Reports(runtime.program, query).page())
    return page.render(
        "analytics.html",
        title="Program analytics",
        active="analytics",
        **layout(query, answers, emv),
    )


async def analytics_csv(request: Request, page: Page) -> Response:
    runtime = page.runtime
    emv = runtime.program.emv.currencies
    query = parse_query(request.query_params, naive_utc(runtime.clock()).date(), emv)
    reports = Reports(runtime.program, query)

    def answer() -> tuple[AnalyticsOut, dict[str, str]]:
        table = reports.table()
        keys = [r.key.get("content") for r in table.rows] if query.by == "content" else []
        return table, content_titles(runtime.program.store, keys)

    table, titles = await page.work(answer)
    columns = metrics(emv, value_currencies(table.totals))
    header, rows = csv_table(query, table, columns, titles)
    p = query.params()
    filename = f"analytics-{p['from']}-{p['to']}-{p['by']}.csv"
    return csv_response(filename, header, rows)


def csv_table(
    query: Query, table: AnalyticsOut, columns: Sequence[Metric], titles: Mapping[str, str]
) -> tuple[list[str], list[list[object]]]:
    """The grouping table's columns and rows (suppressed rows with empty figures)."""
    key = query.by or "group"
    header = [key, *(["title"] if query.by == "content" else []), "suppressed"]
    header += [m.column for m in columns]
    header += [f"previous_{m.column}" for m in columns] + [f"change_{m.column}" for m in columns]
    rows = []
    for row in table.rows if query.by else [table.totals]:
        name = row.key.get(query.by) if query.by else "all"
        cells: list[object] = [name, *([titles.get(name or "")] if query.by == "content" else [])]
        cells.append(row.suppressed)
        cells += [_rounded(m.value(row.figures)) for m in columns]
        cells += [_rounded(m.value(row.previous)) for m in columns]
        cells += [_rounded(m.change(row)) for m in columns]
        rows.append(cells)
    return header, rows


def _rounded(value: float | None) -> float | None:
    return round(value, 6) if isinstance(value, float) else value


def value_currencies(totals: ReportRowOut) -> list[str]:
    """The currencies of the attributed value in the period or the previous one."""
    found: set[str] = set()
    for figures in (totals.figures, totals.previous):
        if figures is not None and figures.attributed_value:
            found |= set(figures.attributed_value)
    return sorted(found)


def layout(query: Query, answers: Answers, emv: Sequence[str]) -> dict[str, Any]:
    """The template's context: every figure formatted, the charts drawn."""
    table = answers.table
    columns = metrics(emv, value_currencies(table.totals))
    metric = query.metric
    options = columns if metric in columns else [*columns, metric]
    return {
        "q": query.params(),
        "by": query.by,
        "metric": metric,
        "options": options,
        "dimensions": DIMENSION_LABELS,
        "periods": PERIOD_LABELS,
        "models": _models(),
        "report": table,
        "k": MIN_GROUP_SIZE,
        "top": TOP,
        "span": _span(query, table),
        "withheld": WITHHELD,
        "kpis": kpis(table.totals, columns),
        "columns": columns,
        "groups": group_rows(query, table, columns, answers.titles),
        "shown_rows": TABLE_ROWS,
        "groups_chart": groups_chart(query, table, answers.titles),
        "trend": trend(query, answers),
        "tops": top_lists(query, answers),
        "csv_href": f"{MOUNT}/analytics.csv?{urlencode(query.params())}",
    }


def _span(query: Query, table: AnalyticsOut) -> dict[str, object]:
    before = table.previous_period
    first, last = naive_utc(before.start).date(), naive_utc(before.end).date() - timedelta(days=1)
    return {
        "text": f"{_date(query.first)} to {_date(query.last)} ({query.days} days, UTC)",
        "days": query.days,
        "previous": f"{_date(first)} to {_date(last)}",
    }


def _date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _models() -> list[str]:
    from recsys.attribution import MODELS

    return list(MODELS)


def kpis(totals: ReportRowOut, columns: Sequence[Metric]) -> list[dict[str, str]]:
    """One card per figure: the period's total, its change and the previous total."""
    return [
        {
            "name": m.name,
            "label": m.label,
            "previous": m.text(m.value(totals.previous)),
            **_cell(m, totals),
        }
        for m in columns
    ]


def _cell(metric: Metric, row: ReportRowOut) -> dict[str, str]:
    change, direction = change_text(metric.change(row))
    return {
        "value": metric.text(metric.value(row.figures)),
        "change": change,
        "direction": direction,
    }


def _key_label(name: str | None, value: str | None, titles: Mapping[str, str]) -> str:
    if value is None:
        return "(none)"
    if name == "content" and value in titles:
        return f"{titles[value]} ({value})"
    return value


def group_rows(
    query: Query, table: AnalyticsOut, columns: Sequence[Metric], titles: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The grouping table's rows on the page (without a grouping: the totals)."""
    by = query.by
    rows = table.rows[:TABLE_ROWS] if by else [table.totals]
    return [
        {
            "key": row.key.get(by) if by else None,
            "label": _key_label(by, row.key.get(by), titles) if by else "All advocacy",
            "suppressed": row.suppressed,
            "previous_suppressed": row.previous_suppressed,
            "cells": [_cell(m, row) for m in columns],
        }
        for row in rows
    ]


def groups_chart(query: Query, table: AnalyticsOut, titles: Mapping[str, str]) -> Any:
    if not query.by:
        return None
    metric = query.metric
    bars = [
        (_key_label(query.by, r.key.get(query.by), titles), metric.value(r.figures))
        for r in table.rows
    ]
    title = f"{metric.label} by {DIMENSION_LABELS[query.by].lower()}"
    return bar_chart(bars, title=title, value_format=metric.axis, max_rows=BAR_ROWS)


def _series(
    report: AnalyticsOut, metric: Metric, grain: str, buckets: Sequence[date]
) -> tuple[list[tuple[date, float | None]], list[str]]:
    """The metric by period as chart points and as table cells (a period without activity
    has the metric's idle value; a withheld one has none)."""
    has_run = report.attribution is not None
    found = {date.fromisoformat(str(r.key[grain])): r for r in report.rows}
    points, cells = [], []
    for bucket in buckets:
        row = found.get(bucket)
        value = metric.idle(has_run) if row is None else metric.value(row.figures)
        points.append((bucket, value))
        cells.append("withheld" if row is not None and row.suppressed else metric.text(value))
    return points, cells


def trend(query: Query, answers: Answers) -> dict[str, Any]:
    """The chart of the metric by period and the same figures as a table."""
    start, end = naive_utc(query.start), naive_utc(query.end)
    buckets = [b for b in Buckets.of(start, end, query.period).keys if b is not None]
    reports = {"All advocacy": answers.trend}
    for key, report in answers.lines.items():
        reports[_key_label(query.by, key, answers.titles)] = report
    metric = query.metric
    drawn = {name: _series(r, metric, query.period, buckets) for name, r in reports.items()}
    chart = line_chart(
        {name: points for name, (points, _) in drawn.items()},
        title=f"{metric.label} by {query.period}",
        y_label=metric.label,
        y_format=metric.axis,
    )
    columns = [cells for _, cells in drawn.values()]
    rows = [[b.isoformat(), *(c[i] for c in columns)] for i, b in enumerate(buckets)]
    return {"chart": chart, "names": list(drawn), "rows": rows, "groups": len(answers.lines)}


def top_lists(query: Query, answers: Answers) -> list[dict[str, Any]]:
    lists = []
    for name, element_id, heading in TOP_LISTS:
        entries = [
            {
                "key": row.key.get(name),
                "label": _key_label(name, row.key.get(name), answers.titles),
                "suppressed": row.suppressed,
                "value": query.metric.text(query.metric.value(row.figures)),
            }
            for row in answers.tops.get(name, [])
        ]
        lists.append({"name": name, "id": element_id, "heading": heading, "entries": entries})
    return lists
