"""Hybrid: the contract (with and without features), live trends, save/load, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.models import MODELS
from recsys.models.hybrid import Hybrid
from tests.recsys_contract import DAY, RecommenderContract, tiny_dataset

SMALL = {"taste__no_components": 8, "taste__epochs": 5}


def _with_features(dataset: Dataset) -> Dataset:
    """``dataset`` plus 4-d content embeddings and a department per employee."""
    rng = np.random.default_rng(0)
    items = [str(c) for c in dataset.items.external]
    embeddings = FeatureMatrix(
        rng.normal(size=(len(items), 4)),
        tuple(f"emb_{j}" for j in range(4)),
        IdMap.from_ids(items, "content"),
    )
    users = [str(u) for u in dataset.users.external]
    departments = sp.csr_matrix(np.eye(2, dtype=np.float32)[[j % 2 for j in range(len(users))]])
    profile = FeatureMatrix(
        departments, ("department=sales", "department=eng"), IdMap.from_ids(users, "employee")
    )
    return Dataset(
        dataset.users,
        dataset.items,
        dataset.interactions,
        user_features=profile,
        item_features=embeddings,
        item_times=dataset.item_times,
    )


class TestHybridContract(RecommenderContract):
    def make_model(self) -> Hybrid:
        return Hybrid().set_params(**SMALL)


class TestHybridWithFeaturesContract(RecommenderContract):
    def make_model(self) -> Hybrid:
        return Hybrid().set_params(**SMALL)

    def dataset(self) -> Dataset:
        return _with_features(tiny_dataset())


def trend_dataset() -> Dataset:
    """30 employees, 10 items (item k published on day k, then touched by most employees
    within the day), plus ``quiet`` (day 5, one event): following the trend pays."""
    rng = np.random.default_rng(1)
    users, items, times = [], [], []
    for k in range(10):
        for u in rng.choice(30, size=18, replace=False):
            users.append(f"u{u}")
            items.append(f"i{k}")
            times.append(int(k * DAY + rng.uniform(0.05, 0.9) * DAY))
    users.append("u0")
    items.append("quiet")
    times.append(int(5.5 * DAY))
    order = np.argsort(times, kind="stable")
    users = [users[j] for j in order]
    items = [items[j] for j in order]
    times = [times[j] for j in order]
    catalogue = IdMap.from_ids([f"i{k}" for k in range(10)] + ["quiet"], "content")
    return Dataset.from_events(
        users,
        items,
        times=times,
        items=catalogue,
        item_times=np.asarray([k * DAY for k in range(10)] + [5 * DAY], np.int64),
    )


def test_registered() -> None:
    assert MODELS["hybrid"] is Hybrid


def test_a_live_burst_ranks_first_for_everyone_without_refit() -> None:
    model = (
        Hybrid().set_params(**SMALL, global_trend_short__half_life_days=0.25).fit(trend_dataset())
    )
    now = 10.5 * DAY
    employees = [f"u{u}" for u in range(20, 30)] + ["new-hire"]
    ids, _ = model.recommend(employees, 1, as_of=now)
    assert not all(row[0] == "quiet" for row in ids)
    fans = [f"u{u}" for u in range(1, 20)]
    model.observe(fans, ["quiet"] * len(fans), np.linspace(10.1, 10.4, len(fans)) * DAY)
    ids, _ = model.recommend(employees, 1, as_of=now)
    assert [row[0] for row in ids] == ["quiet"] * len(employees)


def test_components_and_contributions_add_up() -> None:
    model = Hybrid().set_params(**SMALL).fit(_with_features(tiny_dataset()))
    users, items = np.asarray([0, 1, -1]), np.arange(5)
    parts = model.components(users, items, 7 * DAY)
    assert set(parts) == {
        "taste",
        "affinity",
        "global_trend_short",
        "global_trend_long",
        "department_trend",
        "colleague_trend",
        "ease",
        "item_prior",
        "freshness",
    }
    total = sum(model.contributions(users, items, 7 * DAY).values()) + model.intercept_
    # ranking folds the weights into float32 blocks: equal up to float32 rounding
    np.testing.assert_allclose(total, model._score(users, items, 7 * DAY), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("items", [[0, 1, 2, 3, 4], [3], [4, 0, 2], [1, 1, 3]])
def test_folded_scores_equal_the_components_live(items: list[int]) -> None:
    """Whole catalogue, small subsets (gathered rows), unsorted and repeated items, and
    again after live events and new content: the folded scorer stays exact."""
    model = Hybrid().set_params(**SMALL).fit(_with_features(trend_dataset()))
    users = np.asarray([0, 3, -1])
    for step in range(3):
        as_of = (10.5 + step) * DAY
        chosen = np.asarray([*items, len(model.items_) - 1], np.int64)  # + the newest (cold)
        total = sum(model.contributions(users, chosen, as_of).values()) + model.intercept_
        np.testing.assert_allclose(total, model._score(users, chosen, as_of), rtol=1e-5, atol=1e-5)
        model.observe(["u1", "u2", "u3"], ["i1", "quiet", "quiet"], [as_of] * 3)
        model.add_items([f"new{step}"], times=[as_of])


def test_one_employee_contributions_equal_the_batch_rows() -> None:
    """A feed's reasons take one employee's contributions from standardised whole rows kept
    per time; they equal that employee's row of a batch, before and after live events and
    new content (the kept rows are dropped with the other live caches)."""
    model = Hybrid().set_params(**SMALL).fit(_with_features(trend_dataset()))
    users = np.asarray([0, 3, -1])
    for step in range(3):
        as_of = (10.5 + step) * DAY
        items = np.asarray([4, 0, 2, 2, len(model.items_) - 1], np.int64)
        batch = model.contributions(users, items, as_of)
        for row, user in enumerate(users):
            one = model.contributions(np.asarray([user]), items, as_of)
            assert one.keys() == batch.keys()
            for name, values in one.items():
                np.testing.assert_allclose(values[0], batch[name][row], rtol=1e-12, err_msg=name)
        model.observe(["u1", "u2", "u3"], ["i1", "quiet", "quiet"], [as_of] * 3)
        model.add_items([f"new{step}"], times=[as_of])


def test_save_load_keeps_rankings_and_live_state(tmp_path: Path) -> None:
    model = Hybrid().set_params(**SMALL).fit(_with_features(trend_dataset()))
    model.save(tmp_path / "m")
    loaded = Hybrid.load(tmp_path / "m")
    for m in (model, loaded):
        m.add_items(["fresh"], times=[10 * DAY])
        m.observe(["u1", "u2", "hire"], ["fresh", "quiet", "fresh"], [10.2 * DAY] * 3)
    people = [f"u{u}" for u in range(30)] + ["hire", "stranger"]
    before = model.recommend(people, 5, as_of=10.5 * DAY)
    after = loaded.recommend(people, 5, as_of=10.5 * DAY)
    for a, b in zip(before[0], after[0], strict=True):
        assert a.tolist() == b.tolist()
    for a, b in zip(before[1], after[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_array_equal(model.coef_, loaded.coef_)


def test_deterministic_weights() -> None:
    first = Hybrid().set_params(**SMALL).fit(trend_dataset())
    second = Hybrid().set_params(**SMALL).fit(trend_dataset())
    np.testing.assert_array_equal(first.coef_, second.coef_)
    assert first.validation_examples_ > 0
    people = [f"u{u}" for u in range(30)]
    assert [r.tolist() for r in first.recommend(people, 5)[0]] == [
        r.tolist() for r in second.recommend(people, 5)[0]
    ]


class TestHybridRandomStageContract(RecommenderContract):
    def make_model(self) -> Hybrid:
        return Hybrid().set_params(second_stage="random", **SMALL)


def block_dataset() -> Dataset:
    """40 employees in two taste groups (u0-u19 read i0-i9, u20-u39 read i10-i19), random
    times and no ``item_times``: nothing temporal, taste is all there is."""
    rng = np.random.default_rng(3)
    users, items = [], []
    for u in range(40):
        block = 0 if u < 20 else 10
        for i in rng.choice(10, size=6, replace=False):
            users.append(f"u{u}")
            items.append(f"i{block + i}")
    times = rng.integers(0, 100 * int(DAY), size=len(users))
    return Dataset.from_events(users, items, times=times)


def test_second_stage_auto_follows_item_times() -> None:
    assert Hybrid().resolve_second_stage(trend_dataset()) == "time"
    assert Hybrid().resolve_second_stage(block_dataset()) == "random"
    assert Hybrid().set_params(second_stage="time").resolve_second_stage(block_dataset()) == "time"
    assert (
        Hybrid().set_params(second_stage="random").resolve_second_stage(trend_dataset()) == "random"
    )
    assert Hybrid().set_params(**SMALL).fit(trend_dataset()).second_stage_ == "time"
    with pytest.raises(ValueError, match="second_stage"):
        Hybrid().set_params(second_stage="bogus", **SMALL).fit(block_dataset())


def test_random_second_stage_learns_taste_on_non_temporal_data(tmp_path: Path) -> None:
    model = Hybrid().set_params(taste__no_components=8, taste__epochs=30).fit(block_dataset())
    assert model.second_stage_ == "random"
    assert model.validation_examples_ > 0
    names = [str(n) for n in model.component_names_]
    assert "freshness" not in names
    assert model.coef_[names.index("taste")] > 0
    ids, _ = model.recommend([f"u{u}" for u in range(40)], 2)
    hits = sum(
        int(item[1:]) // 10 == (0 if u < 20 else 1) for u, row in enumerate(ids) for item in row
    )
    assert hits >= 0.9 * 80
    model.save(tmp_path / "m")
    assert Hybrid.load(tmp_path / "m").second_stage_ == "random"


def _departments(ids: list[str], names: list[str]) -> FeatureMatrix:
    """One-hot ``department=`` rows: ``names[j]`` is the department of ``ids[j]``."""
    columns = ("department=sales", "department=eng")
    values = np.asarray([[n == c.split("=")[1] for c in columns] for n in names], np.float32)
    return FeatureMatrix(sp.csr_matrix(values), columns, IdMap.from_ids(ids, "employee"))


def test_add_users_serves_a_new_hire_from_the_profile_without_refit() -> None:
    """u0-u19 (sales) read i0-i9, u20-u39 (eng) read i10-i19; a new eng hire, added with
    only a profile row, gets eng content (taste from profile + eng's department trend)."""
    base = block_dataset()
    people = [f"u{u}" for u in range(40)]
    profile = _departments(people, ["sales" if u < 20 else "eng" for u in range(40)])
    dataset = Dataset(base.users, base.items, base.interactions, user_features=profile)
    model = Hybrid().set_params(taste__no_components=8, taste__epochs=30).fit(dataset)
    assert "department_trend" in [str(n) for n in model.component_names_]
    added = model.add_users(
        ["hire-eng", "hire-sales"], _departments(["hire-eng", "hire-sales"], ["eng", "sales"])
    )
    assert added == ["hire-eng", "hire-sales"]
    ids, _ = model.recommend(["hire-eng", "hire-sales"], 5, unknown_employees="raise")
    assert all(int(item[1:]) >= 10 for item in ids[0])
    assert all(int(item[1:]) < 10 for item in ids[1])
    # an employee from fit keeps the learned taste; only the department follows the profile
    before = model.recommend(["u0"], 5)[0][0].tolist()
    model.add_users(["u0"], _departments(["u0"], ["sales"]))
    assert model.recommend(["u0"], 5)[0][0].tolist() == before


def test_cold_head_scores_new_content_and_contributions_still_add_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """(The random stage holds out whole items, so even this tiny set gives a cold head.)"""
    monkeypatch.setattr("recsys.models.hybrid.MIN_COLD_POSITIVES", 1)
    model = Hybrid().set_params(**SMALL, second_stage="random").fit(_with_features(trend_dataset()))
    assert model.has_cold_head_
    model.add_items(["fresh"], times=[10.2 * DAY])
    assert model.item_cold_[-1] and not model.item_cold_[:-1].any()
    users, items = np.asarray([0, 5, -1]), np.arange(len(model.items_))
    parts = model.contributions(users, items, 10.5 * DAY)
    assert set(parts["cold_start"][:, -1]) == {model.cold_intercept_ - model.intercept_}
    assert not parts["cold_start"][:, :-1].any()
    total = sum(parts.values()) + model.intercept_
    np.testing.assert_allclose(total, model._score(users, items, 10.5 * DAY), rtol=1e-5, atol=1e-5)
    loaded = Hybrid.load(model.save(tmp_path / "m"))
    np.testing.assert_allclose(
        loaded._score(users, items, 10.5 * DAY), model._score(users, items, 10.5 * DAY)
    )


def test_affinity_centres_embeddings_on_the_catalogue_mean(tmp_path: Path) -> None:
    """Every item shares a big common direction; centred, the employee's topic decides:
    u0 read only x-items, so the new x-item outranks the new y-item by affinity, and a new
    item with no embedding row stays at 0 cosine. Saved and loaded, the centre is kept."""
    common = np.asarray([10.0, 0.0, 0.0])
    rows = {"x1": [0, 1, 0], "x2": [0, 0.9, 0.1], "y1": [0, 0, 1], "y2": [0, 0.1, 0.9]}
    catalogue = IdMap.from_ids(list(rows), "content")
    values = np.asarray([common + np.asarray(v) for v in rows.values()])
    features = FeatureMatrix(values, ("emb_0", "emb_1", "emb_2"), catalogue)
    base = Dataset.from_events(["u0", "u0", "u1", "u1"], ["x1", "x2", "y1", "y2"], items=catalogue)
    dataset = Dataset(base.users, base.items, base.interactions, item_features=features)
    model = Hybrid().set_params(**SMALL, affinity__centre=True).fit(dataset)
    affinity = model.components_["affinity"]
    np.testing.assert_allclose(affinity.centre_, values.mean(axis=0))
    new = FeatureMatrix(
        np.asarray([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) + common,
        features.names,
        IdMap.from_ids(["x3", "y3"], "content"),
    )
    model.add_items(["x3", "y3", "blank"], new)
    items = model.items_.to_internal(["x3", "y3", "blank"])
    raw = model.components(np.asarray([0]), items, 0.0)["affinity"][0]
    assert raw[0] > 0.9 and raw[1] < -0.9 and abs(raw[2]) < 1e-5
    loaded = Hybrid.load(model.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.components(np.asarray([0]), items, 0.0)["affinity"], [raw])
    uncentred = Hybrid().set_params(**SMALL).fit(dataset)
    uncentred.add_items(["x3", "y3"], new)
    both = uncentred.components(np.asarray([0]), items[:2], 0.0)["affinity"][0]
    assert both.min() > 0.9  # the common direction dominates both


def test_affinity_centred_for_cold_content_only(tmp_path: Path) -> None:
    """``centre_embeddings="cold"``: warm items keep the uncentred cosine, content added
    later gets the centred one (both / sqrt 2); live events, the folded scorer and a
    save/load round trip agree."""
    common = np.asarray([10.0, 0.0, 0.0])
    rows = {"x1": [0, 1, 0], "x2": [0, 0.9, 0.1], "y1": [0, 0, 1], "y2": [0, 0.1, 0.9]}
    catalogue = IdMap.from_ids(list(rows), "content")
    values = np.asarray([common + np.asarray(v) for v in rows.values()])
    features = FeatureMatrix(values, ("emb_0", "emb_1", "emb_2"), catalogue)
    base = Dataset.from_events(
        ["u0", "u0", "u1", "u1"], ["x1", "x2", "y1", "y2"], times=[0, 1, 0, 1], items=catalogue
    )
    dataset = Dataset(base.users, base.items, base.interactions, item_features=features)
    model = Hybrid().set_params(**SMALL, affinity__centre="cold").fit(dataset)
    new = FeatureMatrix(
        np.asarray([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) + common,
        features.names,
        IdMap.from_ids(["x3", "y3"], "content"),
    )
    model.add_items(["x3", "y3"], new)
    items = model.items_.to_internal(["y1", "x3", "y3"])
    raw = model.components(np.asarray([0]), items, 1.0)["affinity"][0]
    unit = values / np.linalg.norm(values, axis=1, keepdims=True)
    profile = unit[0] * 0.5 ** (1 / 86_400 / 30) + unit[1]
    expected = profile @ unit[2] / np.linalg.norm(profile) / np.sqrt(2)
    np.testing.assert_allclose(raw[0], expected, atol=1e-5)  # + the 1e-6 popularity tie-break
    assert raw[1] > 0.6 and raw[2] < -0.6
    model.observe(["u1"], ["x3"], [2.0])
    users = np.asarray([0, 1, -1])
    total = sum(model.contributions(users, items, 2.0).values()) + model.intercept_
    np.testing.assert_allclose(total, model._score(users, items, 2.0), rtol=1e-5, atol=1e-5)
    loaded = Hybrid.load(model.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded._score(users, items, 2.0), model._score(users, items, 2.0))


def _no_subnormal(model: Hybrid) -> bool:
    states = [c.live_ for n, c in model.components_.items() if n == "colleague_trend"]
    states += [c.decayed_ for n, c in model.components_.items() if hasattr(c, "decayed_")]
    assert states
    return not any(_subnormal(values) for values in states)


def _subnormal(values: np.ndarray) -> int:
    magnitude = np.abs(values)
    return int(((magnitude > 0) & (magnitude < np.finfo(values.dtype).tiny)).sum())


def test_live_trends_hold_no_subnormal_floats(tmp_path: Path) -> None:
    """Decayed sums below 1e-30 are stored as 0 (subnormal floats slow every product):
    with a 72-minute half-life, ten days of events span ~200 half-lives."""
    model = Hybrid().set_params(**SMALL, colleague_trend__half_life_days=0.05)
    model.fit(trend_dataset())
    assert _no_subnormal(model)
    later = 16.6 * DAY  # ~130 half-lives after the last event
    model.observe(["u1"], ["i3"], [later])
    assert _no_subnormal(model)
    colleague = model.components_["colleague_trend"]
    assert np.count_nonzero(colleague.live_.any(axis=1)) == 1  # only i3's fresh event
    _, scores = model.recommend(["u2"], 3, as_of=later + 0.01 * DAY)
    assert np.isfinite(scores).all()
    colleague.live_[0, 0] = np.float32(1e-40)  # as models saved before were
    model.save(tmp_path / "m")
    assert _no_subnormal(Hybrid.load(tmp_path / "m"))
