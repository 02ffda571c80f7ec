"""Console benchmark: how long each program-manager console page takes to answer, next to
the API calls behind it, on one synthetic organisation served by ``advocacy serve``.

1. Preparation (each step kept in ``--work``/prepared.json and skipped when already done
   for the same settings): the organisation of bench_generate_import.py (default 100,000
   employees, 20,000 content, 50 events each over 180 days, with clicks and conversions)
   ending at this hour, imported into a SQLite store; the default attribution model's
   credits saved (as an import job would; otherwise the first report computes them); the
   ``quick`` config's hybrid fitted through the training pipeline's functions and saved;
   the influencer scorer fitted and saved; its score history backfilled (``advocacy
   influencers history``: every 14 days over the last 90). Generation, import, attribution
   and history run as ``advocacy`` processes (seconds and peak memory each); the fits run
   in one child process of this script.
2. ``advocacy serve --db --model-dir --influencer-dir`` on a free port, tokens through
   ``ADVOCACY_TOKENS``; after ``/readyz``, at least ``--settle`` seconds and then until the
   server is idle (its background work done).
3. A console session (the sign-in form, its CSRF token and pre-session cookie), then every
   page: the first answer (cold: the first request of that URL; a candidates page asked
   before the service has scored the organisation waits for that) and ``--repeat`` warm
   answers (best, median, p90, max and every one, in seconds), status and body size (the
   last body of each is kept in ``--work``/answers). The same for the baseline: ``GET
   /livez`` (trivial) and the API calls the pages are built on (``/influencers`` top 50,
   ``/analytics`` by department and week over 90 days, ``/feed`` k=10), after the pages.
4. The server's memory after the run (RSS and PSS summed over its process tree) and the
   largest summed RSS seen while measuring.

Prints one JSON document on stdout and a table on stderr. Timings depend on the machine and
its load: run it alone.

    python experiments/bench_console.py [--employees 100000] [--work /tmp/bench_console]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import psutil
from bench_generate_import import _import
from bench_serving import free_port, server_cpu_seconds, settle, wait_ready
from organisation import LARGE, add_organisation_options, generate_arguments, organisation_settings
from stages import run_stage

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = "bench-console-frontend-0123456789"
MANAGER = "bench-console-manager-0123456789"
STEPS = ("generate", "import", "attribution", "recommender", "influencers", "history")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_organisation_options(parser, LARGE, seed=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_console"))
    parser.add_argument("--repeat", type=int, default=10, help="Warm answers per page.")
    parser.add_argument("--settle", type=float, default=10.0, help="Least seconds after ready.")
    parser.add_argument("--settle-timeout", type=float, default=300.0)
    parser.add_argument("--quiet", type=float, default=2.0, help="Idle: under %% of a core.")
    parser.add_argument("--timeout", type=float, default=600.0, help="Per request, seconds.")
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# -- 1. preparation -----------------------------------------------------------------------
def settings_of(args: argparse.Namespace) -> dict[str, object]:
    return organisation_settings(args)


def prepare(args: argparse.Namespace) -> dict:
    """Every missing step of the preparation, each recorded in prepared.json as it ends."""
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    marker = work / "prepared.json"
    state = json.loads(marker.read_text()) if marker.exists() else {}
    if state.get("settings") != settings_of(args):
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        state = {"settings": settings_of(args), "end": end.isoformat(), "steps": {}}
        for leftover in work.glob("store.db*"):
            leftover.unlink()
    state["db_url"] = f"sqlite:///{work / 'store.db'}"
    for step in STEPS:
        if step in state["steps"]:
            continue
        print(f"prepare: {step}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        result = PREPARE[step](args, state)
        state["steps"][step] = {"seconds": round(time.perf_counter() - started, 1), **result}
        marker.write_text(json.dumps(state, indent=2))
    return state


def _generate(args: argparse.Namespace, state: dict) -> dict:
    """bench_generate_import's organisation, ending at this hour (the console's default
    period is the 90 days to today, and feeds rank as of now)."""
    org = args.work / "org"
    end = datetime.fromisoformat(state["end"]).strftime("%Y-%m-%dT%H:%M:%S")
    flat = [*generate_arguments(args), "--end", end]
    stage = run_stage(["data", "generate", "--out", str(org), *flat])
    stage.pop("stdout")
    return stage


def _import_step(args: argparse.Namespace, state: dict) -> dict:
    return _import(args.work / "org", state["db_url"])


def _attribution(args: argparse.Namespace, state: dict) -> dict:
    """The default model's credits, saved (what ``current_credits`` finds up to date)."""
    stage = run_stage(["attribution", "--db", state["db_url"], "--save", "--json", "--top", "1"])
    payload = json.loads(str(stage.pop("stdout")))
    return {**stage, "model": payload.get("model"), "conversions": payload["totals"]["conversions"]}


def _recommender(args: argparse.Namespace, state: dict) -> dict:
    """The ``quick`` config's hybrid through the training pipeline's functions (bench_serving)."""
    from features.data.reader import StoreReader
    from features.data.store import Store
    from features.pipeline import FeaturePipeline
    from features.snapshot import Snapshot
    from recsys.models import make_recommender
    from training.config import load_config
    from training.datasets import build_dataset, engagement_log

    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        seconds[name] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()

    config = load_config(ROOT / "experiments" / "configs" / "quick.yaml")
    store = Store.open(state["db_url"])
    snapshot = Snapshot.load(StoreReader(store), datetime.fromisoformat(state["end"]))
    lap("snapshot")
    features = FeaturePipeline(cache=store).fit_transform(snapshot)
    lap("features")
    log = engagement_log(snapshot, config.data.event_weights)
    dataset = build_dataset(snapshot, features, config.features, log)
    lap("dataset")
    params = config.model_params("hybrid")
    model = make_recommender("hybrid", params).fit(dataset)
    lap("fit")
    model.save(args.work / "model")
    store.dispose()
    return {
        "how": "quick config: hybrid via FeaturePipeline + build_dataset",
        "params": params,
        "components": [str(name) for name in model.component_names_],
        "events": len(log),
        "seconds_by_stage": seconds,
    }


def _influencers(args: argparse.Namespace, state: dict) -> dict:
    from features.data.reader import StoreReader
    from features.data.store import Store
    from features.snapshot import Snapshot
    from training.influence_job import fit_influence

    store = Store.open(state["db_url"])
    scorer = fit_influence(Snapshot.load(StoreReader(store), datetime.fromisoformat(state["end"])))
    scorer.save(args.work / "influencers")
    store.dispose()
    return {"training": scorer.training_}


def _history(args: argparse.Namespace, state: dict) -> dict:
    """``advocacy influencers history`` with the saved scorer (its version as served)."""
    command = ["influencers", "history", "--db", state["db_url"], "--json"]
    command += ["--model", str(args.work / "influencers"), "--as-of", state["end"]]
    stage = run_stage(command)
    payload = json.loads(str(stage.pop("stdout")))
    return {**stage, "model_version": payload["model_version"], "points": len(payload["points"])}


PREPARE: dict[str, Callable[[argparse.Namespace, dict], dict]] = {
    "generate": _generate,
    "import": _import_step,
    "attribution": _attribution,
    "recommender": _recommender,
    "influencers": _influencers,
    "history": _history,
}


def prepare_in_child(args: argparse.Namespace) -> dict:
    """:func:`prepare` in a child process (the fits' memory is returned when it ends)."""
    command = [sys.executable, __file__, "--prepare-only", *sys.argv[1:]]
    subprocess.run(command, check=True)
    return json.loads((args.work / "prepared.json").read_text())


# -- 2. the server ------------------------------------------------------------------------
def start_server(args: argparse.Namespace, state: dict, port: int) -> subprocess.Popen:
    """``advocacy serve`` (``training.commands.serve.serve``) of the prepared store and models."""
    env = {
        **os.environ,
        "ADVOCACY_TOKENS": f"{FRONTEND}:frontend,{MANAGER}:manager",
        "BENTOML_HOME": str(args.work / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
        "OPENBLAS_NUM_THREADS": "1",
    }
    serve = "import typer; from training.commands.serve import serve; typer.run(serve)"
    command = [sys.executable, "-c", serve, "--port", str(port), "--host", "127.0.0.1"]
    command += ["--db", state["db_url"], "--model-dir", str(args.work / "model")]
    command += ["--influencer-dir", str(args.work / "influencers")]
    with (args.work / "server.log").open("w") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT)
        )


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()


def tree(process: subprocess.Popen) -> list[psutil.Process]:
    root = psutil.Process(process.pid)
    return [root, *root.children(recursive=True)]


def memory(process: subprocess.Popen) -> dict[str, object]:
    """RSS and PSS (MB) summed over the server's processes (PSS shares pages fairly)."""
    rss = pss = 0.0
    parts = []
    for member in tree(process):
        try:
            info = member.memory_full_info()
            name = " ".join(member.cmdline()[1:4])[:60]
        except psutil.NoSuchProcess:
            continue
        rss += info.rss
        pss += info.pss
        parts.append({"pid": member.pid, "cmd": name, "rss_mb": round(info.rss / 2**20, 1)})
    return {"rss_mb": round(rss / 2**20, 1), "pss_mb": round(pss / 2**20, 1), "processes": parts}


class PeakRss(threading.Thread):
    """The largest summed RSS of the server's processes, sampled every ``every`` seconds."""

    def __init__(self, process: subprocess.Popen, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.process, self.every = process, every
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            total = 0.0
            for member in tree(self.process):
                try:
                    total += member.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak = max(self.peak, total)


# -- 3. the pages -------------------------------------------------------------------------
def sign_in(client: httpx.Client) -> None:
    """The console's sign-in form as a browser sends it; the session cookie is kept."""
    form = client.get("/console/login")
    form.raise_for_status()
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if found is None:
        raise RuntimeError("no csrf_token in the sign-in form")
    answer = client.post(
        "/console/login",
        data={"csrf_token": found.group(1), "token": MANAGER, "name": "Bench Manager"},
    )
    if answer.status_code != 303 or "advocacy_console" not in client.cookies:
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:300]}")


Request = Callable[[httpx.Client], httpx.Response]


def measure(client: httpx.Client, request: Request, repeat: int, keep: Path) -> dict[str, object]:
    """The first answer and ``repeat`` more: seconds, status codes and body size (the last
    body is written to ``keep``, to look at)."""
    seconds, statuses = [], set()
    for _ in range(repeat + 1):
        started = time.perf_counter()
        answer = request(client)
        seconds.append(time.perf_counter() - started)
        statuses.add(answer.status_code)
        if answer.status_code >= 300:
            print(f"  {answer.status_code}: {answer.text[:300]}", file=sys.stderr)
    size = len(answer.content)
    keep.write_bytes(answer.content)
    warm = seconds[1:]
    return {
        "status": sorted(statuses),
        "bytes": size,
        "cold_s": round(seconds[0], 4),
        "warm_best_s": round(min(warm), 4),
        "warm_median_s": round(statistics.median(warm), 4),
        "warm_p90_s": round(float(np.percentile(warm, 90)), 4),
        "warm_max_s": round(max(warm), 4),
        "warm_all_s": [round(x, 4) for x in warm],
    }


def get(path: str, params: dict[str, object] | None = None) -> Request:
    return lambda client: client.get(path, params=params)


def post(path: str, body: dict[str, object], token: str) -> Request:
    headers = {"Authorization": f"Bearer {token}"}
    return lambda client: client.post(path, json=body, headers=headers)


def choices(client: httpx.Client, state: dict) -> dict[str, str]:
    """Inputs the pages need: a flagged candidate (and its department), a content item
    below the cut of that employee's feed, a new hire's profile (through the API)."""
    from features.data.directory import group_choices
    from features.data.store import Store

    listed = post("/influencers", {"top": 1, "flagged_only": True}, MANAGER)(client)
    listed.raise_for_status()
    flagged = listed.json()["candidates"]
    if not flagged:
        listed = post("/influencers", {"top": 1}, MANAGER)(client)
        flagged = listed.json()["candidates"]
    candidate = flagged[0]
    feed = post("/feed", {"employee_id": candidate["employee_id"], "k": 100}, FRONTEND)(client)
    feed.raise_for_status()
    items = [item["content_id"] for item in feed.json()["items"]]
    store = Store.open(state["db_url"])
    groups = group_choices(store)
    store.dispose()
    return {
        "employee_id": candidate["employee_id"],
        "flagged": str(candidate["flagged"]),
        "department": candidate["department"] or groups["department"][0],
        "why_not": items[min(49, len(items) - 1)],
        "region": groups["region"][0],
        "role": groups["role"][0],
    }


def pages(picked: dict[str, str]) -> dict[str, Request]:
    """The console pages measured, after the first candidates page (see :func:`run`)."""
    employee, department = picked["employee_id"], picked["department"]
    return {
        "candidates_filtered": get(
            "/console/candidates", {"department": department, "flagged": "1"}
        ),
        "candidates_page20": get("/console/candidates", {"page": 20}),
        "candidates_by_followers": get("/console/candidates", {"sort": "followers"}),
        "candidates_csv_all": get("/console/candidates.csv"),
        "candidate_flagged": get("/console/candidate", {"employee_id": employee}),
        "fairness": get("/console/fairness"),
        "analytics_default": get("/console/analytics"),
        "analytics_by_advocate": get("/console/analytics", {"by": "advocate"}),
        "analytics_by_content_month": get(
            "/console/analytics", {"by": "content", "period": "month"}
        ),
        "analytics_csv": get("/console/analytics.csv"),
        "feed_preview": get("/console/feed", {"employee_id": employee, "k": 10}),
        "feed_preview_why_not": get(
            "/console/feed", {"employee_id": employee, "k": 10, "why": picked["why_not"]}
        ),
        "feed_new_hire": get(
            "/console/feed",
            {
                "mode": "profile",
                "department": department,
                "region": picked["region"],
                "role": picked["role"],
                "languages": "en",
                "k": 10,
            },
        ),
        "status": get("/console/status"),
    }


def api(picked: dict[str, str]) -> dict[str, Request]:
    """The API calls behind the pages (the console's own overhead is the difference)."""
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=89), today + timedelta(days=1)
    period = {"start": start.isoformat(), "end": end.isoformat()}
    analytics = {**period, "group_by": ["department", "week"]}
    return {
        "api_influencers_top50": post("/influencers", {"top": 50}, MANAGER),
        "api_analytics_department_week": post("/analytics", analytics, MANAGER),
        "api_feed_k10": post("/feed", {"employee_id": picked["employee_id"], "k": 10}, FRONTEND),
    }


def run(client: httpx.Client, state: dict, args: argparse.Namespace) -> tuple[dict, dict]:
    """Every measurement, in order: /livez, the first candidates page, the other pages
    (their inputs chosen through the API), then the API calls."""
    results: dict[str, dict] = {}
    answers = args.work / "answers"
    answers.mkdir(exist_ok=True)

    def one(name: str, request: Request) -> None:
        print(f"measure: {name}", file=sys.stderr, flush=True)
        results[name] = measure(client, request, args.repeat, answers / name)

    one("livez", get("/livez"))
    sign_in(client)
    one("candidates_default", get("/console/candidates"))
    picked = choices(client, state)
    for name, request in {**pages(picked), **api(picked)}.items():
        one(name, request)
    return results, picked


def table(results: dict[str, dict]) -> str:
    head = f"{'page':30} {'status':>8} {'KB':>9} {'cold':>8} {'best':>8} {'median':>8} {'p90':>8}"
    lines = [head]
    for name, r in results.items():
        status = ",".join(str(s) for s in r["status"])
        lines.append(
            f"{name:30} {status:>8} {r['bytes'] / 1024:9.1f} {r['cold_s']:8.3f}"
            f" {r['warm_best_s']:8.3f} {r['warm_median_s']:8.3f} {r['warm_p90_s']:8.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if args.prepare_only:
        prepare(args)
        return
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    started = time.perf_counter()
    state = prepare_in_child(args)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_server(args, state, port)
    try:
        up = time.perf_counter()
        wait_ready(url, process, timeout=1800)
        ready_s = round(time.perf_counter() - up, 1)
        settled_s = settle(process, args)
        before = memory(process)
        load = [round(x, 2) for x in os.getloadavg()]
        peak = PeakRss(process)
        peak.start()
        cpu = server_cpu_seconds(process)
        with httpx.Client(base_url=url, timeout=args.timeout) as client:
            results, picked = run(client, state, args)
        cpu = round(server_cpu_seconds(process) - cpu, 1)
        peak.done.set()
        after = memory(process)
    finally:
        stop_server(process)
    print(table(results), file=sys.stderr)
    report = {
        "benchmark": "console",
        "organisation": state["settings"],
        "data_end": state["end"],
        "prepare": state["steps"],
        "prepare_seconds_total": round(sum(s["seconds"] for s in state["steps"].values()), 1),
        "server": {
            "ready_seconds": ready_s,
            "settle_seconds": settled_s,
            "memory_before": before,
            "memory_after": after,
            "peak_rss_mb_while_measuring": round(peak.peak / 2**20, 1),
            "cpu_seconds_while_measuring": cpu,
            "log": str(args.work / "server.log"),
        },
        "answers": str(args.work / "answers"),
        "inputs": picked,
        "repeat": args.repeat,
        "pages": results,
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15_before_after": [load, [round(x, 2) for x in os.getloadavg()]],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
