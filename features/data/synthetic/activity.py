"""Interactions and share outcomes: feed slots driven by interest x freshness x quality,
the engagement funnel behind each impression, and the measurements after each share."""

from __future__ import annotations

import logging

import numpy as np

from features.data.contract import EVENT_TYPES
from features.data.synthetic.accounts import NET_REACH, Accounts, followers_at, share_networks
from features.data.synthetic.catalogue import LOCAL_HOUR_W, Catalog
from features.data.synthetic.config import DAY, OrgConfig
from features.data.synthetic.people import People
from features.data.synthetic.slot_effects import SlotEffects
from features.data.synthetic.vocabulary import COUNTRIES, TOPICS

logger = logging.getLogger(__name__)

HALF_LIFE_DAYS = 2.0  # freshness half-life of content popularity
_BLOCK = 365 * DAY  # time block with its own reference point for freshness weights
_SATURATION = 2.0  # fresh-content mass at which a topic fills half of its feed slots
_WEEKDAY_W = (1.0, 1.05, 1.05, 1.0, 0.9, 0.3, 0.25)  # Monday .. Sunday


def _event_times(cfg: OrgConfig, utc_offset: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Timestamps with a weekly rhythm and a local-time daily rhythm."""
    n, day0 = len(utc_offset), cfg.start_s // DAY
    day_w = np.array(_WEEKDAY_W)[(day0 + np.arange(cfg.days + 1) + 3) % 7]
    day = rng.choice(cfg.days + 1, n, p=day_w / day_w.sum())
    hour = rng.choice(24, n, p=np.array(LOCAL_HOUR_W) / sum(LOCAL_HOUR_W))
    return (day0 + day) * DAY + (hour - utc_offset) * 3600 + rng.integers(0, 3600, n)


def _draw_fresh(cfg: OrgConfig, cat: Catalog, topic, t, rng) -> tuple[np.ndarray, np.ndarray]:
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


def _pick_items(cfg, people: People, cat: Catalog, emp, topic, t, rng) -> np.ndarray:
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


def _funnel(people: People, cat: Catalog, emp, topic, item, rng) -> np.ndarray:
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


def _feed_slots(cfg: OrgConfig, people: People, cat: Catalog, n: int, rng):
    """``n`` feed slots (employee ~ activity x topic interest, time) -> impression chains."""
    k = len(TOPICS)
    joint = (people.activity[:, None] * (0.85 * people.theta + 0.15 / k)).ravel()
    # i.i.d. slots grouped by cell; the tiny slack keeps float sums of p below one
    counts = rng.multinomial(n, joint / (joint.sum() * (1 + 1e-9)))
    emp, topic = np.divmod(np.repeat(np.arange(joint.size), counts), k)
    offsets = np.array([c[4] for c in COUNTRIES.values()])[people.country]
    t = _event_times(cfg, offsets[emp], rng)
    ok = (t > cfg.start_s) & (t <= cfg.end_s) & (t >= people.hire_s[emp])
    emp, topic, t = emp[ok], topic[ok], t[ok]
    item = _pick_items(cfg, people, cat, emp, topic, t, rng)
    ok = item >= 0
    emp, topic, t, item = emp[ok], topic[ok], t[ok], item[ok]
    return emp, t, item, _funnel(people, cat, emp, topic, item, rng)


def make_interactions(cfg: OrgConfig, people: People, cat: Catalog, acc: Accounts, rng):
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
    network[shares] = share_networks(acc, emp[chain[shares]], rng)
    return {"emp": emp[chain], "item": item[chain], "etype": etype, "network": network, "t": ts}


CLICK_FACTOR = 3.5  # measured clicks per impression = CLICK_FACTOR x engagement rate
_FUNNEL_CLICKS = 0.5  # ... of which this part is drawn with the other counts (see below)


def make_share_outcomes(
    cfg: OrgConfig,
    people: People,
    cat: Catalog,
    acc: Accounts,
    ev,
    rng,
    effects: SlotEffects | None = None,
):
    """Measurements one day (or at ``end``) and seven days after each share.

    With planted ``effects`` (``slot_effects.py``), a share's expected impressions, and so all
    its counts, are scaled by its time-of-week multiplier; without, nothing changes (the
    random draws are the same either way).

    Final counts are Poisson(impressions x rate x f) with the share's engagement rate (the
    advocate's, with log-normal noise) and f = ``CLICK_FACTOR`` (3.5) for clicks, 0.75 for
    reactions, 0.15 for comments and 0.1 for reshares; each count is at most the impressions.
    The early measurement sees a uniform(0.5, 0.85) fraction of each final count (binomial),
    less for a share made within a day of ``end``.

    The click-through rate (clicks / impressions) is thus 3.5 x the engagement rate: about
    4.5% for regular advocates (mean rate 1.3%), 2.7% for the macro accounts and 13-27% (22%
    pooled) for the planted micro-influencers (3-6 times the rate). Pooled over all shares it
    is 8-10% (7.6% at 100k employees, 9.9% at 10k), as micro-influencers and macro accounts
    each hold about a third of the impressions. That is high for link posts (1-5% is usual)
    but needed for the benchmark organisation (100k employees, ~56k measured shares of ~340
    impressions) to get ~1M tracked link clicks (``OrgConfig.link_click_rate`` of the clicks).

    Clicks are drawn in two independent parts, Poisson(x 0.5) with the other counts and
    Poisson(x 3.0) after them (their sum is the Poisson above; the early counts split alike),
    so the other counts keep the random draws they had when clicks were 0.5 x the rate.
    """
    s = np.flatnonzero(ev["network"] >= 0)
    emp, net, t = ev["emp"][s], ev["network"][s], ev["t"][s]
    fol = followers_at(acc, emp, net, t, cfg.end_s)
    reach = np.array(NET_REACH)[net] * cat.pop[ev["item"][s]] ** 0.3 * rng.lognormal(0, 0.5, len(s))
    if effects is not None:
        reach = reach * effects.at_times(emp, net, t)
    imps = rng.poisson(fol * reach)
    rate = people.engagement_rate[emp] * rng.lognormal(-0.03, 0.25, len(s))
    # impressions, clicks, reactions, comments, reshares: engagement ~ impressions x rate
    factors = (_FUNNEL_CLICKS, 0.75, 0.15, 0.1)
    final = np.stack([imps] + [rng.poisson(imps * rate * f) for f in factors], 1)
    final[:, 1:] = np.minimum(final[:, 1:], imps[:, None])
    early_at = np.minimum(t + DAY, cfg.end_s)
    frac = rng.uniform(0.5, 0.85, len(s)) * np.minimum(1.0, (early_at - t) / DAY)
    early = rng.binomial(final, frac[:, None])
    more = rng.poisson(imps * rate * (CLICK_FACTOR - _FUNNEL_CLICKS))
    more = np.minimum(final[:, 1] + more, imps) - final[:, 1]
    final[:, 1] += more
    early[:, 1] += rng.binomial(more, frac)
    first, last = early_at > t, t + 7 * DAY <= cfg.end_s
    idx = np.concatenate([s[first], s[last]])
    at = np.concatenate([early_at[first], t[last] + 7 * DAY])
    values = np.concatenate([early[first], final[last]])
    order = np.lexsort((at, idx))
    return idx[order], at[order], values[order]
