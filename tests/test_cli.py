"""The ``advocacy`` command: help everywhere, import exit codes and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from training.cli import app

SMALL = Path(__file__).parent / "fixtures" / "contract_small"
runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["data"],
        ["data", "import"],
        ["data", "generate"],
        ["data", "summary"],
        ["content"],
        ["content", "share-text"],
        ["content", "forecast"],
        ["demo"],
        ["features"],
        ["features", "build"],
        ["influencers"],
        ["influencers", "review"],
        ["influencers", "fairness"],
        ["influencers", "history"],
        ["influencers", "fit"],
        ["train"],
        ["retrain"],
        ["rollback"],
        ["experiment", "run"],
        ["serve"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_import_json_and_exit_codes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    ok = runner.invoke(app, ["data", "import", str(SMALL), "--db", db, "--json"])
    assert ok.exit_code == 0, ok.output
    payload = json.loads(ok.output)
    assert payload["accepted"]["interactions"] == 4 and payload["rejections"] == []

    bad = tmp_path / "interactions.csv"
    bad.write_text(
        "event_id,employee_id,content_id,event_type,timestamp\nz,ana,c1,jump,2026-10-01\n"
    )
    rejected = runner.invoke(app, ["data", "import", str(bad), "--db", db, "--json"])
    assert rejected.exit_code == 3
    (rejection,) = json.loads(rejected.output)["rejections"]
    assert (rejection["row"], rejection["field"], rejection["reason"]) == (
        1,
        "event_type",
        "not_allowed",
    )

    missing = runner.invoke(app, ["data", "import", str(tmp_path / "none"), "--db", db])
    assert missing.exit_code == 4 and "no such file" in missing.output

    summary = runner.invoke(app, ["data", "summary", "--db", db, "--json"])
    assert json.loads(summary.output)["rows"]["interactions"] == 4


def test_generate_then_import(tmp_path: Path) -> None:
    out = tmp_path / "org"
    generated = runner.invoke(
        app,
        [
            "data",
            "generate",
            "--out",
            str(out),
            "--employees",
            "60",
            "--content",
            "30",
            "--days",
            "30",
            "--seed",
            "1",
            "--end",
            "2026-11-01",
        ],
    )
    assert generated.exit_code == 0, generated.output
    db = f"sqlite:///{tmp_path / 's.db'}"
    imported = runner.invoke(app, ["data", "import", str(out), "--db", db, "--json"])
    assert imported.exit_code == 0, imported.output[:2000]


def test_readme_documents_the_contract_as_coded() -> None:
    from features.data.contract import contract_markdown

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert contract_markdown() in readme
    assert readme.splitlines()[3:5] == [
        "make demo   # creates .venv, installs, generates an organisation in ./data, trains,"
        " registers and serves it on localhost",
        "make test   # creates .venv, installs with the dev extra, runs ruff and the test suite",
    ]


def test_demo_generates_and_imports_into_the_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVOCACY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ADVOCACY_DB_URL", raising=False)
    args = ["demo", "--employees", "40", "--content", "20", "--days", "14", "--no-train"]
    for _ in range(2):  # a second run starts afresh
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "advocacy.db").is_file()
    summary = runner.invoke(app, ["data", "summary", "--json"])
    rows = json.loads(summary.output)["rows"]
    assert rows["advocates"] == 40 and rows["interactions"] > 0


def test_the_demo_config_ships_with_the_project() -> None:
    from training.commands.demo import DEMO_CONFIG
    from training.config import load_config

    assert DEMO_CONFIG.is_file(), DEMO_CONFIG  # `make demo` trains with it by default
    load_config(DEMO_CONFIG)


def test_demo_trains_tracks_and_registers_champions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training.registry import INFLUENCERS, RECOMMENDER, champion

    data = tmp_path / "data"
    monkeypatch.setenv("ADVOCACY_DATA_DIR", str(data))
    for name in ("ADVOCACY_DB_URL", "MLFLOW_TRACKING_URI", "ADVOCACY_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    quick = Path(__file__).parents[1] / "experiments" / "configs" / "quick.yaml"
    args = ["demo", "--employees", "150", "--content", "60", "--days", "45", "--config"]
    result = runner.invoke(app, [*args, str(quick), "--no-serve"])
    assert result.exit_code == 0, result.output[-3000:]
    assert "4/4" not in result.output  # --no-serve: nothing started
    assert (data / "mlflow.db").is_file()
    for name in (RECOMMENDER, INFLUENCERS):
        ref = champion(name, dst=tmp_path / "champions" / name)
        assert ref is not None and ref.version == "1"
        assert (ref.path / "manifest.json").is_file()
    from features.data.store import Store

    store = Store.open(f"sqlite:///{data / 'advocacy.db'}")  # the candidate charts' history
    try:
        with store.engine.connect() as conn:
            recorded = conn.exec_driver_sql(
                "SELECT model_version, count(DISTINCT scored_at) FROM influencer_scores"
                " GROUP BY model_version"
            ).all()
    finally:
        store.dispose()
    assert [tuple(r) for r in recorded] == [(f"{INFLUENCERS}@1", 4)]  # 45 days, every 14


def test_the_demo_starts_the_server_with_the_console_and_a_manager_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's last step calls ``advocacy serve`` from code with every other option at
    its command-line default (a new serve option once broke it)."""
    import typer

    from training.commands import demo, serve

    started: dict[str, object] = {}

    def run(command: list[str], env: dict[str, str]) -> int:
        started.update(command=command, env=env)
        return 0

    monkeypatch.setattr(serve, "_run", run)
    with pytest.raises(typer.Exit) as stopped:
        demo._serve(3999)
    assert stopped.value.exit_code == 0
    assert "serving.service:AdvocacyService" in started["command"]  # type: ignore[operator]
    env = started["env"]
    assert isinstance(env, dict) and env["ADVOCACY_TOKENS"].count(":manager") == 1
    printed = capsys.readouterr().out
    assert "http://127.0.0.1:3999/console" in printed
    assert "sign in to the console with the manager token" in printed
