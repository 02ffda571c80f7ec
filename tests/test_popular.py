"""Popularity baselines: the contract, and obvious answers."""

from __future__ import annotations

import numpy as np

from recsys.models import Popular, RecentPopular
from recsys.models.decayed import drop_negligible
from tests.recsys_contract import DAY, RecommenderContract, tiny_dataset


class TestPopular(RecommenderContract):
    def make_model(self) -> Popular:
        return Popular()

    def test_most_popular_first_for_everyone(self) -> None:
        ids, scores = self.fitted().recommend(["u1", "stranger"], 2, exclude_seen=False)
        assert ids[0][0] == "a" and ids[1][0] == "a"
        assert scores[0][0] == 3.0


class TestRecentPopular(RecommenderContract):
    def make_model(self) -> RecentPopular:
        return RecentPopular(half_life_days=1.0)

    def test_recent_beats_frequent(self) -> None:
        model = self.fitted()
        ids, scores = model.recommend(["stranger"], 5, as_of=6 * DAY, exclude_seen=False)
        # d was touched at day 6 (weight 1), a three times but at days 1, 3, 5
        assert ids[0][0] == "d"
        a_score = scores[0][ids[0].tolist().index("a")]
        np.testing.assert_allclose(a_score, 2.0**-5 + 2.0**-3 + 2.0**-1)  # days 1, 3, 5

    def test_observe_updates_live_scores(self) -> None:
        model = self.fitted()
        for _ in range(3):
            model.observe(["u1"], ["e"], [6.5 * DAY])
        ids, _ = model.recommend(["stranger"], 1, as_of=7 * DAY)
        assert ids[0][0] == "e"


def test_tiny_dataset_shape() -> None:
    assert tiny_dataset().shape == (3, 5)


def _subnormal(values: np.ndarray) -> int:
    magnitude = np.abs(values)
    return int(((magnitude > 0) & (magnitude < np.finfo(values.dtype).tiny)).sum())


def test_drop_negligible_zeroes_only_what_no_score_can_see() -> None:
    for dtype in (np.float32, np.float64):
        values = np.asarray([1.0, -2e-30, 5e-31, -4e-31, 0.0, 1e-45, 3e-29], dtype)
        assert drop_negligible(values) is values  # in place
        np.testing.assert_array_equal(values, np.asarray([1, -2e-30, 0, 0, 0, 0, 3e-29], dtype))


def test_decayed_sums_fall_to_zero_not_to_subnormal_floats() -> None:
    model = RecentPopular(half_life_days=0.01).fit(tiny_dataset())
    model.observe(["u1"], ["e"], [30 * DAY])  # 3,000 half-lives after the fitted events
    assert _subnormal(model.decayed_) == 0
    assert (
        np.count_nonzero(model.decayed_) == 1
        and model.decayed_[model.items_.to_internal(["e"])[0]] == 1
    )
