"""LightFM adapter and models: the contract, numpy scoring equals LightFM, cold start."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys import lightfm_adapter as lfm
from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.models import MODELS, LightFMCF, LightFMHybrid
from tests.recsys_contract import DAY, RecommenderContract, tiny_dataset

RECSYS = Path(__file__).parents[1] / "recsys"
FAST = {"no_components": 8, "epochs": 10}


# -- the adapter ------------------------------------------------------------------------
def test_only_the_adapter_imports_lightfm() -> None:
    pattern = re.compile(r"^\s*(import lightfm|from lightfm\b)", re.MULTILINE)
    importers = {p.name for p in RECSYS.rglob("*.py") if pattern.search(p.read_text())}
    assert importers == {"lightfm_adapter.py"}


def test_feature_rows_identity_and_l1() -> None:
    rows = lfm.feature_rows(2, np.asarray([[1.0, 2.0], [0.0, 0.0]]))
    expected = [[0.25, 0, 0.25, 0.5], [0, 1, 0, 0]]
    np.testing.assert_allclose(rows.toarray(), expected)
    assert rows.dtype == np.float32 and sp.isspmatrix_csr(rows)
    np.testing.assert_array_equal(lfm.feature_rows(3).toarray(), np.eye(3))
    with pytest.raises(ValueError, match="finite"):
        lfm.feature_rows(1, np.asarray([[np.nan]]))


def test_numpy_scores_equal_lightfm_predict() -> None:
    from lightfm import LightFM

    rng = np.random.default_rng(0)
    interactions = sp.random(12, 9, density=0.3, random_state=1, format="csr")
    items = lfm.feature_rows(9, (rng.random((9, 3)) > 0.5).astype(float))
    users = lfm.feature_rows(12, rng.random((12, 2)))
    arrays = lfm.fit_lightfm(interactions, users, items, no_components=5, epochs=3, random_state=7)
    model = LightFM(no_components=5, loss="warp", random_state=np.random.RandomState(7))
    binary = interactions.copy()
    binary.data[:] = 1
    model.fit(binary, user_features=users, item_features=items, epochs=3)
    np.testing.assert_array_equal(arrays.item_embeddings, model.item_embeddings)
    user_vectors, user_bias = lfm.representations(users, arrays.user_embeddings, arrays.user_biases)
    item_vectors, item_bias = lfm.representations(items, arrays.item_embeddings, arrays.item_biases)
    ours = lfm.scores(user_vectors, user_bias, item_vectors, item_bias)
    u, i = np.meshgrid(np.arange(12), np.arange(9), indexing="ij")
    theirs = model.predict(
        u.ravel().astype(np.int32),
        i.ravel().astype(np.int32),
        item_features=items,
        user_features=users,
    )
    np.testing.assert_allclose(ours.ravel(), theirs, rtol=1e-4, atol=1e-5)


def test_fit_lightfm_rejects_bad_params() -> None:
    with pytest.raises(ValueError, match="loss"):
        lfm.fit_lightfm(sp.eye(2, format="csr"), loss="hinge")


# -- two clusters -----------------------------------------------------------------------
def two_clusters(*, features: bool = False) -> Dataset:
    """a0..a7 read 3 of x0..x4; b0..b7 read 3 of y0..y4 (rotating), never across."""
    users, items = [], []
    for cluster, topic in (("a", "x"), ("b", "y")):
        for u in range(8):
            for step in range(3):
                users.append(f"{cluster}{u}")
                items.append(f"{topic}{(u + step) % 5}")
    catalogue = IdMap.from_ids([f"{t}{i}" for t in "xy" for i in range(5)], "content")
    dataset = Dataset.from_events(users, items, times=np.arange(len(users)), items=catalogue)
    if not features:
        return dataset
    topics = FeatureMatrix(
        np.asarray([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5), ("topic_x", "topic_y"), catalogue
    )
    departments = FeatureMatrix(
        np.asarray([[1.0, 0.0]] * 8 + [[0.0, 1.0]] * 8), ("dept_a", "dept_b"), dataset.users
    )
    return Dataset(
        dataset.users,
        dataset.items,
        dataset.interactions,
        user_features=departments,
        item_features=topics,
    )


def assert_clusters_first(model, users_by_cluster=(("a", "x"), ("b", "y"))) -> None:
    for cluster, topic in users_by_cluster:
        ids, _ = model.recommend([f"{cluster}{u}" for u in range(8)], 2)
        for row in ids:
            assert all(item.startswith(topic) for item in row), (cluster, row)


# -- LightFMCF --------------------------------------------------------------------------
class TestLightFMCF(RecommenderContract):
    def make_model(self) -> LightFMCF:
        return LightFMCF(**FAST)

    def test_registered_with_the_brief_defaults(self) -> None:
        assert MODELS["lightfm_cf"] is LightFMCF
        assert LightFMCF().get_params() == {
            "no_components": 64,
            "epochs": 30,
            "learning_rate": 0.05,
            "loss": "warp",
            "item_alpha": 0.0,
            "user_alpha": 0.0,
            "random_state": 42,
            "num_threads": 1,
        }

    @pytest.mark.parametrize("seed", [0, 7, 42])
    def test_cluster_items_first(self, seed: int) -> None:
        # WARP stops updating once every positive beats the sampled negatives: on data this
        # small the default learning rate memorises; a gentler one generalises for any seed
        model = LightFMCF(learning_rate=0.02, epochs=60, random_state=seed)
        assert_clusters_first(model.fit(two_clusters()))

    def test_seed_changes_the_model(self) -> None:
        one = LightFMCF(**FAST).fit(tiny_dataset()).item_vectors_
        other = LightFMCF(**FAST, random_state=1).fit(tiny_dataset()).item_vectors_
        assert not np.array_equal(one, other)

    def test_cold_user_and_new_item_use_means(self) -> None:
        model = self.fitted()
        model.add_items(["f"])
        np.testing.assert_allclose(
            model.item_vectors_[-1], model.item_vectors_[:-1].mean(0), atol=1e-7
        )
        assert model.item_bias_[-1] == 0
        _, cold = model.recommend(["who"], 6, exclude_seen=False, candidates=list("abcdef"))
        expected = model._score(np.asarray([-1]), np.arange(6), 0.0)
        np.testing.assert_allclose(cold[0], np.sort(expected[0])[::-1], rtol=1e-6)
        model.observe(["hire"], ["a"], [7 * DAY])
        np.testing.assert_allclose(model.user_vectors_[-1], model.cold_vector_)


# -- LightFMHybrid ----------------------------------------------------------------------
def tiny_with_features() -> Dataset:
    dataset = tiny_dataset()
    items = FeatureMatrix(
        np.asarray([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1]], float),
        ("topic_x", "topic_y"),
        dataset.items,
    )
    users = FeatureMatrix(np.asarray([[1.0], [0.0]]), ("dept_a",), IdMap.from_ids(["u1", "u2"]))
    return Dataset(
        dataset.users,
        dataset.items,
        dataset.interactions,
        user_features=users,  # u3 has no profile row: zero features
        item_features=items,
        item_times=dataset.item_times,
    )


class TestLightFMHybrid(RecommenderContract):
    def make_model(self) -> LightFMHybrid:
        return LightFMHybrid(**FAST)

    def dataset(self) -> Dataset:
        return tiny_with_features()

    def test_registered(self) -> None:
        assert MODELS["lightfm_hybrid"] is LightFMHybrid

    def test_without_features_it_is_cf(self) -> None:
        hybrid = LightFMHybrid(**FAST).fit(tiny_dataset())
        cf = LightFMCF(**FAST).fit(tiny_dataset())
        np.testing.assert_allclose(hybrid.item_vectors_, cf.item_vectors_, rtol=1e-6)
        np.testing.assert_allclose(hybrid.user_vectors_, cf.user_vectors_, rtol=1e-6)
        assert not len(hybrid.item_feature_names_)
        with pytest.raises(ValueError, match="without user features"):
            hybrid.set_user_features(tiny_with_features().user_features)

    def test_identity_off_needs_features(self) -> None:
        with pytest.raises(ValueError, match="item_identity=False"):
            LightFMHybrid(item_identity=False, **FAST).fit(tiny_dataset())


@pytest.fixture(scope="module")
def hybrid() -> LightFMHybrid:
    return LightFMHybrid(epochs=20).fit(two_clusters(features=True))


def fresh(model: LightFMHybrid, tmp_path: Path) -> LightFMHybrid:
    """A copy of the shared model (through save/load) that a test may change."""
    return LightFMHybrid.load(model.save(tmp_path / "copy"))


@pytest.mark.parametrize("seed", [0, 3, 42])
def test_hybrid_cluster_items_first(seed: int) -> None:
    assert_clusters_first(
        LightFMHybrid(epochs=20, random_state=seed).fit(two_clusters(features=True))
    )


def test_new_content_scored_from_features_without_refit(
    hybrid: LightFMHybrid, tmp_path: Path
) -> None:
    model = fresh(hybrid, tmp_path)
    topics = FeatureMatrix(
        np.asarray([[1.0, 0.0], [0.0, 1.0]]), ("topic_x", "topic_y"), IdMap.from_ids(["nx", "ny"])
    )
    model.add_items(["nx", "ny", "bare"], topics, times=[DAY] * 3)
    for cluster, mine, other in (("a", "nx", "ny"), ("b", "ny", "nx")):
        ids, _ = model.recommend([f"{cluster}{u}" for u in range(8)], 13)
        for row in ids:
            order = row.tolist()
            assert order.index(mine) < 4 and order.index(mine) < order.index(other)
    # the new item's representation is the topic feature's embedding
    np.testing.assert_allclose(model.item_vectors_[-3], model.item_feature_embeddings_[0])
    np.testing.assert_allclose(model.item_vectors_[-1], model.new_item_vector_)
    assert model.item_bias_[-1] == 0
    loaded = LightFMHybrid.load(model.save(tmp_path / "after"))
    before, after = model.recommend(["a1", "b2"], 13), loaded.recommend(["a1", "b2"], 13)
    for a, b in zip(before[0], after[0], strict=True):
        assert a.tolist() == b.tolist()


def test_new_employee_from_profile(hybrid: LightFMHybrid, tmp_path: Path) -> None:
    model = fresh(hybrid, tmp_path)
    model.observe(["late"], ["x0"], [DAY])  # added by observe: mean representation
    np.testing.assert_allclose(model.user_vectors_[-1], model.cold_vector_)
    profiles = FeatureMatrix(
        np.asarray([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 0.0]]),
        ("dept_a", "dept_b"),
        IdMap.from_ids(["hire_a", "late", "a0", "blank"]),
    )
    updated = model.set_user_features(profiles)
    assert updated == ["hire_a", "late"]  # a0 was fitted, blank has no features
    assert "blank" not in model.users_
    ids, _ = model.recommend(["hire_a", "late"], 3, unknown_employees="raise")
    assert all(i.startswith("x") for i in ids[0])
    assert all(i.startswith("y") for i in ids[1]) and "x0" not in ids[1]
    loaded = LightFMHybrid.load(model.save(tmp_path / "after"))
    before, after = model.recommend(["hire_a", "late"], 5), loaded.recommend(["hire_a", "late"], 5)
    for a, b in zip(before[1], after[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_pure_feature_model_scores_new_items_like_old() -> None:
    model = LightFMHybrid(item_identity=False, **FAST).fit(two_clusters(features=True))
    topics = FeatureMatrix(np.asarray([[1.0, 0.0]]), ("topic_x", "topic_y"), IdMap.from_ids(["n"]))
    model.add_items(["n"], topics)
    np.testing.assert_allclose(model.item_vectors_[-1], model.item_vectors_[0], rtol=1e-6)


def test_add_users_with_profiles_equals_set_user_features(
    hybrid: LightFMHybrid, tmp_path: Path
) -> None:
    profiles = FeatureMatrix(
        np.asarray([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]),
        ("dept_a", "dept_b"),
        IdMap.from_ids(["hire_a", "hire_b", "a0"]),
    )
    by_set = fresh(hybrid, tmp_path)
    by_set.set_user_features(profiles)
    by_add = fresh(hybrid, tmp_path)
    assert by_add.add_users(["hire_a", "hire_b", "a0"], profiles) == ["hire_a", "hire_b"]
    first = by_set.recommend(["hire_a", "hire_b", "a0"], 5)
    second = by_add.recommend(["hire_a", "hire_b", "a0"], 5, unknown_employees="raise")
    for a, b in zip(first[0], second[0], strict=True):
        assert a.tolist() == b.tolist()
    assert all(i.startswith("x") for i in second[0][0])
    assert all(i.startswith("y") for i in second[0][1])
