"""Deterministic synthetic organisations in the data contract.

``generate(OrgConfig(...))`` builds an employee advocacy programme with planted structure:
departments split into teams whose members share topic interests (homophily); a content
catalogue with readable titles, approval states, expiry and eligibility lists; a funnel of
interactions (impression >> view > click > like/bookmark/comment > share) driven by
interest x freshness (half-life two days) x quality on live, approved, eligible content;
social accounts with log-normal audiences; share outcomes in which planted
micro-influencers earn 3-6x more engagement per impression on every share, next to
confounders that fool naive baselines (macro accounts, heavy sharers); org edges.

The planted truth is returned in ``SyntheticOrg.ground_truth`` only. All randomness comes
from generators spawned from ``config.seed``: the same config gives the same tables and
byte-identical files.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.data.contract import (
    APPROVAL_STATUSES,
    EVENT_TYPES,
    NETWORKS,
    SENIORITIES,
    TABLE_ORDER,
    TABLES,
    Kind,
)

logger = logging.getLogger(__name__)

DAY = 86_400
HALF_LIFE_DAYS = 2.0  # freshness half-life of content popularity
_BLOCK = 365 * DAY  # time block with its own reference point for freshness weights
_NEVER = np.iinfo(np.int64).max  # "no expiry"
_SATURATION = 2.0  # fresh-content mass at which a topic fills half of its feed slots
TIERS = ("regular", "micro", "macro", "heavy_sharer")
_EDGE_KINDS = ("email", "manager", "mention", "team")  # codes used by _edges, sorted by name

# topic -> (label for event names, a metric one can cut, a subject)
_TOPIC_TEXT = {
    "cloud": ("Cloud", "cloud costs", "multi-cloud operations"),
    "security": ("Security", "incident response time", "zero-trust security"),
    "ai": ("AI", "model serving costs", "generative AI"),
    "data": ("Data", "report build times", "self-service analytics"),
    "sustainability": ("Sustainability", "office emissions", "sustainable operations"),
    "diversity": ("Inclusion", "bias in interviews", "inclusive hiring"),
    "hiring": ("Careers", "time to hire", "career growth"),
    "product-launch": ("Launch", "release lead time", "product launches"),
    "customer-stories": ("Customer", "onboarding time", "customer success"),
    "leadership": ("Leadership", "meeting load", "leading hybrid teams"),
    "events": ("Community", "event costs", "community events"),
    "finance-results": ("Finance", "closing time", "financial planning"),
    "partnerships": ("Partner", "integration time", "partner integrations"),
    "culture": ("Culture", "onboarding friction", "our company culture"),
    "devops": ("DevOps", "deployment times", "continuous delivery"),
    "design": ("Design", "design debt", "accessible design"),
    "sales-enablement": ("Sales", "sales cycles", "sales enablement"),
    "marketing": ("Marketing", "cost per lead", "brand storytelling"),
    "remote-work": ("Future of Work", "commute hours", "hybrid work"),
    "community": ("Open Source", "review wait times", "open source"),
}
TOPICS = tuple(_TOPIC_TEXT)
# departments: headcount weight, roles and favoured topics
_DEPARTMENTS = {
    "Engineering": 0.27,
    "Product": 0.07,
    "Sales": 0.16,
    "Marketing": 0.08,
    "Support": 0.12,
    "Operations": 0.10,
    "HR": 0.06,
    "Finance": 0.08,
    "Legal": 0.03,
}
_ROLES = {
    "Engineering": (
        "Software Engineer",
        "Site Reliability Engineer",
        "Data Engineer",
        "DevOps Engineer",
    ),
    "Product": ("Product Manager", "Product Designer", "UX Researcher"),
    "Sales": ("Account Executive", "Sales Development Representative", "Solutions Engineer"),
    "Marketing": ("Content Marketer", "Product Marketing Manager", "Social Media Manager"),
    "Support": ("Support Engineer", "Customer Success Manager", "Technical Account Manager"),
    "Operations": ("Operations Analyst", "Project Manager", "Facilities Coordinator"),
    "HR": ("Recruiter", "HR Business Partner", "People Operations Specialist"),
    "Finance": ("Financial Analyst", "Accountant", "Controller"),
    "Legal": ("Counsel", "Compliance Officer", "Paralegal"),
}
_DEPT_TOPICS = {
    "Engineering": ("cloud", "devops", "ai", "data", "security"),
    "Product": ("product-launch", "design", "ai", "data"),
    "Sales": ("sales-enablement", "customer-stories", "partnerships", "events"),
    "Marketing": ("marketing", "events", "product-launch", "customer-stories"),
    "Support": ("customer-stories", "product-launch", "remote-work"),
    "Operations": ("sustainability", "remote-work", "community"),
    "HR": ("hiring", "diversity", "culture", "leadership"),
    "Finance": ("finance-results", "leadership", "data"),
    "Legal": ("security", "leadership", "finance-results"),
}
REGIONS = ("EMEA", "NA", "LATAM", "APAC")
LANGUAGES = ("en", "de", "fr", "es", "pt", "ja", "nl")
# country -> (region, languages, headcount weight, cities, UTC offset in hours)
_COUNTRIES = {
    "US": ("NA", ("en",), 0.28, ("New York", "Austin", "San Francisco"), -6),
    "CA": ("NA", ("en", "fr"), 0.04, ("Toronto", "Montreal"), -5),
    "DE": ("EMEA", ("de", "en"), 0.12, ("Berlin", "Munich", "Hamburg"), 1),
    "FR": ("EMEA", ("fr", "en"), 0.08, ("Paris", "Lyon"), 1),
    "GB": ("EMEA", ("en",), 0.10, ("London", "Manchester"), 0),
    "ES": ("EMEA", ("es", "en"), 0.05, ("Madrid", "Barcelona"), 1),
    "NL": ("EMEA", ("nl", "en"), 0.03, ("Amsterdam",), 1),
    "BR": ("LATAM", ("pt", "en"), 0.06, ("Sao Paulo",), -3),
    "MX": ("LATAM", ("es", "en"), 0.04, ("Mexico City",), -6),
    "JP": ("APAC", ("ja", "en"), 0.05, ("Tokyo", "Osaka"), 9),
    "IN": ("APAC", ("en",), 0.08, ("Bangalore", "Pune"), 5),
    "SG": ("APAC", ("en",), 0.03, ("Singapore",), 8),
    "AU": ("APAC", ("en",), 0.04, ("Sydney", "Melbourne"), 10),
}
_MEMBER_SENIORITY_P = (0.05, 0.20, 0.35, 0.28, 0.12)  # intern, junior, mid, senior, lead
# per network: P(has account), median followers, share preference, reach rate of a post
_NET_P_HAS = (0.92, 0.30, 0.30, 0.15, 0.03, 0.02)
_NET_MEDIAN = (350.0, 150.0, 250.0, 300.0, 120.0, 80.0)
_NET_PREF = (1.0, 0.35, 0.25, 0.15, 0.4, 0.1)
_NET_REACH = (0.08, 0.03, 0.05, 0.06, 0.05, 0.03)
_CONTENT_TYPES = ("article", "job", "event", "product", "culture", "video")
_TYPE_P = (0.34, 0.15, 0.10, 0.15, 0.16, 0.10)
_TYPE_POP = (1.0, 0.8, 0.9, 1.0, 1.15, 1.25)
_TYPE_FOCUS = (
    (),
    ("hiring",),
    ("events",),
    ("product-launch", "ai", "cloud"),
    ("culture", "diversity", "community", "remote-work", "sustainability"),
    (),
)
_STATUS_P = (0.05, 0.88, 0.03, 0.04)  # draft, approved, rejected, retired (contract order)
_CONTENT_LANG_P = (0.78, 0.06, 0.04, 0.04, 0.03, 0.03, 0.02)
_LOCAL_HOUR_W = (1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 17, 15, 11, 13, 16, 15, 13, 10, 7, 6, 5, 4, 2, 1)
_WEEKDAY_W = (1.0, 1.05, 1.05, 1.0, 0.9, 0.3, 0.25)  # Monday .. Sunday
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_TITLES = {
    "article": (
        "How our {team} team cut {metric} by {pct}%",
        "{n} lessons we learned about {subject}",
        "What {subject} means for our customers in {year}",
        "Inside our approach to {subject}",
    ),
    "job": (
        "We're hiring: {level}{role} in {city}",
        "Join our {dept} team as {level}{role} ({city})",
    ),
    "event": (
        "Join us at {label} Summit {city} on {date}",
        "Webinar on {date}: {subject} with our experts",
        "Meet our team at {label} Days {city} on {date}",
    ),
    "product": (
        "Introducing {product}: {subject} made simple",
        "{product} {version} is here: cut {metric} by {pct}%",
    ),
    "culture": (
        "A day in the life of our {team} team in {city}",
        "Why we care about {subject}",
        "{n} things our {team} team does for {subject}",
    ),
    "video": (
        "Watch: {subject} explained in {mins} minutes",
        "Video: our {team} team on {subject}",
    ),
}
_BODIES = {
    "article": (
        "Our {team} team shares what worked and what did not.",
        "The short version: start small, measure everything and involve people early.",
        "Read the full story to see how {subject} changed the way we work.",
    ),
    "job": (
        "You will work with a friendly {team} team in {city}.",
        "We offer flexible hours, a learning budget and a strong focus on {subject}.",
        "Apply now or share this role with someone great.",
    ),
    "event": (
        "Expect talks, demos and plenty of time to meet our experts.",
        "This year's focus is {subject}.",
        "Seats are limited, so register early.",
    ),
    "product": (
        "{product} {version} brings new features for teams that care about {subject}.",
        "Customers in the beta saw results within weeks.",
        "Try it and tell us what you think.",
    ),
    "culture": (
        "We asked colleagues in {city} what makes work here special.",
        "Their answers say a lot about {subject}.",
        "Read their stories and share your own.",
    ),
    "video": (
        "In this short video our {team} experts talk about {subject}.",
        "It takes {mins} minutes and covers the essentials.",
        "Watch it and pass it on.",
    ),
}


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


@dataclass(frozen=True)
class _People:
    """Latent state of the employees, in internal order (grouped by department and team)."""

    ids: np.ndarray  # employee_id strings (object)
    rank: np.ndarray  # position of each employee in employee_id order
    dept: np.ndarray
    team: np.ndarray
    team_lo: np.ndarray  # first member index of the employee's team
    team_hi: np.ndarray
    dept_lo: np.ndarray
    dept_hi: np.ndarray
    parent: np.ndarray  # manager index, -1 for department heads
    seniority: np.ndarray
    role: np.ndarray
    country: np.ndarray
    hire_s: np.ndarray
    theta: np.ndarray  # (n, topics) latent topic interests
    interests: list[list[str]]
    opted_out: np.ndarray
    activity: np.ndarray
    engage: np.ndarray  # propensity to open what the feed shows
    share_prop: np.ndarray
    multiplier: np.ndarray  # influence multiplier of the engagement rate
    engagement_rate: np.ndarray  # per impression, multiplier included
    tier: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)

    def region(self) -> np.ndarray:
        return np.array([REGIONS.index(c[0]) for c in _COUNTRIES.values()])[self.country]

    def lang_bits(self) -> np.ndarray:
        bits = [sum(1 << LANGUAGES.index(x) for x in c[1]) for c in _COUNTRIES.values()]
        return np.array(bits)[self.country]


@dataclass(frozen=True)
class _Catalog:
    """Content in publication order (content ids follow this order)."""

    ids: np.ndarray
    ctype: np.ndarray
    status: np.ndarray
    pub: np.ndarray
    exp: np.ndarray  # _NEVER when the item does not expire
    topics: np.ndarray  # (n, topics) bool
    pop: np.ndarray  # latent quality / popularity
    lang: np.ndarray
    region_bits: np.ndarray  # eligibility as bit sets; all bits set = everyone
    dept_bits: np.ndarray
    lang_bits: np.ndarray
    by_topic: list[np.ndarray]  # approved items per topic, in publication order


@dataclass(frozen=True)
class _Accounts:
    followers: np.ndarray  # (n, networks) at `end`; 0 = no account
    growth: np.ndarray  # relative follower growth per snapshot period
    main: np.ndarray  # network with most followers
    period_s: float
    snapshots: int


def _team_sizes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Team sizes of 8-15 (the last team absorbs a small remainder) summing to ``n``."""
    sizes = rng.integers(8, 16, size=n // 8 + 2)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, n))
    sizes = sizes[: k + 1].copy()
    sizes[-1] = n - (cum[k - 1] if k else 0)
    if len(sizes) > 1 and sizes[-1] < 5:
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return sizes


def _structure(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Departments, teams and a reporting tree per department (head -> directors -> teams)."""
    weights = np.array(list(_DEPARTMENTS.values()))
    counts = rng.multinomial(n, weights / weights.sum())
    out = {
        k: np.zeros(n, np.int64)
        for k in ("dept", "team", "team_lo", "team_hi", "dept_lo", "dept_hi", "parent", "seniority")
    }
    pos = n_teams = 0
    for d, n_d in enumerate(counts):
        if n_d == 0:
            continue
        sizes = _team_sizes(int(n_d), rng)
        starts = pos + np.concatenate(([0], np.cumsum(sizes)[:-1]))
        local = np.repeat(np.arange(len(sizes)), sizes)
        sl = slice(pos, pos + n_d)
        t = np.arange(len(sizes))
        group_first = starts[(t // 6) * 6]  # every six teams report to a director
        parent = starts[local]
        parent[starts - pos] = np.where(t % 6 == 0, pos, group_first)
        parent[0] = -1
        seniority = rng.choice(5, size=n_d, p=_MEMBER_SENIORITY_P)
        seniority[starts - pos] = SENIORITIES.index("manager")
        seniority[group_first - pos] = SENIORITIES.index("director")
        seniority[0] = SENIORITIES.index("executive" if n_d >= 40 else "director")
        for key, value in (
            ("dept", d),
            ("team", n_teams + local),
            ("team_lo", starts[local]),
            ("team_hi", starts[local] + sizes[local]),
            ("dept_lo", pos),
            ("dept_hi", pos + n_d),
            ("parent", parent),
            ("seniority", seniority),
        ):
            out[key][sl] = value
        pos += n_d
        n_teams += len(sizes)
    return out


def _roles(dept: np.ndarray, seniority: np.ndarray, parent: np.ndarray, rng) -> np.ndarray:
    names = list(_DEPARTMENTS)
    roles = np.empty(len(dept), dtype=object)
    pick = rng.random(len(dept))
    for i, (d, s, p) in enumerate(zip(dept, seniority, parent, strict=True)):
        name, dept_roles = names[d], _ROLES[names[d]]
        if p < 0:
            roles[i] = f"VP {name}" if SENIORITIES[s] == "executive" else f"Head of {name}"
        elif SENIORITIES[s] in ("manager", "director"):
            roles[i] = f"{name} Manager" if SENIORITIES[s] == "manager" else f"Director of {name}"
        else:
            roles[i] = dept_roles[int(pick[i] * len(dept_roles))]
    return roles


def _dirichlet_rows(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    g = rng.gamma(alpha) + 1e-12
    return g / g.sum(axis=1, keepdims=True)


def _interests(s: dict[str, np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """Topic vectors around a Dirichlet team mean (shifted by department) and interest tags."""
    k = len(TOPICS)
    fav = np.zeros((len(_DEPARTMENTS), k))
    for d, topics in enumerate(_DEPT_TOPICS.values()):
        fav[d, [TOPICS.index(t) for t in topics]] = 1.0 / len(topics)
    base = 0.25 / k + 0.75 * fav
    n_teams = int(s["team"].max()) + 1
    team_dept = np.zeros(n_teams, np.int64)
    team_dept[s["team"]] = s["dept"]
    team_mean = _dirichlet_rows(8.0 * base[team_dept], rng)
    theta = _dirichlet_rows(20.0 * team_mean[s["team"]] + 0.02, rng)
    n_tags = rng.choice(6, size=len(theta), p=(0.08, 0.12, 0.25, 0.25, 0.18, 0.12))
    keys = np.log(theta) + rng.gumbel(size=theta.shape)  # Gumbel top-k = sampling w/o replacement
    order = np.argsort(-keys, axis=1)
    tags = [[TOPICS[j] for j in row[:m]] for row, m in zip(order, n_tags, strict=True)]
    return theta, tags


def _make_people(cfg: OrgConfig, rng: np.random.Generator) -> _People:
    n = cfg.employees
    s = _structure(n, rng)
    codes = list(_COUNTRIES)
    cp = np.array([c[2] for c in _COUNTRIES.values()])
    team_country = rng.choice(len(codes), size=int(s["team"].max()) + 1, p=cp / cp.sum())
    stay = rng.random(n) < 0.85
    country = np.where(stay, team_country[s["team"]], rng.choice(len(codes), n, p=cp / cp.sum()))
    tenure = rng.lognormal(np.log(700) + 0.2 * s["seniority"], 0.9)
    tenure = np.clip(np.where(s["seniority"] == 0, tenure / 4, tenure), 1, 25 * 365)
    hire_s = (cfg.end_s - (tenure * DAY).astype(np.int64)) // DAY * DAY
    theta, tags = _interests(s, rng)
    opted_out = rng.random(n) < cfg.opt_out_rate
    rank = rng.permutation(n)
    width = max(5, len(str(n)))
    ids = np.array([f"emp{r + 1:0{width}d}" for r in rank], dtype=object)
    traits = _traits(cfg, s["seniority"], opted_out, rng)
    return _People(
        ids=ids,
        rank=rank,
        role=_roles(s["dept"], s["seniority"], s["parent"], rng),
        country=country,
        hire_s=hire_s,
        theta=theta,
        interests=tags,
        opted_out=opted_out,
        **s,
        **traits,
    )


def _traits(cfg: OrgConfig, seniority: np.ndarray, opted_out: np.ndarray, rng) -> dict:
    """Heavy-tailed activity, share propensity, engagement rates and planted tiers."""
    n = len(seniority)
    activity = rng.lognormal(0.0, 1.0, n) * np.where(rng.random(n) < 0.1, 0.1, 1.0)
    activity *= np.where(seniority >= SENIORITIES.index("director"), 0.6, 1.0)
    share_prop = rng.lognormal(-0.245, 0.7, n)
    engage = rng.lognormal(-0.08, 0.4, n)
    base_rate = rng.lognormal(np.log(0.012), 0.35, n)
    multiplier, tier = np.ones(n), np.zeros(n, np.int64)
    pool = rng.permutation(np.flatnonzero(~opted_out))
    n_micro = round(cfg.micro_influencer_rate * len(pool))
    n_macro, n_heavy = (max(1, round(0.002 * n)), max(1, round(0.005 * n))) if n >= 100 else (0, 0)
    micro = pool[:n_micro]
    macro = pool[n_micro : n_micro + n_macro]
    heavy = pool[n_micro + n_macro : n_micro + n_macro + n_heavy]
    tier[micro], tier[macro], tier[heavy] = 1, 2, 3
    multiplier[micro] = rng.uniform(3.0, 6.0, len(micro))
    share_prop[micro] *= 2.5
    activity[micro] *= 1.5
    multiplier[macro] = 0.8  # huge audience, ordinary (slightly low) engagement
    multiplier[heavy] = 0.5  # shares a lot, little engagement
    share_prop[heavy] *= 8.0
    activity[heavy] *= 2.5
    return {
        "activity": activity,
        "engage": engage,
        "share_prop": share_prop,
        "multiplier": multiplier,
        "engagement_rate": base_rate * multiplier,
        "tier": tier,
    }


def _make_accounts(cfg: OrgConfig, people: _People, rng: np.random.Generator) -> _Accounts:
    """1-3 networks per employee with log-normal followers; planted audiences forced."""
    n, m = people.n, len(NETWORKS)
    p_has = np.tile(np.array(_NET_P_HAS), (n, 1))
    p_has[np.array(list(_COUNTRIES))[people.country] == "DE", NETWORKS.index("xing")] = 0.35
    has = rng.random((n, m)) < p_has
    has[~has.any(axis=1), 0] = True
    score = np.where(has, rng.random((n, m)) + np.array(_NET_PREF), -np.inf)
    has &= np.argsort(np.argsort(-score, axis=1), axis=1) < 3  # at most three networks
    audience = rng.lognormal(0.0, 1.1, n) * (1 + 0.25 * np.maximum(0, people.seniority - 3))
    followers = np.array(_NET_MEDIAN) * audience[:, None] * rng.lognormal(0.0, 0.6, (n, m))
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
    return _Accounts(followers, growth, main, cfg.days * DAY / snapshots, snapshots)


def _followers_at(acc: _Accounts, emp: np.ndarray, net: np.ndarray, t: np.ndarray, end_s: int):
    """Followers of an account at times ``t`` (growth towards the value at ``end``)."""
    periods = (t - end_s) / acc.period_s
    return np.round(acc.followers[emp, net] * (1.0 + acc.growth[emp, net]) ** periods)


def _pick_in_dept(people: _People, dept: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random employee of each given department (anyone if it is empty)."""
    lo = np.full(len(_DEPARTMENTS), 0)
    hi = np.full(len(_DEPARTMENTS), people.n)
    lo[people.dept], hi[people.dept] = people.dept_lo, people.dept_hi
    return lo[dept] + (rng.random(len(dept)) * (hi[dept] - lo[dept])).astype(np.int64)


def _content_timing(cfg: OrgConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Types, approval states, publication (business hours, sorted) and expiry times."""
    n = cfg.content
    ctype = rng.choice(len(_CONTENT_TYPES), n, p=_TYPE_P)
    status = rng.choice(len(_STATUS_P), n, p=_STATUS_P)
    hour = rng.choice(24, n, p=np.array(_LOCAL_HOUR_W) / sum(_LOCAL_HOUR_W))
    day = np.floor(rng.uniform(-3, cfg.days, n)).astype(np.int64)
    pub = cfg.start_s // DAY * DAY + day * DAY + hour * 3600 + rng.integers(0, 3600, n)
    pub = np.minimum(pub, cfg.end_s)
    draft = status == APPROVAL_STATUSES.index("draft")  # some drafts are scheduled after end
    pub[draft] += (rng.random(draft.sum()) < 0.5) * rng.integers(0, 14 * DAY, draft.sum())
    order = np.argsort(pub, kind="stable")
    ctype, status, pub = ctype[order], status[order], pub[order]
    # type -> (min days, max days, share of items that expire): jobs, events, product, articles
    life = {1: (30, 60, 1.0), 2: (7, 45, 1.0), 3: (90, 90, 0.25), 0: (30, 120, 0.1)}
    exp = np.full(n, _NEVER)
    for c, (lo, hi, p) in life.items():
        sel = (ctype == c) & (rng.random(n) < p)
        exp[sel] = pub[sel] + rng.integers(lo * DAY, hi * DAY + 1, sel.sum())
    return ctype, status, pub, exp


def _content_topics(ctype: np.ndarray, job_dept: np.ndarray, rng) -> np.ndarray:
    """1-3 topics: a primary by type (jobs: hiring + a topic of the hiring department)."""
    n, k = len(ctype), len(TOPICS)
    topics = np.zeros((n, k), bool)
    for c, focus in enumerate(_TYPE_FOCUS):
        p = np.full(k, 0.3 / k) + np.isin(TOPICS, focus) * 0.7 / max(1, len(focus))
        sel = np.flatnonzero(ctype == c)
        topics[sel, rng.choice(k, len(sel), p=p / p.sum())] = True
    job = np.flatnonzero(ctype == 1)
    favs = [[TOPICS.index(t) for t in d] for d in _DEPT_TOPICS.values()]
    pick = rng.random(len(job))
    job_topic = [favs[d][int(r * len(favs[d]))] for d, r in zip(job_dept[job], pick, strict=True)]
    topics[job, job_topic] = True
    for p in (0.55, 0.25):
        extra = (rng.random(n) < p) & (topics.sum(axis=1) < 3)
        topics[np.flatnonzero(extra), rng.integers(0, k, extra.sum())] = True
    return topics


def _make_content(cfg: OrgConfig, people: _People, rng: np.random.Generator) -> tuple:
    """The catalogue: timing, topics, authors, eligibility; text is rendered later."""
    n, k, n_dept = cfg.content, len(TOPICS), len(_DEPARTMENTS)
    ctype, status, pub, exp = _content_timing(cfg, rng)
    dw = np.array(list(_DEPARTMENTS.values()))
    job_dept = rng.choice(n_dept, n, p=dw / dw.sum())
    topics = _content_topics(ctype, job_dept, rng)
    job = np.flatnonzero(ctype == 1)
    # authors: Marketing and HR write most, HR posts the jobs
    mkt, hr = list(_DEPARTMENTS).index("Marketing"), list(_DEPARTMENTS).index("HR")
    author_dept = np.where(
        rng.random(n) < 0.4,
        rng.choice(n_dept, n, p=dw / dw.sum()),
        np.where(rng.random(n) < 0.75, mkt, hr),
    )
    author_dept[job] = np.where(rng.random(len(job)) < 0.8, hr, author_dept[job])
    author = _pick_in_dept(people, author_dept, rng)
    text_dept = np.where(ctype == 1, job_dept, people.dept[author])
    cw = np.array([c[2] for c in _COUNTRIES.values()])
    country = rng.choice(len(_COUNTRIES), n, p=cw / cw.sum())
    lang = rng.choice(len(LANGUAGES), n, p=_CONTENT_LANG_P)
    # eligibility as bit sets: region-specific jobs, language- and department-internal items
    region_of = np.array([REGIONS.index(c[0]) for c in _COUNTRIES.values()])[country]
    region_bits = np.where((ctype == 1) & (rng.random(n) < 0.4), 1 << region_of, 2**4 - 1)
    lang_bits = np.where((lang > 0) & (rng.random(n) < 0.6), 1 << lang, 2 ** len(LANGUAGES) - 1)
    internal = np.isin(ctype, (0, 4)) & (rng.random(n) < 0.08)
    dept_bits = np.where(internal, 1 << people.dept[author], 2**n_dept - 1)
    width = max(5, len(str(n)))
    ids = np.array([f"c{i + 1:0{width}d}" for i in range(n)], dtype=object)
    approved = np.flatnonzero(status == 1)
    by_topic = [approved[topics[approved, j]] for j in range(k)]
    pop = rng.lognormal(0.0, 0.8, n) * np.array(_TYPE_POP)[ctype]
    cat = _Catalog(
        ids, ctype, status, pub, exp, topics, pop, lang, region_bits, dept_bits, lang_bits, by_topic
    )
    return cat, author, text_dept, country


def _render_text(cfg: OrgConfig, cat: _Catalog, dept: np.ndarray, country: np.ndarray, rng):
    """Titles, bodies and urls from per-type templates filled with topic phrases."""
    n = len(cat.ids)
    nums = {
        key: rng.integers(lo, hi, n)
        for key, lo, hi in (
            ("pct", 12, 61),
            ("n", 3, 8),
            ("mins", 2, 11),
            ("tpl", 0, 12),
            ("city", 0, 12),
            ("product", 0, 6),
            ("major", 2, 9),
            ("level", 0, 5),
            ("role", 0, 12),
            ("len", 2, 4),
        )
    }
    primary = np.argmax(cat.topics, axis=1)
    countries, depts = list(_COUNTRIES.values()), list(_DEPARTMENTS)
    products = ("Atlas", "Beacon", "Nimbus", "Orbit", "Pulse", "Quartz")
    levels = ("", "Junior ", "Senior ", "Lead ", "Staff ")
    titles, bodies, urls = [], [], []
    for i in range(n):
        ctype, d = _CONTENT_TYPES[cat.ctype[i]], depts[dept[i]]
        label, metric, subject = _TOPIC_TEXT[TOPICS[primary[i]]]
        cities = countries[country[i]][3]
        when = datetime.fromtimestamp(int(min(cat.exp[i], cat.pub[i] + 30 * DAY)), UTC)
        roles = _ROLES[d]
        slots = {
            "label": label,
            "metric": metric,
            "subject": subject,
            "dept": d,
            "team": d if d.isupper() else d.lower(),
            "city": cities[nums["city"][i] % len(cities)],
            "year": cfg.end.year,
            "date": f"{when.day} {_MONTHS[when.month - 1]}",
            "pct": nums["pct"][i],
            "n": nums["n"][i],
            "mins": nums["mins"][i],
            "product": products[nums["product"][i]],
            "version": f"{nums['major'][i]}.{nums['pct'][i] % 10}",
            "role": roles[nums["role"][i] % len(roles)],
            "level": levels[nums["level"][i]],
        }
        templates = _TITLES[ctype]
        title = templates[nums["tpl"][i] % len(templates)].format(**slots)
        titles.append(title)
        bodies.append(" ".join(x.format(**slots) for x in _BODIES[ctype][: nums["len"][i]]))
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")
        site = "careers.example.com/jobs" if ctype == "job" else f"news.example.com/{ctype}"
        urls.append(f"https://{site}/{cat.ids[i]}-{slug}")
    return titles, bodies, urls


def _event_times(cfg: OrgConfig, utc_offset: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Timestamps with a weekly rhythm and a local-time daily rhythm."""
    n, day0 = len(utc_offset), cfg.start_s // DAY
    day_w = np.array(_WEEKDAY_W)[(day0 + np.arange(cfg.days + 1) + 3) % 7]
    day = rng.choice(cfg.days + 1, n, p=day_w / day_w.sum())
    hour = rng.choice(24, n, p=np.array(_LOCAL_HOUR_W) / sum(_LOCAL_HOUR_W))
    return (day0 + day) * DAY + (hour - utc_offset) * 3600 + rng.integers(0, 3600, n)


def _draw_fresh(cfg: OrgConfig, cat: _Catalog, topic, t, rng) -> tuple[np.ndarray, np.ndarray]:
    """One item per (topic, time) with P ~ pop * 2^(-age / half-life), and the topic's mass.

    Candidates are approved items of the topic published by ``t``. The factor 2^(-t / h) is
    common to all of them, so an item's weight is static (pop * 2^(pub / h)) and the
    candidates form a prefix of the topic's items in publication order: one cumulative sum
    and two binary searches per topic and year. ``mass`` is the summed weight at ``t``.
    """
    out, mass = np.full(len(t), -1, np.int64), np.zeros(len(t))
    h = HALF_LIFE_DAYS * DAY
    block = (t - cfg.start_s) // _BLOCK
    for k, items in enumerate(cat.by_topic):
        in_topic = topic == k
        if not len(items) or not in_topic.any():
            continue
        for b in np.unique(block[in_topic]):
            sel = np.flatnonzero(in_topic & (block == b))
            ref = cfg.start_s + (b + 1) * _BLOCK
            pub = cat.pub[items[: np.searchsorted(cat.pub[items], ref, "right")]]
            if not len(pub):
                continue
            cum = np.cumsum(cat.pop[items[: len(pub)]] * np.exp2((pub - ref) / h))
            n_live = np.searchsorted(pub, t[sel], "right")
            total = np.where(n_live > 0, cum[np.maximum(n_live - 1, 0)], 0.0)
            j = np.minimum(np.searchsorted(cum, rng.random(len(sel)) * total, "right"), n_live - 1)
            ok = total > 0
            out[sel[ok]] = items[j[ok]]
            mass[sel[ok]] = total[ok] * np.exp2((ref - t[sel[ok]]) / h)
    return out, mass


def _pick_items(cfg, people: _People, cat: _Catalog, emp, topic, t, rng) -> np.ndarray:
    """Items for feed slots, -1 for none.

    A slot stays empty with probability ``_SATURATION / (mass + _SATURATION)`` when its
    topic has little fresh content; otherwise items are drawn until one is live (not
    expired) and eligible for the employee (rejection sampling, a few rounds).
    """
    item = np.full(len(t), -1, np.int64)
    region, dept, langs = people.region()[emp], people.dept[emp], people.lang_bits()[emp]
    cand, mass = _draw_fresh(cfg, cat, topic, t, rng)
    pending = np.flatnonzero(rng.random(len(t)) * (mass + _SATURATION) < mass)
    cand = cand[pending]
    for _ in range(8):
        c, e = cand, pending
        good = (
            (t[e] < cat.exp[c])
            & ((cat.region_bits[c] >> region[e]) & 1 == 1)
            & ((cat.dept_bits[c] >> dept[e]) & 1 == 1)
            & (cat.lang_bits[c] & langs[e] > 0)
        )
        item[pending[good]] = cand[good]
        pending = pending[~good]
        if not len(pending):
            break
        cand, _ = _draw_fresh(cfg, cat, topic[pending], t[pending], rng)
        pending, cand = pending[cand >= 0], cand[cand >= 0]
    return item


_FUNNEL = ("impression", "view", "click", "like", "bookmark", "comment", "share", "dismiss")
_FUNNEL_DELAY = (0, 15, 40, 30, 60, 120, 180, 10)  # mean seconds after the parent event


def _funnel(people: _People, cat: _Catalog, emp, topic, item, rng) -> np.ndarray:
    """Which events each impression leads to: (n, len(_FUNNEL)) bool."""
    rel = np.maximum(people.theta[emp, topic] / people.theta.max(axis=1)[emp], 0.02)
    q = cat.pop[item]
    lang = np.where(people.lang_bits()[emp] & (1 << cat.lang[item]) > 0, 1.0, 0.25)
    p = {
        "view": 0.3 * rel**0.7 * q**0.4 * lang * people.engage[emp],
        "click": 0.35 * rel**0.3 * q**0.3,
        "like": 0.45 * q**0.3,
        "bookmark": 0.35 * rel**0.5,
        "comment": 0.2 * q**0.3,
        "share": 0.08 * people.share_prop[emp] * q**0.5,
        "dismiss": 0.015 / rel**0.5,
    }
    flags = np.zeros((len(emp), len(_FUNNEL)), bool)
    flags[:, 0] = True
    for j, name in enumerate(_FUNNEL[1:], start=1):
        parent = {"view": 0, "click": 1, "dismiss": 0}.get(name, 2)
        hit = rng.random(len(emp)) < np.clip(p[name], 0.0, 0.9)
        flags[:, j] = hit & (~flags[:, 1] if name == "dismiss" else flags[:, parent])
    return flags


def _feed_slots(cfg: OrgConfig, people: _People, cat: _Catalog, n: int, rng):
    """``n`` feed slots (employee ~ activity x topic interest, time) -> impression chains."""
    k = len(TOPICS)
    joint = (people.activity[:, None] * (0.85 * people.theta + 0.15 / k)).ravel()
    # i.i.d. slots grouped by cell; the tiny slack keeps float sums of p below one
    counts = rng.multinomial(n, joint / (joint.sum() * (1 + 1e-9)))
    emp, topic = np.divmod(np.repeat(np.arange(joint.size), counts), k)
    offsets = np.array([c[4] for c in _COUNTRIES.values()])[people.country]
    t = _event_times(cfg, offsets[emp], rng)
    ok = (t > cfg.start_s) & (t <= cfg.end_s) & (t >= people.hire_s[emp])
    emp, topic, t = emp[ok], topic[ok], t[ok]
    item = _pick_items(cfg, people, cat, emp, topic, t, rng)
    ok = item >= 0
    emp, topic, t, item = emp[ok], topic[ok], t[ok], item[ok]
    return emp, t, item, _funnel(people, cat, emp, topic, item, rng)


def _make_interactions(cfg: OrgConfig, people: _People, cat: _Catalog, acc: _Accounts, rng):
    """Impression chains until the target is reached, trimmed, timed and ordered."""
    target = round(cfg.employees * cfg.interactions_per_employee)
    batches, total, per_slot = [], 0, 1.0
    for _ in range(6):
        n = int((target - total) / per_slot * 1.05) + 16
        batches.append(_feed_slots(cfg, people, cat, n, rng))
        got = int(batches[-1][3].sum())
        total, per_slot = total + got, max(got / n, 0.01)
        if total >= target:
            break
    emp, t, item, flags = (np.concatenate([b[j] for b in batches]) for j in range(4))
    # trim whole chains in random order to the target number of events
    perm = rng.permutation(len(emp))
    keep = np.sort(perm[: np.searchsorted(np.cumsum(flags.sum(axis=1)[perm]), target, "right")])
    emp, t, item, flags = emp[keep], t[keep], item[keep], flags[keep]
    if flags.sum() < 0.9 * target:
        logger.warning("only %d of %d interactions fit the catalogue", flags.sum(), target)
    chain, kind = np.nonzero(flags)
    delay = np.ceil(rng.exponential(1.0, len(chain)) * np.array(_FUNNEL_DELAY)[kind]).astype(
        np.int64
    )
    delay += kind > 0
    # an event happens after its parent: impression -> view -> click -> the rest
    view_d, click_d = np.zeros(len(t), np.int64), np.zeros(len(t), np.int64)
    view_d[chain[kind == 1]], click_d[chain[kind == 2]] = delay[kind == 1], delay[kind == 2]
    after_click = (kind >= 3) & (kind <= 6)
    ts = t[chain] + delay + np.where((kind == 2) | after_click, view_d[chain], 0)
    ts += np.where(after_click, click_d[chain], 0)
    live = (ts <= cfg.end_s) & (ts < cat.exp[item[chain]])
    chain, kind, ts = chain[live], kind[live], ts[live]
    order = np.lexsort((kind, chain, ts))
    chain, kind, ts = chain[order], kind[order], ts[order]
    etype = np.array([EVENT_TYPES.index(x) for x in _FUNNEL])[kind]
    network = np.full(len(chain), -1)
    shares = np.flatnonzero(kind == _FUNNEL.index("share"))
    network[shares] = _share_networks(acc, emp[chain[shares]], rng)
    return {"emp": emp[chain], "item": item[chain], "etype": etype, "network": network, "t": ts}


def _share_networks(acc: _Accounts, emp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A network per share among the employee's accounts (preference x log audience)."""
    f = acc.followers[emp]
    w = np.where(f > 0, np.array(_NET_PREF) * (1.0 + np.log1p(f)), 0.0)
    w[np.arange(len(emp)), acc.main[emp]] *= 2.0
    cum = np.cumsum(w, axis=1)
    u = rng.random(len(emp)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), len(NETWORKS) - 1)


def _share_outcomes(cfg: OrgConfig, people: _People, cat: _Catalog, acc: _Accounts, ev, rng):
    """Measurements one day (or at ``end``) and seven days after each share."""
    s = np.flatnonzero(ev["network"] >= 0)
    emp, net, t = ev["emp"][s], ev["network"][s], ev["t"][s]
    fol = _followers_at(acc, emp, net, t, cfg.end_s)
    reach = (
        np.array(_NET_REACH)[net] * cat.pop[ev["item"][s]] ** 0.3 * rng.lognormal(0, 0.5, len(s))
    )
    imps = rng.poisson(fol * reach)
    rate = people.engagement_rate[emp] * rng.lognormal(-0.03, 0.25, len(s))
    # impressions, clicks, reactions, comments, reshares: engagement ~ impressions x rate
    final = np.stack([imps] + [rng.poisson(imps * rate * f) for f in (0.5, 0.75, 0.15, 0.1)], 1)
    final[:, 1:] = np.minimum(final[:, 1:], imps[:, None])
    early_at = np.minimum(t + DAY, cfg.end_s)
    frac = rng.uniform(0.5, 0.85, len(s)) * np.minimum(1.0, (early_at - t) / DAY)
    early = rng.binomial(final, frac[:, None])
    first, last = early_at > t, t + 7 * DAY <= cfg.end_s
    idx = np.concatenate([s[first], s[last]])
    at = np.concatenate([early_at[first], t[last] + 7 * DAY])
    values = np.concatenate([early[first], final[last]])
    order = np.lexsort((at, idx))
    return idx[order], at[order], values[order]


def _edges(people: _People, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Manager trees, team cliques (capped), email and mention ties (directed a -> b)."""
    n, i = people.n, np.arange(people.n)
    child = np.flatnonzero(people.parent >= 0)
    parts = [(people.parent[child], child, np.ones(len(child)), 1)]
    cnt = people.team_hi - i - 1  # teammates after i: undirected pairs a < b
    a = np.repeat(i, cnt)
    b = a + 1 + np.arange(len(a)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    size = (people.team_hi - people.team_lo)[a]
    keep = rng.random(len(a)) < 105 / np.maximum(105, size * (size - 1) / 2)
    parts.append((a[keep], b[keep], np.ones(keep.sum()), 3))
    boost = np.where(people.seniority >= SENIORITIES.index("manager"), 1.5, 1.0)
    boost *= np.where(people.dept == list(_DEPARTMENTS).index("Sales"), 1.3, 1.0)
    for code, mean in ((0, 6.0), (2, 2.0)):  # email, mention
        a = np.repeat(i, rng.poisson(mean * boost))
        u, scope = rng.random(len(a)), rng.random(len(a))
        lo = np.where(scope < 0.45, people.team_lo[a], np.where(scope < 0.8, people.dept_lo[a], 0))
        hi = np.where(scope < 0.45, people.team_hi[a], np.where(scope < 0.8, people.dept_hi[a], n))
        b = lo + (u * (hi - lo)).astype(np.int64)
        pair, count = np.unique((a * n + b)[a != b], return_counts=True)
        w = np.round(count * rng.lognormal(np.log(3.0), 0.5, len(pair)), 2) if code == 0 else count
        parts.append((pair // n, pair % n, w.astype(float), code))
    a, b, w = (np.concatenate([p[j] for p in parts]) for j in range(3))
    kind = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
    order = np.lexsort((kind, people.rank[b], people.rank[a]))
    return a[order], b[order], w[order], kind[order]


def _str(values: np.ndarray, idx: np.ndarray | None = None) -> pd.Series:
    """A pandas string column; ``idx`` takes rows (-1 = missing)."""
    s = pd.Series(np.asarray(values, dtype=object))
    return s if idx is None else pd.Series(s.array.take(idx, allow_fill=True))


def _ts(seconds: np.ndarray, missing: np.ndarray | None = None, tz: str | None = "UTC"):
    """Unix seconds as a datetime column (UTC, or naive for dates); ``missing`` -> NaT."""
    v = np.asarray(seconds, np.int64)
    v = (v if missing is None else np.where(missing, 0, v)).astype("datetime64[s]")
    if missing is not None:
        v[missing] = np.datetime64("NaT")
    return pd.Series(v).dt.tz_localize(tz) if tz else pd.Series(v)


def _bits_to_lists(bits: np.ndarray, names: tuple[str, ...]) -> list[list[str]]:
    full = 2 ** len(names) - 1
    return [[] if x == full else [nm for j, nm in enumerate(names) if x >> j & 1] for x in bits]


def _advocates(people: _People) -> pd.DataFrame:
    o = np.argsort(people.rank)
    codes = np.array(list(_COUNTRIES), dtype=object)[people.country[o]]
    return pd.DataFrame(
        {
            "employee_id": _str(people.ids[o]),
            "department": _str(np.array(list(_DEPARTMENTS), dtype=object)[people.dept[o]]),
            "role": _str(people.role[o]),
            "seniority": _str(np.array(SENIORITIES, dtype=object)[people.seniority[o]]),
            "region": _str(np.array(REGIONS, dtype=object)[people.region()[o]]),
            "country": _str(codes),
            "languages": [list(_COUNTRIES[c][1]) for c in codes],
            "hire_date": _ts(people.hire_s[o], tz=None),
            "interests": [people.interests[j] for j in o],
            "opted_out": people.opted_out[o],
        }
    )


def _content(cat: _Catalog, people: _People, author: np.ndarray, texts) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "content_id": _str(cat.ids),
            "title": _str(texts[0]),
            "body": _str(texts[1]),
            "url": _str(texts[2]),
            "content_type": _str(np.array(_CONTENT_TYPES, object)[cat.ctype]),
            "language": _str(np.array(LANGUAGES, dtype=object)[cat.lang]),
            "topics": [[TOPICS[j] for j in np.flatnonzero(row)] for row in cat.topics],
            "author_id": _str(people.ids[author]),
            "published_at": _ts(cat.pub),
            "expires_at": _ts(cat.exp, cat.exp == _NEVER),
            "approval_status": _str(np.array(APPROVAL_STATUSES, dtype=object)[cat.status]),
            "allowed_regions": _bits_to_lists(cat.region_bits, REGIONS),
            "allowed_departments": _bits_to_lists(cat.dept_bits, tuple(_DEPARTMENTS)),
            "allowed_languages": _bits_to_lists(cat.lang_bits, LANGUAGES),
        }
    )


def _interactions(ev: dict, people: _People, cat: _Catalog) -> pd.DataFrame:
    n = len(ev["t"])
    width = max(9, len(str(n)))
    digits = np.char.zfill(np.arange(n).astype(f"U{width}"), width) if n else np.array([], "U1")
    return pd.DataFrame(
        {
            "event_id": pd.Series(np.char.add("e", digits)).astype("str"),
            "employee_id": _str(people.ids, ev["emp"]),
            "content_id": _str(cat.ids, ev["item"]),
            "event_type": _str(np.array(EVENT_TYPES, object), ev["etype"]),
            "network": _str(np.array(NETWORKS, object), ev["network"]),
            "timestamp": _ts(ev["t"]),
            "value": np.full(n, np.nan),
        }
    )


def _social_accounts(cfg: OrgConfig, people: _People, acc: _Accounts, rng) -> pd.DataFrame:
    """Snapshots every ~60 days (the last near ``end``) with slight follower growth."""
    emp, net = np.nonzero(acc.followers > 0)
    k = acc.snapshots
    emp, net = np.repeat(emp, k), np.repeat(net, k)
    j = np.tile(np.arange(k), len(emp) // k)
    # one sync per employee and snapshot: all networks of an employee share a time
    jitter = rng.integers(0, int(min(2 * DAY, acc.period_s / 4)) + 1, (people.n, k))
    as_of = cfg.end_s - ((k - 1 - j) * acc.period_s).astype(np.int64) - jitter[emp, j]
    followers = _followers_at(acc, emp, net, as_of, cfg.end_s)
    band = (people.tier[emp] == 1) & (net == acc.main[emp])  # micro-influencers' main account
    followers[band] = np.clip(followers[band], 1000, 99_999)
    scale = (acc.followers[emp, net] / np.array(_NET_MEDIAN)[net]) ** 0.3
    following = np.round(np.exp(np.log(300) + 0.8 * rng.standard_normal(people.n))[emp] * scale)
    lam = 3.0 * people.share_prop[emp] * np.array(_NET_PREF)[net] * np.sqrt(people.activity[emp])
    name_rank = np.argsort(np.argsort(NETWORKS))
    o = np.lexsort((as_of, name_rank[net], people.rank[emp]))
    return pd.DataFrame(
        {
            "employee_id": _str(people.ids, emp[o]),
            "network": _str(np.array(NETWORKS, object), net[o]),
            "followers": followers[o].astype(np.int64),
            "following": following[o].astype(np.int64),
            "posts_last_90d": rng.poisson(lam)[o],
            "as_of": _ts(as_of[o]),
        }
    )


def _ground_truth(people: _People, acc: _Accounts) -> pd.DataFrame:
    o = np.argsort(people.rank)
    depts = np.array(list(_DEPARTMENTS), dtype=object)[people.dept[o]]
    return pd.DataFrame(
        {
            "employee_id": _str(people.ids[o]),
            "tier": _str(np.array(TIERS, object)[people.tier[o]]),
            "influence_multiplier": np.round(people.multiplier[o], 3),
            "engagement_rate": np.round(people.engagement_rate[o], 5),
            "share_propensity": np.round(people.share_prop[o], 3),
            "activity": np.round(people.activity[o], 3),
            "max_followers": acc.followers.max(axis=1)[o].astype(np.int64),
            "main_network": _str(np.array(NETWORKS, object)[acc.main[o]]),
            "department": _str(depts),
            "team": _str([f"{d}-{t:05d}" for d, t in zip(depts, people.team[o], strict=True)]),
            "opted_out": people.opted_out[o],
        }
    )


def generate(config: OrgConfig) -> SyntheticOrg:
    """Generate a synthetic organisation; deterministic in ``config``."""
    started = time.perf_counter()
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(8)]
    people = _make_people(config, rngs[0])
    acc = _make_accounts(config, people, rngs[1])
    cat, author, text_dept, country = _make_content(config, people, rngs[2])
    texts = _render_text(config, cat, text_dept, country, rngs[3])
    ev = _make_interactions(config, people, cat, acc, rngs[4])
    interactions = _interactions(ev, people, cat)
    idx, at, values = _share_outcomes(config, people, cat, acc, ev, rngs[5])
    outcomes = pd.DataFrame(
        values, columns=["impressions", "clicks", "reactions", "comments", "reshares"]
    )
    outcomes.insert(0, "event_id", pd.Series(interactions["event_id"].array.take(idx)))
    outcomes.insert(1, "measured_at", _ts(at))
    a, b, w, kind = _edges(people, rngs[7])
    edges = pd.DataFrame(
        {
            "employee_a": _str(people.ids, a),
            "employee_b": _str(people.ids, b),
            "weight": w,
            "kind": _str(np.array(_EDGE_KINDS, dtype=object)[kind]),
        }
    )
    tables = {
        "advocates": _advocates(people),
        "content": _content(cat, people, author, texts),
        "interactions": interactions,
        "share_outcomes": outcomes,
        "social_accounts": _social_accounts(config, people, acc, rngs[6]),
        "org_edges": edges,
    }
    tables = {name: tables[name].loc[:, list(TABLES[name].field_names)] for name in TABLE_ORDER}
    logger.info(
        "generated %s in %.1fs",
        {k: len(v) for k, v in tables.items()},
        time.perf_counter() - started,
    )
    return SyntheticOrg(tables=tables, ground_truth=_ground_truth(people, acc))


def write(org: SyntheticOrg, out_dir: Path, fmt: Literal["csv", "parquet"] = "csv") -> list[Path]:
    """Write each contract table and ``ground_truth_influencers`` as ``fmt``; return the paths.

    Values are written as contract text (ISO 8601 UTC timestamps, ``YYYY-MM-DD`` dates,
    ``true``/``false``, ``a;b`` lists, missing = empty) in both formats; parquet files hold
    the same strings. Output depends only on ``org``.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TABLE_ORDER:
        spec = TABLES[name]
        kinds = [spec.field(c).kind for c in spec.field_names]
        frame = org.tables[name].loc[:, list(spec.field_names)]
        paths.append(_write_frame(frame, kinds, out_dir / f"{name}.{fmt}", fmt))
    gt = org.ground_truth
    kinds = [_infer_kind(gt[c]) for c in gt.columns]
    paths.append(_write_frame(gt, kinds, out_dir / f"ground_truth_influencers.{fmt}", fmt))
    logger.info("wrote %d files to %s", len(paths), out_dir)
    return paths


def _infer_kind(column: pd.Series) -> Kind:
    if pd.api.types.is_bool_dtype(column):
        return Kind.BOOL
    if pd.api.types.is_integer_dtype(column):
        return Kind.INT
    return Kind.FLOAT if pd.api.types.is_float_dtype(column) else Kind.STRING


def _format(column: pd.Series, kind: Kind) -> pa.Array:
    """Contract text of one column as an Arrow string array (null = missing)."""
    if kind is Kind.LIST:
        joined = [";".join(v) if isinstance(v, list | tuple) and len(v) else None for v in column]
        return pa.array(joined, pa.string())
    if kind in (Kind.TIMESTAMP, Kind.DATE):
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert(None)  # naive UTC
        arr = pa.array(column.to_numpy().astype("datetime64[s]"), from_pandas=True)
        pattern = "%Y-%m-%dT%H:%M:%SZ" if kind is Kind.TIMESTAMP else "%Y-%m-%d"
        return pc.strftime(arr, format=pattern)
    arr = pa.array(column.array, from_pandas=True)
    if kind is Kind.BOOL:
        return pc.if_else(arr, "true", "false")
    return pc.cast(arr, pa.string())


def _write_frame(frame: pd.DataFrame, kinds: list[Kind], path: Path, fmt: str) -> Path:
    """Write in chunks of rows so large tables never exist as one block of strings."""
    schema = pa.schema([(c, pa.string()) for c in frame.columns])
    chunk = 500_000
    writer = pq.ParquetWriter(path, schema) if fmt == "parquet" else None
    try:
        for lo in range(0, max(len(frame), 1), chunk):
            part = frame.iloc[lo : lo + chunk]
            cols = [_format(part[c], k) for c, k in zip(frame.columns, kinds, strict=True)]
            table = pa.Table.from_arrays(cols, schema=schema)
            if writer is not None:
                writer.write_table(table)
            else:
                table.to_pandas().to_csv(
                    path,
                    mode="w" if lo == 0 else "a",
                    header=lo == 0,
                    index=False,
                    lineterminator="\n",
                )
    finally:
        if writer is not None:
            writer.close()
    return path
