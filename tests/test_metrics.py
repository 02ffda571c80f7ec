"""recsys.metrics: hand-computed cases for every metric, and properties with hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from recsys import metrics as m

L3 = 1.0 / math.log2(3)  # discount at rank 2
L5 = 1.0 / math.log2(5)  # discount at rank 4
RECS = np.array([[3, 1, 2, -1], [0, 5, -1, -1], [7, 8, 9, 4]])
RELEVANT = [np.array([1, 2]), np.array([], dtype=int), np.array([4, 6, 7])]


def close(actual: np.ndarray, expected: list[float]) -> bool:
    return np.allclose(actual, expected, equal_nan=True)


def test_list_metrics_by_hand_at_full_width() -> None:
    nan = math.nan
    assert close(m.hit_rate_at_k(RECS, RELEVANT), [1, nan, 1])
    assert close(m.precision_at_k(RECS, RELEVANT), [2 / 4, nan, 2 / 4])
    assert close(m.recall_at_k(RECS, RELEVANT), [1, nan, 2 / 3])
    ndcg = [(L3 + 0.5) / (1 + L3), nan, (1 + L5) / (1 + L3 + 0.5)]
    assert close(m.ndcg_at_k(RECS, RELEVANT), ndcg)
    assert close(m.map_at_k(RECS, RELEVANT), [(1 / 2 + 2 / 3) / 2, nan, (1 + 2 / 4) / 3])
    assert close(m.mrr(RECS, RELEVANT), [1 / 2, nan, 1])


def test_list_metrics_by_hand_at_k2_and_the_two_map_denominators() -> None:
    nan = math.nan
    assert close(m.precision_at_k(RECS, RELEVANT, 2), [1 / 2, nan, 1 / 2])
    assert close(m.recall_at_k(RECS, RELEVANT, 2), [1 / 2, nan, 1 / 3])
    assert close(m.ndcg_at_k(RECS, RELEVANT, 2), [L3 / (1 + L3), nan, 1 / (1 + L3)])
    assert close(m.map_at_k(RECS, RELEVANT, 2), [(1 / 2) / 2, nan, 1 / 2])
    by_n_relevant = m.map_at_k(RECS, RELEVANT, 2, denominator="n_relevant")
    assert close(by_n_relevant, [(1 / 2) / 2, nan, 1 / 3])
    means = m.ranking_metrics(RECS, RELEVANT, 2)
    assert means["precision"] == pytest.approx(0.5)
    assert means["map"] == pytest.approx((0.25 + 0.5) / 2)
    assert means["map_n_relevant"] == pytest.approx((0.25 + 1 / 3) / 2)
    assert means["mrr"] == pytest.approx(0.75) and means["hit_rate"] == 1.0


def test_k_beyond_the_list_width_pads_and_precision_divides_by_k() -> None:
    assert close(m.precision_at_k(RECS[:1, :2], RELEVANT[:1], 5), [1 / 5])
    assert close(m.ndcg_at_k(RECS[:1, :2], RELEVANT[:1], 5), [L3 / (1 + L3)])
    assert close(m.mrr(np.full((1, 3), -1), [np.array([0])]), [0.0])


def test_graded_ndcg_raw_and_exp_from_a_sparse_matrix() -> None:
    relevant = sp.csr_matrix(([3.0, 1.0, 5.0], ([0, 0, 0], [1, 2, 5])), shape=(1, 6))
    recs = np.array([[1, 2]])
    assert close(m.ndcg_at_k(recs, relevant), [(1 + L3) / (1 + L3)])
    raw = m.ndcg_at_k(recs, relevant, score_type="raw")
    assert close(raw, [(3 + 1 * L3) / (5 + 3 * L3)])
    exp = m.ndcg_at_k(recs, relevant, score_type="exp")
    assert close(exp, [(7 + 1 * L3) / (31 + 7 * L3)])
    with pytest.raises(ValueError, match="sparse"):
        m.ndcg_at_k(recs, [np.array([1])], score_type="raw")


def test_sparse_and_list_relevant_agree_and_bad_input_is_rejected() -> None:
    rows = np.repeat(np.arange(3), [len(r) for r in RELEVANT])
    csr = sp.csr_matrix((np.ones(rows.size), (rows, np.concatenate(RELEVANT))), shape=(3, 12))
    assert close(m.map_at_k(RECS, csr), m.map_at_k(RECS, RELEVANT))
    with pytest.raises(ValueError, match="repeats"):
        m.precision_at_k(np.array([[1, 1]]), [np.array([1])])
    with pytest.raises(ValueError, match="rows"):
        m.precision_at_k(RECS, RELEVANT[:2])
    with pytest.raises(ValueError, match="-1"):
        m.precision_at_k(np.array([[-2, 1]]), [np.array([1])])


def test_top_k_ties_padding_exclusion_and_minus_inf() -> None:
    scores = np.array([0.1, 0.5, 0.5, 0.2, np.inf, -np.inf])
    idx, val = m.top_k(scores, 3)
    assert idx.tolist() == [4, 1, 2] and val.tolist() == [np.inf, 0.5, 0.5]
    idx, val = m.top_k(scores, 8)
    assert idx.tolist() == [4, 1, 2, 3, 0, -1, -1, -1] and val[-3:].tolist() == [-np.inf] * 3
    exclude = np.array([0, 1, 0, 0, 1, 0], dtype=bool)
    assert m.top_k(scores, 2, exclude)[0].tolist() == [2, 3]
    idx, _ = m.top_k(np.zeros((2, 5)), 2)
    assert idx.tolist() == [[0, 1], [0, 1]]
    with pytest.raises(ValueError, match="NaN"):
        m.top_k(np.array([1.0, np.nan]), 1)
    assert m.top_k(np.array([1.0, np.nan]), 1, np.array([False, True]))[0].tolist() == [0]


def test_auc_and_full_ranking_mrr_by_hand() -> None:
    scores = np.array([[0.1, 0.5, 0.5, 0.2, np.inf, -np.inf]])
    # positives 0.5 and 0.2 against 0.1, 0.5, inf, -inf: (2.5 + 2) / 8
    assert close(m.auc(scores, [np.array([1, 3])]), [4.5 / 8])
    assert close(m.auc(scores, [np.array([1, 3])], scores == np.inf), [4.5 / 6])
    assert close(m.auc(np.zeros((2, 3)), [np.array([0, 1, 2]), np.array([], int)]), [np.nan] * 2)
    # relevant item 2 is third: inf (4), then 0.5 (1), then 0.5 (2, tie lost on index)
    assert close(m.mrr_full(scores, [np.array([2, 3])]), [1 / 3])
    assert close(m.mrr_full(scores, [np.array([4])], scores == np.inf), [0.0])
    assert m.mean_over_users(np.array([np.nan, 0.5, 1.0])) == 0.75
    assert math.isnan(m.mean_over_users(np.array([np.nan])))


@st.composite
def ranking_cases(draw: st.DrawFn) -> tuple[np.ndarray, list[np.ndarray], int, int]:
    n_users, n_items, k = draw(st.integers(1, 5)), draw(st.integers(1, 12)), draw(st.integers(1, 8))
    recs = np.full((n_users, k), -1)
    relevant = []
    for u in range(n_users):
        ranking = draw(st.permutations(range(n_items)))
        width = draw(st.integers(0, min(k, n_items)))
        recs[u, :width] = ranking[:width]
        items = draw(st.sets(st.integers(0, n_items - 1), max_size=n_items))
        relevant.append(np.array(sorted(items), dtype=np.int64))
    return recs, relevant, k, n_items


@st.composite
def score_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    n_users, n_items = draw(st.integers(1, 4)), draw(st.integers(1, 12))
    values = st.sampled_from([0.0, 1.0, 2.0, 3.0, -np.inf, np.inf, 0.5])
    scores = np.array(
        draw(st.lists(values, min_size=n_users * n_items, max_size=n_users * n_items))
    )
    flags = st.lists(st.booleans(), min_size=scores.size, max_size=scores.size)
    exclude = np.array(draw(flags))
    return (
        scores.reshape(n_users, n_items),
        exclude.reshape(n_users, n_items),
        draw(st.integers(1, 15)),
    )


@settings(max_examples=100, deadline=None)
@given(ranking_cases())
def test_metrics_lie_in_unit_interval_and_batch_equals_one_by_one(case: tuple) -> None:
    recs, relevant, k, _ = case
    batch = m.ranking_metrics_per_user(recs, relevant, k)
    undefined = np.array([r.size == 0 for r in relevant])
    for name, values in batch.items():
        assert np.array_equal(np.isnan(values), undefined), name
        assert np.all((values[~undefined] >= 0) & (values[~undefined] <= 1 + 1e-12)), name
    for u in range(recs.shape[0]):
        single = m.ranking_metrics_per_user(recs[u : u + 1], relevant[u : u + 1], k)
        for name, values in single.items():
            assert np.allclose(values, batch[name][u : u + 1], equal_nan=True), name


@settings(max_examples=100, deadline=None)
@given(ranking_cases())
def test_a_perfect_ranking_scores_one(case: tuple) -> None:
    _, relevant, k, _ = case
    relevant = [r if r.size else np.array([0]) for r in relevant]
    recs = np.full((len(relevant), k), -1)
    for u, items in enumerate(relevant):
        recs[u, : min(k, items.size)] = items[:k]
    per_user = m.ranking_metrics_per_user(recs, relevant, k)
    for name in ("hit_rate", "ndcg", "map", "mrr"):
        assert np.allclose(per_user[name], 1.0), name
    n_rel = np.array([r.size for r in relevant])
    assert np.allclose(per_user["precision"], np.minimum(n_rel, k) / k)
    assert np.allclose(per_user["recall"], np.minimum(n_rel, k) / n_rel)


def full_sort_top_k(scores: np.ndarray, exclude: np.ndarray, k: int) -> np.ndarray:
    rows = []
    for s, x in zip(scores, exclude, strict=True):
        order = np.lexsort((np.arange(s.size), -s))
        keep = [i for i in order if not x[i] and s[i] > -np.inf][:k]
        rows.append(keep + [-1] * (k - len(keep)))
    return np.array(rows)


@settings(max_examples=150, deadline=None)
@given(score_cases())
def test_top_k_equals_a_full_sort_and_never_returns_excluded(case: tuple) -> None:
    scores, exclude, k = case
    idx, val = m.top_k(scores, k, exclude)
    assert idx.shape == (scores.shape[0], k)
    assert np.array_equal(idx, full_sort_top_k(scores, exclude, k))
    found = idx >= 0
    rows = np.nonzero(found)[0]
    assert not exclude[rows, idx[found]].any()
    assert np.array_equal(val[found], scores[rows, idx[found]])
    assert np.all(val[~found] == -np.inf)
    assert np.array_equal(m.top_k(scores, k)[0], full_sort_top_k(scores, 0 * exclude, k))
    for row, expected in zip(scores, full_sort_top_k(scores, 0 * exclude, k), strict=True):
        one, values = m.top_k(row, k)  # the one-row path (a feed)
        assert np.array_equal(one, expected)
        assert np.array_equal(values[one >= 0], row[one[one >= 0]])
        assert np.all(values[one < 0] == -np.inf)


@settings(max_examples=80, deadline=None)
@given(score_cases(), st.data())
def test_auc_matches_sklearn_and_full_mrr_matches_sorted_lists(case: tuple, data) -> None:
    scores, exclude, _ = case
    scores = np.where(np.isinf(scores), np.sign(scores) * 1e9, scores)  # sklearn: finite only
    relevant = [
        np.array(sorted(data.draw(st.sets(st.integers(0, scores.shape[1] - 1)))), dtype=int)
        for _ in range(scores.shape[0])
    ]
    per_user = m.auc(scores, relevant, exclude)
    for u, items in enumerate(relevant):
        labels = np.isin(np.arange(scores.shape[1]), items)[~exclude[u]]
        if labels.all() or not labels.any():
            assert math.isnan(per_user[u])
        else:
            assert per_user[u] == pytest.approx(roc_auc_score(labels, scores[u][~exclude[u]]))
    ranking = m.top_k(scores, scores.shape[1], exclude)[0]
    assert np.allclose(
        m.mrr_full(scores, relevant, exclude), m.mrr(ranking, relevant), equal_nan=True
    )
