"""Benchmark: serving latency, batch feeds, fit time and peak memory of the recommenders.

Prints one JSON document. Parts (``--parts``, comma-separated, default all):

- ``latency``: a synthetic organisation of 10k employees / 10k content (~500k events;
  ``--latency-employees``, ``--latency-content``); per model, ``recommend`` for ONE known
  employee over all content ids passed as ``candidates`` with ``k=20`` (p50/p95/p99 ms over
  ``--repeats`` calls, after warm-up; wall clock, and the thread's CPU time, which leaves out
  preemption by other processes on a shared machine), the same over a random half of the
  catalogue (``single_*_half_candidates``: what a served feed passes after eligibility), and
  the feeds of 10,000 employees in one ``recommend`` call (seconds). BLAS runs
  single-threaded (``OPENBLAS_NUM_THREADS=1`` unless set). The hybrid leaves EASE out above
  ``ease__max_items`` (5,000) items: ``--latency-content 5000`` or
  ``--hybrid '{"ease__max_items": 10000}'`` measure it with EASE (``--hybrid`` takes the
  hybrid's nested parameters; the flat names of hybrids before the component redesign,
  e.g. ``ease_max_items``, are upgraded).
- ``saved`` (with ``--model-dir DIR``): the same one-employee figures for a saved model
  (e.g. a hybrid with every component, EASE included, fitted by ``bench_feed.py
  --model-dir``), plus ``after_event_*``: ``observe`` of one event, then the next feed (the
  live caches an event invalidates are rebuilt on that feed).
- ``deskdrop``: fit seconds per model on the DeskDrop training events (the runner's
  ``_deskdrop_dataset``, split 2016-11-01).
- ``large``: the 100k-employee / 20k-content / ~5M-event organisation; each model is fitted
  in its own subprocess (fit seconds, peak RSS of that process, which includes loading the
  ~5M-event Dataset; ``dataset_only`` is the same process without a fit), then 1,000 feeds
  are served from it. LightFM-based models use ``--large-epochs`` (default 5) epochs.

Timings are noisy on shared machines: ``loadavg`` is recorded before and after each part.

    python experiments/bench_recommend.py [--parts latency,deskdrop,large] [--models ...]
    python experiments/bench_recommend.py --parts saved --model-dir /tmp/feed-model-ease
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# single-threaded BLAS: the in-process latency goal is for one core per request
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.dataset import Dataset  # noqa: E402
from recsys.ids import IdMap  # noqa: E402
from recsys.models import MODELS, make_recommender  # noqa: E402
from recsys.models.hybrid import upgrade_params  # noqa: E402

DEFAULT_MODELS = ["popular", "recent_popular", "lightfm_cf", "lightfm_hybrid", "hybrid"]
LIGHTFM = {"lightfm_cf", "lightfm_hybrid", "hybrid"}
K = 20


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). ``ru_maxrss`` is not used: on Linux it
    carries over the parent's peak across fork/exec, so children would all report it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def _make_model(name: str, epochs: int | None, hybrid: dict | None = None):
    """Model ``name``; the hybrid with ``hybrid`` (nested parameters, old flat names
    upgraded); ``epochs`` for LightFM (the hybrid's ``taste__epochs``)."""
    params = upgrade_params(hybrid or {}) if name == "hybrid" else {}
    if epochs is not None and name in LIGHTFM:
        params["taste__epochs" if name == "hybrid" else "epochs"] = epochs
    return make_recommender(name, params)


def org_dataset(employees: int, content: int, per_employee: float = 50.0) -> Dataset:
    """A Dataset of a synthetic organisation's interactions (all events weight 1)."""
    from features.data.synthetic import OrgConfig, generate

    org = generate(
        OrgConfig(employees=employees, content=content, interactions_per_employee=per_employee)
    )
    events = org.tables["interactions"]
    content = org.tables["content"]
    stamps = events["timestamp"].dt.tz_convert(None).to_numpy()
    times = stamps.astype("datetime64[s]").astype(np.int64)
    # the whole catalogue (content without events too), timed by publication
    items = IdMap.from_ids(content["content_id"].tolist(), "content")
    published = content["published_at"].dt.tz_convert(None).to_numpy()
    dataset = Dataset.from_events(
        events["employee_id"].tolist(), events["content_id"].tolist(), times=times, items=items
    )
    item_times = published.astype("datetime64[s]").astype(np.int64)
    return Dataset(dataset.users, dataset.items, dataset.interactions, item_times=item_times)


def _save_dataset(dataset: Dataset, path: Path) -> None:
    ev = dataset.interactions
    np.savez(
        path,
        users=np.asarray(dataset.users.external, np.str_),
        items=np.asarray(dataset.items.external, np.str_),
        u=ev.users,
        i=ev.items,
        w=ev.weights,
        t=ev.times,
        item_times=dataset.item_times,
    )


def _load_dataset(path: Path) -> Dataset:
    from recsys.dataset import Interactions

    with np.load(path) as a:
        return Dataset(
            IdMap(a["users"].astype(object), "employee"),
            IdMap(a["items"].astype(object), "content"),
            Interactions(a["u"], a["i"], a["w"], a["t"]),
            item_times=a["item_times"],
        )


# -- parts --------------------------------------------------------------------------------
def latency_part(
    models: list[str],
    repeats: int,
    epochs: int | None,
    size: tuple[int, int] = (10_000, 10_000),
    hybrid: dict | None = None,
) -> dict:
    started = time.perf_counter()
    dataset = org_dataset(*size)
    out: dict = {
        "dataset": {
            "employees": len(dataset.users),
            "content": len(dataset.items),
            "events": len(dataset.interactions),
            "build_seconds": round(time.perf_counter() - started, 2),
        },
        "loadavg_before": _loadavg(),
        "models": {},
    }
    candidates = [str(c) for c in dataset.items.external]
    employees = [str(e) for e in dataset.users.external]
    rng = np.random.default_rng(0)
    picks = rng.choice(len(employees), size=repeats + 20, replace=True)
    half = [candidates[j] for j in np.sort(rng.permutation(len(candidates))[::2])]
    feed_users = (employees * (10_000 // len(employees) + 1))[:10_000]
    for name in models:
        model = _make_model(name, epochs, hybrid)
        t0 = time.perf_counter()
        model.fit(dataset)
        fit_s = time.perf_counter() - t0
        times, cpu = _single(model, employees, picks, candidates)
        half_times, half_cpu = _single(model, employees, picks, half)
        times_all = []
        for p in picks[:repeats]:  # default candidates (whole catalogue, no id list)
            t0 = time.perf_counter()
            model.recommend([employees[p]], K)
            times_all.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        model.recommend(feed_users, K)
        batch_s = time.perf_counter() - t0
        out["models"][name] = {
            "fit_seconds": round(fit_s, 2),
            "single_ms_10k_candidates": _percentiles(times),
            "single_cpu_ms_10k_candidates": _percentiles(cpu),
            "single_ms_half_candidates": _percentiles(half_times),
            "single_cpu_ms_half_candidates": _percentiles(half_cpu),
            "single_ms_catalogue": _percentiles(times_all),
            "components": list(getattr(model, "component_names_", [])),
            "batch_10k_employees_seconds": round(batch_s, 3),
            "epochs": epochs if name in LIGHTFM and epochs is not None else "default",
        }
        print(f"latency {name}: {out['models'][name]}", file=sys.stderr)
    out["loadavg_after"] = _loadavg()
    return out


def _single(
    model,
    employees: list[str],
    picks: np.ndarray,
    candidates: list[str],
    as_of: float | None = None,
    event: bool = False,
):
    """Wall and thread-CPU milliseconds of one-employee feeds (the first 20 are warm-up);
    ``event``: each timed call is one observed event then the next employee's feed."""
    times, cpu = [], []
    for n, p in enumerate(picks):
        c0, t0 = time.thread_time(), time.perf_counter()
        if event:
            model.observe([employees[p]], [candidates[n % len(candidates)]], [as_of])
        model.recommend([employees[p]], K, candidates=candidates, as_of=as_of)
        if n >= 20:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
    return times, cpu


def saved_part(folder: Path, repeats: int) -> dict:
    from recsys.base import Recommender

    manifest = json.loads((folder / "manifest.json").read_text())
    model = MODELS[manifest["model"]].load(folder)
    assert isinstance(model, Recommender)
    candidates = [str(c) for c in model.items_.external]
    employees = [str(e) for e in model.users_.external]
    rng = np.random.default_rng(0)
    picks = rng.choice(len(employees), size=repeats + 20, replace=True)
    half = [candidates[j] for j in np.sort(rng.permutation(len(candidates))[::2])]
    as_of = float(model.item_times_.max())
    out: dict = {
        "model_dir": str(folder),
        "employees": len(employees),
        "content": len(candidates),
        "components": [str(n) for n in getattr(model, "component_names_", [])],
        "loadavg_before": _loadavg(),
    }
    times, cpu = _single(model, employees, picks, candidates, as_of)
    half_times, half_cpu = _single(model, employees, picks, half, as_of)
    event_times, event_cpu = _single(model, employees, picks, candidates, as_of, event=True)
    out |= {
        "single_ms_all_candidates": _percentiles(times),
        "single_cpu_ms_all_candidates": _percentiles(cpu),
        "single_ms_half_candidates": _percentiles(half_times),
        "single_cpu_ms_half_candidates": _percentiles(half_cpu),
        "after_event_ms": _percentiles(event_times),
        "after_event_cpu_ms": _percentiles(event_cpu),
        "loadavg_after": _loadavg(),
    }
    print(f"saved {folder}: {out}", file=sys.stderr)
    return out


def _percentiles(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {
        "p50": round(float(np.percentile(a, 50)), 3),
        "p95": round(float(np.percentile(a, 95)), 3),
        "p99": round(float(np.percentile(a, 99)), 3),
        "n": len(a),
    }


def deskdrop_part(models: list[str]) -> dict:
    from training.evaluation import deskdrop

    shared = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))
    out: dict = {"loadavg_before": _loadavg(), "models": {}}
    dataset = _deskdrop_dataset(deskdrop, shared)
    out["dataset"] = {
        "employees": len(dataset.users),
        "content": len(dataset.items),
        "events": len(dataset.interactions),
    }
    for name in models:
        t0 = time.perf_counter()
        _make_model(name, None).fit(dataset)
        out["models"][name] = {"fit_seconds": round(time.perf_counter() - t0, 2)}
        print(f"deskdrop {name}: {out['models'][name]}", file=sys.stderr)
    out["loadavg_after"] = _loadavg()
    return out


def _deskdrop_dataset(deskdrop, shared: Path) -> Dataset:
    """The DeskDrop replay's training Dataset, built as ``deskdrop_benchmark`` does."""
    from training.evaluation.protocols import read_deskdrop_events

    events = read_deskdrop_events(shared / "deskdrop" / "users_interactions.csv.gz")
    log = deskdrop.weighted_log(events)
    return deskdrop.ReplaySetup.build(events, deskdrop.DEFAULT_SPLIT_AT, None, log).dataset


def large_part(models: list[str], epochs: int, serve: int, timeout: float) -> dict:
    started = time.perf_counter()
    dataset = org_dataset(100_000, 20_000)
    build_s = time.perf_counter() - started
    out: dict = {
        "dataset": {
            "employees": len(dataset.users),
            "content": len(dataset.items),
            "events": len(dataset.interactions),
            "build_seconds": round(build_s, 1),
        },
        "lightfm_epochs": epochs,
        "child_timeout_seconds": timeout,
        "loadavg_before": _loadavg(),
        "models": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-recommend-") as tmp:
        path = Path(tmp) / "org.npz"
        _save_dataset(dataset, path)
        del dataset
        for name in ["dataset_only", *models]:
            cmd = [
                sys.executable,
                __file__,
                "--child",
                name,
                "--child-data",
                str(path),
                "--large-epochs",
                str(epochs),
                "--serve",
                str(serve),
            ]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                out["models"][name] = {"error": f"not finished within {timeout} s"}
                print(f"large {name}: timeout", file=sys.stderr)
                continue
            if proc.returncode != 0:
                out["models"][name] = {"error": proc.stderr.strip().splitlines()[-3:]}
            else:
                out["models"][name] = json.loads(proc.stdout)
            print(f"large {name}: {out['models'][name]}", file=sys.stderr)
    out["loadavg_after"] = _loadavg()
    return out


def child(name: str, data: Path, epochs: int, serve: int) -> None:
    t0 = time.perf_counter()
    dataset = _load_dataset(data)
    result: dict = {"load_seconds": round(time.perf_counter() - t0, 2)}
    if name != "dataset_only":
        model = _make_model(name, epochs)
        t0 = time.perf_counter()
        model.fit(dataset)
        result["fit_seconds"] = round(time.perf_counter() - t0, 2)
        result["peak_rss_mb_after_fit"] = _peak_rss_mb()
        users = [str(u) for u in dataset.users.external[:serve]]
        t0 = time.perf_counter()
        model.recommend(users, K)
        result[f"batch_{serve}_employees_seconds"] = round(time.perf_counter() - t0, 3)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="latency,deskdrop,large")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--large-models", default="popular,recent_popular,lightfm_cf,hybrid")
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=None, help="LightFM epochs (latency)")
    parser.add_argument("--model-dir", type=Path, help="saved model for --parts saved")
    parser.add_argument("--latency-employees", type=int, default=10_000)
    parser.add_argument("--latency-content", type=int, default=10_000)
    parser.add_argument(
        "--hybrid",
        default="{}",
        help='Hybrid parameters (JSON, nested names), e.g. {"ease__max_items": 10000}',
    )
    parser.add_argument("--large-epochs", type=int, default=5)
    parser.add_argument("--serve", type=int, default=1000)
    parser.add_argument("--child-timeout", type=float, default=900)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.child_data), args.large_epochs, args.serve)
        return
    models = args.models.split(",")
    parts = args.parts.split(",")
    result: dict = {"benchmark": "recommend", "k": K, "cpu_count": os.cpu_count()}
    started = time.perf_counter()
    if "latency" in parts:
        size = (args.latency_employees, args.latency_content)
        result["latency"] = latency_part(
            models, args.repeats, args.epochs, size, json.loads(args.hybrid)
        )
    if "saved" in parts:
        if args.model_dir is None:
            parser.error("--parts saved needs --model-dir")
        result["saved"] = saved_part(args.model_dir, args.repeats)
    if "deskdrop" in parts:
        result["deskdrop"] = deskdrop_part(models)
    if "large" in parts:
        result["large"] = large_part(
            args.large_models.split(","), args.large_epochs, args.serve, args.child_timeout
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
