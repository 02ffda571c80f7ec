"""``/share_text`` through ``to_asgi()``: the suggestion of ``advocacy content share-text``,
its documented errors and roles, and the policy from the configuration. No recommender is
loaded: share texts need only the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from features.data.store import Store
from features.screening.policy import load_policy
from features.share_text_source import suggest
from serving.auth import Tokens
from serving.config import ServingConfig
from serving.dependencies import Dependencies
from serving.model_source import FolderSource
from serving.service import use_dependencies
from tests.test_serving import FRONTEND, MANAGER, TOKENS, auth
from tests.test_serving_data import service_app
from tests.test_share_text import POLICY, _stored

POLICY_YAML = "disclosures: {x: {job: '#hiring #employee'}}\nlength_limits: {x: 280}\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store]]:
    folder = tmp_path_factory.mktemp("share_text")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    _stored(store)
    policy = folder / "policy.yaml"
    policy.write_text(POLICY_YAML)
    deps = Dependencies(
        store=store,
        model_source=FolderSource(folder / "no-model", "advocacy-recommender"),
        tokens=Tokens.parse(TOKENS),
        pollers=False,
        screening_policy=load_policy(policy),
    )
    use_dependencies(lambda: deps)
    try:
        with TestClient(service_app()) as client:
            yield client, store
    finally:
        use_dependencies(None)
        store.dispose()


def _post(client: TestClient, token: str | None = FRONTEND, **body: object):
    headers = auth(token) if token else {}
    return client.post("/share_text", json=body, headers=headers)


def test_the_suggestion_is_the_cli_s(served) -> None:
    client, store = served
    answer = _post(client, employee_id="cy", content_id="c1", network="x")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body == suggest(store, POLICY, "cy", "c1", "x").to_dict()
    assert body["text"].endswith("#hiring #employee") and body["length"] <= body["limit"] == 280
    assert body["status"] == "passed" and body["reason"] == "" and body["findings"] == []


def test_an_item_that_may_not_be_shared_answers_200_without_text(served) -> None:
    client, _ = served
    body = _post(client, employee_id="cy", content_id="c2", network="x").json()
    assert body["text"] is None and "retired" in body["reason"]


@pytest.mark.parametrize(
    ("request_body", "status", "loc"),
    [
        ({"employee_id": "nobody", "content_id": "c1", "network": "x"}, 404, ["employee_id"]),
        ({"employee_id": "cy", "content_id": "nothing", "network": "x"}, 404, ["content_id"]),
        ({"employee_id": "cy", "content_id": "c1", "network": "myspace"}, 422, ["network"]),
        ({"employee_id": "cy", "content_id": "c1", "network": "facebook"}, 422, ["network"]),
        ({"employee_id": "cy", "content_id": "c1"}, 400, ["network"]),
    ],
)
def test_errors_name_the_field(served, request_body, status, loc) -> None:
    client, _ = served
    answer = _post(client, **request_body)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"][0]["loc"][-len(loc) :] == loc


def test_front_ends_and_admins_may_call_it_managers_may_not(served) -> None:
    client, _ = served
    body = {"employee_id": "cy", "content_id": "c1", "network": "x"}
    assert _post(client, MANAGER, **body).status_code == 403
    assert _post(client, None, **body).status_code == 401


def test_the_spec_documents_the_endpoint(served) -> None:
    client, _ = served
    spec = client.get("/docs.json").json()
    answers = spec["paths"]["/share_text"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "422", "503"} <= set(answers)
    assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith("ShareTextOut")


def test_the_policy_file_comes_from_the_environment(tmp_path: Path) -> None:
    assert ServingConfig.from_env({}).screening_policy is None
    (tmp_path / "p.yaml").write_text("length_limits: {x: 280}\n")
    environ = {"ADVOCACY_POLICY": str(tmp_path / "p.yaml")}
    chosen = ServingConfig.from_env(environ).screening_policy
    assert chosen == tmp_path / "p.yaml"
