"""``/at_risk`` (``serving.at_risk`` through ``Runtime`` and ``to_asgi()``): the lapse forecast
of the store as of the current hour, equal to the library's, computed once per model version
and hour; the action from the advocate's own live feed; roles, 422 and 503 answers; an opt-out
counts at once; a new lapse model in the folder is picked up by the refresh."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from features.advocate_activity import forecast_lapse, read_activity
from features.data.reader import StoreReader
from features.data.store import Store
from features.snapshot import Snapshot
from recsys.forecast import LapseModel, feed_action, reason_action
from serving import at_risk as module
from serving.auth import Tokens
from serving.config import ServingConfig
from serving.dependencies import RECOMMENDER, Dependencies, dependencies_from_config
from serving.errors import NotReady, Unprocessable
from serving.forecasts import SERVED_FORECASTS
from serving.model_source import FolderSource
from serving.runtime import Runtime
from serving.service import use_dependencies
from tests.test_serving import auth
from tests.test_serving_data import NOW, served_organisation, service_app
from training.config import LapseConfig
from training.lapse_job import fit_lapse, lapse_activity

MANAGER = "manager-token-0123456789"
FRONTEND = "frontend-token-0123456789"
TOKENS = f"{MANAGER}:manager,{FRONTEND}:frontend"
LAPSE = SERVED_FORECASTS["lapse"].registered_name


def save_lapse(store: Store, folder: Path, *, C: float = 0.3) -> LapseModel:
    """The lapse model fitted on the store as of :data:`NOW` (as ``advocacy train`` fits it),
    saved in ``folder``."""
    settings = LapseConfig(C=C)
    model = fit_lapse(lapse_activity(Snapshot.load(StoreReader(store), NOW), settings), settings)
    model.save(folder)
    return model


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("at-risk")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    served_organisation(store, folder, employees=120)
    save_lapse(store, folder / "lapse")
    yield {"store": store, "folder": folder}
    store.dispose()


def _runtime(
    world: dict[str, object], *, lapse: Path | None = None, ranker: bool = True
) -> Runtime:
    folder = Path(str(world["folder"]))
    deps = Dependencies(
        store=world["store"],  # type: ignore[arg-type]
        model_source=FolderSource(folder / ("model" if ranker else "none"), RECOMMENDER),
        forecast_sources={"lapse": FolderSource(lapse or folder / "lapse", LAPSE)},
        tokens=Tokens.parse(TOKENS),
        clock=lambda: NOW,
        pollers=False,
    )
    runtime = Runtime(deps)
    if ranker:
        assert runtime.refresher.refresh_model()
    assert runtime.refresher.refresh_forecast("lapse") == (
        lapse is None or (lapse / "manifest.json").exists()
    )
    return runtime


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every forecast the service computes."""
    calls: list[object] = []
    real = module.forecast_lapse

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "forecast_lapse", counted)
    return calls


def test_the_forecast_is_the_librarys_once_per_version_and_hour(
    world: dict[str, object], computed: list[object]
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    runtime = _runtime(world)
    answer = runtime.at_risk(None, 0.0, None)
    expected = forecast_lapse(
        LapseModel.load(Path(str(world["folder"])) / "lapse"), read_activity(store, NOW)
    )
    assert answer.as_of == NOW and answer.model_version.startswith(f"{LAPSE}@dir-")
    assert answer.eligible == len(expected) > 10 and answer.horizon_days == 30.0
    assert [a.employee_id for a in answer.advocates] == [r.employee_id for r in expected]
    assert [a.probability for a in answer.advocates] == [
        pytest.approx(r.probability, abs=1e-6) for r in expected
    ]
    first = answer.advocates[0]
    assert [r.text for r in first.reasons] == [r["text"] for r in expected[0].reason_rows()]
    top = runtime.at_risk(5, 0.0, None)
    assert top.advocates == answer.advocates[:5]
    likely = runtime.at_risk(None, 0.6, None)
    assert all(a.probability >= 0.6 for a in likely.advocates)
    assert len(likely.advocates) == sum(r.probability >= 0.6 for r in expected)
    assert len(computed) == 1  # one forecast served every request of the hour
    status = runtime.status()
    assert status.lapse_model_version == answer.model_version


def test_the_action_is_the_advocates_own_feed(world: dict[str, object]) -> None:
    runtime = _runtime(world)
    answer = runtime.at_risk(10, 0.0, None)
    with_feed = [a for a in answer.advocates if a.suggested_content]
    assert with_feed, "the recommender knows the active advocates"
    for advocate in with_feed:
        feed = runtime.feed(advocate.employee_id, 3, None, None)
        items = feed["items"]
        assert [c.content_id for c in advocate.suggested_content] == [
            i["content_id"]
            for i in items  # type: ignore[index, union-attr]
        ]
        assert advocate.action == feed_action([c.title for c in advocate.suggested_content])
    without = _runtime(world, ranker=False).at_risk(10, 0.0, None)
    for advocate in without.advocates:  # no recommender: the first reason's action
        assert advocate.suggested_content == []
        assert advocate.action == reason_action(advocate.reasons[0].feature)


def test_department_filter_opt_out_and_refusals(world: dict[str, object]) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    runtime = _runtime(world, ranker=False)
    everyone = runtime.at_risk(None, 0.0, None)
    department = next(a.department for a in everyone.advocates if a.department)
    assert department is not None
    some = runtime.at_risk(None, 0.0, department.upper())
    assert some.advocates and all(a.department == department for a in some.advocates)
    assert some.eligible == sum(a.department == department for a in everyone.advocates)
    with pytest.raises(Unprocessable) as refused:
        runtime.at_risk(None, 0.0, "No Such Department")
    assert refused.value.field == "department"
    leaving = everyone.advocates[0].employee_id
    table = sa.table("advocates", sa.column("employee_id"), sa.column("opted_out"))
    with store.engine.begin() as conn:
        conn.execute(table.update().where(table.c.employee_id == leaving).values(opted_out=True))
    try:
        after = runtime.at_risk(None, 0.0, None)  # the same hour's forecast, without them
        assert leaving not in {a.employee_id for a in after.advocates}
        assert after.eligible == everyone.eligible - 1
    finally:
        with store.engine.begin() as conn:
            conn.execute(
                table.update().where(table.c.employee_id == leaving).values(opted_out=False)
            )


def test_no_lapse_model_is_not_ready(world: dict[str, object], tmp_path: Path) -> None:
    runtime = _runtime(world, lapse=tmp_path / "empty", ranker=False)
    with pytest.raises(NotReady, match="no lapse model"):
        runtime.at_risk(None, 0.0, None)
    assert runtime.status().lapse_model_version is None


def test_a_new_lapse_model_in_the_folder_is_picked_up(
    world: dict[str, object], tmp_path: Path, computed: list[object]
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    folder = tmp_path / "lapse"
    save_lapse(store, folder)
    runtime = _runtime(world, lapse=folder, ranker=False)
    before = runtime.at_risk(None, 0.0, None)
    assert not runtime.refresher.refresh_forecast("lapse")  # the same version: nothing loaded
    newer = save_lapse(store, folder, C=0.001)  # a strongly regularised champion
    stamp = os.stat(folder / "manifest.json").st_mtime_ns + 1_000_000
    os.utime(folder / "manifest.json", ns=(stamp, stamp))  # a rewrite within the same tick
    assert runtime.refresher.refresh_forecast("lapse")
    after = runtime.at_risk(None, 0.0, None)
    assert after.model_version != before.model_version
    expected = forecast_lapse(newer, read_activity(store, NOW))
    assert [a.probability for a in after.advocates] == [
        pytest.approx(r.probability, abs=1e-6) for r in expected
    ]
    assert [a.probability for a in after.advocates] != [a.probability for a in before.advocates]
    assert len(computed) == 2  # one forecast per version


def test_the_lapse_dir_setting(tmp_path: Path) -> None:
    config = ServingConfig.from_env(
        {
            "ADVOCACY_LAPSE_MODEL_DIR": str(tmp_path / "lapse"),
            "ADVOCACY_DB_URL": f"sqlite:///{tmp_path / 's.db'}",
        }
    )
    assert config.forecast_dirs == {"lapse": tmp_path / "lapse"}
    deps = dependencies_from_config(config)
    try:
        source = deps.forecast_sources["lapse"]
        assert isinstance(source, FolderSource) and source.folder == tmp_path / "lapse"
        assert source.name == LAPSE
    finally:
        deps.store.dispose()
    on_registry = dependencies_from_config(ServingConfig(db_url=f"sqlite:///{tmp_path / 's.db'}"))
    try:
        assert type(on_registry.forecast_sources["lapse"]).__name__ == "RegistrySource"
    finally:
        on_registry.store.dispose()


@contextmanager
def _service(store: object, model: Path, lapse: Path) -> Iterator[TestClient]:
    """The service through ``to_asgi()`` serving the recommender and lapse model folders."""
    deps = Dependencies(
        store=store,  # type: ignore[arg-type]
        model_source=FolderSource(model, RECOMMENDER),
        forecast_sources={"lapse": FolderSource(lapse, LAPSE)},
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


@pytest.fixture(scope="module")
def client(world: dict[str, object]) -> Iterator[TestClient]:
    folder = Path(str(world["folder"]))
    with _service(world["store"], folder / "model", folder / "lapse") as test_client:
        yield test_client


def test_at_risk_through_the_service(client: TestClient) -> None:
    answer = client.post("/at_risk", json={"top": 5}, headers=auth(MANAGER))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"advocates", "eligible", "horizon_days", "model_version", "as_of"}
    assert len(body["advocates"]) == 5 and body["as_of"].startswith("2026-11-26T12:00:00")
    probabilities = [a["probability"] for a in body["advocates"]]
    assert probabilities == sorted(probabilities, reverse=True)
    first = body["advocates"][0]
    assert set(first) == {
        "employee_id", "department", "probability", "reasons", "action", "suggested_content"
    }  # fmt: skip
    assert first["reasons"] and all(r["text"] for r in first["reasons"])
    assert first["action"]
    assert client.post("/at_risk", json={}, headers=auth(FRONTEND)).status_code == 403
    assert client.post("/at_risk", json={}).status_code == 401
    unknown = client.post("/at_risk", json={"department": "Nowhere"}, headers=auth(MANAGER))
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"][-1] == "department"
    for bad in ({"top": 0}, {"min_probability": 1.5}, {"top": "many"}):
        assert client.post("/at_risk", json=bad, headers=auth(MANAGER)).status_code == 400
    status = client.post("/status", json={}, headers=auth(MANAGER)).json()
    assert status["lapse_model_version"] == body["model_version"]


def test_the_spec_documents_at_risk(client: TestClient) -> None:
    spec = client.get("/docs.json").json()
    answers = spec["paths"]["/at_risk"]["post"]["responses"]
    assert {"200", "401", "403", "422", "503"} <= set(answers)
    assert "No lapse model is loaded" in answers["503"]["description"]


def test_no_lapse_model_answers_503(world: dict[str, object], tmp_path: Path) -> None:
    with _service(world["store"], tmp_path / "none", tmp_path / "none") as test_client:
        answer = test_client.post("/at_risk", json={}, headers=auth(MANAGER))
    assert answer.status_code == 503
    assert "no lapse model" in answer.text


def test_a_new_lapse_champion_in_the_registry_is_picked_up(
    world: dict[str, object], tmp_path: Path
) -> None:
    from serving.model_source import RegistrySource
    from tests.test_serving_registry import Models

    store: Store = world["store"]  # type: ignore[assignment]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    models = Models(uri, tmp_path / "artifacts")
    assert models.publish(LAPSE, Path(str(world["folder"])) / "lapse") == "1"
    deps = Dependencies(
        store=store,
        model_source=FolderSource(tmp_path / "none", RECOMMENDER),
        forecast_sources={
            "lapse": RegistrySource(LAPSE, tracking_uri=uri, cache_dir=tmp_path / "cache")
        },
        tokens=Tokens.parse(TOKENS),
        clock=lambda: NOW,
        pollers=False,
    )
    runtime = Runtime(deps)
    assert runtime.refresher.refresh_forecast("lapse")
    first = runtime.at_risk(None, 0.0, None)
    assert first.model_version == f"{LAPSE}@1"
    newer = save_lapse(store, tmp_path / "lapse-2", C=0.001)
    assert models.publish(LAPSE, tmp_path / "lapse-2", promote=False) == "2"
    assert not runtime.refresher.refresh_forecast("lapse")  # registered, not champion
    models.registry.promote(LAPSE, "2", reason="better")
    assert runtime.refresher.refresh_forecast("lapse")
    second = runtime.at_risk(None, 0.0, None)
    assert second.model_version == f"{LAPSE}@2"
    expected = forecast_lapse(newer, read_activity(store, NOW))
    assert [a.probability for a in second.advocates] == [
        pytest.approx(r.probability, abs=1e-6) for r in expected
    ]
    models.registry.rollback(LAPSE, reason="serving test")
    assert runtime.refresher.refresh_forecast("lapse")
    assert runtime.at_risk(None, 0.0, None) == first


def test_serve_refuses_a_lapse_dir_without_a_saved_model(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from training.cli import app

    done = CliRunner().invoke(app, ["serve", "--lapse-dir", str(tmp_path / "nothing")])
    assert done.exit_code == 2
    said = " ".join(done.output.split())  # the console wraps long lines
    assert "--lapse-dir" in said and "no saved model there" in said
