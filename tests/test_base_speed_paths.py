"""The vectorised internals of :mod:`recsys.base` agree with the plain reference loops."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.base import _rows_as_sets
from recsys.ids import IdMap, UnknownIdError
from recsys.models import Popular
from tests.recsys_contract import tiny_dataset


def _reference_mask(seen: list[set[int]], users: np.ndarray, items: np.ndarray) -> np.ndarray:
    position = {int(item): j for j, item in enumerate(items)}
    mask = np.zeros((len(users), len(items)), dtype=bool)
    for i, user in enumerate(users):
        if user >= 0:
            for item in seen[user]:
                j = position.get(item)
                if j is not None:
                    mask[i, j] = True
    return mask


@pytest.mark.parametrize("seed", range(5))
def test_seen_mask_equals_the_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = Popular().fit(tiny_dataset())
    n_items = 40
    model.seen_ = [set(rng.choice(n_items, rng.integers(0, 12)).tolist()) for _ in range(30)]
    users = rng.integers(-1, 30, 25)
    for items in (
        np.arange(n_items),
        np.sort(rng.choice(n_items, 15, replace=False)),
        rng.choice(n_items, 15, replace=False),  # unsorted
        rng.integers(0, n_items, 30),  # unsorted with repeats
        np.sort(rng.integers(0, n_items, 30)),  # sorted with repeats
        np.zeros(0, np.int64),
    ):
        got = model._seen_mask(users, items)
        np.testing.assert_array_equal(got, _reference_mask(model.seen_, users, items))
    np.testing.assert_array_equal(
        model._seen_mask(np.full(3, -1), np.arange(5)), np.zeros((3, 5), bool)
    )


def test_rows_as_sets() -> None:
    m = sp.random(20, 30, density=0.2, format="csr", random_state=0)
    expected = [set(m.indices[m.indptr[r] : m.indptr[r + 1]].tolist()) for r in range(20)]
    assert _rows_as_sets(m) == expected
    assert _rows_as_sets(sp.csr_matrix((0, 3))) == []


def test_id_map_fast_path_equals_the_string_path() -> None:
    ids = IdMap(np.asarray(["a", "1", "b", "c"], object), "content")

    def reference(external: object) -> list[int]:
        return [ids.external.tolist().index(str(i)) for i in external]

    for external in (["c", "a"], np.asarray(["b", "c"], object), np.asarray(["b"]), [1, "a"]):
        assert ids.to_internal(external).tolist() == reference(external)
    assert ids.to_internal([]).tolist() == []
    assert ids.to_internal(c for c in ["a", "b"]).tolist() == [0, 2]
    assert ids.to_internal(["a", "nope"], missing="ignore").tolist() == [0, -1]
    with pytest.raises(UnknownIdError, match="content"):
        ids.to_internal(["a", "nope"])


def test_sorted_unique_equals_np_unique() -> None:
    from recsys.base import _sorted_unique

    rng = np.random.default_rng(0)
    for values in (
        rng.integers(0, 50, 200),
        rng.permutation(100),
        np.zeros(0, np.int64),
        np.asarray([7], np.int64),
        np.arange(10),
    ):
        got = _sorted_unique(np.asarray(values, np.int64))
        expected = np.unique(np.asarray(values, np.int64))
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_candidate_cache_follows_the_ids_and_the_catalogue() -> None:
    model = Popular().fit(tiny_dataset())
    candidates = ["a", "b", "e"]
    first = model.recommend(["u2"], 5, candidates=candidates)[0][0].tolist()
    assert model.recommend(["u2"], 5, candidates=candidates)[0][0].tolist() == first
    candidates.append("c")  # the same list object, changed: not a stale hit
    assert "c" in model.recommend(["u1"], 5, candidates=candidates)[0][0].tolist()
    model.add_items(["f"])
    assert "f" in model.recommend(["u1"], 9, candidates=[*candidates, "f"])[0][0].tolist()
    for n in range(12):  # more distinct lists than the cache holds
        ids = model.recommend(["u1"], 9, candidates=["e", "f", "d"][: n % 3 + 1])[0][0]
        assert set(ids) <= {"e", "f", "d"}
    with pytest.raises(UnknownIdError, match="content"):
        model.recommend(["u1"], 5, candidates=["nope"])
    with pytest.raises(UnknownIdError, match="content"):
        model.recommend(["u1"], 5, candidates=["nope"])
