"""Faults under a real ``advocacy serve``: its store's PostgreSQL stopped and started, then
its MLflow registry's PostgreSQL stopped and started, with requests all along.

Two throwaway clusters (:mod:`tests.pg_cluster`; the shared server on 5432 is never
touched): one holds the store, the other the MLflow registry (the tracking URI on
PostgreSQL), so each can be taken away alone. One service for the module serves a
popularity model and the influencer scorer, both champions in that registry, and polls the
catalogue and the registry every second.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from features.data.reader import StoreReader
from features.data.store import Store, Timeouts, create_engine
from features.sharing_history import DEFAULT_EVENT_WEIGHTS
from features.snapshot import Snapshot
from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.models import RecentPopular
from serving.health import describe, is_outage
from tests.conftest import _unavailable
from tests.pg_cluster import Cluster, ClusterError, bin_dir, free_port
from tests.served import FRONTEND, MANAGER, eventually, launch, serving
from tests.test_serving_data import NOW, add_synthetic_org, fill_store, fit_influencers
from tests.test_serving_registry import Models
from training.registry import INFLUENCERS, RECOMMENDER

PERIOD = {"start": "2026-08-01T00:00:00Z", "end": "2026-11-27T00:00:00Z"}
MODEL_FAILURES = 'advocacy_refresh_failures_total{kind="model"}'
T = TypeVar("T")
_TIMES: dict[str, float] = {}  # what the outage test measured


# -- telling an outage from a fault of the query ----------------------------------------------
def test_outages_are_told_from_faults_of_the_query(pg_store: Store, tmp_path: Path) -> None:
    url = pg_store.engine.url.render_as_string(hide_password=False)
    bounded = create_engine(url, timeouts=Timeouts(connect=2, statement=0.2))
    try:
        with bounded.connect() as conn:  # the store's own options (its schema) are kept
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "200ms"
            assert conn.execute(sa.text("SHOW search_path")).scalar() == str(
                pg_store.engine.url.query["options"]
            ).removeprefix("-csearch_path=")
            with pytest.raises(sa.exc.OperationalError) as slow:
                conn.execute(sa.text("SELECT pg_sleep(2)"))
            assert is_outage(slow.value)
        with bounded.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as missing:
            conn.execute(sa.text("SELECT * FROM no_such_table"))
        assert not is_outage(missing.value)
    finally:
        bounded.dispose()
    nowhere = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/x", timeouts=Timeouts())
    with pytest.raises(sa.exc.OperationalError) as refused:
        nowhere.connect()
    assert is_outage(refused.value) and describe(refused.value).startswith("OperationalError")

    path = tmp_path / "locked.db"
    holder, other = sqlite3.connect(path), sqlite3.connect(path, timeout=0)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("SELECT * FROM t")
    assert is_outage(locked.value)
    with pytest.raises(sqlite3.OperationalError) as unknown:
        holder.execute("SELECT * FROM no_such_table")
    assert not is_outage(unknown.value)
    holder.close()
    other.close()


# -- fixtures: two clusters, a store and a registry on them, one served process --------------
@pytest.fixture(scope="module")
def clusters() -> Iterator[dict[str, Cluster]]:
    binaries = bin_dir()
    if binaries is None:
        _unavailable("PostgreSQL's initdb and pg_ctl not found (set PG_BIN)")
    made: list[Cluster] = []

    def start() -> None:
        made.append(Cluster.create(binaries))
        made[-1].start()

    try:
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(start) for _ in ("store", "registry")]:
                started.result()
    except (ClusterError, KeyError, OSError) as exc:  # KeyError: no postgres account
        for cluster in made:
            cluster.destroy()
        _unavailable(f"no throwaway PostgreSQL cluster: {exc}")
    yield {"store": made[0], "registry": made[1]}
    for cluster in made:
        cluster.destroy()


@pytest.fixture(scope="module")
def world(
    clusters: dict[str, Cluster], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("faults")
    # one after the other: MLflow making its tables (~2 s) on a thread beside Store.open once
    # raced SQLAlchemy's lazy imports ("partially initialized module sqlalchemy.orm.exc")
    models = Models(clusters["registry"].url(), folder / "artifacts")
    store = Store.open(clusters["store"].url())
    fill_store(store)
    add_synthetic_org(store, folder / "org", employees=40)
    fit_popular(store, folder / "rec")
    fit_influencers(store, folder / "inf")
    assert models.publish(RECOMMENDER, folder / "rec") == "1"
    assert models.publish(INFLUENCERS, folder / "inf") == "1"
    yield {"store": store, "folder": folder, "models": models}
    store.dispose()


@pytest.fixture(scope="module")
def server(world: dict[str, Any], clusters: dict[str, Cluster]) -> Iterator[dict[str, Any]]:
    folder: Path = world["folder"]
    options = ["--tracking-uri", clusters["registry"].url()]
    options += ["--catalogue-refresh", "1", "--model-refresh", "1"]
    env = {"ADVOCACY_DATA_DIR": str(folder / "data")}
    launched = launch(folder, clusters["store"].url(), options, env=env)
    with serving(launched) as (served,), httpx.Client(base_url=served.url, timeout=30) as client:
        yield {"client": client, "process": served.process, "log": served.log}


# -- the store ------------------------------------------------------------------------------
def test_a_store_outage_keeps_feeds_and_refuses_events_until_it_returns(
    server: dict[str, Any], clusters: dict[str, Cluster]
) -> None:
    client: httpx.Client = server["client"]
    assert _sign_in(client).status_code == 303
    loaded = _status(client)["catalogue_refreshed_at"]  # the poller first loads the encoder
    assert eventually(lambda: _status(client)["catalogue_refreshed_at"] != loaded, timeout=120)
    assert _events(client, [_event("up-1", "e1", "c02", "view")]).status_code == 200
    before = _feed(client, "e1")
    shared = before["items"][0]["content_id"]
    missed = [
        _event("down-1", "e1", shared, "share", "linkedin"),
        _event("down-2", "e2", "c03"),
        _event("down-3", "e3", "c04", "like"),
    ]
    cluster = clusters["store"]

    cluster.stop()
    stopped, clock = datetime.now(UTC), time.monotonic()
    try:
        first = _timed(lambda: _events(client, missed), "first /events")  # before the probe
        assert first.status_code == 503 and "retry-after" in first.headers, first.text
        assert _timed(lambda: client.get("/livez"), "/livez").status_code == 200
        ready = _timed(lambda: client.get("/readyz"), "/readyz")
        assert ready.status_code == 200, (ready.text, _status(client), _tail(server["log"]))
        during = _timed(lambda: _feed(client, "e1"), "/feed")
        assert (_ids(during), during["model_version"]) == (_ids(before), before["model_version"])
        down = eventually(lambda: not _status(client)["store_reachable"])
        assert down, _status(client)
        _TIMES["outage seen by /status"] = time.monotonic() - clock
        status = _timed(lambda: _status(client), "/status")
        assert status["ready"] and status["degraded"] and status["store_unreachable_since"]
        assert eventually(lambda: "catalogue" in _status(client)["refresh_errors"])

        refused = _timed(lambda: _events(client, missed), "/events")
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["retry-after"]) > 0
        assert refused.json()["detail"][0]["type"] == "store_unavailable"
        assert "none of the 3 events was stored" in refused.json()["error"]
        analytics = _post(client, "/analytics", PERIOD, MANAGER)
        assert analytics.status_code == 503 and "retry-after" in analytics.headers
        review = {"employee_id": "e3", "decision": "approve", "reviewer": "pm"}
        assert _post(client, "/influencer_review", review, MANAGER).status_code == 503
        page = client.get("/console/analytics")
        assert page.status_code == 503 and "does not answer" in page.text
        assert "unreachable" in client.get("/console/status").text  # no store needed
        metrics = client.get("/metrics").text
        assert _metric(metrics, "advocacy_store_up") == 0
        assert _metric(metrics, 'advocacy_events_total{outcome="unavailable"}') >= 6
        assert server["process"].poll() is None
    finally:
        cluster.start()

    clock = time.monotonic()
    assert eventually(lambda: not _status(client)["degraded"], timeout=30), _status(client)
    _TIMES["recovery seen by /status"] = time.monotonic() - clock
    assert _status(client)["refresh_errors"] == {}
    again = _events(client, missed)
    assert again.status_code == 200, again.text
    assert (again.json()["stored"], again.json()["duplicates"]) == (3, 0)  # none stored before
    assert shared not in _ids(_feed(client, "e1", k=100))  # the share was applied
    assert _post(client, "/analytics", PERIOD, MANAGER).status_code == 200
    assert client.get("/console/analytics").status_code == 200
    refreshed = _status(client)["catalogue_refreshed_at"]
    assert datetime.fromisoformat(refreshed) > stopped  # the poller works again
    assert _metric(client.get("/metrics").text, "advocacy_store_up") == 1
    _assert_no_server_errors(server["log"])
    print("store outage, seconds:", {k: round(v, 3) for k, v in _TIMES.items()})


# -- the registry ---------------------------------------------------------------------------
def test_a_registry_outage_keeps_the_champion_serving(
    server: dict[str, Any], clusters: dict[str, Cluster], world: dict[str, Any]
) -> None:
    client: httpx.Client = server["client"]
    before = _feed(client, "e2")
    failures = _metric(client.get("/metrics").text, MODEL_FAILURES, default=0.0)
    cluster = clusters["registry"]

    cluster.stop()
    clock = time.monotonic()
    try:
        assert eventually(lambda: "model" in _status(client)["refresh_errors"])
        seen = time.monotonic() - clock
        assert client.get("/readyz").status_code == 200
        assert _feed(client, "e2")["model_version"] == before["model_version"]
        status = _status(client)
        assert status["degraded"] and status["store_reachable"]
        metrics = client.get("/metrics").text
        assert _metric(metrics, MODEL_FAILURES) > failures
        assert _events(client, [_event("reg-1", "e2", "c04")]).status_code == 200
        assert server["process"].poll() is None
    finally:
        cluster.start()

    models: Models = world["models"]
    version = models.publish(RECOMMENDER, world["folder"] / "rec")
    clock = time.monotonic()
    assert eventually(
        lambda: _feed(client, "e2")["model_version"] == f"{RECOMMENDER}@{version}", timeout=30
    )
    swapped = time.monotonic() - clock
    assert eventually(lambda: not _status(client)["degraded"])
    _assert_no_server_errors(server["log"])
    print(f"registry outage: seen in {seen:.2f} s; a new champion served {swapped:.2f} s after")


# -- helpers --------------------------------------------------------------------------------
def fit_popular(store: Store, folder: Path) -> None:
    """A recent-popularity model over every content item of the store (no item features, so
    the served catalogue needs no text encoder), saved in ``folder``."""
    snapshot = Snapshot.load(StoreReader(store), NOW)
    events = snapshot.interactions
    weights = events["event_type"].map(DEFAULT_EVENT_WEIGHTS).fillna(0.0).to_numpy(np.float32)
    seconds = pd.to_datetime(events["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC")
    dataset = Dataset.from_events(
        events["employee_id"].astype(str).tolist(),
        events["content_id"].astype(str).tolist(),
        weights=weights,
        times=seconds.dt.total_seconds().to_numpy(np.int64),
        items=IdMap.from_ids([str(c) for c in snapshot.content["content_id"]], "content"),
    )
    RecentPopular().fit(dataset).save(folder)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


def _assert_no_server_errors(log: Path) -> None:
    text = log.read_text(errors="replace")
    assert "status=500" not in text, _tail(log)
    assert "Exception in thread" not in text, _tail(log)


def _post(client: httpx.Client, path: str, body: object, token: str = FRONTEND) -> httpx.Response:
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def _feed(client: httpx.Client, employee: str, k: int = 5) -> dict[str, Any]:
    answer = _post(client, "/feed", {"employee_id": employee, "k": k})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _ids(feed: dict[str, Any]) -> list[str]:
    return [item["content_id"] for item in feed["items"]]


def _status(client: httpx.Client) -> dict[str, Any]:
    answer = _post(client, "/status", {}, MANAGER)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _events(client: httpx.Client, events: list[dict[str, str]]) -> httpx.Response:
    return _post(client, "/events", {"events": events})


def _event(
    event_id: str, employee: str, content_id: str, kind: str = "view", network: str | None = None
) -> dict[str, str]:
    event = {"event_id": event_id, "employee_id": employee, "content_id": content_id}
    return event | {"event_type": kind} | ({"network": network} if network else {})


def _sign_in(client: httpx.Client) -> httpx.Response:
    form = client.get("/console/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, form.text[:500]
    data = {"csrf_token": found.group(1), "token": MANAGER, "name": "Ann Manager"}
    return client.post("/console/login", data=data, follow_redirects=False)


def _metric(text: str, name: str, default: float | None = None) -> float:
    """The sum of the samples whose line starts with ``name`` (``default`` if none)."""
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)]
    if not values and default is not None:
        return default
    assert values, f"{name} not in /metrics"
    return sum(values)


def _timed(call: Callable[[], T], name: str) -> T:
    """``call()``, its wall time kept in ``_TIMES[name]`` (printed, never asserted)."""
    started = time.monotonic()
    try:
        return call()
    finally:
        _TIMES[name] = time.monotonic() - started
