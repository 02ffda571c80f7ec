"""The recommenders; ``MODELS`` maps each saved model's name to its class."""

from __future__ import annotations

from recsys.base import Recommender
from recsys.models.popular import Popular, RecentPopular

MODELS: dict[str, type[Recommender]] = {model.name: model for model in (Popular, RecentPopular)}

__all__ = ["MODELS", "Popular", "RecentPopular"]
