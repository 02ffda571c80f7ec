"""The console's program analytics page and its CSV, through the service's ASGI app.

The store is ``contract_small`` (as in test_serving_program) plus a programme in the
default 90 days ending NOW (2026-08-29 to 2026-11-26), and some of it in the 90 days before:
Marketing has 6 active advocates and one opted-out advocate with the biggest shares, Sales 5,
Engineering 2 (withheld under k = 5), and one advocate's department and one content title
look like spreadsheet formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from starlette.testclient import TestClient

from features.data.contract import TABLES
from features.data.importer import import_path
from features.data.store import Store
from features.data.validation import ValidationContext
from features.program import refresh_rollups
from serving.auth import Tokens
from serving.console.exports import cell, csv_text
from serving.dependencies import Dependencies
from serving.model_source import FolderSource
from serving.service import use_dependencies
from tests.conftest import NOW
from tests.test_program_metrics import _outcome
from tests.test_serving_data import service_app
from tests.test_serving_program import FRONTEND, MANAGER, SMALL

OPTED_OUT = "optedout-olga"
FORMULA_DEPARTMENT = "=1+2"
FORMULA_TITLE = '=HYPERLINK("http://evil.example","x")'
TEAMS = {
    "Marketing": [f"mkt-{i}" for i in range(6)],
    "Sales": [f"sales-{i}" for i in range(5)],
    "Engineering": ["eng-0", "eng-1"],
    FORMULA_DEPARTMENT: ["odd-0"],
}
FIRST_WEEK = datetime(2026, 9, 7, 10)


def _programme(store: Store) -> None:
    """Advocates, content, shares over ten weeks (and some before), outcomes, followers,
    clicks and conversions."""
    people = [(e, d) for d, ids in TEAMS.items() for e in ids] + [(OPTED_OUT, "Marketing")]
    store.write(
        "advocates",
        [
            {"employee_id": e, "department": d, "region": "EMEA", "opted_out": e == OPTED_OUT}
            for e, d in people
        ],
    )
    store.write("content", [_content("cq", "Quarterly results"), _content("cx", FORMULA_TITLE)])
    shares, outcomes, clicks, accounts = [], [], [], []
    for n, (employee, _) in enumerate(people):
        big = 10 if employee == OPTED_OUT else 1
        network = "linkedin" if n % 2 == 0 else "x"
        accounts.append(
            {"employee_id": employee, "network": network, "as_of": datetime(2026, 5, 1)}
            | {"followers": 100 * (n + 1) * big}
        )
        before = (-10, -6, -3) if n % 2 == 0 else (-8,)  # weeks in the 90 days before
        for week in [*range(0, 10, 1 + n % 3), *before]:
            event = f"sh-{employee}-{week}"
            at = FIRST_WEEK + timedelta(days=7 * week + n % 5)
            content = ("cq", "cx", "c1")[(n + week) % 3]
            shares.append(
                {"event_id": event, "employee_id": employee, "content_id": content}
                | {"event_type": "share", "network": network, "timestamp": at}
            )
            counts = (500 * big + 10 * n, 5 * big + week % 7, 8 * big, 1, 0)
            outcomes.append(_outcome(event, at + timedelta(days=2), counts))
            clicks.append(
                {"click_id": f"k-{event}", "share_event_id": event}
                | {"visitor_id": f"v-{employee}", "timestamp": at + timedelta(hours=1)}
            )
    store.write("interactions", shares)
    store.write("share_outcomes", outcomes)
    store.write("social_accounts", accounts)
    store.write("link_clicks", clicks)
    store.write("conversions", [_conversion(e) for e in ("mkt-0", "sales-1", OPTED_OUT)])


def _content(content_id: str, title: str) -> dict[str, object]:
    return {
        "content_id": content_id,
        "title": title,
        "content_type": "article",
        "topics": ["finance"],
        "published_at": datetime(2026, 5, 1),
        "approval_status": "approved",
    }


def _conversion(employee: str) -> dict[str, object]:
    """A conversion of the visitor who clicked ``employee``'s links."""
    return {
        "conversion_id": f"cv-{employee}",
        "visitor_id": f"v-{employee}",
        "kind": "demo_request",
        "timestamp": datetime(2026, 11, 20, 9),
        "value": 100.0,
        "currency": "EUR",
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("console-analytics")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    import_path(store, SMALL, context=ValidationContext(now=NOW))
    _programme(store)
    refresh_rollups(store, set(TABLES))
    deps = Dependencies(
        store=store,
        model_source=FolderSource(folder / "no-model", "advocacy-recommender"),
        tokens=Tokens.parse(f"{FRONTEND}:frontend,{MANAGER}:manager"),
        clock=lambda: NOW,
        pollers=False,
    )
    use_dependencies(lambda: deps)
    try:
        with TestClient(service_app()) as test_client:
            r = test_client.get("/console/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
            signed = test_client.post(
                "/console/login",
                data={"csrf_token": csrf, "token": MANAGER, "name": "Ann"},
                follow_redirects=False,
            )
            assert signed.status_code == 303, signed.text
            yield test_client
    finally:
        use_dependencies(None)
        store.dispose()


def _element(html: str, element_id: str) -> str:
    """The markup of the element with ``element_id`` (up to its tag's matching close)."""
    start = html.index(f'id="{element_id}"')
    tag = html.rfind("<", 0, start)
    name = re.match(r"<(\w+)", html[tag:]).group(1)
    depth, at = 0, tag
    for match in re.finditer(rf"<(/?){name}\b", html[tag:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            at = tag + match.end()
            break
    return html[tag : html.index(">", at) + 1]


def _rows(table: str) -> list[str]:
    body = table[table.index("<tbody>") :]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_default_page_shows_kpis_chart_table_and_top_lists(client: TestClient) -> None:
    page = client.get("/console/analytics")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<script" not in html and not re.search(r"\sstyle=", html)  # the CSP allows neither
    form = _element(html, "analytics-form")
    for name, value in [("from", "2026-08-29"), ("to", "2026-11-26")]:
        assert f'id="{name}" name="{name}" type="date" value="{value}"' in form
    for name in ("by", "period", "model", "metric"):
        assert f'<label for="{name}"' in form and f'id="{name}"' in form
    assert '<option value="department" selected>' in form
    assert '<option value="emv.USD" selected>' in form  # the example rates are in USD
    kpis = _element(html, "kpis")
    assert "Shares" in kpis and "EMV (USD)" in kpis and "Attributed value (EUR)" in kpis
    assert 'class="delta' in kpis or "no change known" in kpis
    assert "EMV rates are the shipped examples" in html
    chart = _element(html, "trend-chart")
    assert "<svg" in chart and "<figcaption" in chart
    assert "Marketing" in chart and "Sales" in chart  # lines of the top groups
    assert "Engineering" not in chart  # withheld: no line
    table = _element(html, "groups-table")
    rows = _rows(table)
    labels = [re.search(r"<th scope=\"row\">(.*?)</th>", r).group(1) for r in rows]
    assert labels[:2] == ["Marketing", "Sales"]  # by EMV, then the withheld groups
    assert sorted(labels[2:]) == ["=1+2", "Engineering"]
    assert all("withheld (fewer than 5 active advocates)" in r for r in rows[2:])
    assert "withheld" not in rows[0] and "USD" in rows[0]
    assert '<span class="delta up">▲ +' in rows[0]  # the change from the period before
    for element_id in ("top-advocates", "top-content", "top-departments"):
        assert "<table>" in _element(html, element_id)
    assert "withheld (fewer than 5 active advocates)" in _element(html, "top-departments")
    assert "Quarterly results" in _element(html, "top-content")
    href = re.search(r'id="export-csv" href="([^"]+)"', html).group(1)
    assert href.startswith("/console/analytics.csv?from=2026-08-29&amp;to=2026-11-26&amp;by=")


def test_the_totals_are_the_reports_own(client: TestClient) -> None:
    answer = client.get("/console/analytics", params={"metric": "shares", "by": "none"})
    assert answer.status_code == 200, answer.text
    kpis = _element(answer.text, "kpis")
    shares = re.search(r'data-figure="shares">.*?class="value">([^<]+)<', kpis, re.S).group(1)
    # 6 Marketing + opted out + 5 Sales + 2 Engineering + 1 other = 15 sharers, and
    # contract_small's e2 and e4 (October)
    expected = sum(len(range(0, 10, 1 + n % 3)) for n in range(15)) + 2
    assert shares == f"{expected:,}"
    rows = _rows(_element(answer.text, "groups-table"))
    assert len(rows) == 1 and "All advocacy" in rows[0]


def test_switching_the_grouping_and_period_changes_table_and_chart(client: TestClient) -> None:
    params = {"by": "network", "period": "month", "metric": "shares"}
    html = client.get("/console/analytics", params=params).text
    table = _element(html, "groups-table")
    assert '<th scope="col">Network</th>' in table
    labels = [re.search(r"<th scope=\"row\">(.*?)</th>", r).group(1) for r in _rows(table)]
    assert sorted(labels) == ["linkedin", "x"]
    trend = _element(html, "trend-table")
    assert [r[:40] for r in _rows(trend)] and "Month from" in trend
    months = re.findall(r'<th scope="row">(\d{4}-\d{2}-\d{2})</th>', trend)
    assert months == ["2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"]
    assert "linkedin" in _element(html, "trend-chart")
    weekly = client.get("/console/analytics", params={**params, "period": "week"}).text
    weeks = re.findall(r'<th scope="row">(\d{4}-\d{2}-\d{2})</th>', _element(weekly, "trend-table"))
    assert weeks[0] == "2026-08-24" and len(weeks) == 14  # Mondays; the first is partial


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-11-01", "to": "2026-10-01"}, "to"),
        ({"by": "planet"}, "by"),
        ({"period": "year"}, "period"),
        ({"period": "day", "from": "2020-01-01"}, "period"),
        ({"model": "nope"}, "model"),
        ({"metric": "colour"}, "metric"),
        ({"metric": "emv.EUR"}, "metric"),  # no network is priced in EUR
        ({"from": "1969-06-01"}, "from"),  # the report's own check, on the form's name
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    for path in ("/console/analytics", "/console/analytics.csv"):
        answer = client.get(path, params=params)
        assert answer.status_code == 422, (path, answer.text)
        assert f"<strong>{field}</strong>" in answer.text


def test_the_csv_is_the_grouping_table(client: TestClient) -> None:
    params = {"from": "2026-09-01", "to": "2026-11-26", "by": "department", "metric": "shares"}
    answer = client.get("/console/analytics.csv", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="analytics-2026-09-01-2026-11-26-department.csv"'
    )
    assert answer.headers["cache-control"] == "no-store"
    rows = _csv(answer.text)
    assert list(rows[0])[:4] == ["department", "suppressed", "participation_rate", "shares"]
    assert {"emv_USD", "previous_shares", "change_shares", "attributed_value_EUR"} <= set(rows[0])
    by_name = {r["department"]: r for r in rows}
    assert set(by_name) == {"Marketing", "Sales", "Engineering", "'=1+2"}  # formula defused
    assert by_name["Engineering"]["suppressed"] == "true"
    assert by_name["Engineering"]["shares"] == "" and by_name["Engineering"]["emv_USD"] == ""
    assert by_name["Marketing"]["suppressed"] == "false"
    page = client.get("/console/analytics", params=params).text
    marketing = _rows(_element(page, "groups-table"))[0]
    assert f">{int(by_name['Marketing']['shares']):,}<" in marketing  # the page's figure
    titles = _csv(client.get("/console/analytics.csv", params={**params, "by": "content"}).text)
    assert {r["title"] for r in titles} >= {"Quarterly results", "'" + FORMULA_TITLE}


def test_opted_out_advocates_appear_nowhere(client: TestClient) -> None:
    for params in ({}, {"by": "advocate"}, {"by": "advocate", "metric": "shares"}):
        page = client.get("/console/analytics", params=params)
        assert page.status_code == 200 and OPTED_OUT not in page.text
        exported = client.get("/console/analytics.csv", params=params)
        assert exported.status_code == 200 and OPTED_OUT not in exported.text
    advocates = _csv(client.get("/console/analytics.csv", params={"by": "advocate"}).text)
    assert len(advocates) == 14 + 2 and {r["suppressed"] for r in advocates} == {"false"}
    top = _element(client.get("/console/analytics").text, "top-advocates")
    assert "/console/candidate?employee_id=" in top


def test_signed_out_the_csv_goes_to_sign_in(client: TestClient) -> None:
    cookies = dict(client.cookies)
    client.cookies.clear()
    try:
        answer = client.get("/console/analytics.csv?by=advocate", follow_redirects=False)
    finally:
        client.cookies.update(cookies)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login?next=")
    assert "analytics.csv" in answer.headers["location"]


def test_csv_cells_cannot_become_formulas() -> None:
    for text in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert cell(text) == "'" + text
    assert cell(-0.25) == -0.25 and cell(3) == 3 and cell(None) == "" and cell(True) == "true"
    assert cell("plain") == "plain" and cell("a=b") == "a=b"
    assert csv_text(["a", "=b"], [["-x", -1]]) == "a,'=b\r\n'-x,-1\r\n"
