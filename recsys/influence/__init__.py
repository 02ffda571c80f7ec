"""Micro-influencer scoring: a calibrated additive model with faithful reasons, tiers, baselines,
fairness counts and the review policy (plain numpy/scikit-learn).

See docs/influencers.md for the definition, the label, the flag rule and the evaluations.
"""

from recsys.influence.baselines import FollowersBaseline, LeaderboardBaseline
from recsys.influence.candidate import Candidate, Confidence, ReviewState, ScoreDriver
from recsys.influence.fairness import flag_rates
from recsys.influence.reviews import apply_reviews
from recsys.influence.scorer import DEFAULT_FEATURES, InfluenceScorer
from recsys.influence.tiers import TIERS, in_band, tiers

__all__ = [
    "DEFAULT_FEATURES",
    "TIERS",
    "Candidate",
    "Confidence",
    "FollowersBaseline",
    "InfluenceScorer",
    "LeaderboardBaseline",
    "ReviewState",
    "ScoreDriver",
    "apply_reviews",
    "flag_rates",
    "in_band",
    "tiers",
]
