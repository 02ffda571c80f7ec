"""The console's program analytics page: the period's key figures and their change, one
figure over time (the programme and its top groups), the grouping table and its CSV, and the
top advocates, content and departments.

What the page asks for (the figures, the filters and the report requests) is
:mod:`serving.console.analytics_query`; this module serves the page and its CSV and lays
out the answers. A group with fewer than :data:`MIN_GROUP_SIZE` active advocates is shown
as withheld; opted-out advocates never appear as individuals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from features.data.directory import content_titles
from features.program.periods import Buckets
from recsys.times import naive_utc
from serving.console.analytics_query import (
    MIN_GROUP_SIZE,
    TABLE_ROWS,
    TOP,
    TOP_LISTS,
    Answers,
    Metric,
    Query,
    Reports,
    metrics,
    parse_query,
    percent,
)
from serving.console.app import MOUNT, Handler, Page
from serving.console.charts import bar_chart, line_chart
from serving.console.exports import csv_response
from serving.schemas import AnalyticsOut, ReportRowOut

BAR_ROWS = 20
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


def routes(page: Callable[[Handler], Callable]) -> list[Route]:
    return [
        Route("/analytics", page(analytics_page), methods=["GET"]),
        Route("/analytics.csv", page(analytics_csv), methods=["GET"]),
    ]


def change_text(change: float | None) -> tuple[str, str]:
    """The change as text ("+12%") and its direction: up, down, flat or "" (unknown)."""
    if change is None:
        return "", ""
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    arrow = {"up": "▲", "down": "▼", "flat": "■"}[direction]
    return f"{arrow} {'+' if change > 0 else ''}{percent(change)}", direction


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
