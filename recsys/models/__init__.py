"""The recommenders; ``MODELS`` maps each saved model's name to its class."""

from __future__ import annotations

from recsys.base import Recommender
from recsys.models.content import ContentBased
from recsys.models.hybrid import Hybrid
from recsys.models.lightfm_cf import LightFMCF
from recsys.models.lightfm_hybrid import LightFMHybrid
from recsys.models.popular import Popular, RecentPopular

MODELS: dict[str, type[Recommender]] = {
    model.name: model
    for model in (Popular, RecentPopular, ContentBased, LightFMCF, LightFMHybrid, Hybrid)
}

__all__ = [
    "MODELS",
    "ContentBased",
    "Hybrid",
    "LightFMCF",
    "LightFMHybrid",
    "Popular",
    "RecentPopular",
]
