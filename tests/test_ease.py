"""EASE and the item priors: closed form, the eigen shortcut of the lambda search, live use,
the gradient-boosted prior's arrays."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.models.component import FitContext
from recsys.models.ease import (
    EASE_LAMBDAS,
    ItemItem,
    TreePrior,
    ease_weights,
    eigen_scores,
    tree_arrays,
    tree_predict,
)


def test_weights_reconstruct_columns_and_have_a_zero_diagonal() -> None:
    """Items 0 and 1 always co-occur: each predicts the other; item 2 is unrelated."""
    x = sp.csr_matrix(np.asarray([[1, 1, 0], [1, 1, 0], [0, 0, 1], [1, 1, 1]], np.float32))
    weights = ease_weights(x, 0.1)
    assert np.allclose(np.diag(weights), 0.0)
    assert weights[0, 1] > 0.5 and weights[1, 0] > 0.5
    assert abs(weights[2, 0]) < weights[1, 0]


def test_eigen_scores_equal_the_explicit_inverse() -> None:
    rng = np.random.default_rng(0)
    x = sp.csr_matrix((rng.random((60, 25)) < 0.2).astype(np.float32))
    values, vectors = np.linalg.eigh(np.asarray((x.T @ x).toarray(), np.float64))
    history = x.toarray().astype(np.float32)
    vectors = vectors.astype(np.float32)
    for lam in EASE_LAMBDAS[:3]:
        fast = eigen_scores(history, history @ vectors, values, vectors, lam)
        np.testing.assert_allclose(fast, history @ ease_weights(x, lam), atol=2e-4)


def test_item_item_history_is_live_and_new_content_scores_zero() -> None:
    dataset = Dataset.from_events(["a", "a", "b", "b", "c"], ["x", "y", "x", "y", "x"])
    model = ItemItem(lam=1.0).fit_component(dataset, FitContext(random_state=0))
    users, items = np.asarray([2]), np.asarray([0, 1])
    before = model.scores(users, items)[0]
    assert before[1] > 0  # c read x, x predicts y
    model.observe_events(np.asarray([2]), np.asarray([1]), np.asarray([1.0]), np.ones(1))
    assert 1 in model.history_[2]
    model.grow_items(np.asarray([2]), ["z"], None, np.zeros(1))
    model.observe_events(np.asarray([2]), np.asarray([2]), np.asarray([2.0]), np.ones(1))
    assert model.scores(users, np.asarray([0, 1, 2]))[0, 2] == 0.0
    pairs = model.pair_scores(np.asarray([2, 2]), np.asarray([0, 2]))
    np.testing.assert_allclose(pairs, model.scores(users, np.asarray([0, 2]))[0], rtol=1e-6)


def _fitted_item_item(seed: int = 0) -> tuple[ItemItem, np.ndarray]:
    """EASE on 40 employees x 30 items, with each employee's binary history as a dense array."""
    rng = np.random.default_rng(seed)
    pairs = [(u, i) for u in range(40) for i in range(30) if rng.random() < 0.15]
    users, items = zip(*pairs, strict=True)
    dataset = Dataset.from_events([f"e{u}" for u in users], [f"c{i:02d}" for i in items])
    model = ItemItem(lam=5.0).fit_component(dataset, FitContext(random_state=0))
    history = dataset.matrix(binary=True).toarray().astype(np.float32)
    return model, history


def test_scores_equal_history_times_weight_columns() -> None:
    """Subset, unordered, repeated and whole-catalogue candidates; unknown (-1) employees."""
    model, history = _fitted_item_item()
    n_users, n_items = history.shape
    users = np.asarray([0, 3, -1, n_users - 1, 3])
    rows = np.where((users >= 0)[:, None], history[users], 0.0)
    for items in (
        np.arange(n_items),
        np.asarray([5, 1, 29, 1]),
        np.asarray([7]),
        np.arange(0, n_items, 3),
    ):
        expected = rows @ model.weights_[:, items]
        np.testing.assert_allclose(model.scores(users, items), expected, rtol=1e-5, atol=1e-6)


def test_scores_of_a_batch_equal_one_by_one() -> None:
    model, history = _fitted_item_item(1)
    users = np.arange(-1, history.shape[0])
    for items in (np.arange(history.shape[1]), np.asarray([2, 11, 17, 28])):
        batch = model.scores(users, items)
        single = np.vstack([model.scores(users[j : j + 1], items) for j in range(len(users))])
        np.testing.assert_allclose(batch, single, rtol=1e-6, atol=1e-7)
        assert batch.dtype == np.float32 and batch.shape == (len(users), len(items))


def test_scores_of_content_added_after_fit_are_zero_and_others_unchanged() -> None:
    model, history = _fitted_item_item(2)
    n_items = history.shape[1]
    model.grow_items(np.asarray([n_items, n_items + 1]), ["new1", "new2"], None, np.zeros(2))
    users = np.asarray([0, 1, 2])
    items = np.asarray([n_items + 1, 4, n_items, 0])
    scores = model.scores(users, items)
    assert not scores[:, [0, 2]].any()
    np.testing.assert_allclose(
        scores[:, [1, 3]], history[users] @ model.weights_[:, [4, 0]], rtol=1e-5, atol=1e-6
    )
    assert not model.scores(np.asarray([-1]), items).any()
    assert model.scores(users, np.asarray([], np.int64)).shape == (3, 0)


def test_pair_scores_equal_the_grid() -> None:
    model, history = _fitted_item_item(3)
    users = np.asarray([-1, 0, 5, 5, history.shape[0] - 1])
    items = np.asarray([3, 0, 29, 3])
    grid = model.scores(users, items)
    pairs = model.pair_scores(np.repeat(users, len(items)), np.tile(items, len(users)))
    np.testing.assert_allclose(pairs.reshape(grid.shape), grid, rtol=1e-5, atol=1e-6)


def _year_dataset() -> Dataset:
    """Items a-f with a 'year' feature; popularity peaks in the middle years (not linear)."""
    years = {"a": 0.0, "b": 1.0, "c": 2.0, "d": 3.0, "e": 4.0, "f": 5.0}
    counts = {"a": 1, "b": 4, "c": 8, "d": 8, "e": 4, "f": 1}
    users = [f"u{j}" for item, n in counts.items() for j in range(n)]
    items = [item for item, n in counts.items() for _ in range(n)]
    ids = IdMap.from_ids(list(years), "content")
    values = np.asarray([[y] for y in years.values()], np.float32)
    return Dataset.from_events(users, items, item_features=FeatureMatrix(values, ("year",), ids))


def test_tree_arrays_predict_as_the_fitted_trees_do() -> None:
    from sklearn.ensemble import GradientBoostingRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = np.sin(x[:, 0]) + x[:, 1] ** 2
    model = GradientBoostingRegressor(n_estimators=5, max_depth=2, random_state=0).fit(x, y)
    mine = y.mean() + 0.1 * tree_predict(tree_arrays(model), x)
    np.testing.assert_allclose(mine, model.predict(x), atol=1e-12)


def test_tree_prior_fits_a_peak_scores_new_content_and_round_trips() -> None:
    dataset = _year_dataset()
    model = TreePrior(prefixes="year", trees=50, depth=2, learning_rate=0.1)
    model = model.fit_component(dataset, FitContext())
    target = np.log1p([1, 4, 8, 8, 4, 1])
    assert np.abs(model.values_ - target).max() < 0.05
    new = FeatureMatrix(np.asarray([[2.0]], np.float32), ("year",), IdMap.from_ids(["g"], "c"))
    model.grow_items(np.asarray([6]), ["g"], new, np.zeros(1))
    assert model.values_[6] == pytest.approx(model.values_[2])
    restored = TreePrior(prefixes="year").load_state(model.state())
    restored.grow_items(np.asarray([7]), ["g"], new, np.zeros(1))
    assert restored.values_[7] == pytest.approx(model.values_[6])
    assert TreePrior(prefixes="genre=").left_out(dataset) is not None
