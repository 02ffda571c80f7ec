"""Configuration and result of the synthetic organisation generator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from recsys import times

DAY = int(times.DAY)  # whole seconds: the generator computes in int64


@dataclass(frozen=True)
class OrgConfig:
    """Size, time window and planted rates of a synthetic organisation.

    The data covers ``(end - days, end]``; the expected number of interactions is
    ``employees * interactions_per_employee`` (within a few percent).

    Link clicks and conversions (see ``clicks.py`` and ``conversions.py``):
    ``link_click_rate`` is the share of a share's last measured clicks that reach the site as
    tracked link clicks (binomial thinning); a click recruits a new visitor with probability
    ``1 / clicks_per_visitor`` (otherwise a returning visitor clicks); ``click_conversion_rate``
    is the mean over all clicks of the conversions a click alone would cause (its planted
    effect); ``baseline_conversion_rate`` the expected conversions no share causes, per visitor
    and 30 days on the site; ``organic_visitor_ratio`` the site visitors who never click a
    share, per clicking visitor. The defaults give about 0.7 link clicks per measured click,
    5-6 conversions per 100 link clicks, a quarter of them baseline.

    ``violation_rate`` is the share of content given one planted screening violation
    (``violations.py``; 0, the default, plants none and leaves every table as before).

    ``slot_effect`` is the standard deviation of the planted log multiplier of a share's
    engagement by hour-of-week slot, per advocate and network (``slot_effects.py``; 0, the
    default, plants none and leaves every table as before).
    """

    employees: int = 2000
    content: int = 500
    days: int = 180
    seed: int = 0
    interactions_per_employee: float = 50.0
    end: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    micro_influencer_rate: float = 0.02
    opt_out_rate: float = 0.03
    link_click_rate: float = 0.7
    clicks_per_visitor: float = 4.0
    click_conversion_rate: float = 0.05
    baseline_conversion_rate: float = 0.012
    organic_visitor_ratio: float = 0.25
    violation_rate: float = 0.0
    slot_effect: float = 0.0

    def __post_init__(self) -> None:
        for name, low, high in (
            ("employees", 1, 10**8),
            ("content", 1, 10**8),
            ("days", 1, 3650),
            ("seed", 0, 2**63 - 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(
                    f"OrgConfig.{name} must be an integer in [{low}, {high}], got {value!r}"
                )
        for name, low, high in (
            ("interactions_per_employee", 0, 1e6),
            ("micro_influencer_rate", 0, 0.5),
            ("opt_out_rate", 0, 0.99),
            ("link_click_rate", 0, 1.0),
            ("clicks_per_visitor", 1, 1000.0),
            ("click_conversion_rate", 0, 1.0),
            ("baseline_conversion_rate", 0, 1.0),
            ("organic_visitor_ratio", 0, 100.0),
            ("violation_rate", 0, 1.0),
            ("slot_effect", 0, 3.0),
        ):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not low <= value <= high:
                raise ValueError(
                    f"OrgConfig.{name} must be a number in [{low}, {high}], got {value!r}"
                )
        if not isinstance(self.end, datetime) or self.end.utcoffset() is None:
            raise ValueError(f"OrgConfig.end must be a timezone-aware datetime, got {self.end!r}")

    @property
    def end_s(self) -> int:
        """End of the window in whole Unix seconds."""
        return int(times.epoch_seconds(self.end) // 1)

    @property
    def start_s(self) -> int:
        """Start of the window (exclusive) in Unix seconds."""
        return self.end_s - self.days * DAY


@dataclass(frozen=True)
class SyntheticOrg:
    """The contract tables (keyed by table name) and the planted ground truth.

    ``ground_truth`` has one row per employee: ``tier`` is ``micro`` for the planted
    micro-influencers, ``macro``/``heavy_sharer`` for the confounders and ``regular``
    otherwise; ``influence_multiplier`` scales the latent ``engagement_rate``.

    ``attribution_truth`` holds the true causal credit of the conversions: one row per
    advocate, content item and network with a tracked click (``level``, ``id``, ``clicks``,
    ``true_conversions`` caused by its clicks, ``true_value`` their value in EUR with USD at
    ``EUR_PER_USD``, ``planted_effect`` its multiplier of a click's effect).
    ``conversion_truth`` has one row per conversion: ``conversion_id``,
    ``caused_by_click_id`` (missing for the baseline) and ``value_eur``.

    ``screening_truth`` has one row per planted screening violation (``content_id``,
    ``kind``, ``detector``, ``planted``; empty unless ``OrgConfig.violation_rate`` > 0).

    ``slot_truth`` has one row per advocate, network with a share and hour-of-week slot
    (``employee_id``, ``network``, ``slot``, ``multiplier`` of the share's expected engagement;
    empty unless ``OrgConfig.slot_effect`` > 0).
    """

    tables: dict[str, pd.DataFrame]
    ground_truth: pd.DataFrame
    attribution_truth: pd.DataFrame
    conversion_truth: pd.DataFrame
    screening_truth: pd.DataFrame
    slot_truth: pd.DataFrame
