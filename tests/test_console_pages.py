"""The console's sign-in, candidates, candidate, review, fairness, feed preview and status
pages through the service's ASGI app (the browser tests drive the same pages in Chromium).

The store is the tiny serving organisation (e1..e8, each with a share) plus a generated one
of 150 employees; ``e2`` has opted out after the models were fitted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from starlette.testclient import TestClient

from features.data.reviews import review_history
from features.data.store import Store
from serving.auth import Tokens
from serving.console.app import fact_label, fact_time
from serving.dependencies import Dependencies
from serving.model_source import FolderSource
from serving.service import use_dependencies
from tests.test_serving import ADMIN, TOKENS, Clock
from tests.test_serving_data import (
    NOW,
    advocates,
    served_organisation,
    service_app,
    write_table,
)
from tests.test_serving_server import FRONTEND, MANAGER

OPTED_OUT = "e2"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("console")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    served_organisation(store, folder, employees=150)
    people = advocates()
    write_table(store, "advocates", people.assign(opted_out=people["employee_id"] == OPTED_OUT))
    deps = Dependencies(
        store=store,
        model_source=FolderSource(folder / "model", "advocacy-recommender"),
        influencer_source=FolderSource(folder / "influencers", "advocacy-influencers"),
        tokens=Tokens.parse(TOKENS),
        clock=Clock(NOW),
        pollers=False,
    )
    use_dependencies(lambda: deps)
    try:
        with TestClient(service_app(), base_url="http://testserver") as client:
            yield {"client": client, "store": store}
    finally:
        use_dependencies(None)
        store.dispose()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _sign_in(client: TestClient, token: str, name: str = "Ann Manager", **extra: str):
    form = client.get("/console/login")
    data = {"csrf_token": _csrf(form.text), "token": token, "name": name, **extra}
    return client.post("/console/login", data=data, follow_redirects=False)


@pytest.fixture(scope="module")
def client(world: dict[str, object]) -> TestClient:
    client = world["client"]
    assert isinstance(client, TestClient)
    assert _sign_in(client, MANAGER).status_code == 303
    return client


@contextmanager
def _cookies_of_its_own(app: object) -> Iterator[TestClient]:
    """Another browser on the running service (no second lifespan: the service stays up)."""
    fresh = TestClient(app, base_url="http://testserver")  # type: ignore[arg-type]
    try:
        yield fresh
    finally:
        fresh.close()


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr data-employee-id="([^"]+)"', html)


# -- sign-in ---------------------------------------------------------------------------
def test_signed_out_pages_go_to_the_sign_in_form(world: dict[str, object]) -> None:
    app = world["client"].app  # type: ignore[union-attr]
    with _cookies_of_its_own(app) as fresh:
        answer = fresh.get("/console/candidates?department=Sales", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login?next=")
        refused = _sign_in(fresh, FRONTEND)
        assert refused.status_code == 403 and "manager or admin" in refused.text
        assert "advocacy_console=" not in refused.headers.get("set-cookie", "")
        assert _sign_in(fresh, "not-a-known-token-at-all").status_code == 401
        evil = _sign_in(fresh, MANAGER, next="//evil.example/console/x")
        assert evil.headers["location"] == "/console/candidates"
        cookie = evil.headers["set-cookie"].lower()
        for attribute in ("httponly", "samesite=strict", "path=/console", "max-age=28800"):
            assert attribute in cookie
        page = fresh.get("/console/candidates")
        assert page.status_code == 200
        for header in ("content-security-policy", "x-frame-options", "cache-control"):
            assert header in page.headers
        forged = fresh.post("/console/logout", data={}, follow_redirects=False)
        assert forged.status_code == 403
        out = fresh.post("/console/logout", data={"csrf_token": _csrf(page.text)})
        assert out.url.path == "/console/login"
        assert fresh.get("/console/status", follow_redirects=False).status_code == 303


def test_a_post_from_another_origin_is_refused(client: TestClient) -> None:
    token = _csrf(client.get("/console/feed").text)
    answer = client.post(
        "/console/logout",
        data={"csrf_token": token},
        headers={"Origin": "http://evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 403


# -- candidates ------------------------------------------------------------------------
def test_candidates_filter_sort_page_and_export(client: TestClient) -> None:
    everyone = client.get("/console/candidates")
    assert everyone.status_code == 200
    total = int(re.search(r"<strong>([\d,]+)</strong> candidates", everyone.text)[1])
    assert total > 100 and len(_ids(everyone.text)) == 50
    second = client.get("/console/candidates?page=2")
    assert set(_ids(second.text)).isdisjoint(_ids(everyone.text))
    sales = client.get("/console/candidates?department=Sales")
    rows = re.findall(
        r'data-employee-id="[^"]+">\s*<td>.*?</td>\s*<td>([^<]+)</td>', sales.text, re.S
    )
    assert rows and set(rows) == {"Sales"}
    flagged = client.get("/console/candidates?flagged=1")
    assert len(_ids(flagged.text)) == flagged.text.count('class="badge flag"')
    by_id = client.get("/console/candidates?sort=employee&order=asc")
    assert _ids(by_id.text) == sorted(_ids(by_id.text))
    export = client.get("/console/candidates.csv?department=Sales")
    assert export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert {r["department"] for r in table} == {"Sales"} and "followers_linkedin" in table[0]
    assert len(table) == int(re.search(r"<strong>([\d,]+)</strong> candidates", sales.text)[1])


@pytest.mark.parametrize(
    ("query", "field"),
    [("tier=mega", "tier"), ("network=myspace", "network"), ("review=maybe", "review"),
     ("sort=age", "sort"), ("page=0", "page"), ("page=999", "page"), ("order=up", "order")],
)  # fmt: skip
def test_bad_candidate_filters_are_422_naming_the_field(
    client: TestClient, query: str, field: str
) -> None:
    answer = client.get(f"/console/candidates?{query}")
    assert answer.status_code == 422 and f"<strong>{field}</strong>" in answer.text


def test_a_candidate_page_and_a_review_stored_where_the_api_reads(
    client: TestClient, world: dict[str, object]
) -> None:
    store = world["store"]
    assert isinstance(store, Store)
    employee = _ids(client.get("/console/candidates").text)[0]
    page = client.get(f"/console/candidate?employee_id={employee}")
    assert page.status_code == 200 and "<svg" in page.text and 'id="shares-table"' in page.text
    forged = client.post(
        "/console/candidate/review",
        data={"employee_id": employee, "decision": "dismiss", "note": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and review_history(store, employee) == []
    bad = client.post(
        "/console/candidate/review",
        data={"csrf_token": _csrf(page.text), "employee_id": employee, "decision": "maybe"},
    )
    assert bad.status_code == 422 and "<strong>decision</strong>" in bad.text
    saved = client.post(
        "/console/candidate/review",
        data={"csrf_token": _csrf(page.text), "employee_id": employee,
              "decision": "dismiss", "note": "Not this quarter"},
    )  # fmt: skip
    assert saved.status_code == 200 and 'id="notice"' in saved.text
    assert "Not this quarter" in saved.text
    stored = review_history(store, employee)
    assert [(r.decision, r.note, r.reviewer) for r in stored] == [
        ("dismiss", "Not this quarter", "Ann Manager")
    ]
    listed = client.post(
        "/influencers", json={"top": 10_000}, headers={"Authorization": f"Bearer {MANAGER}"}
    ).json()["candidates"]
    mine = next(c for c in listed if c["employee_id"] == employee)
    assert mine["review"]["decision"] == "dismiss" and mine["review"]["note"] == "Not this quarter"
    dismissed = client.get("/console/candidates?review=dismiss")
    assert _ids(dismissed.text) == [employee]


def test_fairness_withholds_small_groups(client: TestClient) -> None:
    page = client.get("/console/fairness")
    assert page.status_code == 200
    for dimension in ("department", "region", "seniority"):
        assert f'id="fairness-{dimension}"' in page.text


# -- feed preview ----------------------------------------------------------------------
def test_the_preview_is_the_feed_endpoint_and_explains_what_is_missing(
    client: TestClient,
) -> None:
    api = client.post(
        "/feed", json={"employee_id": "e1", "k": 5},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )  # fmt: skip
    page = client.get("/console/feed?employee_id=e1&k=5&why=c04")
    assert page.status_code == 200
    shown = re.findall(r'<span class="muted">(c\d\d)</span>', page.text)
    assert api.status_code == 200
    assert shown == [item["content_id"] for item in api.json()["items"]] and len(shown) == 5
    assert 'data-verdict="already_shared"' in page.text  # e1 shared c04
    draft = client.get("/console/feed?employee_id=e1&k=5&why=c12")
    assert 'data-verdict="not_approved"' in draft.text
    last = shown[-1]
    inside = client.get(f"/console/feed?employee_id=e1&k=5&why={last}")
    assert 'data-verdict="in_feed"' in inside.text
    below = client.get("/console/feed?employee_id=e1&k=1&why=" + shown[-1])
    assert 'data-verdict="below_cut"' in below.text
    hire = client.get("/console/feed?mode=profile&department=Sales&region=EMEA&why=c11")
    assert hire.status_code == 200 and "a new hire" in hire.text
    unknown = client.get("/console/feed?employee_id=e1&why=nope")
    assert unknown.status_code == 404 and "<strong>content_id</strong>" in unknown.text


def test_opted_out_employees_appear_nowhere(client: TestClient) -> None:
    for path in (
        "/console/candidates?department=Engineering",
        "/console/candidates.csv",
        "/console/feed?find=e",
        "/console/fairness",
    ):
        answer = client.get(path)
        assert answer.status_code == 200
        assert not re.search(rf"\b{OPTED_OUT}\b", answer.text), path
    for path in (
        f"/console/candidate?employee_id={OPTED_OUT}",
        f"/console/feed?employee_id={OPTED_OUT}",
    ):
        assert client.get(path).status_code == 404


def test_status_shows_the_service_and_both_models(client: TestClient) -> None:
    page = client.get("/console/status")
    assert page.status_code == 200
    for element in ("service-status", "model-recommender", "model-influencers"):
        assert f'id="{element}"' in page.text
    assert "hybrid" in page.text
    # recorded facts read as labels and times, not as keys and ISO strings
    assert "Features as of" in page.text and "features_as_of" not in page.text
    assert " UTC" in page.text and "+00:00" not in page.text


def test_recorded_facts_read_as_labels_and_times() -> None:
    assert fact_label("top_decile_engagement_per_share") == "Top decile engagement per share"
    assert fact_time("2026-11-03T08:43:33+00:00") == "2026-11-03 08:43:33 UTC"
    assert fact_time("2026-11-03T10:43:33+02:00") == "2026-11-03 08:43:33 UTC"
    assert fact_time("2026-11-03T08:43:33") == "2026-11-03 08:43:33"
    for other in ("hybrid", "2026-11-03", "not a timeTxx:yy:zz", 30, None):
        assert fact_time(other) == other
