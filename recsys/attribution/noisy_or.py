"""The conversion model behind Shapley attribution: a noisy-OR over a path's touches whose
activation probabilities depend on the touch's channel and recency, learned from converting
and non-converting paths.

Model
    A path converts with probability ``v = 1 - prod_i (1 - p_i)`` over its touches ``i``:
    each touch independently "activates" the visitor with probability ``p_i``. A touch's
    activation is logistic in two learned terms, ``p_i = sigmoid(a[c_i] + r[k_i])``: ``a[c]``
    is the log-odds offset of its channel ``c`` and ``r[k]`` the log-odds of its *recency
    bin* ``k``, the bin of its age (the path's ``end_time`` minus its ``touch_time``) among
    the ``recency_days`` edges (under 6 hours, 6-12 hours, ..., 8-16 days, 16 days and more).
    Every touch is its own player: a channel clicked twice gives two touches of different
    ages. There is no baseline term: in a model of paths it is identified only through how
    the conversion probability grows with the number of touches (with single-touch paths
    alone, not at all), which left the fit ill-conditioned (thousands of L-BFGS iterations on
    the synthetic organisations instead of about 50, for the same benchmark scores), and it
    cancels from Shapley shares. Conversions no touch caused are absorbed by the activations;
    the credit of a converting path goes to its touches anyway.
Reference times
    A converting path is seen at its conversion. A non-converting path's ``end_time`` is a
    convention of the caller (e.g. the lookback after its last touch): seen there, all its
    touches would be older than every converting path's, the two kinds of path would be told
    apart by age alone and the recency terms would not be identified. So a non-converting path
    is seen at every moment of its conversion-free span, from its last touch to its end, with
    equal weight (in total it counts as one path): its log-likelihood
    ``sum_i sum_k f_ik log(1 - p(c_i, k))`` averages that of not converting over the span,
    ``f_ik`` being the share of the span in which touch ``i``'s age lies in bin ``k`` (exact,
    from the bin edges). Ages beyond the oldest touch of any converting path (the caller's
    lookback, as far as the data tell) are left out: no converting path could hold them.
Fit
    Maximum a posteriori: L-BFGS on ``sum_conv log v + sum_nonconv log(1 - v)`` minus
    ``lam / 2 * sum_c a[c]^2``, a Gaussian prior centring every channel on the common rate of
    each recency bin. ``lam = prior_strength * m * (1 - m)``, ``m`` being the pooled activation
    rate of a first fit of ``r`` alone: the curvature, in log-odds, of a Beta prior worth
    ``prior_strength`` touches at rate ``m``. A channel seen on few paths is shrunk towards the
    common rate; a channel never seen gets offset 0.
Not the generating process
    The synthetic organisations convert visitors by a continuous-time point process: each
    click adds an intensity, its effect times a log-normal delay density; advocate, content and
    network effects multiply; a constant baseline rate adds to them. This model is a classifier
    of paths: no intensity, no survival over time and no delay density (recency is a free step
    function of a few bins, learned), one channel attribute with a shrunk log-odds offset
    rather than a product of effects, saturating logistic activations, no baseline, and a
    converting path adds no conversion-free time before its conversion. What it shares with
    the generator is that any touch may convert the visitor on its own (the noisy-OR), as in
    every model where touches add chances of conversion. It is handed none of the generator's
    forms or constants; that touches of a few days convert most, the first hours after a
    click and the older touches less, it learns from the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from recsys.attribution.paths import TouchPaths
from recsys.times import DAY

LOGIT_BOUND = 30.0  # log-odds are kept in [-30, 30]: probabilities in (1e-13, 1 - 1e-13)


@dataclass(frozen=True, eq=False)
class NoisyOr:
    """A fitted touch-level noisy-OR (see the module docstring).

    ``channel_offset`` is the log-odds ``a[c]`` per channel; ``recency_logit`` the log-odds
    ``r[k]`` per recency bin, whose edges (seconds) are ``recency_edges``; ``pooled_rate`` is
    ``m`` and ``penalty`` ``lam``; ``max_age`` the oldest touch age on a converting path;
    ``n_iter`` the L-BFGS iterations of both fits.
    """

    channel_offset: np.ndarray
    recency_logit: np.ndarray
    recency_edges: np.ndarray
    pooled_rate: float
    penalty: float
    max_age: float
    n_iter: int

    def activation(self, paths: TouchPaths) -> np.ndarray:
        """``p_i`` of every touch at its path's ``end_time``; channels beyond the fitted ones
        get offset 0 (the common rate of their recency bin)."""
        age = paths.end_time[paths.path_index()] - paths.touch_time
        offset = np.zeros(max(paths.n_channels, len(self.channel_offset)))
        offset[: len(self.channel_offset)] = self.channel_offset
        return expit(offset[paths.channel] + self.recency_logit[self.recency_bin(age)])

    def recency_bin(self, age: np.ndarray) -> np.ndarray:
        """The recency bin of each age in seconds: ``k`` with ``edge[k-1] <= age < edge[k]``."""
        return np.searchsorted(self.recency_edges, age, side="right")

    def conversion_probability(self, paths: TouchPaths) -> np.ndarray:
        """``v`` of each path, its touches aged at its ``end_time``."""
        log_stay = np.log1p(-self.activation(paths))
        return -np.expm1(np.bincount(paths.path_index(), log_stay, paths.n_paths))


@dataclass(frozen=True, eq=False)
class _Data:
    """The likelihood's sufficient data: converting touches and non-converting exposure."""

    n_channels: int
    n_bins: int
    pos_path: np.ndarray  # converting path of each converting touch (0..n_pos - 1)
    pos_channel: np.ndarray
    pos_bin: np.ndarray
    n_pos: int
    neg_channel: np.ndarray  # one entry per (channel, bin) with non-converting exposure
    neg_bin: np.ndarray
    neg_weight: np.ndarray  # summed shares of the conversion-free spans


def fit_noisy_or(
    paths: TouchPaths,
    *,
    recency_days: tuple[float, ...],
    prior_strength: float,
    max_iter: int,
    tol: float,
) -> NoisyOr:
    """Fit the touch-level noisy-OR on ``paths`` (MAP, L-BFGS); see the module docstring."""
    edges = np.asarray(recency_days, np.float64) * DAY
    data, max_age = _data(paths, edges)
    n_bins = len(edges) + 1
    start = np.concatenate([np.full(n_bins, -3.0), np.zeros(data.n_channels)])
    pooled, first = _optimise(data, start, 0.0, max_iter, tol, with_channels=False)
    activation = expit(pooled[np.concatenate([data.pos_bin, data.neg_bin])])
    weight = np.concatenate([np.ones(len(data.pos_bin)), data.neg_weight])
    rate = float(activation @ weight / weight.sum()) if weight.sum() > 0 else 0.0
    penalty = float(prior_strength) * rate * (1.0 - rate)
    x, second = _optimise(data, pooled, penalty, max_iter, tol, with_channels=True)
    return NoisyOr(
        channel_offset=x[n_bins:].copy(),
        recency_logit=x[:n_bins].copy(),
        recency_edges=edges,
        pooled_rate=rate,
        penalty=penalty,
        max_age=max_age,
        n_iter=first + second,
    )


def _data(paths: TouchPaths, edges: np.ndarray) -> tuple[_Data, float]:
    n_bins = len(edges) + 1
    path = paths.path_index()
    age = paths.end_time[path] - paths.touch_time
    on = paths.converted[path]
    max_age = float(age[on].max()) if on.any() else np.inf
    share = span_shares(paths, ~on, path, edges, max_age)
    channel = paths.channel[~on]
    exposure = np.stack(
        [np.bincount(channel, share[:, k], paths.n_channels) for k in range(n_bins)], axis=1
    ).ravel()  # channel-major: cell c * n_bins + k
    cell = np.flatnonzero(exposure > 0)
    data = _Data(
        n_channels=paths.n_channels,
        n_bins=n_bins,
        pos_path=np.cumsum(paths.converted)[path[on]] - 1,
        pos_channel=paths.channel[on],
        pos_bin=np.searchsorted(edges, age[on], side="right"),
        n_pos=int(paths.converted.sum()),
        neg_channel=cell // n_bins,
        neg_bin=cell % n_bins,
        neg_weight=exposure[cell],
    )
    return data, max_age


def span_shares(
    paths: TouchPaths, touches: np.ndarray, path: np.ndarray, edges: np.ndarray, max_age: float
) -> np.ndarray:
    """Per selected touch (``touches``: a bool mask; ``path``: every touch's path), the share
    of its path's span from its last touch to its ``end_time`` during which the touch's age
    lies in each recency bin (``edges`` in seconds; ages beyond ``max_age`` left out), shape
    ``(touches, len(edges) + 1)``. A path whose span is 0 is seen once, at its end."""
    p = path[touches]
    last = paths.touch_time[paths.indptr[1:][p] - 1]
    low = last - paths.touch_time[touches]  # age at the last touch
    high = paths.end_time[p] - paths.touch_time[touches]  # age at the end
    span = high - low
    bounds = np.concatenate([[0.0], edges, [np.inf]])
    top = np.minimum(high, max_age)
    share = np.minimum(top[:, None], bounds[1:])
    share -= np.maximum(low[:, None], bounds[:-1])
    np.maximum(share, 0.0, out=share)
    share /= np.where(span > 0, span, 1.0)[:, None]
    point = span <= 0
    if point.any():
        bin_at_end = np.searchsorted(edges, high[point], side="right")
        share[point] = 0.0
        share[np.flatnonzero(point), bin_at_end] = (high[point] <= max_age).astype(np.float64)
    return share


def _optimise(
    data: _Data, start: np.ndarray, penalty: float, max_iter: int, tol: float, with_channels: bool
) -> tuple[np.ndarray, int]:
    """Minimise the negative log-posterior over ``x = [r, a]`` (``a`` held at its start
    without channels); returns the optimum and the iterations used.

    L-BFGS runs on ``x * scale``, ``scale`` being the square root of each parameter's Fisher
    information at the start plus the prior's curvature, so that channels seen on few paths
    (a flat likelihood) do not slow it down.
    """
    size = len(start) if with_channels else data.n_bins
    scale = np.sqrt(_information(data, start, penalty)[:size])

    def objective(y: np.ndarray) -> tuple[float, np.ndarray]:
        x = np.concatenate([y / scale, start[size:]])
        value, gradient = _negative_log_posterior(data, x, penalty)
        return value, gradient[:size] / scale

    bounds = np.stack([-LOGIT_BOUND * scale, LOGIT_BOUND * scale], axis=1)
    options = {"maxiter": int(max_iter), "ftol": float(tol), "gtol": 1e-8 * max(data.n_pos, 1)}
    result = minimize(objective, start[:size] * scale, jac=True, method="L-BFGS-B",
                      bounds=bounds, options=options)  # fmt: skip
    return np.concatenate([result.x / scale, start[size:]]), int(result.nit)


def _negative_log_posterior(data: _Data, x: np.ndarray, penalty: float) -> tuple[float, np.ndarray]:
    recency, offset = x[: data.n_bins], x[data.n_bins :]
    pos = offset[data.pos_channel] + recency[data.pos_bin]
    neg = offset[data.neg_channel] + recency[data.neg_bin]
    log_stay = np.bincount(data.pos_path, log_expit(-pos), data.n_pos)  # log(1 - v)
    converts = np.maximum(-np.expm1(log_stay), 1e-300)
    value = np.log(converts).sum() + data.neg_weight @ log_expit(-neg)
    value -= 0.5 * penalty * offset @ offset
    odds = np.exp(log_stay) / converts  # (1 - v) / v per converting path
    d_pos = odds[data.pos_path] * expit(pos)  # d log v / d logit p_i
    d_neg = -data.neg_weight * expit(neg)
    gradient = np.concatenate(
        [
            np.bincount(data.pos_bin, d_pos, data.n_bins)
            + np.bincount(data.neg_bin, d_neg, data.n_bins),
            np.bincount(data.pos_channel, d_pos, data.n_channels)
            + np.bincount(data.neg_channel, d_neg, data.n_channels)
            - penalty * offset,
        ]
    )
    return -float(value), -gradient


def _information(data: _Data, x: np.ndarray, penalty: float) -> np.ndarray:
    """The diagonal of the Fisher information of ``[r, a]`` at ``x`` (``p (1 - p)`` per
    exposure of a logistic term) plus the prior's curvature, floored at 1e-6."""
    recency, offset = x[: data.n_bins], x[data.n_bins :]
    pos = expit(offset[data.pos_channel] + recency[data.pos_bin])
    neg = expit(offset[data.neg_channel] + recency[data.neg_bin])
    pos, neg = pos * (1.0 - pos), data.neg_weight * neg * (1.0 - neg)
    info = np.concatenate(
        [
            np.bincount(data.pos_bin, pos, data.n_bins)
            + np.bincount(data.neg_bin, neg, data.n_bins),
            np.bincount(data.pos_channel, pos, data.n_channels)
            + np.bincount(data.neg_channel, neg, data.n_channels)
            + penalty,
        ]
    )
    return np.maximum(info, 1e-6)
