"""Attribution models: hand-computed credit on tiny literal paths, the Markov removal effects
against a brute-force absorbing chain, Shapley by hand, input checks, and one contract every
registered model passes."""

from __future__ import annotations

from itertools import pairwise

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
from recsys.attribution.shapley import exact_shapley, sampled_shapley

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


def test_shapley_by_hand() -> None:
    paths = saturated_paths()
    model = ShapleyAttribution(prior_strength=0.0, tol=1e-13, max_iter=100_000).fit(paths)
    # three rates, three parameters: the MLE reproduces them.
    # 1-(1-q0)(1-qA) = .6, 1-(1-q0)(1-qB) = .4, 1-(1-q0)(1-qA)(1-qB) = .7
    # -> q0 = .2, qA = .5, qB = .25 (.8 * .5 = .4, .8 * .75 = .6, .8 * .5 * .75 = .3)
    assert model.baseline_ == pytest.approx(0.2, abs=1e-6)
    np.testing.assert_allclose(model.activation_, [0.5, 0.25], atol=1e-6)
    # v({}) = .2, v(A) = .6, v(B) = .4, v(AB) = .7:
    # phi_A = ((.6 - .2) + (.7 - .4)) / 2 = .35, phi_B = ((.4 - .2) + (.7 - .6)) / 2 = .15
    # normalised by .5: A .7, B .3
    credit = model.credit(paths)
    np.testing.assert_allclose(credit[20:22], [0.7, 0.3], atol=1e-6)


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
    shapley = ShapleyAttribution(prior_strength=0.0, tol=1e-13, max_iter=100_000).fit(paths)
    np.testing.assert_allclose(shapley.credit(paths)[20:22], [0.7, 0.3], atol=1e-6)


def test_exact_shapley_of_a_three_player_noisy_or() -> None:
    # q0 = 0, q = (1/2, 1/4, 0): C is a dummy. v(A) = 1/2, v(B) = 1/4, v(AB) = 1 - 1/2 * 3/4 = 5/8
    # phi_A = (1/2 + (5/8 - 1/4)) / 2 = 7/16, phi_B = (1/4 + (5/8 - 1/2)) / 2 = 3/16, phi_C = 0
    log_stay = np.log1p(-np.array([[0.5, 0.25, 0.0]]))
    np.testing.assert_allclose(exact_shapley(log_stay, 0.0), [[7 / 16, 3 / 16, 0.0]], atol=1e-15)


def test_sampled_shapley_sums_exactly_and_is_close() -> None:
    log_stay = np.log1p(-np.array([[0.5, 0.25, 0.1, 0.05]]))
    sampled = sampled_shapley(log_stay, 0.1, 2000, np.random.RandomState(0))
    exact = exact_shapley(log_stay, 0.1)
    assert sampled.sum() == pytest.approx(exact.sum(), abs=1e-12)  # v(N) - v({}) per order
    np.testing.assert_allclose(sampled, exact, atol=0.01)


def test_shapley_monte_carlo_is_deterministic_with_a_seed() -> None:
    paths = TouchPaths.from_lists(
        [[A, B, C, 3, 4], [A], [B, C], [3], [4, A]], [True, True, False, True, False], 5
    )

    def credit(seed: int, max_exact: int = 2) -> np.ndarray:
        model = ShapleyAttribution(
            max_exact_players=max_exact, n_permutations=64, random_state=seed
        )
        return model.fit(paths).credit(paths)

    np.testing.assert_array_equal(credit(7), credit(7))
    assert not np.array_equal(credit(7), credit(8))
    np.testing.assert_allclose(credit(7)[:5], credit(7, max_exact=10)[:5], atol=0.05)
    assert credit(7)[:5].sum() == pytest.approx(1.0, abs=1e-12)


def test_shapley_shrinks_rare_channels_and_prices_unseen_ones_at_the_pooled_rate() -> None:
    model = ShapleyAttribution(prior_strength=10.0).fit(saturated_paths())
    # with 20 exposures each and 10 pseudo-exposures, A and B move towards each other
    assert 0.25 < model.activation_[B] < model.activation_[A] < 0.5
    paths = TouchPaths.from_lists([[C]], [True], 3)
    assert model.noisy_or_.activation_of(np.array([C]))[0] == model.prior_mean_
    assert model.credit(paths)[0] == 1.0


# ---------------------------------------------------------------------------- the contract
def contract_paths() -> TouchPaths:
    """Repeats, revisits, a 12-channel path (Monte Carlo Shapley), empty non-converting paths."""
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
        ("shapley", {"n_permutations": 0}, "n_permutations"),
        ("shapley", {"max_exact_players": 20}, "max_exact_players"),
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
