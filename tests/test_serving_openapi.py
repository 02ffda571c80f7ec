"""The published OpenAPI spec (``/docs.json``, :mod:`serving.openapi`) and the answers it
describes, through ``to_asgi()``: every status of every endpoint with its body, one error
body, request values taken as published. Schemathesis runs every check over the same spec
against a real server in ``tests/test_serving_server.py``."""

from __future__ import annotations

import inspect
import re

import jsonschema_rs
import pytest

from serving.auth import ALLOWED, Endpoint, Role
from serving.openapi import SPECIFIC
from serving.schemas import ErrorOut, EventsRejectedOut
from serving.service import AdvocacyService
from tests import test_serving
from tests.test_serving import ADMIN, MANAGER, auth, event

service = test_serving.service  # the served world's fixtures: a store, a model, the app
world = test_serving.world


@pytest.fixture(scope="module")
def spec(service) -> dict:
    client, _, _ = service
    response = client.get("/docs.json")
    assert response.status_code == 200
    return response.json()


def conforms(spec: dict, component: str, body: object) -> list[str]:
    """The problems of ``body`` against ``#/components/schemas/<component>`` of the spec
    (the validator Schemathesis uses)."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return [error.message for error in validator.iter_errors(body)]


def test_every_endpoint_documents_each_status_it_answers_with_its_body(spec) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert {p for p in spec["paths"] if p.startswith("/console")} == set()  # not an API
    for name, api in AdvocacyService.apis.items():
        endpoint = Endpoint(name)
        operation = spec["paths"][api.route]["post"]
        assert operation["security"] == [{"bearer": []}]
        answers = operation["responses"]
        expected = {200, 400, 401, 415, 500, 504, *SPECIFIC[endpoint]}
        if ALLOWED[endpoint] != frozenset(Role):
            expected.add(403)
        assert set(answers) == {str(s) for s in expected}, name
        for status, answer in answers.items():
            body = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            if status == "422" and endpoint == Endpoint.EVENTS:
                assert body == EventsRejectedOut.__name__
            elif status != "200":
                assert body == ErrorOut.__name__, (name, status)
        assert answers["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]


def test_null_values_are_published(spec) -> None:
    """BentoML's own spec dropped the ``null`` of ``X | None`` fields and parameters."""
    status = spec["components"]["schemas"]["StatusOut"]["properties"]["last_refresh_error"]
    assert {"type": "null"} in status["anyOf"]
    request = spec["components"]["schemas"]["FeedRequest"]["properties"]["filters"]
    assert {"type": "null"} in request["anyOf"]
    top = spec["components"]["schemas"]["InfluencersRequest"]["properties"]["top"]
    assert {"type": "null"} in top["anyOf"]
    assert {"type": "integer", "minimum": 1, "maximum": 10_000} in top["anyOf"]


def test_error_bodies_match_the_published_error_body(service, spec) -> None:
    client, _, _ = service
    answers = {
        "400": client.post("/feed", json={"employee_id": "e1", "k": 0}, headers=auth()),
        "401": client.post("/feed", json={"employee_id": "e1"}),
        "403": client.post("/feed", json={"employee_id": "e1"}, headers=auth(MANAGER)),
        "404": client.post("/similar", json={"content_id": "nope"}, headers=auth()),
        "422": client.post(
            "/feed",
            json={"employee_id": "e1", "filters": {"networks": ["myspace"]}},
            headers=auth(),
        ),
        "503": client.post("/influencers", json={}, headers=auth(MANAGER)),
    }
    for status, response in answers.items():
        assert str(response.status_code) == status, response.text
        assert conforms(spec, "ErrorOut", response.json()) == [], status
        assert response.json()["detail"], status
    assert answers["400"].json()["detail"][0]["loc"] == ["k"]
    assert answers["422"].json()["detail"][0]["loc"] == ["filters", "networks"]


def test_rejected_events_answer_the_error_body_with_their_counts(service, spec) -> None:
    client, _, _ = service
    body = {"events": [event("oa-1", "e3", "c03", "click"), event("oa-2", "e3", "c03", "poke")]}
    response = client.post("/events", json=body, headers=auth())
    assert response.status_code == 422
    answer = response.json()
    assert conforms(spec, "EventsRejectedOut", answer) == []
    assert (answer["received"], answer["stored"], answer["rejected"]) == (2, 1, 1)
    assert answer["error"] == "1 of 2 events rejected (the valid ones are stored)"
    assert answer["detail"] == [
        {
            "loc": ["events", 1, "event_type"],
            "msg": answer["rejections"][0]["message"],
            "type": "not_allowed",
        }
    ]


def test_answers_match_their_published_200_schemas(service, spec) -> None:
    client, _, _ = service
    status = client.post("/status", json={}, headers=auth(ADMIN)).json()
    assert conforms(spec, "StatusOut", status) == []
    feed = client.post("/feed", json={"employee_id": "e1", "k": 3}, headers=auth()).json()
    assert conforms(spec, "FeedOut", feed) == []


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("multipart/form-data; boundary=xx", b'{"employee_id": "e1"}'),  # was a 500
        ("application/x-www-form-urlencoded", b"employee_id=e1"),
        ("application/vnd.bentoml+pickle", b"\x80\x04N."),  # was a list body
    ],
)
def test_form_and_pickle_bodies_are_415(service, spec, content_type, body) -> None:
    client, _, _ = service
    headers = {**auth(), "Content-Type": content_type}
    response = client.post("/feed", content=body, headers=headers)
    assert response.status_code == 415
    assert conforms(spec, "ErrorOut", response.json()) == []
    assert response.json()["detail"][0]["loc"] == ["Content-Type"]


def test_request_values_are_taken_as_published(service) -> None:
    """No conversions the schema does not publish: numbers as numbers, booleans as booleans,
    times as ISO 8601 strings (JSON Schema's integer 5.0 is still 5)."""
    client, _, _ = service
    assert client.post("/feed", json={"employee_id": "e1", "k": 5.0}, headers=auth()).is_success
    for k in ("5", True):
        refused = client.post("/feed", json={"employee_id": "e1", "k": k}, headers=auth())
        assert refused.status_code == 400 and refused.json()["detail"][0]["loc"] == ["k"]
    flag = client.post("/influencers", json={"flagged_only": 0}, headers=auth(MANAGER))
    assert flag.status_code == 400
    period = {"start": 0, "end": "2026-11-01"}
    assert client.post("/analytics", json=period, headers=auth(MANAGER)).status_code == 400
    profile = {"employee_id": "new-1", "profile": {"languages": "en"}}
    assert client.post("/feed", json=profile, headers=auth()).status_code == 400


def test_an_id_the_spec_allows_is_an_id_the_service_accepts() -> None:
    """The published pattern of an id and the validator agree on every character up to
    U+3000 (with ``\\S`` they did not: Python's ``re`` allowed U+001C-U+001F differently,
    and schemathesis generated U+0085, which the validator refuses)."""
    from pydantic import TypeAdapter, ValidationError

    from serving.schemas import Id

    adapter = TypeAdapter(Id)
    pattern = re.compile(adapter.json_schema()["pattern"])
    disagree = []
    for code in range(1, 0x3001):
        text = chr(code)
        try:
            adapter.validate_python(text)
            accepted = True
        except ValidationError:
            accepted = False
        if accepted != bool(pattern.search(text)):
            disagree.append(hex(code))
    assert not disagree
    assert not pattern.search("\u0085 \u3000") and pattern.search(" x ")


def test_each_api_function_keeps_its_signature_once() -> None:
    """BentoML asks ``inspect.signature`` of an API function on every request: the stored
    one is returned, equal to the one the parameters give."""
    for api in AdvocacyService.apis.values():
        stored = inspect.signature(api.func)
        assert stored is inspect.signature(api.func)
        code = api.func.__code__
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        assert tuple(stored.parameters) == names
        defaults = [p.default for p in stored.parameters.values() if p.default is not p.empty]
        assert tuple(defaults) == (api.func.__defaults__ or ()) + tuple(
            (api.func.__kwdefaults__ or {}).values()
        )
