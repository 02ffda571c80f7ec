"""``/analytics`` and ``/attribution`` through ``to_asgi()``: roles, answers equal to the
library's, errors naming the field, opted-out advocates never named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from features.data.contract import TABLES
from features.data.importer import import_path
from features.data.store import Store
from features.program import (
    EXAMPLE_CONFIG,
    ReportRequest,
    load_emv_config,
    program_report,
    refresh_rollups,
)
from serving.auth import Tokens
from serving.dependencies import Dependencies
from serving.model_source import FolderSource
from serving.service import use_dependencies
from tests.conftest import NOW
from tests.test_serving_data import service_app

SMALL = Path(__file__).parent / "fixtures" / "contract_small"
FRONTEND = "frontend-token-0123456789"
MANAGER = "manager-token-0123456789"
ADMIN = "admin-token-0123456789abc"
PERIOD = {"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store]]:
    from features.data.validation import ValidationContext

    folder = tmp_path_factory.mktemp("program")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    import_path(store, SMALL, context=ValidationContext(now=NOW))
    refresh_rollups(store, set(TABLES))
    deps = Dependencies(
        store=store,
        model_source=FolderSource(folder / "no-model", "advocacy-recommender"),
        tokens=Tokens.parse(f"{FRONTEND}:frontend,{MANAGER}:manager,{ADMIN}:admin"),
        clock=lambda: NOW,
        pollers=False,
    )
    use_dependencies(lambda: deps)
    try:
        with TestClient(service_app()) as test_client:
            yield test_client, store
    finally:
        use_dependencies(None)
        store.dispose()


def test_analytics_answers_the_library_report(client) -> None:
    test_client, store = client
    body = {**PERIOD, "group_by": ["network"], "attribution_model": "linear", "min_group_size": 0}
    answer = test_client.post("/analytics", json=body, headers=auth(MANAGER))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    request = ReportRequest(
        start=datetime(2026, 10, 1, tzinfo=UTC),
        end=datetime(2026, 11, 1, tzinfo=UTC),
        group_by=("network",),
        attribution_model="linear",
        min_group_size=0,
    )
    expected = program_report(store, request, load_emv_config(EXAMPLE_CONFIG)).to_dict()
    assert got["totals"]["figures"] == expected["totals"]["figures"]
    assert {r["key"]["network"] for r in got["rows"]} == {"linkedin", "x"}
    assert got["totals"]["figures"]["shares"] == 2
    # the linear run was made for this report: q1's credit is split over e2 and e4
    assert got["attribution"]["model"] == "linear"
    assert got["totals"]["figures"]["conversions"] == pytest.approx(1.0)


def test_analytics_suppresses_small_groups_and_never_names_opted_out(client) -> None:
    test_client, store = client
    store.write("advocates", [{"employee_id": "ben", "department": "Engineering",
                               "opted_out": True}])  # fmt: skip
    try:
        body = {**PERIOD, "group_by": ["advocate"], "min_group_size": 0}
        rows = test_client.post("/analytics", json=body, headers=auth(ADMIN)).json()["rows"]
        assert [r["key"]["advocate"] for r in rows] == ["ana"]
        body = {**PERIOD, "group_by": ["department"]}  # k = 5 by default
        answer = test_client.post("/analytics", json=body, headers=auth(MANAGER)).json()
        assert all(r["suppressed"] and r["figures"] is None for r in answer["rows"])
        assert answer["totals"]["figures"]["shares"] == 2  # ben's share still counts
    finally:
        store.write("advocates", [{"employee_id": "ben", "department": "Engineering",
                                   "opted_out": False}])  # fmt: skip


def test_attribution_rolls_up_and_hides_opted_out(client) -> None:
    test_client, _ = client
    body = {**PERIOD, "model": "last_touch", "by": ["advocate", "network"]}
    answer = test_client.post("/attribution", json=body, headers=auth(MANAGER))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["by"]["advocate"] == [
        {"key": "ben", "conversions": 1.0, "value": {"EUR": 500.0}, "suppressed": False}
    ]
    assert got["totals"]["unattributed"] == 1 and got["totals"]["conversions"] == 2


def test_roles_and_errors(client) -> None:
    test_client, _ = client
    body = {**PERIOD}
    for route in ("/analytics", "/attribution"):
        assert test_client.post(route, json=body).status_code == 401
        assert test_client.post(route, json=body, headers=auth(FRONTEND)).status_code == 403
    bad = test_client.post(
        "/analytics", json={**PERIOD, "group_by": ["planet"]}, headers=auth(MANAGER)
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["group_by"]
    bad = test_client.post(
        "/analytics", json={"start": PERIOD["end"], "end": PERIOD["start"]}, headers=auth(MANAGER)
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["end"]
    bad = test_client.post(
        "/analytics", json={**PERIOD, "attribution_model": "nope"}, headers=auth(MANAGER)
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["attribution_model"]
    bad = test_client.post("/attribution", json={"model": "nope"}, headers=auth(MANAGER))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["model"]
    bad = test_client.post("/analytics", json={"start": "yesterday"}, headers=auth(MANAGER))
    assert bad.status_code == 400


def test_a_live_share_reaches_the_analytics(client) -> None:
    test_client, _ = client
    share = {"event_id": "live-1", "employee_id": "ana", "content_id": "c1",
             "event_type": "share", "network": "linkedin"}  # fmt: skip
    stored = test_client.post("/events", json={"events": [share]}, headers=auth(FRONTEND))
    assert stored.status_code == 200, stored.text
    body = {"start": "2026-11-26T00:00:00Z", "end": "2026-11-27T00:00:00Z", "min_group_size": 0}
    answer = test_client.post("/analytics", json=body, headers=auth(MANAGER)).json()
    assert answer["totals"]["figures"]["shares"] == 1
    # ana's latest linkedin snapshot (2,400 followers) lies before the share
    assert answer["totals"]["figures"]["potential_reach"] == 2400


def test_ordering_by_a_figure_that_does_not_exist_is_422(client) -> None:
    test_client, _ = client
    body = {**PERIOD, "group_by": ["network"], "top": 1, "order_by": "emv.EUR"}
    answer = test_client.post("/analytics", json=body, headers=auth(MANAGER))
    assert answer.status_code in (200, 422), answer.text  # no EUR rates: an empty ranking
    bad = test_client.post(
        "/analytics", json={**PERIOD, "top": 1, "order_by": "colour"}, headers=auth(MANAGER)
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["order_by"]
