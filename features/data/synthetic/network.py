"""Org edges between employees: manager trees, team cliques, email and mention ties."""

from __future__ import annotations

import numpy as np

from features.data.contract import SENIORITIES
from features.data.synthetic.people import People
from features.data.synthetic.vocabulary import DEPARTMENTS


def make_edges(people: People, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
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
    boost *= np.where(people.dept == list(DEPARTMENTS).index("Sales"), 1.3, 1.0)
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
