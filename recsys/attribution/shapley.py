"""Shapley-value attribution over each converting path's touches, on a time-aware noisy-OR
learned from converting and non-converting paths.

Value function
    ``v(S) = 1 - prod_{i in S} (1 - p_i)``: the conversion probability of a path holding only
    the touches ``S``, ``p_i`` being the activation of touch ``i`` given its channel and its
    age at the conversion (:mod:`recsys.attribution.noisy_or`: learned channel offsets shrunk
    towards the common rate, learned recency bins).
Shapley values, exactly
    The players of a converting path are its ``n`` touches. Touch ``i`` gets
    ``phi_i = sum_{S subset N - i} |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S))``. For the
    noisy-OR, ``v(S + i) - v(S) = p_i prod_{j in S} (1 - p_j)``, and since
    ``|S|! (n - 1 - |S|)! / n! = int_0^1 t^|S| (1 - t)^(n - 1 - |S|) dt``, the sum is the
    integral over ``t`` in [0, 1] of the expected contribution of ``i`` to a coalition holding
    each other touch independently with probability ``t``:
    ``phi_i = p_i int_0^1 prod_{j != i} (1 - t p_j) dt``. The integrand is a polynomial of
    degree ``n - 1`` in ``t``, so Gauss-Legendre quadrature with ``n // 2 + 1`` nodes (exact
    up to degree ``2 (n // 2) + 1 >= n - 1``) gives the exact Shapley values up to rounding,
    for paths of any length, in ``O(n^2 / 2)``. They sum to ``v(N) = 1 - prod_j (1 - p_j)``.
Credit
    A path's credit is its touches' Shapley values normalised to sum 1: about proportional to
    ``p_i`` when activations are small, a touch ceding some of its share to the others when
    they are large.
"""

from __future__ import annotations

from itertools import pairwise
from numbers import Real

import numpy as np
from numpy.polynomial.legendre import leggauss

from recsys.attribution.base import AttributionModel
from recsys.attribution.noisy_or import fit_noisy_or
from recsys.attribution.paths import TouchPaths

CHUNK_ENTRIES = 4_000_000  # float64 entries (touches x quadrature nodes) per chunk


class ShapleyAttribution(AttributionModel):
    """Exact Shapley values of a path's touches under a fitted time-aware noisy-OR (see the
    module docstring).

    ``recency_days``: the recency bin edges in days (log-spaced by default: under 6 hours,
    6-12 hours, 12-24 hours, 1-2, 2-4, 4-8, 8-16 and 16 days or more; ``()``: no recency).
    Fitted state: ``noisy_or_`` (:class:`~recsys.attribution.noisy_or.NoisyOr`),
    ``channel_offset_`` (log-odds per channel), ``recency_logit_`` (log-odds per recency
    bin), ``n_iter_`` (L-BFGS iterations).
    """

    name = "shapley"
    data_driven = True

    def __init__(
        self,
        *,
        recency_days: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
        prior_strength: float = 10.0,
        max_iter: int = 500,
        tol: float = 1e-10,
    ) -> None:
        self.recency_days = recency_days
        self.prior_strength = prior_strength
        self.max_iter = max_iter
        self.tol = tol

    def _check_params(self) -> None:
        if not (np.isfinite(self.prior_strength) and self.prior_strength >= 0):
            raise self._invalid("prior_strength", f"must be >= 0, got {self.prior_strength}")
        if not (np.isfinite(self.tol) and self.tol > 0):
            raise self._invalid("tol", f"must be > 0, got {self.tol}")
        if not isinstance(self.max_iter, int | np.integer) or self.max_iter < 1:
            raise self._invalid("max_iter", f"must be an int >= 1, got {self.max_iter!r}")
        edges = self.recency_days
        if not isinstance(edges, tuple | list) or not all(
            isinstance(e, Real) and not isinstance(e, bool) for e in edges
        ):
            raise self._invalid("recency_days", f"must be a tuple of numbers, got {edges!r}")
        values = np.asarray(edges, np.float64)
        if not np.isfinite(values).all() or (values <= 0).any() or (np.diff(values) <= 0).any():
            raise self._invalid("recency_days", f"must be increasing and > 0, got {edges!r}")

    def _fit(self, paths: TouchPaths) -> None:
        model = fit_noisy_or(
            paths,
            recency_days=tuple(self.recency_days),
            prior_strength=self.prior_strength,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        self.noisy_or_ = model
        self.channel_offset_ = model.channel_offset
        self.recency_logit_ = model.recency_logit
        self.n_iter_ = model.n_iter

    def _weights(self, paths: TouchPaths) -> np.ndarray:
        return noisy_or_shapley(paths.indptr, self.noisy_or_.activation(paths))


def noisy_or_shapley(indptr: np.ndarray, activation: np.ndarray) -> np.ndarray:
    """``p_i * int_0^1 prod_{j != i} (1 - t p_j) dt`` for every touch ``i`` of the CSR paths
    ``indptr``, with ``p`` = ``activation`` (each < 1): the Shapley values of each path's
    noisy-OR game, exact by Gauss-Legendre quadrature."""
    indptr = np.asarray(indptr, np.int64)
    activation = np.asarray(activation, np.float64)
    lengths = np.diff(indptr)
    nodes = lengths // 2 + 1
    values = np.zeros(len(activation))
    for m in np.unique(nodes[lengths > 0]):
        x, w = leggauss(int(m))
        t, w = (x + 1.0) / 2.0, w / 2.0
        group = np.flatnonzero((nodes == m) & (lengths > 0))
        for chunk in _chunks(lengths[group], int(m)):
            paths = group[chunk]
            touches = _ranges(indptr[paths], indptr[paths + 1])
            values[touches] = activation[touches] * _integral(
                activation[touches], lengths[paths], t, w
            )
    return values


def _integral(p: np.ndarray, lengths: np.ndarray, t: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sum_k w_k prod_{j != i} (1 - t_k p_j)`` per touch, in blocks of nodes."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    result = np.zeros(len(p))
    step = max(1, CHUNK_ENTRIES // max(len(p), 1))
    for lo in range(0, len(t), step):
        log_stay = np.log1p(-p[:, None] * t[None, lo : lo + step])
        total = np.add.reduceat(log_stay, starts, axis=0)
        result += np.exp(np.repeat(total, lengths, axis=0) - log_stay) @ w[lo : lo + step]
    return result


def _chunks(lengths: np.ndarray, nodes: int) -> list[slice]:
    """Consecutive runs of paths holding about ``CHUNK_ENTRIES / nodes`` touches each."""
    ends = np.cumsum(lengths)
    bounds = np.searchsorted(ends, np.arange(0, ends[-1], max(1, CHUNK_ENTRIES // nodes)), "right")
    bounds = np.unique(np.concatenate([[0], bounds, [len(lengths)]]))
    return [slice(int(a), int(b)) for a, b in pairwise(bounds)]


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(lo[i], hi[i])``."""
    lengths = hi - lo
    offsets = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return offsets + np.arange(lengths.sum())
