"""Conversions from a planted causal process, with the cause of each one.

Each visitor's conversion intensity is ``b + sum_c effect_c * g(t - t_c)`` over their link
clicks ``c``. ``b`` is ``OrgConfig.baseline_conversion_rate`` per 30 days inside the
visitor's time on the site (see ``clicks.py``); ``g`` is a log-normal delay density (median
5 days, sigma 1.0: mode 1.8 days, about 4% of the delays beyond 30 days, not exponential);
``effect_c = click_conversion_rate x m_c / mean(m)`` with ``m_c = advocate[sharer] x
content[item] x network[network]`` and the mean over the organisation's clicks. Advocate
effects are log-normal (sigma 0.8, mean one) and independent of audiences, so reach is not
effectiveness; content = type effect x log-normal item effect (sigma 0.3); networks have
fixed effects. Every component is an independent Poisson process: a visitor converts once,
at the first arrival of their superposed process before ``end``, and the component that
fired is the true cause (a click, or the baseline). No attribution formula is involved:
the cause is a latent draw.

The kind follows the cause's content type (job -> application, product -> demo_request or
purchase, other types -> lead or signup; the baseline any kind). Leads, demo requests and
purchases carry a log-normal value, in USD for visitors of North-American audiences and
EUR otherwise (a USD value is the EUR draw at ``EUR_PER_USD``); the ground truth counts
values in EUR, USD at ``EUR_PER_USD``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from features.data.contract import NETWORKS
from features.data.synthetic.catalogue import Catalog
from features.data.synthetic.clicks import Clicks
from features.data.synthetic.config import DAY, OrgConfig
from features.data.synthetic.people import People
from features.data.synthetic.vocabulary import CONTENT_TYPES, REGIONS

EUR_PER_USD = 0.92  # fixed rate of the ground truth's EUR-equivalent values
KINDS = ("lead", "signup", "application", "demo_request", "purchase")
CURRENCIES = ("EUR", "USD")
CONTENT_TYPE_EFFECT = {
    "article": 1.0,
    "job": 1.6,
    "event": 1.2,
    "product": 1.5,
    "culture": 0.5,
    "video": 0.7,
}
NETWORK_EFFECT = {
    "linkedin": 1.2,
    "x": 0.6,
    "facebook": 0.8,
    "instagram": 0.5,
    "xing": 1.1,
    "other": 0.7,
}
_ADVOCATE_SIGMA = 0.8
_ITEM_SIGMA = 0.3
_DELAY_MEDIAN_S = 5 * DAY
_DELAY_SIGMA = 1.0
# P(kind | content type of the cause) in KINDS order, one row per content type, then baseline
_KIND_P = np.array(
    [
        (0.6, 0.4, 0.0, 0.0, 0.0),  # article
        (0.0, 0.0, 1.0, 0.0, 0.0),  # job
        (0.3, 0.7, 0.0, 0.0, 0.0),  # event
        (0.0, 0.0, 0.0, 0.7, 0.3),  # product
        (0.4, 0.6, 0.0, 0.0, 0.0),  # culture
        (0.5, 0.5, 0.0, 0.0, 0.0),  # video
        (0.3, 0.35, 0.12, 0.15, 0.08),  # baseline
    ]
)
_VALUE_EUR = (  # per kind: median value in EUR and log-normal sigma (0 = no value)
    (60.0, 0.7),
    (0.0, 0.0),
    (0.0, 0.0),
    (300.0, 0.6),
    (1500.0, 0.8),
)


@dataclass(frozen=True)
class Effects:
    """Planted multipliers of a click's effect: per employee, content item and network."""

    advocate: np.ndarray
    content: np.ndarray
    network: np.ndarray


@dataclass(frozen=True)
class Conversions:
    """Conversions ordered by time; ``cause`` is a click index or -1 for the baseline."""

    visitor: np.ndarray
    t: np.ndarray
    cause: np.ndarray
    kind: np.ndarray  # index into KINDS
    value: np.ndarray  # NaN = no value
    currency: np.ndarray  # index into CURRENCIES, -1 without value
    value_eur: np.ndarray
    effects: Effects


def plant_effects(people: People, cat: Catalog, rng: np.random.Generator) -> Effects:
    """Log-normal advocate effects (mean one) and content = type x log-normal item effect."""
    advocate = rng.lognormal(-(_ADVOCATE_SIGMA**2) / 2, _ADVOCATE_SIGMA, people.n)
    item = rng.lognormal(-(_ITEM_SIGMA**2) / 2, _ITEM_SIGMA, len(cat.ids))
    content = np.array([CONTENT_TYPE_EFFECT[t] for t in CONTENT_TYPES])[cat.ctype] * item
    return Effects(advocate, content, np.array([NETWORK_EFFECT[x] for x in NETWORKS]))


def make_conversions(
    cfg: OrgConfig, people: People, cat: Catalog, ev: dict, clicks: Clicks, rng
) -> Conversions:
    """First arrivals of each visitor's superposed process, their kinds and values."""
    effects = plant_effects(people, cat, rng)
    share = clicks.share
    planted = (
        effects.advocate[ev["emp"][share]]
        * effects.content[ev["item"][share]]
        * effects.network[ev["network"][share]]
    )
    effect = cfg.click_conversion_rate * planted / (planted.mean() if len(planted) else 1.0)
    visitor, t, cause = _first_arrivals(cfg, clicks, effect, rng)
    row = np.full(len(cause), len(CONTENT_TYPES))
    row[cause >= 0] = cat.ctype[ev["item"][share[cause[cause >= 0]]]]
    kind = _draw_rows(_KIND_P[row], rng)
    usd = clicks.visitors.region[visitor] == REGIONS.index("NA")
    value, currency, value_eur = _values(kind, usd, rng)
    return Conversions(visitor, t, cause, kind, value, currency, value_eur, effects)


def _first_arrivals(cfg: OrgConfig, clicks: Clicks, effect, rng) -> tuple[np.ndarray, ...]:
    """Visitor, time and cause (click, -1 = baseline) of each conversion, ordered by time.

    Every component (a click, a visitor's baseline) draws its own first arrival; a visitor
    converts at the earliest of theirs, which is the superposed process's first arrival.
    """
    click_t, fired = _click_arrivals(cfg, clicks.t, effect, rng)
    base_t, base_fired = _baseline_arrivals(cfg, clicks.visitors, rng)
    visitor = np.concatenate([clicks.visitor[fired], np.flatnonzero(base_fired)])
    t = np.concatenate([click_t[fired], base_t[base_fired]])
    cause = np.concatenate([np.flatnonzero(fired), np.full(base_fired.sum(), -1)])
    order = np.lexsort((cause, t, visitor))
    earliest = np.ones(len(order), bool)
    earliest[1:] = visitor[order][1:] != visitor[order][:-1]
    first = order[earliest]
    first = first[np.lexsort((visitor[first], t[first]))]
    return visitor[first], t[first], cause[first]


def _click_arrivals(cfg: OrgConfig, t, effect, rng) -> tuple[np.ndarray, np.ndarray]:
    """First arrival of each click's process (intensity effect x g) and whether it is due.

    ``P(no arrival within s) = exp(-effect x G(s))``: with ``E ~ Exp(1)`` the first arrival
    is ``G^-1(E / effect)`` when ``E / effect < G(end - t)``, none otherwise.
    """
    e = rng.standard_exponential(len(t))
    with np.errstate(divide="ignore"):
        p = np.where(effect > 0, e / np.where(effect > 0, effect, 1.0), np.inf)
    horizon = ndtr(np.log(np.maximum(cfg.end_s - t, 1e-9) / _DELAY_MEDIAN_S) / _DELAY_SIGMA)
    due = p < horizon
    delay = np.zeros(len(t))
    delay[due] = _DELAY_MEDIAN_S * np.exp(_DELAY_SIGMA * ndtri(p[due]))
    at = np.maximum(np.ceil(t + delay), t + 1).astype(np.int64)
    return at, due & (at <= cfg.end_s)


def _baseline_arrivals(cfg: OrgConfig, visitors, rng) -> tuple[np.ndarray, np.ndarray]:
    """First arrival of each visitor's baseline (constant rate in their window)."""
    e = rng.standard_exponential(visitors.n)
    if cfg.baseline_conversion_rate == 0:
        return np.zeros(visitors.n, np.int64), np.zeros(visitors.n, bool)
    wait = np.minimum(e * 30 * DAY / cfg.baseline_conversion_rate, 2.0**40)  # no overflow
    at = np.maximum(np.ceil(visitors.start + wait), visitors.start + 1).astype(np.int64)
    return at, at <= visitors.stop


def _draw_rows(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of probabilities ``p``."""
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), p.shape[1] - 1)


def _values(kind: np.ndarray, usd: np.ndarray, rng) -> tuple[np.ndarray, ...]:
    """Values (2 decimals; USD = the EUR draw at EUR_PER_USD), currencies, EUR-equivalents."""
    median, sigma = (np.array(x)[kind] for x in zip(*_VALUE_EUR, strict=True))
    draw = median * rng.lognormal(0.0, sigma)
    valued = median > 0
    value = np.where(valued, np.round(np.where(usd, draw / EUR_PER_USD, draw), 2), np.nan)
    currency = np.where(valued, usd.astype(np.int64), -1)
    value_eur = np.round(np.where(usd, value * EUR_PER_USD, value), 2)
    return value, currency, value_eur
