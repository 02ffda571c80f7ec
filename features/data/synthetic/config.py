"""Configuration and result of the synthetic organisation generator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

DAY = 86_400


@dataclass(frozen=True)
class OrgConfig:
    """Size, time window and planted rates of a synthetic organisation.

    The data covers ``(end - days, end]``; the expected number of interactions is
    ``employees * interactions_per_employee`` (within a few percent).
    """

    employees: int = 2000
    content: int = 500
    days: int = 180
    seed: int = 0
    interactions_per_employee: float = 50.0
    end: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    micro_influencer_rate: float = 0.02
    opt_out_rate: float = 0.03

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
        for name, high in (
            ("interactions_per_employee", 1e6),
            ("micro_influencer_rate", 0.5),
            ("opt_out_rate", 0.99),
        ):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not 0 <= value <= high:
                raise ValueError(f"OrgConfig.{name} must be a number in [0, {high}], got {value!r}")
        if not isinstance(self.end, datetime) or self.end.utcoffset() is None:
            raise ValueError(f"OrgConfig.end must be a timezone-aware datetime, got {self.end!r}")

    @property
    def end_s(self) -> int:
        """End of the window in whole Unix seconds."""
        return int(self.end.timestamp() // 1)

    @property
    def start_s(self) -> int:
        """Start of the window (exclusive) in Unix seconds."""
        return self.end_s - self.days * DAY


@dataclass(frozen=True)
class SyntheticOrg:
    """The six contract tables (keyed by table name) and the planted ground truth.

    ``ground_truth`` has one row per employee: ``tier`` is ``micro`` for the planted
    micro-influencers, ``macro``/``heavy_sharer`` for the confounders and ``regular``
    otherwise; ``influence_multiplier`` scales the latent ``engagement_rate``.
    """

    tables: dict[str, pd.DataFrame]
    ground_truth: pd.DataFrame
