"""Screening decisions in the store (SQLite and PostgreSQL): screened on import, held content
kept out of feeds until released, a manager's decisions, the append-only audit log, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from features.data import schema
from features.data.store import Store
from features.feed_catalogue import load_feed_data
from features.screening.policy import parse_policy
from features.screening.records import (
    ScreeningDecisionError,
    audit_log,
    decide,
    records,
    screen_pending,
    statuses,
)
from recsys.feed_arrays import Employee
from recsys.ids import IdMap, UnknownIdError
from recsys.policy import Rule, explain_ineligible
from tests.test_serving_data import write_table
from training.cli import app

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
POLICY = parse_policy(
    {
        "terms": {"block": ["guaranteed returns"], "hold": ["lawsuit"]},
        "personal_data": {"kinds": ["email", "phone"]},
    }
)


def _content(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "content_id": content_id,
                "title": title,
                "body": body,
                "content_type": "article",
                "language": "en",
                "published_at": "2026-11-20T09:00:00Z",
                "approval_status": "approved",
            }
            for content_id, title, body in rows
        ]
    )


CLEAN = ("c-clean", "We are hiring", "Join the data team in Lisbon.")
HELD = ("c-held", "A lawsuit explained", "What it means for customers.")
BLOCKED = ("c-blocked", "Guaranteed returns", "For everyone who shares.")
PERSONAL = ("c-personal", "Contact us", "Mail jane.doe@example.com for details.")


@pytest.fixture
def screened(store: Store) -> Store:
    write_table(store, "content", _content(CLEAN, HELD, BLOCKED, PERSONAL))
    done = screen_pending(store, POLICY, now=NOW)
    assert done.screened == 4
    return store


def test_each_item_gets_a_decision_and_an_audit_row(screened: Store) -> None:
    assert statuses(screened) == {
        "c-clean": "passed",
        "c-held": "held",
        "c-blocked": "blocked",
        "c-personal": "held",
    }
    held = {r.content_id: r for r in records(screened, status="held")}
    assert held["c-personal"].findings[0]["excerpt"] == "j*******@example.com"
    assert "jane.doe" not in json.dumps([r.findings for r in records(screened)])
    assert held["c-held"].reason == "terms: lawsuit" and held["c-held"].decided_by == "screen"
    log = audit_log(screened)
    assert [e["action"] for e in log] == ["screened"] * 4
    assert all(e["actor"] == "screen" and e["status_before"] is None for e in log)


def test_nothing_is_screened_twice_until_the_text_or_the_policy_changes(screened: Store) -> None:
    assert screen_pending(screened, POLICY, now=NOW).screened == 0
    write_table(screened, "content", _content(("c-clean", "We are hiring", "A lawsuit too.")))
    again = screen_pending(screened, POLICY, now=NOW)
    assert (again.screened, again.by_status) == (1, {"held": 1})
    stricter = parse_policy({"terms": {"block": ["hiring"]}})
    assert screen_pending(screened, stricter, now=NOW).by_status == {"blocked": 1, "passed": 3}


def test_a_manager_releases_held_content_and_blocks_any(screened: Store) -> None:
    released = decide(screened, "c-held", "release", by="pm@corp", reason="fine in context")
    assert (released.status, released.decided_by) == ("released", "pm@corp")
    decide(screened, "c-clean", "block", by="pm@corp", reason="off brand")
    assert statuses(screened)["c-clean"] == "blocked"
    last = audit_log(screened, "c-held")[-1]
    assert (last["action"], last["status_before"], last["status_after"]) == (
        "release", "held", "released",
    )  # fmt: skip
    assert last["actor"] == "pm@corp" and last["reason"] == "fine in context"
    # a manager's decision stands when only the policy changes, not when the text does
    assert screen_pending(screened, parse_policy({}), now=NOW).by_status == {"passed": 2}
    assert statuses(screened)["c-held"] == "released"
    write_table(screened, "content", _content(("c-held", "A lawsuit, updated", "New text.")))
    screen_pending(screened, POLICY, now=NOW)
    assert statuses(screened)["c-held"] == "held"


@pytest.mark.parametrize(
    ("content_id", "decision", "by", "reason", "field"),
    [
        ("", "release", "pm", "ok", "content_id"),
        ("c-held", "approve", "pm", "ok", "decision"),
        ("c-held", "release", " ", "ok", "by"),
        ("c-held", "release", "screen", "ok", "by"),
        ("c-held", "release", "pm", "", "reason"),
        ("c-clean", "release", "pm", "ok", "decision"),  # only held content is released
    ],
)
def test_bad_decisions_name_the_field(
    screened: Store, content_id: str, decision: str, by: str, reason: str, field: str
) -> None:
    with pytest.raises(ScreeningDecisionError) as caught:
        decide(screened, content_id, decision, by=by, reason=reason)
    assert caught.value.field == field


def test_an_unknown_item_cannot_be_decided(screened: Store) -> None:
    with pytest.raises(UnknownIdError):
        decide(screened, "c-nowhere", "block", by="pm", reason="x")


def test_the_audit_log_is_append_only(screened: Store) -> None:
    audit = schema.screening_audit
    for statement in (
        audit.update().values(reason="rewritten"),
        audit.delete(),
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            screened.engine.begin() as conn,
        ):
            conn.execute(statement)
    assert len(audit_log(screened)) == 4


def test_held_and_blocked_content_is_not_in_the_catalogue(screened: Store) -> None:
    items = IdMap.from_ids([c for c, _, _ in (CLEAN, HELD, BLOCKED, PERSONAL)], "content")
    data = load_feed_data(screened, items, NOW, policy=POLICY)
    live = data.catalogue.live(NOW.timestamp())
    assert live.tolist() == [True, False, False, False]
    rules = explain_ineligible(data.catalogue, Employee(), [0, 1, 2], NOW.timestamp())
    assert rules == [None, Rule.HELD, Rule.HELD]
    decide(screened, "c-held", "release", by="pm", reason="ok")
    data = load_feed_data(screened, items, NOW, policy=POLICY)
    assert data.catalogue.live(NOW.timestamp()).tolist() == [True, True, False, False]


def test_content_imported_later_is_screened_before_a_feed_reads_it(store: Store) -> None:
    write_table(store, "content", _content(CLEAN, BLOCKED))
    items = IdMap.from_ids(["c-clean", "c-blocked"], "content")
    data = load_feed_data(store, items, NOW, policy=POLICY)  # screens what is pending
    assert data.catalogue.live(NOW.timestamp()).tolist() == [True, False]


def test_the_cli_imports_screens_queues_releases_and_audits(tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    folder.mkdir()
    _content(CLEAN, HELD, PERSONAL).to_csv(folder / "content.csv", index=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text("terms: {hold: [lawsuit]}\npersonal_data: {kinds: [email]}\n")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    done = runner.invoke(
        app, ["data", "import", str(folder), "--db", db, "--policy", str(policy), "--json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["screening"] == {"held": 2, "passed": 1}
    queue = runner.invoke(app, ["screening", "queue", "--db", db, "--json"])
    assert sorted(r["content_id"] for r in json.loads(queue.stdout)) == ["c-held", "c-personal"]
    release = ["screening", "release", "c-held", "--by", "pm", "--reason", "ok", "--db", db]
    assert runner.invoke(app, release).exit_code == 0
    again = runner.invoke(app, release)
    assert again.exit_code == 2 and "only held content" in again.output
    audit = runner.invoke(app, ["screening", "audit", "c-held", "--db", db, "--json"])
    assert [e["action"] for e in json.loads(audit.stdout)] == ["screened", "release"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("tone: {threshold: 3}\n")
    refused = runner.invoke(app, ["data", "import", str(folder), "--db", db, "--policy", str(bad)])
    assert refused.exit_code == 2 and "tone.threshold" in refused.output
