"""Benchmark: peak memory of fitting and serving ``hybrid`` on the synthetic organisation.

The organisation of the issue (100,000 employees, 20,000 content, ~5M interactions over 180
days) is generated in memory by :mod:`features.data.synthetic` and turned into a
:class:`~recsys.dataset.Dataset` without a store (the store-free path of
``bench_recommend.py``: interactions, publication times, and each employee's department as a
``department=`` profile column). The parent saves it to a temporary ``.npz``; every
measurement runs in its own child process, so peaks are its own:

- ``dataset``: loading the Dataset only (the baseline every other figure includes);
- ``hybrid``: load, ``fit`` (tracemalloc peak of the fit: numpy and Python allocations, plus
  the process's peak RSS, VmHWM), then the feeds of ``--serve`` employees in one
  ``recommend`` call (k=20) and ``save`` (folder size).

LightFM (the hybrid's ``taste__epochs``) runs ``--epochs`` epochs (default 5) to keep the run
short on a shared machine; memory does not depend on the epoch count. Prints one JSON
document::

    python experiments/bench_memory.py [--employees 100000 --content 20000 --per-employee 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.dataset import Dataset, Interactions  # noqa: E402
from recsys.ids import IdMap  # noqa: E402
from recsys.matrix import FeatureMatrix  # noqa: E402

K = 20


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM: unlike ru_maxrss, not inherited on fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def build(employees: int, content: int, per_employee: float, path: Path) -> dict:
    """Generate the organisation and save its Dataset arrays to ``path``."""
    from features.data.synthetic import OrgConfig, generate

    started = time.perf_counter()
    org = generate(
        OrgConfig(employees=employees, content=content, interactions_per_employee=per_employee)
    )
    events = org.tables["interactions"]
    items = org.tables["content"]
    advocates = org.tables["advocates"]
    stamps = events["timestamp"].dt.tz_convert(None).to_numpy().astype("datetime64[s]")
    published = items["published_at"].dt.tz_convert(None).to_numpy().astype("datetime64[s]")
    np.savez(
        path,
        users=advocates["employee_id"].astype(str).to_numpy(np.str_),
        departments=advocates["department"].fillna("").astype(str).to_numpy(np.str_),
        items=items["content_id"].astype(str).to_numpy(np.str_),
        item_times=published.astype(np.int64),
        event_users=events["employee_id"].astype(str).to_numpy(np.str_),
        event_items=events["content_id"].astype(str).to_numpy(np.str_),
        times=stamps.astype(np.int64),
    )
    return {
        "employees": len(advocates),
        "content": len(items),
        "events": len(events),
        "build_seconds": round(time.perf_counter() - started, 1),
    }


def load(path: Path) -> Dataset:
    with np.load(path) as stored:
        users = IdMap(stored["users"].astype(object), "employee")
        items = IdMap(stored["items"].astype(object), "content")
        interactions = Interactions(
            users.to_internal(stored["event_users"].tolist()),
            items.to_internal(stored["event_items"].tolist()),
            np.ones(len(stored["times"]), np.float32),
            stored["times"],
        )
        departments = stored["departments"]
        item_times = stored["item_times"]
    names, codes = np.unique(departments, return_inverse=True)
    profile = FeatureMatrix(
        sp.csr_matrix(
            (np.ones(len(codes), np.float32), (np.arange(len(codes)), codes)),
            shape=(len(codes), len(names)),
        ),
        tuple(f"department={n}" for n in names),
        users,
    )
    return Dataset(users, items, interactions, user_features=profile, item_times=item_times)


def child(mode: str, path: Path, epochs: int, serve: int) -> None:
    started = time.perf_counter()
    dataset = load(path)
    out: dict = {"load_seconds": round(time.perf_counter() - started, 1)}
    out["peak_rss_mb_after_load"] = peak_rss_mb()
    if mode == "hybrid":
        from recsys.models.hybrid import Hybrid

        model = Hybrid().set_params(taste__epochs=epochs)
        tracemalloc.start()
        started = time.perf_counter()
        model.fit(dataset)
        out["fit_seconds"] = round(time.perf_counter() - started, 1)
        out["fit_traced_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
        out["peak_rss_mb_after_fit"] = peak_rss_mb()
        out["components"] = [str(n) for n in model.component_names_]
        out["second_stage_examples"] = model.validation_examples_
        employees = [str(e) for e in dataset.users.external[:serve]]
        started = time.perf_counter()
        model.recommend(employees, K)
        out[f"feeds_{serve}_seconds"] = round(time.perf_counter() - started, 2)
        out["peak_rss_mb_after_serve"] = peak_rss_mb()
        with tempfile.TemporaryDirectory() as folder:
            saved = model.save(Path(folder) / "hybrid")
            size = sum(f.stat().st_size for f in saved.iterdir())
        out["saved_mb"] = round(size / 2**20, 1)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--content", type=int, default=20_000)
    parser.add_argument("--per-employee", type=float, default=50.0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--serve", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.data), args.epochs, args.serve)
        return
    result: dict = {"benchmark": "memory", "loadavg_before": list(os.getloadavg())}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        path = Path(folder) / "org.npz"
        result["organisation"] = build(args.employees, args.content, args.per_employee, path)
        result["lightfm_epochs"] = args.epochs
        for mode in ("dataset", "hybrid"):
            command = [sys.executable, __file__, "--child", mode, "--data", str(path)]
            command += ["--epochs", str(args.epochs), "--serve", str(args.serve)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                result[mode] = {"error": f"not finished within {args.timeout} s"}
                continue
            if done.returncode:
                result[mode] = {"error": done.stderr.strip().splitlines()[-3:]}
            else:
                result[mode] = json.loads(done.stdout)
            print(f"{mode}: {result[mode]}", file=sys.stderr)
    result["loadavg_after"] = list(os.getloadavg())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
