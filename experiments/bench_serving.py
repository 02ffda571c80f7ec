"""Serving benchmark: feed throughput and latency against a trivial BentoML service, then a
live champion promotion and new content under load.

1. A synthetic organisation (default 10k employees, 5k content) in a SQLite store under
   ``--work``, two hybrid models fitted on it (the ``quick`` training config, two seeds),
   logged and registered in an MLflow store there (version 1 is champion). Reused when the
   folder already holds them for the same settings. The report lists the models'
   components: each swap run adds ``--new-content`` items to a reused store, and above
   ``ease__max_items`` (5,000) the hybrid leaves EASE out (``--model-param
   ease__max_items=6000`` keeps it).
2. For each worker count of ``--workers`` (BentoML workers per service, set through
   ``BENTOML_CONFIG_OPTIONS``): ``bentoml serve`` of ``serving.service:AdvocacyService`` once
   per feed kernel of ``--kernels`` (``ADVOCACY_FEED_KERNEL``: the compiled kernel and the
   numpy reference, side by side; champion from the registry, refresh intervals at the
   service's defaults) and of ``experiments.trivial_service:TrivialService`` on free ports;
   once each has settled (at least ``--settle`` seconds, then until its background work is
   done: see :func:`settle`), its CPU use while idle (its pollers) over ``--idle`` seconds.
3. For each concurrency level (1, 4, 16 clients, ``--seconds`` each, after a warm-up), every
   service in turn: requests/s, p50/p99 latency (ms), errors, and the server's CPU time per
   request (its processes, from the OS: steadier than requests/s when the machine's speed
   drifts); each advocacy server's ratios to the trivial one. The seconds are split in
   ``--rounds`` rounds, the services taking turns, so that a slower minute of a shared
   machine hits them all. Clients are asyncio tasks of
   this process on the same machine (they compete with the servers for the CPU, equally).
4. ``--swap-seconds`` (60) at 4 clients on a fresh advocacy server (the first kernel, the
   same worker count) that polls the alias every ``--swap-model-refresh`` and the catalogue
   every ``--swap-catalogue-refresh`` seconds; a quarter in, version 2 is promoted to
   champion; half-way, ``--new-content`` approved items are written to the store. Counts
   failed requests, when the new version and the new content were first seen.

Prints one JSON document. Timings depend on the machine and its load: run it alone.

    python experiments/bench_serving.py [--employees 10000 --content 5000] [--work DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from organisation import (  # noqa: E402
    SERVING,
    add_organisation_options,
    organisation_config,
    organisation_settings,
)

TOKEN = "bench-frontend-token-0123456789"
ADMIN = "bench-admin-token-0123456789"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_organisation_options(parser, SERVING)
    parser.add_argument("--levels", default="1,4,16", help="Concurrent clients, comma-separated.")
    parser.add_argument(
        "--kernels",
        default="numba,numpy",
        help="Feed kernels (ADVOCACY_FEED_KERNEL), one advocacy server each, comma-separated.",
    )
    parser.add_argument(
        "--workers", default="1", help="BentoML workers per service, comma-separated runs."
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="Per level and service.")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Each level's seconds split in this many rounds, the services taking turns.",
    )
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--settle",
        type=float,
        default=20.0,
        help="Least seconds between ready and the first load (the service loads its text "
        "encoder and fills its score rows in the background after it is ready); then it "
        "waits, up to --settle-timeout, until a server uses under --quiet percent of a core.",
    )
    parser.add_argument("--settle-timeout", type=float, default=180.0)
    parser.add_argument("--quiet", type=float, default=2.0)
    parser.add_argument("--swap-seconds", type=float, default=60.0, help="0 skips the swap run.")
    parser.add_argument("--new-content", type=int, default=20)
    parser.add_argument(
        "--swap-model-refresh",
        type=float,
        default=2.0,
        help="Alias poll interval (s) of the swap run's server (the levels use the default).",
    )
    parser.add_argument(
        "--swap-catalogue-refresh",
        type=float,
        default=5.0,
        help="Catalogue refresh interval (s) of the swap run's server.",
    )
    parser.add_argument(
        "--idle", type=float, default=10.0, help="Seconds of idle CPU measured before the load."
    )
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench_serving")
    parser.add_argument(
        "--model-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Override a hybrid parameter (nested name, JSON value), e.g. ease=null or "
        "taste__epochs=10; repeatable (flat names of older hybrids are upgraded).",
    )
    return parser.parse_args()


def model_params(args: argparse.Namespace) -> dict[str, object]:
    """``--model-param`` overrides as the hybrid's nested parameters (flat names of hybrids
    before the component redesign, e.g. ``ease_max_items`` or ``ease=false``, upgraded)."""
    from recsys.models.hybrid import upgrade_params

    params: dict[str, object] = {}
    for item in args.model_param:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--model-param {item!r}: expected KEY=VALUE")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return upgrade_params(params)


# -- 1. data and models ---------------------------------------------------------------------
def prepare(args: argparse.Namespace) -> dict[str, object]:
    """The store, two saved models and the registry; reused if built with the same settings."""
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    settings = organisation_settings(args)
    marker = work / "prepared.json"
    params = model_params(args)
    previous = json.loads(marker.read_text()) if marker.exists() else {}
    if previous.get("settings") == settings and previous.get("model_params", {}) == params:
        return previous
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if previous.get("settings") == settings:  # same organisation: keep the store (and cache)
        from features.data.store import Store

        store, end = Store.open(str(previous["db_url"])), datetime.fromisoformat(previous["end"])
    else:
        for name in ("store.db", "store.db-wal", "store.db-shm", "mlflow.db"):
            (work / name).unlink(missing_ok=True)
        store, end = _organisation(work, args)
    seconds["generate_import"] = time.perf_counter() - started
    started = time.perf_counter()
    folders, components = _fit_models(store, work, end, params)
    seconds["features_fit_two_models"] = time.perf_counter() - started
    uri = f"sqlite:///{work / 'mlflow.db'}"
    started = time.perf_counter()
    versions = _register(uri, work, folders)
    seconds["register"] = time.perf_counter() - started
    prepared = {
        "settings": settings,
        "model_params": params,
        "components": components,
        "db_url": store.url,
        "tracking_uri": uri,
        "versions": versions,
        "employees": sorted(store.key_set("advocates", "employee_id")),
        "end": end.isoformat(),
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }
    marker.write_text(json.dumps(prepared))
    store.dispose()
    return prepared


def _organisation(work: Path, args: argparse.Namespace):
    from features.data.importer import import_path
    from features.data.store import Store
    from features.data.synthetic import generate, write
    from features.data.validation import ValidationContext

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    config = organisation_config(args, seed=0, end=end)
    write(generate(config), work / "org")
    store = Store.open(f"sqlite:///{work / 'store.db'}")
    report = import_path(store, work / "org", context=ValidationContext(datetime.now(UTC)))
    print(f"imported {report.to_dict()['accepted']}", file=sys.stderr)
    return store, end


def _fit_models(store, work: Path, end: datetime, overrides: dict) -> tuple[list[Path], list[str]]:
    """The two saved models and their components (EASE is left out above
    ``ease__max_items``: each swap run adds ``--new-content`` items to a reused store)."""
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
    folders = []
    for seed in (1, 2):
        # upgraded together: a component left out drops the config's settings of it
        params = upgrade_params(
            {**config.model_params("hybrid"), **overrides, "random_state": seed}
        )
        model = make_recommender("hybrid", params).fit(dataset)
        folders.append(model.save(work / f"hybrid-{seed}"))
        components = [str(n) for n in model.component_names_]
        print(f"fitted model {seed}: {components}", file=sys.stderr)
    return folders, components


def _register(uri: str, work: Path, folders: list[Path]) -> list[str]:
    from mlflow.tracking import MlflowClient

    from training.registry import RECOMMENDER, Registry, make_client

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    found = client.get_experiment_by_name("bench-serving")
    experiment = (
        found.experiment_id
        if found is not None
        else client.create_experiment("bench-serving", (work / "artifacts").as_uri())
    )
    registry = Registry(make_client(uri))
    versions = []
    for j, folder in enumerate(folders):
        run = client.create_run(experiment)
        client.log_artifacts(run.info.run_id, str(folder), "recommender")
        client.set_terminated(run.info.run_id)
        versions.append(registry.register(RECOMMENDER, run.info.run_id, "recommender"))
        if j == 0:
            registry.promote(RECOMMENDER, versions[0], reason="bench: first champion")
    return versions


def reset_champion(prepared: dict) -> None:
    """The first model is champion when the servers start (a reused run moved it)."""
    from training.registry import RECOMMENDER, Registry, make_client

    registry = Registry(make_client(str(prepared["tracking_uri"])))
    current = registry.champion_version(RECOMMENDER)
    first = prepared["versions"][0]
    if current is None or str(current.version) != first:
        registry.promote(RECOMMENDER, first, reason="bench: reset before the run")


# -- 2. servers -----------------------------------------------------------------------------
def start(target: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "bentoml", "serve", target, "--port", str(port)]
    command += ["--host", "127.0.0.1", "--working-dir", str(ROOT)]
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url}: not ready after {timeout} s")


def serve(
    servers: dict[str, subprocess.Popen],
    name: str,
    target: str,
    env: dict[str, str],
    args: argparse.Namespace,
    log: str | None = None,
) -> str:
    """Start ``bentoml serve target`` on a free port as ``servers[name]``, its output in
    ``--work``/``log`` (default ``name.log``); its URL."""
    port = free_port()
    servers[name] = start(target, port, env, args.work / (log or f"{name}.log"))
    return f"http://127.0.0.1:{port}"


def with_workers(env: dict[str, str], workers: int) -> dict[str, str]:
    """``env`` with both services' BentoML worker count set (the services' own default
    is one)."""
    options = f"services.advocacy.workers={workers} services.trivial.workers={workers}"
    return {**env, "BENTOML_CONFIG_OPTIONS": options}


def kernel_env(env: dict[str, str], kernel: str) -> dict[str, str]:
    return {**env, "ADVOCACY_FEED_KERNEL": kernel}


def server_name(kernel: str, kernels: list[str]) -> str:
    """``advocacy`` for the first kernel, ``advocacy-<kernel>`` for the others."""
    return "advocacy" if kernel == kernels[0] else f"advocacy-{kernel}"


def stop(servers: dict[str, subprocess.Popen]) -> None:
    for process in servers.values():
        process.terminate()
    for process in servers.values():
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    servers.clear()


def settle(process: subprocess.Popen, args: argparse.Namespace) -> float:
    """Wait ``--settle`` seconds, then until the server's background work (encoder load,
    score rows) is done: a 2 s window under ``--quiet`` percent of a core. Seconds waited."""
    started = time.monotonic()
    time.sleep(args.settle)
    while time.monotonic() - started < args.settle + args.settle_timeout:
        if idle_cpu_percent(process, 2.0) < args.quiet:
            break
    return round(time.monotonic() - started, 1)


def settle_all(servers: dict[str, subprocess.Popen], args: argparse.Namespace) -> dict:
    """:func:`settle` for servers started together: ``--settle`` seconds once, then each
    until it is quiet. Seconds waited per server."""
    started = time.monotonic()
    time.sleep(args.settle)
    waited = {}
    for name, process in servers.items():
        while time.monotonic() - started < args.settle + args.settle_timeout:
            if idle_cpu_percent(process, 2.0) < args.quiet:
                break
        waited[name] = round(time.monotonic() - started, 1)
    return waited


def idle_cpu_percent(process: subprocess.Popen, seconds: float) -> float:
    """The server's CPU use without requests (its pollers and refreshes), % of one core."""
    before = server_cpu_seconds(process)
    time.sleep(seconds)
    return round(100 * (server_cpu_seconds(process) - before) / seconds, 2)


def server_cpu_seconds(process: subprocess.Popen) -> float:
    """User + system CPU seconds of a ``bentoml serve`` process and its workers so far."""
    root = psutil.Process(process.pid)
    total = 0.0
    for member in (root, *root.children(recursive=True)):
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- 3. load --------------------------------------------------------------------------------
async def load(
    url: str,
    clients: int,
    seconds: float,
    employees: list[str],
    k: int,
    *,
    events: list[tuple[float, str]] | None = None,
) -> dict[str, object]:
    """``clients`` tasks posting feeds back to back for ``seconds``; latencies and errors."""
    latencies: list[float] = []
    errors: list[str] = []
    versions: list[tuple[float, str]] = []
    rng = np.random.default_rng(clients)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    stop = started + seconds

    async def client(session: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop:
            body = {"employee_id": employees[int(rng.integers(len(employees)))], "k": k}
            sent = time.perf_counter()
            try:
                response = await session.post("/feed", json=body, headers=headers)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                continue
            latencies.append(time.perf_counter() - sent)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:120]}")
            elif events is not None:
                version = response.json()["model_version"]
                if not versions or versions[-1][1] != version:
                    versions.append((round(time.perf_counter() - started, 2), version))

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    values = np.asarray(latencies) * 1000
    result: dict[str, object] = {
        "clients": clients,
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(values, 50)), 2) if len(values) else None,
        "p99_ms": round(float(np.percentile(values, 99)), 2) if len(values) else None,
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
    }
    if events is not None:  # each version's first answer, and when it was last left
        seen: dict[str, dict[str, float | None]] = {}  # (workers swap apart: it may return)
        for j, (at, version) in enumerate(versions):
            entry = seen.setdefault(version, {"first_s": at, "left_s": None})
            if j + 1 < len(versions):
                entry["left_s"] = versions[j + 1][0]
        result["versions_seen"] = seen
    result["_latencies_ms"] = values
    result["_seconds"] = elapsed
    return result


def merged(parts: list[dict]) -> dict[str, object]:
    """One level's result from its rounds: requests and errors summed, requests/s over
    the time of every round, percentiles over every latency."""
    values = np.concatenate([p["_latencies_ms"] for p in parts])
    requests = sum(int(p["requests"]) for p in parts)
    seconds = sum(float(p["_seconds"]) for p in parts)
    return {
        "clients": parts[0]["clients"],
        "requests": requests,
        "throughput_rps": round(requests / seconds, 1),
        "p50_ms": round(float(np.percentile(values, 50)), 2) if len(values) else None,
        "p99_ms": round(float(np.percentile(values, 99)), 2) if len(values) else None,
        "errors": sum(int(p["errors"]) for p in parts),
        "error_samples": sorted({e for p in parts for e in p["error_samples"]})[:5],
        "rounds_rps": [p["throughput_rps"] for p in parts],
    }


def levels(
    args: argparse.Namespace,
    urls: dict[str, str],
    employees: list[str],
    servers: dict[str, subprocess.Popen],
) -> list[dict]:
    """Each level on each service; besides requests/s, the server's CPU time per request
    (its processes, from the OS): steadier than requests/s on a machine whose speed drifts
    between runs, and free of the client's share of the CPU."""
    rows = []
    for clients in (int(c) for c in args.levels.split(",")):
        row: dict[str, object] = {"clients": clients}
        parts: dict[str, list[dict]] = {name: [] for name in urls}
        spent = dict.fromkeys(urls, 0.0)
        for url in urls.values():
            asyncio.run(load(url, clients, args.warmup, employees, args.k))
        for _ in range(args.rounds):  # interleaved: the machine's drift hits every service
            for name, url in urls.items():
                before = server_cpu_seconds(servers[name])
                seconds = args.seconds / args.rounds
                parts[name].append(asyncio.run(load(url, clients, seconds, employees, args.k)))
                spent[name] += server_cpu_seconds(servers[name]) - before
        for name in urls:
            result = merged(parts[name])
            result["server_cpu_ms_per_request"] = round(
                1000 * spent[name] / max(int(result["requests"]), 1),  # type: ignore[call-overload]
                3,
            )
            row[name] = result
        trivial = row["trivial"]
        for name in urls:
            if name == "trivial":
                continue
            advocacy = row[name]
            suffix = name.removeprefix("advocacy")
            row[f"throughput_ratio{suffix}"] = round(
                advocacy["throughput_rps"] / max(trivial["throughput_rps"], 1e-9),  # type: ignore[index]
                3,
            )
            row[f"server_cpu_ratio{suffix}"] = round(
                advocacy["server_cpu_ms_per_request"]  # type: ignore[index]
                / max(trivial["server_cpu_ms_per_request"], 1e-9),  # type: ignore[index]
                3,
            )
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    return rows


def batch_cost(url: str, employees: list[str], k: int, size: int = 128, rounds: int = 5) -> dict:
    """Milliseconds per employee: ``/feeds_batch`` of ``size`` employees vs ``/feed`` one by one."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    rng = np.random.default_rng(7)
    with httpx.Client(base_url=url, timeout=120, headers=headers) as session:
        batch, single = [], []
        for _ in range(rounds):
            chosen = [employees[int(j)] for j in rng.integers(len(employees), size=size)]
            started = time.perf_counter()
            answer = session.post("/feeds_batch", json={"employee_ids": chosen, "k": k})
            answer.raise_for_status()
            batch.append((time.perf_counter() - started) / size)
            started = time.perf_counter()
            for employee in chosen:
                session.post("/feed", json={"employee_id": employee, "k": k}).raise_for_status()
            single.append((time.perf_counter() - started) / size)
    return {
        "batch_size": size,
        "feeds_batch_ms_per_employee": round(1000 * float(np.median(batch)), 2),
        "feed_ms_per_employee_sequential": round(1000 * float(np.median(single)), 2),
    }


# -- 4. promotion and new content under load --------------------------------------------------
def swap_run(args: argparse.Namespace, url: str, prepared: dict, employees: list[str]) -> dict:
    import threading

    from features.data.store import Store
    from training.registry import RECOMMENDER, Registry, make_client

    marks: dict[str, float] = {}
    started = time.perf_counter()
    new_ids = [f"bench-new-{int(time.time())}-{j}" for j in range(args.new_content)]

    def promote() -> None:
        time.sleep(args.swap_seconds * 0.25)
        registry = Registry(make_client(str(prepared["tracking_uri"])))
        registry.promote(RECOMMENDER, prepared["versions"][1], reason="bench: swap under load")
        marks["promoted_at_s"] = round(time.perf_counter() - started, 2)
        time.sleep(args.swap_seconds * 0.25)
        store = Store.open(str(prepared["db_url"]))
        _add_content(store, new_ids)
        store.dispose()
        marks["content_added_at_s"] = round(time.perf_counter() - started, 2)
        deadline = time.perf_counter() + args.swap_seconds * 0.45
        headers = {"Authorization": f"Bearer {TOKEN}"}
        while time.perf_counter() < deadline:
            body = {"employee_id": employees[0], "k": 100, "filters": {"content_types": ["bench"]}}
            answer = httpx.post(f"{url}/feed", json=body, headers=headers, timeout=30)
            if answer.status_code == 200 and answer.json()["items"]:
                marks["content_live_at_s"] = round(time.perf_counter() - started, 2)
                return
            time.sleep(0.5)

    helper = threading.Thread(target=promote)
    helper.start()
    result = asyncio.run(load(url, 4, args.swap_seconds, employees, args.k, events=[]))
    helper.join()
    return {**{k: v for k, v in result.items() if not k.startswith("_")}, **marks}


def _add_content(store, ids: list[str]) -> None:
    from features.data.importer import Importer
    from features.data.sources import TableChunk
    from features.data.validation import ValidationContext

    now = datetime.now(UTC)
    frame = pd.DataFrame(
        {
            "content_id": ids,
            "title": [
                f"Benchmark launch note {j}: what is new in our platform" for j in range(len(ids))
            ],
            "body": ["New features for customers in every region."] * len(ids),
            "content_type": ["bench"] * len(ids),
            "language": ["en"] * len(ids),
            "topics": ["product"] * len(ids),
            "published_at": [(now - timedelta(minutes=1)).isoformat()] * len(ids),
            "approval_status": ["approved"] * len(ids),
        }
    )
    chunk = TableChunk("content", frame.astype(object), "bench", 1)
    report = Importer(store, ValidationContext(now)).run([iter([chunk])])
    if report.rejections:
        raise RuntimeError(report.to_dict()["rejections"])


def run_workers(
    args: argparse.Namespace,
    env: dict[str, str],
    prepared: dict,
    employees: list[str],
    kernels: list[str],
    workers: int,
) -> dict[str, object]:
    """Steps 2-4 with ``workers`` BentoML workers per service."""
    env = with_workers(env, workers)
    reset_champion(prepared)
    servers: dict[str, subprocess.Popen] = {}
    target = "serving.service:AdvocacyService"
    try:
        urls = {
            server_name(kernel, kernels): serve(
                servers, server_name(kernel, kernels), target, kernel_env(env, kernel), args
            )
            for kernel in kernels
        }
        urls["trivial"] = serve(
            servers, "trivial", "experiments.trivial_service:TrivialService", env, args
        )
        for name, url in urls.items():
            wait_ready(url, servers[name])
        settled = settle_all(servers, args)
        idle = {name: idle_cpu_percent(process, args.idle) for name, process in servers.items()}
        memory = {name: server_rss_mb(process) for name, process in servers.items()}
        rows = levels(args, urls, employees, servers)
        batch = batch_cost(urls["advocacy"], employees, args.k)
        swap = None
        if args.swap_seconds:
            stop(servers)
            fast = {
                **kernel_env(env, kernels[0]),
                "ADVOCACY_MODEL_REFRESH": str(args.swap_model_refresh),
                "ADVOCACY_CATALOGUE_REFRESH": str(args.swap_catalogue_refresh),
            }
            reset_champion(prepared)
            url = serve(servers, "advocacy", target, fast, args, log="advocacy-swap.log")
            wait_ready(url, servers["advocacy"])
            settle(servers["advocacy"], args)
            swap = swap_run(args, url, prepared, employees)
    finally:
        stop(servers)
    return {
        "workers": workers,
        "settle_seconds": settled,
        "idle_server_cpu_percent": idle,
        "server_rss_mb": memory,
        "levels": rows,
        "batch": batch,
        "swap_under_load": swap,
    }


def server_rss_mb(process: subprocess.Popen) -> float:
    """Resident memory of a ``bentoml serve`` process and its workers (MB, shared pages
    counted in each process)."""
    root = psutil.Process(process.pid)
    total = 0
    for member in (root, *root.children(recursive=True)):
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return round(total / (1 << 20), 1)


def main() -> None:
    args = parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    started = time.perf_counter()
    prepared = prepare(args)
    reset_champion(prepared)
    employees = list(prepared["employees"])  # type: ignore[arg-type]
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
    for name in ("ADVOCACY_MODEL_REFRESH", "ADVOCACY_CATALOGUE_REFRESH"):
        env.pop(name, None)  # the levels measure the service as configured by default
    kernels = [k.strip() for k in args.kernels.split(",") if k.strip()]
    runs = [
        run_workers(args, env, prepared, employees, kernels, int(w))
        for w in args.workers.split(",")
    ]
    report = {
        "benchmark": "serving",
        "organisation": prepared["settings"],
        "model_params": prepared.get("model_params", {}),
        "components": prepared.get("components"),
        "prepare_seconds": prepared["seconds"],
        "kernels": kernels,
        "runs": runs,
        "goal": "advocacy >= 0.7x trivial throughput and p99 <= 50 ms at 4 clients; 0 failures",
        "cpu_count": os.cpu_count(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
