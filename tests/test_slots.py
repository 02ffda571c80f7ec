"""Best time to share: hour-of-week slots, partial pooling, spreading colleagues, the
``advocacy evaluate deskdrop-slots`` benchmark and the real DeskDrop figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from recsys.forecast import SlotModel, fit_strength, hour_of_week, slot_name, spread_slots
from recsys.times import DAY, HOUR
from tests.evaluate_cli import cli
from training.evaluation.slots import (
    deskdrop_slots,
    next_hits,
    paired,
    person_groups,
    window_metrics,
)

MONDAY = 4 * DAY  # 1970-01-05 00:00 UTC was a Monday


def at(slot: int, week: int = 0) -> float:
    """Unix seconds of ``slot`` (hour of the week, UTC) in week ``week`` after 1970-01-05."""
    return MONDAY + week * 7 * DAY + slot * HOUR + 600.0


def tiny() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group 0 (persons 0-3) mostly posts Monday 09:00 (slot 9), group 1 (persons 4-6) Tuesday
    14:00 (slot 38); person 0 has a long record at Wednesday 20:00 (slot 68); person 6 none."""
    rows = [(0, 68)] * 40 + [(0, 9)] * 2
    for person in (1, 2, 3):
        rows += [(person, 9)] * 5 + [(person, 10), (person, 9 + person)]
    for person in (4, 5):
        rows += [(person, 38)] * 6 + [(person, 39), (person, 40 + person)]
    times = np.array([at(slot, week=i % 5) for i, (_, slot) in enumerate(rows)])
    persons = np.array([p for p, _ in rows])
    return times, persons, np.array([0, 0, 0, 0, 1, 1, 1])


def test_hour_of_week_is_utc_monday_based() -> None:
    assert hour_of_week([0.0, MONDAY, MONDAY + 9 * HOUR + 59 * 60, MONDAY - 1]).tolist() == [
        72,  # 1970-01-01 00:00 UTC, a Thursday
        0,
        9,
        167,
    ]
    assert slot_name(9) == "Mon 09:00" and slot_name(167) == "Sun 23:00"
    with pytest.raises(ValueError, match="slot"):
        slot_name(168)


def test_pooling_group_prior_long_record_and_fitted_strengths() -> None:
    times, persons, groups = tiny()
    model = SlotModel().fit(times, persons, groups)
    assert model.networks_ == ("all",)
    assert 0 < model.group_strength_[0] < 1e5 and 0 < model.person_strength_[0] < 1e5
    scores = model.scores()
    assert scores.shape == (7, 168) and np.allclose(scores.sum(axis=1), 1.0)
    # no history: exactly the group's distribution
    np.testing.assert_allclose(scores[6], model.group_scores_[0][1])
    assert model.top_slots([6], k=1).tolist() == [[38]]
    # a long record dominates its own
    assert model.top_slots([0], k=2).tolist() == [[68, 9]]
    assert scores[0, 68] > 0.5
    # a short record borrows its group's favourite
    assert model.top_slots([1], k=1).tolist() == [[9]]
    np.testing.assert_array_equal(model.habit(), [68, 9, 9, 9, 38, 38, -1])
    lift = model.lift([0, 1, 6], k=2)
    assert lift[0, 0] == pytest.approx(0.0) and lift[0, 1] < 0
    assert np.isnan(lift[2]).all()


def test_deterministic_and_order_free() -> None:
    times, persons, groups = tiny()
    first = SlotModel().fit(times, persons, groups)
    order = np.random.default_rng(0).permutation(len(times))
    again = SlotModel().fit(times[order], persons[order], groups)
    np.testing.assert_allclose(first.scores(), again.scores(), rtol=1e-12)
    assert first.person_strength_ == pytest.approx(again.person_strength_, rel=1e-9)
    np.testing.assert_array_equal(first.top_slots(k=3), again.top_slots(k=3))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    times, persons, groups = tiny()
    networks = np.where(np.arange(len(times)) % 3, "linkedin", "x")
    model = SlotModel(half_life_days=30).fit(times, persons, groups, networks=networks)
    loaded = SlotModel.load(model.save(tmp_path / "slots"))
    assert loaded.networks_ == ("linkedin", "x") and loaded.half_life_days == 30
    for network in loaded.networks_:
        np.testing.assert_array_equal(loaded.scores(network=network), model.scores(network=network))
        for mine, theirs in zip(
            loaded.plan(k=3, network=network), model.plan(k=3, network=network), strict=True
        ):
            np.testing.assert_array_equal(mine, theirs)
    (tmp_path / "other").mkdir()
    with pytest.raises(FileNotFoundError, match="manifest"):
        SlotModel.load(tmp_path / "other")


def test_values_weight_and_networks_split() -> None:
    times = np.array([at(9), at(9), at(9), at(30), at(50), at(50)])
    persons = np.zeros(6, np.int64)
    values = np.array([1.0, 1.0, 1.0, 20.0, 1.0, 1.0])
    networks = np.array(["linkedin"] * 4 + ["x"] * 2)
    model = SlotModel().fit(times, persons, [0], values=values, networks=networks)
    assert model.networks_ == ("linkedin", "x")
    assert model.top_slots(k=1, network="linkedin").tolist() == [[30]]  # engagement wins
    assert model.habit(network="linkedin").tolist() == [30]
    assert model.top_slots(k=1, network="x").tolist() == [[50]]
    with pytest.raises(ValueError, match="network"):
        model.scores(network="tiktok")


def test_recency_decay_moves_the_habit() -> None:
    times = np.array([at(9, 0), at(9, 0), at(9, 1), at(20, 20), at(20, 21)])
    persons = np.zeros(5, np.int64)
    assert SlotModel().fit(times, persons, [0]).habit().tolist() == [9]
    decayed = SlotModel(half_life_days=7).fit(times, persons, [0])
    assert decayed.habit().tolist() == [20]


def test_fit_strength_recovers_a_known_concentration() -> None:
    rng = np.random.default_rng(1)
    base = rng.dirichlet(np.ones(20))
    counts = np.array([rng.multinomial(30, rng.dirichlet(25.0 * base)) for _ in range(400)])
    rows, cols = np.nonzero(counts)
    found = fit_strength(rows, counts[rows, cols].astype(float), base[cols], counts.sum(axis=1))
    assert 15 < found < 40
    # one event per row says nothing about the spread: full pooling
    assert fit_strength(np.arange(3), np.ones(3), np.full(3, 0.1), np.ones(3)) == 1e5


def test_bad_input_names_the_field() -> None:
    with pytest.raises(NotFittedError):
        SlotModel().scores()
    with pytest.raises(ValueError, match="persons"):
        SlotModel().fit([at(1)], [3], [0])
    with pytest.raises(ValueError, match="values"):
        SlotModel().fit([at(1)], [0], [0], values=[-1.0])
    with pytest.raises(ValueError, match="half_life_days"):
        SlotModel(half_life_days=0).fit([at(1)], [0], [0])
    with pytest.raises(ValueError, match="k"):
        SlotModel().fit([at(1)], [0], [0]).top_slots(k=0)


def test_spread_slots_keeps_colleagues_apart() -> None:
    scores = np.zeros((3, 168))
    scores[:, [9, 10, 11, 12]] = [0.4, 0.3, 0.2, 0.1]  # everyone prefers Monday morning
    scores[2, 12] = 0.5  # colleague 2 likes 12:00 most
    spread = spread_slots(scores, k=2)
    # greedy by score: 2 takes 12, 0 takes 9 and 10, 1 gets 11 then the first free slot (0)
    assert spread.tolist() == [[9, 10], [11, 0], [12, 1]]
    assert len(np.unique(spread)) == 6  # capacity 1: nobody shares an hour
    shared = spread_slots(scores, k=2, capacity=2)
    assert shared.tolist() == [[9, 10], [9, 10], [12, 11]]  # 9 and 10 full at 2
    with pytest.raises(ValueError, match="capacity"):
        spread_slots(np.zeros((100, 168)), k=2, capacity=1)
    assert spread_slots(np.zeros((100, 168)), k=2).shape == (100, 2)  # capacity 2 fits all


def test_groups_and_metrics_of_a_literal_window() -> None:
    persons = np.array([0, 0, 1, 2])
    place = np.array(["BR/SP", "US/NY", "", "BR/SP"], object)
    positions, names = person_groups(persons, place, 4)
    assert names == ["?", "BR/SP", "US/NY"]
    assert positions.tolist() == [2, 0, 1, 0]  # latest located event; person 3 has none
    top = np.array([[9, 10, 11], [30, 31, 32]])
    scored = np.array([1, 4])
    times = np.array([at(12), at(9), at(9) + 60, at(30, 1), at(40, 1), at(1)])
    who = np.array([4, 1, 1, 1, 1, 0])
    metrics = window_metrics(top, scored, times, who)
    # person 1: next event slot 9 (hit), hours 9, 30 (week 1), 40: 1 of 3 hit;
    # person 4: next slot 12, hours 12: 0 of 1
    assert metrics == {"next@k": 0.5, "hours@k": pytest.approx(1 / 6), "n": 2, "hours": 4}
    assert next_hits(top, scored, times, who).tolist() == [True, False]
    versus = paired(
        {name: [np.array([True, False])] for name in ("pooled", "own")}
        | {"organisation": [np.array([False, True])], "own_then_org": [np.array([True, True])]}
    )
    assert versus["organisation"]["pooled_only"] == versus["organisation"]["baseline_only"] == 1
    assert versus["own"] == {"pooled_only": 0, "baseline_only": 0, "sign_test_p": 1.0}


def random_events(persons: int = 60, seed: int = 0) -> pd.DataFrame:
    """Random DeskDrop-like events over 2016-03-01 .. 2016-09-30, each person with a habit."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2016-03-01", tz="UTC").timestamp()
    rows = []
    for person in range(persons):
        country, region = [("BR", "SP"), ("BR", "MG"), ("US", "NY"), ("", "")][person % 4]
        favourite = rng.integers(0, 168, 2)
        days = rng.uniform(0, 214, rng.poisson(40))
        slots = np.where(rng.random(len(days)) < 0.6, rng.choice(favourite, len(days)), 0)
        for day, slot in zip(days, slots, strict=True):
            moment = start + np.floor(day / 7) * 7 * DAY + (slot or rng.integers(0, 168)) * HOUR
            rows.append((int(moment), person, country, region))
    return pd.DataFrame(rows, columns=["timestamp", "personId", "userCountry", "userRegion"])


def test_benchmark_shape_and_no_leakage() -> None:
    events = random_events()
    windows = ["2016-05-01", "2016-06-01", "2016-07-01"]
    result = deskdrop_slots(events, windows)
    assert set(result["models"]) == {"pooled", "organisation", "own", "own_then_org"}
    for name, entry in result["models"].items():
        extra = {"versus"} if name == "pooled" else set()
        assert set(entry) == {"next@k", "hours@k", "windows"} | extra
        assert len(entry["windows"]) == 3
        for window in entry["windows"].values():
            assert set(window) == {"next@k", "hours@k", "n", "hours"}
            assert window["n"] > 20
    json.dumps(result, allow_nan=False)
    assert result["models"]["pooled"]["hours@k"] > result["models"]["organisation"]["hours@k"]
    # the last window's labels end 2016-07-31: later rows and the row order change nothing
    end = pd.Timestamp("2016-07-31", tz="UTC").timestamp()
    again = deskdrop_slots(
        events[events["timestamp"] < end].sample(frac=1, random_state=0), windows
    )
    assert again["models"] == result["models"]
    assert again["protocol"]["fitted"] == result["protocol"]["fitted"]
    with pytest.raises(ValueError, match="group"):
        deskdrop_slots(events, windows, group="team")
    first = deskdrop_slots(events, ["2016-01-01"])
    assert first["protocol"]["skipped_windows"] and not first["models"]["pooled"]["windows"]
    assert first["models"]["pooled"]["versus"]["own"]["pooled_only"] == 0


def test_cli_json_table_and_errors(tmp_path: Path) -> None:
    frame = random_events().assign(eventType="VIEW", contentId=1, sessionId=1)
    frame.to_csv(tmp_path / "users_interactions.csv", index=False)
    args = ["deskdrop-slots", "--data", str(tmp_path), "--windows", "2016-05-01,2016-06-01"]
    done = cli(*args, "--json", "--k", "5", "--group", "country")
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert result["protocol"]["k"] == 5 and result["protocol"]["group"] == "country"
    assert set(result["models"]["pooled"]["windows"]) == {
        "2016-05-01T00:00:00+00:00",
        "2016-06-01T00:00:00+00:00",
    }
    table = cli(*args)
    assert table.exit_code == 0 and "own_then_org" in table.output and "next@3" in table.output
    assert "pooled vs organisation" in table.output and "sign test" in table.output
    assert cli("deskdrop-slots").exit_code == 2
    assert cli("deskdrop-slots", "--data", str(tmp_path / "nope")).exit_code == 2
    bad = cli(*args, "--group", "team")
    assert bad.exit_code == 2 and "group" in bad.output


def test_deskdrop_slots_real(shared_data: Path) -> None:
    """The measured figures on the real DeskDrop log (docs/share_slots.md)."""
    from training.evaluation.slots import read_slot_events

    result = deskdrop_slots(read_slot_events(shared_data / "deskdrop"))
    models = result["models"]
    windows = list(models["pooled"]["windows"])
    assert [w[:7] for w in windows] == [f"2016-{m:02d}" for m in range(4, 13)]
    for window in windows:
        pooled, org, own = (models[m]["windows"][window] for m in ("pooled", "organisation", "own"))
        assert pooled["n"] == org["n"] == own["n"] > 150
        assert pooled["hours@k"] >= org["hours@k"] and pooled["hours@k"] > own["hours@k"]
    assert models["pooled"]["next@k"] == pytest.approx(0.0903, abs=0.002)
    assert models["pooled"]["hours@k"] == pytest.approx(0.0829, abs=0.002)
    for baseline in ("organisation", "own", "own_then_org"):
        assert models["pooled"]["next@k"] > models[baseline]["next@k"]
        assert models["pooled"]["hours@k"] > models[baseline]["hours@k"] + 0.008
    versus = models["pooled"]["versus"]["organisation"]
    assert versus["pooled_only"] > versus["baseline_only"] and versus["sign_test_p"] < 0.05
