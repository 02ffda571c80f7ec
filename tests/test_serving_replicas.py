"""Two ``advocacy serve`` processes on one PostgreSQL store, and one service with two
workers, share their live state through the store's event log: a share posted to one leaves
the others' feeds within 2 s, trending from events posted to one shows in the others,
events imported with ``advocacy data import`` reach them all, and a restarted process
rebuilds its state from the model and the events after its training cut-off, applying none
twice. The two-worker service also shows that ``--workers 2`` runs two worker processes that
each load the model and answer."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from features.data.event_log import EventLog
from features.data.store import Store
from tests.served import FRONTEND, ROOT, Served, launch, serving
from tests.test_serving_data import NOW, add_synthetic_org, fill_store, fit_model
from tests.test_serving_workers import worker_processes

FOLLOW_GOAL = 2.0  # seconds, the goal for a share to reach every process
EMPLOYEE = "e1"


def save_trained_model(store: Store, folder: Path) -> None:
    """The served hybrid with the training cut that ``advocacy train`` records
    (``feature_spec.json``: ``as_of`` and the highest event number it read)."""
    head = EventLog(store).head()
    fit_model(store, folder)
    spec = {"as_of": NOW.isoformat(), "events_seq": head}
    (folder / "feature_spec.json").write_text(json.dumps(spec))


@pytest.fixture(scope="module")
def organisation(module_pg_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("replicas")
    fill_store(module_pg_store)
    add_synthetic_org(module_pg_store, folder / "org", employees=60)
    save_trained_model(module_pg_store, folder / "model")
    return folder


def _launch(store: Store, folder: Path, name: str, workers: int = 1) -> Served:
    options = ["--model-dir", str(folder / "model"), "--workers", str(workers)]
    # the worker count and the console key come from the command line and the run alone
    unset = ("ADVOCACY_WORKERS", "ADVOCACY_CONSOLE_SECRET")
    return launch(folder / name, store.url, options, unset=unset)


@pytest.fixture(scope="module")
def servers(module_pg_store: Store, organisation: Path) -> Iterator[list[Served]]:
    """Processes ``a`` and ``b``, and a service of two workers, started side by side."""
    launched = [_launch(module_pg_store, organisation, name) for name in "ab"]
    launched.append(_launch(module_pg_store, organisation, "workers", workers=2))
    with serving(*launched) as ready:
        yield ready


@pytest.fixture(scope="module")
def replicas(servers: list[Served]) -> list[Served]:
    return servers[:2]


@pytest.fixture(scope="module")
def two_workers(servers: list[Served]) -> Served:
    return servers[2]


def feed(server: Served, employee: str, k: int = 50) -> list[tuple[str, float]]:
    answer = server.post("/feed", {"employee_id": employee, "k": k})
    assert answer.status_code == 200, answer.text
    return [(item["content_id"], item["score"]) for item in answer.json()["items"]]


def ids(server: Served, employee: str) -> list[str]:
    return [content for content, _ in feed(server, employee)]


def post_events(server: Served, events: list[dict[str, str]]) -> None:
    answer = server.post("/events", {"events": events})
    assert answer.status_code == 200 and answer.json()["stored"] == len(events), answer.text


def until(check: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until ``check()`` held (polled every 50 ms), None if it never did."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def cursor(server: Served) -> int:
    status = server.post("/status", {})
    assert status.status_code == 200, status.text
    return int(status.json()["events_applied_through"])


def feed_differences(one: Served, other: Served, employees: list[str]) -> list[str]:
    """Where the two processes' feeds differ: items, or scores by more than 0.1%.

    Each process ranks at its own clock's second, so time-decayed parts move a little
    between the two answers; an event applied twice moves its trend by far more."""
    found = []
    for employee in employees:
        mine, theirs = feed(one, employee), feed(other, employee)
        if [c for c, _ in mine] != [c for c, _ in theirs]:
            found.append(f"{employee}: {mine} != {theirs}")
        elif not np.allclose([s for _, s in mine], [s for _, s in theirs], rtol=1e-3, atol=1e-6):
            pairs = zip(mine, theirs, strict=True)
            found.append(f"{employee}: scores {[(m, t) for m, t in pairs if m != t][:8]}")
    return found


def test_a_share_posted_to_one_process_leaves_the_others_feeds(replicas: list[Served]) -> None:
    a, b = replicas
    shown = ids(b, EMPLOYEE)
    target = shown[0]
    event = {"event_id": "rep-share-1", "employee_id": EMPLOYEE, "content_id": target}
    post_events(a, [event | {"event_type": "share", "network": "linkedin"}])
    assert target not in ids(a, EMPLOYEE)  # its own: at once
    seconds = until(lambda: target not in ids(b, EMPLOYEE), timeout=10.0)
    print(f"a share left the other process's feed after {seconds} s")  # for the docs
    assert seconds is not None and seconds <= FOLLOW_GOAL, seconds


def test_trending_from_events_posted_to_one_shows_in_the_other(
    replicas: list[Served], module_pg_store: Store
) -> None:
    a, b = replicas
    reader = "e2"
    before = dict(feed(b, reader))
    target = list(before)[10]
    engaged = [f"e{j}" for j in range(3, 9)]
    events = [
        {"event_id": f"rep-like-{n}-{who}", "employee_id": who, "content_id": target}
        | {"event_type": kind}
        for n, kind in enumerate(["view", "like", "click"])
        for who in engaged
    ]
    post_events(a, events)
    head = EventLog(module_pg_store).head()
    assert until(lambda: min(cursor(a), cursor(b)) >= head, timeout=10.0) is not None
    after = dict(feed(b, reader))
    assert after.get(target, -np.inf) > before[target], (before, after)
    assert not feed_differences(a, b, [reader, EMPLOYEE])


def test_two_workers_run_and_answer(two_workers: Served) -> None:
    """``advocacy serve --workers 2`` runs two BentoML worker processes that each load the
    model and answer."""
    log = two_workers.log
    workers = worker_processes(two_workers.process.pid)
    assert len(workers) == 2, [w.cmdline() for w in workers]
    # the workers import the project from its root (this tree), not an installed copy
    assert {w.cwd() for w in workers} == {str(ROOT)}
    # one console key for both, made for the run: a sign-in holds on either worker
    keys = {w.environ().get("ADVOCACY_CONSOLE_SECRET") for w in workers}
    assert len(keys) == 1 and len(keys.pop() or "") >= 32
    assert "with 2 workers" in log.read_text()
    # each worker builds its own service instance (and loads the model)
    started = [f"advocacy:{n}] Service advocacy initialized" for n in (1, 2)]
    assert until(lambda: all(line in log.read_text() for line in started), 60.0) is not None, (
        log.read_text()[-3000:]
    )
    headers = {"Authorization": f"Bearer {FRONTEND}"}
    for _ in range(8):  # new connections: either worker may accept each
        with httpx.Client(base_url=two_workers.url, timeout=30) as client:
            assert until(lambda c=client: c.get("/readyz").status_code == 200, 60.0) is not None
            answer = client.post("/feed", json={"employee_id": "e1", "k": 5}, headers=headers)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["items"]) == 5


def test_a_share_posted_to_one_worker_leaves_every_workers_feeds(
    two_workers: Served, module_pg_store: Store
) -> None:
    employee = "e6"
    target = ids(two_workers, employee)[0]
    event = {"event_id": "rep-share-w", "employee_id": employee, "content_id": target}
    post_events(two_workers, [event | {"event_type": "share", "network": "x"}])
    head = EventLog(module_pg_store).head()
    started, caught_up = time.monotonic(), {}  # worker -> seconds until it had the share
    while len(caught_up) < 2 and time.monotonic() - started < 10.0:
        status = two_workers.post("/status", {}).json()  # a new connection: either worker
        if status["events_applied_through"] >= head:
            caught_up.setdefault(status["process_id"], time.monotonic() - started)
    print(f"a share was applied by the workers after {caught_up} s")  # for the docs
    assert len(caught_up) == 2 and max(caught_up.values()) <= FOLLOW_GOAL, caught_up
    assert all(target not in ids(two_workers, employee) for _ in range(20))


def test_events_imported_while_serving_reach_every_process(
    servers: list[Served], module_pg_store: Store, tmp_path: Path
) -> None:
    employee = "e4"
    target = ids(servers[0], employee)[0]
    (tmp_path / "import").mkdir()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (tmp_path / "import" / "interactions.csv").write_text(
        "event_id,employee_id,content_id,event_type,network,timestamp,value\n"
        f"imp-share-1,{employee},{target},share,x,{stamp},\n"
    )
    command = [sys.executable, "-m", "training.cli", "data", "import", str(tmp_path / "import")]
    done = subprocess.run(
        [*command, "--db", module_pg_store.url], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for server in servers:
        assert until(lambda s=server: target not in ids(s, employee), timeout=10.0) is not None


def test_a_restarted_process_applies_no_event_twice(
    replicas: list[Served], module_pg_store: Store, organisation: Path
) -> None:
    a, _ = replicas
    events = [
        {"event_id": f"rep-restart-{j}", "employee_id": f"e{j}", "content_id": "c03"}
        | {"event_type": "like"}
        for j in range(1, 9)
    ]
    post_events(a, events)
    head = EventLog(module_pg_store).head()
    with serving(_launch(module_pg_store, organisation, "c")) as (c,):  # a fresh state
        assert cursor(c) == head
        assert until(lambda: cursor(a) >= head, timeout=10.0) is not None
        assert not feed_differences(a, c, ["e1", "e2", "e5"])
