"""Progress of the ``advocacy`` commands: bars on a terminal, stage lines elsewhere.

The commands run as real processes; "a terminal" is a pseudo-terminal from :mod:`pty`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from recsys.progress import Progress, Stage, rate_text, stage_line
from training.progress import BarProgress

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "training.cli"]
SMALL_ORG = ["--employees", "300", "--content", "60", "--days", "30"]
BAR = "━"
STAGE_SECONDS = re.compile(r"generate organisation: 7 parts in \d+\.\d\d s")
IMPORT_SECONDS = re.compile(r"import advocates: 300 rows in \d+\.\d\d s, [\d,]+ rows/s")


def _env() -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    return env


def _read_all(fd: int) -> str:
    """Everything written to the pty master ``fd`` until the other side closes."""
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


def on_terminal(args: list[str], *, stdout_piped: bool = False) -> tuple[int, str, str]:
    """Run the CLI with stderr (and stdout unless ``stdout_piped``) on a pseudo-terminal;
    exit code, terminal text, piped stdout."""
    master, slave = pty.openpty()
    out = subprocess.PIPE if stdout_piped else slave
    process = subprocess.Popen(
        [*CLI, *args], stdin=slave, stdout=out, stderr=slave, cwd=ROOT, env=_env()
    )
    os.close(slave)
    terminal = _read_all(master)
    piped = process.stdout.read().decode() if process.stdout else ""
    process.wait(timeout=120)
    os.close(master)
    return process.returncode, terminal, piped


def piped(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdout and stderr piped (as in CI or cron)."""
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120
    )


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("org")
    assert piped(["-q", "data", "generate", "--out", str(out), *SMALL_ORG]).returncode == 0
    return out


def test_generate_shows_bars_on_a_terminal(tmp_path: Path) -> None:
    code, terminal, _ = on_terminal(["data", "generate", "--out", str(tmp_path), *SMALL_ORG])
    assert code == 0
    assert "generate organisation" in terminal and "write tables" in terminal
    assert BAR in terminal and "7/7" in terminal
    assert "Wrote" in terminal


def test_import_shows_a_bar_per_table_on_a_terminal(org: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    code, terminal, _ = on_terminal(["data", "import", str(org), "--db", db])
    assert code == 0
    for table in ("advocates", "content", "interactions", "org_edges"):
        assert f"import {table}" in terminal
    assert "rows/s" in terminal


def test_piped_output_has_stage_lines_with_seconds_and_no_bars(tmp_path: Path) -> None:
    result = piped(["data", "generate", "--out", str(tmp_path), *SMALL_ORG])
    assert result.returncode == 0
    assert STAGE_SECONDS.search(result.stderr)
    assert re.search(r"write tables: [\d,]+ rows in \d+\.\d\d s", result.stderr)
    assert BAR not in result.stderr and "\x1b[" not in result.stderr
    assert "generate organisation" not in result.stdout and "\x1b[" not in result.stdout


def test_import_json_parses_with_progress_on(org: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    result = piped(["data", "import", str(org), "--db", db, "--json"])
    assert result.returncode == 0
    assert json.loads(result.stdout)["accepted"]["advocates"] == 300
    assert IMPORT_SECONDS.search(result.stderr)


def test_json_on_a_terminal_draws_no_bars(org: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    code, terminal, stdout = on_terminal(
        ["data", "import", str(org), "--db", db, "--json"], stdout_piped=True
    )
    assert code == 0
    assert json.loads(stdout)["exit_code"] == 0
    assert BAR not in terminal and IMPORT_SECONDS.search(terminal)


def test_quiet_prints_no_progress(org: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    result = piped(["--quiet", "data", "import", str(org), "--db", db, "--json"])
    assert result.returncode == 0 and result.stderr == ""
    assert json.loads(result.stdout)["exit_code"] == 0
    code, terminal, _ = on_terminal(["-q", "data", "generate", "--out", str(tmp_path / "o")])
    assert code == 0 and BAR not in terminal.split("Wrote")[0]
    assert "generate organisation" not in terminal


def test_features_build_json_parses_without_library_chatter(org: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert piped(["-q", "data", "import", str(org), "--db", db]).returncode == 0
    result = piped(["features", "build", "--db", db, "--as-of", "2026-11-01", "--json"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["items_embedded"] == 60
    assert re.search(r"embed content: 60 items in \d+\.\d\d s", result.stderr)
    assert re.search(r"features org_network: \d+\.\d\d s", result.stderr)
    assert "Loading weights" not in result.stderr + result.stdout


def test_a_plain_stage_logs_its_count_rate_and_seconds(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="recsys.progress"):
        with Progress().stage("count", total=3, unit="things") as stage:
            stage.advance(2)
            stage.advance()
        with pytest.raises(RuntimeError), Progress().stage("broken"):
            raise RuntimeError("stops")
    lines = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(r"count: 3 things in \d+\.\d\d s, [\d,]+ things/s", lines[0])
    assert re.fullmatch(r"broken: \d+\.\d\d s", lines[1])


def test_stage_line_without_counts_is_seconds_only() -> None:
    assert re.fullmatch(r"load: \d+\.\d\d s", stage_line(Stage("load")))


def test_bars_keep_the_outermost_stage_and_drop_inner_ones() -> None:
    screen = io.StringIO()
    bars = BarProgress(Console(file=screen, force_terminal=True, width=120))
    with bars.stage("outer", total=2, unit="steps") as outer:
        for _ in range(2):
            with bars.stage("inner", total=3) as inner:
                inner.advance(3)
            outer.advance()
    with bars.stage("next"):
        pass
    last = screen.getvalue().split("outer")[-1]
    assert "2/2" in last and "steps/s" in last
    assert bars._bars is None and not bars._tasks


def test_slow_rates_read_as_seconds_each() -> None:
    assert rate_text(2500.4, "rows") == "2,500 rows/s"
    assert rate_text(0.1, "runs") == "10.0 s each"


def test_evaluate_json_parses_with_a_stage_line_per_model(shared_data: Path) -> None:
    movielens = shared_data / "movielens-100k"
    result = piped(
        ["evaluate", "movielens-100k", "--data", str(movielens), "--models", "popular", "--json"]
    )
    assert result.returncode == 0, result.stderr
    assert "popular" in json.loads(result.stdout)["models"]
    assert re.search(r"evaluate popular: \d+\.\d\d s", result.stderr)
    assert re.search(r"evaluate models: 1 models in \d+\.\d\d s", result.stderr)


def test_summary_json_parses_with_progress_on(org: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert piped(["data", "import", str(org), "--db", db]).returncode == 0
    result = piped(["data", "summary", "--db", db, "--json"])
    assert result.returncode == 0 and json.loads(result.stdout)["rows"]["advocates"] == 300
