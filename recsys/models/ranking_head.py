"""Linear ranking losses for the hybrid's second-stage heads, and the Platt step after them.

The hybrid's examples come in groups (:mod:`recsys.models.second_stage`): the candidates of
one ranking, its positives (label 1) and sampled negatives (label 0). A linear head scores a
row ``s = z . w`` (``z`` the standardised component values); within a group an intercept
cancels, so these losses learn ``w`` only and :func:`platt` sets the scale and intercept
afterwards (a 1-d logistic fit of the decision on the labels), which keeps the scores
calibrated and comparable between heads.

``"listwise"`` (conditional logit): each positive ``p`` of group ``g`` against the group's
negatives ``N(g)``, ``-log(exp(s_p) / (exp(s_p) + sum_{n in N(g)} exp(s_n)))``; with one
positive per group (the time-split examples) this is the softmax cross-entropy of the group.

``"pairwise"`` (RankNet): each negative of a group paired with one positive of it (the
negatives of a group dealt round the group's positives in row order, so every negative is
used once and the cost stays linear in the rows), ``log(1 + exp(-(s_p - s_n)))``.

Both minimise ``0.5 * |w|^2 + C * sum(loss)`` (scikit-learn's ``LogisticRegression``
penalty, one loss term per positive or per pair) with L-BFGS and the analytic gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

#: Accepted losses of a head: ``"logistic"`` (pointwise, the default) and the ranking ones.
HEAD_LOSSES = ("logistic", "listwise", "pairwise")


@dataclass(frozen=True)
class GroupedRows:
    """Rows of the groups with a positive and a negative, laid out for the losses.

    ``pos``/``neg``: the positive and negative rows; ``pos_group``/``neg_group``: their group
    (0..groups-1); ``neg_starts``: where each group's negatives start in ``neg`` (sorted by
    group); ``partner``: for each negative, the positive (index into ``pos``) it is paired
    with by the pairwise loss.
    """

    pos: np.ndarray
    neg: np.ndarray
    pos_offset: np.ndarray
    neg_offset: np.ndarray
    pos_group: np.ndarray
    neg_group: np.ndarray
    neg_starts: np.ndarray
    partner: np.ndarray

    @classmethod
    def build(
        cls, z: np.ndarray, y: np.ndarray, groups: np.ndarray, offset: np.ndarray | None = None
    ) -> GroupedRows:
        """Rows ``z`` with labels ``y`` (0/1), group ids ``groups`` (any integers) and
        ``offset`` (subtracted from each row's score in the loss, default 0); groups without
        a positive or without a negative are dropped (they rank nothing)."""
        z = np.asarray(z, np.float64)
        y = np.asarray(y)
        offset = np.zeros(len(y)) if offset is None else np.asarray(offset, np.float64)
        if z.ndim != 2 or len(z) != len(y) or len(y) != len(groups):
            raise ValueError("z, y and groups must describe the same rows (z 2-d)")
        _, codes = np.unique(groups, return_inverse=True)
        positive = y == 1
        n_groups = int(codes.max()) + 1 if len(codes) else 0
        n_pos = np.bincount(codes[positive], minlength=n_groups)
        n_neg = np.bincount(codes[~positive], minlength=n_groups)
        usable = (n_pos > 0) & (n_neg > 0)
        compact = np.cumsum(usable) - 1
        keep = usable[codes]
        codes = compact[codes[keep]]
        z, positive, offset = z[keep], positive[keep], offset[keep]
        order = np.argsort(codes, kind="stable")
        z, positive, codes, offset = z[order], positive[order], codes[order], offset[order]
        pos_group, neg_group = codes[positive], codes[~positive]
        counts = np.bincount(neg_group, minlength=int(usable.sum()))
        neg_starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
        pos_counts = np.bincount(pos_group, minlength=int(usable.sum()))
        pos_starts = np.r_[0, np.cumsum(pos_counts)[:-1]].astype(np.int64)
        rank = np.arange(len(neg_group)) - neg_starts[neg_group]
        partner = pos_starts[neg_group] + rank % pos_counts[neg_group]
        return cls(
            z[positive],
            z[~positive],
            offset[positive],
            offset[~positive],
            pos_group,
            neg_group,
            neg_starts,
            partner,
        )


def listwise_loss(w: np.ndarray, rows: GroupedRows, C: float) -> tuple[float, np.ndarray]:
    """``0.5 |w|^2 + C * sum_p -log softmax(p vs its group's negatives)`` and its gradient."""
    s_pos = rows.pos @ w - rows.pos_offset
    s_neg = rows.neg @ w - rows.neg_offset
    top = np.maximum.reduceat(s_neg, rows.neg_starts)  # per group: the largest negative
    shifted = np.exp(s_neg - top[rows.neg_group])
    log_neg = np.log(np.bincount(rows.neg_group, shifted, minlength=len(top)))  # >= 0
    a = s_pos - top[rows.pos_group]
    log_total = np.logaddexp(a, log_neg[rows.pos_group])
    loss = float(np.sum(log_total - a))
    # d/ds_p = pi_p - 1; d/ds_n = exp(s_n - top) * sum over the group's p of exp(-log_total_p)
    g_pos = np.exp(a - log_total) - 1.0
    per_group = np.bincount(rows.pos_group, np.exp(-log_total), minlength=len(top))
    g_neg = shifted * per_group[rows.neg_group]
    grad = w + C * (rows.pos.T @ g_pos + rows.neg.T @ g_neg)
    return 0.5 * float(w @ w) + C * loss, grad


def pairwise_loss(w: np.ndarray, rows: GroupedRows, C: float) -> tuple[float, np.ndarray]:
    """``0.5 |w|^2 + C * sum log(1 + exp(-(s_p - s_n)))`` over (partner, negative) pairs and
    its gradient."""
    s_pos = rows.pos @ w - rows.pos_offset
    margin = s_pos[rows.partner] - (rows.neg @ w - rows.neg_offset)
    loss = float(np.sum(np.logaddexp(0.0, -margin)))
    g = -np.exp(-np.logaddexp(0.0, margin))  # d loss / d margin = -sigmoid(-margin)
    diff_grad = rows.neg.T @ g
    pos_grad = rows.pos.T @ np.bincount(rows.partner, g, minlength=len(rows.pos))
    grad = w + C * (pos_grad - diff_grad)
    return 0.5 * float(w @ w) + C * loss, grad


LOSSES = {"listwise": listwise_loss, "pairwise": pairwise_loss}


def fit_ranking(
    z: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    C: float,
    loss: str,
    log_q: np.ndarray | None = None,
) -> np.ndarray | None:
    """Weights ``w`` minimising the ``loss`` (:data:`LOSSES`) over the groups of ``z``, or
    None when no group has both a positive and a negative.

    ``log_q``: the log of each row's weight in its group's negative sampling (a constant
    per group is irrelevant). The loss scores a row ``z . w - log_q`` (the sampled-softmax
    correction, Bengio and Senecal 2008), so ``z . w`` estimates the preference among all
    items and not among the sampled ones: with negatives drawn by popularity, an
    uncorrected fit learns to discount popularity.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    rows = GroupedRows.build(z, y, groups, log_q)
    if not len(rows.pos):
        return None
    objective = LOSSES[loss]
    result = minimize(
        objective,
        np.zeros(z.shape[1]),
        args=(rows, float(C)),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 1000},
    )
    return np.asarray(result.x, np.float64)


def platt(decision: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """(slope, intercept) of a 1-d logistic fit of ``y`` on ``decision`` (nearly unpenalised),
    or None when the decision is constant."""
    if not np.ptp(decision) > 0:
        return None
    model = LogisticRegression(C=1e6, max_iter=1000).fit(decision[:, None], y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])
