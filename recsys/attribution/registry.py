"""The attribution models by name, and :func:`make_model` to build one from a config."""

from __future__ import annotations

from typing import Any

from recsys.attribution.base import AttributionModel
from recsys.attribution.errors import InvalidParameterError, UnknownModelError
from recsys.attribution.markov import MarkovAttribution
from recsys.attribution.rules import FirstTouch, LastTouch, Linear, PositionBased, TimeDecay
from recsys.attribution.shapley import ShapleyAttribution

MODELS: dict[str, type[AttributionModel]] = {
    model.name: model
    for model in (
        LastTouch,
        FirstTouch,
        Linear,
        TimeDecay,
        PositionBased,
        MarkovAttribution,
        ShapleyAttribution,
    )
}


def make_model(name: str, **params: Any) -> AttributionModel:
    """The model registered as ``name`` with ``params``, checked: raises
    :class:`UnknownModelError` for an unknown name and :class:`InvalidParameterError` for an
    unknown parameter or a value out of range."""
    if name not in MODELS:
        raise UnknownModelError(name, MODELS)
    cls = MODELS[name]
    known = cls._get_param_names()
    for parameter in params:
        if parameter not in known:
            raise InvalidParameterError(
                name, parameter, f"unknown parameter; {name} takes {', '.join(known) or 'none'}"
            )
    model = cls(**params)
    model._check_params()
    return model
