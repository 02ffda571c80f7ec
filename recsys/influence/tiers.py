"""Audience tiers (nano / micro / macro) and the micro band."""

from __future__ import annotations

import numpy as np

TIERS = ("nano", "micro", "macro")
DEFAULT_TIERS = (1_000.0, 100_000.0)  # followers where micro and macro start
DEFAULT_BAND = (1_000.0, 100_000.0)  # the micro band, inclusive, on at least one network


def check_pair(name: str, pair: tuple[float, float]) -> tuple[float, float]:
    """``pair`` as two floats ``0 <= low < high``, or a ValueError naming ``name``."""
    try:
        low, high = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two numbers (low, high), got {pair!r}") from None
    if not 0 <= low < high:
        raise ValueError(f"{name} must satisfy 0 <= low < high, got {pair!r}")
    return low, high


def tiers(followers_max: np.ndarray, thresholds: tuple[float, float] = DEFAULT_TIERS) -> np.ndarray:
    """``nano`` below ``thresholds[0]``, ``macro`` from ``thresholds[1]``, else ``micro``."""
    micro, macro = check_pair("tiers", thresholds)
    followers = np.asarray(followers_max, dtype=float)
    codes = (followers >= micro).astype(int) + (followers >= macro).astype(int)
    return np.asarray(TIERS, dtype=object)[codes]


def in_band(
    followers_by_network: np.ndarray,
    band: tuple[float, float] = DEFAULT_BAND,
    macro_from: float = DEFAULT_TIERS[1],
) -> np.ndarray:
    """True where some network has followers in ``[band[0], band[1]]`` and none reaches
    ``macro_from`` (a macro account anywhere is not a micro-influencer)."""
    low, high = check_pair("band", band)
    followers = np.atleast_2d(np.asarray(followers_by_network, dtype=float))
    inside = ((followers >= low) & (followers <= high)).any(axis=1)
    return np.asarray(inside & ~(followers >= macro_from).any(axis=1), dtype=bool)
