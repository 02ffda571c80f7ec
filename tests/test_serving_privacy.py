"""``/data_export`` and ``/data_erase`` through ``to_asgi()``: admin only, the erasure leaves
the id nowhere in the store, and the erased employee's feed is no longer personalised."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from features.data import privacy
from features.data.store import Store
from recsys.feed import FeedRanker
from serving.auth import Tokens
from serving.dependencies import Dependencies
from serving.influencers import ScoredCache
from serving.model_source import FolderSource
from serving.service import use_dependencies
from tests.test_serving import ADMIN, FRONTEND, MANAGER, TOKENS, Clock, _instance, auth
from tests.test_serving_data import NOW, fill_store, fit_model, service_app

GONE = "e5"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store]]:
    folder = tmp_path_factory.mktemp("privacy")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    fill_store(store)
    fit_model(store, folder / "model")
    deps = Dependencies(
        store=store,
        model_source=FolderSource(folder / "model", "advocacy-recommender"),
        tokens=Tokens.parse(TOKENS),
        clock=Clock(NOW),
        pollers=False,
    )
    use_dependencies(lambda: deps)
    try:
        with TestClient(service_app()) as client:
            yield client, store
    finally:
        use_dependencies(None)
        store.dispose()


def _feed(client: TestClient, employee: str) -> dict:
    response = client.post("/feed", json={"employee_id": employee, "k": 5}, headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


def test_data_rights_are_for_admins_only(world: tuple[TestClient, Store]) -> None:
    client, _ = world
    body = {"employee_id": GONE, "erased_by": "dpo", "confirm": True}
    for token in (FRONTEND, MANAGER):
        assert client.post("/data_export", json=body, headers=auth(token)).status_code == 403
        assert client.post("/data_erase", json=body, headers=auth(token)).status_code == 403
    assert client.post("/data_export", json={"employee_id": GONE}).status_code == 401


def test_erasure_through_the_service(world: tuple[TestClient, Store]) -> None:
    client, store = world
    before = _feed(client, GONE)
    assert before["cold_start"] is False
    exported = client.post("/data_export", json={"employee_id": GONE}, headers=auth(ADMIN))
    assert exported.status_code == 200, exported.text
    tables = exported.json()["tables"]
    assert len(tables["advocates"]) == 1 and tables["interactions"]
    assert exported.json()["erased"] is False

    refused = {"employee_id": GONE, "erased_by": "dpo", "confirm": False}
    answer = client.post("/data_erase", json=refused, headers=auth(ADMIN))
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["confirm"]

    body = {"employee_id": GONE, "erased_by": "dpo", "confirm": True}
    erased = client.post("/data_erase", json=body, headers=auth(ADMIN))
    assert erased.status_code == 200, erased.text
    answer = erased.json()
    assert answer["deleted"]["advocates"] == 1 and answer["deleted"]["interactions"] > 0
    assert answer["served_model_holds_id"] is True  # until the next training
    assert privacy.occurrences(store, GONE) == {}

    after = _feed(client, GONE)  # served as for an employee the model never saw
    stranger = _feed(client, "never-seen-employee")
    assert after["cold_start"] is True
    assert [i["content_id"] for i in after["items"]] == [i["content_id"] for i in stranger["items"]]
    again = client.post("/data_export", json={"employee_id": GONE}, headers=auth(ADMIN))
    assert again.json()["erased"] is True and not any(again.json()["tables"].values())

    # what the runtime did without ``forgotten``: the model's row still personalised the feed
    state = _instance(client).runtime.holder.state
    assert state is not None
    ranker = state.ranker
    assert GONE in ranker.forgotten
    plain = FeedRanker(ranker.model, ranker.catalogue, ranker.audience, ranker.policy)
    assert plain.feed(GONE, 5, as_of=NOW.timestamp()).cold_start is False


def test_cleared_candidates_are_scored_again() -> None:
    """An erasure drops the kept influencer candidates (they may list the employee)."""
    cache, calls = ScoredCache(600), []

    def compute() -> object:
        calls.append(1)
        return object()

    first = cache.get("v1", compute, wait=10)  # type: ignore[arg-type]
    assert cache.get("v1", compute, wait=10) is first and len(calls) == 1  # type: ignore[arg-type]
    cache.clear()
    assert cache.get("v1", compute, wait=10) is not first and len(calls) == 2  # type: ignore[arg-type]
