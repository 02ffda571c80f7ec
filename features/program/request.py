"""What a program report is asked for, validated field by field.

``group_by`` combines any of :data:`DIMENSIONS` with at most one time grain (``day``,
``week``, ``month``). ``filters`` narrows the report to one value of a dimension (``topic``:
shares of content carrying that topic). ``top`` keeps the first rows in ``order_by`` order
(descending unless ``descending`` is false); ``order_by`` names a figure, or one currency of
a per-currency figure (``emv.EUR``). Every problem raises :class:`RequestError` naming the
field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

from features.data.currencies import ISO_4217
from features.program.figures import FIGURES, PER_CURRENCY
from features.program.periods import GRAINS
from recsys.errors import FieldError
from recsys.times import naive_utc

ADVOCATE_DIMENSIONS = ("department", "region", "advocate")
CONTENT_DIMENSIONS = ("content_type", "topic", "content")
DIMENSIONS = (*ADVOCATE_DIMENSIONS, "network", *CONTENT_DIMENSIONS)
INDIVIDUAL = "advocate"
"""The dimension that names people: opted-out advocates never appear in its rows."""

DEFAULT_MIN_GROUP_SIZE = 5
DEFAULT_ATTRIBUTION_MODEL = "shapley"
"""The attribution model whose credit reports show (chosen by `advocacy evaluate
synthetic-attribution`, see docs/analytics.md)."""
DEFAULT_ATTRIBUTION_CHANNEL = "content"
"""The touch attribute the data-driven attribution models learn on by default."""
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(2200, 1, 1)
"""The periods a report may cover (naive UTC): with their previous periods."""
MAX_TOP = 10_000


class RequestError(FieldError):
    """A report request that cannot be answered; ``field`` names the field at fault."""


@dataclass(frozen=True)
class ReportRequest:
    """A program report: period ``[start, end)`` (UTC), grouping, attribution model, privacy.

    ``start`` and ``end`` are kept as naive UTC datetimes (a date is its midnight).
    ``min_group_size`` is k of the k-suppression (0 switches it off).
    """

    start: datetime | date
    end: datetime | date
    group_by: tuple[str, ...] = ()
    attribution_model: str = DEFAULT_ATTRIBUTION_MODEL
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    top: int | None = None
    order_by: str | None = None
    descending: bool = True
    filters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, date):
                raise RequestError(name, f"must be a date or datetime, got {value!r}")
            object.__setattr__(self, name, naive_utc(value))
            if not EARLIEST <= getattr(self, name) <= LATEST:
                raise RequestError(name, f"must lie between {EARLIEST:%Y} and {LATEST:%Y}")
        if self.end <= self.start:
            raise RequestError("end", "must be later than start")
        if self.start - (self.end - self.start) < EARLIEST:
            raise RequestError("start", f"the previous period would begin before {EARLIEST:%Y}")
        object.__setattr__(self, "group_by", _grouping(self.group_by))
        object.__setattr__(self, "filters", _filters(self.filters))
        _check_model(self.attribution_model)
        _check_count("min_group_size", self.min_group_size, 0, 10**6)
        if self.top is not None:
            _check_count("top", self.top, 1, MAX_TOP)
            if self.order_by is None:
                raise RequestError("order_by", "required with top (which figure ranks the rows)")
        if self.order_by is not None:
            _check_order(self.order_by)
        if not isinstance(self.descending, bool):
            raise RequestError("descending", "must be true or false")

    @property
    def grain(self) -> str | None:
        """The time grain of the grouping, if any."""
        return next((g for g in self.group_by if g in GRAINS), None)

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The grouping without its time grain."""
        return tuple(g for g in self.group_by if g not in GRAINS)

    @property
    def names_advocates(self) -> bool:
        """True when rows name advocates (grouped or filtered by advocate)."""
        return INDIVIDUAL in self.group_by or INDIVIDUAL in self.filters


def _grouping(group_by: object) -> tuple[str, ...]:
    if isinstance(group_by, str) or not isinstance(group_by, tuple | list):
        raise RequestError("group_by", "must be a sequence of dimension names")
    for name in group_by:
        if name not in DIMENSIONS and name not in GRAINS:
            known = ", ".join((*DIMENSIONS, *GRAINS))
            raise RequestError("group_by", f"unknown grouping {name!r}; one of {known}")
    if len(set(group_by)) != len(group_by):
        raise RequestError("group_by", "a grouping is named twice")
    if sum(name in GRAINS for name in group_by) > 1:
        raise RequestError("group_by", "at most one time grain (day, week or month)")
    return tuple(group_by)


def _filters(filters: object) -> Mapping[str, str]:
    if not isinstance(filters, Mapping):
        raise RequestError("filters", "must be a mapping of dimension to value")
    for name, value in filters.items():
        if name not in DIMENSIONS:
            known = ", ".join(DIMENSIONS)
            raise RequestError(f"filters.{name}", f"unknown dimension; one of {known}")
        if not isinstance(value, str) or not value:
            raise RequestError(f"filters.{name}", "must be a non-empty string")
    return MappingProxyType(dict(filters))


def _check_model(model: object) -> None:
    if not isinstance(model, str) or not model.strip():
        raise RequestError("attribution_model", "must be a model name")


def _check_count(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(name, f"must be an integer in [{low}, {high}], got {value!r}")


def _check_order(order_by: object) -> None:
    base, dot, currency = str(order_by).partition(".")
    if not isinstance(order_by, str) or base not in FIGURES:
        raise RequestError("order_by", f"unknown figure {order_by!r}; one of {', '.join(FIGURES)}")
    if dot and (base not in PER_CURRENCY or currency not in ISO_4217):
        raise RequestError("order_by", f"{order_by!r}: only emv.XXX or attributed_value.XXX")
    if base == "attributed_value" and not dot:
        raise RequestError("order_by", "per currency: name one, e.g. attributed_value.EUR")
