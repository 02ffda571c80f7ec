"""Tracked link clicks on shares and the site visitors behind them.

A share's tracked clicks are a binomial thinning (``OrgConfig.link_click_rate``) of the
clicks of its last measurement in ``share_outcomes``, timed between the share and that
measurement (exponential delay, mean eight hours, cut at the measurement). Visitors belong
to audience clusters (blocks of ``AUDIENCE_EMPLOYEES`` colleagues of a region, so the paths
look alike at any organisation size). A click recruits a new visitor of its cluster with
probability ``1 / OrgConfig.clicks_per_visitor``; every other click returns to a visitor
recruited in the ``VISIT_DAYS`` before it, drawn by a log-normal click propensity, at most
once per share (one-off visitors take the rest of a burst bigger than the active pool).
Returning visitors click several shares of their cluster, so conversion paths have several
touches. A visitor is on the site from ``_BEFORE_DAYS`` before their first click to
``VISIT_DAYS`` after it; organic visitors (``OrgConfig.organic_visitor_ratio`` per clicking
visitor) are on the site the whole window and never click a share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.data.synthetic.config import DAY, OrgConfig
from features.data.synthetic.people import People
from features.data.synthetic.vocabulary import REGIONS

AUDIENCE_EMPLOYEES = 2500  # employees whose shares reach one audience cluster
VISIT_DAYS = 45  # a pool visitor follows the cluster's shares for this many days
_BEFORE_DAYS = 14  # ... and visits the site from this many days before the first click
_CLICK_DELAY_S = 8 * 3600  # mean delay from a share to a click (before the cut)
_PROPENSITY_SIGMA = 0.8  # log-normal spread of the visitors' click propensities
_REDRAWS = 4  # new draws for a visitor who already clicked the share


@dataclass(frozen=True)
class Visitors:
    """Site visitors: audience-pool, one-off and organic, each active in ``[start, stop]``."""

    region: np.ndarray  # index into REGIONS (of the audience cluster; drawn for organic)
    start: np.ndarray  # Unix seconds, >= OrgConfig.start_s
    stop: np.ndarray  # Unix seconds, <= OrgConfig.end_s

    @property
    def n(self) -> int:
        return len(self.region)


@dataclass(frozen=True)
class Clicks:
    """Tracked link clicks ordered by time: share (row of the events), Unix time, visitor."""

    share: np.ndarray
    t: np.ndarray
    visitor: np.ndarray
    visitors: Visitors


def make_clicks(cfg: OrgConfig, people: People, ev: dict, outcomes: tuple, rng) -> Clicks:
    """Tracked clicks of the shares and their visitors; ``outcomes`` = (idx, at, values)."""
    share, t = _tracked_clicks(cfg, ev["t"], *outcomes, rng)
    audience = audience_clusters(people)
    visitor, pool_cluster, arrive = _pick_visitors(cfg, share, audience[ev["emp"][share]], t, rng)
    cluster_region = np.zeros(audience.max(initial=0) + 1, np.int64)
    cluster_region[audience] = people.region()
    visitors = _visitors(cfg, people, cluster_region[pool_cluster], arrive, rng)
    order = np.lexsort((visitor, share, t))
    return Clicks(share[order], t[order], visitor[order], visitors)


def _visitors(cfg: OrgConfig, people: People, region, arrive, rng) -> Visitors:
    """Clicking visitors (from their arrival), then organic ones (regions as employees')."""
    n_org = round(cfg.organic_visitor_ratio * len(arrive))
    region_p = np.bincount(people.region(), minlength=len(REGIONS)) / people.n
    before, stay = _BEFORE_DAYS * DAY, VISIT_DAYS * DAY
    return Visitors(
        region=np.concatenate([region, rng.choice(len(REGIONS), n_org, p=region_p)]),
        start=np.concatenate(
            [np.maximum(arrive - before, cfg.start_s), np.full(n_org, cfg.start_s)]
        ),
        stop=np.concatenate([np.minimum(arrive + stay, cfg.end_s), np.full(n_org, cfg.end_s)]),
    )


def audience_clusters(people: People) -> np.ndarray:
    """Audience cluster of each employee: ``AUDIENCE_EMPLOYEES`` colleagues of a region.

    Employees of a region, in internal order (department, then team), are cut into blocks
    of ``AUDIENCE_EMPLOYEES`` (the last block takes the remainder), numbered region-major.
    Clusters hold about the same people at any organisation size, so the visitors' paths
    look alike in a small and a large organisation.
    """
    region = people.region()
    order = np.argsort(region, kind="stable")
    counts = np.bincount(region, minlength=len(REGIONS))
    pos = np.arange(people.n) - np.repeat(np.cumsum(counts) - counts, counts)
    blocks = np.maximum(counts // AUDIENCE_EMPLOYEES, 1)
    first = np.cumsum(blocks) - blocks
    cluster = np.empty(people.n, np.int64)
    r = region[order]
    cluster[order] = first[r] + np.minimum(pos // AUDIENCE_EMPLOYEES, blocks[r] - 1)
    return cluster


def _tracked_clicks(cfg: OrgConfig, share_t, idx, at, values, rng) -> tuple[np.ndarray, ...]:
    """Share row and time of each tracked click (outcomes sorted by share, then time)."""
    last = np.ones(len(idx), bool)
    last[:-1] = idx[1:] != idx[:-1]
    counts = rng.binomial(values[last, 1], cfg.link_click_rate)
    share = np.repeat(idx[last], counts)
    t0 = share_t[share]
    span = np.repeat(at[last], counts) - t0  # >= 1: measurements come after the share
    cut = -np.expm1(-span / _CLICK_DELAY_S)
    delay = -_CLICK_DELAY_S * np.log1p(-rng.random(len(share)) * cut)
    return share, t0 + np.clip(np.ceil(delay), 1, span).astype(np.int64)


def _pick_visitors(cfg: OrgConfig, share, cluster, t, rng) -> tuple[np.ndarray, ...]:
    """A visitor per click, and each visitor's cluster and arrival time.

    A click recruits a new pool visitor (arriving at the click) with probability
    ``1 / clicks_per_visitor``; the pool also holds the visitors recruited in the
    ``VISIT_DAYS`` before the window (same rate per cluster, their first click unseen).
    Every other click returns to a visitor of its cluster who arrived within ``VISIT_DAYS``
    before it, drawn in proportion to a log-normal click propensity.
    """
    recruit = rng.random(len(t)) * cfg.clicks_per_visitor < 1.0
    pool_cluster, arrive = _pool(cfg, cluster[recruit], t[recruit], rng)
    order = np.lexsort((arrive, pool_cluster))
    visitor = np.full(len(t), -1)
    visitor[np.flatnonzero(recruit)] = np.argsort(order)[: recruit.sum()]
    pool_cluster, arrive = pool_cluster[order], arrive[order]
    visit, origin = VISIT_DAYS * DAY, cfg.start_s - 2 * VISIT_DAYS * DAY
    width = cfg.days * DAY + 2 * visit + 1  # arrive - origin and t - origin in [1, width)
    key = pool_cluster * width + (arrive - origin)
    query = cluster * width + (t - origin)
    lo, hi = np.searchsorted(key, query - visit, "right"), np.searchsorted(key, query, "right")
    cum = np.concatenate(([0.0], np.cumsum(rng.lognormal(0.0, _PROPENSITY_SIGMA, len(key)))))
    visitor = _assign(share, visitor, recruit, (cum, lo, hi), rng)
    alone = np.flatnonzero(visitor < 0)
    visitor[alone] = len(key) + np.arange(len(alone))
    return (
        visitor,
        np.concatenate([pool_cluster, cluster[alone]]),
        np.concatenate([arrive, t[alone]]),
    )


def _pool(cfg: OrgConfig, cluster, t, rng) -> tuple[np.ndarray, np.ndarray]:
    """Recruits (cluster, arrival), then those of the ``VISIT_DAYS`` before the window."""
    rate = np.bincount(cluster) / cfg.days
    early = np.repeat(np.arange(len(rate)), rng.poisson(rate * VISIT_DAYS))
    before = cfg.start_s - rng.integers(0, VISIT_DAYS * DAY, len(early))
    return np.concatenate([cluster, early]), np.concatenate([t, before])


def _assign(share, visitor, recruit, ranges, rng) -> np.ndarray:
    """Each returning click (``visitor`` -1) gets a visitor of its range, or stays -1.

    A visitor clicks a share at most once: repeats are drawn again a few times; clicks
    left with an empty range or a repeat (a burst bigger than the active pool) stay -1.
    """
    cum, lo, hi = ranges
    back = np.flatnonzero(~recruit & (hi > lo))
    visitor[back] = _draw(cum, lo[back], hi[back], rng)
    for _ in range(_REDRAWS):
        again = back[_repeated(share, visitor, recruit)[back]]
        if not len(again):
            break
        visitor[again] = _draw(cum, lo[again], hi[again], rng)
    visitor[back[_repeated(share, visitor, recruit)[back]]] = -1
    return visitor


def _draw(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng) -> np.ndarray:
    """Visitor ``j`` in ``[lo, hi)`` with P ~ its propensity (``cum`` = 0 then running sums)."""
    u = cum[lo] + rng.random(len(lo)) * (cum[hi] - cum[lo])
    return np.clip(np.searchsorted(cum, u, "right") - 1, lo, np.maximum(hi - 1, lo))


def _repeated(share: np.ndarray, visitor: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """True for each click whose (share, visitor) pair has another click ahead of it
    (``keep`` clicks first, then by position)."""
    pair = share * (visitor.max(initial=0) + 2) + visitor + 1  # visitor -1: none yet
    order = np.lexsort((~keep, pair))
    out = np.zeros(len(pair), bool)
    out[order[1:]] = pair[order[1:]] == pair[order[:-1]]
    return out
