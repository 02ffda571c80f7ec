"""The best time to share in ``advocacy train``: the last weeks held out (``SlotModel`` against
the organisation's and the advocate's own most frequent hours, ``SlotRateModel`` against the
organisation's observed rates), the bundle shipped; logged, registered as ``advocacy-slots``,
first-promoted, gated on ``gate.slots_metric`` and rolled back like the other forecasts (real
MLflow on SQLite); too little history skips it with a message and the other models train."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.data.reader import StoreReader
from features.data.store import Store
from features.snapshot import Snapshot
from recsys.forecast import SharePlanModel
from tests.test_training_pipeline import quick_config
from tests.test_training_support import encoder  # noqa: F401 (fixture)
from training.cli import app
from training.config import SlotsConfig
from training.forecast_jobs import jobs
from training.pipeline import train
from training.registry import LAPSE, RECOMMENDER, SLOTS, champion
from training.registry_reader import CONTENT_FORECAST
from training.retrain import first_champions, retrain
from training.slots_job import InsufficientSlotHistory, train_slots
from training.tracking import Tracker, log_training

END = datetime(2026, 11, 1, tzinfo=UTC)
ACTIVITY = {"slots", "organisation", "own", "own_then_org"}
#: A quick training: popularity, no baselines, no lapse forecast, the best time to share.
QUICK = {
    "data.as_of": END.isoformat(),
    "recommender.model": "popular",
    "recommender.params": {},
    "recommender.baselines": [],
    "data.min_test_pairs": 5,
    "lapse.enabled": False,
    "slots.enabled": True,
    "content_forecast.enabled": False,
}


@pytest.fixture(scope="module")
def slots_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """150 employees over 90 days with planted slot effects on the shares' engagement."""
    from features.data.importer import import_path
    from features.data.synthetic import OrgConfig, generate, write
    from features.data.validation import ValidationContext

    folder = tmp_path_factory.mktemp("slots_org")
    config = OrgConfig(
        employees=150,
        content=40,
        days=90,
        seed=3,
        end=END,
        interactions_per_employee=60,
        slot_effect=0.4,
    )
    write(generate(config), folder / "org")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    context = ValidationContext(END + timedelta(days=1), timedelta(hours=1))
    assert import_path(store, folder / "org", context=context).exit_code == 0
    yield store
    store.dispose()


def snapshot(store: Store) -> Snapshot:
    return Snapshot.load(StoreReader(store), END)


def test_the_jobs_are_named_as_the_registry_names_them() -> None:
    assert [(job.short, job.name) for job in jobs()] == [
        ("lapse", LAPSE),
        ("slots", SLOTS),
        ("content_forecast", CONTENT_FORECAST),
    ]


def test_the_last_weeks_are_held_out_and_the_bundle_sees_everything(
    slots_org: Store, tmp_path: Path
) -> None:
    taken = snapshot(slots_org)
    model, evaluation = train_slots(taken, SlotsConfig())
    protocol = evaluation["protocol"]
    cut_off = pd.Timestamp(protocol["cut_off"])
    assert cut_off <= END and pd.Timestamp(protocol["held_out_from"]) == cut_off - pd.Timedelta(
        days=28
    )
    models = evaluation["models"]
    assert ACTIVITY | {"slot_rates", "organisation_rates"} == set(models)
    for name in ACTIVITY:
        assert models[name]["n"] == models["slots"]["n"] >= 20
        assert 0 <= models[name]["hours@k"] <= 1 and 0 <= models[name]["next@k"] <= 1
    assert models["slot_rates"]["shares"] == models["organisation_rates"]["shares"] > 0
    assert protocol["rates"]["shares_before"] > protocol["rates"]["shares_after"] > 0
    assert model.networks[0] == "all" and "linkedin" in model.networks
    assert model.rates is not None and "linkedin" in model.rates.networks_
    assert model.training["cut_off"] == protocol["cut_off"]
    profiled = taken.profiled_advocates["employee_id"].tolist()
    assert model.training["advocates"] == len(model.employee_ids) == len(profiled) < 150
    assert model.employee_ids.tolist() == profiled  # opted-out advocates are not profiled
    # the saved folder gives the same plans
    loaded = SharePlanModel.load(model.save(tmp_path / "slots"))
    ids = [*model.employee_ids[:20].tolist(), "nobody"]
    for network in (None, "linkedin"):
        mine, theirs = loaded.plan(ids, 3, network), model.plan(ids, 3, network)
        np.testing.assert_array_equal(mine.slots, theirs.slots)
        np.testing.assert_array_equal(mine.rate, theirs.rate)
    # the same configuration on the same snapshot: the same figures (the retrain gate relies
    # on it)
    _, again = train_slots(snapshot(slots_org), SlotsConfig())
    for name in models:
        assert {k: v for k, v in again["models"][name].items() if k != "seconds"} == {
            k: v for k, v in models[name].items() if k != "seconds"
        }


def test_too_little_history_skips_the_slots_and_trains_the_rest(
    slots_org: Store,
    encoder,  # noqa: F811
) -> None:
    with pytest.raises(InsufficientSlotHistory, match="need 10000"):
        train_slots(snapshot(slots_org), SlotsConfig(min_scored=10_000))
    config = quick_config(**QUICK, **{"slots.min_scored": 10_000})
    result = train(snapshot(slots_org), config, encoder=encoder, cache=slots_org)
    skipped = result.forecast("slots")
    assert skipped.model is None and "too little history" in (skipped.skipped or "")
    assert result.forecast_summaries()["slots"] == {"skipped": skipped.skipped}
    assert result.recommender is not None and result.primary_metric is not None
    disabled = train(
        snapshot(slots_org),
        quick_config(**(QUICK | {"slots.enabled": False})),
        encoder=encoder,
        cache=slots_org,
    )
    assert disabled.forecast_summaries() == {"lapse": None, "slots": None, "content_forecast": None}


def test_train_logs_registers_and_first_promotes_the_slots_model(
    slots_org: Store,
    encoder,  # noqa: F811
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, artifact_root=(tmp_path / "artifacts").as_uri())
    result = train(snapshot(slots_org), quick_config(**QUICK), encoder=encoder, cache=slots_org)
    tracked = log_training(tracker, result, source=slots_org.url)
    assert SLOTS in tracked.versions and LAPSE not in tracked.versions
    metrics = tracker.client.get_run(tracked.run_id).data.metrics
    evaluation = result.forecast("slots").evaluation or {}
    for name in ACTIVITY:
        value = evaluation["models"][name]["hours@k"]
        assert metrics[f"slots.{name}.hours_at_k"] == pytest.approx(value)
    assert metrics["slots.slot_rates.corr"] == pytest.approx(
        evaluation["models"]["slot_rates"]["corr"]
    )
    assert "seconds.slots" in metrics
    events = first_champions(tracker, result, tracked.versions)
    assert {e["model"]: e["action"] for e in events}[SLOTS] == "promote"
    assert tracker.client.get_registered_model(SLOTS).description.startswith("Best time")
    ref = champion(SLOTS, tracking_uri=uri, dst=tmp_path / "models")
    assert ref is not None and ref.version == tracked.versions[SLOTS]
    loaded = SharePlanModel.load(ref.path)
    shipped = result.forecast("slots").model
    ids = shipped.employee_ids[:5].tolist()
    np.testing.assert_array_equal(loaded.plan(ids, 3).slots, shipped.plan(ids, 3).slots)
    mlflow.set_tracking_uri(uri)
    try:
        pyfunc = mlflow.pyfunc.load_model(f"models:/{SLOTS}@champion")
    finally:
        mlflow.set_tracking_uri(None)
    frame = pd.DataFrame({"employee_id": [ids[0], "nobody"], "network": ["linkedin", None]})
    out = pyfunc.predict(frame)
    assert list(out.columns) == [
        "employee_id",
        "network",
        "rank",
        "slot",
        "slot_name",
        "lift",
        "rate",
        "known",
    ]
    assert out["rank"].tolist() == [1, 2, 3, 1, 2, 3]
    assert out["network"].tolist() == ["linkedin"] * 3 + ["all"] * 3
    plan = shipped.plan([ids[0]], 3, "linkedin")
    assert out["slot"].tolist()[:3] == plan.slots[0].tolist()
    np.testing.assert_allclose(out["rate"][:3], plan.rate[0])
    assert out["known"].tolist() == [True] * 3 + [False] * 3


def test_retrain_gates_the_slots_model_and_rollback_restores_it(
    slots_org: Store,
    encoder,  # noqa: F811
    tmp_path: Path,
) -> None:
    tracker = Tracker(
        f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=(tmp_path / "a").as_uri()
    )

    def run(k: int):
        config = quick_config(**QUICK, **{"slots.k": k})
        return retrain(slots_org, config, tracker, encoder=encoder, lock_path=tmp_path / "lock")

    first = run(3)
    assert first.decisions[SLOTS].promote and "no champion" in first.decisions[SLOTS].reason
    worse = run(1)  # one hour instead of three: a lower hours@k than the champion's config
    decision = worse.decisions[SLOTS]
    assert decision.metric == "hours@k"
    assert decision.champion == pytest.approx(first.decisions[SLOTS].challenger)
    assert decision.challenger < decision.champion - 0.005
    assert not decision.promote and "worse by" in decision.reason
    assert worse.decisions[RECOMMENDER].promote  # the other models are gated on their own
    again = run(3)
    assert again.decisions[SLOTS].promote
    assert again.decisions[SLOTS].challenger == pytest.approx(decision.champion)
    history = tracker.registry.history(SLOTS)
    assert [e["action"] for e in history] == ["promote", "refused", "promote"]
    back = CliRunner().invoke(
        app, ["rollback", "--model", "slots", "--tracking-uri", tracker.tracking_uri]
    )
    assert back.exit_code == 0, back.output
    current = tracker.registry.champion_version(SLOTS)
    assert current is not None and str(current.version) == first.versions[SLOTS]
