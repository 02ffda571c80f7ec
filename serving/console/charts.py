"""Inline SVG charts rendered on the server: a line chart over time and a horizontal bar chart.

The console loads no script and nothing from elsewhere, so its charts are SVG markup built
here and placed in a template as :class:`markupsafe.Markup`. Each chart:

- fills its container's width (``width="100%"``) at a fixed height in CSS pixels. Text keeps
  its size on a phone and on a laptop: horizontal positions are percentages, and the lines
  are drawn in a nested ``<svg>`` stretched to the width (``preserveAspectRatio="none"``)
  with ``vector-effect="non-scaling-stroke"`` (dots are round caps of zero-length strokes, so
  they stay round). Whole-chart ``viewBox`` scaling would shrink 13px text to 6px on a phone;
- uses presentation attributes for colours and sizes (the console's CSP forbids inline
  style); any stylesheet rule overrides them;
- is ``role="img"`` with an ``aria-label`` and a ``<title>``: the page shows the same figures
  in a table, so the chart is one image to a screen reader;
- gives each point and bar its figures in a ``<title>`` (the browser's tooltip, no script);
- escapes every piece of text (labels come from data) and gives the same bytes for the same
  input (coordinates rounded to 0.1).

CSS classes: ``chart`` and ``chart-line`` / ``chart-bars`` on the ``<svg>``; ``chart-grid``
(grid lines); ``chart-axis`` (baseline, tick marks, tick labels); ``chart-legend``;
``chart-series chart-series-N`` (N = 1..7, the palette colour, set as ``color``: lines, dots
and legend swatches draw in ``currentColor``); ``chart-row``, ``chart-bar``, ``chart-value``,
``chart-withheld`` (bar charts); ``chart-note`` ("no data", "+ 3 more", the y label).

Times on the x axis are UTC (:func:`recsys.times.naive_utc`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape

from recsys.times import DAY, HOUR, epoch_seconds, naive_utc

X = datetime | date | float
Formatter = Callable[[float], str]

# Okabe-Ito without its yellow, which is too pale on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
FONT_SIZE = 12
CHAR_WIDTH = 0.6 * FONT_SIZE  # a typical glyph's advance in a sans-serif face
DOT_LIMIT = 40  # a series with fewer points gets visible dots
TITLE_LIMIT = 150  # a longer series gets no per-point tooltips (the page's table has them)
LEGEND_WIDTH = 320  # legend rows wrap to fit a phone
PLOT_UNITS = 1000.0  # horizontal user units of the stretched plot
X_PAD = 0.02  # share of the width left clear at each end of the x axis
INK, MUTED, GRID, AXIS, HALO = "#333333", "#5b6475", "#e3e6eb", "#8a919c", "#ffffff"
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = datetime(1970, 1, 1)
_MONDAY = 4 * DAY  # 1970-01-05, the first Monday after the epoch
_MIDDLE = ' dy=".35em"'  # centres a text on its y


# --- numbers ---------------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Ticks covering ``[lo, hi]`` at a 1, 2 or 5 x 10^k step, about ``target`` intervals.

    The first tick is at or below ``lo`` and the last at or above ``hi``; an empty span is
    widened by one on each side.
    """
    lo, hi = min(lo, hi), max(lo, hi)
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    raw = (hi - lo) / max(target, 1)
    exponent = math.floor(math.log10(raw))
    base = 10.0**exponent
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw * (1 - 1e-9))
    digits = max(0, -exponent)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [round(k * step, digits) + 0.0 for k in range(first, last + 1)]


def format_number(value: float) -> str:
    """A figure for people: ``1,234``, ``12.5``, ``0.125``, ``3.4M``."""
    if abs(value) >= 1e6:
        return _strip(f"{value / 1e6:,.2f}") + "M"
    if value == round(value):
        return f"{value + 0.0:,.0f}"
    if abs(value) >= 1:
        return _strip(f"{value:,.2f}")
    return f"{value:.3g}"


def _strip(text: str) -> str:
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text == "-0" else text


def _plain(value: float) -> str:
    """A number on the x axis (years, weeks): no thousands separator, at most 2 decimals."""
    return _strip(f"{value:.2f}")


def _n(value: float) -> str:
    """A coordinate, rounded to 0.1."""
    return _strip(f"{value:.1f}")


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


# --- time ------------------------------------------------------------------------------------


def _x_number(x: X) -> float:
    """Seconds since the epoch (UTC) for a date or datetime, the number itself otherwise."""
    if isinstance(x, date):
        return epoch_seconds(x)
    return float(x)


def _day_month(moment: datetime) -> str:
    return f"{moment.day} {_MONTHS[moment.month]}"


def _format_x(x: X) -> str:
    """A point's x in a tooltip: ``2 Nov 2026``, ``2 Nov 2026 14:30`` or a number."""
    if not isinstance(x, date):
        return _plain(float(x))
    moment = naive_utc(x)
    text = f"{_day_month(moment)} {moment.year}"
    if isinstance(x, datetime) and (moment.hour or moment.minute):
        text += f" {moment:%H:%M}"
    return text


def _fixed_ticks(lo: float, hi: float, step: float, offset: float) -> list[float]:
    first = math.ceil((lo - offset) / step - 1e-9)
    last = math.floor((hi - offset) / step + 1e-9)
    return [offset + k * step for k in range(first, last + 1)]


def _month_ticks(lo: float, hi: float, months: int) -> list[float]:
    """The first of every ``months``-th month (counted from year 0) in ``[lo, hi]``."""
    start, end = _EPOCH + timedelta(seconds=lo), _EPOCH + timedelta(seconds=hi)
    index = start.year * 12 + start.month - 1 + (start != datetime(start.year, start.month, 1))
    index = -(-index // months) * months  # up to a multiple of the step
    ticks = []
    while 12 <= index < 120_000 and (moment := datetime(index // 12, index % 12 + 1, 1)) <= end:
        ticks.append(epoch_seconds(moment))
        index += months
    return ticks


_TIME_STEPS: tuple[tuple[str, int], ...] = (
    *(("hour", n) for n in (1, 2, 3, 6, 12)),
    *(("day", n) for n in (1, 2)),
    *(("week", n) for n in (1, 2)),
    *(("month", n) for n in (1, 2, 3, 6)),
    *(("year", n) for n in (1, 2, 5, 10, 20, 50, 100)),
)
_UNIT_SECONDS = {"hour": HOUR, "day": DAY, "week": 7 * DAY, "month": 28 * DAY}


def _calendar_ticks(lo: float, hi: float, unit: str, n: int) -> list[float]:
    if unit == "hour":
        return _fixed_ticks(lo, hi, n * HOUR, 0.0)
    if unit == "day":
        return _fixed_ticks(lo, hi, n * DAY, 0.0)
    if unit == "week":
        return _fixed_ticks(lo, hi, n * 7 * DAY, _MONDAY)
    return _month_ticks(lo, hi, n * 12 if unit == "year" else n)


def _time_labels(ticks: list[float], unit: str) -> list[str]:
    """``14:00`` (midnight as ``2 Nov``), ``2 Nov``, ``Nov`` (``Nov 2026`` first and in
    January) or ``2026``."""
    labels = []
    for i, moment in enumerate(_EPOCH + timedelta(seconds=t) for t in ticks):
        if unit == "hour" and (moment.hour or moment.minute):
            labels.append(f"{moment:%H:%M}")
        elif unit in ("hour", "day", "week"):
            labels.append(_day_month(moment))
        elif unit == "month":
            year = f" {moment.year}" if i == 0 or moment.month == 1 else ""
            labels.append(_MONTHS[moment.month] + year)
        else:
            labels.append(str(moment.year))
    return labels


def time_ticks(
    lo: float, hi: float, max_ticks: int = 6, *, whole_days: bool = False
) -> list[tuple[float, str]]:
    """Ticks on a time axis (epoch seconds, UTC) at the finest calendar step giving at most
    ``max_ticks``: hours (not with ``whole_days``), days, Monday weeks, months or years."""
    ticks: list[float] = []
    unit = "year"
    for unit, n in _TIME_STEPS:
        seconds = n * _UNIT_SECONDS.get(unit, 365 * DAY)
        if (hi - lo) / seconds > 2 * max_ticks + 2 or (unit == "hour" and whole_days):
            continue  # far too many (skipped without listing them), or not wanted
        if len(ticks := _calendar_ticks(lo, hi, unit, n)) <= max_ticks:
            break
    return list(zip(ticks, _time_labels(ticks, unit), strict=True))


# --- svg pieces --------------------------------------------------------------------------------


def _svg(kind: str, title: str, height: float, body: list[str]) -> Markup:
    label = escape(title)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="img" '
        f'aria-label="{label}" width="100%" height="{_n(height)}" '
        f'font-family="system-ui, sans-serif" font-size="{FONT_SIZE}" fill="{INK}">'
        f"<title>{label}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float | str, y: float, text: str, *, anchor: str = "start", extra: str = "") -> str:
    """A ``<text>``; ``x`` is a number of pixels or a string such as ``"50%"``."""
    anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
    x_attr = x if isinstance(x, str) else _n(x)
    return f'<text x="{x_attr}" y="{_n(y)}"{anchor_attr}{extra}>{escape(text)}</text>'


def _note(x: float | str, y: float, text: str, anchor: str = "start") -> str:
    return _text(x, y, text, anchor=anchor, extra=f' class="chart-note" fill="{MUTED}"')


def _empty(kind: str, title: str, height: float) -> Markup:
    return _svg(kind, title, height, [_note("50%", height / 2, "no data", "middle")])


def _series_group(index: int) -> str:
    colour = PALETTE[index % len(PALETTE)]
    return f'<g class="chart-series chart-series-{index % len(PALETTE) + 1}" color="{colour}"'


# --- line chart --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    name: str
    points: list[tuple[X, float, float | None]]  # (x as given, x as a number, y)

    @property
    def values(self) -> list[float]:
        return [y for _, _, y in self.points if y is not None]


@dataclass(frozen=True)
class _Frame:
    """The plot's vertical extent in pixels and how data maps onto it; x maps onto
    ``[0, PLOT_UNITS]`` (the stretched plot) or, divided by 10, onto percent of the width."""

    top: float
    bottom: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def x(self, value: float) -> float:
        lo, hi = self.x_range
        return PLOT_UNITS * (X_PAD + (1 - 2 * X_PAD) * (value - lo) / (hi - lo))

    def x_percent(self, value: float) -> str:
        return f"{_n(self.x(value) / PLOT_UNITS * 100)}%"

    def y(self, value: float) -> float:
        lo, hi = self.y_range
        return self.bottom - (value - lo) / (hi - lo) * (self.bottom - self.top)


def _prepare(series: Mapping[str, Sequence[tuple[X, float | None]]]) -> tuple[list[_Series], str]:
    """Each series sorted by x, x as a number, non-finite y as a gap; and the x kind:
    ``"date"`` (dates only), ``"time"`` (datetimes, maybe with dates) or ``"number"``."""
    prepared, kinds = [], set()
    for name, points in series.items():
        rows = [(x, _x_number(x), _finite(y)) for x, y in points]
        kinds.update(_x_kind(x) for x, _ in points)
        prepared.append(_Series(str(name), sorted(rows, key=lambda row: row[1])))
    if "number" in kinds and len(kinds) > 1:
        raise TypeError("x values mix dates and numbers")
    kind = "time" if "time" in kinds else min(kinds, default="number")
    return prepared, kind


def _x_kind(x: X) -> str:
    if isinstance(x, datetime):
        return "time"
    return "date" if isinstance(x, date) else "number"


def _y_ticks(values: list[float]) -> list[float]:
    """Nice ticks over the values, reaching 0 when they are all on one side of it."""
    lo, hi = min(values), max(values)
    lo, hi = (0.0, hi) if lo >= 0 else (lo, max(hi, 0.0))
    return nice_ticks(lo, hi or 1.0)


def _x_axis(xs: list[float], kind: str, width: float) -> tuple[tuple[float, float], list]:
    """The x range (padded around a single x) and its ticks as (position, label)."""
    lo, hi = min(xs), max(xs)
    if lo == hi:
        pad = DAY if kind != "number" else max(abs(lo) * 0.1, 1.0)
        lo, hi = lo - pad, hi + pad
    max_ticks = max(2, min(8, int(width // 120)))
    if kind != "number":
        return (lo, hi), time_ticks(lo, hi, max_ticks, whole_days=kind == "date")
    whole = all(x == round(x) for x in xs)
    ticks = [t for t in nice_ticks(lo, hi, max_ticks) if lo <= t <= hi]
    ticks = [t for t in ticks if not whole or t == round(t)]
    return (lo, hi), [(t, _plain(t)) for t in ticks]


def _legend(series: list[_Series], top: float) -> tuple[str, float]:
    """Swatches and names in rows that wrap at :data:`LEGEND_WIDTH`; the markup and height."""
    items, x, y, step = [], 0.0, top, FONT_SIZE + 8
    for i, one in enumerate(series):
        size = 22 + _text_width(one.name) + 14
        if x > 0 and x + size > LEGEND_WIDTH:
            x, y = 0.0, y + step
        middle = y + step / 2
        items.append(
            f'{_series_group(i)}><line x1="{_n(x)}" y1="{_n(middle)}" x2="{_n(x + 16)}" '
            f'y2="{_n(middle)}" stroke="currentColor" stroke-width="3"/>'
            f"{_text(x + 22, middle, one.name, extra=_MIDDLE)}</g>"
        )
        x += size
    return f'<g class="chart-legend">{"".join(items)}</g>', y + step - top


def _grid(frame: _Frame, y_ticks: list[tuple[float, str]], x_ticks: list) -> str:
    """Grid lines at the y ticks, the baseline and the x tick marks."""
    grid = [
        f'<line x1="0" y1="{_n(frame.y(v))}" x2="100%" y2="{_n(frame.y(v))}"/>' for v, _ in y_ticks
    ]
    base, mark = _n(frame.bottom), _n(frame.bottom + 4)
    marks = [f'<line x1="0" y1="{base}" x2="100%" y2="{base}"/>']
    for value, _ in x_ticks:
        x = frame.x_percent(value)
        marks.append(f'<line x1="{x}" y1="{base}" x2="{x}" y2="{mark}"/>')
    return (
        f'<g class="chart-grid" stroke="{GRID}" shape-rendering="crispEdges">{"".join(grid)}</g>'
        f'<g class="chart-axis" stroke="{AXIS}" shape-rendering="crispEdges">{"".join(marks)}</g>'
    )


def _tick_labels(frame: _Frame, y_ticks: list[tuple[float, str]], x_ticks: list) -> str:
    """Y labels just above their grid lines at the left (haloed: lines may pass under them);
    x labels under the baseline, kept inside the chart at both ends."""
    labels = [_text(0, frame.y(value) - 3, label) for value, label in y_ticks]
    for value, label in x_ticks:
        share = frame.x(value) / PLOT_UNITS
        anchor = "start" if share < 0.08 else "end" if share > 0.92 else "middle"
        x = "0" if anchor == "start" else "100%" if anchor == "end" else frame.x_percent(value)
        labels.append(_text(x, frame.bottom + 6 + FONT_SIZE, label, anchor=anchor))
    return (
        f'<g class="chart-axis" fill="{MUTED}" stroke="{HALO}" stroke-width="3" '
        f'stroke-linejoin="round" paint-order="stroke">{"".join(labels)}</g>'
    )


def _path(frame: _Frame, one: _Series) -> str:
    """The series' line: one subpath per run of two or more points without a gap."""
    runs: list[list[str]] = [[]]
    for _, x, y in one.points:
        if y is None:
            runs.append([])
        else:
            runs[-1].append(f"{_n(frame.x(x))} {_n(frame.y(y))}")
    return "".join("M" + "L".join(run) for run in runs if len(run) > 1)


def _isolated(one: _Series) -> set[int]:
    """Indexes of points whose neighbours are both gaps (or the series' ends)."""
    ys = [y for _, _, y in one.points]
    return {
        i
        for i, y in enumerate(ys)
        if y is not None
        and (i == 0 or ys[i - 1] is None)
        and (i == len(ys) - 1 or ys[i + 1] is None)
    }


def _dots(frame: _Frame, one: _Series, y_format: Formatter) -> str:
    """A dot with a tooltip per point: visible when the series is short (and for isolated
    points), otherwise a transparent target; past :data:`TITLE_LIMIT`, isolated dots only."""
    visible = len(one.values) < DOT_LIMIT
    titled = len(one.values) <= TITLE_LIMIT
    isolated = _isolated(one)
    dots = []
    for i, (given, x, y) in enumerate(one.points):
        if y is None or not (titled or i in isolated):
            continue
        tooltip = f"<title>{escape(f'{one.name}, {_format_x(given)}: {y_format(y)}')}</title>"
        paint = (
            'stroke-width="7"'
            if visible or i in isolated
            else 'stroke="transparent" stroke-width="12"'
        )
        dots.append(
            f'<path d="M{_n(frame.x(x))} {_n(frame.y(y))}h0" {paint} '
            f'vector-effect="non-scaling-stroke">{tooltip}</path>'
        )
    return "".join(dots)


def _plot(frame: _Frame, height: float, series: list[_Series], y_format: Formatter) -> str:
    """The lines and dots, in a nested ``<svg>`` stretched to the chart's width."""
    groups = [
        f'{_series_group(i)} fill="none" stroke="currentColor" stroke-linecap="round" '
        f'stroke-linejoin="round"><path d="{_path(frame, one)}" stroke-width="2" '
        f'vector-effect="non-scaling-stroke"/>{_dots(frame, one, y_format)}</g>'
        for i, one in enumerate(series)
    ]
    return (
        f'<svg width="100%" height="{_n(height)}" viewBox="0 0 {_n(PLOT_UNITS)} {_n(height)}" '
        f'preserveAspectRatio="none" overflow="visible">{"".join(groups)}</svg>'
    )


def line_chart(
    series: Mapping[str, Sequence[tuple[X, float | None]]],
    *,
    title: str,
    y_label: str = "",
    width: int = 720,
    height: int = 260,
    y_format: Formatter | None = None,
) -> Markup:
    """Named series over time (dates, datetimes, both read as UTC) or over numbers.

    The chart fills its container's width and is ``height`` CSS pixels tall; ``width`` is
    the width the x ticks are planned for (one per 120 px, at most 8; they stay apart down to
    about half of it). ``None`` (or NaN) values leave a gap. The y axis has 1-2-5 ticks and
    starts at 0 when every value is >= 0; dates get calendar ticks. A legend appears with
    more than one series; each point has a ``<title>`` "series, x: value". Raises
    ``TypeError`` when x values mix dates and numbers.
    """
    fmt = y_format or format_number
    prepared, kind = _prepare(series)
    values = [y for one in prepared for y in one.values]
    if not values:
        return _empty("chart-line", title, height)
    y_ticks = [(t, fmt(t)) for t in _y_ticks(values)]
    xs = [x for one in prepared for _, x, y in one.points if y is not None]
    x_range, x_ticks = _x_axis(xs, kind, width)
    header, top = [], 4.0
    if len(prepared) > 1:
        legend, legend_height = _legend(prepared, top)
        header.append(legend)
        top += legend_height
    if y_label:
        header.append(_note(0, top + FONT_SIZE, y_label))
        top += FONT_SIZE + 6
    top += FONT_SIZE + 6  # room for the top tick's label above its line
    height = max(height, top + 80 + FONT_SIZE + 10)
    y_range = (y_ticks[0][0], y_ticks[-1][0])
    frame = _Frame(top, height - FONT_SIZE - 10, x_range, y_range)
    body = [
        _grid(frame, y_ticks, x_ticks),
        _plot(frame, height, prepared, fmt),
        _tick_labels(frame, y_ticks, x_ticks),
        *header,
    ]
    return _svg("chart-line", title, height, body)


# --- bar chart ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bars:
    """A bar chart's horizontal scale in percent of the width: values in ``domain`` map onto
    ``[start, 100]``; labels are cut at ``label_chars``."""

    domain: tuple[float, float]
    start: float
    label_chars: int

    def x(self, value: float) -> float:
        lo, hi = self.domain
        return self.start + (value - lo) / (hi - lo) * (100.0 - self.start)

    def cut(self, label: str) -> str:
        if len(label) <= self.label_chars:
            return label
        return label[: self.label_chars - 1].rstrip() + "…"


def _figure(bars: _Bars, value: float, y: float, figure: str) -> str:
    """The figure at the bar's end: outside when there is room there (a quarter of the
    width), otherwise inside the bar in white."""
    zero, end = bars.x(0.0), bars.x(value)
    room = end if value < 0 else 100.0 - end
    outside = room >= 25.0 or abs(end - zero) < 25.0
    anchor = "start" if (value >= 0) == outside else "end"
    shift = 4 if anchor == "start" else -4
    fill = "" if outside else f' fill="{HALO}"'
    extra = f' class="chart-value" dx="{shift}"{fill}{_MIDDLE}'
    return _text(f"{_n(end)}%", y, figure, anchor=anchor, extra=extra)


def _bar_row(
    bars: _Bars, top: float, bar_height: float, row: tuple[str, float | None], figure: str
) -> str:
    """One row: the (cut) label on its own line, then the bar from zero with its figure,
    or "withheld" and no bar."""
    label, value = row
    middle = top + FONT_SIZE + 4 + bar_height / 2
    parts = [_text(0, top + FONT_SIZE, bars.cut(label))]
    zero = bars.x(0.0)
    if value is None:
        extra = f' class="chart-withheld" dx="4" fill="{MUTED}" font-style="italic"{_MIDDLE}'
        parts.append(_text(f"{_n(zero)}%", middle, figure, extra=extra))
    else:
        x0, x1 = sorted((zero, bars.x(value)))
        parts.append(
            f'<rect class="chart-bar" x="{_n(x0)}%" y="{_n(top + FONT_SIZE + 4)}" '
            f'width="{_n(x1 - x0)}%" height="{_n(bar_height)}" fill="{PALETTE[0]}"/>'
        )
        parts.append(_figure(bars, value, middle, figure))
    tooltip = f"<title>{escape(label)}: {escape(figure)}</title>"
    return f'<g class="chart-row">{tooltip}{"".join(parts)}</g>'


def bar_chart(
    rows: Sequence[tuple[str, float | None]],
    *,
    title: str,
    value_format: Formatter | None = None,
    width: int = 720,
    bar_height: int = 22,
    max_rows: int = 20,
) -> Markup:
    """Horizontal bars from zero, one per ``(label, value)`` row in the given order.

    The chart fills its container's width. Each label sits on its own line above its bar,
    cut with an ellipsis to fit 45% of ``width`` (the row's ``<title>`` has the full label
    and the figure); the figure is printed at the bar's end. A ``None`` value (a group too
    small to show) is written "withheld" with no bar. Rows past ``max_rows`` are counted in
    a last line ("+ 3 more"); the page's table lists them.
    """
    fmt = value_format or format_number
    shown = [(str(label), _finite(value)) for label, value in rows[:max_rows]]
    if not shown:
        return _empty("chart-bars", title, 2 * bar_height + 16)
    figures = ["withheld" if value is None else fmt(value) for _, value in shown]
    values = [value for _, value in shown if value is not None]
    lo, hi = min([0.0, *values]), max([0.0, *values])
    start = 15.0 if lo < 0 else 0.0  # room for a short negative bar's figure
    bars = _Bars((lo, hi if hi > lo else 1.0), start, max(12, int(width * 0.45 / CHAR_WIDTH)))
    pitch = FONT_SIZE + 4 + bar_height + 10
    body = [
        _bar_row(bars, i * pitch, bar_height, row, figure)
        for i, (row, figure) in enumerate(zip(shown, figures, strict=True))
    ]
    bottom = len(shown) * pitch
    if lo < 0:
        zero = f"{_n(bars.x(0.0))}%"
        body.append(
            f'<line class="chart-axis" x1="{zero}" y1="{FONT_SIZE + 2}" x2="{zero}" '
            f'y2="{_n(bottom - 8)}" stroke="{AXIS}"/>'
        )
    if len(rows) > max_rows:
        body.append(_note(0, bottom + FONT_SIZE, f"+ {len(rows) - max_rows} more"))
        bottom += FONT_SIZE + 8
    return _svg("chart-bars", title, bottom + 2, body)
