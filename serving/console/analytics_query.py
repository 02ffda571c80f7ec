"""What the console's analytics page asks for: the figures it shows (:class:`Metric`), its
filters read from the form (:class:`Query`, :func:`parse_query`) and the report requests of
one query (:class:`Reports`) with their answers (:class:`Answers`).

Every figure comes from :meth:`serving.program.ProgramViews.analytics`, the function behind
``/analytics`` and ``advocacy analytics``; its privacy rules hold here too: opted-out
advocates never appear as individuals, and a group with fewer than :data:`MIN_GROUP_SIZE`
active advocates is withheld.

Requests per page: the grouping with its totals (one call), the chosen figure by period
(one call), one call per top group's line (at most :data:`TREND_GROUPS`, each filtered to
its group: bounded work whatever the number of advocates or content items), and one per top
list the grouping does not already answer. Dates are UTC days; ``to`` is included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from starlette.datastructures import QueryParams

from features.data.currencies import ISO_4217
from features.data.directory import content_titles
from features.program.figures import Figures
from features.program.periods import GRAINS
from features.program.request import DEFAULT_ATTRIBUTION_MODEL, DIMENSIONS
from serving.console.charts import format_number
from serving.errors import Unprocessable
from serving.program import ProgramViews
from serving.schemas import AnalyticsOut, ReportRowOut

DEFAULT_DAYS = 90
DEFAULT_BY = "department"
DEFAULT_PERIOD = "week"
MIN_GROUP_SIZE = 5
TREND_GROUPS = 5
TOP = 10
PARALLEL_REPORTS = 3
PER_GROUP_LINES = ("advocate", "content")
"""Dimensions with many groups: a top group's line is its own filtered report."""
"""Reports of one page asked at once (threads; each mostly waits on the database)."""
TABLE_ROWS = 200
"""Groups listed on the page (the CSV has every group)."""
MAX_DAILY_DAYS = 731
MAX_DAYS = 20 * 366
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

    last = _day(params, "to", today)
    first = _day(params, "from", last - timedelta(days=DEFAULT_DAYS - 1))
    if last < first:
        raise Unprocessable(f"must not be before from ({first})", field="to")
    by = _choice(params, "by", DEFAULT_BY, ("none", *DIMENSIONS))
    period = _choice(params, "period", DEFAULT_PERIOD, GRAINS)
    model = _choice(params, "model", DEFAULT_ATTRIBUTION_MODEL, tuple(MODELS))
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

    def table(self, top: int | None = None) -> AnalyticsOut:
        """The grouping (rows by the metric; the first ``top``) and the totals."""
        return self.ask([self.query.by] if self.query.by else [], top=top)

    def lines(self, pool: ThreadPoolExecutor, leaders: Sequence[str]) -> Callable[[], dict]:
        """The leaders' figures by period, asked in ``pool``: one report grouped by the
        dimension and the period when its groups are few, else one report per leader
        filtered to it (bounded work for advocates and content); call the result to wait."""
        q = self.query
        if not leaders:
            return dict
        if q.by in PER_GROUP_LINES:
            asked = {
                key: pool.submit(self.ask, [q.period], ordered=False, filters={q.by: key})
                for key in leaders
            }
            return lambda: {key: future.result() for key, future in asked.items()}
        both = pool.submit(self.ask, [q.by, q.period], ordered=False)

        def split() -> dict[str, AnalyticsOut]:
            report = both.result()
            return {
                key: report.model_copy(
                    update={"rows": [r for r in report.rows if r.key.get(q.by) == key]}
                )
                for key in leaders
            }

        return split

    def page(self) -> Answers:
        """The grouping first (its leaders pick the trend lines), then the trend, the lines
        and the top lists, :data:`PARALLEL_REPORTS` at a time (each waits on the database)."""
        q = self.query
        table = self.table(top=TABLE_ROWS)
        leaders = _leaders(table, q.metric) if q.by else []
        with ThreadPoolExecutor(PARALLEL_REPORTS, thread_name_prefix="console-report") as pool:
            trend = pool.submit(self.ask, [q.period], ordered=False)
            lines = self.lines(pool, leaders)
            asked = {
                name: pool.submit(self.ask, [name], top=TOP)
                for name, _, _ in TOP_LISTS
                if name != q.by
            }
            tops = {
                name: table.rows[:TOP] if name == q.by else asked[name].result().rows
                for name, _, _ in TOP_LISTS
            }
            answers = trend.result(), lines()
        content = [row.key.get("content") for row in tops["content"]]
        if q.by == "content":
            content += [row.key.get("content") for row in table.rows[:TABLE_ROWS]]
        titles = content_titles(self.program.store, content)
        return Answers(table, answers[0], answers[1], tops, titles)


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
