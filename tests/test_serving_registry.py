"""The service on the MLflow registry: champions loaded through ``training.registry``, a new
champion swapped in when the alias moves (and back on rollback), influencer candidates and
review decisions from the registered scorer. MLflow runs for real in a temporary folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import bentoml
import pytest
import sqlalchemy as sa
from mlflow.tracking import MlflowClient
from starlette.testclient import TestClient

from features.data.store import Store
from recsys.feed_arrays import NETWORKS
from serving.auth import Tokens
from serving.dependencies import Dependencies
from serving.model_source import FolderSource, RegistrySource
from serving.service import AdvocacyService, use_dependencies
from tests.test_serving_data import (
    NOW,
    add_synthetic_org,
    fill_store,
    fit_influencers,
    fit_model,
    service_app,
)
from training.registry import INFLUENCERS, RECOMMENDER, Registry, make_client

FRONTEND = "frontend-token-0123456789"
MANAGER = "manager-token-0123456789"


def auth(token: str = FRONTEND) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Models:
    """Log a saved model folder as a run artifact, register it, move the champion alias."""

    def __init__(self, uri: str, artifacts: Path) -> None:
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        self.experiment = self.client.create_experiment("serving", artifacts.as_uri())
        self.registry = Registry(make_client(uri))

    def publish(self, name: str, folder: Path, *, promote: bool = True) -> str:
        run = self.client.create_run(self.experiment)
        self.client.log_artifacts(run.info.run_id, str(folder), "model")
        self.client.set_terminated(run.info.run_id)
        version = self.registry.register(name, run.info.run_id, "model")
        if promote:
            self.registry.promote(name, version, reason="serving test")
        return version


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("registry")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    fill_store(store)
    add_synthetic_org(store, folder / "org")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    models = Models(uri, folder / "artifacts")
    fit_model(store, folder / "rec-1")
    assert models.publish(RECOMMENDER, folder / "rec-1") == "1"
    assert models.publish(INFLUENCERS, fit_influencers(store, folder / "inf-1")) == "1"
    yield {"store": store, "folder": folder, "uri": uri, "models": models}
    store.dispose()


@pytest.fixture(scope="module")
def service(world: dict[str, object]) -> Iterator[tuple[TestClient, AdvocacyService]]:
    uri, folder = str(world["uri"]), Path(str(world["folder"]))
    deps = Dependencies(
        store=world["store"],  # type: ignore[arg-type]
        model_source=RegistrySource(RECOMMENDER, tracking_uri=uri, cache_dir=folder / "cache"),
        influencer_source=RegistrySource(INFLUENCERS, tracking_uri=uri, cache_dir=folder / "cache"),
        tokens=Tokens.parse(f"{FRONTEND}:frontend,{MANAGER}:manager"),
        clock=lambda: NOW,
        pollers=False,
    )
    use_dependencies(lambda: deps)
    try:
        with TestClient(service_app()) as client:
            yield client, bentoml.get_current_service()  # type: ignore[misc]
    finally:
        use_dependencies(None)


def version_of(client: TestClient) -> str:
    answer = client.post("/feed", json={"employee_id": "e1"}, headers=auth())
    assert answer.status_code == 200, answer.text
    return answer.json()["model_version"]


def test_the_champions_are_served(service) -> None:
    client, _ = service
    assert version_of(client) == f"{RECOMMENDER}@1"
    status = client.post("/status", json={}, headers=auth(MANAGER)).json()
    assert status["influencer_model_version"] == f"{INFLUENCERS}@1"


def test_moving_the_alias_swaps_the_model_and_rollback_restores_it(service, world) -> None:
    client, instance = service
    refresher = instance.runtime.refresher
    assert refresher.refresh_model() is False  # the alias has not moved
    models: Models = world["models"]  # type: ignore[assignment]
    folder = Path(str(world["folder"]))
    fit_model(world["store"], folder / "rec-2", seed=5)  # type: ignore[arg-type]
    assert models.publish(RECOMMENDER, folder / "rec-2", promote=False) == "2"
    assert refresher.refresh_model() is False  # registered, not champion
    models.registry.promote(RECOMMENDER, "2", reason="better")
    assert refresher.refresh_model() is True
    assert version_of(client) == f"{RECOMMENDER}@2"
    models.registry.rollback(RECOMMENDER, reason="serving test")
    assert refresher.refresh_model() is True
    assert version_of(client) == f"{RECOMMENDER}@1"


def test_influencer_candidates_with_reasons(service) -> None:
    client, _ = service
    answer = client.post("/influencers", json={"top": 5}, headers=auth(MANAGER))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_version"] == f"{INFLUENCERS}@1"
    candidates = body["candidates"]
    assert 1 <= len(candidates) <= 5
    assert all(c["reasons"] and c["confidence"]["level"] for c in candidates)
    department = candidates[0]["department"]
    same = client.post("/influencers", json={"department": department}, headers=auth(MANAGER))
    assert {c["department"] for c in same.json()["candidates"]} == {department}
    linkedin = client.post("/influencers", json={"network": "linkedin"}, headers=auth(MANAGER))
    assert linkedin.status_code == 200
    bad = client.post("/influencers", json={"network": "myspace"}, headers=auth(MANAGER))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["network"]
    for network in NETWORKS:  # an accepted network without accounts is not a server error
        answer = client.post("/influencers", json={"network": network}, headers=auth(MANAGER))
        assert answer.status_code in (200, 422), answer.text
    assert client.post("/influencers", json={"top": 0}, headers=auth(MANAGER)).status_code == 400
    assert client.post("/influencers", json={}, headers=auth(FRONTEND)).status_code == 403


def test_review_decisions_are_stored_and_shown(service) -> None:
    client, _ = service
    first = client.post("/influencers", json={"top": 1}, headers=auth(MANAGER)).json()
    employee = first["candidates"][0]["employee_id"]
    body = {"employee_id": employee, "decision": "dismiss", "reviewer": "pm", "note": "not now"}
    stored = client.post("/influencer_review", json=body, headers=auth(MANAGER))
    assert stored.status_code == 200, stored.text
    assert stored.json()["decision"] == "dismiss" and stored.json()["score"] is not None
    listed = client.post("/influencers", json={"top": 10_000}, headers=auth(MANAGER)).json()
    shown = next(c for c in listed["candidates"] if c["employee_id"] == employee)
    assert shown["review"]["decision"] == "dismiss" and shown["review"]["reviewer"] == "pm"
    unknown = {**body, "employee_id": "nobody-here"}
    missing = client.post("/influencer_review", json=unknown, headers=auth(MANAGER))
    assert missing.status_code == 404
    wrong = {**body, "decision": "maybe"}
    assert client.post("/influencer_review", json=wrong, headers=auth(MANAGER)).status_code == 400


def test_opted_out_advocates_cannot_be_reviewed(service, world) -> None:
    client, _ = service
    store = world["store"]
    with store.engine.connect() as conn:
        opted = conn.execute(
            sa.text("SELECT employee_id FROM advocates WHERE opted_out = :yes LIMIT 1"),
            {"yes": True},
        ).scalar()
    assert opted is not None, "the fixture organisation has opted-out advocates"
    body = {"employee_id": opted, "decision": "approve", "reviewer": "pm", "note": ""}
    answer = client.post("/influencer_review", json=body, headers=auth(MANAGER))
    assert answer.status_code == 404, answer.text
    listed = client.post("/influencers", json={"top": 10_000}, headers=auth(MANAGER)).json()
    assert opted not in {c["employee_id"] for c in listed["candidates"]}


def test_registry_source_describes_the_champion_and_history(world) -> None:
    models: Models = world["models"]  # type: ignore[assignment]
    source = RegistrySource(RECOMMENDER, tracking_uri=str(world["uri"]))
    described = source.describe()
    assert json.loads(json.dumps(described)) == described
    assert (described["source"], described["name"]) == ("registry", RECOMMENDER)
    current = str(models.registry.champion_version(RECOMMENDER).version)
    assert described["champion"]["version"] == current
    assert [v["version"] for v in described["versions"] if v["champion"]] == [current]
    seqs = [e["seq"] for e in described["history"]]
    assert seqs and seqs == sorted(seqs, reverse=True)
    down = RegistrySource(RECOMMENDER, tracking_uri="http://127.0.0.1:1")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        with pytest.raises(ConnectionError, match="unavailable"):
            down.describe()


def test_folder_source_describes_the_saved_model(world, tmp_path: Path) -> None:
    folder = Path(str(world["folder"]))
    recommender = shutil.copytree(folder / "rec-1", tmp_path / "rec")
    (recommender / "feature_spec.json").write_text(json.dumps({"as_of": "2026-11-26T12:00:00"}))
    source = FolderSource(recommender, RECOMMENDER)
    described = source.describe()
    assert json.loads(json.dumps(described)) == described
    version = source.fetch()
    assert version is not None
    assert described | {"params": {}, "libraries": {}, "saved_at": ""} == {
        "source": "folder",
        "name": RECOMMENDER,
        "path": str(recommender),
        "version": version.version,
        "saved_at": "",
        "model": "hybrid",
        "params": {},
        "training": {"features_as_of": "2026-11-26T12:00:00"},
        "libraries": {},
    }
    assert described["params"]["taste__no_components"] == 8 and "numpy" in described["libraries"]
    assert datetime.fromisoformat(described["saved_at"]).utcoffset().total_seconds() == 0

    scorer = FolderSource(folder / "inf-1", INFLUENCERS).describe()
    assert scorer["model"] == "influence_scorer" and scorer["params"]
    assert {"rows", "positives", "features_as_of"} <= set(scorer["training"])
    assert all(not isinstance(v, dict | list) for v in scorer["training"].values())

    missing = FolderSource(tmp_path / "nothing", RECOMMENDER).describe()
    assert missing == {
        "source": "folder",
        "name": RECOMMENDER,
        "path": str(tmp_path / "nothing"),
        "version": None,
        "saved_at": None,
        "model": None,
        "params": {},
        "training": {},
        "libraries": {},
    }
