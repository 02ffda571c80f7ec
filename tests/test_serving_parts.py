"""The serving parts on their own: tokens, configuration, event storage on both databases,
the event journal replayed onto a swapped-in model, readiness without a model, the pollers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import bentoml
import numpy as np
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from features.data.store import Store
from recsys.dataset import Dataset
from recsys.errors import FieldError
from recsys.feed import FeedRanker
from recsys.feed_arrays import Catalogue, FeedAudience
from recsys.models import RecentPopular
from serving.auth import Endpoint, Role, TokenConfigError, Tokens
from serving.catalogue_reader import CatalogueReader
from serving.config import ConfigError, ServingConfig
from serving.dependencies import Dependencies
from serving.errors import Forbidden, Unauthorized, Unprocessable, refused
from serving.events import EventRecorder, NewEvents
from serving.model_source import FolderSource, ModelVersion
from serving.schemas import EventIn
from serving.service import AdvocacyService, use_dependencies
from serving.state import LiveState, StateHolder
from tests.test_serving_data import (
    NOW,
    content,
    fill_store,
    fit_model,
    iso,
    service_app,
    write_table,
)

TOKEN = "frontend-token-0123456789"


# -- tokens -----------------------------------------------------------------------------------
def test_a_refused_value_is_a_422_on_the_field_its_error_names() -> None:
    """The field comes from ``FieldError.field``, never from the message; another
    ValueError goes on the caller's field."""
    with pytest.raises(Unprocessable) as named, refused("content_id"):
        raise FieldError("k", "must be >= 1, got 0")
    assert (named.value.field, named.value.message) == ("k", "k: must be >= 1, got 0")
    with pytest.raises(Unprocessable) as plain, refused("content_id"):
        raise ValueError("k must be >= 1")  # a message naming a field is not parsed
    assert (plain.value.field, plain.value.message) == ("content_id", "k must be >= 1")
    with pytest.raises(Unprocessable) as whole, refused():
        raise ValueError("similar: the model has no item vectors")
    assert whole.value.field is None and whole.value.status == 422


def test_tokens_from_the_variable_and_a_file(tmp_path: Path) -> None:
    tokens = Tokens.parse(f"{TOKEN}:frontend, manager-token-012345678:Manager")
    assert tokens.role_of(TOKEN) is Role.FRONTEND
    assert tokens.role_of("manager-token-012345678") is Role.MANAGER
    assert tokens.role_of("frontend-token-012345678") is None
    file = tmp_path / "tokens"
    file.write_text("# ops\nadmin-token-0123456789:admin  # the on-call\n\n")
    both = Tokens.combine([tokens, Tokens.from_file(file)])
    assert len(both) == 3 and both.role_of("admin-token-0123456789") is Role.ADMIN


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("just-a-token-0123456789", "not 'token:role'"),
        (f"{TOKEN}:root", "unknown role 'root'"),
        ("short:admin", "at least 16 characters"),
    ],
)
def test_bad_token_specs_are_refused_without_showing_the_token(spec: str, problem: str) -> None:
    with pytest.raises(TokenConfigError, match=problem) as caught:
        Tokens.parse(spec)
    assert "0123456789" not in str(caught.value)


def test_authorize_by_role() -> None:
    tokens = Tokens.parse(f"{TOKEN}:frontend,manager-token-012345678:manager")
    assert tokens.authorize(f"Bearer {TOKEN}", Endpoint.FEED) is Role.FRONTEND
    assert tokens.authorize(f"bearer  {TOKEN} ", Endpoint.EVENTS) is Role.FRONTEND
    for header in (None, "", TOKEN, "Basic abc", "Bearer ", "Bearer nope-nope-nope-nope"):
        with pytest.raises(Unauthorized):
            tokens.authorize(header, Endpoint.FEED)
    with pytest.raises(Forbidden, match="may not call influencers"):
        tokens.authorize(f"Bearer {TOKEN}", Endpoint.INFLUENCERS)
    with pytest.raises(Unauthorized):
        Tokens().authorize(f"Bearer {TOKEN}", Endpoint.FEED)  # none configured: closed


# -- configuration ----------------------------------------------------------------------------
def test_config_from_the_environment(tmp_path: Path) -> None:
    config = ServingConfig.from_env(
        {
            "ADVOCACY_DB_URL": "sqlite:///x.db",
            "MLFLOW_TRACKING_URI": "sqlite:///m.db",
            "ADVOCACY_MODEL_DIR": str(tmp_path),
            "ADVOCACY_CATALOGUE_REFRESH": "5",
            "ADVOCACY_TOKENS": f"{TOKEN}:frontend",
        }
    )
    assert config.db_url == "sqlite:///x.db" and config.model_dir == tmp_path
    assert config.catalogue_refresh == 5.0 and config.model_refresh == 60.0
    assert len(config.tokens()) == 1
    defaults = ServingConfig.from_env({})
    assert defaults.catalogue_refresh == 30.0 and len(defaults.tokens()) == 0
    for value in ("soon", "0", "-3"):
        with pytest.raises(ConfigError, match="ADVOCACY_CATALOGUE_REFRESH"):
            ServingConfig.from_env({"ADVOCACY_CATALOGUE_REFRESH": value})
    assert defaults.score_cache_bytes == 512 << 20
    assert ServingConfig.from_env({"ADVOCACY_SCORE_CACHE_MB": "0"}).score_cache_bytes == 0
    for value in ("lots", "-1"):
        with pytest.raises(ConfigError, match="ADVOCACY_SCORE_CACHE_MB"):
            ServingConfig.from_env({"ADVOCACY_SCORE_CACHE_MB": value})


# -- events on SQLite and PostgreSQL ----------------------------------------------------------
def test_events_are_stored_once_on_both_databases(store: Store) -> None:
    fill_store(store)
    recorder = EventRecorder(store, lambda: NOW)
    events = [
        EventIn(event_id="x1", employee_id="e1", content_id="c02", event_type="Click"),
        EventIn(event_id="x2", employee_id="e1", content_id="c02", event_type="share"),
        EventIn(event_id="x3", employee_id="e1", content_id="zzz", event_type="view"),
    ]
    first = recorder.record(events)
    assert (first.accepted, first.stored, first.rejected) == (1, 1, 2)
    assert {(r.row, r.field) for r in first.rejections} == {(1, "network"), (2, "content_id")}
    assert first.new is not None and first.new.event_types == ["click"]
    assert first.new.times[0] == pytest.approx(NOW.timestamp())
    again = recorder.record(events[:1])
    assert (again.stored, again.duplicates) == (0, 1)
    stored = [r for r in store.rows("interactions") if r["event_id"] == "x1"]
    assert len(stored) == 1 and stored[0]["event_type"] == "click"


def test_the_catalogue_probe_changes_exactly_when_a_read_would(store: Store) -> None:
    """A refresh that finds the probe unchanged skips the full read: the probe must move
    with content and advocate changes, on both databases; shares reach the live state
    through the event log, so they do not move it (nor cost it a scan of the events)."""
    fill_store(store)
    reader = CatalogueReader(store, lambda: NOW)
    first = reader.probe()
    assert reader.probe() == first and reader.read().probe
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE content SET approval_status = 'retired' WHERE content_id = 'c03'")
        )
    retired = reader.probe()
    assert retired != first
    write_table(store, "content", content().assign(content_id="n01").head(1))
    added = reader.probe()
    assert added != retired
    recorder = EventRecorder(store, lambda: NOW)
    share = EventIn(
        event_id="p1", employee_id="e2", content_id="c04", event_type="share", network="linkedin"
    )
    assert recorder.record([share]).stored == 1
    shared = reader.probe()
    assert shared == added
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE advocates SET department = 'Legal' WHERE employee_id = 'e1'"))
    moved = reader.probe()
    assert moved != shared
    with store.engine.begin() as conn:  # a text the feed does not read, but screening does
        conn.execute(
            sa.text("UPDATE content SET body = 'Call +44 20 7946 0958' WHERE content_id = 'c05'")
        )
    assert reader.probe() != moved
    assert reader.read().content.set_index("content_id").loc["c05", "screening"] == "held"


# -- the journal replayed onto a swapped-in model ---------------------------------------------
def _ranker(seed_events: int) -> FeedRanker:
    users = ["u1", "u2", "u1"] * seed_events
    items = ["a", "a", "b"] * seed_events  # "a" leads
    dataset = Dataset.from_events(users, items, times=np.arange(len(users)) + 1_000)
    model = RecentPopular().fit(dataset)
    catalogue = Catalogue.from_lists(
        approval_status=["approved", "approved"],
        published_at=[0.0, 0.0],
        content_type=["article", "article"],
        content_ids=["a", "b"],
    )
    return FeedRanker(model, catalogue, FeedAudience({}))


def _events(kind: str, content_id: str, n: int, first: int = 1) -> NewEvents:
    """``n`` stored events numbered from ``first``."""
    seqs = np.arange(first, first + n, dtype=np.int64)
    return NewEvents(
        ["u1"] * n, [content_id] * n, [kind] * n, [None] * n, np.full(n, 2_000.0), seqs
    )


def _state(ranker: FeedRanker, version: str) -> LiveState:
    return LiveState(ranker, ModelVersion("m", version, Path(".")), NOW, "d", NOW)


def test_events_applied_during_a_load_are_replayed_onto_the_new_model() -> None:
    holder = StateHolder()
    holder.swap(_state(_ranker(3), "1"), replayed_through=0)
    holder.apply(_events("like", "b", 40, first=1))  # the load read the store through #40
    holder.apply(_events("like", "b", 40, first=41))  # applied while it loaded
    holder.apply(_events("share", "a", 1, first=81))
    fresh = _ranker(3)
    assert fresh.feed("u2", 2, as_of=2_000.0).items[0].content_id == "a"
    holder.swap(_state(fresh, "2"), replayed_through=40)
    live = holder.state
    assert live is not None and live.model_version.version == "2"
    assert live.ranker.feed("u2", 2, as_of=2_000.0).items[0].content_id == "b"
    assert live.ranker.audience.shared_by("u1") == ("a",)
    assert holder.cursor == 40 and holder.ahead == set(range(41, 82))


def test_each_stored_event_is_applied_once_whoever_brings_it() -> None:
    holder = StateHolder()
    holder.swap(_state(_ranker(3), "1"), replayed_through=10)
    assert holder.apply(_events("like", "b", 5, first=6)) == 0  # in the model already
    assert holder.apply(_events("like", "b", 3, first=11)) == 3  # own events: at once
    assert holder.ahead == {11, 12, 13}
    followed = _events("like", "b", 5, first=11)  # the follower reads #11-#15
    assert holder.apply(followed) == 2  # only #14 and #15 are new
    holder.advance(15)
    assert holder.cursor == 15 and holder.ahead == set()
    assert holder.apply(_events("like", "b", 15, first=1)) == 0
    assert holder.applied == 5


def test_without_a_live_state_events_wait_for_the_load() -> None:
    holder = StateHolder()
    assert holder.apply(_events("like", "b", 3)) == 0
    assert holder.applied == 0 and holder.ahead == set() and holder.journal.position == 0


# -- readiness and the pollers ----------------------------------------------------------------
@pytest.fixture
def make_client() -> Iterator:
    clients: list[TestClient] = []

    def start(deps: Dependencies) -> tuple[TestClient, AdvocacyService]:
        use_dependencies(lambda: deps)
        client = TestClient(service_app())
        client.__enter__()
        clients.append(client)
        return client, bentoml.get_current_service()  # type: ignore[return-value]

    yield start
    for client in clients:
        client.__exit__(None, None, None)
    use_dependencies(None)


def test_without_a_model_the_service_is_not_ready(make_client, sqlite_store, tmp_path) -> None:
    deps = Dependencies(
        store=sqlite_store,
        model_source=FolderSource(tmp_path / "empty", "advocacy-recommender"),
        tokens=Tokens.parse(f"{TOKEN}:frontend"),
        pollers=False,
    )
    client, _ = make_client(deps)
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503
    answer = client.post("/feed", json={"employee_id": "e1"}, headers=_auth())
    assert answer.status_code == 503 and "no recommender model" in answer.json()["error"]


def test_the_pollers_bring_new_content_live(make_client, sqlite_store, tmp_path) -> None:
    fill_store(sqlite_store)
    fit_model(sqlite_store, tmp_path / "model")
    deps = Dependencies(
        store=sqlite_store,
        model_source=FolderSource(tmp_path / "model", "advocacy-recommender"),
        tokens=Tokens.parse(f"{TOKEN}:frontend"),
        clock=lambda: NOW,
        catalogue_refresh=0.2,
        model_refresh=0.2,
    )
    client, _ = make_client(deps)
    fresh = content().iloc[[2]].assign(content_id="polled", published_at=iso(NOW))
    write_table(sqlite_store, "content", fresh)
    deadline = time.monotonic() + 30
    found = False
    while not found and time.monotonic() < deadline:
        answer = client.post("/feed", json={"employee_id": "e1", "k": 100}, headers=_auth())
        found = "polled" in [i["content_id"] for i in answer.json()["items"]]
        time.sleep(0.2)
    assert found


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


# -- the serve command --------------------------------------------------------------------------
def test_serve_refuses_a_bad_configuration(tmp_path: Path, monkeypatch) -> None:
    import typer
    from typer.testing import CliRunner

    from training.commands.serve import serve

    app = typer.Typer()
    app.command()(serve)
    monkeypatch.setenv("ADVOCACY_TOKENS", "short:admin")
    refused = CliRunner().invoke(app, ["--port", "3999"])
    assert refused.exit_code == 2 and "at least 16 characters" in refused.output
    assert "short" not in refused.output.replace("at least", "")
    monkeypatch.setenv("ADVOCACY_TOKENS", f"{TOKEN}:frontend")
    missing = CliRunner().invoke(app, ["--model-dir", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no saved model" in " ".join(missing.output.split())


def test_the_feed_body_is_what_the_response_schema_serialises() -> None:
    """``/feed`` answers a dict built without model objects: it must be FeedOut's JSON
    (without ``share_text``, which only a request naming ``share_text_network`` sets)."""
    from datetime import UTC, datetime

    from recsys.feed import Feed, FeedItem
    from recsys.reasons import FeedReason, ReasonKind
    from serving.feed_body import feed_body, json_time
    from serving.schemas import FeedOut

    now = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    reasons = (FeedReason(ReasonKind.AFFINITY, 0.7, "Similar to “X” you shared"),)
    items = (FeedItem("c1", "Title", 1.25, 1, reasons), FeedItem("c2", "", -0.5, 2, ()))
    feed = Feed("e1", items, False, now.timestamp())
    body = feed_body(feed, "advocacy-recommender@3", json_time(now))
    expected = FeedOut(
        employee_id="e1",
        items=[
            {
                "content_id": "c1",
                "title": "Title",
                "score": 1.25,
                "rank": 1,
                "reasons": [{"kind": "affinity", "text": "Similar to “X” you shared"}],
            },
            {"content_id": "c2", "title": "", "score": -0.5, "rank": 2, "reasons": []},
        ],
        cold_start=False,
        model_version="advocacy-recommender@3",
        as_of=now,
    )
    assert body == expected.model_dump(mode="json", exclude_unset=True)
    assert FeedOut.model_validate(body) == expected


def test_feed_responses_write_the_json_values_of_starlettes_json_response() -> None:
    """orjson writes feed bodies: compact UTF-8 JSON of the same values as ``JSONResponse``
    (floats round-trip exactly; only the spelling of some exponents differs)."""
    import json

    from starlette.responses import JSONResponse

    from serving.service import FeedResponse

    body = {
        "employee_id": "e1",
        "items": [
            {
                "content_id": "c1",
                "title": "Café “launch” – ünïcode ✓",
                "score": 0.1 + 0.2,
                "rank": 1,
                "reasons": [{"kind": "affinity", "text": "Similar to “X” you shared"}],
            },
            {"content_id": "c2", "title": "", "score": -1.5e-05, "rank": 2, "reasons": []},
        ],
        "cold_start": False,
        "model_version": "advocacy-recommender@3",
        "as_of": "2026-12-02T03:04:05Z",
    }
    response = FeedResponse(body)
    assert json.loads(response.body) == json.loads(JSONResponse(body).body) == body
    assert "Café “launch” – ünïcode ✓".encode() in response.body  # UTF-8, not escaped
    assert b": " not in response.body and b", " not in response.body
    assert response.media_type == "application/json"
