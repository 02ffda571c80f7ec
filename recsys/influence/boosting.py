"""Gradient-boosted additive models: depth-1 trees (stumps), one feature each.

A sum of stumps is a sum of one step function per feature (a generalised additive model), so
the per-feature terms of the score are exact contributions, like the spline model's. Each round
fits scikit-learn's ``DecisionTreeRegressor(max_depth=1)`` to the Newton pseudo-residuals
``-g / h`` of the loss with weights ``h`` (second-order boosting) and adds
``learning_rate`` times its leaf values to every row's score.

Losses
    ``pairs``: rows are ``[A; B]`` (two halves), the score of a pair is ``F(A) - F(B)`` and the
    loss is the Bradley-Terry (pairwise logistic) loss of the choice; the functional gradient of
    each user is the sum over its pair (RankNet's). ``labels``: the logistic loss of 0/1 labels,
    starting from the base-rate log-odds.
Rounds
    ``validation_fraction`` of the pairs (or rows) is held out, boosting runs ``max_rounds`` on
    the rest and the round with the lowest held-out loss is kept; the model is then refitted on
    everything with that many rounds (``rounds_``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_expit
from sklearn.tree import DecisionTreeRegressor

logger = logging.getLogger(__name__)

LOSSES = ("pairs", "labels")


@dataclass(frozen=True)
class Stumps:
    """A fitted sum of stumps:
    ``F(x) = intercept + sum_j sum_k steps[j][k] * (x_j > thresholds[j][k])``."""

    thresholds: list[np.ndarray]
    steps: list[np.ndarray]
    intercept: float
    rounds: int
    validation_loss: float | None


def boost_stumps(
    x: np.ndarray,
    y: np.ndarray,
    *,
    loss: str,
    max_rounds: int = 1000,
    learning_rate: float = 0.05,
    min_leaf: int = 20,
    validation_fraction: float = 0.2,
    random_state: int | None = 42,
    init: np.ndarray | None = None,
) -> Stumps:
    """Fit a sum of stumps to ``x`` (pairs: ``[A; B]`` stacked, ``y`` one choice per pair),
    starting from the scores ``init`` (one per row of ``x``; default the loss's constant)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    n_units = len(y)  # pairs or rows: the units that are split off for validation
    rounds, best_loss = max_rounds, None
    if validation_fraction > 0:
        held = np.random.default_rng(random_state).random(n_units) < validation_fraction
        if 0 < held.sum() < n_units:
            _, curve = _boost(
                _units(x, ~held, loss), y[~held], loss, max_rounds, learning_rate, min_leaf,
                validate=(_units(x, held, loss), y[held]),
                init=_split_init(init, held, loss),
            )  # fmt: skip
            rounds = int(np.argmin(curve)) + 1
            best_loss = float(curve[rounds - 1])
    stumps, _ = _boost(
        x, y, loss, rounds, learning_rate, min_leaf, init=None if init is None else (init, None)
    )
    thresholds, steps, lefts = _collect(stumps, x.shape[1])
    return Stumps(thresholds, steps, _start(y, loss) + lefts, len(stumps), best_loss)


def _split_init(
    init: np.ndarray | None, held: np.ndarray, loss: str
) -> tuple[np.ndarray, np.ndarray] | None:
    if init is None:
        return None
    return _units(init, ~held, loss), _units(init, held, loss)


def _units(x: np.ndarray, keep: np.ndarray, loss: str) -> np.ndarray:
    if loss == "pairs":
        n = len(keep)
        return np.concatenate([x[:n][keep], x[n:][keep]])
    return x[keep]


def _gradients(score: np.ndarray, y: np.ndarray, loss: str) -> tuple[np.ndarray, np.ndarray]:
    if loss == "pairs":
        n = len(y)
        sign = 2.0 * y - 1.0
        p = expit(-sign * (score[:n] - score[n:]))
        g = -sign * p
        h = p * (1.0 - p)
        return np.concatenate([g, -g]), np.concatenate([h, h])
    p = expit(score)
    return p - y, p * (1.0 - p)


def _loss(score: np.ndarray, y: np.ndarray, loss: str) -> float:
    if loss == "pairs":
        n = len(y)
        margin = (2.0 * y - 1.0) * (score[:n] - score[n:])
    else:
        margin = (2.0 * y - 1.0) * score
    return float(-log_expit(margin).mean())


def _start(y: np.ndarray, loss: str) -> float:
    if loss == "pairs":
        return 0.0
    rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    return float(np.log(rate / (1 - rate)))


def _boost(
    x: np.ndarray,
    y: np.ndarray,
    loss: str,
    rounds: int,
    learning_rate: float,
    min_leaf: int,
    validate: tuple[np.ndarray, np.ndarray] | None = None,
    init: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> tuple[list[tuple[int, float, float, float]], np.ndarray]:
    """``rounds`` stumps ``(feature, threshold, left, right)`` (already shrunk) and, with
    ``validate``, the held-out loss after each round."""
    start = _start(y, loss)
    score = np.full(len(x), start)
    if init is not None:
        score = score + init[0]
    held: np.ndarray | None = None  # the held-out scores, with ``validate``
    if validate is not None:
        held = np.full(len(validate[0]), start)
        if init is not None:
            if init[1] is None:
                raise ValueError("init needs held-out offsets when validate is given")
            held = held + init[1]
    stumps: list[tuple[int, float, float, float]] = []
    curve = np.zeros(rounds if validate else 0)
    tree = DecisionTreeRegressor(max_depth=1, min_samples_leaf=min_leaf)
    for r in range(rounds):
        g, h = _gradients(score, y, loss)
        h = np.maximum(h, 1e-12)
        tree.fit(x, -g / h, sample_weight=h)
        t = tree.tree_
        if t.node_count < 3:  # no split helps: nothing left to learn
            if validate is not None and held is not None:
                curve[r:] = curve[r - 1] if r else _loss(held, validate[1], loss)
            break
        feature, threshold = int(t.feature[0]), float(t.threshold[0])
        left = learning_rate * float(t.value[1].ravel()[0])
        right = learning_rate * float(t.value[2].ravel()[0])
        stumps.append((feature, threshold, left, right))
        score += np.where(x[:, feature] <= threshold, left, right)
        if validate is not None and held is not None:
            held += np.where(validate[0][:, feature] <= threshold, left, right)
            curve[r] = _loss(held, validate[1], loss)
    return stumps, curve


def _collect(
    stumps: list[tuple[int, float, float, float]], n_features: int
) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Merge the stumps into one step function per feature: sorted thresholds and the jump
    at each; every stump's left value goes into the intercept."""
    start = 0.0
    per_feature: list[dict[float, float]] = [{} for _ in range(n_features)]
    for feature, threshold, left, right in stumps:
        start += left
        jumps = per_feature[feature]
        jumps[threshold] = jumps.get(threshold, 0.0) + (right - left)
    thresholds = [np.array(sorted(j), dtype=float) for j in per_feature]
    steps = [np.array([j[t] for t in sorted(j)], dtype=float) for j in per_feature]
    return thresholds, steps, start
