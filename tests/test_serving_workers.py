"""``advocacy serve --workers N``: the option is validated, and a real server started with
``--workers 2`` runs two BentoML worker processes that each load the model and answer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from features.data.store import Store
from serving.config import ConfigError, workers_from_env
from tests.served import FRONTEND, ROOT, launch, serving
from tests.test_serving_data import fill_store, fit_model

#: The command line of a BentoML 1.4 worker process (one per worker, children of the server).
WORKER_MODULE = "_bentoml_impl.worker.service"


def test_workers_come_from_the_environment() -> None:
    assert workers_from_env({}) == 1
    assert workers_from_env({"ADVOCACY_WORKERS": "3"}) == 3
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ConfigError, match="ADVOCACY_WORKERS"):
            workers_from_env({"ADVOCACY_WORKERS": bad})


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--workers", "0"], {}, "--workers"),
        (["--workers", "many"], {}, "--workers"),
        ([], {"ADVOCACY_WORKERS": "0"}, "ADVOCACY_WORKERS"),
    ],
)
def test_a_bad_worker_count_is_refused_before_the_server_starts(
    args: list[str], env: dict[str, str], message: str
) -> None:
    import typer

    from training.commands.serve import serve

    app = typer.Typer()
    app.command()(serve)
    result = CliRunner().invoke(app, args, env={"ADVOCACY_TOKENS": "", **env})
    assert result.exit_code == 2
    assert message in result.output
    assert "serving on" not in result.output


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("two-workers")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    fill_store(store)
    fit_model(store, folder / "model")
    options = ["--model-dir", str(folder / "model"), "--workers", "2"]
    unset = ("ADVOCACY_WORKERS", "ADVOCACY_CONSOLE_SECRET")
    try:
        with serving(launch(folder, store.url, options, unset=unset)) as (served,):
            yield {"url": served.url, "pid": served.process.pid, "log": served.log}
    finally:
        store.dispose()


def worker_processes(pid: int) -> list[psutil.Process]:
    """The BentoML worker processes under ``pid`` (``advocacy serve``)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if WORKER_MODULE in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def tail(log: Path) -> str:
    return log.read_text()[-3000:]


def _eventually(check: Callable[[], bool], seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


def test_two_workers_run_and_answer(two_workers: dict[str, object]) -> None:
    log = Path(str(two_workers["log"]))
    workers = worker_processes(int(two_workers["pid"]))  # type: ignore[call-overload]
    assert len(workers) == 2, [w.cmdline() for w in workers]
    # the workers import the project from its root (this tree), not an installed copy
    assert {w.cwd() for w in workers} == {str(ROOT)}
    # one console key for both, made for the run: a sign-in holds on either worker
    keys = {w.environ().get("ADVOCACY_CONSOLE_SECRET") for w in workers}
    assert len(keys) == 1 and len(keys.pop() or "") >= 32
    assert "with 2 workers" in log.read_text()
    # each worker builds its own service instance (and loads the model)
    started = [f"advocacy:{n}] Service advocacy initialized" for n in (1, 2)]
    assert _eventually(lambda: all(line in log.read_text() for line in started)), tail(log)
    headers = {"Authorization": f"Bearer {FRONTEND}"}
    for _ in range(8):  # new connections: either worker may accept each
        with httpx.Client(base_url=str(two_workers["url"]), timeout=30) as client:
            assert _eventually(lambda c=client: c.get("/readyz").status_code == 200)
            answer = client.post("/feed", json={"employee_id": "e1", "k": 5}, headers=headers)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["items"]) == 5
