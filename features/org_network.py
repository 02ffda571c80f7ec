"""Org-network features: an advocate's position in the graph of ties between employees.

The graph
- Nodes are the advocates who did not opt out. Every edge that touches an opted-out advocate
  (or an id that is not an advocate) is dropped before anything is computed, so opted-out
  advocates neither get a row nor shape anyone else's features.
- ``org_edges`` rows are directed (``employee_a`` -> ``employee_b``, e.g. manager -> report,
  sender -> recipient) and several kinds can link one pair. The graph is made undirected by
  summing the weights of every row between the two people, in both directions and of all
  kinds (optionally scaled per kind by ``kind_weights``): a reply in the other direction or a
  second kind of tie is more evidence of a strong tie, and influence inside a company flows
  both ways. Self-loops are dropped. A missing weight is the contract's default 1.

Columns (each prefixed ``org_`` by :class:`OrgNetwork`; :func:`network_features` returns
them without the prefix)
- ``degree``: distinct neighbours; ``weighted_degree``: sum of the tie weights (strength).
- ``pagerank``: weighted PageRank (damping 0.85; isolated advocates spread their mass
  uniformly, as in networkx); ``pagerank_rel``: ``pagerank * nodes`` (1 = average).
- ``core_number``: the k-core an advocate belongs to (unweighted).
- ``clustering``: unweighted local clustering coefficient (0 below two neighbours).
- ``bridging``: part of the ties that go to another department; ``bridging_weighted``: the
  same by weight; ``neighbour_departments``: distinct departments among the neighbours.
  A tie counts as crossing when both departments are known and differ.

Library choice: igraph (``backend="networkx"`` computes the same values)
Benchmarked with ``experiments/bench_network.py`` (2 cores shared with other jobs, load ~3;
seconds of the whole computation / of the library phases build+PageRank+k-core+clustering;
peak RSS of the process including its input):

=====================  ==========================  ==========================
graph                  igraph                      networkx
=====================  ==========================  ==========================
ego-Facebook 4k/88k    1.8 s / 0.7 s, 280 MB       4.3 s / 4.6 s, 293 MB
email-Eu-core 1k/16k   1.6 s / 0.3 s, 253 MB       0.8 s / 0.6 s, 238 MB
synthetic 100k/977k    8.2 s / 2.5 s, 1.06 GB      37.8 s / 38.2 s, 1.41 GB
=====================  ==========================  ==========================

(nodes/undirected edges; the synthetic org has 1.45M edge rows.) networkx spends 21 s of its
38 s in clustering and 12 s building and converting its dict-of-dicts graph; its cost grows
with the sum of squared degrees, so a 100k org costs ~15x igraph's library time and ~0.35 GB
more memory, too slow for a builder that runs for every snapshot of a backtest. igraph's
floor is its import (~1 s) and PRPACK's setup (~0.3-0.6 s), which only shows on tiny graphs.
The two agree to 1e-16 (clustering), exactly (degree, strength, k-core, bridging) and to
~1e-7 relative (PageRank: PRPACK solves exactly, networkx iterates to ``PAGERANK_TOL``);
tests/test_org_network.py checks both against networkx's reference functions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from features.builder import advocate_index, check_fitted, lookup, profiled_rows, vocabulary
from features.snapshot import Snapshot
from recsys.matrix import FeatureMatrix

logger = logging.getLogger(__name__)

BACKENDS = ("igraph", "networkx")
STRUCTURE = ("degree", "weighted_degree", "pagerank", "pagerank_rel", "core_number", "clustering")
BRIDGING = ("bridging", "bridging_weighted", "neighbour_departments")
PAGERANK_TOL = 1e-12  # networkx: stop when the L1 change < nodes * tol (~exact)


def symmetrise(
    a: np.ndarray, b: np.ndarray, weight: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undirected simple edges ``lo < hi`` of node codes, weights summed; self-loops dropped."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    keep = a != b
    lo, hi = np.minimum(a, b)[keep], np.maximum(a, b)[keep]
    pairs, inverse = np.unique(lo * n + hi, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=np.asarray(weight, float)[keep])
    return pairs // n, pairs % n, summed


def network_features(
    a: Sequence[object],
    b: Sequence[object],
    weight: Sequence[float] | None = None,
    *,
    nodes: Sequence[object] | None = None,
    departments: Mapping[object, object] | Sequence[object] | None = None,
    backend: str = "igraph",
    damping: float = 0.85,
) -> pd.DataFrame:
    """Network features of a plain edge list ``a[i] - b[i]`` (weight 1 when not given).

    ``nodes`` fixes the node set and row order (edges with another endpoint are dropped;
    nodes without edges get a row); by default it is every endpoint in first-seen order.
    ``departments`` (a mapping, or a sequence aligned with ``nodes``) adds the bridging
    columns. Nodes are matched as text (``7`` and ``"7"`` are one node). Returns a frame
    indexed by the nodes' text with the columns of the module docstring.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    ends_a, ends_b = pd.Series(np.asarray(a, dtype=object)), pd.Series(np.asarray(b, dtype=object))
    if nodes is None:
        nodes = pd.unique(pd.concat([ends_a, ends_b], ignore_index=True))
    nodes = list(nodes)
    index = pd.Index(np.asarray(nodes, dtype=object).astype(str))
    codes_a, codes_b = lookup(ends_a, index), lookup(ends_b, index)
    weights = np.ones(len(codes_a)) if weight is None else np.asarray(weight, dtype=float)
    known = (codes_a >= 0) & (codes_b >= 0) & (weights > 0)
    if (~known).any():
        logger.info(
            "dropped %d of %d edges (unknown node or weight <= 0)", (~known).sum(), known.size
        )
    n = len(index)
    lo, hi, w = symmetrise(codes_a[known], codes_b[known], weights[known], max(n, 1))
    columns = _local(lo, hi, w, n)
    compute = _structure_networkx if backend == "networkx" else _structure_igraph
    columns["pagerank"], columns["core_number"], columns["clustering"] = compute(
        lo, hi, w, n, damping
    )
    columns["pagerank_rel"] = columns["pagerank"] * n
    if departments is not None:
        labels = (
            [departments.get(v) for v in nodes] if isinstance(departments, Mapping) else departments
        )
        columns.update(_bridging(lo, hi, w, _codes(labels, n), columns))
    names = [*STRUCTURE, *(BRIDGING if departments is not None else ())]
    return pd.DataFrame({name: columns[name] for name in names}, index=index)


def _codes(labels: Sequence[object], n: int) -> np.ndarray:
    """Integer department codes, -1 for missing."""
    if len(labels) != n:
        raise ValueError(f"{len(labels)} departments for {n} nodes")
    codes, _ = pd.factorize(pd.Series(list(labels), dtype=object), use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64)


def _local(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, n: int) -> dict[str, np.ndarray]:
    ends = np.concatenate([lo, hi])
    return {
        "degree": np.bincount(ends, minlength=n).astype(float),
        "weighted_degree": np.bincount(ends, weights=np.concatenate([w, w]), minlength=n),
    }


def _bridging(
    lo: np.ndarray, hi: np.ndarray, w: np.ndarray, dept: np.ndarray, local: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    n = len(dept)
    cross = (dept[lo] >= 0) & (dept[hi] >= 0) & (dept[lo] != dept[hi])
    ends, other = np.concatenate([lo, hi]), np.concatenate([hi, lo])
    crossing = np.concatenate([cross, cross])
    count = np.bincount(ends[crossing], minlength=n)
    weight = np.bincount(ends[crossing], weights=np.concatenate([w, w])[crossing], minlength=n)
    labelled = dept[other] >= 0
    reached = np.unique(ends[labelled] * (dept.max(initial=0) + 1) + dept[other][labelled])
    distinct = np.bincount(reached // (dept.max(initial=0) + 1), minlength=n)

    def part(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
        return np.divide(top, bottom, out=np.zeros(n), where=bottom > 0)

    return {
        "bridging": part(count, local["degree"]),
        "bridging_weighted": part(weight, local["weighted_degree"]),
        "neighbour_departments": distinct.astype(float),
    }


def _structure_networkx(
    lo: np.ndarray, hi: np.ndarray, w: np.ndarray, n: int, damping: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PageRank, core number and clustering with networkx."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from(zip(lo.tolist(), hi.tolist(), w.tolist(), strict=True))
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    rank = nx.pagerank(graph, alpha=damping, weight="weight", tol=PAGERANK_TOL, max_iter=1000)
    core = nx.core_number(graph)
    clustering = nx.clustering(graph)
    order = range(n)
    return (
        np.fromiter((rank[v] for v in order), float, n),
        np.fromiter((core[v] for v in order), float, n),
        np.fromiter((clustering[v] for v in order), float, n),
    )


def _structure_igraph(
    lo: np.ndarray, hi: np.ndarray, w: np.ndarray, n: int, damping: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PageRank (PRPACK, exact), core number and clustering with igraph."""
    try:
        import igraph
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "backend='igraph' needs python-igraph: pip install python-igraph"
        ) from exc
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    edges = list(zip(lo.tolist(), hi.tolist(), strict=True))  # fastest input igraph takes
    graph = igraph.Graph(n=n, edges=edges, directed=False)
    graph.es["weight"] = w.tolist()
    rank = graph.pagerank(damping=damping, weights="weight", directed=False)
    core = graph.coreness()
    clustering = graph.transitivity_local_undirected(mode="zero")
    return np.asarray(rank, float), np.asarray(core, float), np.asarray(clustering, float)


class OrgNetwork:
    """Degree, strength, PageRank, k-core, clustering and bridging in the org graph.

    Parameters
    ----------
    kind_weights:
        Multiplier of an edge's weight by ``kind`` (unlisted kinds: 1; 0 drops the kind).
    damping:
        PageRank damping factor.
    backend:
        ``"igraph"`` (default) or ``"networkx"`` (same values, ~15x slower at 100k people).
    """

    def __init__(
        self,
        *,
        kind_weights: Mapping[str, float] | None = None,
        damping: float = 0.85,
        backend: str = "igraph",
    ) -> None:
        self.kind_weights = kind_weights
        self.damping = damping
        self.backend = backend

    def fit(self, snapshot: Snapshot) -> OrgNetwork:
        """Check the parameters and record the edge kinds seen."""
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; choose one of {BACKENDS}")
        if not 0.0 < self.damping < 1.0:
            raise ValueError(f"damping must lie in (0, 1), got {self.damping}")
        self.kinds_ = vocabulary(snapshot.org_edges["kind"])
        return self

    def transform(self, snapshot: Snapshot, ids: Sequence[str] | None = None) -> FeatureMatrix:
        """Network rows for ``ids`` (default: every advocate who did not opt out).

        The graph always spans every profiled advocate; ``ids`` only selects rows.
        """
        check_fitted(self, "kinds_")
        wanted = advocate_index(profiled_rows(snapshot, ids))
        profiled = snapshot.profiled_advocates
        edges = snapshot.org_edges
        weight = pd.to_numeric(edges["weight"], errors="coerce").fillna(1.0).to_numpy(float)
        if self.kind_weights:
            scale = edges["kind"].map(dict(self.kind_weights)).astype(float).fillna(1.0)
            weight = weight * scale.to_numpy()
        frame = network_features(
            edges["employee_a"].to_numpy(dtype=object),
            edges["employee_b"].to_numpy(dtype=object),
            weight,
            nodes=profiled["employee_id"].to_numpy(dtype=object),
            departments=profiled["department"].tolist(),
            backend=self.backend,
            damping=self.damping,
        )
        values = frame.loc[list(wanted.external)].to_numpy(dtype=np.float32)
        names = tuple(f"org_{name}" for name in frame.columns)
        logger.info("org network: %d advocates, %d rows", len(frame), len(wanted))
        return FeatureMatrix(values, names, wanted)
