"""The attribution-model protocol: validation, the converting-path subset and normalisation live
here, once; a model only says how much weight each touch of a converting path gets.

A model subclasses :class:`AttributionModel`, stores its parameters in ``__init__`` (scikit-learn
rules), checks them in ``_check_params``, learns in ``_fit`` (data-driven models; learned state
ends in ``_``) and returns non-negative per-touch weights of *converting* paths in
``_weights``. :meth:`AttributionModel.credit` normalises them to sum 1 within each path (a path
whose weights sum to 0 is split equally among its touches) and gives non-converting paths 0.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Self

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from recsys.attribution.errors import InvalidParameterError
from recsys.attribution.paths import TouchPaths


class AttributionModel(BaseEstimator, ABC):
    """Fit on :class:`TouchPaths`; credit each touch of a converting path with a share of 1."""

    name: ClassVar[str] = "attribution"
    #: learns from the paths given to ``fit`` (False: a fixed rule, usable without ``fit``)
    data_driven: ClassVar[bool] = False

    def fit(self, paths: TouchPaths) -> Self:
        """Learn from every path, converting or not (rule-based models only validate); returns
        self."""
        _check_paths(paths)
        self._check_params()
        self._fit(paths)
        self.n_channels_ = paths.n_channels
        return self

    def credit(self, paths: TouchPaths) -> np.ndarray:
        """Float64 credit per touch: each converting path's touches sum to 1, others are 0."""
        _check_paths(paths)
        self._check_params()
        if self.data_driven and not hasattr(self, "n_channels_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(paths) first")
        credit = np.zeros(paths.n_touches)
        if not paths.converted.any():
            return credit
        converting = paths.subset(paths.converted)
        weights = np.asarray(self._weights(converting), np.float64)
        credit[np.repeat(paths.converted, paths.lengths())] = normalise(converting, weights)
        return credit

    # ------------------------------------------------------------------ for subclasses
    def _check_params(self) -> None:
        """Raise :class:`InvalidParameterError` for a parameter out of range."""

    def _fit(self, paths: TouchPaths) -> None:
        """Learn from ``paths`` (all paths: converting and not)."""

    @abstractmethod
    def _weights(self, paths: TouchPaths) -> np.ndarray:
        """Non-negative weight per touch of ``paths``, all of which convert."""

    def _invalid(self, parameter: str, problem: str) -> InvalidParameterError:
        return InvalidParameterError(self.name, parameter, problem)


def normalise(paths: TouchPaths, weights: np.ndarray) -> np.ndarray:
    """``weights`` divided by their path's sum; a path summing to 0 (or not finite) is split
    equally among its touches."""
    path = paths.path_index()
    total = np.bincount(path, weights, minlength=paths.n_paths)
    bad = ~(total > 0) | ~np.isfinite(total)
    if bad.any():
        weights = np.where(bad[path], 1.0, weights)
        total = np.bincount(path, weights, minlength=paths.n_paths)
    return weights / total[path]


def _check_paths(paths: object) -> None:
    if not isinstance(paths, TouchPaths):
        raise TypeError(f"paths must be TouchPaths, got {type(paths).__name__}")
