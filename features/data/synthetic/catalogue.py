"""The content catalogue: types, approval states, publication and expiry times, topics,
authors, eligibility lists and rendered titles, bodies and urls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from features.data.contract import APPROVAL_STATUSES
from features.data.synthetic.config import DAY, OrgConfig
from features.data.synthetic.people import People
from features.data.synthetic.vocabulary import (
    BODIES,
    CONTENT_TYPES,
    COUNTRIES,
    DEPARTMENTS,
    DEPT_TOPICS,
    LANGUAGES,
    MONTHS,
    REGIONS,
    ROLES,
    TITLES,
    TOPIC_TEXT,
    TOPICS,
)

NEVER = np.iinfo(np.int64).max  # "no expiry"
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
# local hour of day -> weight of publishing and of activity (also used by activity.py)
LOCAL_HOUR_W = (1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 17, 15, 11, 13, 16, 15, 13, 10, 7, 6, 5, 4, 2, 1)


@dataclass(frozen=True)
class Catalog:
    """Content in publication order (content ids follow this order)."""

    ids: np.ndarray
    ctype: np.ndarray
    status: np.ndarray
    pub: np.ndarray
    exp: np.ndarray  # NEVER when the item does not expire
    topics: np.ndarray  # (n, topics) bool
    pop: np.ndarray  # latent quality / popularity
    lang: np.ndarray
    region_bits: np.ndarray  # eligibility as bit sets; all bits set = everyone
    dept_bits: np.ndarray
    lang_bits: np.ndarray
    by_topic: list[np.ndarray]  # approved items per topic, in publication order


def _pick_in_dept(people: People, dept: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random employee of each given department (anyone if it is empty)."""
    lo = np.full(len(DEPARTMENTS), 0)
    hi = np.full(len(DEPARTMENTS), people.n)
    lo[people.dept], hi[people.dept] = people.dept_lo, people.dept_hi
    return lo[dept] + (rng.random(len(dept)) * (hi[dept] - lo[dept])).astype(np.int64)


def _content_timing(cfg: OrgConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Types, approval states, publication (business hours, sorted) and expiry times."""
    n = cfg.content
    ctype = rng.choice(len(CONTENT_TYPES), n, p=_TYPE_P)
    status = rng.choice(len(_STATUS_P), n, p=_STATUS_P)
    hour = rng.choice(24, n, p=np.array(LOCAL_HOUR_W) / sum(LOCAL_HOUR_W))
    day = np.floor(rng.uniform(-3, cfg.days, n)).astype(np.int64)
    pub = cfg.start_s // DAY * DAY + day * DAY + hour * 3600 + rng.integers(0, 3600, n)
    pub = np.minimum(pub, cfg.end_s)
    draft = status == APPROVAL_STATUSES.index("draft")  # some drafts are scheduled after end
    pub[draft] += (rng.random(draft.sum()) < 0.5) * rng.integers(0, 14 * DAY, draft.sum())
    order = np.argsort(pub, kind="stable")
    ctype, status, pub = ctype[order], status[order], pub[order]
    # type -> (min days, max days, share of items that expire): jobs, events, product, articles
    life = {1: (30, 60, 1.0), 2: (7, 45, 1.0), 3: (90, 90, 0.25), 0: (30, 120, 0.1)}
    exp = np.full(n, NEVER)
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
    favs = [[TOPICS.index(t) for t in d] for d in DEPT_TOPICS.values()]
    pick = rng.random(len(job))
    job_topic = [favs[d][int(r * len(favs[d]))] for d, r in zip(job_dept[job], pick, strict=True)]
    topics[job, job_topic] = True
    for p in (0.55, 0.25):
        extra = (rng.random(n) < p) & (topics.sum(axis=1) < 3)
        topics[np.flatnonzero(extra), rng.integers(0, k, extra.sum())] = True
    return topics


def make_content(cfg: OrgConfig, people: People, rng: np.random.Generator) -> tuple:
    """The catalogue: timing, topics, authors, eligibility; text is rendered later."""
    n, k, n_dept = cfg.content, len(TOPICS), len(DEPARTMENTS)
    ctype, status, pub, exp = _content_timing(cfg, rng)
    dw = np.array(list(DEPARTMENTS.values()))
    job_dept = rng.choice(n_dept, n, p=dw / dw.sum())
    topics = _content_topics(ctype, job_dept, rng)
    job = np.flatnonzero(ctype == 1)
    # authors: Marketing and HR write most, HR posts the jobs
    mkt, hr = list(DEPARTMENTS).index("Marketing"), list(DEPARTMENTS).index("HR")
    author_dept = np.where(
        rng.random(n) < 0.4,
        rng.choice(n_dept, n, p=dw / dw.sum()),
        np.where(rng.random(n) < 0.75, mkt, hr),
    )
    author_dept[job] = np.where(rng.random(len(job)) < 0.8, hr, author_dept[job])
    author = _pick_in_dept(people, author_dept, rng)
    text_dept = np.where(ctype == 1, job_dept, people.dept[author])
    cw = np.array([c[2] for c in COUNTRIES.values()])
    country = rng.choice(len(COUNTRIES), n, p=cw / cw.sum())
    lang = rng.choice(len(LANGUAGES), n, p=_CONTENT_LANG_P)
    # eligibility as bit sets: region-specific jobs, language- and department-internal items
    region_of = np.array([REGIONS.index(c[0]) for c in COUNTRIES.values()])[country]
    region_bits = np.where((ctype == 1) & (rng.random(n) < 0.4), 1 << region_of, 2**4 - 1)
    lang_bits = np.where((lang > 0) & (rng.random(n) < 0.6), 1 << lang, 2 ** len(LANGUAGES) - 1)
    internal = np.isin(ctype, (0, 4)) & (rng.random(n) < 0.08)
    dept_bits = np.where(internal, 1 << people.dept[author], 2**n_dept - 1)
    width = max(5, len(str(n)))
    ids = np.array([f"c{i + 1:0{width}d}" for i in range(n)], dtype=object)
    approved = np.flatnonzero(status == 1)
    by_topic = [approved[topics[approved, j]] for j in range(k)]
    pop = rng.lognormal(0.0, 0.8, n) * np.array(_TYPE_POP)[ctype]
    cat = Catalog(
        ids, ctype, status, pub, exp, topics, pop, lang, region_bits, dept_bits, lang_bits, by_topic
    )
    return cat, author, text_dept, country


def render_text(cfg: OrgConfig, cat: Catalog, dept: np.ndarray, country: np.ndarray, rng):
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
    countries, depts = list(COUNTRIES.values()), list(DEPARTMENTS)
    products = ("Atlas", "Beacon", "Nimbus", "Orbit", "Pulse", "Quartz")
    levels = ("", "Junior ", "Senior ", "Lead ", "Staff ")
    titles, bodies, urls = [], [], []
    for i in range(n):
        ctype, d = CONTENT_TYPES[cat.ctype[i]], depts[dept[i]]
        label, metric, subject = TOPIC_TEXT[TOPICS[primary[i]]]
        cities = countries[country[i]][3]
        when = datetime.fromtimestamp(int(min(cat.exp[i], cat.pub[i] + 30 * DAY)), UTC)
        roles = ROLES[d]
        slots = {
            "label": label,
            "metric": metric,
            "subject": subject,
            "dept": d,
            "team": d if d.isupper() else d.lower(),
            "city": cities[nums["city"][i] % len(cities)],
            "year": cfg.end.year,
            "date": f"{when.day} {MONTHS[when.month - 1]}",
            "pct": nums["pct"][i],
            "n": nums["n"][i],
            "mins": nums["mins"][i],
            "product": products[nums["product"][i]],
            "version": f"{nums['major'][i]}.{nums['pct'][i] % 10}",
            "role": roles[nums["role"][i] % len(roles)],
            "level": levels[nums["level"][i]],
        }
        templates = TITLES[ctype]
        title = templates[nums["tpl"][i] % len(templates)].format(**slots)
        titles.append(title)
        bodies.append(" ".join(x.format(**slots) for x in BODIES[ctype][: nums["len"][i]]))
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")
        site = "careers.example.com/jobs" if ctype == "job" else f"news.example.com/{ctype}"
        urls.append(f"https://{site}/{cat.ids[i]}-{slug}")
    return titles, bodies, urls
