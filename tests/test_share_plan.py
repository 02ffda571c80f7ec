"""Saving and loading the best-time-to-share models: ``SlotRateModel.save/load`` and the
``SharePlanModel`` bundle (activity + rates + employee ids) that ``advocacy-slots`` ships."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from recsys.forecast import SlotModel, SlotRateModel
from recsys.forecast.share_plan import SharePlanModel, load_slot_models
from tests.test_slots import at, tiny


def rate_fit() -> SlotRateModel:
    """Shares on two networks: person 0 does well at slot 9, person 2 at slot 40."""
    times = [at(9), at(9, 1), at(30), at(40), at(40, 1), at(9), at(100)]
    persons = [0, 0, 0, 2, 2, 1, 1]
    values = [3.0, 2.0, 0.5, 4.0, 1.0, 1.0, 0.2]
    networks = ["linkedin", "linkedin", "x", "linkedin", "x", "x", "linkedin"]
    return SlotRateModel(strength=2.0, smooth_hours=1).fit(
        times, persons, [0, 0, 1], values, networks
    )


def test_slot_rate_model_round_trip(tmp_path: Path) -> None:
    model = rate_fit()
    loaded = SlotRateModel.load(model.save(tmp_path / "rates"))
    assert loaded.get_params() == model.get_params()
    assert loaded.networks_ == ("linkedin", "x")
    for network in loaded.networks_:
        np.testing.assert_array_equal(loaded.rates(network=network), model.rates(network=network))
        np.testing.assert_array_equal(
            loaded.rates([2, 0], network=network), model.rates([2, 0], network=network)
        )
    np.testing.assert_array_equal(loaded.org_rates_[0], model.org_rates_[0])
    stored = np.load(tmp_path / "rates" / "arrays.npz", allow_pickle=False)
    assert all(stored[name].dtype != object for name in stored.files)  # no pickle


def test_slot_rate_model_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        SlotRateModel().save(tmp_path / "unfitted")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"manifest\.json is missing"):
        SlotRateModel.load(tmp_path / "empty")
    slots = SlotModel().fit(*tiny()).save(tmp_path / "slots")
    with pytest.raises(ValueError, match="'slot_model' is not a slot rate model"):
        SlotRateModel.load(slots)
    saved = rate_fit().save(tmp_path / "rates")
    manifest = json.loads((saved / "manifest.json").read_text())
    (saved / "manifest.json").write_text(json.dumps(manifest | {"format_version": 99}))
    with pytest.raises(ValueError, match="unsupported format_version 99"):
        SlotRateModel.load(saved)
    (saved / "manifest.json").write_text(json.dumps(manifest | {"networks": ["linkedin"]}))
    with pytest.raises(ValueError, match="group_rates of shape"):
        SlotRateModel.load(saved)
    (saved / "manifest.json").write_text(json.dumps(manifest))
    (saved / "arrays.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"arrays\.npz is missing"):
        SlotRateModel.load(saved)


def bundle() -> SharePlanModel:
    times, persons, groups = tiny()
    networks = np.where(np.arange(len(times)) % 3, "linkedin", "x")
    activity = SlotModel().fit(
        np.concatenate([times, times]),
        np.concatenate([persons, persons]),
        groups,
        networks=np.concatenate([np.full(len(times), "all"), networks]),
    )
    rates = SlotRateModel(strength=2.0, smooth_hours=1).fit(
        times[:10], persons[:10], groups, np.linspace(0.5, 2.0, 10), networks[:10]
    )
    ids = [f"e{i}" for i in range(len(groups))]
    return SharePlanModel(
        activity, rates, ids, ["north", "south"], training={"cut_off": "2026-11-01"}
    )


def test_share_plan_bundle_round_trip(tmp_path: Path) -> None:
    model = bundle()
    folder = model.save(tmp_path / "slots")
    assert sorted(p.name for p in folder.iterdir()) == [
        "activity",
        "arrays.npz",
        "manifest.json",
        "rates",
    ]
    loaded = SharePlanModel.load(folder)
    activity, rates = load_slot_models(folder)
    assert isinstance(activity, SlotModel) and isinstance(rates, SlotRateModel)
    assert loaded.networks == ("all", "linkedin", "x") and loaded.groups == ("north", "south")
    assert loaded.training == {"cut_off": "2026-11-01"} and loaded.group_by == "department"
    ids = ["e0", "e6", "nobody", "e4"]
    np.testing.assert_array_equal(loaded.positions(ids), [0, 6, -1, 4])
    for network in (None, "linkedin", "x", "facebook"):
        mine, theirs = loaded.plan(ids, 3, network), model.plan(ids, 3, network)
        for field in ("slots", "lift", "habit", "rate", "known"):
            np.testing.assert_array_equal(getattr(mine, field), getattr(theirs, field))
    plan = loaded.plan(ids, 3, "linkedin")
    np.testing.assert_array_equal(plan.known, [True, True, False, True])
    assert plan.slots[0, 0] == 68 and plan.habit[0] == 68  # person 0's long record
    assert plan.habit[2] == -1 and np.isnan(plan.lift[2]).all()  # unknown: organisation level
    assert np.isfinite(plan.rate).all()
    assert np.isnan(loaded.plan(ids, 3, None).rate).all()  # rates are per network
    np.testing.assert_array_equal(loaded.slot_rates(["nobody"], "x")[0], loaded.rates.org_rates_[1])


def test_share_plan_without_rates_and_bad_folders(tmp_path: Path) -> None:
    model = bundle()
    alone = SharePlanModel(model.activity, None, model.employee_ids, model.groups)
    folder = alone.save(tmp_path / "alone")
    assert not (folder / "rates").exists()
    assert load_slot_models(folder)[1] is None
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no share plan model"):
        SharePlanModel.load(tmp_path / "empty")
    with pytest.raises(ValueError, match="is not a share plan model"):
        SharePlanModel.load(folder / "activity")
    (folder / "activity" / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match="no slot model"):
        SharePlanModel.load(folder)
    with pytest.raises(ValueError, match="employee_ids: 2 ids"):
        SharePlanModel(model.activity, None, ["a", "b"], model.groups)
