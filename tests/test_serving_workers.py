"""``advocacy serve --workers N``: the option is validated before the server starts. A real
server started with ``--workers 2`` running two BentoML worker processes that each load the
model and answer is tested in :mod:`tests.test_serving_replicas`, on the two-worker service it
starts anyway (one server start less)."""

from __future__ import annotations

import psutil
import pytest
from typer.testing import CliRunner

from serving.config import ConfigError, workers_from_env

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
