"""Score drivers: the features that drive one score, with their readable value and percentile.

The contributions come from the model (``InfluenceScorer.contributions``); this module only
chooses the largest ones and writes them for people. :data:`FEATURE_INFO` says, per model
feature, which column holds its readable value and how to print it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from recsys.influence.candidate import ScoreDriver

Unit = Literal["count", "percent", "times", "number"]


@dataclass(frozen=True)
class FeatureInfo:
    display: str  # column with the readable value
    label: str
    unit: Unit


FEATURE_INFO: dict[str, FeatureInfo] = {
    "log_followers_max": FeatureInfo(
        "followers_max", "followers on their largest network", "count"
    ),
    "engagement_lift": FeatureInfo(
        "engagement_lift_ratio", "engagement per share vs. what their followers predict", "times"
    ),
    "log_engagement_rate": FeatureInfo(
        "engagement_rate_adj", "engagement per impression", "percent"
    ),
    "log_engagement_per_share": FeatureInfo(
        "engagement_per_share", "engagement per share", "number"
    ),
    "top_share_fraction": FeatureInfo(
        "top_share_fraction", "best share's part of all their engagement", "percent"
    ),
    "engagement_consistency": FeatureInfo(
        "engagement_consistency",
        "engagement consistency (1 - the best share's part of it)",
        "percent",
    ),
    "log_shares_measured": FeatureInfo("shares_measured", "measured shares", "count"),
    "log_clicks_per_share": FeatureInfo("clicks_per_share", "clicks per share", "number"),
    "log_reshares_per_share": FeatureInfo("reshares_per_share", "reshares per share", "number"),
    "activity_trend": FeatureInfo(
        "activity_trend", "activity trend (log ratio, last 30 vs previous 60 days)", "number"
    ),
    "log_org_pagerank_rel": FeatureInfo(
        "org_pagerank_rel", "internal network reach (PageRank vs. average)", "times"
    ),
    "log_org_degree": FeatureInfo("org_degree", "internal ties", "count"),
    "log_org_weighted_degree": FeatureInfo(
        "org_weighted_degree", "internal tie strength", "number"
    ),
    "org_core_number": FeatureInfo("org_core_number", "internal k-core", "count"),
    "n_networks": FeatureInfo("n_networks", "networks with an account", "count"),
    "log_following_max": FeatureInfo("following_max", "accounts they follow", "count"),
    "log_posts_90d": FeatureInfo("posts_90d", "posts in the last 90 days", "count"),
    "log_comments_made": FeatureInfo("comments_made", "comments they wrote", "number"),
    "log_shares_made": FeatureInfo("shares_made", "shares they made", "count"),
    "log_reshares_made": FeatureInfo("reshares_made", "reshares they made", "number"),
    "log_follower_ratio": FeatureInfo("follower_ratio", "followers per account followed", "times"),
    "log_reshare_rate": FeatureInfo("reshare_rate", "reshares per follower", "number"),
    "log_mention_rate": FeatureInfo("mention_rate", "mentions per follower", "number"),
    "log_listed_rate": FeatureInfo("listed_rate", "lists per follower", "number"),
    "log_org_degree_rate": FeatureInfo("org_degree_rate", "network ties per follower", "number"),
    "log_engagement_received": FeatureInfo("engagement_received", "engagement received", "number"),
}


def info(feature: str) -> FeatureInfo:
    """What is known about printing ``feature`` (itself as a number when unknown)."""
    return FEATURE_INFO.get(feature, FeatureInfo(feature, feature.replace("_", " "), "number"))


def percentiles(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Percent of ``reference`` at or below each value (0-100)."""
    ordered = np.sort(np.asarray(reference, dtype=float))
    if len(ordered) == 0:
        return np.full(np.shape(values), np.nan)
    return 100.0 * np.searchsorted(ordered, values, side="right") / len(ordered)


def format_value(value: float, unit: Unit) -> str:
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "percent":
        return f"{100 * value:.1f}%"
    if unit == "times":
        return f"{value:.1f}x"
    return f"{value:,.2f}"


def rank_text(percentile: float) -> str:
    """'top 3%' for high values, 'bottom 20%' for low ones."""
    if np.isnan(percentile):
        return "no organisation reference"
    if percentile >= 50:
        return f"top {max(1, round(100 - percentile))}%"
    return f"bottom {max(1, round(percentile))}%"


def reason_text(feature: str, value: float, percentile: float, contribution: float) -> str:
    spec = info(feature)
    effect = "raises" if contribution >= 0 else "lowers"
    return (
        f"{spec.label} {format_value(value, spec.unit)}, {rank_text(percentile)}"
        f" ({effect} the score)"
    )


def pick(
    contributions: np.ndarray, *, most: int = 4, least: int = 2, share: float = 0.1
) -> list[list[int]]:
    """Per row of ``contributions`` (n, features), the indices of the features that drive its
    score: by |contribution|, at least ``least``, at most ``most``; beyond ``least`` only those
    with ``share`` of the row's total |contribution|; never a zero term."""
    size = np.abs(np.atleast_2d(np.asarray(contributions, dtype=float)))
    order = np.argsort(-size, axis=1, kind="stable")[:, :most]
    ranked = np.take_along_axis(size, order, axis=1)
    total = size.sum(axis=1, keepdims=True)
    position = np.arange(order.shape[1])[None, :]
    keep = (ranked > 0) & ((position < least) | (ranked >= share * total))
    return [row[mask].tolist() for row, mask in zip(order, keep, strict=True)]


def score_drivers(
    names: tuple[str, ...],
    contributions: np.ndarray,
    chosen: list[int],
    display: Mapping[str, float],
    percentile: Mapping[str, float],
) -> tuple[ScoreDriver, ...]:
    """The score drivers of one row: the ``chosen`` features (see :func:`pick`); ``display`` and
    ``percentile`` map display columns to this row's value and organisation percentile."""
    out = []
    for j in chosen:
        feature = names[j]
        column = info(feature).display
        value, pct = float(display[column]), float(percentile[column])
        text = reason_text(feature, value, pct, float(contributions[j]))
        out.append(ScoreDriver(feature, value, pct, text, float(contributions[j])))
    return tuple(out)
