"""Influence features: what the micro-influencer scorer reads about each advocate as of T.

:class:`InfluenceFeatures` combines the audience (:mod:`features.audience`), sharing history
(:mod:`features.sharing_history`) and org-network (:mod:`features.org_network`) builders and
derives the scorer's inputs. Like them it follows scikit-learn's rules and builds rows only
for advocates who did not opt out (asking for one raises ``OptedOutError``); everything comes
from the snapshot as of its ``as_of``, so nothing after T is read.

Columns (model inputs first, then the readable values reasons print)
- ``log_followers_max`` / ``followers_max``, ``followers_<net>``, ``n_networks``,
  ``log_following_max`` / ``following_max`` (following on all networks),
  ``log_posts_90d`` / ``posts_90d`` (posts on all networks): audience, latest snapshot.
- ``log_shares_measured`` / ``shares_measured``: shares with a measured outcome.
- ``log_engagement_per_share`` / ``engagement_per_share`` (reactions + comments + reshares).
- ``engagement_lift`` / ``engagement_lift_ratio``: how far engagement per share is above what
  the follower count predicts: the residual of ``log1p(engagement per share)`` on
  ``log1p(followers_max)`` (least squares over the advocates with measured shares in this
  snapshot), shrunk towards 0 by ``n / (n + lift_prior_shares)`` for ``n`` measured shares so
  one post cannot make a record; 0 without measured shares. The ratio is ``exp(lift)``.
- ``log_engagement_rate`` / ``engagement_rate_adj``: engagement per impression, shrunk towards
  the organisation's pooled rate with ``prior_impressions`` pseudo-impressions.
- ``engagement_consistency``: ``1 -`` the best share's part of all engagement (0 for a single
  share or none, ``1 - 1/n`` for ``n`` equally engaging shares); ``top_share_fraction``.
- ``log_clicks_per_share`` / ``clicks_per_share``; ``clicks_earned`` (all measured shares).
- ``activity_trend``: log ratio of activity, last 30 days vs the 60 before.
- ``log_shares_made`` / ``shares_made``, ``log_comments_made`` / ``comments_made``: share and
  comment events (measured or not).
- ``log_org_pagerank_rel`` / ``org_pagerank_rel``, ``log_org_degree`` / ``org_degree``,
  ``log_org_weighted_degree`` / ``org_weighted_degree``, ``org_core_number``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.audience import AudienceFeatures
from features.builder import check_fitted, profiled_rows
from features.data.contract import NETWORKS
from features.org_network import OrgNetwork
from features.sharing_history import SharingHistory
from features.snapshot import Snapshot
from recsys.matrix import FeatureMatrix

logger = logging.getLogger(__name__)

GROUP_DIMENSIONS = ("department", "region", "seniority")


def engagement_lift(
    log_engagement: np.ndarray,
    log_followers: np.ndarray,
    shares: np.ndarray,
    *,
    prior_shares: float = 2.0,
    fit_rows: np.ndarray | None = None,
) -> np.ndarray:
    """Shrunk residual of log engagement on log followers (see the module docstring); the
    line is fitted on ``fit_rows`` (default every row) with measured shares."""
    shares = np.asarray(shares, dtype=float)
    x, y = np.asarray(log_followers, float), np.asarray(log_engagement, float)
    seen = shares > 0
    fit = seen if fit_rows is None else seen & np.asarray(fit_rows, bool)
    lift = np.zeros(len(shares))
    if fit.sum() < 3:
        return lift
    if np.ptp(x[fit]) > 0:
        slope, intercept = np.polyfit(x[fit], y[fit], 1)
    else:
        slope, intercept = 0.0, float(y[fit].mean())
    residual = y[seen] - (slope * x[seen] + intercept)
    lift[seen] = residual * shares[seen] / (shares[seen] + prior_shares)
    return lift


class InfluenceFeatures:
    """The scorer's feature matrix as of a snapshot's ``as_of``.

    Parameters
    ----------
    networks:
        Networks whose follower counts decide the micro band (contract codes).
    prior_impressions:
        Pseudo-impressions at the organisation's rate that shrink each engagement rate.
    lift_prior_shares:
        Pseudo-shares that shrink the engagement lift towards 0.
    org_network:
        Build the org-network features (0 when False or when there are no edges).
    """

    def __init__(
        self,
        *,
        networks: Sequence[str] = NETWORKS,
        prior_impressions: float = 1000.0,
        lift_prior_shares: float = 2.0,
        org_network: bool = True,
    ) -> None:
        self.networks = networks
        self.prior_impressions = prior_impressions
        self.lift_prior_shares = lift_prior_shares
        self.org_network = org_network

    def fit(self, snapshot: Snapshot) -> InfluenceFeatures:
        if self.prior_impressions < 0 or self.lift_prior_shares < 0:
            raise ValueError("prior_impressions and lift_prior_shares must be >= 0")
        self.audience_ = AudienceFeatures(networks=self.networks).fit(snapshot)
        self.history_ = SharingHistory().fit(snapshot)
        self.network_ = OrgNetwork().fit(snapshot) if self.org_network else None
        return self

    def transform(self, snapshot: Snapshot, ids: Sequence[str] | None = None) -> FeatureMatrix:
        """Rows for ``ids`` (default: every advocate who did not opt out)."""
        check_fitted(self, "audience_")
        audience = self.audience_.transform(snapshot, ids)
        index = audience.ids
        history = self.history_.transform(snapshot, list(index.external))
        columns = _audience_columns(audience, self.audience_.networks_)
        columns |= _outcome_columns(audience, self.prior_impressions, self.lift_prior_shares)
        columns |= _history_columns(history)
        columns |= self._network_columns(snapshot, index.external)
        names = tuple(columns)
        values = np.column_stack([columns[n] for n in names]) if names else np.zeros((0, 0))
        logger.info("influence features as of %s: %d advocates", snapshot.as_of, len(index))
        return FeatureMatrix(values.astype(np.float64), names, index)

    def _network_columns(self, snapshot: Snapshot, ids: np.ndarray) -> dict[str, np.ndarray]:
        n = len(ids)
        wanted = ("org_pagerank_rel", "org_degree", "org_weighted_degree", "org_core_number")
        if self.network_ is None or snapshot.org_edges.empty or n == 0:
            raw = {name: np.zeros(n) for name in wanted}
            raw["org_pagerank_rel"] = np.ones(n)
        else:
            network = self.network_.transform(snapshot, list(ids))
            raw = {name: np.asarray(network.column(name), float) for name in wanted}
        return {
            "log_org_pagerank_rel": np.log(np.maximum(raw["org_pagerank_rel"], 1e-6)),
            "log_org_degree": np.log1p(raw["org_degree"]),
            "log_org_weighted_degree": np.log1p(raw["org_weighted_degree"]),
            **raw,
        }


def _audience_columns(audience: FeatureMatrix, networks: Sequence[str]) -> dict[str, np.ndarray]:
    col = audience.column
    following = np.sum([col(f"following_{n}") for n in networks], axis=0)
    posts = np.sum([col(f"posts_90d_{n}") for n in networks], axis=0)
    out = {
        "log_followers_max": np.log1p(col("followers_max")),
        "followers_max": col("followers_max"),
        "n_networks": col("n_networks"),
        "log_following_max": np.log1p(following),
        "following_max": following,
        "log_posts_90d": np.log1p(posts),
        "posts_90d": posts,
    }
    return out | {f"followers_{n}": col(f"followers_{n}") for n in networks}


def _outcome_columns(
    audience: FeatureMatrix, prior_impressions: float, prior_shares: float
) -> dict[str, np.ndarray]:
    col = audience.column
    shares = np.asarray(col("shares_measured"), float)
    per_share = np.asarray(col("engagement_per_share"), float)
    engagement = per_share * shares
    impressions = np.asarray(col("impressions_per_share"), float) * shares
    pooled = engagement.sum() / impressions.sum() if impressions.sum() > 0 else 0.0
    rate = (engagement + prior_impressions * pooled) / np.maximum(
        impressions + prior_impressions, 1e-9
    )
    lift = engagement_lift(
        np.log1p(per_share), np.log1p(col("followers_max")), shares, prior_shares=prior_shares
    )
    clicks = np.asarray(col("clicks_per_share"), float)
    top = np.asarray(col("top_share_fraction"), float)
    return {
        "log_shares_measured": np.log1p(shares),
        "shares_measured": shares,
        "log_engagement_per_share": np.log1p(per_share),
        "engagement_per_share": per_share,
        "engagement_lift": lift,
        "engagement_lift_ratio": np.exp(lift),
        "log_engagement_rate": np.log(rate + 1e-6),
        "engagement_rate_adj": rate,
        "top_share_fraction": top,
        "engagement_consistency": np.where(shares > 0, 1.0 - top, 0.0),
        "log_clicks_per_share": np.log1p(clicks),
        "clicks_per_share": clicks,
        "clicks_earned": clicks * shares,
    }


def _history_columns(history: FeatureMatrix) -> dict[str, np.ndarray]:
    shares = np.expm1(np.asarray(history.column("log_count:share"), float))
    comments = np.expm1(np.asarray(history.column("log_count:comment"), float))
    return {
        "activity_trend": np.asarray(history.column("trend:log_ratio"), float),
        "log_shares_made": np.log1p(shares),
        "shares_made": np.round(shares),
        "log_comments_made": np.log1p(comments),
        "comments_made": np.round(comments),
    }


def advocate_groups(
    snapshot: Snapshot, ids: Sequence[str], dimensions: Sequence[str] = GROUP_DIMENSIONS
) -> dict[str, list[object]]:
    """Department, region and seniority of advocates who did not opt out (fairness counts)."""
    rows = profiled_rows(snapshot, ids)
    return {d: rows[d].astype(object).where(rows[d].notna(), None).tolist() for d in dimensions}


def advocate_attributes(snapshot: Snapshot, ids: Sequence[str]) -> pd.DataFrame:
    """The profile fields candidates are filtered by (department, region, seniority, role)."""
    return profiled_rows(snapshot, ids)[
        ["employee_id", "department", "region", "seniority", "role"]
    ]
