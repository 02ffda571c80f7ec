"""Shapley-value attribution over each converting path's distinct channels, on a value function
learned from converting and non-converting paths.

Value function
    ``v(S) = 1 - (1 - q0) * prod_{c in S} (1 - q_c)``, the conversion probability of a visitor
    exposed to the channel set ``S`` under a noisy-OR fitted on every path
    (:mod:`recsys.attribution.noisy_or`: EM, shrinkage of rare channels towards the pooled
    rate, unseen channels at that rate).
Shapley values
    The players of a converting path are its ``n`` distinct channels ``N``. Player ``c`` gets
    ``phi_c = sum_{S subset N \\ {c}} |S|! (n - |S| - 1)! / n! * (v(S + c) - v(S))``, which sums
    over the players to ``v(N) - v({})``. Paths with up to ``max_exact_players`` players are
    enumerated exactly (all ``2^n`` coalitions). Above that, ``phi_c`` is the mean marginal
    contribution of ``c`` over ``n_permutations`` uniformly random orders of the players
    (Monte Carlo, drawn from ``random_state`` afresh on every ``credit`` call, so the same seed
    and paths give the same credit); each permutation's contributions sum exactly to
    ``v(N) - v({})``, so the estimate does too.
Credit
    A path's credit is its players' Shapley values normalised to sum 1 (the factor ``1 - q0``
    cancels), a channel's share split equally among its touches. A path whose players all have
    ``q_c = 0`` is shared equally among its distinct channels.
"""

from __future__ import annotations

from math import factorial

import numpy as np
from sklearn.utils import check_random_state

from recsys.attribution.base import AttributionModel
from recsys.attribution.noisy_or import fit_noisy_or
from recsys.attribution.paths import TouchPaths

CHUNK_ENTRIES = 4_000_000  # float64 entries per chunk of coalitions or permutations


class ShapleyAttribution(AttributionModel):
    """Shapley values of a path's channels under a fitted noisy-OR (see the module docstring).

    Fitted state: ``baseline_`` (q0), ``activation_`` (q_c per channel), ``exposures_`` (paths
    exposed to each channel), ``prior_mean_`` (the rate unseen channels get), ``n_iter_``.
    """

    name = "shapley"
    data_driven = True

    def __init__(
        self,
        *,
        prior_strength: float = 10.0,
        max_iter: int = 1000,
        tol: float = 1e-7,
        max_exact_players: int = 10,
        n_permutations: int = 256,
        random_state: int | np.random.RandomState | None = 0,
    ) -> None:
        self.prior_strength = prior_strength
        self.max_iter = max_iter
        self.tol = tol
        self.max_exact_players = max_exact_players
        self.n_permutations = n_permutations
        self.random_state = random_state

    def _check_params(self) -> None:
        if not (np.isfinite(self.prior_strength) and self.prior_strength >= 0):
            raise self._invalid("prior_strength", f"must be >= 0, got {self.prior_strength}")
        if not (np.isfinite(self.tol) and self.tol > 0):
            raise self._invalid("tol", f"must be > 0, got {self.tol}")
        for parameter, low, high in (
            ("max_iter", 1, None),
            ("max_exact_players", 1, 16),
            ("n_permutations", 1, None),
        ):
            value = getattr(self, parameter)
            if not isinstance(value, int | np.integer) or value < low or (high and value > high):
                bound = f">= {low}" + (f" and <= {high}" if high else "")
                raise self._invalid(parameter, f"must be an int {bound}, got {value!r}")

    def _fit(self, paths: TouchPaths) -> None:
        model = fit_noisy_or(
            paths, prior_strength=self.prior_strength, max_iter=self.max_iter, tol=self.tol
        )
        self.noisy_or_ = model
        self.baseline_ = model.baseline
        self.activation_ = model.activation
        self.exposures_ = model.exposures
        self.prior_mean_ = model.prior_mean
        self.n_iter_ = model.n_iter

    def _weights(self, paths: TouchPaths) -> np.ndarray:
        distinct = paths.distinct()
        log_stay = np.log1p(-self.noisy_or_.activation_of(distinct.channel))
        players = np.diff(distinct.indptr)
        values = np.zeros(distinct.n_pairs)
        random = check_random_state(self.random_state)
        for n in np.unique(players):
            group = distinct.indptr[:-1][players == n][:, None] + np.arange(n)
            if n == 1:
                values[group] = 1.0
            elif n <= self.max_exact_players:
                values[group] = exact_shapley(log_stay[group], self.baseline_)
            else:
                values[group] = sampled_shapley(
                    log_stay[group], self.baseline_, self.n_permutations, random
                )
        return distinct.spread(values)


def exact_shapley(log_stay: np.ndarray, baseline: float) -> np.ndarray:
    """Shapley values of the noisy-OR game by enumeration: ``log_stay`` is ``log(1 - q_c)``
    per game (row) and player (column); returns the values in the same shape."""
    games, n = log_stay.shape
    coalitions = (np.arange(2**n)[:, None] >> np.arange(n)) & 1  # (2^n, n), bit c = c in S
    size = coalitions.sum(axis=1)
    inside = np.array([factorial(s - 1) * factorial(n - s) for s in np.maximum(size, 1)])
    outside = np.array([factorial(s) * factorial(max(n - s - 1, 0)) for s in size])
    weight = np.where(coalitions == 1, inside[:, None], -outside[:, None]) / factorial(n)
    values = np.empty_like(log_stay)
    step = max(1, CHUNK_ENTRIES // 2**n)
    for lo in range(0, games, step):
        worth = 1.0 - (1.0 - baseline) * np.exp(log_stay[lo : lo + step] @ coalitions.T)
        values[lo : lo + step] = worth @ weight
    return values


def sampled_shapley(
    log_stay: np.ndarray, baseline: float, n_permutations: int, random: np.random.RandomState
) -> np.ndarray:
    """Monte Carlo Shapley values: mean marginal contributions over ``n_permutations`` random
    player orders per game (row of ``log_stay``), drawn from ``random``."""
    games, n = log_stay.shape
    values = np.empty_like(log_stay)
    step = max(1, CHUNK_ENTRIES // (n_permutations * n))
    for lo in range(0, games, step):
        chunk = log_stay[lo : lo + step]
        order = np.argsort(random.random_sample((len(chunk), n_permutations, n)), axis=-1)
        stay = np.exp(np.cumsum(np.take_along_axis(chunk[:, None, :], order, axis=-1), axis=-1))
        before = np.concatenate([np.ones_like(stay[..., :1]), stay[..., :-1]], axis=-1)
        contribution = np.empty_like(stay)
        np.put_along_axis(contribution, order, (1.0 - baseline) * (before - stay), axis=-1)
        values[lo : lo + step] = contribution.mean(axis=1)
    return values
