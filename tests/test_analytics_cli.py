"""``advocacy data import`` keeps the program rollups current, and ``advocacy analytics``
prints the report (table, JSON, CSV) or names the bad option."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from features.data import schema
from features.data.store import Store
from features.data.validation import ValidationContext
from training.commands.analytics import analytics
from training.commands.data import import_and_refresh

SMALL = Path(__file__).parent / "fixtures" / "contract_small"
WINDOW = ["--from", "2026-10-01", "--to", "2026-11-01"]
runner = CliRunner()


def _cli(url: str, *args: str):
    app = typer.Typer()
    app.command()(analytics)
    return runner.invoke(app, [*args, "--db", url])


def test_import_refreshes_the_rollups(store: Store, context: ValidationContext) -> None:
    payload = import_and_refresh(store, SMALL, context=context)
    assert payload["exit_code"] == 0 and payload["rollups_seconds"] >= 0
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(schema.share_facts)).mappings().all()
    facts = {r["event_id"]: r for r in rows}
    assert set(facts) == {"e2", "e4"}
    # e2: latest measurement 1200 impressions; ana had 2400 linkedin followers at share time;
    # two tracked clicks (k1, k3)
    assert (facts["e2"]["impressions"], facts["e2"]["followers"]) == (1200, 2400)
    assert facts["e2"]["link_clicks"] == 2


def test_analytics_json_csv_and_table(sqlite_store: Store, context: ValidationContext) -> None:
    import_and_refresh(sqlite_store, SMALL, context=context)
    url = sqlite_store.url
    done = _cli(url, *WINDOW, "--by", "network", "--model", "linear", "--min-group-size", "0",
                "--json")  # fmt: skip
    assert done.exit_code == 0, done.output
    report = json.loads(done.output[done.output.index("{") :])
    assert report["totals"]["figures"]["shares"] == 2
    assert report["totals"]["figures"]["conversions"] == 1.0  # q1, credited half to e2 and e4
    assert {r["key"]["network"] for r in report["rows"]} == {"linkedin", "x"}
    assert report["emv"]["rates_are_examples"] is True
    done = _cli(url, *WINDOW, "--by", "network", "--min-group-size", "0", "--model", "linear",
                "--csv")  # fmt: skip
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(done.output)))
    assert sorted(r["network"] for r in rows) == ["", "linkedin", "x"]  # "": the totals row
    table = _cli(url, *WINDOW, "--by", "department", "--model", "linear")
    assert table.exit_code == 0, table.output
    assert "suppressed" in table.output and "EMV rates are the shipped examples" in table.output


def test_analytics_errors_name_the_option(sqlite_store: Store, tmp_path: Path) -> None:
    url = sqlite_store.url
    bad = _cli(url, *WINDOW, "--by", "planet")
    assert bad.exit_code == 2 and "--by" in bad.output
    bad = _cli(url, "--from", "2026-11-01", "--to", "2026-10-01")
    assert bad.exit_code == 2 and "--to" in bad.output
    bad = _cli(url, *WINDOW, "--filter", "department")
    assert bad.exit_code == 2 and "--filter" in bad.output
    bad = _cli(url, *WINDOW, "--model", "nope")
    assert bad.exit_code == 2 and "--model" in bad.output
    config = tmp_path / "emv.yaml"
    config.write_text("networks:\n  linkedin:\n    cpm: -3\n    cpc: 1\n"
                      "    reaction_multiplier: 1\n    currency: EUR\n")  # fmt: skip
    bad = _cli(url, *WINDOW, "--emv-config", str(config))
    assert bad.exit_code == 2 and "networks.linkedin.cpm" in bad.output
    assert json.loads(_cli(url, *WINDOW, "--json", "--model", "linear").output or "{}").get(
        "totals"
    )  # an empty store answers zeros
