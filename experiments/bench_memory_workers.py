"""Benchmark: memory of the served service per BentoML worker, for 1 and 2 workers.

1. The synthetic organisation of ``bench_serving.py`` (default 10k employees, 5k content) in
   a SQLite store under ``--work``, one hybrid fitted on it (the ``quick`` training config),
   logged and registered as champion in an MLflow store there; reused when the folder
   already holds them for the same settings.
2. The saved model on disk (bytes), and in memory: a child process loads it with
   :func:`recsys.models.load_recommender` after importing the serving stack (RSS before and
   after); another child loads the text encoder (all-MiniLM-L6-v2 on torch) the same way.
3. Servers, one at a time, each run as users run it, ``advocacy serve --workers N`` (champion
   from the registry): for each N of ``--workers``, and once with ``ADVOCACY_SCORE_CACHE_MB=0``
   (no per-employee score rows; 1 worker); plus the trivial BentoML service
   (``experiments/trivial_service.py``), the framework's floor. Each server is measured once
   settled (every worker logged its score rows and the server's CPU use fell under
   ``--quiet`` percent of a core) and after ``--seconds`` of feeds at 4 clients over
   random employees (requests reach both workers): per process (the ``advocacy serve``
   command, BentoML's arbiter, each worker) RSS, PSS and USS from
   ``/proc/<pid>/smaps_rollup`` (PSS splits shared pages among the processes mapping them;
   USS is what the process alone holds, freed when it exits) and the peak RSS (VmHWM).

Prints one JSON document. Run it alone: other processes change nothing in RSS, but slow it.

    python experiments/bench_memory_workers.py [--employees 10000 --content 5000] [--work DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from organisation import SERVING, add_organisation_options, organisation_settings  # noqa: E402

from experiments.bench_serving import (  # noqa: E402
    ADMIN,
    TOKEN,
    _organisation,
    _register,
    free_port,
    idle_cpu_percent,
    load,
    wait_ready,
)

SERVE = "import typer; from training.commands.serve import serve; typer.run(serve)"
WORKER_MODULE = "_bentoml_impl.worker.service"
TRIVIAL = "experiments.trivial_service:TrivialService"
MB = 1 << 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_organisation_options(parser, SERVING)
    parser.add_argument("--workers", default="1,2", help="Worker counts, comma-separated.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Feeds at 4 clients.")
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--settle-timeout", type=float, default=600.0)
    parser.add_argument("--quiet", type=float, default=3.0)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench_memory_workers")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    return parser.parse_args()


# -- 1. organisation and model --------------------------------------------------------------
def prepare(args: argparse.Namespace) -> dict[str, object]:
    """The store, one saved model registered as champion; reused for the same settings."""
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    settings = organisation_settings(args)
    marker = work / "prepared.json"
    previous = json.loads(marker.read_text()) if marker.exists() else {}
    if previous.get("settings") == settings:
        return previous
    for name in ("store.db", "store.db-wal", "store.db-shm", "mlflow.db"):
        (work / name).unlink(missing_ok=True)
    started = time.perf_counter()
    store, end = _organisation(work, args)
    generated = time.perf_counter() - started
    folder, components = _fit(store, work, end)
    uri = f"sqlite:///{work / 'mlflow.db'}"
    versions = _register(uri, work, [folder])
    prepared = {
        "settings": settings,
        "components": components,
        "db_url": store.url,
        "tracking_uri": uri,
        "versions": versions,
        "model_folder": str(folder),
        "employees": sorted(store.key_set("advocates", "employee_id")),
        "seconds": {
            "generate_import": round(generated, 1),
            "all": round(time.perf_counter() - started, 1),
        },
    }
    marker.write_text(json.dumps(prepared))
    store.dispose()
    return prepared


def _fit(store, work: Path, end) -> tuple[Path, list[str]]:
    """One hybrid of the ``quick`` config (the first model of ``bench_serving.py``)."""
    from features.data.reader import StoreReader
    from features.pipeline import FeaturePipeline
    from features.snapshot import Snapshot
    from recsys.models import make_recommender
    from recsys.models.hybrid import upgrade_params
    from training.config import load_config
    from training.datasets import build_dataset, engagement_log

    config = load_config(ROOT / "experiments" / "configs" / "quick.yaml")
    snapshot = Snapshot.load(StoreReader(store), end)
    features = FeaturePipeline(cache=store).fit_transform(snapshot)
    log = engagement_log(snapshot, config.data.event_weights)
    dataset = build_dataset(snapshot, features, config.features, log)
    params = upgrade_params({**config.model_params("hybrid"), "random_state": 1})
    model = make_recommender("hybrid", params).fit(dataset)
    return model.save(work / "hybrid"), [str(n) for n in model.component_names_]


# -- 2. the model and the encoder in memory -------------------------------------------------
def rss_bytes() -> int:
    return psutil.Process().memory_info().rss


def child(kind: str, folder: str | None) -> None:
    """Print the RSS growth of loading the model (or the encoder) in a fresh process."""
    import serving.service  # noqa: F401  (the imports a worker has before its model)

    before = rss_bytes()
    started = time.perf_counter()
    if kind == "model":
        from recsys.models import load_recommender

        model = load_recommender(str(folder))
        shape = {"employees": len(model.users_.external), "items": len(model.items_.external)}
    else:
        from features.encoder import SentenceTransformerEncoder

        encoder = SentenceTransformerEncoder()
        encoder.encode(["A first text to load the weights."])
        shape = {"dimension": encoder.dimension}
    seconds = time.perf_counter() - started
    out = {"rss_before_mb": before / MB, "rss_after_mb": rss_bytes() / MB, **shape}
    out["load_seconds"] = seconds
    print(json.dumps(out))


def in_memory(kind: str, folder: str | None = None) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", kind, "--folder", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-3:]}  # type: ignore[dict-item]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    found["loaded_mb"] = found["rss_after_mb"] - found["rss_before_mb"]
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in found.items()}


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


# -- 3. servers -----------------------------------------------------------------------------
def smaps(pid: int) -> dict[str, float]:
    """RSS, PSS, USS (private clean + dirty) and swap of ``pid`` in MB, and its peak RSS."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])  # kB
    peak = re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return {
        "rss_mb": round(fields["Rss"] / 1024, 1),
        "pss_mb": round(fields["Pss"] / 1024, 1),
        "uss_mb": round((fields["Private_Clean"] + fields["Private_Dirty"]) / 1024, 1),
        "swap_mb": round(fields.get("Swap", 0) / 1024, 1),
        "peak_rss_mb": round(int(peak.group(1)) / 1024, 1) if peak else None,  # type: ignore[dict-item]
    }


def role(process: psutil.Process, root: int) -> str:
    line = " ".join(process.cmdline())
    if WORKER_MODULE in line:
        worker = re.search(r"--worker-id (\d+)", line)
        return f"worker {worker.group(1) if worker else '?'}"
    if process.pid == root and "typer.run(serve)" in line:
        return "advocacy serve"
    if "bentoml serve" in line or "-m bentoml" in line:
        return "bentoml arbiter"
    return "other: " + line[:80]


def memory(process: subprocess.Popen) -> dict[str, object]:
    """Every process of the server by role, and the totals over them."""
    root = psutil.Process(process.pid)
    rows: dict[str, dict[str, float]] = {}
    for member in (root, *root.children(recursive=True)):
        try:
            rows[role(member, root.pid)] = smaps(member.pid)
        except (psutil.NoSuchProcess, FileNotFoundError):
            continue
    workers = [row for name, row in rows.items() if name.startswith("worker")]
    total = {key: round(sum(row[key] for row in rows.values()), 1) for key in ("rss_mb", "pss_mb")}
    return {
        "processes": rows,
        "total": total,
        "per_worker_pss_mb": round(sum(w["pss_mb"] for w in workers) / max(len(workers), 1), 1),
        "per_worker_uss_mb": round(sum(w["uss_mb"] for w in workers) / max(len(workers), 1), 1),
    }


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def settle(process: subprocess.Popen, args: argparse.Namespace) -> float:
    """At least ``--settle`` seconds, then until a 2 s window of the server uses under
    ``--quiet`` percent of a core and its RSS moved by under 1 MB (the encoder load and the
    score rows run in the background after ``/readyz``). Seconds waited."""
    started = time.monotonic()
    time.sleep(args.settle)
    while time.monotonic() - started < args.settle + args.settle_timeout:
        before = total_rss(process)
        quiet = idle_cpu_percent(process, 2.0) < args.quiet
        if quiet and abs(total_rss(process) - before) < MB:
            break
    return round(time.monotonic() - started, 1)


def total_rss(process: subprocess.Popen) -> int:
    root = psutil.Process(process.pid)
    total = 0
    for member in (root, *root.children(recursive=True)):
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def measure(
    name: str,
    command: list[str],
    env: dict[str, str],
    employees: list[str],
    args: argparse.Namespace,
) -> dict[str, object]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = args.work / f"{name}.log"
    process = start([*command, "--port", str(port)], env, log)
    try:
        wait_ready(url, process)
        result: dict[str, object] = {"settle_seconds": settle(process, args)}
        result["settled"] = memory(process)
        load_result = asyncio.run(load(url, 4, args.seconds, employees, 20))
        result["feeds"] = {k: load_result[k] for k in ("requests", "throughput_rps", "errors")}
        result["after_feeds"] = memory(process)
        return result
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    args = parse_args()
    if args.child:
        child(args.child, args.folder)
        return
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the server on the way out
    started = time.perf_counter()
    prepared = prepare(args)
    folder = Path(str(prepared["model_folder"]))
    employees = list(prepared["employees"])  # type: ignore[call-overload]
    report: dict[str, object] = {
        "benchmark": "memory_workers",
        "organisation": prepared["settings"],
        "components": prepared["components"],
        "model_on_disk_mb": round(folder_bytes(folder) / MB, 1),
        "model_in_memory": in_memory("model", str(folder)),
        "encoder_in_memory": in_memory("encoder"),
    }
    print(json.dumps(report), file=sys.stderr)
    env = {
        **os.environ,
        "ADVOCACY_DB_URL": str(prepared["db_url"]),
        "MLFLOW_TRACKING_URI": str(prepared["tracking_uri"]),
        "ADVOCACY_TOKENS": f"{TOKEN}:frontend,{ADMIN}:admin",
        "ADVOCACY_DATA_DIR": str(args.work),
        "BENTOML_HOME": str(args.work / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
        "OPENBLAS_NUM_THREADS": "1",
    }
    for name in ("ADVOCACY_WORKERS", "ADVOCACY_SCORE_CACHE_MB", "BENTOML_CONFIG_OVERRIDES"):
        env.pop(name, None)
    serve = [sys.executable, "-c", SERVE, "--host", "127.0.0.1"]
    trivial = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "experiments.trivial_service:TrivialService",
    ]
    trivial += ["--host", "127.0.0.1", "--working-dir", str(ROOT)]
    runs: dict[str, object] = {}
    runs["trivial"] = measure("trivial", trivial, env, employees, args)
    print(json.dumps({"trivial": runs["trivial"]}), file=sys.stderr)
    for workers in (int(n) for n in args.workers.split(",")):
        name = f"advocacy_{workers}_workers"
        command = [*serve, "--workers", str(workers)]
        runs[name] = measure(name, command, env, employees, args)
        print(json.dumps({name: runs[name]}), file=sys.stderr)
    no_rows = {**env, "ADVOCACY_SCORE_CACHE_MB": "0"}
    name = "advocacy_1_worker_no_score_rows"
    runs[name] = measure(name, [*serve, "--workers", "1"], no_rows, employees, args)
    report["servers"] = runs
    report["cpu_count"] = os.cpu_count()
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
