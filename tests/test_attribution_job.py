"""Attributing the small store's conversions: credits per model, roll-ups, privacy, the
stored credits and runs, and ``advocacy attribution`` through typer's CliRunner."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from features.data import schema
from features.data.importer import import_path
from features.data.store import Store
from features.data.validation import ValidationContext
from training.attribution_job import (
    AttributionRequest,
    AttributionRequestError,
    attribute,
    save_credits,
)
from training.commands.attribution import attribution

SMALL = Path(__file__).parent / "fixtures" / "contract_small"
START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
runner = CliRunner()


def _request(model: str, **options: object) -> AttributionRequest:
    return AttributionRequest(model=model, start=START, end=END, **options)  # type: ignore[arg-type]


@pytest.fixture
def small(store: Store, context: ValidationContext) -> Store:
    import_path(store, SMALL, context=context)
    return store


def _conversions(result, attribute_name: str) -> dict[str, float]:
    return {r[attribute_name]: r["conversions"] for r in result.roll_up(attribute_name)}


def test_rule_based_credit_rolls_up(small: Store) -> None:
    # q1 (500 EUR): v1 clicked e2 (ana, linkedin, article) then e4 (ben, x, job); q2 has no path
    last = attribute(small, _request("last_touch"))
    assert _conversions(last, "advocate") == {"ben": 1.0}
    assert _conversions(last, "network") == {"x": 1.0}
    linear = attribute(small, _request("linear"))
    assert _conversions(linear, "advocate") == {"ana": 0.5, "ben": 0.5}
    assert linear.roll_up("content_type")[0]["value"] == {"EUR": 250.0}
    totals = linear.totals()
    assert (totals["conversions"], totals["attributed"], totals["unattributed"]) == (2, 1, 1)
    assert totals["attributed_value"] == {"EUR": 500.0}


def test_opted_out_advocates_are_hidden_and_small_departments_suppressed(small: Store) -> None:
    result = attribute(small, _request("linear"))
    rows = result.roll_up("advocate", hidden=frozenset({"ana"}))
    assert [r["advocate"] for r in rows] == ["ben"]
    departments = result.roll_up("department", min_group_size=2)
    assert all(r["suppressed"] and r["conversions"] is None for r in departments)
    assert result.to_dict(("advocate",), top=None, hidden=frozenset({"ben"}), min_group_size=5)[
        "by"
    ]["advocate"] == [{"advocate": "ana", "conversions": 0.5, "value": {"EUR": 250.0}}]


def test_credits_and_run_are_stored(small: Store) -> None:
    written = save_credits(small, attribute(small, _request("linear")))
    assert written == 2
    with small.engine.connect() as conn:
        rows = (
            conn.execute(sa.select(schema.attribution_credits).order_by("share_event_id"))
            .mappings()
            .all()
        )
        run = conn.execute(sa.select(schema.attribution_runs)).mappings().one()
    assert [(r["share_event_id"], r["credit"], r["value"], r["currency"]) for r in rows] == [
        ("e2", 0.5, 250.0, "EUR"),
        ("e4", 0.5, 250.0, "EUR"),
    ]
    assert rows[0]["converted_at"] == datetime(2026, 10, 4, 9, 0)
    assert (run["model"], run["conversions"], run["unattributed"]) == ("linear", 2, 1)
    save_credits(small, attribute(small, _request("linear")))  # a re-run replaces, not adds
    with small.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(schema.attribution_credits))
        assert count.scalar_one() == 2


def test_data_driven_models_run_on_the_store(small: Store) -> None:
    for model in ("markov", "shapley"):
        result = attribute(small, _request(model))
        assert sum(_conversions(result, "advocate").values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"model": "nope"}, "model"),
        ({"model": "linear", "channel": "planet"}, "channel"),
        ({"model": "linear", "lookback_days": 0}, "lookback_days"),
        ({"model": "linear", "start": END, "end": START}, "end"),
    ],
)
def test_bad_requests_name_the_field(options: dict, field: str) -> None:
    with pytest.raises(AttributionRequestError) as caught:
        AttributionRequest(**options)
    assert caught.value.field == field


def test_bad_model_parameter_names_it(small: Store) -> None:
    with pytest.raises(AttributionRequestError) as caught:
        attribute(small, _request("time_decay", params={"half_life_days": -1}))
    assert caught.value.field == "params.half_life_days"


def _cli(*args: str):
    app = typer.Typer()
    app.command()(attribution)
    return runner.invoke(app, list(args))


def test_cli_json_csv_and_errors(sqlite_store: Store, context: ValidationContext) -> None:
    import_path(sqlite_store, SMALL, context=context)
    url = sqlite_store.url
    window = ["--from", "2026-10-01", "--to", "2026-11-01", "--db", url]
    done = _cli("--model", "linear", "--json", *window)
    assert done.exit_code == 0, done.output
    payload = json.loads(done.output)
    assert payload["totals"]["attributed"] == 1
    assert {r["advocate"] for r in payload["by"]["advocate"]} == {"ana", "ben"}
    done = _cli("--model", "last_touch", "--csv", "--by", "network", "--no-save", *window)
    assert done.exit_code == 0, done.output
    assert list(csv.reader(io.StringIO(done.output))) == [
        ["breakdown", "key", "conversions", "value_EUR"],
        ["network", "x", "1.0", "500.0"],
    ]
    assert _cli("--model", "linear", *window).exit_code == 0  # the table
    bad = _cli("--model", "nope", *window)
    assert bad.exit_code == 2 and "--model" in bad.output
    bad = _cli("--by", "planet", *window)
    assert bad.exit_code == 2 and "--by" in bad.output
    bad = _cli("--from", "yesterday-ish", "--db", url)
    assert bad.exit_code == 2 and "--from" in bad.output


def test_current_credits_recompute_only_when_the_data_changed(small: Store) -> None:
    from training.attribution_job import current_credits

    assert current_credits(small, "linear") is True
    assert current_credits(small, "linear") is False  # same data, same settings
    assert current_credits(small, "linear", lookback_days=10) is True
    small.write(
        "conversions",
        [{"conversion_id": "q3", "visitor_id": "v2", "timestamp": datetime(2026, 10, 6),
          "kind": "lead"}],
    )  # fmt: skip
    assert current_credits(small, "linear", lookback_days=10) is True
    with small.engine.connect() as conn:
        stored = conn.execute(
            sa.select(schema.attribution_credits.c.conversion_id).distinct()
        ).scalars()
        assert sorted(stored) == ["q1", "q3"]


def test_shares_of_opted_out_advocates_are_not_listed(small: Store) -> None:
    result = attribute(small, _request("linear"))
    assert {r["share"] for r in result.roll_up("share")} == {"e2", "e4"}
    # e4 was shared by ben: hidden with him; e2 (ana's) stays, and the network rows stay
    assert [r["share"] for r in result.roll_up("share", hidden=frozenset({"ben"}))] == ["e2"]
    payload = result.to_dict(("share", "network"), top=None, hidden=frozenset({"ben"}),
                             min_group_size=5)  # fmt: skip
    assert [r["share"] for r in payload["by"]["share"]] == ["e2"]
    assert {r["network"] for r in payload["by"]["network"]} == {"linkedin", "x"}
