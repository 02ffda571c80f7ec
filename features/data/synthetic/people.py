"""Employees: departments, teams, reporting lines, roles, countries, topic interests and
the latent traits (activity, share propensity, engagement) with the planted tiers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.data.contract import SENIORITIES
from features.data.synthetic.config import DAY, OrgConfig
from features.data.synthetic.vocabulary import (
    COUNTRIES,
    DEPARTMENTS,
    DEPT_TOPICS,
    LANGUAGES,
    REGIONS,
    ROLES,
    TOPICS,
)

_MEMBER_SENIORITY_P = (0.05, 0.20, 0.35, 0.28, 0.12)  # intern, junior, mid, senior, lead


@dataclass(frozen=True)
class People:
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
        return np.array([REGIONS.index(c[0]) for c in COUNTRIES.values()])[self.country]

    def lang_bits(self) -> np.ndarray:
        bits = [sum(1 << LANGUAGES.index(x) for x in c[1]) for c in COUNTRIES.values()]
        return np.array(bits)[self.country]


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
    weights = np.array(list(DEPARTMENTS.values()))
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
    names = list(DEPARTMENTS)
    roles = np.empty(len(dept), dtype=object)
    pick = rng.random(len(dept))
    for i, (d, s, p) in enumerate(zip(dept, seniority, parent, strict=True)):
        name, dept_roles = names[d], ROLES[names[d]]
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
    fav = np.zeros((len(DEPARTMENTS), k))
    for d, topics in enumerate(DEPT_TOPICS.values()):
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


def make_people(cfg: OrgConfig, rng: np.random.Generator) -> People:
    n = cfg.employees
    s = _structure(n, rng)
    codes = list(COUNTRIES)
    cp = np.array([c[2] for c in COUNTRIES.values()])
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
    return People(
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
