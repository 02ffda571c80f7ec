"""``/share_plan`` and ``/feed``'s ``suggest_times`` (``serving.share_plan`` through ``Runtime``
and ``to_asgi()``): slot models fitted on the served organisation's events and shares; the
times are the next starts of the planned slots, the lift is over the advocate's habit, an
item's slots are spread over colleagues; roles, 404 and 503; the default feed is unchanged;
a slot model rewritten in its folder is picked up by the refresh."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jsonschema_rs
import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

from features.data.contract import NETWORKS
from features.data.reader import StoreReader
from features.data.schema import CONTRACT_TABLES
from features.data.store import Store
from features.data.times import column_seconds
from features.snapshot import Snapshot
from recsys.forecast.share_plan import SharePlanModel
from recsys.forecast.slot_rates import SlotRateModel
from recsys.forecast.slots import SlotModel, hour_of_week
from serving import share_plan
from serving.auth import Tokens
from serving.config import ServingConfig
from serving.dependencies import RECOMMENDER, Dependencies, dependencies_from_config
from serving.errors import NotFound, NotReady
from serving.forecasts import SERVED_FORECASTS
from serving.model_source import FolderSource
from serving.runtime import Runtime
from serving.service import use_dependencies
from tests.test_serving import ADMIN, FRONTEND, MANAGER, TOKENS, auth
from tests.test_serving_data import NOW, served_organisation, service_app
from training.evaluation.slots_synthetic import share_rows

KEY = "slots"
SLOTS = SERVED_FORECASTS[KEY].registered_name


def slot_tables(store: Store) -> tuple[Snapshot, np.ndarray]:
    """The served organisation as of :data:`NOW` and each advocate's department position."""
    snapshot = Snapshot.load(StoreReader(store), NOW)
    departments = snapshot.advocates["department"].astype(str)
    return snapshot, np.unique(departments, return_inverse=True)[1].astype(np.int64)


def fit_activity(store: Store, *, half_life_days: float | None = None) -> SlotModel:
    """When each advocate is active, group = department: every event under ``"all"`` and
    each share again under its network (the bundle's activity model)."""
    snapshot, groups = slot_tables(store)
    events = snapshot.interactions
    person = pd.Index(snapshot.advocates["employee_id"]).get_indexer(events["employee_id"])
    known = (person >= 0) & (events["network"].notna() | (events["event_type"] != "share"))
    times = column_seconds(events["timestamp"])[known]
    shared = (events["event_type"] == "share").to_numpy() & known
    networks = np.concatenate(
        [np.full(int(known.sum()), "all", object), events["network"].to_numpy()[shared]]
    )
    all_times = np.concatenate([times, column_seconds(events["timestamp"])[shared]])
    who = np.concatenate([person[known], person[shared]])
    model = SlotModel(half_life_days)
    return model.fit(all_times, who, groups, networks=networks, now=NOW.timestamp())


def fit_rates(store: Store) -> SlotRateModel:
    """Engagement per share by slot and network (the synthetic benchmark's data)."""
    snapshot, _ = slot_tables(store)
    tables = {
        "advocates": snapshot.advocates,
        "interactions": snapshot.interactions,
        "share_outcomes": snapshot.share_outcomes,
    }
    shares, groups = share_rows(tables, int(NOW.timestamp()))
    names = np.array(NETWORKS, object)[shares["network"]]
    fit = (shares["time"], shares["person"], groups, shares["value"], names)
    return SlotRateModel().fit(*fit)


def save_slots(
    store: Store, folder: Path, *, rates: bool = True, half_life_days: float | None = None
) -> SharePlanModel:
    """The ``advocacy-slots`` bundle of the store as of :data:`NOW`, saved in ``folder``."""
    snapshot = slot_tables(store)[0]
    ids = [str(e) for e in snapshot.advocates["employee_id"]]
    names = sorted(set(snapshot.advocates["department"].astype(str)))
    activity = fit_activity(store, half_life_days=half_life_days)
    bundle = SharePlanModel(activity, fit_rates(store) if rates else None, ids, names)
    bundle.save(folder)
    return bundle


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("share-plan")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    served_organisation(store, folder, employees=120)
    save_slots(store, folder / "slots")
    yield {"store": store, "folder": folder}
    store.dispose()


def _deps(world: dict[str, object], slots: Path) -> Dependencies:
    folder = Path(str(world["folder"]))
    return Dependencies(
        store=world["store"],  # type: ignore[arg-type]
        model_source=FolderSource(folder / "model", RECOMMENDER),
        forecast_sources={KEY: FolderSource(slots, SLOTS)},
        tokens=Tokens.parse(TOKENS),
        clock=lambda: NOW,
        pollers=False,
    )


@pytest.fixture(scope="module")
def client(world: dict[str, object]) -> Iterator[TestClient]:
    deps = _deps(world, Path(str(world["folder"])) / "slots")
    use_dependencies(lambda: deps)
    try:
        with TestClient(service_app()) as served:
            yield served
    finally:
        use_dependencies(None)


def _plan(client: TestClient, token: str | None = FRONTEND, **body: object):
    return client.post("/share_plan", json=body, headers=auth(token) if token else {})


def _active(store: Store) -> tuple[str, str, list[str]]:
    """An advocate with events, an item they may share, and their department colleagues."""
    snapshot, groups = slot_tables(store)
    counts = snapshot.interactions["employee_id"].value_counts()
    ids = snapshot.advocates["employee_id"].astype(str).tolist()
    chosen = next(e for e in counts.index if e in ids and str(e).startswith("emp"))
    group = groups[ids.index(chosen)]
    colleagues = [e for e, g in zip(ids, groups, strict=True) if g == group]
    content = str(snapshot.content["content_id"].iloc[0])
    return str(chosen), content, colleagues


def test_the_plan_gives_next_times_of_the_best_slots_with_the_lift_over_the_habit(
    client: TestClient, world: dict[str, object]
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    employee, content, _ = _active(store)
    answer = _plan(client, employee_id=employee, content_id=content)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["reason"] == "" and body["model_version"].startswith(f"{SLOTS}@dir-")
    assert body["networks"] and body["suggested_network"] == body["networks"][0]["network"]
    bundle = SharePlanModel.load(Path(str(world["folder"])) / "slots")
    assert bundle.rates is not None
    row = int(bundle.positions([employee])[0])
    best = max(body["networks"], key=lambda n: bundle.rates.rates([row], n["network"]).max())
    assert body["suggested_network"] == best["network"]
    for network in body["networks"]:
        rates = bundle.rates.rates([row], network["network"])[0]
        on = network["network"] if network["network"] in bundle.networks else "all"
        habit = int(bundle.activity.habit([row], on)[0])
        habit = habit if habit >= 0 else int(bundle.activity.habit([row], "all")[0])
        assert network["basis"] == "engagement" and network["habit_source"] == "own"
        assert network["habit_slot"] == habit and network["why"].startswith(network["network"])
        assert network["habit_expected_engagement"] == pytest.approx(rates[habit], rel=1e-9)
        assert len(network["slots"]) == share_plan.SLOTS
        assert len({s["slot"] for s in network["slots"]}) == share_plan.SLOTS
        for slot in network["slots"]:
            at = pd.Timestamp(slot["at"]).to_pydatetime()
            assert NOW < at <= NOW + timedelta(days=7) and at.minute == 0
            assert int(hour_of_week([at.timestamp()])[0]) == slot["slot"]
            assert slot["expected_engagement"] == pytest.approx(rates[slot["slot"]], rel=1e-9)
            assert slot["lift"] == pytest.approx(
                slot["expected_engagement"] / network["habit_expected_engagement"] - 1, rel=1e-9
            )
            above = rates > rates[slot["slot"]]
            tied = (rates == rates[slot["slot"]]) & (np.arange(len(rates)) < slot["slot"])
            assert slot["rank_alone"] == 1 + int(above.sum() + tied.sum())
    again = _plan(client, employee_id=employee, content_id=content).json()
    assert again == body  # deterministic


def test_an_item_s_slots_are_spread_over_colleagues(
    client: TestClient, world: dict[str, object]
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    _, content, colleagues = _active(store)
    assert len(colleagues) > share_plan.COHORT
    network = None
    firsts: dict[int, int] = {}
    by_slot: dict[int, int] = {}
    for employee in colleagues:
        body = _plan(client, employee_id=employee, content_id=content).json()
        plan = body["networks"][0] if network is None else _on(body, network)
        network = plan["network"]
        firsts[plan["slots"][0]["slot"]] = firsts.get(plan["slots"][0]["slot"], 0) + 1
        for slot in plan["slots"]:
            by_slot[slot["slot"]] = by_slot.get(slot["slot"], 0) + 1
    cohorts = math.ceil(len(colleagues) / share_plan.COHORT)
    assert max(by_slot.values()) <= cohorts  # one colleague per cohort and hour at most
    assert len(firsts) > 1  # colleagues do not all get the same first hour
    # a cohort holds distinct hours only
    planner = share_plan.load_slot_planner(Path(str(world["folder"])) / "slots")
    assert planner.rates is not None
    position = planner.position(colleagues[0])
    assert position is not None
    cohort, _ = planner.cohort(position, content)
    hours = [
        s.slot
        for p in cohort
        for s in planner.network_plan(int(p), content, str(network), NOW).slots
    ]
    assert len(hours) == len(set(hours)) == len(cohort) * share_plan.SLOTS
    other, _ = planner.cohort(position, content + "-other")
    assert len(other) <= share_plan.COHORT


def _on(body: dict, network: str) -> dict:
    return next(n for n in body["networks"] if n["network"] == network)


def test_roles_and_unknown_ids(client: TestClient, world: dict[str, object]) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    employee, content, _ = _active(store)
    for token in (FRONTEND, MANAGER, ADMIN):
        assert _plan(client, token, employee_id=employee, content_id=content).status_code == 200
    assert _plan(client, None, employee_id=employee, content_id=content).status_code == 401
    for body, field in (
        ({"employee_id": "nobody", "content_id": content}, "employee_id"),
        ({"employee_id": employee, "content_id": "nothing"}, "content_id"),
    ):
        answer = _plan(client, **body)
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"][0]["loc"] == [field]
    spec = client.get("/docs.json").json()
    responses = spec["paths"]["/share_plan"]["post"]["responses"]
    assert {"200", "404", "503"} <= set(responses) and "403" not in responses
    answer = _plan(client, employee_id=employee, content_id=content).json()
    assert _conforms(spec, "SharePlanOut", answer) == []


def _conforms(spec: dict, component: str, body: object) -> list[str]:
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return [error.message for error in validator.iter_errors(body)]


def test_the_feed_suggests_times_only_when_asked(
    client: TestClient, world: dict[str, object]
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    employee, _, _ = _active(store)
    plain = client.post("/feed", json={"employee_id": employee, "k": 5}, headers=auth())
    explicit = client.post(
        "/feed", json={"employee_id": employee, "k": 5, "suggest_times": False}, headers=auth()
    )
    assert plain.status_code == 200 and plain.content == explicit.content  # byte-identical
    assert b"suggested_" not in plain.content
    asked = client.post(
        "/feed", json={"employee_id": employee, "k": 5, "suggest_times": True}, headers=auth()
    )
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert [i["content_id"] for i in body["items"]] == [
        i["content_id"] for i in plain.json()["items"]
    ]
    spec = client.get("/docs.json").json()
    assert _conforms(spec, "FeedOut", body) == []
    for item in body["items"]:
        plan = _plan(client, employee_id=employee, content_id=item["content_id"]).json()
        assert item["suggested_network"] == plan["suggested_network"] is not None
        assert item["suggested_times"] == [s["at"] for s in plan["networks"][0]["slots"]]
    cold = client.post(
        "/feed", json={"employee_id": "new-hire", "k": 3, "suggest_times": True}, headers=auth()
    ).json()  # unknown to the models: the organisation's slots
    assert all(len(i["suggested_times"]) == share_plan.SLOTS for i in cold["items"])


def test_without_rates_the_activity_ranks_and_unknown_advocates_get_the_organisation_s(
    world: dict[str, object], tmp_path: Path
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    bundle = save_slots(store, tmp_path / "slots", rates=False)
    runtime = Runtime(_deps(world, tmp_path / "slots"))
    assert runtime.refresher.refresh_forecast(KEY)
    employee, content, _ = _active(store)
    answer = runtime.share_plans.answer(employee, content)
    row = int(bundle.positions([employee])[0])
    assert answer.networks
    for network in answer.networks:
        on = network.network if network.network in bundle.networks else "all"
        scores = bundle.activity.scores([row], on)[0]
        assert network.basis == "activity"
        for slot in network.slots:
            assert slot.expected_engagement == pytest.approx(scores[slot.slot], rel=1e-9)
    # an advocate of the store the models do not know: the organisation's level, no spread
    planner = runtime.holder.forecast(KEY).model  # type: ignore[union-attr]
    plan = planner.plan("newcomer", content, [], NOW)  # type: ignore[attr-defined]
    assert plan.suggested_network is not None
    for network in plan.networks:
        assert network.habit_source == "organisation" and network.cohort == 1
        assert [s.rank_alone for s in network.slots] == [1, 2, 3]


def test_no_slot_model_is_not_ready(world: dict[str, object], tmp_path: Path) -> None:
    runtime = Runtime(_deps(world, tmp_path / "empty"))
    assert not runtime.refresher.refresh_forecast(KEY)
    with pytest.raises(NotReady, match="no slot model"):
        runtime.share_plans.answer("e1", "c01")
    assert runtime.status().slots_model_version is None
    assert runtime.share_plans.for_feed("e1", [("c01", [])], NOW) == [(None, [])]


def test_a_slot_model_rewritten_in_the_folder_is_picked_up(
    world: dict[str, object], tmp_path: Path
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    folder = tmp_path / "slots"
    save_slots(store, folder)
    runtime = Runtime(_deps(world, folder))
    assert runtime.refresher.refresh_forecast(KEY)
    assert not runtime.refresher.refresh_forecast(KEY)  # the same version: nothing loaded
    employee, content, _ = _active(store)
    before = runtime.share_plans.answer(employee, content)
    assert runtime.status().slots_model_version == before.model_version
    save_slots(store, folder, half_life_days=3.0)  # recent events weigh more
    stamp = os.stat(folder / "manifest.json").st_mtime_ns + 1_000_000
    os.utime(folder / "manifest.json", ns=(stamp, stamp))  # a rewrite within the same tick
    assert runtime.refresher.refresh_forecast(KEY)
    after = runtime.share_plans.answer(employee, content)
    assert after.model_version != before.model_version
    assert runtime.status().slots_model_version == after.model_version
    planner = runtime.holder.forecast(KEY).model  # type: ignore[union-attr]
    assert planner.activity.half_life_days == 3.0  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        runtime.share_plans.answer("nobody", content)


def test_the_slots_dir_setting(tmp_path: Path) -> None:
    config = ServingConfig.from_env(
        {
            "ADVOCACY_SLOTS_MODEL_DIR": str(tmp_path / "slots"),
            "ADVOCACY_DB_URL": f"sqlite:///{tmp_path / 's.db'}",
        }
    )
    assert config.forecast_dirs[KEY] == tmp_path / "slots"
    deps = dependencies_from_config(config)
    try:
        source = deps.forecast_sources[KEY]
        assert isinstance(source, FolderSource)
        assert source.folder == tmp_path / "slots" and source.name == SLOTS
    finally:
        deps.store.dispose()


def test_serve_refuses_a_slots_dir_without_a_saved_model(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from training.cli import app

    done = CliRunner().invoke(app, ["serve", "--slots-dir", str(tmp_path / "nothing")])
    assert done.exit_code == 2
    said = " ".join(done.output.split())  # the console wraps long lines
    assert "--slots-dir" in said and "no saved model there" in said


def test_the_slots_job_champion_is_served_from_the_registry(
    world: dict[str, object], tmp_path: Path
) -> None:
    """What ``advocacy train`` registers as ``advocacy-slots`` (the job's bundle) is loaded
    from the registry's champion and replaced by a newer champion between requests."""
    from serving.model_source import RegistrySource
    from tests.test_serving_registry import Models
    from training.config import SlotsConfig
    from training.slots_job import train_slots

    store: Store = world["store"]  # type: ignore[assignment]
    snapshot = Snapshot.load(StoreReader(store), NOW)
    trained, _ = train_slots(snapshot, SlotsConfig(holdout_days=14.0, min_scored=1))
    trained.save(tmp_path / "job")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    models = Models(uri, tmp_path / "artifacts")
    assert models.publish(SLOTS, tmp_path / "job") == "1"
    deps = dataclasses.replace(
        _deps(world, tmp_path / "none"),
        forecast_sources={KEY: RegistrySource(SLOTS, tracking_uri=uri, cache_dir=tmp_path / "c")},
    )
    runtime = Runtime(deps)
    assert runtime.refresher.refresh_forecast(KEY)
    employee, content, _ = _active(store)
    first = runtime.share_plans.answer(employee, content)
    assert first.model_version == f"{SLOTS}@1" and first.networks
    assert runtime.status().slots_model_version == f"{SLOTS}@1"
    assert models.publish(SLOTS, Path(str(world["folder"])) / "slots") == "2"
    assert runtime.refresher.refresh_forecast(KEY)
    assert runtime.share_plans.answer(employee, content).model_version == f"{SLOTS}@2"


def test_an_advocate_who_opts_out_after_training_gets_the_organisation_s_times(
    world: dict[str, object], tmp_path: Path
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    _, content, _ = _active(store)
    runtime = Runtime(_deps(world, Path(str(world["folder"])) / "slots"))
    assert runtime.refresher.refresh_forecast(KEY)
    items = [(content, []), (content, ["linkedin"])]
    organisation = runtime.share_plans.for_feed("not-an-advocate", items, NOW)
    ids = slot_tables(store)[0].advocates["employee_id"].astype(str)
    employee = next(  # an advocate whose own hours are not the organisation's
        e for e in ids if runtime.share_plans.for_feed(e, items, NOW) != organisation
    )
    advocates = CONTRACT_TABLES["advocates"]

    def opt_out(value: bool) -> None:
        with store.engine.begin() as conn:
            row = advocates.c.employee_id == employee
            conn.execute(advocates.update().where(row).values(opted_out=value))

    opt_out(True)
    try:
        assert runtime.share_plans.for_feed(employee, items, NOW) == organisation
    finally:
        opt_out(False)
    assert runtime.share_plans.for_feed(employee, items, NOW) != organisation
