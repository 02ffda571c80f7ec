"""The figures of one report row, derived from the sums the database returns.

Definitions (a *group* is one row's key within the period, or the whole period for totals;
its *span* is the row's time bucket clipped to the period, or the period):

- ``enrolled``: advocates hired before the span's end (no hire date: always enrolled),
  narrowed by the group's department/region/advocate; network, content and topic do not
  narrow it. Opted-out advocates count, except in rows that name advocates.
- ``active_advocates``: distinct advocates with at least one share in the group (this is
  also the group size k-suppression compares with ``min_group_size``).
- ``participation_rate``: active_advocates / enrolled.
- ``shares``: share events in the group (with a ``topic`` grouping, once per topic of the
  shared content).
- ``shares_per_100_advocates_per_week``: 100 x shares / enrolled / (span length in weeks).
- ``content_used``: distinct content items shared in the group, whatever their status now.
- ``content_available``: approved content live in the span (published before its end, not
  expired before its start), per content type / topic / content item for groupings by those,
  program-wide otherwise.
- ``potential_reach``: the sum over shares of the sharer's followers on the share's network
  at share time (the latest snapshot with ``as_of`` <= the share time; none: adds 0).
- ``impressions``, ``clicks``, ``reactions``, ``comments``, ``reshares``: sums over the
  group's shares of each share's latest measurement (whenever measured; none: adds 0).
- ``engagement_rate``: (reactions + comments + reshares + clicks) / impressions, over the
  group's sums (a ratio of sums, not a mean of per-share rates).
- ``click_through_rate``: clicks / impressions, over the group's sums.
- ``link_clicks``: tracked visits (``link_clicks`` rows) through the links of the group's
  shares, whenever they happened.
- ``emv``: earned media value per currency (see :mod:`features.program.emv`), summed over
  the shares on priced networks; ``unpriced_shares`` counts the shares on networks the
  config does not price (or with no network), which have no EMV.
- ``conversions``: the attribution model's credit (fractional conversions) for conversions
  *converted* in the span, credited to the group's shares (made at any time); None when the
  model has no run.
- ``attributed_value``: credit x conversion value, per the conversion's currency.
  With a ``topic`` grouping a credited share counts in each topic of its content.

A ratio is None when its denominator is 0. The relative change of a figure is
(current - previous) / previous, None when the previous value is 0 or unknown; for
per-currency figures it is computed per currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields

from features.program.emv import EmvConfig

Number = int | float
Value = Number | dict[str, float] | None

RATIOS: dict[str, tuple[tuple[str, ...], str]] = {
    "participation_rate": (("active_advocates",), "enrolled"),
    "engagement_rate": (("reactions", "comments", "reshares", "clicks"), "impressions"),
    "click_through_rate": (("clicks",), "impressions"),
}
"""Ratio figures: the sums added up in the numerator, and the denominator."""


@dataclass(frozen=True)
class ShareSums:
    """What the database sums over a group's shares; ``emv`` per currency of the config."""

    shares: int = 0
    active_advocates: int = 0
    content_used: int = 0
    potential_reach: int = 0
    impressions: int = 0
    clicks: int = 0
    reactions: int = 0
    comments: int = 0
    reshares: int = 0
    link_clicks: int = 0
    unpriced_shares: int = 0
    emv: Mapping[str, float] = field(default_factory=dict)


SUMMED = tuple(f.name for f in fields(ShareSums) if f.name != "emv")
"""The share sums the database returns as columns."""

DISTINCT = ("active_advocates", "content_used")
"""Share sums that are distinct counts: the sums of two groups do not add up to them."""


@dataclass(frozen=True)
class CreditSums:
    """What the database sums over a group's attribution credits."""

    conversions: float = 0.0
    value: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Figures:
    """Every figure of one row (see the module docstring for the definitions)."""

    enrolled: int
    active_advocates: int
    participation_rate: float | None
    shares: int
    shares_per_100_advocates_per_week: float | None
    content_used: int
    content_available: int
    potential_reach: int
    impressions: int
    clicks: int
    reactions: int
    comments: int
    reshares: int
    engagement_rate: float | None
    click_through_rate: float | None
    link_clicks: int
    emv: dict[str, float]
    unpriced_shares: int
    conversions: float | None
    attributed_value: dict[str, float] | None

    def get(self, name: str) -> Value:
        """A figure by name; ``emv.EUR`` / ``attributed_value.EUR`` pick one currency."""
        base, _, currency = name.partition(".")
        value = getattr(self, base)
        if currency:
            return None if value is None else value.get(currency, 0.0)
        return value

    def to_dict(self) -> dict[str, Value]:
        return asdict(self)


FIGURES = tuple(f.name for f in fields(Figures))


def merged_shares(parts: Iterable[ShareSums], distinct: Mapping[str, int]) -> ShareSums:
    """The sums of disjoint groups taken together; their ``distinct`` counts given."""
    parts = list(parts)
    totals = {name: sum(getattr(p, name) for p in parts) for name in SUMMED}
    emv: dict[str, float] = {}
    for part in parts:
        for currency, value in part.emv.items():
            emv[currency] = emv.get(currency, 0.0) + value
    return ShareSums(**(totals | dict(distinct)), emv=emv)


def merged_credits(parts: Iterable[CreditSums]) -> CreditSums:
    """The credit sums of disjoint groups taken together."""
    conversions, values = 0.0, {}
    for part in parts:
        conversions += part.conversions
        for currency, value in part.value.items():
            values[currency] = values.get(currency, 0.0) + value
    return CreditSums(conversions, values)


PER_CURRENCY = ("emv", "attributed_value")


def ratio(numerator: Number, denominator: Number) -> float | None:
    """``numerator / denominator``, None when the denominator is 0."""
    return numerator / denominator if denominator else None


def figures_of(
    sums: ShareSums,
    credits: CreditSums | None,
    *,
    enrolled: int,
    available: int,
    weeks: float,
    rates: EmvConfig,
) -> Figures:
    """A row's figures; ``credits`` None means the attribution model has no run."""
    counts = {name: getattr(sums, name) for name in SUMMED} | {"enrolled": enrolled}
    rates_of = {
        name: ratio(sum(counts[n] for n in top), counts[bottom])
        for name, (top, bottom) in RATIOS.items()
    }
    per_week = ratio(100 * sums.shares, enrolled * weeks)
    return Figures(
        **counts,
        **rates_of,
        shares_per_100_advocates_per_week=per_week,
        content_available=available,
        emv={currency: sums.emv.get(currency, 0.0) for currency in rates.currencies},
        conversions=None if credits is None else credits.conversions,
        attributed_value=None if credits is None else dict(sorted(credits.value.items())),
    )


def change(current: Value, previous: Value) -> Value:
    """The relative change from ``previous`` to ``current`` (per currency for mappings)."""
    if isinstance(current, dict) or isinstance(previous, dict):
        now, before = current or {}, previous or {}
        return {c: change(now.get(c, 0.0), before.get(c)) for c in sorted(set(now) | set(before))}
    if current is None or not previous:
        return None
    return (current - previous) / previous


def changes(current: Figures, previous: Figures) -> dict[str, Value]:
    """The relative change of every figure."""
    return {name: change(getattr(current, name), getattr(previous, name)) for name in FIGURES}
