"""Audience features: reach on each network and what shares earned there, as of ``as_of``.

These are the inputs of the micro-influencer scorer. Only advocates who did not opt out get a
row (see :class:`recsys.errors.OptedOutError`).

Columns (``<net>`` is each network of ``networks``, default every contract network)
- From the latest ``social_accounts`` snapshot per (advocate, network) at or before ``as_of``:
  ``has_<net>`` (1 when there is one; otherwise every column of that network is 0),
  ``followers_<net>``, ``log_followers_<net>``, ``following_<net>``, ``posts_90d_<net>``;
  over networks: ``followers_max``, ``log_followers_max``, ``n_networks``.
- From ``share_outcomes``, using the latest measurement of each share at or before ``as_of``,
  joined to the advocate's share event; engagement = reactions + comments + reshares (a missing
  count is 0):
  per network ``shares_measured_<net>``, ``engagement_per_share_<net>``,
  ``clicks_per_share_<net>``, ``engagement_rate_<net>`` (engagement / impressions, pooled);
  over all shares ``shares_measured``, ``impressions_per_share``, ``engagement_per_share``,
  ``clicks_per_share``, ``engagement_rate``, ``click_rate`` (pooled per impression);
  stability: ``engagement_rate_mean`` and ``engagement_rate_std`` (population std) of the
  per-share rates of shares with impressions, ``engagement_cv`` (std / mean of per-share
  engagement) and ``top_share_fraction`` (the best share's part of all engagement).
  Without measured shares all of these are 0; ``shares_measured`` tells the scorer how much
  to trust them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.builder import advocate_index, check_fitted, profiled_rows, until
from features.data.contract import NETWORKS
from features.snapshot import Snapshot
from recsys.matrix import FeatureMatrix

logger = logging.getLogger(__name__)

Block = tuple[np.ndarray, list[str]]
ENGAGEMENT = ("reactions", "comments", "reshares")


class AudienceFeatures:
    """Followers per network and engagement earned per share, with its stability.

    Parameters
    ----------
    networks:
        Networks that get their own columns (contract codes).
    """

    def __init__(self, *, networks: Sequence[str] = NETWORKS) -> None:
        self.networks = networks

    def fit(self, snapshot: Snapshot) -> AudienceFeatures:
        """Check the networks (nothing is learned from data)."""
        unknown = sorted(set(self.networks) - set(NETWORKS))
        if unknown:
            raise ValueError(f"unknown network(s) {unknown}; known: {list(NETWORKS)}")
        self.networks_ = tuple(self.networks)
        return self

    def transform(self, snapshot: Snapshot, ids: Sequence[str] | None = None) -> FeatureMatrix:
        """Audience rows for ``ids`` (default: every advocate who did not opt out)."""
        check_fitted(self, "networks_")
        index = advocate_index(profiled_rows(snapshot, ids))
        rows = pd.Index(index.external)
        blocks = [
            _accounts(snapshot, rows, self.networks_),
            _outcomes(snapshot, rows, self.networks_),
        ]
        values = np.hstack([b[0] for b in blocks]).astype(np.float32)
        names = tuple(name for b in blocks for name in b[1])
        return FeatureMatrix(values, names, index)


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """``top / bottom`` with 0 where ``bottom`` is 0."""
    return np.divide(top, bottom, out=np.zeros(np.shape(top)), where=bottom > 0)


def _latest(frame: pd.DataFrame, keys: list[str], time: str) -> pd.DataFrame:
    """The last row per ``keys`` by ``time``."""
    ordered = frame.assign(_t=pd.to_datetime(frame[time], utc=True)).sort_values(
        "_t", kind="stable"
    )
    return ordered.drop_duplicates(keys, keep="last")


def _accounts(snapshot: Snapshot, rows: pd.Index, networks: tuple[str, ...]) -> Block:
    accounts = until(snapshot.social_accounts, "as_of", snapshot.as_of)
    accounts = accounts.assign(
        _row=rows.get_indexer(accounts["employee_id"].astype(str)),
        _net=pd.Categorical(accounts["network"], categories=networks).codes,
    )
    accounts = _latest(
        accounts[(accounts["_row"] >= 0) & (accounts["_net"] >= 0)], ["_row", "_net"], "as_of"
    )
    n, k = len(rows), len(networks)
    where = (accounts["_row"].to_numpy(), accounts["_net"].to_numpy())
    tables = {}
    for field in ("followers", "following", "posts_last_90d"):
        table = np.zeros((n, k))
        table[where] = pd.to_numeric(accounts[field], errors="coerce").fillna(0).to_numpy()
        tables[field] = table
    has = np.zeros((n, k))
    has[where] = 1.0
    followers = tables["followers"]
    top = followers.max(axis=1) if k else np.zeros(n)
    per_net = [has, followers, np.log1p(followers), tables["following"], tables["posts_last_90d"]]
    prefixes = ["has", "followers", "log_followers", "following", "posts_90d"]
    names = [f"{p}_{net}" for p in prefixes for net in networks]
    names += ["followers_max", "log_followers_max", "n_networks"]
    values = np.hstack([*per_net, np.column_stack([top, np.log1p(top), has.sum(axis=1)])])
    return values, names


def _measured_shares(snapshot: Snapshot, rows: pd.Index, networks: tuple[str, ...]) -> pd.DataFrame:
    """One row per measured share of a wanted advocate: row, network code and its outcome."""
    outcomes = _latest(
        until(snapshot.share_outcomes, "measured_at", snapshot.as_of), ["event_id"], "measured_at"
    )
    events = until(snapshot.interactions, "timestamp", snapshot.as_of)
    shares = events.loc[events["event_type"] == "share", ["event_id", "employee_id", "network"]]
    joined = outcomes.assign(event_id=outcomes["event_id"].astype(str)).merge(
        shares.assign(event_id=shares["event_id"].astype(str)), on="event_id", how="inner"
    )
    counts = {
        c: pd.to_numeric(joined[c], errors="coerce").fillna(0).to_numpy(float)
        for c in ("impressions", "clicks", *ENGAGEMENT)
    }
    frame = pd.DataFrame(
        {
            "row": rows.get_indexer(joined["employee_id"].astype(str)),
            "net": pd.Categorical(joined["network"], categories=networks).codes.astype(np.int64),
            "impressions": counts["impressions"],
            "clicks": counts["clicks"],
            "engagement": sum(counts[c] for c in ENGAGEMENT),
        }
    )
    return frame[frame["row"] >= 0].reset_index(drop=True)


def _outcomes(snapshot: Snapshot, rows: pd.Index, networks: tuple[str, ...]) -> Block:
    shares = _measured_shares(snapshot, rows, networks)
    n, k = len(rows), len(networks)
    row, net = shares["row"].to_numpy(), shares["net"].to_numpy()
    eng, clicks = shares["engagement"].to_numpy(), shares["clicks"].to_numpy()
    impressions, ones = shares["impressions"].to_numpy(), np.ones(len(shares))
    on_net = net >= 0
    cell = row[on_net] * k + net[on_net]
    by_net = {
        name: np.bincount(cell, weights=v[on_net], minlength=n * k).reshape(n, k)
        for name, v in (("n", ones), ("e", eng), ("c", clicks), ("i", impressions))
    }
    per_net = [
        by_net["n"],
        _ratio(by_net["e"], by_net["n"]),
        _ratio(by_net["c"], by_net["n"]),
        _ratio(by_net["e"], by_net["i"]),
    ]
    prefixes = ["shares_measured", "engagement_per_share", "clicks_per_share", "engagement_rate"]
    names = [f"{p}_{net}" for p in prefixes for net in networks]
    total = {
        name: np.bincount(row, weights=v, minlength=n)
        for name, v in (("n", ones), ("e", eng), ("c", clicks), ("i", impressions))
    }
    overall = [
        total["n"],
        _ratio(total["i"], total["n"]),
        _ratio(total["e"], total["n"]),
        _ratio(total["c"], total["n"]),
        _ratio(total["e"], total["i"]),
        _ratio(total["c"], total["i"]),
    ]
    names += ["shares_measured", "impressions_per_share", "engagement_per_share"]
    names += ["clicks_per_share", "engagement_rate", "click_rate"]
    stability, stability_names = _stability(row, eng, impressions, n)
    values = np.hstack([*per_net, np.column_stack(overall), stability])
    return values, names + stability_names


def _mean_std(row: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and population std of ``values`` (two-pass; 0 for rows without values)."""
    count = np.bincount(row, minlength=n).astype(float)
    mean = _ratio(np.bincount(row, weights=values, minlength=n), count)
    deviation = values - mean[row]
    return mean, np.sqrt(_ratio(np.bincount(row, weights=deviation**2, minlength=n), count))


def _stability(row: np.ndarray, eng: np.ndarray, impressions: np.ndarray, n: int) -> Block:
    """Spread of per-share engagement rates and engagement, and the best share's part."""
    seen = impressions > 0
    rate_mean, rate_std = _mean_std(row[seen], eng[seen] / impressions[seen], n)
    eng_mean, eng_std = _mean_std(row, eng, n)
    best = np.zeros(n)
    np.maximum.at(best, row, eng)
    top = _ratio(best, np.bincount(row, weights=eng, minlength=n))
    names = ["engagement_rate_mean", "engagement_rate_std", "engagement_cv", "top_share_fraction"]
    return np.column_stack([rate_mean, rate_std, _ratio(eng_std, eng_mean), top]), names
