"""``advocacy serve``: run the BentoML service on this machine.

Checks the configuration first (tokens, intervals, model folder), then runs
``bentoml serve serving.service:AdvocacyService`` with it in the environment, so the
service's workers read the same settings (see :mod:`serving.config`). Register with
``app.command("serve")(serve)``.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from training import console
from training.commands.data import DB_HELP

SERVICE = "serving.service:AdvocacyService"
#: The project root: the working directory of `bentoml serve` (its workers import the
#: packages from there).
ROOT = Path(__file__).resolve().parents[2]


def serve(
    port: int = typer.Option(3000, "--port", "-p", min=1, max=65535, help="HTTP port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    tracking_uri: str | None = typer.Option(
        None,
        "--tracking-uri",
        help="MLflow tracking URI the champion models come from (default: $MLFLOW_TRACKING_URI"
        " or the embedded store under the data folder).",
    ),
    model_dir: Path | None = typer.Option(
        None, "--model-dir", help="Serve this saved recommender folder instead of the registry."
    ),
    influencer_dir: Path | None = typer.Option(
        None, "--influencer-dir", help="Serve this saved influencer scorer folder."
    ),
    lapse_dir: Path | None = typer.Option(
        None, "--lapse-dir", help="Serve this saved lapse model folder (/at_risk)."
    ),
    content_forecast_dir: Path | None = typer.Option(
        None,
        "--content-forecast-dir",
        help="Serve this saved content forecast folder (/content_forecast).",
    ),
    slots_dir: Path | None = typer.Option(
        None, "--slots-dir", help="Serve this saved slot model folder (/share_plan)."
    ),
    tokens_file: Path | None = typer.Option(
        None, "--tokens-file", help="File of 'token:role' lines (roles: frontend, manager, admin)."
    ),
    catalogue_refresh: float | None = typer.Option(
        None, "--catalogue-refresh", min=0.1, help="Seconds between catalogue refreshes (30)."
    ),
    model_refresh: float | None = typer.Option(
        None, "--model-refresh", min=0.1, help="Seconds between champion polls (60)."
    ),
    emv_config: Path | None = typer.Option(
        None, "--emv-config", help="Earned media value rates (YAML; default: shipped examples)."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-w",
        min=1,
        help="BentoML worker processes, each with its own copy of the model"
        " (default: $ADVOCACY_WORKERS or 1).",
    ),
    new_tokens: bool = typer.Option(
        False,
        "--new-tokens",
        help="Make a random frontend and manager token for this run and print them with curl"
        " examples (for demos; they are not stored anywhere).",
    ),
) -> None:
    """Serve feeds, events, influencer candidates and program analytics over HTTP (BentoML).

    Tokens come from --tokens-file and/or $ADVOCACY_TOKENS ("token:role,token:role"). The
    OpenAPI spec is at /docs.json; /healthz, /readyz and /metrics need no token.
    """
    from serving.auth import TokenConfigError
    from serving.config import ConfigError, ServingConfig, workers_from_env

    env = dict(os.environ)
    settings = {
        "ADVOCACY_DB_URL": db,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "ADVOCACY_MODEL_DIR": _absolute(model_dir),
        "ADVOCACY_INFLUENCER_MODEL_DIR": _absolute(influencer_dir),
        "ADVOCACY_LAPSE_MODEL_DIR": _absolute(lapse_dir),
        "ADVOCACY_CONTENT_FORECAST_DIR": _absolute(content_forecast_dir),
        "ADVOCACY_SLOTS_MODEL_DIR": _absolute(slots_dir),
        "ADVOCACY_TOKENS_FILE": _absolute(tokens_file),
        "ADVOCACY_CATALOGUE_REFRESH": None if catalogue_refresh is None else str(catalogue_refresh),
        "ADVOCACY_MODEL_REFRESH": None if model_refresh is None else str(model_refresh),
        "ADVOCACY_EMV_CONFIG": _absolute(emv_config),
        "ADVOCACY_WORKERS": None if workers is None else str(workers),
    }
    env.update({k: v for k, v in settings.items() if v is not None})
    made: dict[str, str] = {}
    if new_tokens:
        made = {role: secrets.token_urlsafe(24) for role in ("frontend", "manager")}
        extra = ",".join(f"{token}:{role}" for role, token in made.items())
        env["ADVOCACY_TOKENS"] = ",".join(p for p in (env.get("ADVOCACY_TOKENS"), extra) if p)
    try:
        config = ServingConfig.from_env(env)
        tokens = config.tokens()
        processes = workers_from_env(env)
    except (ConfigError, TokenConfigError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if processes > 1 and config.console_secret is None:
        # without it each worker signs console sessions with its own random key, and a
        # sign-in would hold only on the worker that made it: one key for this run's workers
        env["ADVOCACY_CONSOLE_SECRET"] = secrets.token_urlsafe(48)
    if config.emv_config is not None:
        from features.program import EmvConfigError, load_emv_config

        try:
            load_emv_config(config.emv_config)
        except (EmvConfigError, OSError) as exc:
            console.errors.print(f"[red]error:[/red] --emv-config: {exc}")
            raise typer.Exit(2) from None
    if model_dir is not None and not (model_dir / "manifest.json").is_file():
        console.errors.print(f"[red]error:[/red] --model-dir {model_dir}: no saved model there")
        raise typer.Exit(2)
    forecast_dirs = {
        "--lapse-dir": lapse_dir,
        "--slots-dir": slots_dir,
        "--content-forecast-dir": content_forecast_dir,
    }
    for option, folder in forecast_dirs.items():
        if folder is not None and not (folder / "manifest.json").is_file():
            console.errors.print(f"[red]error:[/red] {option} {folder}: no saved model there")
            raise typer.Exit(2)
    if not len(tokens):
        console.errors.print(
            "[yellow]warning:[/yellow] no tokens configured (--tokens-file or $ADVOCACY_TOKENS):"
            " every protected endpoint will answer 401"
        )
    url = f"http://{host}:{port}"
    plural = "s" if processes > 1 else ""
    console.console.print(
        f"serving on {url} with {processes} worker{plural} (OpenAPI: {url}/docs.json)",
        soft_wrap=True,
    )
    console.console.print(
        f"program manager console: {url}/console (a manager or admin token)", soft_wrap=True
    )
    if made:
        console.console.print(
            f"sign in to the console with the manager token {made['manager']}",
            highlight=False,
            soft_wrap=True,
        )
        for line in curl_examples(url, made["frontend"], made["manager"]):
            console.console.print(line, highlight=False, soft_wrap=True)
    command = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--port", str(port)]
    command += ["--host", host, "--working-dir", str(ROOT)]
    raise typer.Exit(_run(command, env))


def _run(command: list[str], env: dict[str, str]) -> int:
    """Run the server; SIGTERM/SIGINT to this process stop it (and wait for it)."""
    child = subprocess.Popen(command, env=env)

    def stop(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def curl_examples(
    url: str,
    frontend_token: str,
    manager_token: str,
    employee_id: str = "emp00001",
    content_id: str = "c00001",
) -> list[str]:
    """Working curl commands for the main endpoints (what ``make demo`` prints)."""
    json_header = "-H 'Content-Type: application/json'"
    front = f"-H 'Authorization: Bearer {frontend_token}' {json_header}"
    manager = f"-H 'Authorization: Bearer {manager_token}' {json_header}"
    end = datetime.now(UTC).date() + timedelta(days=1)
    start = end - timedelta(days=90)
    return [
        f"curl -s {url}/readyz",
        f'curl -s {url}/feed {front} -d \'{{"employee_id": "{employee_id}", "k": 5}}\'',
        f'curl -s {url}/similar {front} -d \'{{"content_id": "{content_id}", "k": 5}}\'',
        f'curl -s {url}/events {front} -d \'{{"events": [{{"event_id": "demo-1",'
        f' "employee_id": "{employee_id}", "content_id": "{content_id}",'
        f' "event_type": "click"}}]}}\'',
        f"curl -s {url}/influencers {manager} -d '{{\"top\": 5}}'",
        f'curl -s {url}/analytics {manager} -d \'{{"start": "{start:%Y-%m-%d}",'
        f' "end": "{end:%Y-%m-%d}", "group_by": ["department"]}}\'',
        f'curl -s {url}/attribution {manager} -d \'{{"by": ["advocate"], "top": 5}}\'',
    ]


def _absolute(path: Path | None) -> str | None:
    return None if path is None else str(path.expanduser().resolve())
