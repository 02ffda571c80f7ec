"""Dataset: interactions on internal ids, features aligned by id."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.dataset import Dataset, Interactions
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix


def test_matrix_sums_weights_and_binarises() -> None:
    data = Dataset.from_events(["u", "u", "v"], ["a", "a", "b"], weights=[1.0, 2.0, 5.0])
    assert data.matrix().toarray().tolist() == [[3.0, 0.0], [0.0, 5.0]]
    assert data.matrix(binary=True).toarray().tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_features_are_aligned_by_id_with_zero_rows_for_missing() -> None:
    data = Dataset.from_events(["u", "v", "w"], ["a", "b", "c"])
    dense = FeatureMatrix(np.asarray([[1.0], [2.0]]), ("x",), IdMap.from_ids(["w", "u"]))
    assert data.__class__(
        data.users, data.items, data.interactions, user_features=dense
    ).user_feature_rows().tolist() == [[2.0], [0.0], [1.0]]
    sparse = FeatureMatrix(sp.csr_matrix([[1.0], [2.0]]), ("y",), IdMap.from_ids(["c", "a"]))
    aligned = Dataset(data.users, data.items, data.interactions, item_features=sparse)
    assert aligned.item_feature_rows().toarray().tolist() == [[2.0], [0.0], [1.0]]


def test_bad_arrays_are_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        Interactions(np.asarray([0]), np.asarray([0, 1]), np.ones(1), np.zeros(1))
    users, items = IdMap.from_ids(["u"]), IdMap.from_ids(["a"])
    with pytest.raises(ValueError, match="outside the item map"):
        Dataset(users, items, Interactions([0], [3], [1.0], [0]))
