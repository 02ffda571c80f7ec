"""The BentoML service through ``to_asgi()``: every endpoint, every error path, live state.

One store, one fitted hybrid and one service instance are shared by the module (a fitted
model takes seconds); tests that change the store use their own ids. Refreshes are driven
by hand here (``pollers=False``) except in the poller test.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import bentoml
import pytest
from starlette.testclient import TestClient

from features.data.store import Store
from recsys.models import Hybrid
from serving.auth import Tokens
from serving.dependencies import Dependencies
from serving.model_source import FolderSource
from serving.refresh import YOUNG_THRESHOLD, settle_heap
from serving.schemas import EventIn
from serving.service import AdvocacyService, use_dependencies
from tests.test_serving_data import (
    NOW,
    content,
    fill_store,
    fit_model,
    iso,
    service_app,
    write_table,
)

FRONTEND = "frontend-token-0123456789"
MANAGER = "manager-token-0123456789"
ADMIN = "admin-token-0123456789abc"
TOKENS = f"{FRONTEND}:frontend,{MANAGER}:manager,{ADMIN}:admin"


class Clock:
    """A settable clock (the service's time)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def auth(token: str = FRONTEND) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("serving")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    fill_store(store)
    fit_model(store, folder / "model")
    yield {"store": store, "folder": folder}
    store.dispose()


@pytest.fixture(scope="module")
def service(world: dict[str, object]) -> Iterator[tuple[TestClient, AdvocacyService, Clock]]:
    clock = Clock(NOW)
    store = world["store"]
    folder = world["folder"]
    assert isinstance(store, Store) and isinstance(folder, Path)
    deps = Dependencies(
        store=store,
        model_source=FolderSource(folder / "model", "advocacy-recommender"),
        tokens=Tokens.parse(TOKENS),
        clock=clock,
        pollers=False,
    )
    use_dependencies(lambda: deps)
    try:
        with TestClient(service_app()) as client:
            instance = _instance(client)
            yield client, instance, clock
    finally:
        use_dependencies(None)


def _instance(client: TestClient) -> AdvocacyService:
    """The live service object behind the ASGI app (for driving refreshes by hand)."""
    found = bentoml.get_current_service()
    assert found is not None
    return found  # type: ignore[return-value]


def feed(client: TestClient, employee: str, **body: object) -> dict:
    response = client.post("/feed", json={"employee_id": employee, **body}, headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


def ids(answer: dict) -> list[str]:
    return [item["content_id"] for item in answer["items"]]


# -- feed -----------------------------------------------------------------------------------
def test_a_feed_can_carry_each_item_s_suggested_post(service, world) -> None:
    from features.screening.policy import resolve_policy
    from features.share_text_source import suggest

    client, _, _ = service
    plain = feed(client, "e5", k=5)
    assert all("share_text" not in i for i in plain["items"])  # only when asked
    answer = feed(client, "e5", k=5, share_text_network="LinkedIn")
    assert ids(answer) == ids(plain)
    store = world["store"]
    for item in answer["items"]:
        expected = suggest(store, resolve_policy(), "e5", item["content_id"], "linkedin")
        assert item["share_text"]["text"] == expected.text
        assert item["share_text"]["reason"] == expected.reason
    assert any(i["share_text"]["text"] for i in answer["items"])
    cold = feed(client, "new-hire", k=3, share_text_network="x")  # not in the store: none
    assert all(i["share_text"] is None for i in cold["items"])
    refused = client.post(
        "/feed", json={"employee_id": "e5", "share_text_network": "myspace"}, headers=auth()
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["share_text_network"]


def test_feed_ranks_eligible_items_with_reasons_and_the_model_version(service) -> None:
    client, _, _ = service
    answer = feed(client, "e5", k=5)
    assert answer["employee_id"] == "e5" and answer["cold_start"] is False
    assert answer["model_version"].startswith("advocacy-recommender@dir-")
    assert datetime.fromisoformat(answer["as_of"]) == NOW
    assert [i["rank"] for i in answer["items"]] == [1, 2, 3, 4, 5]
    scores = [i["score"] for i in answer["items"]]
    assert scores == sorted(scores, reverse=True)
    assert all(i["title"] for i in answer["items"])
    assert any(i["reasons"] for i in answer["items"])
    for item in answer["items"]:
        for reason in item["reasons"]:
            assert reason["kind"] and reason["text"]


def test_feed_never_offers_ineligible_content(service) -> None:
    client, _, _ = service
    everything = ids(feed(client, "e5", k=100))  # NA employee
    assert "c12" not in everything  # draft
    assert "c10" not in everything  # expired yesterday
    assert "c11" not in everything  # EMEA only
    assert "c05" not in everything  # e5 shared it (see the data)
    assert "c11" in ids(feed(client, "e3", k=100))  # EMEA employee


def test_feed_k_defaults_to_20_and_is_bounded(service) -> None:
    client, _, _ = service
    assert len(feed(client, "e1")["items"]) <= 20
    for k in (0, 101, "many"):
        response = client.post("/feed", json={"employee_id": "e1", "k": k}, headers=auth())
        assert response.status_code == 400
        assert response.json()["detail"][0]["loc"] == ["k"]


def test_unknown_employee_gets_a_cold_start_feed(service) -> None:
    client, _, _ = service
    plain = feed(client, "new-hire", k=100)
    assert plain["cold_start"] is True and plain["items"]
    assert "c11" not in ids(plain)  # organisation-wide: no restricted content
    profiled = feed(client, "new-hire", k=100, profile={"region": "EMEA", "languages": ["de"]})
    assert profiled["cold_start"] is True
    assert "c11" in ids(profiled)


def test_feed_filters(service) -> None:
    client, _, _ = service
    types = {row["content_id"]: row["content_type"] for _, row in content().iterrows()}
    jobs = feed(client, "e1", k=100, filters={"content_types": ["job"]})
    assert jobs["items"] and all(types[c] == "job" for c in ids(jobs))
    unfiltered = ids(feed(client, "e1", k=100))
    excluded = ids(feed(client, "e1", k=100, filters={"exclude_ids": unfiltered[:2]}))
    assert not set(unfiltered[:2]) & set(excluded)
    assert ids(feed(client, "e1", k=100, filters={"languages": ["fr"]})) == []
    response = client.post(
        "/feed", json={"employee_id": "e1", "filters": {"networks": ["myspace"]}}, headers=auth()
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["filters", "networks"]
    assert "myspace" in response.json()["error"]


def test_feeds_batch_equals_single_feeds(service) -> None:
    client, _, _ = service
    employees = ["e1", "e5", "ghost"]
    response = client.post("/feeds_batch", json={"employee_ids": employees, "k": 7}, headers=auth())
    assert response.status_code == 200, response.text
    batch = response.json()["feeds"]
    assert [f["employee_id"] for f in batch] == employees
    for one in batch:
        assert ids(one) == ids(feed(client, one["employee_id"], k=7))
    assert batch[2]["cold_start"] is True
    empty = client.post("/feeds_batch", json={"employee_ids": []}, headers=auth())
    assert empty.status_code == 400


# -- similar --------------------------------------------------------------------------------
def test_similar_content(service) -> None:
    client, _, _ = service
    response = client.post("/similar", json={"content_id": "c01", "k": 3}, headers=auth())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["content_id"] == "c01" and 1 <= len(answer["items"]) <= 3
    assert "c01" not in ids(answer) and "c12" not in ids(answer)
    missing = client.post("/similar", json={"content_id": "nope"}, headers=auth())
    assert missing.status_code == 404
    assert missing.json()["detail"][0]["loc"] == ["content_id"]


# -- events ---------------------------------------------------------------------------------
def event(event_id: str, employee: str, content_id: str, kind: str, **extra: object) -> dict:
    return {
        "event_id": event_id,
        "employee_id": employee,
        "content_id": content_id,
        "event_type": kind,
        **extra,
    }


def test_a_share_removes_the_item_from_the_next_feed(service) -> None:
    client, _, _ = service
    before = ids(feed(client, "e6", k=100))
    target = before[0]
    body = {"events": [event("s-e6-1", "e6", target, "share", network="linkedin")]}
    response = client.post("/events", json=body, headers=auth())
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1 and response.json()["applied"] == 1
    assert target not in ids(feed(client, "e6", k=100))


def test_applied_counts_events_the_event_follower_applied_first(service) -> None:
    """The follower reads the store every second and may apply a request's events between
    their write and the request's own apply: they still count as applied."""
    _, instance, _ = service
    runtime = instance.runtime
    result = runtime.record_events([EventIn(**event("f-e3-1", "e3", "c02", "like"))])
    runtime.follower.follow()  # the follower's round, between the write and the apply
    answer = runtime.apply_events(result)
    assert (answer.stored, answer.applied) == (1, 1)


def test_events_are_idempotent_on_event_id(service) -> None:
    client, _, _ = service
    body = {"events": [event("d-1", "e2", "c02", "click"), event("d-1", "e2", "c02", "click")]}
    first = client.post("/events", json=body, headers=auth()).json()
    assert (first["accepted"], first["stored"], first["duplicates"]) == (2, 1, 1)
    again = client.post("/events", json=body, headers=auth()).json()
    assert (again["stored"], again["duplicates"], again["applied"]) == (0, 2, 0)


def test_bad_events_are_rejected_one_by_one_and_valid_ones_kept(service) -> None:
    client, _, _ = service
    body = {
        "events": [
            event("b-1", "e3", "c03", "click"),
            event("b-2", "e3", "c03", "teleport"),
            event("b-3", "nobody", "c03", "view"),
            event("b-4", "e3", "c03", "share"),  # a share without its network
            event("b-5", "e3", "c03", "view", timestamp="yesterday-ish"),
            event("b-6", "e3", "c03", "view", timestamp=iso(NOW + timedelta(days=2))),
        ]
    }
    response = client.post("/events", json=body, headers=auth())
    assert response.status_code == 422
    answer = response.json()
    assert (answer["received"], answer["accepted"], answer["stored"]) == (6, 1, 1)
    found = {(r["index"], r["field"], r["reason"]) for r in answer["rejections"]}
    assert found == {
        (1, "event_type", "not_allowed"),
        (2, "employee_id", "unknown_foreign_key"),
        (3, "network", "missing_value"),
        (4, "timestamp", "unparsable_timestamp"),
        (5, "timestamp", "future_timestamp"),
    }
    assert all(r["message"] for r in answer["rejections"])
    assert answer["rejections"][0]["event_id"] == "b-2"
    resent = client.post("/events", json={"events": body["events"][:1]}, headers=auth()).json()
    assert resent["duplicates"] == 1  # the valid event of the refused request was stored


def test_events_request_validation(service) -> None:
    client, _, _ = service
    assert client.post("/events", json={"events": []}, headers=auth()).status_code == 400
    missing = client.post("/events", json={"events": [{"event_id": "x"}]}, headers=auth())
    assert missing.status_code == 400
    assert {tuple(d["loc"])[-1] for d in missing.json()["detail"]} >= {"employee_id"}


def test_engagement_events_raise_the_trend_of_an_item(service) -> None:
    client, instance, _ = service
    ranker = instance.runtime.holder.state.ranker
    item = int(ranker.model.items_.to_internal(["c08"])[0])
    user = int(ranker.model.users_.to_internal(["e7"])[0])
    before = float(ranker.model._score([user], [item], NOW.timestamp())[0, 0])
    body = {"events": [event(f"t-{j}", f"e{j % 8 + 1}", "c08", "like") for j in range(16)]}
    assert client.post("/events", json=body, headers=auth()).status_code == 200
    model = instance.runtime.holder.state.ranker.model
    after = float(model._score([user], [item], NOW.timestamp())[0, 0])
    assert after > before


def test_the_served_hybrid_keeps_warm_score_rows_and_drops_those_of_who_acted(service) -> None:
    client, instance, _ = service
    model = instance.runtime.holder.state.ranker.model
    rows = model.scorer_.rows
    assert rows is not None and len(rows) > 0  # warmed when the model was loaded
    user = int(model.users_.to_internal(["e3"])[0])
    feed(client, "e3")
    assert user in rows._rows
    body = {"events": [event("rows-1", "e3", "c05", "click")]}
    assert client.post("/events", json=body, headers=auth()).status_code == 200
    assert user not in rows._rows  # its row changed: recomputed by the next feed
    feed(client, "e3")
    assert user in rows._rows


# -- auth -----------------------------------------------------------------------------------
def test_authentication_and_roles(service) -> None:
    client, _, _ = service
    body = {"employee_id": "e1"}
    missing = client.post("/feed", json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = auth("wrong-token-0123456789")
    assert client.post("/feed", json=body, headers=wrong).status_code == 401
    assert client.post("/feed", json=body, headers={"Authorization": FRONTEND}).status_code == 401
    assert client.post("/feed", json=body, headers=auth(MANAGER)).status_code == 403
    assert client.post("/feed", json=body, headers=auth(ADMIN)).status_code == 200
    assert client.post("/influencers", json={}, headers=auth(FRONTEND)).status_code == 403
    review = {"employee_id": "e1", "decision": "approve", "reviewer": "pm"}
    assert client.post("/influencer_review", json=review, headers=auth()).status_code == 403
    events = {"events": [event("a-1", "e1", "c01", "view")]}
    assert client.post("/events", json=events, headers=auth(MANAGER)).status_code == 403
    assert client.post("/events", json=events).status_code == 401
    answer = client.post("/feed", json=body, headers=wrong).json()
    assert "wrong-token" not in str(answer)


def test_malformed_requests_are_400(service) -> None:
    client, _, _ = service
    headers = {**auth(), "Content-Type": "application/json"}
    assert client.post("/feed", content=b"{not json", headers=headers).status_code == 400
    assert client.post("/feed", json={}, headers=auth()).status_code == 400
    assert client.post("/feed", json={"employee_id": ""}, headers=auth()).status_code == 400
    assert client.post("/feed", json={"employee_id": 7}, headers=auth()).status_code == 400
    bad_filters = {"employee_id": "e1", "filters": {"colour": ["red"]}}
    assert client.post("/feed", json=bad_filters, headers=auth()).status_code == 400


def test_health_readiness_and_status(service) -> None:
    client, _, _ = service
    assert client.get("/healthz").status_code == 200
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200
    status = client.post("/status", json={}, headers=auth(MANAGER))
    assert status.status_code == 200
    body = status.json()
    assert body["ready"] and body["model_loaded"] and body["store_reachable"]
    assert body["model_version"].startswith("advocacy-recommender@")
    assert body["live_items"] >= 9
    assert client.post("/status", json={}).status_code == 401


def test_influencers_without_a_scorer_is_503(service) -> None:
    client, _, _ = service
    response = client.post("/influencers", json={}, headers=auth(MANAGER))
    assert response.status_code == 503
    assert "influencer" in response.json()["error"]


# -- live catalogue and model -----------------------------------------------------------------
def test_new_content_appears_and_withdrawn_content_disappears(service, world) -> None:
    client, instance, clock = service
    store = world["store"]
    fresh = (
        content()
        .iloc[[0]]
        .assign(
            content_id="c13",
            title="Fresh: our cloud cost dashboard is live",
            published_at=iso(NOW - timedelta(hours=1)),
        )
    )
    write_table(store, "content", fresh)
    assert "c13" not in ids(feed(client, "e2", k=100))
    assert instance.runtime.refresher.refresh_catalogue() is True
    assert "c13" in ids(feed(client, "e2", k=100))
    similar = client.post("/similar", json={"content_id": "c13"}, headers=auth()).json()
    assert similar["items"]  # the new item has its embedding
    retired = content().iloc[[6]].assign(approval_status="retired")  # c07
    assert "c07" in ids(feed(client, "e2", k=100))
    write_table(store, "content", retired)
    assert instance.runtime.refresher.refresh_catalogue() is True
    assert "c07" not in ids(feed(client, "e2", k=100))
    assert instance.runtime.refresher.refresh_catalogue() is False  # nothing changed
    clock.now = NOW + timedelta(days=1)
    try:  # expiry needs no refresh: eligibility is checked at request time
        expiring = content().iloc[[7]].assign(expires_at=iso(NOW + timedelta(hours=2)))  # c08
        write_table(store, "content", expiring)
        instance.runtime.refresher.refresh_catalogue()
        assert "c08" not in ids(feed(client, "e2", k=100))
    finally:
        clock.now = NOW


def test_a_new_model_version_is_swapped_in(service, world) -> None:
    client, instance, _ = service
    folder = world["folder"]
    before = feed(client, "e1")["model_version"]
    assert instance.runtime.refresher.refresh_model() is False  # same version
    time.sleep(0.01)
    fit_model(world["store"], folder / "model", seed=7)
    assert instance.runtime.refresher.refresh_model() is True
    after = feed(client, "e1", k=100)
    assert after["model_version"] != before
    assert "c13" in ids(after)  # content added live is given to the new model too
    assert "c05" not in ids(feed(client, "e5", k=100))  # shares survive the swap


def test_the_catalogue_refreshes_while_a_new_model_warms_its_score_rows(
    service, world, monkeypatch
) -> None:
    """The swap is live before its score rows are warmed, and the warm-up (seconds on a
    large organisation) does not hold up the catalogue poller: the catalogue's own warm-up
    request is left to the running one, which goes again when it is done."""
    client, instance, _ = service
    refresher = instance.runtime.refresher
    warming, release = threading.Event(), threading.Event()
    original = Hybrid.warm_user_rows
    calls: list[bool] = []  # per warm-up: whether it was released (False: it timed out)

    def slow_warm(model: Hybrid, *args: object) -> int:
        warming.set()
        calls.append(release.wait(20))
        return original(model, *args)

    monkeypatch.setattr(Hybrid, "warm_user_rows", slow_warm)
    before = feed(client, "e1")["model_version"]
    time.sleep(0.01)
    fit_model(world["store"], world["folder"] / "model", seed=11)
    swap = threading.Thread(target=refresher.refresh_model)
    swap.start()
    try:
        assert warming.wait(60)
        assert feed(client, "e1")["model_version"] != before  # served while warming
        fresh = content().iloc[[1]].assign(content_id="c14", title="Fresh while warming")
        write_table(world["store"], "content", fresh)
        assert refresher.refresh_catalogue() is True  # not waiting for the warm-up
        assert "c14" in ids(feed(client, "e2", k=100))
        assert calls == []  # the first warm-up is still held
    finally:
        release.set()
        swap.join(60)
    assert not swap.is_alive()
    assert calls == [True, True]  # the swap's warm-up, then the catalogue's, both released


def test_a_model_swap_freezes_the_heap_when_the_process_asks(service, world) -> None:
    """``freeze_heap`` (the service's own process): the loaded model is moved out of the
    garbage collector's scans; each swap unfreezes and collects first."""
    _, instance, _ = service
    refresher = instance.runtime.refresher
    assert refresher.freeze_heap is False  # an embedding process's heap is left alone
    refresher.freeze_heap = True
    thresholds = gc.get_threshold()
    try:
        time.sleep(0.01)
        fit_model(world["store"], world["folder"] / "model", seed=12)
        assert refresher.refresh_model() is True
        frozen = gc.get_freeze_count()
        assert frozen > 1000
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *thresholds[1:])
        settle_heap()  # again: the same objects, not twice as many
        assert gc.get_freeze_count() < 1.5 * frozen
    finally:
        refresher.freeze_heap = False
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_blank_ids_are_refused_and_bodies_are_not_logged(service, caplog) -> None:
    client, _, _ = service
    assert client.post("/feed", json={"employee_id": "   "}, headers=auth()).status_code == 400
    secret = "jane.doe@example.com"
    with caplog.at_level("INFO"):
        answer = client.post("/feed", json={"employee_id": secret, "k": -1}, headers=auth())
    assert answer.status_code == 400
    assert secret not in caplog.text


def test_a_large_batch_is_ranked_in_chunks_like_single_feeds(service) -> None:
    client, _, _ = service
    employees = [f"e{j % 8 + 1}" if j % 3 else f"visitor-{j}" for j in range(70)]
    response = client.post("/feeds_batch", json={"employee_ids": employees, "k": 4}, headers=auth())
    assert response.status_code == 200, response.text
    feeds = response.json()["feeds"]
    assert [f["employee_id"] for f in feeds] == employees
    for one in (feeds[0], feeds[1], feeds[69]):
        assert ids(one) == ids(feed(client, one["employee_id"], k=4))
