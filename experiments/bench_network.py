"""Benchmark: org-network features with igraph (chosen) and networkx (the alternative).

Datasets: SNAP ego-Facebook and email-Eu-core (from ../shared/data, skipped when absent) and a
synthetic organisation (default 100k employees, ~1.45M edge rows). Every (dataset, library)
pair runs in its own process, so its wall time and peak RSS are its own; the synthetic org is
generated once and handed over as a parquet file. Per run: the seconds of the whole feature
computation (the :class:`~features.org_network.OrgNetwork` builder for the synthetic org,
:func:`~features.org_network.network_features` for the SNAP files), the library phases
(graph build, PageRank, k-core, clustering) timed separately, peak RSS and its increase over
the loaded input (VmHWM of the process: fork/exec do not carry the parent's peak over, unlike
``ru_maxrss``); per dataset and feature, the largest relative difference between the two
libraries' values (float32 for the synthetic org, which goes through the builder).
Prints one JSON document::

    python experiments/bench_network.py --employees 100000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.org_network import network_features, symmetrise  # noqa: E402

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))
LIBRARIES = ("igraph", "networkx")  # chosen first


def _rss_mb() -> float:
    """Peak resident memory of this process so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def load_snap(name: str) -> tuple[pd.DataFrame, list[str] | None, list[str] | None]:
    """Edges (a, b, weight) of a SNAP dataset, its nodes and departments (email-Eu-core)."""
    if name == "ego-facebook":
        with gzip.open(SHARED / "ego-facebook" / "facebook_combined.txt.gz", "rt") as handle:
            edges = pd.read_csv(handle, sep=" ", names=["a", "b"], dtype=str)
        return edges.assign(weight=1.0), None, None
    folder = SHARED / "email-eu-core"
    edges = pd.read_csv(folder / "email-Eu-core.txt", sep=" ", names=["a", "b"], dtype=str)
    labels = pd.read_csv(
        folder / "email-Eu-core-department-labels.txt", sep=" ", names=["node", "dept"], dtype=str
    )
    return edges.assign(weight=1.0), labels["node"].tolist(), labels["dept"].tolist()


def phases(edges: pd.DataFrame, nodes: list[str] | None, library: str) -> dict[str, float]:
    """Seconds of each library phase on the symmetrised graph."""
    index = pd.Index(
        nodes if nodes is not None else pd.unique(edges[["a", "b"]].to_numpy().ravel())
    )
    keep = index.get_indexer(edges["a"]) >= 0
    keep &= index.get_indexer(edges["b"]) >= 0
    a, b = index.get_indexer(edges["a"][keep]), index.get_indexer(edges["b"][keep])
    lo, hi, w = symmetrise(a, b, edges["weight"].to_numpy(float)[keep], len(index))
    n, out, started = len(index), {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        out[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()

    if library == "networkx":
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_weighted_edges_from(zip(lo.tolist(), hi.tolist(), w.tolist(), strict=True))
        lap("build")
        nx.pagerank(graph, weight="weight", tol=1e-10, max_iter=1000)
        lap("pagerank")
        nx.core_number(graph)
        lap("core_number")
        nx.clustering(graph)
        lap("clustering")
    else:
        import igraph

        graph = igraph.Graph(n=n, edges=list(zip(lo.tolist(), hi.tolist(), strict=True)))
        graph.es["weight"] = w.tolist()
        lap("build")
        graph.pagerank(weights="weight", directed=False)
        lap("pagerank")
        graph.coreness()
        lap("core_number")
        graph.transitivity_local_undirected(mode="zero")
        lap("clustering")
    out["nodes"], out["undirected_edges"] = n, len(lo)
    return out


def child(dataset: str, library: str, synthetic: Path, output: Path) -> None:
    """One timed run; writes the features to ``output`` and prints a JSON line."""
    if dataset == "synthetic":
        from features.org_network import OrgNetwork
        from features.snapshot import Snapshot

        advocates = pd.read_parquet(synthetic / "advocates.parquet")
        org_edges = pd.read_parquet(synthetic / "org_edges.parquet")
        snapshot = Snapshot.from_frames("2026-11-01", advocates=advocates, org_edges=org_edges)
        loaded = _rss_mb()
        started = time.perf_counter()
        matrix = OrgNetwork(backend=library).fit(snapshot).transform(snapshot)
        seconds = time.perf_counter() - started
        values, names = matrix.values, [n.removeprefix("org_") for n in matrix.names]
        edges = org_edges.rename(columns={"employee_a": "a", "employee_b": "b"})
        nodes = snapshot.profiled_advocates["employee_id"].tolist()
    else:
        edges, nodes, departments = load_snap(dataset)
        loaded = _rss_mb()
        started = time.perf_counter()
        frame = network_features(
            edges["a"], edges["b"], nodes=nodes, departments=departments, backend=library
        )
        seconds = time.perf_counter() - started
        values, names = frame.to_numpy(), list(frame.columns)
    peak = _rss_mb()
    np.save(output, np.asarray(values, dtype=np.float64))
    output.with_suffix(".json").write_text(json.dumps(names))
    result = {
        "seconds": round(seconds, 2),
        "peak_rss_mb": peak,
        "rss_increase_mb": round(peak - loaded, 1),
        "phases_seconds": phases(edges, nodes, library),
    }
    print(json.dumps(result))


def run(dataset: str, library: str, synthetic: Path, workdir: Path) -> dict[str, object]:
    output = workdir / f"{dataset}-{library}.npy"
    command = [sys.executable, __file__, "--child", dataset, library, str(synthetic), str(output)]
    started = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, check=False)
    if process.returncode != 0:
        raise SystemExit(f"{dataset}/{library} failed:\n{process.stderr[-3000:]}")
    result = json.loads(process.stdout.strip().splitlines()[-1])
    result["process_seconds"] = round(time.perf_counter() - started, 1)
    return result


def _differences(workdir: Path, dataset: str) -> dict[str, float]:
    """Per feature: max |chosen - alternative| / max(|alternative|, 1e-12)."""
    chosen, other = (np.load(workdir / f"{dataset}-{lib}.npy") for lib in LIBRARIES)
    names = json.loads((workdir / f"{dataset}-{LIBRARIES[0]}.json").read_text())
    scale = np.maximum(np.abs(other), 1e-12)
    relative = np.abs(chosen - other) / scale
    return {name: float(f"{relative[:, j].max():.2e}") for j, name in enumerate(names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        dataset, library, synthetic, output = options.child
        child(dataset, library, Path(synthetic), Path(output))
        return
    from features.data.synthetic import OrgConfig, generate

    workdir = Path(tempfile.mkdtemp(prefix="bench-network-"))
    config = OrgConfig(
        employees=options.employees,
        content=2_000,
        days=30,
        interactions_per_employee=1,
        seed=options.seed,
    )
    tables = generate(config).tables
    for name in ("advocates", "org_edges"):
        tables[name].to_parquet(workdir / f"{name}.parquet")
    edge_rows = len(tables["org_edges"])
    del tables
    datasets = ["synthetic"]
    if (SHARED / "ego-facebook").is_dir() and (SHARED / "email-eu-core").is_dir():
        datasets = ["ego-facebook", "email-eu-core", "synthetic"]
    report: dict[str, object] = {
        "chosen": LIBRARIES[0],
        "alternative": LIBRARIES[1],
        "synthetic_org": {"employees": options.employees, "edge_rows": edge_rows},
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    for dataset in datasets:
        runs = {library: run(dataset, library, workdir, workdir) for library in LIBRARIES}
        runs["max_relative_difference"] = _differences(workdir, dataset)
        report[dataset] = runs
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
