"""Real ``advocacy serve`` processes for tests: start one, wait until ready, stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = "frontend-token-0123456789"
MANAGER = "manager-token-0123456789"
ADMIN = "admin-token-0123456789abc"
TOKENS = f"{FRONTEND}:frontend,{MANAGER}:manager,{ADMIN}:admin"
READY_TIMEOUT = 180.0
_SERVE = "import typer; from training.commands.serve import serve; typer.run(serve)"


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    log: Path

    def post(self, path: str, body: object, token: str | None = FRONTEND) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(f"{self.url}{path}", json=body, headers=headers, timeout=30)


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Whether ``check()`` held within ``timeout`` seconds (polled every 0.25 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(
    url: str,
    process: subprocess.Popen,
    log: Path,
    path: str = "/readyz",
    timeout: float = READY_TIMEOUT,
) -> None:
    """Until ``url + path`` answers 200 (``/livez`` for a server that is never ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"bentoml serve exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"{path} did not answer 200 in {timeout} s:\n{log.read_text()[-3000:]}")


def stop(*processes: subprocess.Popen) -> None:
    """SIGTERM to every one at once, then wait for each (a server takes ~2 s to go)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def launch(
    folder: Path,
    db_url: str,
    options: Sequence[str],
    env: dict[str, str] | None = None,
    unset: Sequence[str] = (),
) -> Served:
    """Start ``advocacy serve --db db_url *options`` on a free port (not waiting for it).

    ``folder`` holds the log and the BentoML home; ``env`` adds to this process's environment
    and ``unset`` names variables of it the server must not see.
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environment = {
        **os.environ,
        "ADVOCACY_TOKENS": TOKENS,
        "BENTOML_HOME": str(folder / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
        "OPENBLAS_NUM_THREADS": "1",
        **(env or {}),
    }
    for name in unset:
        environment.pop(name, None)
    log = folder / f"server-{port}.log"
    command = [sys.executable, "-c", _SERVE, "--port", str(port), "--host", "127.0.0.1"]
    command += ["--db", db_url, *options]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, env=environment, stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT)
        )
    return Served(f"http://127.0.0.1:{port}", process, log)


@contextmanager
def serving(*launched: Served) -> Iterator[list[Served]]:
    """The launched servers once all are ready (they start side by side); stopped on exit."""
    try:
        for server in launched:
            wait_ready(server.url, server.process, server.log)
        yield list(launched)
    finally:
        stop(*(server.process for server in launched))
