"""Inline SVG charts on tiny literal data: well-formed XML, escaping, gaps, ticks, legends,
empty input, withheld bars and deterministic output."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from markupsafe import Markup

from serving.console.charts import (
    PALETTE,
    bar_chart,
    format_number,
    line_chart,
    nice_ticks,
    time_ticks,
)

NS = "{http://www.w3.org/2000/svg}"
NOV = [date(2026, 11, d) for d in range(1, 6)]
EVIL = '<script>alert("x")</script> & co'


def parse(svg: Markup) -> ET.Element:
    return ET.fromstring(str(svg))


def all_of(root: ET.Element, tag: str) -> list[ET.Element]:
    return list(root.iter(NS + tag))


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in all_of(root, "text")]


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def series_groups(root: ET.Element) -> list[ET.Element]:
    """The series' groups in the plot (legend entries are left out)."""
    plot = next(svg for svg in all_of(root, "svg") if svg is not root)
    return [g for g in all_of(plot, "g") if "chart-series" in classes(g)]


def line_paths(root: ET.Element) -> list[str]:
    return [g.find(NS + "path").get("d") for g in series_groups(root)]


def is_nice(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m) for m in (1, 2, 5, 10))


# --- numbers and ticks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0, 7, [0, 2, 4, 6, 8]),
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (0, 0.9, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (-3, 12, [-5, 0, 5, 10, 15]),
        (1234, 1301, [1220, 1240, 1260, 1280, 1300, 1320]),
        (5, 5, [4, 4.5, 5, 5.5, 6]),
    ],
)
def test_nice_ticks_are_1_2_5_steps_covering_the_range(lo, hi, expected):
    ticks = nice_ticks(lo, hi)
    assert ticks == expected
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1 and is_nice(steps.pop())
    assert ticks[0] <= lo and ticks[-1] >= hi


def test_format_number():
    assert [format_number(v) for v in (0, -0.0, 1234, 12.5, 0.125, 3_400_000, 2.0)] == [
        "0",
        "0",
        "1,234",
        "12.5",
        "0.125",
        "3.4M",
        "2",
    ]


def test_time_ticks_are_days_then_weeks_then_months():
    def seconds(day: date) -> float:
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()

    days = time_ticks(seconds(date(2026, 11, 1)), seconds(date(2026, 11, 5)), 6)
    assert [label for _, label in days] == ["1 Nov", "2 Nov", "3 Nov", "4 Nov", "5 Nov"]
    weeks = time_ticks(seconds(date(2026, 11, 1)), seconds(date(2026, 12, 1)), 6)
    assert [label for _, label in weeks] == ["2 Nov", "9 Nov", "16 Nov", "23 Nov", "30 Nov"]
    assert all(datetime.fromtimestamp(t, UTC).weekday() == 0 for t, _ in weeks)
    months = time_ticks(seconds(date(2026, 10, 15)), seconds(date(2027, 2, 15)), 6)
    assert [label for _, label in months] == ["Nov 2026", "Dec", "Jan 2027", "Feb"]
    years = time_ticks(seconds(date(2020, 6, 1)), seconds(date(2026, 6, 1)), 6)
    assert [label for _, label in years] == ["2021", "2022", "2023", "2024", "2025", "2026"]


# --- line chart ----------------------------------------------------------------------------


def test_line_chart_is_svg_with_title_and_label():
    svg = line_chart({"Shares": list(zip(NOV, [1, 3, 2, 5, 4], strict=True))}, title="Shares")
    assert isinstance(svg, Markup)
    root = parse(svg)
    assert root.tag == NS + "svg"
    assert {"chart", "chart-line"} <= classes(root)
    assert root.get("role") == "img" and root.get("aria-label") == "Shares"
    assert root.find(NS + "title").text == "Shares"
    assert root.get("width") == "100%" and root.get("height") == "260"


def test_line_chart_escapes_text_from_data():
    svg = line_chart(
        {EVIL: [(NOV[0], 1), (NOV[1], 2)], "b": [(NOV[0], 2)]}, title=EVIL, y_label=EVIL
    )
    assert "<script>" not in str(svg)
    root = parse(svg)
    assert root.get("aria-label") == EVIL and root.find(NS + "title").text == EVIL
    assert EVIL in texts(root)  # legend and y label
    tooltips = [t.text for t in root.iter(NS + "title")]
    assert f"{EVIL}, 1 Nov 2026: 1" in tooltips


def test_none_values_leave_gaps_and_isolated_points_keep_a_dot():
    values = [1, 2, None, 4, None]
    root = parse(line_chart({"a": list(zip(NOV, values, strict=True))}, title="t"))
    (path,) = line_paths(root)
    assert path.count("M") == 1 and path.count("L") == 1  # 1-2; 4 stands alone
    (group,) = series_groups(root)
    dots = group.findall(NS + "path")[1:]
    assert [d.find(NS + "title").text for d in dots] == [
        "a, 1 Nov 2026: 1",
        "a, 2 Nov 2026: 2",
        "a, 4 Nov 2026: 4",
    ]
    assert all(d.get("d").endswith("h0") for d in dots)


def test_y_ticks_are_nice_and_start_at_zero_for_positive_values():
    svg = line_chart({"a": list(zip(NOV, [13, 17, 21, 30, 26], strict=True))}, title="t")
    root = parse(svg)
    axis = [g for g in all_of(root, "g") if "chart-axis" in classes(g)][-1]
    y_labels = [t.text for t in axis.findall(NS + "text") if " " not in t.text]  # not "1 Nov"
    numbers = sorted(float(label) for label in y_labels)
    assert numbers[0] == 0 and numbers[-1] >= 30
    steps = {b - a for a, b in itertools.pairwise(numbers)}
    assert len(steps) == 1 and is_nice(steps.pop())


def test_y_format_is_used_for_ticks_and_tooltips():
    root = parse(
        line_chart({"r": [(NOV[0], 0.25), (NOV[1], 0.5)]}, title="t", y_format="{:.0%}".format)
    )
    assert "50%" in texts(root)
    assert "r, 2 Nov 2026: 50%" in [t.text for t in root.iter(NS + "title")]


def test_legend_only_with_more_than_one_series_and_colours_differ():
    one = parse(line_chart({"a": [(NOV[0], 1), (NOV[1], 2)]}, title="t"))
    assert not [g for g in all_of(one, "g") if "chart-legend" in classes(g)]
    two = parse(
        line_chart({"a": [(NOV[0], 1), (NOV[1], 2)], "b": [(NOV[0], 3), (NOV[1], 1)]}, title="t")
    )
    (legend,) = [g for g in all_of(two, "g") if "chart-legend" in classes(g)]
    assert [t.text for t in legend.iter(NS + "text")] == ["a", "b"]
    groups = series_groups(two)
    assert [g.get("color") for g in groups] == list(PALETTE[:2])
    assert "chart-series-1" in classes(groups[0]) and "chart-series-2" in classes(groups[1])


def test_long_series_have_no_visible_dots_but_keep_tooltips():
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(60)]
    root = parse(line_chart({"a": [(d, i % 7) for i, d in enumerate(days)]}, title="t"))
    (group,) = series_groups(root)
    dots = group.findall(NS + "path")[1:]
    assert len(dots) == 60 and all(d.get("stroke") == "transparent" for d in dots)
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(200)]
    root = parse(line_chart({"a": [(d, 1.0) for d in days]}, title="t"))
    assert len(list(root.iter(NS + "title"))) == 1  # the chart's own; the table has the rest


def test_empty_input_says_no_data():
    for series in ({}, {"a": []}, {"a": [(NOV[0], None)]}):
        root = parse(line_chart(series, title="Nothing yet"))
        assert texts(root) == ["no data"]
        assert root.get("aria-label") == "Nothing yet"


def test_single_point_is_centred_with_a_dot():
    root = parse(line_chart({"a": [(NOV[1], 5.0)]}, title="t"))
    (group,) = series_groups(root)
    assert group.find(NS + "path").get("d") == ""  # no line from one point
    (dot,) = group.findall(NS + "path")[1:]
    assert dot.get("d").startswith("M500 ")  # the middle of the stretched plot
    assert "2 Nov" in texts(root)


def test_numbers_and_datetimes_on_the_x_axis():
    numeric = parse(line_chart({"a": [(1, 1.0), (2, 3.0), (12, 2.0)]}, title="t"))
    assert {"2", "4", "10", "12"} <= set(texts(numeric))
    hours = [datetime(2026, 11, 2, h) for h in range(0, 24, 3)]
    timed = parse(line_chart({"a": [(h, 1.0) for h in hours]}, title="t"))
    assert "2 Nov" in texts(timed) and "12:00" in texts(timed)
    assert "a, 2 Nov 2026 03:00: 1" in [t.text for t in timed.iter(NS + "title")]
    with pytest.raises(TypeError):
        line_chart({"a": [(1, 1.0)], "b": [(NOV[0], 1.0)]}, title="t")


def test_line_chart_is_deterministic_and_compact():
    series = {"a": [(NOV[0], 1 / 3), (NOV[1], 2 / 3)], "b": [(NOV[0], math.pi)]}
    first, second = line_chart(series, title="t"), line_chart(dict(series), title="t")
    assert first == second
    root = parse(first)
    for path in line_paths(root):
        for number in path.replace("M", " ").replace("L", " ").split():
            assert len(number.partition(".")[2]) <= 1


# --- bar chart -----------------------------------------------------------------------------


def rows_of(root: ET.Element) -> list[ET.Element]:
    return [g for g in all_of(root, "g") if "chart-row" in classes(g)]


def test_bar_chart_bars_values_and_withheld():
    root = parse(bar_chart([("Sales", 120), ("Tech", None), ("HR", 30)], title="By dept"))
    assert {"chart", "chart-bars"} <= classes(root) and root.get("aria-label") == "By dept"
    sales, tech, hr = rows_of(root)
    assert [t.text for t in sales.findall(NS + "text")] == ["Sales", "120"]
    assert tech.find(NS + "rect") is None
    assert [t.text for t in tech.findall(NS + "text")] == ["Tech", "withheld"]
    assert tech.find(NS + "title").text == "Tech: withheld"
    widths = [float(g.find(NS + "rect").get("width").rstrip("%")) for g in (sales, hr)]
    assert widths == [100.0, 25.0]


def test_bar_labels_are_escaped_and_long_ones_cut():
    label = EVIL + " and a very long department name that goes on and on"
    root = parse(bar_chart([(label, 5)], title="t", width=400))
    assert "<script>" not in str(bar_chart([(label, 5)], title="t"))
    (row,) = rows_of(root)
    shown = row.find(NS + "text").text
    assert shown.endswith("…") and len(shown) == 25 and label.startswith(shown[:-1])
    assert row.find(NS + "title").text == f"{label}: 5"


def test_bar_chart_negative_values_extra_rows_and_format():
    rows = [("up", 2.0), ("down", -1.0), ("c", 0.5), ("d", 0.25)]
    root = parse(bar_chart(rows, title="t", value_format="{:+.1f}".format, max_rows=2))
    up, down = rows_of(root)
    assert up.findall(NS + "text")[1].text == "+2.0"
    up_bar, down_bar = up.find(NS + "rect"), down.find(NS + "rect")
    assert float(down_bar.get("x").rstrip("%")) < float(up_bar.get("x").rstrip("%"))
    assert "+ 2 more" in texts(root)


def test_bar_chart_empty_and_deterministic():
    assert texts(parse(bar_chart([], title="t"))) == ["no data"]
    assert texts(parse(bar_chart([("only", None)], title="t"))) == ["only", "withheld"]
    rows = [("a", 1 / 3), ("b", 2 / 3)]
    assert bar_chart(rows, title="t") == bar_chart(list(rows), title="t")
