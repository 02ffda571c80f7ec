"""Ranking losses of the hybrid's heads: the formulas on literal data, gradients, layout."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from recsys.models.ranking_head import (
    GroupedRows,
    fit_ranking,
    listwise_loss,
    pairwise_loss,
    platt,
)

# three groups: g0 one positive + two negatives, g1 two positives + one negative, g2 only
# negatives (dropped: it ranks nothing); rows deliberately not sorted by group
Z = np.asarray(
    [[1.0, 0.0], [0.5, 1.0], [0.0, -1.0], [2.0, 1.0], [-1.0, 0.5], [1.0, 1.0], [0.3, 0.3]]
)
Y = np.asarray([1, 0, 1, 0, 1, 0, 0])
G = np.asarray([0, 1, 1, 0, 1, 0, 2])
W = np.asarray([0.7, -0.4])


def test_rows_keep_the_groups_with_both_labels_and_pair_every_negative() -> None:
    rows = GroupedRows.build(Z, Y, G)
    np.testing.assert_array_equal(rows.pos, Z[[0, 2, 4]])
    np.testing.assert_array_equal(rows.neg, Z[[3, 5, 1]])
    np.testing.assert_array_equal(rows.pos_group, [0, 1, 1])
    np.testing.assert_array_equal(rows.neg_group, [0, 0, 1])
    np.testing.assert_array_equal(rows.neg_starts, [0, 2])
    np.testing.assert_array_equal(rows.partner, [0, 0, 1])


def test_listwise_loss_is_each_positive_against_its_groups_negatives() -> None:
    s = Z @ W
    expected = (
        -np.log(np.exp(s[0]) / (np.exp(s[0]) + np.exp(s[3]) + np.exp(s[5])))
        - np.log(np.exp(s[2]) / (np.exp(s[2]) + np.exp(s[1])))
        - np.log(np.exp(s[4]) / (np.exp(s[4]) + np.exp(s[1])))
    )
    value, _ = listwise_loss(W, GroupedRows.build(Z, Y, G), 2.0)
    assert value == pytest.approx(0.5 * W @ W + 2.0 * expected, rel=1e-12)


def test_pairwise_loss_is_ranknet_over_the_pairs() -> None:
    s = Z @ W
    pairs = [(0, 3), (0, 5), (2, 1)]
    expected = sum(np.log1p(np.exp(-(s[p] - s[n]))) for p, n in pairs)
    value, _ = pairwise_loss(W, GroupedRows.build(Z, Y, G), 2.0)
    assert value == pytest.approx(0.5 * W @ W + 2.0 * expected, rel=1e-12)


@pytest.mark.parametrize("loss", [listwise_loss, pairwise_loss])
@pytest.mark.parametrize("w", [[0.7, -0.4], [0.0, 0.0], [30.0, -25.0]])
@pytest.mark.parametrize("offset", [None, [0.1, -2.0, 0.5, 1.0, 0.0, 3.0, 0.2]])
def test_gradient_matches_finite_differences(loss, w, offset) -> None:
    rows = GroupedRows.build(Z, Y, G, offset)
    w = np.asarray(w)
    _, grad = loss(w, rows, 1.5)
    numeric = approx_fprime(w, lambda v: loss(v, rows, 1.5)[0], 1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("loss", ["listwise", "pairwise"])
def test_fit_ignores_what_is_constant_within_a_group(loss: str) -> None:
    """A per-group shift (an employee's level) changes nothing: only differences rank."""
    shifted = Z + np.asarray(
        [[5.0, -3.0], [1.0, 2.0], [1.0, 2.0], [5.0, -3.0], [1.0, 2.0], [5.0, -3.0], [0.0, 0.0]]
    )
    np.testing.assert_allclose(
        fit_ranking(Z, Y, G, 1.0, loss), fit_ranking(shifted, Y, G, 1.0, loss), atol=1e-6
    )


def test_log_q_is_subtracted_from_every_candidate() -> None:
    """The sampled-softmax correction: scores ``z . w - log_q``; a per-group constant in
    ``log_q`` changes nothing."""
    log_q = np.asarray([0.1, -2.0, 0.5, 1.0, 0.0, 3.0, 0.2])
    s = Z @ W - log_q
    expected = -np.log(np.exp(s[2]) / (np.exp(s[2]) + np.exp(s[1]))) - np.log(
        np.exp(s[4]) / (np.exp(s[4]) + np.exp(s[1]))
    )
    expected -= np.log(np.exp(s[0]) / (np.exp(s[0]) + np.exp(s[3]) + np.exp(s[5])))
    value, _ = listwise_loss(W, GroupedRows.build(Z, Y, G, log_q), 1.0)
    assert value == pytest.approx(0.5 * W @ W + expected, rel=1e-12)
    for loss in ("listwise", "pairwise"):
        np.testing.assert_allclose(
            fit_ranking(Z, Y, G, 1.0, loss, log_q),
            fit_ranking(Z, Y, G, 1.0, loss, log_q + np.asarray([4.0, -1.0, 0.0])[G]),
            atol=1e-6,
        )


def test_fit_finds_the_ranking_direction_and_errors_name_the_loss() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 2))
    groups = np.repeat(np.arange(40), 10)
    y = np.zeros(400, np.int64)
    y[np.arange(40) * 10 + np.argmax((z[:, 0] - 0.2 * z[:, 1]).reshape(40, 10), axis=1)] = 1
    w = fit_ranking(z, y, groups, 10.0, "listwise")
    assert w is not None and w[0] > 0 > w[1] and w[0] > 3 * abs(w[1])
    assert fit_ranking(z, np.zeros(400, np.int64), groups, 1.0, "listwise") is None
    with pytest.raises(ValueError, match="loss must be one of"):
        fit_ranking(z, y, groups, 1.0, "pointwise")


def test_platt_scales_and_shifts_the_decision() -> None:
    decision = np.asarray([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    fitted = platt(decision, np.asarray([0, 0, 1, 0, 1, 1]))
    assert fitted is not None and fitted[0] > 0
    assert platt(np.zeros(4), np.asarray([0, 1, 0, 1])) is None
