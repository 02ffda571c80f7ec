"""EASE and the item prior: closed form, the eigen shortcut of the lambda search, live use."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.dataset import Dataset
from recsys.models.ease import EASE_LAMBDAS, ItemItem, ease_weights, eigen_scores


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
    model = ItemItem.fit(dataset, 1.0, 0)
    users, items = np.asarray([2]), np.asarray([0, 1])
    before = model.scores(users, items)[0]
    assert before[1] > 0  # c read x, x predicts y
    model._observe(np.asarray([2]), np.asarray([1]), np.asarray([1.0]), np.ones(1))
    assert 1 in model.history_[2]
    model._add_items(np.asarray([2]), ["z"], None)
    model._observe(np.asarray([2]), np.asarray([2]), np.asarray([2.0]), np.ones(1))
    assert model.scores(users, np.asarray([0, 1, 2]))[0, 2] == 0.0
    pairs = model.pair_scores(np.asarray([2, 2]), np.asarray([0, 2]))
    np.testing.assert_allclose(pairs, model.scores(users, np.asarray([0, 2]))[0], rtol=1e-6)
