"""The recommenders; ``MODELS`` maps each saved model's name to its class and
:func:`load_recommender` reads any saved one back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

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


def make_recommender(name: str, params: Mapping[str, object] | None = None) -> Recommender:
    """An unfitted model ``name`` with ``params``; nested names reach a model's parts
    (``{"taste__epochs": 10, "colleague_trend": None}`` for the hybrid)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
    return MODELS[name]().set_params(**dict(params or {}))


def load_recommender(folder: str | Path) -> Recommender:
    """The recommender saved in ``folder`` by ``Recommender.save`` (its manifest names the
    model class)."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    name = manifest.get("model")
    if name not in MODELS:
        raise ValueError(f"{folder}: unknown model {name!r} (known: {', '.join(MODELS)})")
    return MODELS[name].load(folder)


__all__ = [
    "MODELS",
    "ContentBased",
    "Hybrid",
    "LightFMCF",
    "LightFMHybrid",
    "Popular",
    "RecentPopular",
    "load_recommender",
    "make_recommender",
]
