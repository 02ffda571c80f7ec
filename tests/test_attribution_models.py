"""Attribution models: hand-computed credit on tiny literal paths, the Markov removal effects
against a brute-force absorbing chain, Shapley by hand (the quadrature against enumeration,
recency bins learned on literal paths), input checks, and one contract every registered model
passes."""

from __future__ import annotations

from itertools import combinations, pairwise
from math import factorial

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import recsys.attribution as attribution
from recsys.attribution import (
    MODELS,
    AttributionModel,
    InvalidInputError,
    InvalidParameterError,
    InvalidPathsError,
    MarkovAttribution,
    ShapleyAttribution,
    TouchPaths,
    UnknownModelError,
    make_model,
    roll_up,
)
from recsys.attribution.noisy_or import span_shares
from recsys.attribution.shapley import noisy_or_shapley

DAY = 86_400.0
A, B, C = 0, 1, 2


def rule_paths() -> TouchPaths:
    """A 3-touch converting path, a 1-touch converting path, a non-converting path."""
    return TouchPaths.from_lists(
        [[A, B, C], [B], [C, A]],
        [True, True, False],
        n_channels=3,
        touch_times=[[0.0, 1 * DAY, 3 * DAY], [5 * DAY], [0.0, DAY]],
        end_time=[4 * DAY, 5 * DAY, 2 * DAY],
    )


def credit_of(name: str, paths: TouchPaths, **params: object) -> np.ndarray:
    return make_model(name, **params).fit(paths).credit(paths)


# ---------------------------------------------------------------------------- rule-based
@pytest.mark.parametrize(
    ("name", "three_touches"),
    [
        ("last_touch", [0.0, 0.0, 1.0]),
        ("first_touch", [1.0, 0.0, 0.0]),
        ("linear", [1 / 3, 1 / 3, 1 / 3]),
        ("position_based", [0.4, 0.2, 0.4]),  # first 0.4, last 0.4, the one middle 1 - 0.8
    ],
)
def test_rule_on_a_three_touch_and_a_one_touch_path(name: str, three_touches: list) -> None:
    credit = credit_of(name, rule_paths())
    np.testing.assert_allclose(credit[:3], three_touches)
    assert credit[3] == 1.0  # a single touch takes everything
    assert (credit[4:] == 0).all()  # the non-converting path


def test_time_decay_with_a_known_half_life() -> None:
    credit = credit_of("time_decay", rule_paths(), half_life_days=1.0)
    # ages before the conversion at day 4: 4, 3, 1 days -> 2^-4, 2^-3, 2^-1 = 1/16, 2/16, 8/16,
    # sum 11/16 -> 1/11, 2/11, 8/11
    np.testing.assert_allclose(credit[:3], [1 / 11, 2 / 11, 8 / 11])
    assert credit[3] == 1.0 and (credit[4:] == 0).all()


def test_time_decay_default_half_life_is_seven_days() -> None:
    paths = TouchPaths.from_lists([[A, B, C]], [True], 3, [[0.0, 7 * DAY, 14 * DAY]], [14 * DAY])
    # ages 14, 7, 0 days -> 1/4, 1/2, 1, sum 7/4 -> 1/7, 2/7, 4/7
    np.testing.assert_allclose(credit_of("time_decay", paths), [1 / 7, 2 / 7, 4 / 7])


def test_time_decay_does_not_underflow_on_old_touches() -> None:
    paths = TouchPaths.from_lists([[A, B]], [True], 2, [[0.0, 3650 * DAY]], [3651 * DAY])
    credit = credit_of("time_decay", paths, half_life_days=1.0)
    np.testing.assert_allclose(credit, [0.0, 1.0])  # 2^-3650 of the last touch's share


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (2, [0.5, 0.5]),  # 0.4 / (0.4 + 0.4) each
        (3, [0.4, 0.2, 0.4]),  # the middle touch takes 1 - 0.4 - 0.4
        (4, [0.4, 0.1, 0.1, 0.4]),  # two middle touches share 0.2
    ],
)
def test_position_based(n: int, expected: list) -> None:
    paths = TouchPaths.from_lists([[A, B, C, A][:n]], [True], 3)
    np.testing.assert_allclose(credit_of("position_based", paths), expected)


def test_position_based_two_touches_keep_the_ratio_of_first_and_last() -> None:
    paths = TouchPaths.from_lists([[A, B]], [True], 2)
    # 0.6 / (0.6 + 0.2) = 0.75, 0.2 / 0.8 = 0.25
    np.testing.assert_allclose(
        credit_of("position_based", paths, first=0.6, last=0.2), [0.75, 0.25]
    )


# ---------------------------------------------------------------------------- Markov
def revisit_paths() -> TouchPaths:
    """A, B, A -> conv; A -> null; B -> conv; B, A -> null (A and B form a cycle)."""
    return TouchPaths.from_lists([[A, B, A], [A], [B], [B, A]], [True, False, True, False], 2)


def brute_force_removal_effects(paths: TouchPaths) -> np.ndarray:
    """1 - P(conv | c redirected to null) / P(conv), on the dense absorbing chain counted with
    self-loops, solved once per removed channel."""
    n = paths.n_channels
    moves, ends, start = np.zeros((n, n)), np.zeros((n, 2)), np.zeros(n)
    for p in range(paths.n_paths):
        touches = paths.channel[paths.indptr[p] : paths.indptr[p + 1]].tolist()
        if not touches:
            continue
        start[touches[0]] += 1
        for a, b in pairwise(touches):
            moves[a, b] += 1
        ends[touches[-1], 0 if paths.converted[p] else 1] += 1
    out = np.maximum(moves.sum(1) + ends.sum(1), 1)
    moves, conversion, start = moves / out[:, None], ends[:, 0] / out, start / start.sum()

    def p_conv(removed: int | None) -> float:
        keep = np.ones(n)
        if removed is not None:
            keep[removed] = 0.0
        transient = moves * keep[None, :] * keep[:, None]
        h = np.linalg.solve(np.eye(n) - transient, conversion * keep)
        return float((start * keep) @ h)

    base = p_conv(None)
    return np.array([1 - p_conv(c) / base for c in range(n)])


def test_markov_removal_effects_by_hand() -> None:
    model = MarkovAttribution().fit(revisit_paths())
    # counts: start->A 2, start->B 2; A->B 1, A->conv 1, A->null 2 (out 4); B->A 2, B->conv 1
    # (out 3). h_A = 1/4 + h_B/4, h_B = 1/3 + 2/3 h_A -> h_A = 2/5, h_B = 3/5;
    # P(conv) = (2/5 + 3/5) / 2 = 1/2.
    # A removed: only start->B->conv: 1/2 * 1/3 = 1/6 -> RE_A = 1 - (1/6)/(1/2) = 2/3.
    # B removed: only start->A->conv: 1/2 * 1/4 = 1/8 -> RE_B = 1 - (1/8)/(1/2) = 3/4.
    np.testing.assert_allclose(model.conversion_from_, [2 / 5, 3 / 5])
    assert model.conversion_probability_ == pytest.approx(1 / 2)
    np.testing.assert_allclose(model.removal_effect_, [2 / 3, 3 / 4])
    # f_A = 1/2 + 1/2 * 2/3 = 5/6, f_B = 1/2 + 1/2 * 1/4 = 5/8 (revisits counted once)
    np.testing.assert_allclose(model.hit_, [5 / 6, 5 / 8])
    np.testing.assert_allclose(model.removal_effect_, brute_force_removal_effects(revisit_paths()))
    credit = model.credit(revisit_paths())
    # path A, B, A: A gets (2/3) / (2/3 + 3/4) = 8/17 split over its two touches, B 9/17
    np.testing.assert_allclose(credit, [4 / 17, 9 / 17, 4 / 17, 0, 1, 0, 0])


def random_paths(seed: int, n_paths: int = 60, n_channels: int = 6) -> TouchPaths:
    rng = np.random.default_rng(seed)
    channels = [rng.integers(0, n_channels, rng.integers(1, 6)).tolist() for _ in range(n_paths)]
    converted = rng.random(n_paths) < 0.4
    converted[0] = True
    return TouchPaths.from_lists(channels, converted, n_channels)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_markov_matches_the_brute_force_chain(seed: int) -> None:
    paths = random_paths(seed)  # repeats in a row, revisits, cycles of every length
    model = MarkovAttribution().fit(paths)
    assert model.hit_exact_.all()
    np.testing.assert_allclose(model.removal_effect_, brute_force_removal_effects(paths))


def test_markov_inverts_many_components_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # three strongly connected groups: channels 0-2, 3-5 and 6-9 (sizes 3, 3, 4), plus channel 10
    # seen once (its own trivial component); one 3x3 block per batch
    groups = [random_paths(seed, 30, size) for seed, size in ((4, 3), (5, 3), (6, 4))]
    offsets = (0, 3, 6)
    channels = [
        (paths.channel[paths.indptr[p] : paths.indptr[p + 1]] + offset).tolist()
        for paths, offset in zip(groups, offsets, strict=True)
        for p in range(paths.n_paths)
    ] + [[10]]
    converted = np.concatenate([paths.converted for paths in groups] + [[True]])
    paths = TouchPaths.from_lists(channels, converted, 11)
    monkeypatch.setattr("recsys.attribution.markov.DENSE_BATCH", 9)
    model = MarkovAttribution().fit(paths)
    assert model.hit_exact_.all()
    np.testing.assert_allclose(model.removal_effect_, brute_force_removal_effects(paths))


def test_markov_two_cycle_bound_in_large_components() -> None:
    paths = random_paths(0)
    exact = MarkovAttribution().fit(paths)
    bound = MarkovAttribution(exact_component_size=2).fit(paths)
    assert not bound.hit_exact_.all()  # the six channels form one component
    assert (bound.removal_effect_ >= exact.removal_effect_ - 1e-12).all()  # an upper bound
    assert (bound.removal_effect_ > exact.removal_effect_ + 1e-3).any()  # longer cycles missed
    # with only two-channel cycles the bound is exact
    np.testing.assert_allclose(
        MarkovAttribution(exact_component_size=2).fit(revisit_paths()).removal_effect_,
        [2 / 3, 3 / 4],
    )


def test_markov_without_conversions_shares_equally_per_channel() -> None:
    train = TouchPaths.from_lists([[A, B], [B]], [False, False], 2)
    paths = TouchPaths.from_lists([[A, A, B]], [True], 2)
    credit = MarkovAttribution().fit(train).credit(paths)
    np.testing.assert_allclose(credit, [0.25, 0.25, 0.5])  # A's half over its two touches


def test_markov_channels_unseen_in_fit_get_no_removal_effect() -> None:
    model = MarkovAttribution().fit(revisit_paths())
    paths = TouchPaths.from_lists([[A, C], [C]], [True, True], 3)
    np.testing.assert_allclose(model.credit(paths), [1.0, 0.0, 1.0])


# ---------------------------------------------------------------------------- Shapley
def saturated_paths() -> TouchPaths:
    """10 visitors saw A (6 convert), 10 saw B (4 convert), 10 saw A then B (7 convert)."""
    channels = [[A]] * 10 + [[B]] * 10 + [[A, B]] * 10
    converted = [True] * 6 + [False] * 4 + [True] * 4 + [False] * 6 + [True] * 7 + [False] * 3
    return TouchPaths.from_lists(channels, converted, 2)


def noisy_or_paths() -> TouchPaths:
    """8 visitors saw A (4 convert), 8 saw B (2 convert), 8 saw A then B (5 convert): rates
    1/2, 1/4 and 5/8 = 1 - (1 - 1/2)(1 - 1/4), exactly a noisy-OR."""
    channels = [[A]] * 8 + [[B]] * 8 + [[A, B]] * 8
    converted = [True] * 4 + [False] * 4 + [True] * 2 + [False] * 6 + [True] * 5 + [False] * 3
    return TouchPaths.from_lists(channels, converted, 2)


def exact_fit(**params: object) -> ShapleyAttribution:
    return ShapleyAttribution(prior_strength=0.0, tol=1e-15, max_iter=10_000, **params)


def test_shapley_by_hand() -> None:
    paths = noisy_or_paths()
    model = exact_fit().fit(paths)
    # every touch is at most 1 s old (one recency bin); the three rates are a noisy-OR of
    # pA = 1/2 and pB = 1/4, so the MLE reproduces them
    np.testing.assert_allclose(model.noisy_or_.activation(paths)[[0, 8]], [0.5, 0.25], atol=1e-6)
    np.testing.assert_allclose(model.noisy_or_.conversion_probability(paths)[16], 5 / 8)
    # v({}) = 0, v(A) = 1/2, v(B) = 1/4, v(AB) = 5/8:
    # phi_A = (1/2 + (5/8 - 1/4)) / 2 = 7/16, phi_B = (1/4 + (5/8 - 1/2)) / 2 = 3/16
    # normalised by 5/8: A 7/10, B 3/10
    np.testing.assert_allclose(model.credit(paths)[16:18], [0.7, 0.3], atol=1e-6)


def test_markov_and_shapley_differ_on_the_same_paths() -> None:
    paths = saturated_paths()
    markov = MarkovAttribution().fit(paths)
    # start->A 20/30, start->B 10/30; A: ->B 10, ->conv 6, ->null 4 (of 20);
    # B: ->conv 4 + 7 = 11, ->null 9 (of 20). h_B = 11/20, h_A = 6/20 + 1/2 * 11/20 = 23/40.
    # P(conv) = 2/3 * 23/40 + 1/3 * 11/20 = 17/30.
    # A removed: 1/3 * 11/20 = 11/60 -> RE_A = 1 - (11/60) / (17/30) = 23/34.
    # B removed: 2/3 * 6/20 = 1/5 -> RE_B = 1 - (1/5) / (17/30) = 11/17 = 22/34.
    np.testing.assert_allclose(markov.removal_effect_, [23 / 34, 22 / 34])
    np.testing.assert_allclose(markov.credit(paths)[20:22], [23 / 45, 22 / 45])
    markov = MarkovAttribution().fit(noisy_or_paths())
    # start->A 16/24, start->B 8/24; A: ->B 8, ->conv 4, ->null 4 (of 16);
    # B: ->conv 2 + 5 = 7, ->null 9 (of 16). h_B = 7/16, h_A = 4/16 + 1/2 * 7/16 = 15/32.
    # P(conv) = 2/3 * 15/32 + 1/3 * 7/16 = 11/24.
    # A removed: 1/3 * 7/16 = 7/48 -> RE_A = 1 - (7/48) / (11/24) = 15/22.
    # B removed: 2/3 * 4/16 = 1/6 -> RE_B = 1 - (1/6) / (11/24) = 7/11 = 14/22.
    np.testing.assert_allclose(markov.removal_effect_, [15 / 22, 14 / 22])
    np.testing.assert_allclose(markov.credit(noisy_or_paths())[16:18], [15 / 29, 14 / 29])
    shapley = exact_fit().fit(noisy_or_paths())
    np.testing.assert_allclose(shapley.credit(noisy_or_paths())[16:18], [0.7, 0.3], atol=1e-6)


def enumerated_shapley(p: list[float]) -> np.ndarray:
    """Shapley values of v(S) = 1 - prod_{S} (1 - p_j), summed over all coalitions."""
    n = len(p)

    def v(players: tuple[int, ...]) -> float:
        return 1.0 - float(np.prod([1.0 - p[j] for j in players]))

    values = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for players in combinations(others, size):
                values[i] += weight * (v((*players, i)) - v(players))
    return values


def test_quadrature_shapley_of_a_four_touch_path_by_hand() -> None:
    # p = (1/2, 1/4, 1/4, 0): phi_i = p_i * int_0^1 prod_{j != i} (1 - t p_j) dt
    # phi_1 = 1/2 * int (1 - t/4)^2 = 1/2 * (1 - 1/4 + 1/48) = 37/96
    # phi_2 = phi_3 = 1/4 * int (1 - t/2)(1 - t/4) = 1/4 * (1 - 3/8 + 1/24) = 1/6; phi_4 = 0
    # sum 69/96 = 23/32 = v(N) - v({}) = 1 - 1/2 * 3/4 * 3/4; quadrature with 4 // 2 + 1 = 3 nodes
    p = [0.5, 0.25, 0.25, 0.0]
    values = noisy_or_shapley(np.array([0, 4]), np.array(p))
    np.testing.assert_allclose(values, [37 / 96, 1 / 6, 1 / 6, 0.0], atol=1e-15)
    np.testing.assert_allclose(values, enumerated_shapley(p), atol=1e-15)


def test_quadrature_shapley_equals_enumeration_at_every_length() -> None:
    rng = np.random.default_rng(0)
    games = [rng.uniform(0.0, 0.999, n) for n in range(1, 11)]
    indptr = np.concatenate([[0], np.cumsum([len(p) for p in games])])
    values = noisy_or_shapley(indptr, np.concatenate(games))
    for p, lo, hi in zip(games, indptr[:-1], indptr[1:], strict=True):
        np.testing.assert_allclose(values[lo:hi], enumerated_shapley(list(p)), atol=1e-14)


def test_quadrature_shapley_of_a_long_path_sums_to_its_value() -> None:
    # too long to enumerate: the values still sum exactly to v(N) = 1 - prod (1 - p)
    p = np.random.default_rng(1).uniform(0.0, 0.3, 500)
    values = noisy_or_shapley(np.array([0, 500]), p)
    assert values.sum() == pytest.approx(1.0 - np.prod(1.0 - p), abs=1e-12)
    assert (values > 0).all() and np.argmax(values) == np.argmax(p)


def recency_paths() -> TouchPaths:
    """One channel, bins under and over a day: 3 conversions half a day after the touch, 1 two
    days after; 4 single touches followed by 2 conversion-free days."""
    ends = [DAY / 2] * 3 + [2 * DAY] * 5
    return TouchPaths.from_lists([[A]] * 8, [True] * 4 + [False] * 4, 1, [[0.0]] * 8, ends)


def test_shapley_learns_recency_bins_by_hand() -> None:
    model = exact_fit(recency_days=(1.0,)).fit(recency_paths())
    # each conversion-free path spends half of its 2 days with its touch under a day old and
    # half over (the oldest converting touch is 2 days old, so no age is cut): exposure
    # 4 * 1/2 = 2 per bin. Single touches: per bin the MLE is conversions / (conversions +
    # exposure), p(< 1 day) = 3 / (3 + 2) = 3/5, p(>= 1 day) = 1 / (1 + 2) = 1/3.
    assert model.noisy_or_.max_age == 2 * DAY
    paths = TouchPaths.from_lists([[A, A]], [True], 1, [[0.0, 1.5 * DAY]], [2 * DAY])
    np.testing.assert_allclose(model.noisy_or_.activation(paths), [1 / 3, 3 / 5], atol=1e-6)
    # ages 2 days and half a day: phi = (1/3 (1 - 3/10), 3/5 (1 - 1/6)) = (7/30, 1/2)
    # -> 7/22, 15/22. Without recency bins the two touches would split equally.
    np.testing.assert_allclose(model.credit(paths), [7 / 22, 15 / 22], atol=1e-6)
    timeless = exact_fit(recency_days=()).fit(recency_paths())
    np.testing.assert_allclose(timeless.credit(paths), [0.5, 0.5])


def test_conversion_free_span_shares_by_hand() -> None:
    # one non-converting path: touches at day 0 and day 1, end at day 3 -> its span is days 1-3;
    # bins under 1 day, 1-2 days, 2 days and more
    paths = TouchPaths.from_lists([[A, B]], [False], 2, [[0.0, DAY]], [3 * DAY])
    edges = np.array([DAY, 2 * DAY])
    shares = span_shares(paths, np.ones(2, bool), paths.path_index(), edges, np.inf)
    # the first touch is 1 to 3 days old: 1 day in [1, 2), 1 day in [2, inf), of 2
    # the second is 0 to 2 days old: 1 day in [0, 1), 1 day in [1, 2)
    np.testing.assert_allclose(shares, [[0, 0.5, 0.5], [0.5, 0.5, 0]])
    # ages over 2.5 days are cut: the first touch keeps half a day of [2, inf)
    cut = span_shares(paths, np.ones(2, bool), paths.path_index(), edges, 2.5 * DAY)
    np.testing.assert_allclose(cut, [[0, 0.5, 0.25], [0.5, 0.5, 0]])


def test_shapley_shrinks_rare_channels_and_prices_unseen_ones_at_the_common_rate() -> None:
    model = ShapleyAttribution(prior_strength=10.0).fit(noisy_or_paths())
    activation = model.noisy_or_.activation(noisy_or_paths())[[0, 8]]
    # with 16 exposures each and a prior worth 10 touches, A and B move towards each other
    assert 0.25 < activation[B] < activation[A] < 0.5
    paths = TouchPaths.from_lists([[C]], [True], 3)
    common = 1.0 / (1.0 + np.exp(-model.recency_logit_[0]))  # offset 0 in its recency bin
    assert model.noisy_or_.activation(paths)[0] == pytest.approx(common)
    assert model.credit(paths)[0] == 1.0


# ---------------------------------------------------------------------------- the contract
def contract_paths() -> TouchPaths:
    """Repeats, revisits, a 12-touch path, empty non-converting paths."""
    rng = np.random.default_rng(3)
    channels = [rng.integers(0, 15, rng.integers(1, 7)).tolist() for _ in range(80)]
    channels += [list(range(12)), [], []]
    converted = np.r_[rng.random(80) < 0.3, True, False, False]
    times = [sorted(rng.uniform(0, 30 * DAY, len(path)).tolist()) for path in channels]
    ends = [(max(t) if t else 0.0) + DAY for t in times]
    return TouchPaths.from_lists(channels, converted, 15, times, ends)


@pytest.fixture(params=sorted(MODELS))
def name(request: pytest.FixtureRequest) -> str:
    return request.param


class TestContract:
    """Every registered model, discovered from the registry."""

    def test_fit_returns_self(self, name: str) -> None:
        model = make_model(name)
        assert model.fit(contract_paths()) is model

    def test_credit_sums_to_one_per_converting_path_and_zero_elsewhere(self, name: str) -> None:
        paths = contract_paths()
        credit = make_model(name).fit(paths).credit(paths)
        assert credit.dtype == np.float64 and credit.shape == (paths.n_touches,)
        assert (credit >= 0).all()
        sums = np.bincount(paths.path_index(), credit, paths.n_paths)
        np.testing.assert_allclose(sums[paths.converted], 1.0, atol=1e-9)
        assert (credit[np.repeat(~paths.converted, paths.lengths())] == 0).all()

    def test_credit_is_deterministic(self, name: str) -> None:
        paths = contract_paths()
        model = make_model(name).fit(paths)
        np.testing.assert_array_equal(model.credit(paths), model.credit(paths))

    def test_params_round_trip_and_fit_keeps_them(self, name: str) -> None:
        model = make_model(name)
        params = model.get_params()
        assert type(model)(**params).get_params() == params
        model.fit(contract_paths())
        assert model.get_params() == params
        assert clone(model).get_params() == params
        assert model.set_params(**params) is model

    def test_learned_state_ends_in_underscore(self, name: str) -> None:
        model = make_model(name)
        before = set(vars(model))
        learned = set(vars(model.fit(contract_paths()))) - before
        assert learned and all(attribute.endswith("_") for attribute in learned)

    def test_credit_before_fit(self, name: str) -> None:
        model = make_model(name)
        if model.data_driven:
            with pytest.raises(NotFittedError, match="fit"):
                model.credit(contract_paths())
        else:  # a fixed rule needs no fit
            assert model.credit(contract_paths()).shape == (contract_paths().n_touches,)

    def test_unknown_parameter_is_named(self, name: str) -> None:
        with pytest.raises(InvalidParameterError) as error:
            make_model(name, no_such_setting=1)
        assert (error.value.model, error.value.parameter) == (name, "no_such_setting")

    def test_paths_without_conversions_get_zeros(self, name: str) -> None:
        paths = TouchPaths.from_lists([[A, B], [C]], [False, False], 15)
        model = make_model(name).fit(contract_paths())
        assert (model.credit(paths) == 0).all()


def test_every_model_class_is_registered() -> None:
    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found))

    concrete = {
        cls
        for cls in subclasses(AttributionModel)
        if not getattr(cls, "__abstractmethods__", None) and cls.__module__.startswith("recsys.")
    }
    assert concrete == set(MODELS.values())
    assert all(MODELS[cls.name] is cls for cls in concrete)
    assert {cls.__name__ for cls in concrete} <= set(attribution.__all__)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("name", "params", "parameter"),
    [
        ("time_decay", {"half_life_days": 0.0}, "half_life_days"),
        ("position_based", {"first": 0.7, "last": 0.5}, "last"),
        ("position_based", {"first": -0.1}, "first"),
        ("markov", {"exact_component_size": 1}, "exact_component_size"),
        ("shapley", {"max_iter": 0}, "max_iter"),
        ("shapley", {"recency_days": (2.0, 1.0)}, "recency_days"),
        ("shapley", {"recency_days": (0.0, 1.0)}, "recency_days"),
        ("shapley", {"recency_days": "1,2"}, "recency_days"),
        ("shapley", {"prior_strength": -1.0}, "prior_strength"),
    ],
)
def test_bad_parameter_values_are_named(name: str, params: dict, parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as error:
        make_model(name, **params)
    assert error.value.parameter == parameter


def test_unknown_model_is_named() -> None:
    with pytest.raises(UnknownModelError) as error:
        make_model("data_driven_magic")
    assert error.value.model == "data_driven_magic" and "markov" in error.value.known


def test_set_params_out_of_range_fails_at_fit() -> None:
    model = make_model("time_decay").set_params(half_life_days=-1.0)
    with pytest.raises(InvalidParameterError, match="half_life_days"):
        model.fit(rule_paths())


GOOD = {
    "indptr": [0, 2, 3],
    "channel": [0, 1, 1],
    "touch_time": [0.0, 1.0, 5.0],
    "end_time": [2.0, 5.0],
    "converted": [True, False],
    "n_channels": 2,
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"indptr": [1, 2, 3]}, "indptr"),  # does not start at 0
        ({"indptr": [0, 3, 2]}, "indptr"),  # decreasing
        ({"indptr": [0.0, 2.0, 3.0]}, "indptr"),  # not integers
        ({"channel": [0, 1]}, "channel"),  # fewer touches than indptr says
        ({"channel": [0, 2, 1]}, "channel"),  # code 2 with n_channels = 2
        ({"channel": [0, -1, 1]}, "channel"),
        ({"touch_time": [0.0, 1.0]}, "touch_time"),
        ({"touch_time": [1.0, 0.0, 5.0]}, "touch_time"),  # backwards within a path
        ({"touch_time": [0.0, np.nan, 5.0]}, "touch_time"),
        ({"end_time": [2.0]}, "end_time"),
        ({"end_time": [0.5, 5.0]}, "end_time"),  # a touch at 1.0 after the end at 0.5
        ({"converted": [True]}, "converted"),
        ({"converted": [2, 0]}, "converted"),
        ({"n_channels": 2.0}, "n_channels"),
        ({"n_channels": -1}, "n_channels"),
    ],
)
def test_bad_paths_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidPathsError) as error:
        TouchPaths(**{**GOOD, **changes})
    assert error.value.field == field
    assert isinstance(error.value, ValueError)


def test_a_converting_path_needs_a_touch() -> None:
    with pytest.raises(InvalidPathsError) as error:
        TouchPaths(
            **{**GOOD, "indptr": [0, 3, 3], "end_time": [5.0, 5.0], "converted": [False, True]}
        )
    assert error.value.field == "converted"


def test_paths_coerce_dtypes_and_allow_empty_non_converting_paths() -> None:
    paths = TouchPaths(
        **{**GOOD, "indptr": [0, 2, 3, 3], "end_time": [2, 5, 9], "converted": [1, 0, 0]}
    )
    assert paths.indptr.dtype == np.int64 and paths.end_time.dtype == np.float64
    assert paths.converted.dtype == bool and paths.n_paths == 3
    assert paths.path_index().tolist() == [0, 0, 1]


# ---------------------------------------------------------------------------- roll-up
def test_roll_up_by_key_in_conversions_and_value() -> None:
    paths = rule_paths()
    credit = make_model("linear").credit(paths)  # [1/3, 1/3, 1/3, 1, 0, 0]
    advocate = np.array([0, 1, 1, 2, 0, 1])
    rolled = roll_up(paths, credit, advocate, value=np.array([30.0, 10.0, 99.0]), n_keys=4)
    # advocate 0: 1/3 of path 0; advocate 1: 2/3 of path 0; advocate 2: all of path 1
    np.testing.assert_allclose(rolled.conversions, [1 / 3, 2 / 3, 1.0, 0.0])
    # value: 30 / 3 = 10, 30 * 2/3 = 20, 10 (path 2 does not convert: its 99 is never credited)
    np.testing.assert_allclose(rolled.value, [10.0, 20.0, 10.0, 0.0])
    assert rolled.conversions.sum() == pytest.approx(paths.converted.sum())
    assert roll_up(paths, credit, advocate).value is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"credit": np.zeros(5)}, "credit"),
        ({"key": np.zeros(5, int)}, "key"),
        ({"key": np.array([0, 1, -1, 2, 0, 1])}, "key"),
        ({"key": np.zeros(6)}, "key"),  # floats
        ({"value": np.ones(2)}, "value"),
        ({"value": np.array([1.0, np.inf, 0.0])}, "value"),
        ({"n_keys": 2}, "n_keys"),
    ],
)
def test_roll_up_names_the_bad_field(changes: dict, field: str) -> None:
    arguments = {
        "credit": np.zeros(6),
        "key": np.array([0, 1, 1, 2, 0, 1]),
        "value": np.ones(3),
        "n_keys": None,
        **changes,
    }
    with pytest.raises(InvalidInputError) as error:
        roll_up(rule_paths(), **arguments)
    assert error.value.field == field
