"""Planted time-of-week effects in the synthetic organisation and the ``synthetic-slots``
benchmark (issue 16, part 2)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from features.data.synthetic import OrgConfig, generate, write
from features.data.times import column_seconds
from recsys.forecast.slots import N_SLOTS, hour_of_week

SMALL = {"employees": 80, "content": 120, "days": 40, "seed": 7, "interactions_per_employee": 150}
# sha256 (first 16 hex digits) of every file ``write`` makes of OrgConfig(**SMALL), recorded
# with the generator of main at 5822ab6, before ``slot_effect`` existed.
BEFORE = {
    "advocates.csv": "58819f4e95022642",
    "content.csv": "e7065c73485ef9c8",
    "conversions.csv": "b5bcd91c072c3ad7",
    "ground_truth_attribution.csv": "74b57a33afed5ddc",
    "ground_truth_conversions.csv": "1881d275095430fe",
    "ground_truth_influencers.csv": "9f7c4b404c6a2f65",
    "interactions.csv": "f6b3eb72a7e26882",
    "link_clicks.csv": "34f41d54349a4294",
    "org_edges.csv": "951b9ba0c242dd11",
    "share_outcomes.csv": "fa66a5202555f424",
    "social_accounts.csv": "cfa0d2f5b2fc4ca4",
}


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in folder.iterdir()}


def test_the_default_config_writes_exactly_the_files_of_before(tmp_path: Path) -> None:
    org = generate(OrgConfig(**SMALL))
    assert org.slot_truth.empty
    write(org, tmp_path)
    assert _digests(tmp_path) == BEFORE


def test_planted_effects_change_only_the_outcomes_and_write_the_truth(tmp_path: Path) -> None:
    plain = generate(OrgConfig(**SMALL))
    planted = generate(OrgConfig(**SMALL, slot_effect=0.5))
    changed = {"share_outcomes", "link_clicks", "conversions"}  # clicks follow the outcomes
    for name, table in plain.tables.items():
        assert table.equals(planted.tables[name]) == (name not in changed), name
    assert plain.ground_truth.equals(planted.ground_truth)
    events = plain.tables["interactions"]
    shares = events[events["event_type"] == "share"]
    outcomes = planted.tables["share_outcomes"]
    assert outcomes["event_id"].equals(plain.tables["share_outcomes"]["event_id"])
    truth = planted.slot_truth
    assert list(truth.columns) == ["employee_id", "network", "slot", "multiplier"]
    pairs = shares[["employee_id", "network"]].drop_duplicates()
    assert len(truth) == len(pairs) * N_SLOTS
    assert set(map(tuple, truth[["employee_id", "network"]].to_numpy())) == set(
        map(tuple, pairs.to_numpy())
    )
    m = truth["multiplier"].to_numpy().reshape(-1, N_SLOTS)
    assert np.allclose(m.mean(axis=1), 1.0, atol=1e-4)  # a weekly mean of 1
    assert 0.3 < np.log(m).std(axis=1).mean() < 0.6  # about slot_effect
    write(planted, tmp_path)
    assert (tmp_path / "ground_truth_slots.csv").exists()
    write(plain, tmp_path / "plain")
    assert not (tmp_path / "plain" / "ground_truth_slots.csv").exists()


def test_the_multiplier_scales_the_expected_impressions() -> None:
    """Over many shares, log(impressions) moves with the log multiplier of the share's slot."""
    config = {**SMALL, "employees": 200, "interactions_per_employee": 600}
    plain, planted = generate(OrgConfig(**config)), generate(OrgConfig(**config, slot_effect=0.8))
    events = plain.tables["interactions"].set_index("event_id")
    truth = planted.slot_truth.set_index(["employee_id", "network", "slot"])["multiplier"]
    last = {}
    for org in (plain, planted):
        out = org.tables["share_outcomes"].drop_duplicates("event_id", keep="last")
        last[id(org)] = out.set_index("event_id")["impressions"]
    ids = last[id(plain)].index
    rows = events.loc[ids]
    slot = hour_of_week(column_seconds(rows["timestamp"]))
    keys = list(zip(rows["employee_id"], rows["network"], slot, strict=True))
    m = truth.loc[keys].to_numpy()
    ratio = (last[id(planted)].to_numpy() + 1) / (last[id(plain)].to_numpy() + 1)
    assert np.corrcoef(np.log(ratio), np.log(m))[0, 1] > 0.8


def test_slot_effect_is_checked() -> None:
    with pytest.raises(ValueError, match=r"OrgConfig\.slot_effect"):
        OrgConfig(slot_effect=-0.1)


def test_the_benchmark_cli() -> None:
    from typer.testing import CliRunner

    from training.cli import app

    args = ["evaluate", "synthetic-slots", "--employees", "60", "--content", "100"]
    done = CliRunner().invoke(app, [*args, "--days", "40", "--json"])
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert found["benchmark"] == "synthetic-slots"
    assert set(found["models"]) == {
        "pooled_rate", "pooled_ratio", "pooled_total", "organisation", "habit", "random",
    }  # fmt: skip
    table = CliRunner().invoke(app, [*args, "--days", "40"])
    assert table.exit_code == 0 and "regret@1" in table.output
