"""Social accounts of employees: networks, log-normal audiences, follower growth and the
choice of network for a share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.data.contract import NETWORKS
from features.data.synthetic.config import DAY, OrgConfig
from features.data.synthetic.people import People
from features.data.synthetic.vocabulary import COUNTRIES

# per network: P(has account), median followers, share preference, reach rate of a post
_NET_P_HAS = (0.92, 0.30, 0.30, 0.15, 0.03, 0.02)
NET_MEDIAN = (350.0, 150.0, 250.0, 300.0, 120.0, 80.0)
NET_PREF = (1.0, 0.35, 0.25, 0.15, 0.4, 0.1)
NET_REACH = (0.08, 0.03, 0.05, 0.06, 0.05, 0.03)


@dataclass(frozen=True)
class Accounts:
    followers: np.ndarray  # (n, networks) at `end`; 0 = no account
    growth: np.ndarray  # relative follower growth per snapshot period
    main: np.ndarray  # network with most followers
    period_s: float
    snapshots: int


def make_accounts(cfg: OrgConfig, people: People, rng: np.random.Generator) -> Accounts:
    """1-3 networks per employee with log-normal followers; planted audiences forced."""
    n, m = people.n, len(NETWORKS)
    p_has = np.tile(np.array(_NET_P_HAS), (n, 1))
    p_has[np.array(list(COUNTRIES))[people.country] == "DE", NETWORKS.index("xing")] = 0.35
    has = rng.random((n, m)) < p_has
    has[~has.any(axis=1), 0] = True
    score = np.where(has, rng.random((n, m)) + np.array(NET_PREF), -np.inf)
    has &= np.argsort(np.argsort(-score, axis=1), axis=1) < 3  # at most three networks
    audience = rng.lognormal(0.0, 1.1, n) * (1 + 0.25 * np.maximum(0, people.seniority - 3))
    followers = np.array(NET_MEDIAN) * audience[:, None] * rng.lognormal(0.0, 0.6, (n, m))
    followers = np.where(has, np.maximum(1.0, np.round(followers)), 0.0)
    main = np.argmax(followers, axis=1)
    micro, macro = people.tier == 1, people.tier == 2
    followers[micro] = np.minimum(followers[micro], 1000.0)
    followers[micro, main[micro]] = np.round(
        np.exp(rng.uniform(np.log(1500), np.log(40000), micro.sum()))
    )
    followers[macro, main[macro]] = np.round(
        np.exp(rng.uniform(np.log(1.5e5), np.log(2e6), macro.sum()))
    )
    main = np.argmax(followers, axis=1)
    snapshots = max(1, round(cfg.days / 60))
    growth = np.where(has, rng.uniform(0.005, 0.04, (n, m)), 0.0)
    return Accounts(followers, growth, main, cfg.days * DAY / snapshots, snapshots)


def followers_at(acc: Accounts, emp: np.ndarray, net: np.ndarray, t: np.ndarray, end_s: int):
    """Followers of an account at times ``t`` (growth towards the value at ``end``)."""
    periods = (t - end_s) / acc.period_s
    return np.round(acc.followers[emp, net] * (1.0 + acc.growth[emp, net]) ** periods)


def share_networks(acc: Accounts, emp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A network per share among the employee's accounts (preference x log audience)."""
    f = acc.followers[emp]
    w = np.where(f > 0, np.array(NET_PREF) * (1.0 + np.log1p(f)), 0.0)
    w[np.arange(len(emp)), acc.main[emp]] *= 2.0
    cum = np.cumsum(w, axis=1)
    u = rng.random(len(emp)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), len(NETWORKS) - 1)
