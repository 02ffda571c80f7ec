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
# with the generator of main at 5822ab6, before ``slot_effect`` existed; org_edges and
# social_accounts since the generator stores none of opted-out people (privacy rights).
BEFORE = {
    "advocates.csv": "58819f4e95022642",
    "content.csv": "e7065c73485ef9c8",
    "conversions.csv": "b5bcd91c072c3ad7",
    "ground_truth_attribution.csv": "74b57a33afed5ddc",
    "ground_truth_conversions.csv": "1881d275095430fe",
    "ground_truth_influencers.csv": "9f7c4b404c6a2f65",
    "interactions.csv": "f6b3eb72a7e26882",
    "link_clicks.csv": "34f41d54349a4294",
    "org_edges.csv": "afef54e5cbab6045",
    "share_outcomes.csv": "fa66a5202555f424",
    "social_accounts.csv": "25487ab8a70df8b6",
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


def test_the_pooled_rate_beats_the_baselines_on_a_small_organisation() -> None:
    """600 advocates, ~4,800 shares: the pooled rate's first slot and top 3 are closer to the
    planted best than the organisation's best slot and the advocate's habit (seconds)."""
    from training.evaluation.slots_synthetic import synthetic_slots

    found = synthetic_slots(employees=600, content=300, seed=0)
    models = found["models"]
    ours = models["pooled_rate"]
    for baseline in ("organisation", "habit", "random"):
        assert ours["regret@1"] < models[baseline]["regret@1"] - 0.2, baseline
        assert ours["regret@k"] < models[baseline]["regret@k"] - 0.2, baseline
        assert ours["within@1"] > models[baseline]["within@1"] + 0.1, baseline
    assert ours["regret@1"] <= models["organisation_rate"]["regret@1"]


def test_later_shares_change_nothing_before_the_cut_off() -> None:
    """Shares and outcomes after T do not reach the models: truncating the tables at T gives
    the same fitted rows."""
    from features.data.synthetic import DAY
    from training.evaluation.slots_synthetic import share_rows

    config = OrgConfig(**SMALL, slot_effect=0.4)
    tables = generate(config).tables
    cut = config.end_s - 10 * DAY
    early = dict(tables)
    events = tables["interactions"]
    early["interactions"] = events[column_seconds(events["timestamp"]) < cut]
    outcomes = tables["share_outcomes"]
    early["share_outcomes"] = outcomes[column_seconds(outcomes["measured_at"]) <= cut]
    full, groups = share_rows(tables, cut)
    truncated, same_groups = share_rows(early, cut)
    assert len(full["time"]) > 10
    for key, values in full.items():
        assert np.array_equal(values, truncated[key]), key
    assert np.array_equal(groups, same_groups)


def test_the_benchmark_cli() -> None:
    from typer.testing import CliRunner

    from training.cli import app
    from training.evaluation.slots_synthetic import MODELS

    args = ["evaluate", "synthetic-slots", "--employees", "60", "--content", "100"]
    done = CliRunner().invoke(app, [*args, "--days", "40", "--json"])
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert found["benchmark"] == "synthetic-slots"
    assert set(found["models"]) == set(MODELS)
    assert found["protocol"]["pairs"] == found["models"]["pooled_rate"]["pairs"] > 0
    table = CliRunner().invoke(app, [*args, "--days", "40"])
    assert table.exit_code == 0 and "regret@1" in table.output


def _at(slot: int) -> float:
    """A Unix time in hour-of-week ``slot`` (1970-01-05 was a Monday)."""
    return (4 * 24 + slot) * 3600.0 + 60


def test_slot_rates_pool_advocate_group_and_organisation_by_the_formula() -> None:
    from recsys.forecast.slot_rates import SlotRateModel

    # advocate 0 (group 0): two shares in slot 10 with values 3 and 1; advocate 1 (group 0):
    # one share in slot 20 with value 2; advocate 2 (group 1): nothing.
    times = [_at(10), _at(10), _at(20)]
    model = SlotRateModel(strength=2.0, smooth_hours=0).fit(times, [0, 0, 1], [0, 0, 1], [3, 1, 2])
    mean = 6 / 3
    org = np.full(N_SLOTS, mean)
    org[10] = (4 + 2 * mean) / (2 + 2)
    org[20] = (2 + 2 * mean) / (1 + 2)
    group0 = org.copy()
    group0[10] = (4 + 2 * org[10]) / (2 + 2)
    group0[20] = (2 + 2 * org[20]) / (1 + 2)
    rates = model.rates()
    expected0 = group0.copy()
    expected0[10] = (4 + 2 * group0[10]) / (2 + 2)
    assert np.allclose(rates[0], expected0)
    assert np.allclose(rates[2], org)  # a group without shares is the organisation
    assert model.networks_ == ("all",)


def test_slot_rates_smooth_over_neighbouring_hours_and_wrap_the_week() -> None:
    from recsys.forecast.slot_rates import SlotRateModel

    model = SlotRateModel(strength=1.0, smooth_hours=1)
    model.fit([_at(0), _at(100)], [0, 0], [0], [4.0, 0.0])
    counts = model.person_counts_[0].toarray()[0]
    assert np.allclose(counts[[167, 0, 1, 99, 100, 101]], [0.25, 0.5, 0.25] * 2)
    assert counts.sum() == 2.0
    rates = model.rates([0])[0]
    assert rates[0] > rates[167] == rates[1] > rates[2] == rates[50] > rates[99] > rates[100]


def test_slot_rates_split_networks_and_check_their_input() -> None:
    from recsys.forecast.slot_rates import SlotRateModel

    model = SlotRateModel(smooth_hours=0).fit(
        [_at(5), _at(9), _at(7), _at(7)],
        [0, 0, 0, 0],
        [0],
        [1.0, 3.0, 0.0, 0.0],
        networks=["x", "linkedin", "x", "linkedin"],
    )
    assert model.networks_ == ("linkedin", "x")
    assert np.argmax(model.rates([0], "linkedin")[0]) == 9
    assert np.argmax(model.rates([0], "x")[0]) == 5
    with pytest.raises(ValueError, match="network: 'xing' not fitted"):
        model.rates([0], "xing")
    with pytest.raises(ValueError, match="values: not finite"):
        SlotRateModel().fit([_at(1)], [0], [0], [float("nan")])
    with pytest.raises(ValueError, match="strength"):
        SlotRateModel(strength=0).fit([_at(1)], [0], [0], [1.0])
    with pytest.raises(ValueError, match="persons: out of range"):
        SlotRateModel().fit([_at(1)], [3], [0], [1.0])
