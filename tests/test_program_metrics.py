"""Program metrics on a small literal store, every figure worked out by hand (both stores).

The period is the two ISO weeks [2026-03-02, 2026-03-16); the previous period is
[2026-02-16, 2026-03-02). EMV rates (RATES): linkedin 20 EUR CPM, 2 EUR CPC, a reaction is
0.5 click; x 10 USD CPM, 1 USD CPC, 0.25; facebook is not priced.

advocates   dept   region hired       shares in the period (network, content)
  ana       Sales  EMEA   2025-01-01  s1 (linkedin c1, 03-02), s3 (linkedin c2, 03-10)
  ben       Sales  EMEA   2025-06-01  s2 (x c1, 03-03)
  cem       Sales  AMER   2026-03-09  s6 (facebook c2, 03-11)
  gus       Sales  EMEA   2020-01-01  -
  dan       Tech   EMEA   2024-01-01  s4 (linkedin c1, 03-04)   opted out
  eva       Tech   AMER   -           s5 (x c3, 03-02)
  fay       Tech   AMER   2026-04-01  -                          (hired after the period)
previous period: p1 (ana, linkedin c1, 02-20), p2 (ben, x c6, 02-17); o1 (ana, 03-16) is after.

latest measurement (impressions, clicks, reactions, comments, reshares), followers at share
time, link clicks:
  s1 (1000, 20, 50, 5, 2)  1000 (1200 only from 03-05)  3
  s2 ( 400,  8, 12, 2, 1)   300 (500 only from 03-03 10:00, after the share)  1
  s3 ( 300,  6,  9, 1, 1)  1200  2
  s4 ( 500, 10, 20, 2, 3)  2000  1
  s5 (no measurement)         0 (no snapshot)  0
  s6 (  50,  1,  2, 0, 0)   150  0
  p1 ( 600, 12, 30, 3, 1)  1000  1
  p2 ( 100,  2,  5, 0, 0)   300  0

content  type     topics       published   expires     status
  c1     article  ai, cloud    2026-02-01  -           approved
  c2     job      hiring       2026-03-05  2026-03-20  approved
  c3     article  ai           2026-01-01  2026-03-03  approved
  c4     event    -            2026-03-01  -           draft
  c5     article  cloud        2026-03-20  -           approved
  c6     job      hiring       2026-01-15  2026-02-20  approved
available in the period: c1, c2, c3 (c4 draft, c5 later, c6 expired); previous: c1, c3, c6.

attribution credits of model "last_touch" (converted_at, share, credit, value):
  conv1 03-05 s1 1.0 100 EUR; conv2 03-12 s2 0.5 25 USD + s3 0.5 25 USD; conv3 03-06 s4 1.0
  (no value); conv4 03-03 p1 1.0 40 EUR; conv5 02-20 p2 1.0 10 USD; conv6 03-20 s1 (after).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from features.data import schema
from features.data.store import Store
from features.program import (
    EXAMPLE_CONFIG,
    TRIGGERS,
    EmvConfig,
    Figures,
    ProgramReport,
    ReportRequest,
    RequestError,
    UnknownTableError,
    add_shares,
    load_emv_config,
    parse_emv_config,
    program_report,
    refresh_rollups,
)
from features.program.periods import Buckets

START, END = datetime(2026, 3, 2), datetime(2026, 3, 16)
MODEL = "last_touch"
RATES: EmvConfig = parse_emv_config(
    {
        "networks": {
            "linkedin": {"cpm": 20, "cpc": 2, "reaction_multiplier": 0.5, "currency": "EUR"},
            "x": {"cpm": 10, "cpc": 1, "reaction_multiplier": 0.25, "currency": "usd"},
        }
    }
)

ADVOCATES = [
    ("ana", "Sales", "EMEA", date(2025, 1, 1), False),
    ("ben", "Sales", "EMEA", date(2025, 6, 1), False),
    ("cem", "Sales", "AMER", date(2026, 3, 9), False),
    ("gus", "Sales", "EMEA", date(2020, 1, 1), False),
    ("dan", "Tech", "EMEA", date(2024, 1, 1), True),
    ("eva", "Tech", "AMER", None, False),
    ("fay", "Tech", "AMER", date(2026, 4, 1), False),
]
CONTENT = [
    ("c1", "article", ["ai", "cloud"], datetime(2026, 2, 1), None, "approved"),
    ("c2", "job", ["hiring"], datetime(2026, 3, 5), datetime(2026, 3, 20), "approved"),
    ("c3", "article", ["ai"], datetime(2026, 1, 1), datetime(2026, 3, 3), "approved"),
    ("c4", "event", [], datetime(2026, 3, 1), None, "draft"),
    ("c5", "article", ["cloud"], datetime(2026, 3, 20), None, "approved"),
    ("c6", "job", ["hiring"], datetime(2026, 1, 15), datetime(2026, 2, 20), "approved"),
]
SHARES = [
    ("s1", "ana", "c1", "linkedin", datetime(2026, 3, 2, 10)),
    ("s2", "ben", "c1", "x", datetime(2026, 3, 3, 9)),
    ("s3", "ana", "c2", "linkedin", datetime(2026, 3, 10, 12)),
    ("s4", "dan", "c1", "linkedin", datetime(2026, 3, 4, 8)),
    ("s5", "eva", "c3", "x", datetime(2026, 3, 2, 15)),
    ("s6", "cem", "c2", "facebook", datetime(2026, 3, 11, 10)),
    ("p1", "ana", "c1", "linkedin", datetime(2026, 2, 20, 10)),
    ("p2", "ben", "c6", "x", datetime(2026, 2, 17, 10)),
    ("o1", "ana", "c1", "linkedin", datetime(2026, 3, 16)),
]
OUTCOMES = [
    ("s1", datetime(2026, 3, 3), (100, 5, 10, 1, 0)),
    ("s1", datetime(2026, 3, 9), (1000, 20, 50, 5, 2)),
    ("s2", datetime(2026, 3, 4), (400, 8, 12, 2, 1)),
    ("s3", datetime(2026, 3, 11), (200, 4, 6, 0, 0)),
    ("s3", datetime(2026, 3, 12), (300, 6, 9, 1, 1)),
    ("s4", datetime(2026, 3, 5), (500, 10, 20, 2, 3)),
    ("s6", datetime(2026, 3, 12), (50, 1, 2, 0, 0)),
    ("p1", datetime(2026, 2, 21), (600, 12, 30, 3, 1)),
    ("p2", datetime(2026, 2, 18), (100, 2, 5, 0, 0)),
]
ACCOUNTS = [
    ("ana", "linkedin", datetime(2026, 1, 1), 1000),
    ("ana", "linkedin", datetime(2026, 3, 5), 1200),
    ("ben", "x", datetime(2026, 2, 1), 300),
    ("ben", "x", datetime(2026, 3, 3, 10), 500),
    ("dan", "linkedin", datetime(2026, 1, 1), 2000),
    ("cem", "facebook", datetime(2026, 3, 10), 150),
]
CLICKS = {"s1": 3, "s2": 1, "s3": 2, "s4": 1, "p1": 1}
CREDITS = [
    ("conv1", "s1", datetime(2026, 3, 5), 1.0, 100.0, "EUR"),
    ("conv2", "s2", datetime(2026, 3, 12), 0.5, 25.0, "USD"),
    ("conv2", "s3", datetime(2026, 3, 12), 0.5, 25.0, "USD"),
    ("conv3", "s4", datetime(2026, 3, 6), 1.0, None, None),
    ("conv4", "p1", datetime(2026, 3, 3), 1.0, 40.0, "EUR"),
    ("conv5", "p2", datetime(2026, 2, 20), 1.0, 10.0, "USD"),
    ("conv6", "s1", datetime(2026, 3, 20), 1.0, 70.0, "EUR"),
]


def _fill(store: Store) -> None:
    """Write the literal store, then bring the rollups up to date."""
    store.write("advocates", [_advocate(*row) for row in ADVOCATES])
    store.write("content", [_content(*row) for row in CONTENT])
    events = [
        {"event_id": e, "employee_id": who, "content_id": c, "event_type": "share"}
        | {"network": net, "timestamp": at}
        for e, who, c, net, at in SHARES
    ]
    view = {"event_id": "v1", "employee_id": "ben", "content_id": "c2", "event_type": "view"}
    store.write(
        "interactions", [*events, view | {"network": None, "timestamp": datetime(2026, 3, 5)}]
    )
    store.write("share_outcomes", [_outcome(*row) for row in OUTCOMES])
    store.write("social_accounts", [_account(*row) for row in ACCOUNTS])
    store.write("link_clicks", [_click(e, n) for e, count in CLICKS.items() for n in range(count)])
    _credits(store, MODEL, CREDITS)
    _credits(store, "first_touch", [("conv1", "s2", datetime(2026, 3, 5), 1.0, 100.0, "EUR")])
    _run(store)
    refresh_rollups(store, TRIGGERS)


def _advocate(employee: str, dept: str, region: str, hired: date | None, out: bool) -> dict:
    return {
        "employee_id": employee,
        "department": dept,
        "region": region,
        "hire_date": hired,
        "opted_out": out,
    }


def _content(content_id, kind, topics, published, expires, status) -> dict:
    return {
        "content_id": content_id,
        "title": content_id,
        "content_type": kind,
        "topics": topics,
        "published_at": published,
        "expires_at": expires,
        "approval_status": status,
    }


def _outcome(event: str, at: datetime, counts: tuple[int, ...]) -> dict:
    names = ("impressions", "clicks", "reactions", "comments", "reshares")
    return {"event_id": event, "measured_at": at, **dict(zip(names, counts, strict=True))}


def _account(employee: str, network: str, at: datetime, followers: int) -> dict:
    return {"employee_id": employee, "network": network, "as_of": at, "followers": followers}


def _click(event: str, n: int) -> dict:
    at = datetime(2026, 3, 14)
    return {"click_id": f"{event}-{n}", "share_event_id": event, "visitor_id": "v", "timestamp": at}


def _credits(store: Store, model: str, rows: list[tuple]) -> None:
    names = ("conversion_id", "share_event_id", "converted_at", "credit", "value", "currency")
    with store.engine.begin() as conn:
        conn.execute(
            schema.attribution_credits.insert(),
            [{"model": model, **dict(zip(names, row, strict=True))} for row in rows],
        )


def _run(store: Store) -> None:
    """The attribution run of MODEL that CREDITS come from."""
    with store.engine.begin() as conn:
        conn.execute(
            schema.attribution_runs.insert().values(
                model=MODEL,
                computed_at=datetime(2026, 3, 20),
                lookback_days=30.0,
                params={},
                conversions=6,
                unattributed=2,
                fingerprint="f",
            )
        )


@pytest.fixture
def filled(store: Store) -> Store:
    _fill(store)
    return store


def _report(store: Store, group_by: tuple[str, ...] = (), **options) -> ProgramReport:
    options = {"attribution_model": MODEL, **options}
    return program_report(store, ReportRequest(START, END, group_by, **options), RATES)


def _check(figures: Figures | None, expected: dict[str, object]) -> None:
    assert figures is not None
    for name, value in expected.items():
        assert figures.get(name) == pytest.approx(value), name


def _rows(report: ProgramReport) -> dict[tuple, object]:
    return {tuple(row.key.values()): row for row in report.rows}


# -- totals -------------------------------------------------------------------------------
TOTALS = {
    "enrolled": 6,  # ana ben cem (hired 03-09) gus dan eva (no date); fay is hired 04-01
    "active_advocates": 5,  # ana ben cem dan eva
    "participation_rate": 5 / 6,
    "shares": 6,  # s1..s6 (o1 at 03-16 is outside, v1 is a view)
    "shares_per_100_advocates_per_week": 100 * 6 / 6 / 2,  # = 50
    "content_used": 3,  # c1 c2 c3
    "content_available": 3,  # c1 c2 c3
    "potential_reach": 1000 + 300 + 1200 + 2000 + 0 + 150,  # = 4650
    "impressions": 1000 + 400 + 300 + 500 + 0 + 50,  # = 2250
    "clicks": 20 + 8 + 6 + 10 + 1,  # = 45
    "reactions": 50 + 12 + 9 + 20 + 2,  # = 93
    "comments": 5 + 2 + 1 + 2,  # = 10
    "reshares": 2 + 1 + 1 + 3,  # = 7
    "engagement_rate": (93 + 10 + 7 + 45) / 2250,
    "click_through_rate": 45 / 2250,
    "link_clicks": 3 + 1 + 2 + 1,  # = 7
    # linkedin s1 s3 s4: 1800 impressions, 79 reactions, 36 clicks
    "emv.EUR": 20 * 1800 / 1000 + 2 * (0.5 * 79 + 36),  # = 36 + 151 = 187
    # x s2 s5: 400 impressions, 12 reactions, 8 clicks
    "emv.USD": 10 * 400 / 1000 + 1 * (0.25 * 12 + 8),  # = 4 + 11 = 15
    "unpriced_shares": 1,  # s6 on facebook
    "conversions": 1.0 + 0.5 + 0.5 + 1.0 + 1.0,  # conv1 conv2 conv3 conv4 = 4
    "attributed_value.EUR": 100 + 40,  # conv1, conv4 (credited to p1 of the previous period)
    "attributed_value.USD": 25 + 25,  # conv2
}
PREVIOUS_TOTALS = {
    "enrolled": 5,  # cem is hired on 03-09
    "active_advocates": 2,
    "participation_rate": 2 / 5,
    "shares": 2,  # p1 p2
    "shares_per_100_advocates_per_week": 100 * 2 / 5 / 2,  # = 20
    "content_used": 2,  # c1 c6
    "content_available": 3,  # c1 c3 c6 (expires 02-20, after 02-16)
    "potential_reach": 1000 + 300,
    "impressions": 700,
    "clicks": 14,
    "engagement_rate": (35 + 3 + 1 + 14) / 700,
    "link_clicks": 1,
    "emv.EUR": 20 * 600 / 1000 + 2 * (0.5 * 30 + 12),  # = 12 + 54 = 66
    "emv.USD": 10 * 100 / 1000 + 1 * (0.25 * 5 + 2),  # = 1 + 3.25 = 4.25
    "conversions": 1.0,  # conv5
    "attributed_value.USD": 10.0,
}


def test_totals_match_the_hand_computed_figures(filled: Store) -> None:
    report = _report(filled)
    assert report.rows == () and report.suppressed == 0  # no grouping: the totals only
    _check(report.totals.figures, TOTALS)
    _check(report.totals.previous, PREVIOUS_TOTALS)
    change = report.totals.change
    assert change is not None
    assert change["shares"] == pytest.approx((6 - 2) / 2)
    assert change["emv"] == pytest.approx({"EUR": (187 - 66) / 66, "USD": (15 - 4.25) / 4.25})
    assert change["attributed_value"] == pytest.approx({"EUR": None, "USD": (50 - 10) / 10})
    assert report.attribution is not None and report.attribution.unattributed == 2
    assert report.unpriced_networks == ("facebook",)


@pytest.mark.parametrize(
    "options",
    [
        {"group_by": ("department",)},
        {"group_by": ("network", "week")},
        {"group_by": ("advocate",)},
        {"group_by": ("topic", "month")},
        {"group_by": ("content",), "top": 1, "order_by": "shares"},
    ],
)
def test_totals_do_not_depend_on_the_grouping(filled: Store, options: dict) -> None:
    # some groupings read the totals' sums off their rows, the others query them
    assert _report(filled, **options).totals == _report(filled).totals


def test_a_model_without_a_run_reports_no_conversions(filled: Store) -> None:
    report = _report(filled, attribution_model="first_touch")
    assert report.attribution is None
    assert report.totals.figures.conversions is None
    assert report.totals.figures.attributed_value is None
    assert report.to_dict()["attribution"] is None


# -- groups, suppression and opt-out ------------------------------------------------------
SALES = {
    "enrolled": 4,  # ana ben cem gus
    "active_advocates": 3,  # ana ben cem
    "participation_rate": 3 / 4,
    "shares": 4,  # s1 s2 s3 s6
    "shares_per_100_advocates_per_week": 100 * 4 / 4 / 2,  # = 50
    "content_used": 2,  # c1 c2
    "content_available": 3,  # program-wide
    "potential_reach": 1000 + 300 + 1200 + 150,
    "impressions": 1000 + 400 + 300 + 50,
    "clicks": 20 + 8 + 6 + 1,
    "reactions": 50 + 12 + 9 + 2,
    "engagement_rate": (73 + 8 + 4 + 35) / 1750,
    "link_clicks": 3 + 1 + 2,
    "emv.EUR": 20 * 1300 / 1000 + 2 * (0.5 * 59 + 26),  # s1 s3: = 26 + 111 = 137
    "emv.USD": 15.0,  # s2
    "unpriced_shares": 1,
    "conversions": 1.0 + 0.5 + 0.5 + 1.0,  # conv1 conv2 conv4 (p1 is ana's)
    "attributed_value.EUR": 140.0,
    "attributed_value.USD": 50.0,
}


def test_a_group_under_k_is_suppressed_and_still_counted_in_totals(filled: Store) -> None:
    report = _report(filled, ("department",), min_group_size=3)
    rows = _rows(report)
    assert set(rows) == {("Sales",), ("Tech",)}
    _check(rows["Sales",].figures, SALES)
    tech = rows["Tech",]  # dan and eva: 2 active advocates < 3
    assert tech.suppressed and tech.figures is None and tech.previous is None
    assert report.suppressed == 1
    assert report.to_dict()["rows"][1] == {
        "key": {"department": "Tech"},
        "suppressed": True,
        "figures": None,
        "previous": None,
        "previous_suppressed": False,
        "change": None,
    }
    _check(report.totals.figures, {"shares": 6, "active_advocates": 5})  # Tech's s4 s5 too
    # Sales had 2 active advocates in the previous period (ana, ben) < 3: withheld
    assert rows["Sales",].previous is None and rows["Sales",].previous_suppressed


def test_previous_period_and_change_per_group(filled: Store) -> None:
    sales = _rows(_report(filled, ("department",), min_group_size=2))["Sales",]
    previous = {
        "enrolled": 3,  # ana ben gus (cem is hired 03-09)
        "shares": 2,  # p1 p2
        "shares_per_100_advocates_per_week": 100 * 2 / 3 / 2,
        "content_available": 3,  # c1 c3 c6
        "emv.EUR": 66.0,
        "emv.USD": 4.25,
        "conversions": 1.0,  # conv5 (p2, ben)
    }
    _check(sales.previous, previous)
    assert sales.change["shares"] == pytest.approx((4 - 2) / 2)
    assert sales.change["conversions"] == pytest.approx((3 - 1) / 1)
    assert sales.change["enrolled"] == pytest.approx((4 - 3) / 3)


def test_opted_out_advocates_have_no_row_but_count_in_totals(filled: Store) -> None:
    report = _report(filled, ("advocate",))
    rows = _rows(report)
    assert set(rows) == {("ana",), ("ben",), ("cem",), ("eva",)}  # no dan; not k-suppressed
    assert report.suppressed == 0
    ana = {
        "enrolled": 1,
        "participation_rate": 1.0,
        "shares": 2,  # s1 s3
        "shares_per_100_advocates_per_week": 100 * 2 / 1 / 2,
        "content_used": 2,
        "potential_reach": 1000 + 1200,
        "impressions": 1300,
        "link_clicks": 5,
        "emv.EUR": 137.0,
        "emv.USD": 0.0,
        "conversions": 1.0 + 0.5 + 1.0,  # conv1 (s1), conv2 (s3), conv4 (p1)
        "attributed_value.EUR": 140.0,
        "attributed_value.USD": 25.0,
    }
    _check(rows["ana",].figures, ana)
    _check(rows["cem",].figures, {"enrolled": 1, "shares": 1, "emv.EUR": 0.0})
    _check(report.totals.figures, {"shares": 6, "active_advocates": 5, "conversions": 4.0})
    dan = _report(filled, ("week",), filters={"advocate": "dan"})
    assert dan.rows == () and dan.totals.figures.shares == 0


def test_no_grouping_that_names_advocates_shows_an_opted_out_one(filled: Store) -> None:
    report = _report(filled, ("advocate", "network"), min_group_size=5)
    assert {key[0] for key in _rows(report)} == {"ana", "ben", "cem", "eva"}
    _check(_rows(report)["ana", "linkedin"].figures, {"shares": 2, "emv.EUR": 137.0})


def test_top_advocates_by_emv_are_ranked_in_the_database(filled: Store) -> None:
    report = _report(filled, ("advocate",), top=2, order_by="emv.EUR")
    assert [row.key["advocate"] for row in report.rows] == ["ana", "ben"]  # 137, then 0 by key
    _check(report.rows[0].figures, {"emv.EUR": 137.0, "conversions": 2.5})
    _check(report.rows[1].figures, {"emv.USD": 15.0, "conversions": 0.5})
    _check(report.rows[0].previous, {"shares": 1, "emv.EUR": 66.0})  # p1
    by_conversions = _report(filled, ("advocate",), top=3, order_by="conversions")
    assert [row.key["advocate"] for row in by_conversions.rows] == ["ana", "ben", "cem"]
    low = _report(filled, ("advocate",), top=1, order_by="shares", descending=False)
    assert [row.key["advocate"] for row in low.rows] == ["ben"]  # 1 share each: by key


def test_topics_count_a_share_once_per_topic(filled: Store) -> None:
    rows = _rows(_report(filled, ("topic",), min_group_size=3))
    ai = {
        "shares": 4,  # s1 s2 s4 (c1) and s5 (c3)
        "active_advocates": 4,  # ana ben dan eva
        "content_available": 2,  # c1 c3
        "impressions": 1000 + 400 + 500,
    }
    _check(rows["ai",].figures, ai)
    _check(rows["cloud",].figures, {"shares": 3, "content_available": 1})  # s1 s2 s4; c1
    assert rows["hiring",].suppressed  # s3 s6: ana and cem
    filtered = _report(filled, filters={"topic": "hiring"}, min_group_size=0)
    _check(filtered.totals.figures, {"shares": 2, "content_available": 1})  # s3 s6; c2


def test_filters_narrow_rows_and_totals(filled: Store) -> None:
    report = _report(filled, ("content_type",), filters={"network": "linkedin"}, min_group_size=1)
    rows = _rows(report)
    _check(rows["article",].figures, {"shares": 2, "content_available": 2})  # s1 s4; c1 c3
    _check(rows["job",].figures, {"shares": 1, "content_available": 1})  # s3; c2
    _check(report.totals.figures, {"shares": 3, "enrolled": 6, "emv.EUR": 187.0})
    tiny = _report(filled, filters={"department": "Tech"}, min_group_size=3)
    assert tiny.totals.suppressed  # a filtered total is a group: dan and eva only


# -- time buckets -------------------------------------------------------------------------
def test_week_buckets_with_their_own_enrolment_content_and_previous(filled: Store) -> None:
    rows = _rows(_report(filled, ("week",), min_group_size=0))
    assert list(rows) == [(date(2026, 3, 2),), (date(2026, 3, 9),)]
    first = {
        "shares": 4,  # s1 s2 s4 s5
        "enrolled": 5,  # hired before 03-09: not cem (03-09), not fay
        "participation_rate": 4 / 5,
        "shares_per_100_advocates_per_week": 100 * 4 / 5 / 1,
        "content_available": 3,  # c1, c2 (published 03-05), c3 (expires 03-03)
        "conversions": 3.0,  # conv1 03-05, conv3 03-06, conv4 03-03
        "attributed_value.EUR": 140.0,
    }
    _check(rows[date(2026, 3, 2),].figures, first)
    second = {"shares": 2, "enrolled": 6, "content_available": 2, "conversions": 1.0}
    _check(rows[date(2026, 3, 9),].figures, second)  # s3 s6; c3 expired; conv2
    # previous of the first week: [02-16, 02-23): p1 p2, c1 c3 c6 live, conv5
    _check(rows[date(2026, 3, 2),].previous, {"shares": 2, "content_available": 3, "enrolled": 5})
    # previous of the second week: [02-23, 03-02): nothing shared, c6 expired
    later = rows[date(2026, 3, 9),]
    _check(later.previous, {"shares": 0, "content_available": 2, "conversions": 0.0})
    assert later.change["shares"] is None  # previous value 0


def test_month_buckets_clip_to_the_period(filled: Store) -> None:
    request = ReportRequest(datetime(2026, 2, 16), END, ("month",), MODEL, min_group_size=0)
    rows = _rows(program_report(filled, request, RATES))
    assert list(rows) == [(date(2026, 2, 1),), (date(2026, 3, 1),)]
    february = {
        "shares": 2,  # p1 p2
        "enrolled": 5,
        "shares_per_100_advocates_per_week": 100 * 2 / 5 / (13 / 7),  # span 02-16..03-01
    }
    _check(rows[date(2026, 2, 1),].figures, february)
    march = {"shares": 6, "enrolled": 6, "shares_per_100_advocates_per_week": 100 / (15 / 7)}
    _check(rows[date(2026, 3, 1),].figures, march)


# -- rollups ------------------------------------------------------------------------------
def test_refresh_after_a_second_import_updates_the_facts(filled: Store) -> None:
    filled.write("share_outcomes", [_outcome("s5", datetime(2026, 3, 6), (200, 4, 8, 0, 0))])
    filled.write("share_outcomes", [_outcome("s1", datetime(2026, 3, 14), (1500, 30, 60, 5, 2))])
    filled.write("social_accounts", [_account("eva", "x", datetime(2026, 3, 1), 800)])
    filled.write("link_clicks", [_click("s5", 0)])
    before = _report(filled).totals.figures
    assert before.impressions == 2250  # not refreshed yet
    done = refresh_rollups(filled, {"share_outcomes", "social_accounts", "link_clicks"})
    assert done.rows == {"measurements": 2, "followers": 1, "link_clicks": 1}
    after = _report(filled).totals.figures
    assert after.impressions == 2250 - 1000 + 1500 + 200
    assert after.potential_reach == 4650 + 800  # s5: eva's snapshot of 03-01
    assert after.link_clicks == 7 + 1
    again = refresh_rollups(filled, TRIGGERS).rows
    assert again.pop("content_topics") == 6  # rebuilt: c1 (ai, cloud), c2, c3, c5, c6
    assert set(again.values()) == {0}


def test_a_move_needs_a_refresh_but_an_opt_out_does_not(filled: Store) -> None:
    filled.write("advocates", [_advocate("eva", "Sales", "AMER", None, False)])
    filled.write("advocates", [_advocate("ana", "Sales", "EMEA", date(2025, 1, 1), True)])
    advocates = {key[0] for key in _rows(_report(filled, ("advocate",)))}
    assert advocates == {"ben", "cem", "eva"}  # ana's opt-out counts at once
    assert refresh_rollups(filled, {"advocates"}).rows == {"departments": 1}
    sales = _rows(_report(filled, ("department",), min_group_size=0))["Sales",]
    _check(sales.figures, {"shares": 5, "enrolled": 5})  # s1 s2 s3 s6 and eva's s5


def test_shares_recorded_live_are_added_one_by_one(filled: Store) -> None:
    event = {"event_id": "s7", "employee_id": "gus", "content_id": "c2", "event_type": "share"}
    filled.write("interactions", [event | {"network": "x", "timestamp": datetime(2026, 3, 12)}])
    assert add_shares(filled, ["s7", "v1", "s1"]) == 1  # v1 is a view, s1 is known
    _check(_report(filled).totals.figures, {"shares": 7, "active_advocates": 6})


def test_refresh_names_an_unknown_table(filled: Store) -> None:
    with pytest.raises(UnknownTableError) as caught:
        refresh_rollups(filled, {"interactions", "shares"})
    assert caught.value.table == "shares"


PROGRAM_TABLES = ("attribution_credits", "attribution_runs", "share_facts", "content_topics")


def test_a_new_store_has_the_program_tables_at_head(store: Store) -> None:
    with store.engine.connect() as conn:
        inspector = sa.inspect(conn)
        assert all(inspector.has_table(name) for name in PROGRAM_TABLES)
        assert schema.current_version(conn) == schema.HEAD >= 6


def test_a_version_5_store_gets_the_tables_and_one_refresh_fills_them(filled: Store) -> None:
    with filled.engine.begin() as conn:
        for table in schema.PROGRAM_TABLES:
            table.drop(conn)
        conn.execute(sa.delete(schema.schema_version).where(schema.schema_version.c.version > 5))
    assert schema.migrate(filled.engine) == schema.HEAD
    _credits(filled, MODEL, CREDITS)  # the attribution job's part
    _run(filled)
    assert _report(filled).totals.figures.shares == 0  # the rollups are empty until refreshed
    refresh_rollups(filled, TRIGGERS)
    _check(_report(filled).totals.figures, TOTALS)


# -- both stores, output, requests --------------------------------------------------------
REPORTS = [
    {},
    {"group_by": ("department", "week"), "min_group_size": 1},
    {"group_by": ("advocate",), "top": 3, "order_by": "emv.EUR"},
    {"group_by": ("topic", "network", "month"), "min_group_size": 2},
    {"group_by": ("content", "day"), "min_group_size": 1, "filters": {"region": "EMEA"}},
]


def test_sqlite_and_postgresql_give_the_same_reports(sqlite_store: Store, pg_store: Store) -> None:
    _fill(sqlite_store)
    _fill(pg_store)
    for options in REPORTS:
        on_sqlite = _report(sqlite_store, **options).to_dict()
        on_postgresql = _report(pg_store, **options).to_dict()
        assert len(on_sqlite["rows"]) >= 2 or not options, options
        _assert_same(on_sqlite, on_postgresql)


def _assert_same(a: object, b: object) -> None:
    """Equal JSON values, floats up to rounding (the databases sum in different orders)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for name in a:
            _assert_same(a[name], b[name])
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b)
    else:
        assert a == b


def test_csv_has_a_line_per_row_and_the_totals(filled: Store) -> None:
    text = _report(filled, ("department",), min_group_size=3).to_csv()
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line["department"] for line in lines] == ["Sales", "Tech", ""]
    assert lines[0]["emv_EUR"] == "137.0" and lines[0]["previous_shares"] == ""
    assert lines[1]["suppressed"] == "true" and lines[1]["shares"] == ""
    assert lines[2]["shares"] == "6" and lines[2]["change_shares"] == "2.0"


def test_partial_weeks_at_both_ends() -> None:
    wednesday, tuesday = datetime(2026, 3, 4, 12), datetime(2026, 3, 17)
    buckets = Buckets.of(wednesday, tuesday, "week")
    assert buckets.keys == (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16))
    assert buckets.spans[0] == (wednesday, datetime(2026, 3, 9))
    assert buckets.spans[2] == (datetime(2026, 3, 16), tuesday)
    assert [buckets.weeks(i) for i in range(3)] == pytest.approx([4.5 / 7, 1.0, 1 / 7])
    assert buckets.index(date(2026, 3, 12)) == 1 and buckets.index(date(2026, 1, 1)) == 0
    months = Buckets.of(datetime(2026, 1, 31), datetime(2026, 3, 2), "month")
    assert months.keys == (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1))


def test_the_example_rates_are_flagged_in_the_report(filled: Store) -> None:
    request = ReportRequest(START, END, attribution_model=MODEL)
    example = program_report(filled, request, load_emv_config(EXAMPLE_CONFIG))
    assert example.emv_rates_are_examples and example.to_dict()["emv"]["rates_are_examples"]
    assert not _report(filled).emv_rates_are_examples


def test_json_dates_are_iso(filled: Store) -> None:
    payload = _report(filled, ("week",), min_group_size=0).to_dict()
    assert payload["period"] == {"start": "2026-03-02T00:00:00", "end": "2026-03-16T00:00:00"}
    assert payload["previous_period"]["start"] == "2026-02-16T00:00:00"
    assert [row["key"]["week"] for row in payload["rows"]] == ["2026-03-02", "2026-03-09"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"group_by": ("department", "city")}, "group_by"),
        ({"group_by": ("week", "month")}, "group_by"),
        ({"group_by": ("network", "network")}, "group_by"),
        ({"group_by": "department"}, "group_by"),
        ({"end": START}, "end"),
        ({"start": "2026-03-02"}, "start"),
        ({"min_group_size": -1}, "min_group_size"),
        ({"min_group_size": True}, "min_group_size"),
        ({"top": 0, "order_by": "shares"}, "top"),
        ({"top": 5}, "order_by"),
        ({"order_by": "fame"}, "order_by"),
        ({"order_by": "shares.EUR"}, "order_by"),
        ({"order_by": "attributed_value"}, "order_by"),
        ({"filters": {"city": "Berlin"}}, "filters.city"),
        ({"filters": {"network": ""}}, "filters.network"),
        ({"attribution_model": " "}, "attribution_model"),
    ],
)
def test_bad_requests_name_the_field(options: dict, field: str) -> None:
    arguments = {"start": START, "end": END} | options
    with pytest.raises(RequestError) as caught:
        ReportRequest(**arguments)
    assert caught.value.field == field


def test_emv_order_must_name_a_priced_currency(filled: Store) -> None:
    for order_by in ("emv", "emv.GBP"):
        with pytest.raises(RequestError) as caught:
            _report(filled, ("advocate",), top=1, order_by=order_by)  # EUR and USD are priced
        assert caught.value.field == "order_by"


def test_periods_outside_the_calendar_are_refused() -> None:
    from features.program import RequestError

    with pytest.raises(RequestError) as caught:
        ReportRequest(start=datetime(1, 1, 2), end=datetime(2026, 1, 1))
    assert caught.value.field == "start"
    with pytest.raises(RequestError) as caught:
        ReportRequest(start=datetime(2026, 1, 1), end=datetime(9999, 1, 1))
    assert caught.value.field == "end"
