"""``/content_forecast`` and ``/content_forecast_draft`` (``serving.content_forecast`` through
``Runtime`` and ``to_asgi()``): the library's forecast of the store's items and of a typed
draft, the newest items (the draft of the store included), roles, 404/422/503 answers, the
published spec, the folder setting and a new model in the folder picked up by the refresh."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from features.content_forecaster import ContentForecaster, draft_row
from features.data.reader import StoreReader
from features.data.store import Store
from features.snapshot import Snapshot
from serving.auth import Tokens
from serving.config import ServingConfig
from serving.content_forecast import ContentForecastViews, Draft
from serving.dependencies import RECOMMENDER, Dependencies, dependencies_from_config
from serving.errors import NotFound, NotReady
from serving.forecasts import SERVED_FORECASTS
from serving.model_source import FolderSource
from serving.runtime import Runtime
from serving.service import use_dependencies
from tests.test_serving import auth
from tests.test_serving_data import NOW, served_organisation, service_app
from training.config import ContentForecastConfig
from training.content_forecast_job import fit_content_forecast

MANAGER = "manager-token-0123456789"
FRONTEND = "frontend-token-0123456789"
TOKENS = f"{MANAGER}:manager,{FRONTEND}:frontend"
KEY = "content_forecast"
CONTENT_FORECAST = SERVED_FORECASTS[KEY].registered_name
#: The served organisation is small (60 generated items over 90 days): a shorter warm-up.
SETTINGS = ContentForecastConfig(min_items=20, warmup_days=14.0)


def save_forecast(store: Store, folder: Path, *, alpha: float = 30.0) -> ContentForecaster:
    """The content forecast fitted on the store as of :data:`NOW` (as ``advocacy train`` fits
    it), saved in ``folder``."""
    settings = SETTINGS.model_copy(update={"params": {"alpha": alpha}})
    snapshot = Snapshot.load(StoreReader(store), NOW)
    forecaster = fit_content_forecast(snapshot, settings, store=store)
    forecaster.save(folder)
    return forecaster


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("content-forecast")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    served_organisation(store, folder, employees=120)
    save_forecast(store, folder / "forecast")
    yield {"store": store, "folder": folder}
    store.dispose()


def _runtime(world: dict[str, object], forecast: Path | None = None) -> Runtime:
    folder = Path(str(world["folder"]))
    deps = Dependencies(
        store=world["store"],  # type: ignore[arg-type]
        model_source=FolderSource(folder / "none", RECOMMENDER),
        forecast_sources={KEY: FolderSource(forecast or folder / "forecast", CONTENT_FORECAST)},
        tokens=Tokens.parse(TOKENS),
        clock=lambda: NOW,
        pollers=False,
    )
    runtime = Runtime(deps)
    runtime.refresher.refresh_forecast(KEY)
    return runtime


def test_the_forecast_of_given_items_is_the_librarys(world: dict[str, object]) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    runtime = _runtime(world)
    ids = ["c05", "c12", "c01"]
    answer = runtime.content_forecast_views.answer(ids, 7.0, 100)
    library = ContentForecaster.load(Path(str(world["folder"])) / "forecast")
    expected = library.forecast(store, ids, as_of=NOW)
    assert [i.content_id for i in answer.items] == ids
    assert answer.model_version.startswith(f"{CONTENT_FORECAST}@dir-") and answer.level == 0.8
    for item, outlook in zip(answer.items, expected, strict=True):
        for target in ("shares", "reach", "clicks"):
            out = getattr(item, target)
            assert out.expected == pytest.approx(outlook.expected[target], abs=1e-4)
            assert out.lower <= out.expected <= out.upper
            assert out.upper == pytest.approx(outlook.upper[target], abs=1e-4)
    draft = answer.items[1]
    assert draft.approval_status == "draft" and draft.title
    assert runtime.status().content_forecast_model_version == answer.model_version
    with pytest.raises(NotFound) as unknown:
        runtime.content_forecast_views.answer(["c01", "nope"], 7.0, 100)
    assert unknown.value.field == "content_ids"


def test_the_newest_items_are_the_drafts_and_the_last_days(world: dict[str, object]) -> None:
    answer = _runtime(world).content_forecast_views.answer(None, 7.0, 100)
    assert answer.items, "the served organisation publishes every week"
    assert "c12" in {i.content_id for i in answer.items}  # the store's draft
    published = [i.published_at for i in answer.items]
    assert published == sorted(published, reverse=True)
    week_ago = NOW - timedelta(days=7)
    assert all(i.approval_status == "draft" or i.published_at >= week_ago for i in answer.items)
    assert len(_runtime(world).content_forecast_views.answer(None, 7.0, 2).items) == 2


def test_a_typed_draft_is_forecast_as_the_library_does(world: dict[str, object]) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    planned = NOW + timedelta(days=2)
    typed = Draft("Our new product line", "product", planned, topics=("ai", "cloud"))
    answer = _runtime(world).content_forecast_views.draft(typed)
    library = ContentForecaster.load(Path(str(world["folder"])) / "forecast")
    row = draft_row(
        title=typed.title, content_type="product", published_at=planned, topics=typed.topics
    )
    expected = library.forecast_frame(store, row, as_of=NOW)[0]
    (item,) = answer.items
    assert item.outlook.expected == pytest.approx(expected.expected)
    assert item.outlook.moment == NOW and item.published_at == planned


def test_no_content_forecast_is_not_ready(world: dict[str, object], tmp_path: Path) -> None:
    runtime = _runtime(world, forecast=tmp_path / "empty")
    with pytest.raises(NotReady, match="no content forecast"):
        runtime.content_forecast_views.answer(None, 7.0, 10)
    assert runtime.status().content_forecast_model_version is None


def test_a_new_content_forecast_in_the_folder_is_picked_up(
    world: dict[str, object], tmp_path: Path
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    folder = tmp_path / "forecast"
    save_forecast(store, folder)
    runtime = _runtime(world, forecast=folder)
    before = runtime.content_forecast_views.answer(["c05"], 7.0, 10)
    assert not runtime.refresher.refresh_forecast(KEY)  # the same version
    save_forecast(store, folder, alpha=1000.0)  # a strongly regularised champion
    stamp = os.stat(folder / "manifest.json").st_mtime_ns + 1_000_000
    os.utime(folder / "manifest.json", ns=(stamp, stamp))  # a rewrite within the same tick
    assert runtime.refresher.refresh_forecast(KEY)
    after = runtime.content_forecast_views.answer(["c05"], 7.0, 10)
    assert after.model_version != before.model_version
    assert after.items[0].shares.expected != before.items[0].shares.expected


def test_the_content_forecast_dir_setting(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    config = ServingConfig.from_env(
        {"ADVOCACY_CONTENT_FORECAST_DIR": str(tmp_path / "cf"), "ADVOCACY_DB_URL": db}
    )
    deps = dependencies_from_config(config)
    try:
        source = deps.forecast_sources[KEY]
        assert isinstance(source, FolderSource) and source.folder == tmp_path / "cf"
        assert source.name == CONTENT_FORECAST
    finally:
        deps.store.dispose()
    on_registry = dependencies_from_config(ServingConfig(db_url=db))
    try:
        assert type(on_registry.forecast_sources[KEY]).__name__ == "RegistrySource"
    finally:
        on_registry.store.dispose()


@contextmanager
def _service(store: object, forecast: Path) -> Iterator[TestClient]:
    deps = Dependencies(
        store=store,  # type: ignore[arg-type]
        model_source=FolderSource(forecast.parent / "none", RECOMMENDER),
        forecast_sources={KEY: FolderSource(forecast, CONTENT_FORECAST)},
        tokens=Tokens.parse(TOKENS),
        clock=lambda: NOW,
        pollers=False,
    )
    use_dependencies(lambda: deps)
    try:
        with TestClient(service_app()) as test_client:  # type: ignore[arg-type]
            yield test_client
    finally:
        use_dependencies(None)


def test_the_endpoints_through_the_service(world: dict[str, object], tmp_path: Path) -> None:
    folder = Path(str(world["folder"]))
    with _service(world["store"], folder / "forecast") as client:
        answer = client.post(
            "/content_forecast", json={"content_ids": ["c05"]}, headers=auth(MANAGER)
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"items", "level", "model_version", "as_of"}
        (item,) = body["items"]
        assert set(item["shares"]) == {"expected", "lower", "upper"}
        newest = client.post("/content_forecast", json={"days": 3}, headers=auth(MANAGER))
        assert newest.status_code == 200 and newest.json()["items"]
        draft = {"title": "Hiring in Berlin", "content_type": "job", "topics": ["careers"]}
        draft |= {"published_at": "2026-11-28T09:00:00Z"}
        typed = client.post("/content_forecast_draft", json={"draft": draft}, headers=auth(MANAGER))
        assert typed.status_code == 200, typed.text
        assert typed.json()["items"][0]["approval_status"] == "draft"
        assert client.post("/content_forecast", json={}, headers=auth(FRONTEND)).status_code == 403
        assert client.post("/content_forecast", json={}).status_code == 401
        unknown = client.post(
            "/content_forecast", json={"content_ids": ["nope"]}, headers=auth(MANAGER)
        )
        assert unknown.status_code == 404
        assert unknown.json()["detail"][0]["loc"] == ["content_ids"]
        for bad in ({"content_ids": []}, {"days": 0}, {"limit": "many"}):
            assert (
                client.post("/content_forecast", json=bad, headers=auth(MANAGER)).status_code == 400
            )
        no_time = {"draft": {"title": "x", "content_type": "job"}}
        assert (
            client.post("/content_forecast_draft", json=no_time, headers=auth(MANAGER)).status_code
            == 400
        )
        far = {"draft": draft | {"published_at": "0001-01-01T00:00:00Z"}}
        refused = client.post("/content_forecast_draft", json=far, headers=auth(MANAGER))
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["published_at"]
        status = client.post("/status", json={}, headers=auth(MANAGER)).json()
        assert status["content_forecast_model_version"] == body["model_version"]
        spec = client.get("/docs.json").json()
        for path in ("/content_forecast", "/content_forecast_draft"):
            answers = spec["paths"][path]["post"]["responses"]
            assert {"200", "401", "403", "503"} <= set(answers)
            assert "No content forecast is loaded" in answers["503"]["description"]
    with _service(world["store"], tmp_path / "none") as client:
        answer = client.post("/content_forecast", json={}, headers=auth(MANAGER))
        assert answer.status_code == 503 and "no content forecast" in answer.text


def test_a_loaded_content_forecast_warms_its_store_reads(world: dict[str, object]) -> None:
    views = _runtime(world).content_forecast_views
    assert views.reads.windows_kept == 0
    views.warm().join(120)
    kept = views.reads.windows_kept
    assert kept > 0
    views.answer(None, 7.0, 100)
    assert views.reads.windows_kept == kept  # the newest items' windows were all kept
    views.forget()  # an employee was erased: nothing read before is kept
    assert views.reads.windows_kept == 0

    folder = Path(str(world["folder"]))
    polling = Runtime(
        Dependencies(
            store=world["store"],  # type: ignore[arg-type]
            model_source=FolderSource(folder / "none", RECOMMENDER),
            forecast_sources={KEY: FolderSource(folder / "forecast", CONTENT_FORECAST)},
            tokens=Tokens.parse(TOKENS),
            clock=lambda: NOW,
            pollers=True,
        )
    )
    assert polling.refresher.refresh_forecast(KEY)  # a polling service warms on load
    for _ in range(600):
        if polling.content_forecast_views.reads.windows_kept >= kept:
            break
        time.sleep(0.1)
    assert polling.content_forecast_views.reads.windows_kept == kept


def test_the_kept_reads_are_renewed_in_the_background(world: dict[str, object]) -> None:
    runtime = _runtime(world)
    views = ContentForecastViews(
        runtime.content_forecast_views.store, runtime.holder, lambda: NOW, renew=0.2
    )
    views.warm().join(120)
    first = views.reads
    assert first.windows_kept > 0
    for _ in range(600):  # the renewal replaces them with reads made afresh
        if views.reads is not first:
            break
        time.sleep(0.1)
    assert views.reads is not first and views.reads.windows_kept == first.windows_kept
    views.stop()
    stopped = views.reads
    time.sleep(1.0)
    assert views.reads is stopped  # no renewal after stop
