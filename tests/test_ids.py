"""IdMap and FeatureMatrix: external ids at the edges, internal ints inside."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.ids import IdMap, UnknownIdError
from recsys.matrix import FeatureMatrix


def test_id_map_round_trip_and_unknown_ids() -> None:
    ids = IdMap.from_ids(["b", "a", "b", "c"], kind="content")
    assert ids.external.tolist() == ["b", "a", "c"] and len(ids) == 3
    assert ids.to_internal(iter(["c", "b"])).tolist() == [2, 0]
    assert ids.to_external([1, 2]).tolist() == ["a", "c"]
    assert ids.to_internal(["a", "zz"], missing="ignore").tolist() == [1, -1]
    with pytest.raises(UnknownIdError, match="unknown content id"):
        ids.to_internal(["zz"])
    grown = ids.add(["c", "d"])
    assert grown.external.tolist() == ["b", "a", "c", "d"] and len(ids) == 3
    with pytest.raises(ValueError, match="not unique"):
        IdMap(np.array(["x", "x"], dtype=object))


def test_feature_matrix_checks_shapes_and_stacks() -> None:
    ids = IdMap.from_ids(["p", "q"])
    left = FeatureMatrix(np.eye(2, dtype=np.float32), ("x", "y"), ids)
    right = FeatureMatrix(sp.csr_matrix(np.ones((2, 1), dtype=np.float32)), ("z",), ids)
    both = FeatureMatrix.hstack(left, right)
    assert both.names == ("x", "y", "z") and sp.issparse(both.values)
    assert both.column("z").tolist() == [1.0, 1.0]
    assert both.select("y").shape == (2, 1)
    with pytest.raises(ValueError, match="rows"):
        FeatureMatrix(np.zeros((3, 2)), ("x", "y"), ids)
    with pytest.raises(ValueError, match="different ids"):
        FeatureMatrix.hstack(left, FeatureMatrix(np.zeros((2, 1)), ("w",), IdMap.from_ids("qp")))
