"""Popularity baselines: the contract, and obvious answers."""

from __future__ import annotations

import numpy as np

from recsys.models import Popular, RecentPopular
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
