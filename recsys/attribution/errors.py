"""The attribution errors: each names what was wrong as an attribute, not only in words."""

from __future__ import annotations

from collections.abc import Iterable


class AttributionError(ValueError):
    """Base of every error raised by :mod:`recsys.attribution` for bad input or settings."""


class InvalidInputError(AttributionError):
    """An input array or argument is malformed; ``field`` names it (e.g. ``"key"``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class InvalidPathsError(InvalidInputError):
    """A :class:`~recsys.attribution.paths.TouchPaths` field is malformed; ``field`` names it."""


class InvalidParameterError(AttributionError):
    """A model parameter is unknown or out of range; ``model`` and ``parameter`` name it."""

    def __init__(self, model: str, parameter: str, problem: str) -> None:
        super().__init__(f"{model}.{parameter}: {problem}")
        self.model = model
        self.parameter = parameter
        self.problem = problem


class UnknownModelError(AttributionError):
    """No attribution model is registered under ``model``; ``known`` lists the names that are."""

    def __init__(self, model: str, known: Iterable[str]) -> None:
        self.model = model
        self.known = sorted(known)
        super().__init__(f"unknown attribution model {model!r}; known: {', '.join(self.known)}")
