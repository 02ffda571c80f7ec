"""The influence scorer: exact reasons, calibration, flags, tiers, persistence, errors;
baselines, fairness counts and the review policy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import logit
from sklearn.exceptions import NotFittedError

from recsys.ids import IdMap
from recsys.influence import (
    Candidate,
    Confidence,
    FollowersBaseline,
    InfluenceScorer,
    LeaderboardBaseline,
    ReviewState,
    apply_reviews,
    flag_rates,
    in_band,
    tiers,
)
from recsys.matrix import FeatureMatrix

FEATURES = ("log_followers_max", "engagement_lift", "log_shares_measured")


def _matrix(columns: dict[str, np.ndarray]) -> FeatureMatrix:
    n = len(next(iter(columns.values())))
    ids = IdMap(np.array([f"e{i}" for i in range(n)], dtype=object), "advocate")
    names = tuple(columns)
    return FeatureMatrix(np.column_stack([columns[c] for c in names]), names, ids)


def _population(n: int = 3000, seed: int = 0) -> tuple[FeatureMatrix, np.ndarray]:
    """Labels drawn from a known logistic model of lift and followers."""
    rng = np.random.default_rng(seed)
    followers = np.exp(rng.normal(6.5, 1.3, n))
    lift = rng.normal(0, 1, n)
    shares = rng.poisson(6, n).astype(float)
    truth = 1 / (1 + np.exp(-(-3.0 + 1.8 * lift + 0.5 * (np.log1p(followers) - 6.5))))
    labels = (rng.random(n) < truth).astype(float)
    matrix = _matrix(
        {
            "log_followers_max": np.log1p(followers),
            "engagement_lift": lift,
            "log_shares_measured": np.log1p(shares),
            "followers_max": followers,
            "followers_linkedin": followers,
            "engagement_lift_ratio": np.exp(lift),
            "shares_measured": shares,
        }
    )
    return matrix, labels


@pytest.fixture(scope="module")
def fitted() -> tuple[InfluenceScorer, FeatureMatrix, np.ndarray]:
    matrix, labels = _population()
    return InfluenceScorer(features=FEATURES).fit(matrix, labels), matrix, labels


def test_contributions_recompute_the_score_and_reasons_are_the_largest(fitted) -> None:
    scorer, matrix, _ = fitted
    contributions = scorer.contributions(matrix)
    score = scorer.predict_proba(matrix)
    np.testing.assert_allclose(scorer.base_ + contributions.sum(axis=1), logit(score), atol=1e-9)
    for i, candidate in enumerate(scorer.score(matrix)[:50]):
        assert 2 <= len(candidate.reasons) <= 3  # three features: at most three reasons
        j = [scorer.feature_names_.index(r.feature) for r in candidate.reasons]
        np.testing.assert_allclose([r.contribution for r in candidate.reasons], contributions[i, j])
        largest = np.argsort(-np.abs(contributions[i]))[:2]
        assert set(j[:2]) == set(largest.tolist())
        assert candidate.score == pytest.approx(score[i])


def test_the_model_learns_the_planted_direction_and_reasons_read_well(fitted) -> None:
    scorer, matrix, _ = fitted
    contributions = scorer.contributions(matrix)
    lift = matrix.column("engagement_lift")
    j = scorer.feature_names_.index("engagement_lift")
    assert np.corrcoef(lift, contributions[:, j])[0, 1] > 0.95
    top = int(np.argmax(lift))
    reason = next(r for r in scorer.score(matrix)[top].reasons if r.feature == "engagement_lift")
    assert reason.value == pytest.approx(np.exp(lift[top])) and reason.percentile == 100.0
    assert "top 1%" in reason.text and "raises the score" in reason.text
    assert "engagement per share vs. what their followers predict" in reason.text


def test_scores_are_calibrated_on_held_out_data(fitted) -> None:
    scorer, _, _ = fitted
    matrix, labels = _population(6000, seed=1)
    score = scorer.predict_proba(matrix)
    assert abs(score.mean() - labels.mean()) < 0.02
    bins = np.quantile(score, np.linspace(0, 1, 6))
    which = np.clip(np.searchsorted(bins, score, side="right") - 1, 0, 4)
    for b in range(5):
        inside = which == b
        assert abs(score[inside].mean() - labels[inside].mean()) < 0.05
    assert scorer.calibration_.startswith("sigmoid")


def test_flags_need_score_band_and_history() -> None:
    matrix = _matrix(
        {
            "log_followers_max": np.log1p([5000, 500, 5000, 200_000, 5000.0, 5000]),
            "engagement_lift": np.array([2.0, 2.0, 2.0, 2.0, -2.0, 2.0]),
            "log_shares_measured": np.log1p([10, 10, 1, 10, 10.0, 10]),
            "followers_max": np.array([5000, 500, 5000, 200_000, 5000.0, 5000]),
            "followers_x": np.array([5000, 500, 5000, 200_000, 5000.0, 5000]),
            "shares_measured": np.array([10, 10, 1, 10, 10.0, 10]),
            "engagement_lift_ratio": np.array([3.0, 3, 3, 3, 3, 1.5]),
        }
    )
    train, labels = _population(800)
    scorer = InfluenceScorer(features=FEATURES, flag_threshold=0.3).fit(train, labels)
    score = scorer.predict_proba(matrix)
    flagged = scorer.predict(matrix)
    assert score[0] >= 0.3 and score[5] >= 0.3  # the last one's lift ratio is below 2x
    assert flagged.tolist() == [True, False, False, False, False, False]
    candidates = scorer.score(matrix)
    assert [c.tier for c in candidates] == ["micro", "nano", "micro", "macro", "micro", "micro"]
    levels = [c.confidence.level for c in candidates]
    assert levels == ["high", "high", "low", "high", "high", "high"]
    assert "too few" in candidates[2].confidence.reason


def test_tiers_and_band_are_configurable() -> None:
    assert tiers(np.array([10, 1000, 99_999, 100_000])).tolist() == [
        "nano",
        "micro",
        "micro",
        "macro",
    ]
    assert tiers(np.array([600.0]), (500, 5000)).tolist() == ["micro"]
    per_network = np.array([[500, 2000], [500, 800], [3000, 300_000]])
    assert in_band(per_network).tolist() == [True, False, False]
    assert in_band(per_network, (400, 900)).tolist() == [True, True, False]
    with pytest.raises(ValueError, match="band"):
        in_band(per_network, (10, 5))


def test_save_and_load_give_the_same_scores_without_pickle(fitted, tmp_path: Path) -> None:
    scorer, matrix, _ = fitted
    folder = scorer.save(tmp_path / "scorer")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "influence_scorer" and manifest["feature_names"] == list(FEATURES)
    with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
        assert "coef" in arrays.files
    loaded = InfluenceScorer.load(folder)
    np.testing.assert_allclose(loaded.predict_proba(matrix), scorer.predict_proba(matrix))
    assert loaded.score(matrix)[:5] == scorer.score(matrix)[:5]
    assert loaded.get_params() == scorer.get_params()
    with pytest.raises(FileNotFoundError, match=r"manifest\.json"):
        InfluenceScorer.load(tmp_path / "nothing")


def test_bad_input_gets_clear_errors(fitted) -> None:
    scorer, matrix, labels = fitted
    with pytest.raises(NotFittedError, match="not fitted"):
        InfluenceScorer().predict_proba(matrix)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['log_clicks_per_share'\]"):
        InfluenceScorer(features=(*FEATURES, "log_clicks_per_share")).fit(matrix, labels)
    with pytest.raises(ValueError, match=r"labels: expected 3000"):
        InfluenceScorer(features=FEATURES).fit(matrix, labels[:5])
    with pytest.raises(ValueError, match="0, 1 or NaN"):
        InfluenceScorer(features=FEATURES).fit(matrix, labels * 2)
    with pytest.raises(ValueError, match="both classes"):
        InfluenceScorer(features=FEATURES).fit(matrix, np.zeros(len(labels)))
    broken = matrix.values.copy()
    broken[7, 1] = np.nan
    bad = FeatureMatrix(broken, matrix.names, matrix.ids)
    with pytest.raises(ValueError, match=r"'engagement_lift' is not finite for 'e7'"):
        scorer.predict_proba(bad)
    with pytest.raises(ValueError, match="flag_threshold"):
        InfluenceScorer(features=FEATURES, flag_threshold=2).fit(matrix, labels)


def test_unknown_labels_are_left_out_and_few_positives_skip_platt() -> None:
    matrix, labels = _population(300)
    labels[:100] = np.nan
    scorer = InfluenceScorer(features=FEATURES).fit(matrix, labels)
    assert scorer.training_["rows"] == 200
    few = np.zeros(300)
    few[:3] = 1.0
    small = InfluenceScorer(features=FEATURES).fit(matrix, few)
    assert small.calibration_.startswith("logistic")


def test_pairwise_fit_orders_pairs_by_the_planted_strength() -> None:
    rng = np.random.default_rng(3)
    a, _ = _population(1500, seed=4)
    b, _ = _population(1500, seed=5)
    strength = lambda m: 2.0 * m.column("engagement_lift") + m.column("log_followers_max")  # noqa: E731
    choice = (rng.random(1500) < 1 / (1 + np.exp(-(strength(a) - strength(b))))).astype(float)
    scorer = InfluenceScorer(features=FEATURES, n_knots=0).fit_pairs(a, b, choice)
    diff = scorer.decision_function(a) - scorer.decision_function(b)
    assert np.mean((diff > 0) == (choice == 1)) > 0.75
    assert scorer.calibration_.startswith("pairwise")


def test_baselines_rank_by_activity_and_audience() -> None:
    matrix = _matrix(
        {
            "shares_made": np.array([10.0, 1, 0]),
            "clicks_earned": np.array([0.0, 50, 0]),
            "followers_max": np.array([100.0, 10, 10_000]),
        }
    )
    leaderboard = LeaderboardBaseline().fit(matrix).decision_function(matrix)
    followers = FollowersBaseline().fit(matrix).decision_function(matrix)
    assert np.argsort(-leaderboard).tolist() == [1, 0, 2]
    assert np.argsort(-followers).tolist() == [2, 0, 1]
    with pytest.raises(NotFittedError):
        FollowersBaseline().decision_function(matrix)


def test_flag_rates_count_groups_and_unknowns() -> None:
    report = flag_rates(
        [True, False, True, False, False, False],
        {"department": ["a", "a", "b", "b", None, "b"], "region": ["x"] * 6},
        min_group=2,
    )
    assert report["advocates"] == 6 and report["flagged"] == 2
    groups = report["dimensions"]["department"]["groups"]
    assert groups["a"] == {"advocates": 2, "flagged": 1, "rate": 0.5}
    assert groups["b"]["flagged"] == 1 and groups["(unknown)"]["advocates"] == 1
    assert report["dimensions"]["department"]["min_max_ratio"] == pytest.approx(0.6667, 1e-3)
    with pytest.raises(ValueError, match=r"groups\['region'\]"):
        flag_rates([True], {"region": ["x", "y"]})


def _candidate(employee: str, score: float, flagged: bool = True) -> Candidate:
    return Candidate(employee, score, "micro", flagged, (), Confidence("high", "10 shares"))


def test_dismissed_candidates_stay_unflagged_until_the_score_rises_by_the_margin() -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    reviews = {
        "d": ReviewState("dismiss", "pm", "not relevant", at, 0.60),
        "a": ReviewState("approve", "pm", "great", at, 0.70),
    }
    now = [_candidate("d", 0.65), _candidate("a", 0.4, flagged=False), _candidate("x", 0.9)]
    out = {c.employee_id: c for c in apply_reviews(now, reviews, margin=0.1)}
    assert not out["d"].flagged and out["d"].review.suppressed
    assert out["a"].review.decision == "approve" and not out["a"].flagged
    assert out["x"].review is None and out["x"].flagged
    risen = apply_reviews([_candidate("d", 0.71)], reviews, margin=0.1)[0]
    assert risen.flagged and not risen.review.suppressed
    assert apply_reviews([_candidate("d", 0.71)], reviews, margin=0.2)[0].flagged is False
    with pytest.raises(ValueError, match="margin"):
        apply_reviews(now, reviews, margin=5)


def test_reasons_are_the_two_to_four_largest_terms() -> None:
    from recsys.influence.reasons import pick, rank_text

    terms = np.array([[0.1, -3, 2, 0.05, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1.0], [4, 0, 0, 0, 0]])
    assert pick(terms) == [[1, 2], [], [0, 1, 2, 3], [0]]
    assert rank_text(97.2) == "top 3%" and rank_text(20.0) == "bottom 20%"
    assert rank_text(100.0) == "top 1%"


@settings(max_examples=30, deadline=None)
@given(
    values=arrays(
        np.float64,
        (7, 3),
        elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False),
    )
)
def test_contributions_recompute_any_score(fitted, values: np.ndarray) -> None:
    scorer = fitted[0]
    ids = IdMap(np.array([f"r{i}" for i in range(7)], dtype=object), "advocate")
    matrix = FeatureMatrix(values, FEATURES, ids)
    total = scorer.base_ + scorer.contributions(matrix).sum(axis=1)
    np.testing.assert_allclose(total, scorer.decision_function(matrix))
    score = scorer.predict_proba(matrix)
    assert np.all((score >= 0) & (score <= 1))
    inside = (score > 1e-12) & (score < 1 - 1e-12)
    np.testing.assert_allclose(logit(score[inside]), total[inside], rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- boosted additive learner
def test_boosted_stumps_find_the_step_that_decides_every_pair() -> None:
    from recsys.influence.boosting import boost_stumps

    x_a = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0]] * 10)
    x_b = np.array([[-1.0, 5.0], [-2.0, 5.0], [-3.0, 5.0], [-4.0, 5.0]] * 10)
    choice = np.ones(40)
    choice[::2] = 0.0
    x_a[::2], x_b[::2] = x_b[::2].copy(), x_a[::2].copy()  # B wins when it has the positive x
    stumps = boost_stumps(
        np.vstack([x_a, x_b]), choice, loss="pairs", max_rounds=50, min_leaf=1,
        learning_rate=0.5, validation_fraction=0.0,
    )  # fmt: skip
    assert stumps.thresholds[0].tolist() == [0.0]  # one split, midway between -1 and 1
    assert stumps.steps[0][0] > 0 and stumps.thresholds[1].size == 0  # the constant is unused
    assert stumps.rounds == 50


@pytest.mark.parametrize(
    ("rows", "values", "min_leaf"),
    [(3000, "normal", 20), (2000, "ties", 20), (400, "levels", 20), (1500, "heavy", 5)],
)
def test_each_stump_is_the_split_scikit_learns_tree_makes(
    rows: int, values: str, min_leaf: int
) -> None:
    """The stump finder (columns sorted once) against ``DecisionTreeRegressor(max_depth=1)``
    on weighted targets: the same feature and threshold, the same leaf values."""
    from sklearn.tree import DecisionTreeRegressor

    from recsys.influence.boosting import _StumpFinder

    rng = np.random.default_rng(rows)
    x = {
        "normal": lambda: rng.normal(size=(rows, 9)),
        "ties": lambda: np.round(rng.normal(size=(rows, 6)), 1),
        "levels": lambda: rng.integers(0, 3, size=(rows, 4)).astype(float),
        "heavy": lambda: np.log1p(rng.pareto(1.0, size=(rows, 5)) * 1e4),
    }[values]()
    finder = _StumpFinder(x, min_leaf)
    tree = DecisionTreeRegressor(max_depth=1, min_samples_leaf=min_leaf)
    for _ in range(15):
        target, weight = rng.normal(size=rows), rng.random(rows) + 0.01
        t = tree.fit(x, target, sample_weight=weight).tree_
        found = finder.fit(target, weight)
        assert found is not None and t.node_count == 3
        assert found[:2] == (int(t.feature[0]), float(t.threshold[0]))
        expected = [float(t.value[1].ravel()[0]), float(t.value[2].ravel()[0])]
        np.testing.assert_allclose(found[2:], expected, rtol=1e-9, atol=1e-12)
    assert finder.fit(np.ones(rows), np.ones(rows)) is None  # a pure node is a leaf
    assert (
        _StumpFinder(x[: 2 * min_leaf - 1], min_leaf).fit(
            rng.normal(size=2 * min_leaf - 1), np.ones(2 * min_leaf - 1)
        )
        is None
    )  # too few rows for two leaves


@pytest.mark.parametrize("learner", ["boosted", "blend"])
def test_boosted_pairwise_scorer_is_additive_exact_and_persists(
    learner: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    a, _ = _population(1500, seed=4)
    b, _ = _population(1500, seed=5)

    def strength(m: FeatureMatrix) -> np.ndarray:  # a step in lift plus log followers
        return 2.0 * (m.column("engagement_lift") > 0.5) + m.column("log_followers_max")

    choice = (rng.random(1500) < 1 / (1 + np.exp(-(strength(a) - strength(b))))).astype(float)
    scorer = InfluenceScorer(features=FEATURES, learner=learner, max_rounds=300)
    scorer.fit_pairs(a, b, choice)
    diff = scorer.decision_function(a) - scorer.decision_function(b)
    assert np.mean((diff > 0) == (choice == 1)) > 0.75
    assert 1 <= scorer.training_["rounds"] <= 300
    contributions = scorer.contributions(a)
    np.testing.assert_allclose(
        scorer.base_ + contributions.sum(axis=1), scorer.decision_function(a), atol=1e-9
    )
    lift = a.column("engagement_lift")
    j = scorer.feature_names_.index("engagement_lift")
    assert contributions[lift > 1.0, j].min() > contributions[lift < 0.0, j].max()
    changed = a.values.copy()
    changed[:, a.names.index("log_followers_max")] += 1.0  # only that feature's term may move
    moved = scorer.contributions(FeatureMatrix(changed, a.names, a.ids)) - contributions
    k = scorer.feature_names_.index("log_followers_max")
    np.testing.assert_allclose(np.delete(moved, k, axis=1), 0.0, atol=1e-12)
    loaded = InfluenceScorer.load(scorer.save(tmp_path / "boosted"))
    np.testing.assert_allclose(loaded.decision_function(a), scorer.decision_function(a))
    assert loaded.get_params() == scorer.get_params()


def test_boosted_label_scorer_is_calibrated_and_reasons_match() -> None:
    matrix, labels = _population(3000)
    scorer = InfluenceScorer(
        features=FEATURES, learner="boosted", max_rounds=150, learning_rate=0.1
    ).fit(matrix, labels)
    assert scorer.calibration_.startswith("sigmoid")
    held, truth = _population(6000, seed=1)
    score = scorer.predict_proba(held)
    assert abs(score.mean() - truth.mean()) < 0.02
    contributions = scorer.contributions(held)
    np.testing.assert_allclose(scorer.base_ + contributions.sum(axis=1), logit(score), atol=1e-6)
    j = scorer.feature_names_.index("engagement_lift")
    assert np.corrcoef(held.column("engagement_lift"), contributions[:, j])[0, 1] > 0.9
    first = scorer.score(held)[0]
    k = [scorer.feature_names_.index(r.feature) for r in first.reasons]
    np.testing.assert_allclose([r.contribution for r in first.reasons], contributions[0, k])


def test_boosted_parameters_are_checked() -> None:
    matrix, labels = _population(300)
    with pytest.raises(ValueError, match="learner must be one of"):
        InfluenceScorer(features=FEATURES, learner="forest").fit(matrix, labels)
    with pytest.raises(ValueError, match="learning_rate"):
        InfluenceScorer(features=FEATURES, learner="boosted", learning_rate=0).fit(matrix, labels)
    with pytest.raises(ValueError, match="'blend' is for fit_pairs"):
        InfluenceScorer(features=FEATURES, learner="blend").fit(matrix, labels)
    with pytest.raises(ValueError, match="validation_fraction"):
        InfluenceScorer(features=FEATURES, validation_fraction=1.0).fit(matrix, labels)
