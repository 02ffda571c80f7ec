"""Conversion attribution for advocacy links: which touches (shares, advocates, content) earned
each conversion. Plain numpy/scipy; input is :class:`TouchPaths` (CSR), output one credit per
touch (each converting path sums to 1), rolled up by any per-touch key with :func:`roll_up`.

Rule-based models (``last_touch``, ``first_touch``, ``linear``, ``time_decay``,
``position_based``) are in :mod:`~recsys.attribution.rules`; the data-driven ``markov``
(removal effects over channel states, exact) and ``shapley`` (exact Shapley values of the
touches under a noisy-OR learned over channels and recency bins,
:mod:`~recsys.attribution.noisy_or`) in their own modules.
"""

from recsys.attribution.base import AttributionModel
from recsys.attribution.errors import (
    AttributionError,
    InvalidInputError,
    InvalidParameterError,
    InvalidPathsError,
    UnknownModelError,
)
from recsys.attribution.markov import MarkovAttribution
from recsys.attribution.noisy_or import NoisyOr, fit_noisy_or
from recsys.attribution.paths import DistinctChannels, TouchPaths
from recsys.attribution.registry import MODELS, make_model
from recsys.attribution.rollup import RolledUp, roll_up
from recsys.attribution.rules import FirstTouch, LastTouch, Linear, PositionBased, TimeDecay
from recsys.attribution.shapley import ShapleyAttribution

__all__ = [
    "MODELS",
    "AttributionError",
    "AttributionModel",
    "DistinctChannels",
    "FirstTouch",
    "InvalidInputError",
    "InvalidParameterError",
    "InvalidPathsError",
    "LastTouch",
    "Linear",
    "MarkovAttribution",
    "NoisyOr",
    "PositionBased",
    "RolledUp",
    "ShapleyAttribution",
    "TimeDecay",
    "TouchPaths",
    "UnknownModelError",
    "fit_noisy_or",
    "make_model",
    "roll_up",
]
