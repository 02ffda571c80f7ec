"""First-order Markov-chain attribution with exact removal effects (no simulation).

Chain
    States: a start state, one state per channel, and two absorbing states, *conversion* and
    *null* (the end of a non-converting path). Transition probabilities are counted from every
    path with at least one touch: start -> first channel, each channel -> the next channel, the
    last channel -> conversion or null. Repeats of a channel in a row (``A, A``) are dropped:
    a self-loop changes no hitting or conversion probability, only the time spent in a state.
Removal effect
    ``RE(c) = 1 - P(conversion | c removed) / P(conversion)``, where removing ``c`` redirects
    every transition into ``c`` to null. By the strong Markov property, the walks that convert
    with ``c`` present but not without it are exactly the converting walks that visit ``c``, so
    ``P(conv) - P(conv | c removed) = f(c) * h(c)`` with ``h(c) = P(conversion | at c)`` and
    ``f(c) = P(the walk from start ever visits c)``. Hence ``RE(c) = f(c) h(c) / P(conv)``.
Computation (``Q`` = channel-to-channel transition matrix, ``G = (I - Q)^-1``)
    ``h`` is one sparse solve, ``(I - Q) h = r`` (``r`` = one-step conversion probabilities);
    the expected visits from start ``N(c) = G[start, c]`` are one transposed solve,
    ``(I - Q)^T N = s`` (``s`` = first-touch distribution). Since ``N(c) = f(c) G[c, c]``
    (``G[c, c]`` = expected visits to ``c`` starting at ``c``, revisits included),
    ``f(c) = N(c) / G[c, c]``. A return to ``c`` never leaves ``c``'s strongly connected
    component, so ``G[c, c]`` is the diagonal of the inverse of that component's block of
    ``I - Q``: computed exactly (dense inverse) for components of up to
    ``exact_component_size`` channels. In a larger component (e.g. one giant component over
    tens of thousands of advocates) that inverse is out of reach (sparse LU fills in
    completely), and ``G[c, c] = 1 / (1 - sum_j Q[c, j] Q[j, c])`` counts returns through
    two-channel cycles ``c -> j -> c`` only: exact when ``c`` lies on no longer cycle, otherwise
    a lower bound of ``G[c, c]``, so ``f(c)`` and ``RE(c)`` are upper bounds there.
    ``hit_exact_`` marks the channels whose ``f`` is exact. On random paths over one
    2,000-channel component the bound overstated ``f`` by at most 0.42% (mean 0.013%;
    ``markov_bound`` in experiments/bench_attribution_models.py). The two solves are exact up
    to GMRES's relative residual of 1e-12 (a direct solve if GMRES does not reach it).
Credit
    A converting path's credit is shared among its distinct channels in proportion to their
    removal effects, a channel's share split equally among its touches. If every channel of the
    path has removal effect 0 (e.g. channels unseen in ``fit``), the distinct channels share
    equally.
Time
    The chain ignores when touches happened. States of channel x recency bin (the age at the
    path's end) would not learn recency: a non-converting path ends by convention (e.g. the
    lookback after its last touch), so its states would all be old and every recent state would
    lead to conversion, whatever its channel. The time-aware model is ``shapley``, which sees
    non-converting paths over their whole conversion-free span
    (:mod:`~recsys.attribution.noisy_or`).
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

from recsys.attribution.base import AttributionModel
from recsys.attribution.paths import TouchPaths

logger = logging.getLogger(__name__)

SOLVE_RTOL = 1e-12
DENSE_BATCH = 20_000_000  # float64 entries of stacked component blocks inverted at once


class MarkovAttribution(AttributionModel):
    """Removal-effect attribution on a first-order Markov chain (see the module docstring).

    Fitted state: ``transition_`` (CSR, channel -> channel, self-loops dropped), ``start_``
    (first-touch distribution), ``to_conversion_`` (one-step conversion probability),
    ``conversion_from_`` (``h``), ``visits_`` (``N``), ``hit_`` (``f``), ``hit_exact_``,
    ``conversion_probability_`` (``P(conv)`` from start) and ``removal_effect_``.
    """

    name = "markov"
    data_driven = True

    def __init__(self, *, exact_component_size: int = 2000) -> None:
        self.exact_component_size = exact_component_size

    def _check_params(self) -> None:
        size = self.exact_component_size
        if not isinstance(size, int | np.integer) or size < 2:
            raise self._invalid("exact_component_size", f"must be an int >= 2, got {size!r}")

    def _fit(self, paths: TouchPaths) -> None:
        transition, start, to_conversion = transitions(paths)
        system = (sp.identity(paths.n_channels, format="csr") - transition).tocsr()
        conversion_from = _solve(system, to_conversion)
        visits = _solve(system.T.tocsr(), start)
        returns, exact = return_visits(transition, int(self.exact_component_size))
        self.transition_ = transition
        self.start_ = start
        self.to_conversion_ = to_conversion
        self.conversion_from_ = np.clip(conversion_from, 0.0, 1.0)
        self.visits_ = np.maximum(visits, 0.0)
        self.hit_ = np.clip(self.visits_ / returns, 0.0, 1.0)
        self.hit_exact_ = exact
        self.conversion_probability_ = float(start @ self.conversion_from_)
        if self.conversion_probability_ > 0:
            effect = self.hit_ * self.conversion_from_ / self.conversion_probability_
            self.removal_effect_ = np.clip(effect, 0.0, 1.0)
        else:
            self.removal_effect_ = np.zeros(paths.n_channels)

    def _weights(self, paths: TouchPaths) -> np.ndarray:
        distinct = paths.distinct()
        effect = np.zeros(max(paths.n_channels, self.n_channels_))
        effect[: self.n_channels_] = self.removal_effect_
        return distinct.spread(effect[distinct.channel])


def transitions(paths: TouchPaths) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The chain counted from ``paths``: ``Q`` (CSR, n_channels x n_channels, self-loops
    dropped), the first-touch distribution ``s`` and the one-step conversion probabilities
    ``r`` per channel. Each channel's row of ``Q`` plus its conversion and null probabilities
    sums to 1 (channels never seen have an empty row)."""
    n = paths.n_channels
    lengths = paths.lengths()
    nonempty = lengths > 0
    first = paths.channel[paths.indptr[:-1][nonempty]]
    last = paths.channel[paths.indptr[1:][nonempty] - 1]
    converted = paths.converted[nonempty]
    follows = np.ones(paths.n_touches, bool)
    follows[paths.indptr[:-1][nonempty]] = False  # touch i + 1 follows touch i in its path
    source, target = paths.channel[:-1][follows[1:]], paths.channel[1:][follows[1:]]
    moves = source != target
    source, target = source[moves], target[moves]
    out = np.bincount(source, minlength=n) + np.bincount(last, minlength=n)
    scale = 1.0 / np.maximum(out, 1)
    transition = sp.csr_matrix(
        (scale[source], (source, target)), shape=(n, n), dtype=np.float64
    )  # duplicates are summed
    start = np.bincount(first, minlength=n) / max(len(first), 1)
    to_conversion = np.bincount(last[converted], minlength=n) * scale
    return transition, start.astype(np.float64), to_conversion


def return_visits(transition: sp.csr_matrix, exact_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``G[c, c]``, the expected visits to ``c`` from ``c`` (>= 1), and whether it is exact.

    Exact for channels in strongly connected components of at most ``exact_size`` channels;
    elsewhere returns through two-channel cycles only (see the module docstring).
    """
    n = transition.shape[0]
    two_cycles = np.asarray(transition.multiply(transition.T).sum(axis=1)).ravel()
    returns = 1.0 / (1.0 - np.minimum(two_cycles, 1.0 - 1e-12))
    if n == 0:
        return returns, np.ones(0, bool)
    _, label = connected_components(transition, directed=True, connection="strong")
    comp_size = np.bincount(label)
    size = comp_size[label]
    exact = size <= min(2, exact_size)  # a two-channel component has only two-cycles
    blocks = (comp_size >= 3) & (comp_size <= exact_size)
    if blocks.any():
        _exact_blocks(transition, label, comp_size, blocks, returns)
        exact |= blocks[label]
    return returns, exact


def _exact_blocks(
    transition: sp.csr_matrix,
    label: np.ndarray,
    comp_size: np.ndarray,
    blocks: np.ndarray,
    returns: np.ndarray,
) -> None:
    """Overwrite ``returns`` with the exact diagonal of ``(I - Q_KK)^-1`` for every component
    ``K`` flagged in ``blocks``, inverting components of equal size in stacked batches."""
    order = np.argsort(label, kind="stable")
    first = np.concatenate([[0], np.cumsum(comp_size)[:-1]])
    position = np.empty(len(label), np.int64)
    position[order] = np.arange(len(label)) - first[label[order]]
    coo = transition.tocoo()
    inside = (label[coo.row] == label[coo.col]) & blocks[label[coo.row]]
    rows, cols, values = coo.row[inside], coo.col[inside], coo.data[inside]
    for s in np.unique(comp_size[blocks]):
        comps = np.flatnonzero(blocks & (comp_size == s))
        rank = np.full(len(comp_size), -1)
        rank[comps] = np.arange(len(comps))
        edge_rank = rank[label[rows]]
        for lo in range(0, len(comps), max(1, DENSE_BATCH // (s * s))):
            hi = min(lo + max(1, DENSE_BATCH // (s * s)), len(comps))
            stack = np.broadcast_to(np.eye(s), (hi - lo, s, s)).copy()
            take = (edge_rank >= lo) & (edge_rank < hi)
            np.subtract.at(
                stack, (edge_rank[take] - lo, position[rows[take]], position[cols[take]]),
                values[take],
            )  # fmt: skip
            diagonal = np.diagonal(np.linalg.inv(stack), axis1=1, axis2=2)
            members = np.flatnonzero(np.isin(label, comps[lo:hi]))
            returns[members] = diagonal[rank[label[members]] - lo, position[members]]


def _solve(system: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    """Solve ``system @ x = rhs`` for ``system = I - Q`` (or its transpose), ``Q`` substochastic.

    GMRES to a relative residual of 1e-12 (sparse LU fills in on large transition graphs); a
    direct solve if it does not get there.
    """
    if not rhs.any():
        return np.zeros_like(rhs)
    solution, _ = spla.gmres(system, rhs, rtol=SOLVE_RTOL, atol=0.0, restart=100, maxiter=100)
    residual = np.abs(system @ solution - rhs).max()
    if residual > 1e-10 * max(np.abs(rhs).max(), 1.0):
        logger.warning("markov: GMRES residual %.2e, falling back to a direct solve", residual)
        solution = spla.spsolve(system.tocsc(), rhs)
    return np.asarray(solution, np.float64)
