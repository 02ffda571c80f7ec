"""Org-network features against networkx's reference computations (literal, SNAP, synthetic)."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from features.data.synthetic import OrgConfig, generate
from features.org_network import BACKENDS, OrgNetwork, network_features
from features.snapshot import Snapshot
from recsys.errors import OptedOutError
from recsys.ids import UnknownIdError
from tests.conftest import _unavailable

AS_OF = "2026-10-01"


def _backend(name: str) -> str:
    if name == "igraph":
        try:
            import igraph  # noqa: F401  (a declared dependency: CI must have it)
        except ImportError:
            _unavailable("python-igraph is not installed")
    return name


def reference(
    a: Sequence[object],
    b: Sequence[object],
    weight: Sequence[float] | None,
    nodes: Sequence[object],
    departments: Sequence[object] | None = None,
) -> pd.DataFrame:
    """The features computed the plain networkx way, edge by edge."""
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    weights = [1.0] * len(a) if weight is None else weight
    for u, v, w in zip(a, b, weights, strict=True):
        if u == v or u not in graph or v not in graph:
            continue
        previous = graph[u][v]["weight"] if graph.has_edge(u, v) else 0.0
        graph.add_edge(u, v, weight=previous + w)
    rank = nx.pagerank(graph, weight="weight", tol=1e-13, max_iter=10_000)
    frame = pd.DataFrame(
        {
            "degree": dict(graph.degree()),
            "weighted_degree": dict(graph.degree(weight="weight")),
            "pagerank": rank,
            "core_number": nx.core_number(graph),
            "clustering": nx.clustering(graph),
        }
    ).loc[list(nodes)]
    if departments is not None:
        dept = dict(zip(nodes, departments, strict=True))
        crossing = {
            v: [dept[u] != dept[v] and pd.notna(dept[u]) and pd.notna(dept[v]) for u in graph[v]]
            for v in graph
        }
        frame["bridging"] = [np.mean(crossing[v]) if crossing[v] else 0.0 for v in nodes]
    return frame


def assert_matches(got: pd.DataFrame, expected: pd.DataFrame, rtol: float = 1e-12) -> None:
    """Equal up to float rounding (``rtol``: 1e-6 for the builder's float32 output)."""
    np.testing.assert_array_equal(got["degree"], expected["degree"])
    np.testing.assert_array_equal(got["core_number"], expected["core_number"])
    np.testing.assert_allclose(got["weighted_degree"], expected["weighted_degree"], rtol=rtol)
    np.testing.assert_allclose(got["pagerank_rel"], got["pagerank"] * len(got), rtol=rtol)
    np.testing.assert_allclose(got["clustering"], expected["clustering"], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(got["pagerank"], expected["pagerank"], rtol=max(rtol, 1e-6))
    if "bridging" in expected:
        np.testing.assert_allclose(got["bridging"], expected["bridging"], rtol=rtol, atol=rtol)


# --- a literal organisation ----------------------------------------------------------------


def _advocates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "employee_id": ["ana", "ben", "cara", "dan", "fay"],
            "department": ["Engineering", "Sales", "HR", "Engineering", "Sales"],
            "opted_out": [False, False, True, False, False],
        }
    )


def _edges() -> pd.DataFrame:
    rows = [
        ("ana", "ben", 1.0, "email"),
        ("ben", "ana", 2.0, "email"),
        ("ana", "ben", 1.0, "team"),
        ("ana", "fay", 1.0, "team"),
        ("ben", "fay", 1.0, "team"),
        ("ana", "cara", 5.0, "mention"),  # cara opted out: dropped
        ("cara", "fay", 3.0, "email"),  # dropped
        ("fay", "fay", 1.0, "mention"),  # self-loop: dropped
        ("fay", "zed", 1.0, "email"),  # not an advocate: dropped
    ]
    return pd.DataFrame(rows, columns=["employee_a", "employee_b", "weight", "kind"])


def _features(
    builder: OrgNetwork, snapshot: Snapshot, ids: list[str] | None = None
) -> pd.DataFrame:
    matrix = builder.fit(snapshot).transform(snapshot, ids)
    names = [n.removeprefix("org_") for n in matrix.names]
    return pd.DataFrame(matrix.values, index=list(matrix.ids.external), columns=names)


@pytest.mark.parametrize("backend", BACKENDS)
def test_literal_org_values_and_opt_out(backend: str) -> None:
    snapshot = Snapshot.from_frames(AS_OF, advocates=_advocates(), org_edges=_edges())
    got = _features(OrgNetwork(backend=_backend(backend)), snapshot)
    assert list(got.index) == ["ana", "ben", "dan", "fay"]
    assert got["degree"].tolist() == [2, 2, 0, 2]
    assert got["weighted_degree"].tolist() == [5, 5, 0, 2]
    assert got["core_number"].tolist() == [2, 2, 0, 2]
    assert got["clustering"].tolist() == [1, 1, 0, 1]
    assert got["bridging"].tolist() == [1.0, 0.5, 0.0, 0.5]
    np.testing.assert_allclose(got["bridging_weighted"], [1.0, 0.8, 0.0, 0.5], rtol=1e-6)
    assert got["neighbour_departments"].tolist() == [1, 2, 0, 2]
    kept = _edges().iloc[:5]
    expected = reference(kept["employee_a"], kept["employee_b"], kept["weight"], list(got.index))
    np.testing.assert_allclose(got["pagerank"], expected["pagerank"], rtol=1e-5)
    assert got.loc["dan", "pagerank"] == pytest.approx(expected.loc["dan", "pagerank"], rel=1e-5)
    without_cara = Snapshot.from_frames(AS_OF, advocates=_advocates(), org_edges=kept)
    pd.testing.assert_frame_equal(got, _features(OrgNetwork(backend=backend), without_cara))


def test_literal_org_bad_input() -> None:
    snapshot = Snapshot.from_frames(AS_OF, advocates=_advocates(), org_edges=_edges())
    builder = OrgNetwork().fit(snapshot)
    with pytest.raises(OptedOutError, match="opt-out policy"):
        builder.transform(snapshot, ["cara"])
    with pytest.raises(UnknownIdError, match="zed"):
        builder.transform(snapshot, ["ana", "zed"])
    assert list(builder.transform(snapshot, ["fay", "dan"]).ids.external) == ["fay", "dan"]
    alone = Snapshot.from_frames(AS_OF, advocates=_advocates())
    lonely = _features(OrgNetwork(), alone)
    assert (lonely.drop(columns=["pagerank", "pagerank_rel"]).to_numpy() == 0).all()
    np.testing.assert_allclose(lonely["pagerank"], 0.25)
    no_email = _features(OrgNetwork(kind_weights={"email": 0.0}), snapshot)
    assert no_email["weighted_degree"].tolist() == [2, 2, 0, 2]
    missing_weight = _edges().assign(weight=np.nan)
    unweighted = Snapshot.from_frames(AS_OF, advocates=_advocates(), org_edges=missing_weight)
    assert _features(OrgNetwork(), unweighted)["weighted_degree"].tolist() == [4, 4, 0, 2]
    with pytest.raises(ValueError, match="backend"):
        OrgNetwork(backend="graph-tool").fit(snapshot)
    with pytest.raises(ValueError, match="damping"):
        OrgNetwork(damping=1.0).fit(snapshot)


def test_plain_edge_list_defaults() -> None:
    frame = network_features(["x", "y", "y"], ["y", "z", "x"])
    assert list(frame.index) == ["x", "y", "z"] and "bridging" not in frame.columns
    assert frame["weighted_degree"].tolist() == [2, 3, 1]
    assert network_features([], [], nodes=[]).empty


# --- real networks (SNAP) ------------------------------------------------------------------


def _snap(folder: Path, name: str) -> tuple[list[str], list[str], list[str], list[str] | None]:
    if name == "ego-facebook":
        path = folder / "ego-facebook" / "facebook_combined.txt.gz"
        if not path.exists():
            _unavailable(f"{path} not found: see {folder / 'README.md'}")
        with gzip.open(path, "rt") as handle:
            edges = pd.read_csv(handle, sep=" ", names=["a", "b"], dtype=str)
        nodes = list(pd.unique(edges[["a", "b"]].to_numpy().ravel()))
        return edges["a"].tolist(), edges["b"].tolist(), nodes, None
    path = folder / "email-eu-core"
    if not path.is_dir():
        _unavailable(f"{path} not found: see {folder / 'README.md'}")
    edges = pd.read_csv(path / "email-Eu-core.txt", sep=" ", names=["a", "b"], dtype=str)
    labels = pd.read_csv(
        path / "email-Eu-core-department-labels.txt", sep=" ", names=["n", "d"], dtype=str
    )
    return edges["a"].tolist(), edges["b"].tolist(), labels["n"].tolist(), labels["d"].tolist()


@pytest.fixture(scope="module", params=["ego-facebook", "email-eu-core"])
def snap_case(request: pytest.FixtureRequest, shared_data: Path) -> tuple[tuple, pd.DataFrame]:
    a, b, nodes, departments = _snap(shared_data, request.param)
    return (a, b, nodes, departments), reference(a, b, None, nodes, departments)


@pytest.mark.parametrize("backend", BACKENDS)
def test_snap_networks_match_networkx(snap_case: tuple[tuple, pd.DataFrame], backend: str) -> None:
    (a, b, nodes, departments), expected = snap_case
    got = network_features(a, b, nodes=nodes, departments=departments, backend=_backend(backend))
    assert list(got.index) == list(expected.index)
    assert_matches(got, expected)
    if departments is not None:  # email-Eu-core: directed mails, 42 departments
        assert got["degree"].max() > 300 and 0 < got["bridging"].mean() < 1
        assert (got["neighbour_departments"] <= 42).all()


# --- a small synthetic organisation --------------------------------------------------------


def test_synthetic_org_matches_networkx() -> None:
    tables = generate(OrgConfig(employees=300, content=20, days=10, seed=5)).tables
    snapshot = Snapshot.from_frames(
        AS_OF, advocates=tables["advocates"], org_edges=tables["org_edges"]
    )
    profiled = snapshot.profiled_advocates
    got = _features(OrgNetwork(), snapshot)
    assert list(got.index) == profiled["employee_id"].tolist() and len(got) < 300
    edges = tables["org_edges"]
    expected = reference(
        edges["employee_a"].tolist(),
        edges["employee_b"].tolist(),
        edges["weight"].tolist(),
        profiled["employee_id"].tolist(),
        profiled["department"].tolist(),
    )
    assert_matches(got, expected, rtol=1e-6)
    assert got["degree"].min() > 0 and got["core_number"].max() >= 3
