"""``advocacy influencers`` (list, review, fit) and ``advocacy evaluate`` for the influence
benchmarks, through typer's CliRunner on the apps themselves."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from features.data.importer import import_path
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate, write
from features.data.validation import ValidationContext
from tests.conftest import NOW
from training.commands.evaluate import evaluate
from training.commands.influencers import influencers_app

runner = CliRunner()
CONFIG = OrgConfig(employees=400, content=120, days=150, seed=3, interactions_per_employee=150)
AS_OF = "2026-11-26T12:00:00Z"
SMALL = Path(__file__).parent / "fixtures" / "contract_small"


@pytest.fixture(scope="module")
def org_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, set[str]]]:
    """A SQLite store holding a generated organisation, and its opted-out advocates."""
    folder = tmp_path_factory.mktemp("cli_org")
    org = generate(CONFIG)
    write(org, folder / "files")
    (folder / "files" / "ground_truth_influencers.csv").unlink()
    url = f"sqlite:///{folder / 'store.db'}"
    store = Store.open(url)
    context = ValidationContext(now=NOW, future_tolerance=timedelta(hours=1))
    assert import_path(store, folder / "files", context=context).exit_code == 0
    store.dispose()
    advocates = org.tables["advocates"]
    opted = set(advocates.loc[advocates["opted_out"].astype(bool), "employee_id"].astype(str))
    yield url, opted


@pytest.fixture(scope="module")
def saved(org_db: tuple[str, set[str]], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``advocacy influencers fit --out``: the folder and the printed summary."""
    url, _ = org_db
    folder = tmp_path_factory.mktemp("scorer") / "scorer"
    done = runner.invoke(influencers_app, ["fit", "--db", url, "--out", str(folder), "--json"])
    assert done.exit_code == 0, done.output
    return {"folder": folder, "summary": json.loads(done.output)}


def _list(url: str, *args: str) -> typer.testing.Result:
    return runner.invoke(influencers_app, ["--db", url, "--as-of", AS_OF, *args])


@pytest.mark.parametrize("command", [[], ["review"], ["fit"], ["fairness"], ["history"]])
def test_help(command: list[str]) -> None:
    done = runner.invoke(influencers_app, [*command, "--help"])
    assert done.exit_code == 0 and "Usage" in done.output


def test_list_json_csv_and_table(org_db: tuple[str, set[str]], saved: dict) -> None:
    url, opted = org_db
    model = saved["folder"]
    assert saved["summary"]["rows"] > 0 and (model / "manifest.json").is_file()
    on_the_fly = _list(url, "--top", "3", "--json")  # no --model: fitted on the store now
    assert on_the_fly.exit_code == 0, on_the_fly.output
    assert len(json.loads(on_the_fly.output)["candidates"]) == 3
    done = _list(url, "--model", str(model), "--top", "400", "--json")
    assert done.exit_code == 0, done.output
    rows = json.loads(done.output)["candidates"]
    assert rows and not {r["employee_id"] for r in rows} & opted
    first = rows[0]
    assert {"score", "tier", "flagged", "reasons", "confidence", "review"} <= set(first)
    assert 2 <= len(first["reasons"]) <= 4 and "%" in first["reasons"][0]["text"]
    assert first["confidence"]["level"] in ("low", "medium", "high")
    table = _list(url, "--model", str(model), "--top", "3")
    assert table.exit_code == 0 and first["employee_id"] in table.output
    as_csv = _list(url, "--model", str(model), "--top", "5", "--department", "sales", "--csv")
    assert as_csv.exit_code == 0, as_csv.output
    records = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert 0 < len(records) <= 5 and {r["department"] for r in records} == {"Sales"}
    assert records[0]["reasons"] and records[0]["confidence"]
    flagged = _list(url, "--model", str(model), "--flagged-only", "--network", "linkedin", "--json")
    assert all(r["flagged"] for r in json.loads(flagged.output)["candidates"])
    both = _list(url, "--json", "--csv")
    assert both.exit_code == 2 and "one of --json and --csv" in both.output


def test_fairness_counts_every_scored_advocate(org_db: tuple[str, set[str]], saved: dict) -> None:
    url, opted = org_db
    model = saved["folder"]
    args = ["fairness", "--db", url, "--model", str(model), "--as-of", AS_OF]
    done = runner.invoke(influencers_app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["advocates"] == CONFIG.employees - len(opted)
    for dimension in ("department", "region", "seniority"):
        groups = report["dimensions"][dimension]["groups"]
        assert sum(g["advocates"] for g in groups.values()) == report["advocates"]
    table = runner.invoke(influencers_app, args)
    assert table.exit_code == 0 and "flag rate by department" in table.output


def test_review_is_stored_and_shown(org_db: tuple[str, set[str]], saved: dict) -> None:
    url, _ = org_db
    model = saved["folder"]
    rows = json.loads(_list(url, "--model", str(model), "--flagged-only", "--json").output)
    target = rows["candidates"][0]["employee_id"]
    args = ["review", target, "--dismiss", "--note", "not on brand", "--by", "pm@corp"]
    done = runner.invoke(influencers_app, [*args, "--db", url, "--model", str(model), "--json"])
    assert done.exit_code == 0, done.output
    stored = json.loads(done.output)
    assert stored["decision"] == "dismiss" and stored["reviewer"] == "pm@corp"
    assert stored["score"] == pytest.approx(rows["candidates"][0]["score"], abs=1e-6)
    after = json.loads(_list(url, "--model", str(model), "--top", "400", "--json").output)
    shown = next(r for r in after["candidates"] if r["employee_id"] == target)
    assert shown["review"]["decision"] == "dismiss" and shown["review"]["note"] == "not on brand"
    assert shown["review"]["suppressed"] and not shown["flagged"]
    again = _list(url, "--model", str(model), "--top", "400", "--margin", "0", "--json")
    assert any(r["employee_id"] == target for r in json.loads(again.output)["candidates"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["review", "nobody", "--approve", "--by", "pm", "--score", "0.5"], "nobody"),
        (["review", "x", "--approve", "--dismiss", "--by", "pm"], "exactly one"),
        (["review", "x", "--by", "pm"], "exactly one"),
    ],
)
def test_review_errors_exit_2(org_db: tuple[str, set[str]], args: list[str], message: str) -> None:
    url, _ = org_db
    done = runner.invoke(influencers_app, [*args, "--db", url])
    assert done.exit_code == 2 and message in done.output


def test_opted_out_advocates_cannot_be_reviewed(org_db: tuple[str, set[str]]) -> None:
    url, opted = org_db
    target = sorted(opted)[0]
    args = ["review", target, "--approve", "--by", "pm", "--score", "0.5", "--db", url]
    done = runner.invoke(influencers_app, args)
    assert done.exit_code == 2 and "opted out" in done.output


def test_an_empty_or_tiny_store_exits_4(tmp_path: Path) -> None:
    done = runner.invoke(influencers_app, ["--db", f"sqlite:///{tmp_path / 'e.db'}"])
    assert done.exit_code == 4 and "cannot fit" in done.output
    url = f"sqlite:///{tmp_path / 'small.db'}"
    store = Store.open(url)
    context = ValidationContext(now=NOW, future_tolerance=timedelta(hours=1))
    assert import_path(store, SMALL, context=context).exit_code == 0
    store.dispose()
    tiny = runner.invoke(influencers_app, ["--db", url])
    assert tiny.exit_code == 4 and "too little history" in tiny.output


def test_a_bad_time_exits_2(org_db: tuple[str, set[str]]) -> None:
    url, _ = org_db
    for args in (["--as-of", "soon"], ["fairness", "--as-of", "soon"], ["fit", "--out", "x"]):
        done = runner.invoke(influencers_app, [*args, "--db", url, "--as-of", "never"])
        assert done.exit_code == 2 and "--as-of" in done.output


def test_history_records_the_scores_of_a_saved_scorer(
    org_db: tuple[str, set[str]], saved: dict
) -> None:
    from features.data.score_history import score_history

    url, opted = org_db
    args = ["history", "--db", url, "--model", str(saved["folder"]), "--as-of", AS_OF]
    args += ["--every-days", "30", "--since-days", "60"]
    done = runner.invoke(influencers_app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["model_version"].startswith("advocacy-influencers@dir-")
    points = report["points"]
    assert [p["scored_at"][:10] for p in points] == ["2026-09-27", "2026-10-27", "2026-11-26"]
    assert all(p["advocates"] > 0 for p in points)
    store = Store.open(url)
    try:
        recorded = _scores(store)
        assert recorded == sum(p["advocates"] for p in points)
        table = runner.invoke(influencers_app, args)  # again: the same days are replaced
        assert table.exit_code == 0 and "scores of advocacy-influencers@dir-" in table.output
        assert _scores(store) == recorded
        someone = store.rows("advocates", ["employee_id", "opted_out"])
        kept = next(r["employee_id"] for r in someone if not r["opted_out"])
        history = score_history(store, kept)
        assert [h.model_version for h in history] == [report["model_version"]] * 3
        assert all(score_history(store, e) == [] for e in opted)
    finally:
        store.dispose()


def _scores(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM influencer_scores").scalar_one())


def test_history_needs_a_versioned_scorer(org_db: tuple[str, set[str]], tmp_path: Path) -> None:
    url, _ = org_db
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = runner.invoke(influencers_app, ["history", "--db", url, "--tracking-uri", tracking])
    assert done.exit_code == 4 and "no champion" in done.output
    missing = runner.invoke(influencers_app, ["history", "--db", url, "--model", str(tmp_path)])
    assert missing.exit_code == 4 and "no advocacy-influencers scorer at" in missing.output
    bad = runner.invoke(influencers_app, ["history", "--db", url, "--as-of", "soon"])
    assert bad.exit_code == 2 and "--as-of" in bad.output


def _evaluate(*args: str) -> typer.testing.Result:
    app = typer.Typer()
    app.command("evaluate")(evaluate)
    app.callback()(lambda: None)
    return runner.invoke(app, ["evaluate", *args])


def test_evaluate_synthetic_influencers_json() -> None:
    args = ["synthetic-influencers", "--employees", "500", "--content", "150", "--days", "120"]
    done = _evaluate(*args, "--k", "10", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert result["protocol"]["k"] == 10 and result["protocol"]["employees"] == 500
    assert set(result["models"]) == {"influence", "leaderboard", "followers"}
    assert set(result["fairness"]["dimensions"]) == {"department", "region", "seniority"}


def test_evaluate_influence_errors_exit_2(tmp_path: Path) -> None:
    missing = _evaluate("peerindex", "--train", str(tmp_path / "none.csv"))
    assert missing.exit_code == 2 and "no file" in missing.output
    (tmp_path / "bad.csv").write_text("Choice,A_follower_count\n1,3\n")
    bad = _evaluate("peerindex", "--train", str(tmp_path / "bad.csv"))
    assert bad.exit_code == 2 and "lacks column" in bad.output
    unknown = _evaluate("nope", "--data", ".")
    assert unknown.exit_code == 2 and "peerindex" in unknown.output
