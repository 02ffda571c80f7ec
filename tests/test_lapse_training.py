"""The lapse forecast in ``advocacy train``: monthly origins before the cut-off, the last one
held out (the model and both baselines), the shipped model on every origin; logged, registered
as ``advocacy-lapse`` and gated like the other models (real MLflow on SQLite and PostgreSQL);
too little history skips it with a message and the other models train."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.advocate_activity import forecast_lapse, read_activity
from features.data.reader import StoreReader
from features.data.store import Store
from features.snapshot import Snapshot
from recsys.forecast import LapseModel
from tests.test_training_pipeline import quick_config
from tests.test_training_support import encoder, tiny_org, tracking_uri  # noqa: F401 (fixtures)
from training.cli import app
from training.config import LapseConfig
from training.lapse_job import InsufficientLapseHistory, train_lapse
from training.pipeline import train
from training.registry import LAPSE, RECOMMENDER, champion
from training.retrain import first_champions, retrain
from training.tracking import Tracker, log_training

END = datetime(2026, 11, 1, tzinfo=UTC)
ORIGINS = [f"2026-{m:02d}-01T00:00:00+00:00" for m in (7, 8, 9, 10)]
#: A quick training on the lapse organisation: popularity, no baselines, no influencers.
QUICK = {
    "data.as_of": END.isoformat(),
    "recommender.model": "popular",
    "recommender.params": {},
    "recommender.baselines": [],
    "data.min_test_pairs": 5,
}


@pytest.fixture(scope="module")
def lapse_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """150 employees over 150 days: four monthly origins before 2026-11-01."""
    from features.data.importer import import_path
    from features.data.synthetic import OrgConfig, generate, write
    from features.data.validation import ValidationContext

    folder = tmp_path_factory.mktemp("lapse_org")
    config = OrgConfig(
        employees=150, content=40, days=150, seed=3, end=END, interactions_per_employee=30
    )
    write(generate(config), folder / "org")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    context = ValidationContext(END + timedelta(days=1), timedelta(hours=1))
    assert import_path(store, folder / "org", context=context).exit_code == 0
    yield store
    store.dispose()


def snapshot(store: Store) -> Snapshot:
    return Snapshot.load(StoreReader(store), END)


def test_the_last_origin_is_held_out_and_the_shipped_model_sees_every_origin(
    lapse_org: Store,
) -> None:
    model, evaluation = train_lapse(snapshot(lapse_org), LapseConfig())
    protocol = evaluation["protocol"]
    assert protocol["origins"] == ORIGINS  # 2026-06-01: nobody active in the 60 days before
    assert protocol["held_out"] == ORIGINS[-1]
    assert protocol["training_origins"] == ORIGINS[:-1]  # labels end by 2026-10-01
    models = evaluation["models"]
    assert set(models) == {"lapse", "recency", "frequency"}
    for entry in models.values():
        assert {"auc", "brier", "precision@10%", "n", "positives", "seconds"} <= set(entry)
        assert entry["n"] == models["lapse"]["n"] > 100 and 0 < entry["positives"] < entry["n"]
    assert models["lapse"]["auc"] > max(models["recency"]["auc"], models["frequency"]["auc"])
    assert model.training_["origins"] == ORIGINS and model.training_["held_out"] == ORIGINS[-1]
    assert model.training_["rows"] > protocol["training_rows"] + models["lapse"]["n"] - 1
    # identical forecasts from the store query at the cut-off
    forecast = forecast_lapse(model, read_activity(lapse_org, END))
    assert len(forecast) > 100
    probabilities = [r.probability for r in forecast]
    assert probabilities == sorted(probabilities, reverse=True)
    # long after the data stopped: the origins end with the data, not at the cut-off
    later = Snapshot.load(StoreReader(lapse_org), END + timedelta(days=200))
    again_model, again = train_lapse(later, LapseConfig())
    assert again["models"] == evaluation["models"] | {
        name: {**entry, "seconds": again["models"][name]["seconds"]}
        for name, entry in evaluation["models"].items()
    }
    assert again["protocol"]["origins"] == ORIGINS
    np.testing.assert_array_equal(again_model.coef_, model.coef_)


def test_too_little_history_skips_the_lapse_forecast_and_trains_the_rest(
    tiny_org: Store,  # noqa: F811
    encoder,  # noqa: F811
) -> None:
    tiny = Snapshot.load(StoreReader(tiny_org), END)  # 60 days: one origin (2026-10-01)
    with pytest.raises(InsufficientLapseHistory, match="1 monthly origin"):
        train_lapse(tiny, LapseConfig())
    result = train(tiny, quick_config(**QUICK), encoder=encoder, cache=tiny_org)
    assert result.lapse is None and "too little history" in (result.lapse_skipped or "")
    assert result.lapse_summary == {"skipped": result.lapse_skipped}
    assert result.recommender is not None and result.primary_metric is not None


def test_train_logs_registers_and_first_promotes_the_lapse_model(
    lapse_org: Store,
    encoder,  # noqa: F811
    tracking_uri: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    tracker = Tracker(tracking_uri, artifact_root=(tmp_path / "artifacts").as_uri())
    result = train(snapshot(lapse_org), quick_config(**QUICK), encoder=encoder, cache=lapse_org)
    tracked = log_training(tracker, result, source=lapse_org.url)
    assert set(tracked.versions) == {RECOMMENDER, LAPSE}
    metrics = tracker.client.get_run(tracked.run_id).data.metrics
    lapse = result.lapse_evaluation["models"]
    for name in ("lapse", "recency", "frequency"):
        assert metrics[f"lapse.{name}.auc"] == pytest.approx(lapse[name]["auc"])
        assert metrics[f"lapse.{name}.precision_at_10_"] == pytest.approx(
            lapse[name]["precision@10%"]
        )
    assert "seconds.lapse" in metrics
    events = first_champions(tracker, result, tracked.versions)
    assert {e["model"]: e["action"] for e in events} == {RECOMMENDER: "promote", LAPSE: "promote"}
    ref = champion(LAPSE, tracking_uri=tracking_uri, dst=tmp_path / "models")
    assert ref is not None and ref.version == tracked.versions[LAPSE]
    loaded = LapseModel.load(ref.path)
    activity = read_activity(lapse_org, END)
    assert forecast_lapse(loaded, activity) == forecast_lapse(result.lapse, activity)
    mlflow.set_tracking_uri(tracking_uri)
    try:
        pyfunc = mlflow.pyfunc.load_model(f"models:/{LAPSE}@champion")
    finally:
        mlflow.set_tracking_uri(None)
    rows = forecast_lapse(loaded, activity)[:5]
    frame = pd.DataFrame([{"employee_id": r.employee_id, **r.features} for r in rows])
    out = pyfunc.predict(frame)
    assert list(out.columns) == ["employee_id", "probability", "reasons"]
    np.testing.assert_allclose(out["probability"], [r.probability for r in rows])
    assert all(out["reasons"].str.len() > 0)


def test_retrain_gates_the_lapse_model_on_the_held_out_origin(
    lapse_org: Store,
    encoder,  # noqa: F811
    tmp_path: Path,
) -> None:
    tracker = Tracker(
        f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=(tmp_path / "a").as_uri()
    )

    def run(c: float):
        config = quick_config(**QUICK, **{"lapse.C": c})
        return retrain(lapse_org, config, tracker, encoder=encoder, lock_path=tmp_path / "lock")

    first = run(0.3)
    assert first.decisions[LAPSE].promote and "no champion" in first.decisions[LAPSE].reason
    worse = run(100.0)  # weak regularisation: lower held-out AUC on this organisation
    decision = worse.decisions[LAPSE]
    assert decision.champion == pytest.approx(first.decisions[LAPSE].challenger)
    assert decision.challenger < decision.champion - 0.01
    assert not decision.promote and "worse by" in decision.reason
    current = tracker.registry.champion_version(LAPSE)
    assert current is not None and str(current.version) == first.versions[LAPSE]
    again = run(0.3)  # the same configuration as the champion: not worse, promoted
    assert again.decisions[LAPSE].promote
    assert again.decisions[LAPSE].challenger == pytest.approx(decision.champion)
    history = tracker.registry.history(LAPSE)
    assert [e["action"] for e in history] == ["promote", "refused", "promote"]
    back = CliRunner().invoke(
        app, ["rollback", "--model", "lapse", "--tracking-uri", tracker.tracking_uri]
    )
    assert back.exit_code == 0, back.output
    current = tracker.registry.champion_version(LAPSE)
    assert current is not None and str(current.version) == first.versions[LAPSE]
