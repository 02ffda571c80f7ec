"""The noisy-OR conversion model behind Shapley attribution, fitted by EM on every path.

Model
    A visitor exposed to the set ``S`` of channels converts with probability
    ``v(S) = 1 - (1 - q0) * prod_{c in S} (1 - q_c)``: each channel ``c`` in ``S``
    independently "activates" the visitor with probability ``q_c``, and ``q0`` (the
    *baseline*) covers conversions no channel explains. ``S`` is the set of distinct channels
    of a path; how often a channel was clicked does not matter.
Fit
    EM on all paths, converting and not (latent: which causes activated). E-step: in a
    converting path ``p`` with set ``S``, cause ``c`` activated with probability
    ``q_c / v(S)``; in a non-converting path no cause did. M-step, with ``E_c`` the expected
    activations of ``c`` and ``n_c`` the paths exposed to ``c``:
    ``q_c = (E_c + k * m) / (n_c + k)`` and ``q0 = E_0 / n_paths``, where ``k`` =
    ``prior_strength`` and ``m = sum_c E_c / sum_c n_c`` is the pooled activation rate. That is
    the maximum a posteriori estimate under a Beta prior worth ``k`` pseudo-paths centred on the
    pooled rate (``k = 0``: maximum likelihood), so a channel seen on few paths is shrunk
    towards the pooled rate and a channel never seen gets ``m``. Iterates until no
    probability moves by more than ``tol`` (or ``max_iter``). ``q0`` is identified only
    through the noisy-OR form (every path has a touch) and cancels out of the normalised
    Shapley shares; it keeps the ``q_c`` from absorbing conversions common to all channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.attribution.paths import TouchPaths

MAX_ACTIVATION = 1.0 - 1e-9  # keeps log(1 - q) finite


@dataclass(frozen=True, eq=False)
class NoisyOr:
    """A fitted noisy-OR: ``baseline`` (q0), ``activation`` (q_c per channel), the paths
    exposed to each channel, the pooled rate unseen channels get, and EM iterations used."""

    baseline: float
    activation: np.ndarray
    exposures: np.ndarray
    prior_mean: float
    n_iter: int

    def activation_of(self, channel: np.ndarray) -> np.ndarray:
        """``q_c`` for channel codes, ``prior_mean`` for codes beyond the fitted channels."""
        channel = np.asarray(channel, np.int64)
        known = channel < len(self.activation)
        return np.where(known, self.activation[np.where(known, channel, 0)], self.prior_mean)

    def conversion_probability(self, paths: TouchPaths) -> np.ndarray:
        """``v(S)`` for each path's set of distinct channels."""
        distinct = paths.distinct()
        log_stay = np.bincount(
            distinct.path, np.log1p(-self.activation_of(distinct.channel)), paths.n_paths
        )
        return 1.0 - (1.0 - self.baseline) * np.exp(log_stay)


def fit_noisy_or(paths: TouchPaths, *, prior_strength: float, max_iter: int, tol: float) -> NoisyOr:
    """Fit the noisy-OR on ``paths`` by (MAP-)EM; see the module docstring."""
    distinct = paths.distinct()
    n_paths, n = paths.n_paths, paths.n_channels
    exposures = np.bincount(distinct.channel, minlength=n).astype(np.float64)
    converted = paths.converted
    rate = float(converted.mean()) if n_paths else 0.0
    baseline, activation = rate / 2, np.full(n, rate / 2)
    prior_mean, iterations = rate / 2, 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (reported as n_iter)
        log_stay = np.bincount(distinct.path, np.log1p(-activation)[distinct.channel], n_paths)
        probability = 1.0 - (1.0 - baseline) * np.exp(log_stay)
        ratio = np.where(converted, 1.0 / np.maximum(probability, 1e-300), 0.0)
        expected = activation * np.bincount(distinct.channel, ratio[distinct.path], n)
        prior_mean = float(expected.sum() / exposures.sum()) if exposures.sum() else rate / 2
        denominator = exposures + prior_strength
        new = np.divide(
            expected + prior_strength * prior_mean,
            denominator,
            out=np.full(n, prior_mean),
            where=denominator > 0,
        )
        new = np.clip(new, 0.0, MAX_ACTIVATION)
        new_baseline = min(baseline * float(ratio.sum()) / max(n_paths, 1), MAX_ACTIVATION)
        step = max(np.abs(new - activation).max(initial=0.0), abs(new_baseline - baseline))
        activation, baseline = new, new_baseline
        if step < tol:
            break
    return NoisyOr(baseline, activation, exposures, prior_mean, iterations)
