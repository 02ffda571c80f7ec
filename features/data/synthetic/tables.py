"""The contract tables and the ground truth as data frames, built from the latent state."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.data.contract import APPROVAL_STATUSES, EVENT_TYPES, NETWORKS, SENIORITIES
from features.data.synthetic.accounts import NET_MEDIAN, NET_PREF, Accounts, followers_at
from features.data.synthetic.catalogue import NEVER, Catalog
from features.data.synthetic.clicks import Clicks
from features.data.synthetic.config import DAY, OrgConfig
from features.data.synthetic.conversions import CURRENCIES, KINDS, Conversions
from features.data.synthetic.people import People
from features.data.synthetic.vocabulary import (
    CONTENT_TYPES,
    COUNTRIES,
    DEPARTMENTS,
    LANGUAGES,
    REGIONS,
    TIERS,
    TOPICS,
)


def str_column(values: np.ndarray, idx: np.ndarray | None = None) -> pd.Series:
    """A pandas string column; ``idx`` takes rows (-1 = missing)."""
    s = pd.Series(np.asarray(values, dtype=object))
    return s if idx is None else pd.Series(s.array.take(idx, allow_fill=True))


def time_column(seconds: np.ndarray, missing: np.ndarray | None = None, tz: str | None = "UTC"):
    """Unix seconds as a datetime column (UTC, or naive for dates); ``missing`` -> NaT."""
    v = np.asarray(seconds, np.int64)
    v = (v if missing is None else np.where(missing, 0, v)).astype("datetime64[s]")
    if missing is not None:
        v[missing] = np.datetime64("NaT")
    return pd.Series(v).dt.tz_localize(tz) if tz else pd.Series(v)


def _bits_to_lists(bits: np.ndarray, names: tuple[str, ...]) -> list[list[str]]:
    full = 2 ** len(names) - 1
    return [[] if x == full else [nm for j, nm in enumerate(names) if x >> j & 1] for x in bits]


def advocates_table(people: People) -> pd.DataFrame:
    o = np.argsort(people.rank)
    codes = np.array(list(COUNTRIES), dtype=object)[people.country[o]]
    return pd.DataFrame(
        {
            "employee_id": str_column(people.ids[o]),
            "department": str_column(np.array(list(DEPARTMENTS), dtype=object)[people.dept[o]]),
            "role": str_column(people.role[o]),
            "seniority": str_column(np.array(SENIORITIES, dtype=object)[people.seniority[o]]),
            "region": str_column(np.array(REGIONS, dtype=object)[people.region()[o]]),
            "country": str_column(codes),
            "languages": [list(COUNTRIES[c][1]) for c in codes],
            "hire_date": time_column(people.hire_s[o], tz=None),
            "interests": [people.interests[j] for j in o],
            "opted_out": people.opted_out[o],
        }
    )


JOB_NETWORKS = ("linkedin", "xing")


def content_table(cat: Catalog, people: People, author: np.ndarray, texts) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "content_id": str_column(cat.ids),
            "title": str_column(texts[0]),
            "body": str_column(texts[1]),
            "url": str_column(texts[2]),
            "content_type": str_column(np.array(CONTENT_TYPES, object)[cat.ctype]),
            "language": str_column(np.array(LANGUAGES, dtype=object)[cat.lang]),
            "topics": [[TOPICS[j] for j in np.flatnonzero(row)] for row in cat.topics],
            "author_id": str_column(people.ids[author]),
            "published_at": time_column(cat.pub),
            "expires_at": time_column(cat.exp, cat.exp == NEVER),
            "approval_status": str_column(np.array(APPROVAL_STATUSES, dtype=object)[cat.status]),
            "allowed_regions": _bits_to_lists(cat.region_bits, REGIONS),
            "allowed_departments": _bits_to_lists(cat.dept_bits, tuple(DEPARTMENTS)),
            "allowed_languages": _bits_to_lists(cat.lang_bits, LANGUAGES),
            # job posts are meant for the professional networks; the rest for any network
            "networks": [
                list(JOB_NETWORKS) if CONTENT_TYPES[t] == "job" else [] for t in cat.ctype
            ],
        }
    )


def interactions_table(ev: dict, people: People, cat: Catalog) -> pd.DataFrame:
    n = len(ev["t"])
    width = max(9, len(str(n)))
    digits = np.char.zfill(np.arange(n).astype(f"U{width}"), width) if n else np.array([], "U1")
    return pd.DataFrame(
        {
            "event_id": pd.Series(np.char.add("e", digits)).astype("str"),
            "employee_id": str_column(people.ids, ev["emp"]),
            "content_id": str_column(cat.ids, ev["item"]),
            "event_type": str_column(np.array(EVENT_TYPES, object), ev["etype"]),
            "network": str_column(np.array(NETWORKS, object), ev["network"]),
            "timestamp": time_column(ev["t"]),
            "value": np.full(n, np.nan),
        }
    )


def social_accounts_table(cfg: OrgConfig, people: People, acc: Accounts, rng) -> pd.DataFrame:
    """Snapshots every ~60 days (the last near ``end``) with slight follower growth."""
    emp, net = np.nonzero(acc.followers > 0)
    k = acc.snapshots
    emp, net = np.repeat(emp, k), np.repeat(net, k)
    j = np.tile(np.arange(k), len(emp) // k)
    # one sync per employee and snapshot: all networks of an employee share a time
    jitter = rng.integers(0, int(min(2 * DAY, acc.period_s / 4)) + 1, (people.n, k))
    as_of = cfg.end_s - ((k - 1 - j) * acc.period_s).astype(np.int64) - jitter[emp, j]
    followers = followers_at(acc, emp, net, as_of, cfg.end_s)
    band = (people.tier[emp] == 1) & (net == acc.main[emp])  # micro-influencers' main account
    followers[band] = np.clip(followers[band], 1000, 99_999)
    scale = (acc.followers[emp, net] / np.array(NET_MEDIAN)[net]) ** 0.3
    following = np.round(np.exp(np.log(300) + 0.8 * rng.standard_normal(people.n))[emp] * scale)
    lam = 3.0 * people.share_prop[emp] * np.array(NET_PREF)[net] * np.sqrt(people.activity[emp])
    name_rank = np.argsort(np.argsort(NETWORKS))
    o = np.lexsort((as_of, name_rank[net], people.rank[emp]))
    return pd.DataFrame(
        {
            "employee_id": str_column(people.ids, emp[o]),
            "network": str_column(np.array(NETWORKS, object), net[o]),
            "followers": followers[o].astype(np.int64),
            "following": following[o].astype(np.int64),
            "posts_last_90d": rng.poisson(lam)[o],
            "as_of": time_column(as_of[o]),
        }
    )


def ground_truth_table(people: People, acc: Accounts) -> pd.DataFrame:
    o = np.argsort(people.rank)
    depts = np.array(list(DEPARTMENTS), dtype=object)[people.dept[o]]
    return pd.DataFrame(
        {
            "employee_id": str_column(people.ids[o]),
            "tier": str_column(np.array(TIERS, object)[people.tier[o]]),
            "influence_multiplier": np.round(people.multiplier[o], 3),
            "engagement_rate": np.round(people.engagement_rate[o], 5),
            "share_propensity": np.round(people.share_prop[o], 3),
            "activity": np.round(people.activity[o], 3),
            "max_followers": acc.followers.max(axis=1)[o].astype(np.int64),
            "main_network": str_column(np.array(NETWORKS, object)[acc.main[o]]),
            "department": str_column(depts),
            "team": str_column(
                [f"{d}-{t:05d}" for d, t in zip(depts, people.team[o], strict=True)]
            ),
            "opted_out": people.opted_out[o],
        }
    )


def numbered_ids(prefix: str, n: int, width: int = 9) -> pd.Series:
    """``prefix`` + 1-based zero-padded numbers (at least ``width`` digits) as a string column."""
    if not n:
        return pd.Series([], dtype=object)
    width = max(width, len(str(n)))
    digits = np.char.zfill(np.arange(1, n + 1).astype(f"U{width}"), width)
    return pd.Series(np.char.add(prefix, digits).astype(object))


def visitor_ids(n: int, visitor: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Visitor ids numbered by first appearance (click or conversion); None if never seen."""
    order = np.lexsort((visitor, t))
    seen, first = np.unique(visitor[order], return_index=True)
    ids = np.full(n, None, dtype=object)
    number = np.empty(len(seen), np.int64)
    number[np.argsort(first)] = np.arange(len(seen))
    ids[seen] = numbered_ids("v", len(seen)).to_numpy()[number]
    return ids


def link_clicks_table(clicks: Clicks, ev: dict, event_ids, urls, vis_ids) -> pd.DataFrame:
    """One row per tracked click; the landing page is the shared item's url."""
    return pd.DataFrame(
        {
            "click_id": numbered_ids("k", len(clicks.t)),
            "share_event_id": pd.Series(event_ids.array.take(clicks.share)),
            "visitor_id": str_column(vis_ids, clicks.visitor),
            "timestamp": time_column(clicks.t),
            "landing_url": str_column(urls, ev["item"][clicks.share]),
        }
    )


def conversions_table(conv: Conversions, vis_ids: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "conversion_id": numbered_ids("q", len(conv.t)),
            "visitor_id": str_column(vis_ids, conv.visitor),
            "timestamp": time_column(conv.t),
            "kind": str_column(np.array(KINDS, object), conv.kind),
            "value": conv.value,
            "currency": str_column(np.array(CURRENCIES, object), conv.currency),
        }
    )


def conversion_truth_table(conv: Conversions, conversion_ids, click_ids) -> pd.DataFrame:
    """The true cause of each conversion: a click id, or missing for the baseline."""
    return pd.DataFrame(
        {
            "conversion_id": pd.Series(conversion_ids.array),
            "caused_by_click_id": str_column(click_ids, conv.cause),
            "value_eur": conv.value_eur,
        }
    )


def attribution_truth_table(people: People, cat: Catalog, ev: dict, clicks, conv) -> pd.DataFrame:
    """Tracked clicks, caused conversions and their EUR value per advocate, content item and
    network with at least one tracked click (any other has none of either), in id order."""
    caused = conv.cause[conv.cause >= 0]
    worth = np.nan_to_num(conv.value_eur[conv.cause >= 0])
    fx = conv.effects
    parts = []
    for level, ids, order, key, effect in (
        ("advocate", people.ids, np.argsort(people.rank), ev["emp"], fx.advocate),
        ("content", cat.ids, np.arange(len(cat.ids)), ev["item"], fx.content),
        (
            "network",
            np.array(NETWORKS, object),
            np.argsort(NETWORKS),
            ev["network"],
            fx.network,
        ),
    ):
        of_click, n = key[clicks.share], len(ids)
        n_clicks = np.bincount(of_click, minlength=n)[order]
        frame = pd.DataFrame(
            {
                "level": level,
                "id": str_column(ids[order]),
                "clicks": n_clicks,
                "true_conversions": np.bincount(of_click[caused], minlength=n)[order],
                "true_value": np.round(
                    np.bincount(of_click[caused], weights=worth, minlength=n)[order], 2
                ),
                "planted_effect": np.round(effect[order], 4),
            }
        )
        parts.append(frame[n_clicks > 0])
    return pd.concat(parts, ignore_index=True)
