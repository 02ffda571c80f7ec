"""The content forecast as ``advocacy train`` fits it (``training.content_forecast_job``) on a
small generated organisation: the held-out latest items against the baselines, no leakage (a
store that also holds later rows gives identical evaluations and forecasts), the typed error
on too little history, the saved forecaster, and ``advocacy content forecast``."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.content_forecaster import ContentForecaster, newest_items
from features.content_reads import ContentReads
from features.data.importer import import_path
from features.data.reader import StoreReader
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate, write
from features.data.validation import ValidationContext
from features.snapshot import Snapshot
from training.cli import app
from training.config import ConfigError, ContentForecastConfig, load_config
from training.content_forecast_job import (
    InsufficientContentHistory,
    evaluate_content_forecast,
    fit_content_forecast,
    train_content_forecast,
)

END = datetime(2026, 11, 26, 12, tzinfo=UTC)
T = END - timedelta(days=12)  # the snapshot's time: the store also holds 12 later days
SETTINGS = ContentForecastConfig(min_items=20, warmup_days=14.0)
TABLES = ("advocates", "content", "interactions", "share_outcomes")


def _import(org: object, folder: Path, cut: datetime | None) -> Store:
    """The organisation's forecast tables (without the rows after ``cut``) in a new store."""
    tables = {name: org.tables[name] for name in TABLES}  # type: ignore[attr-defined]
    if cut is not None:
        later = pd.Timestamp(cut)
        tables["interactions"] = tables["interactions"].loc[
            pd.to_datetime(tables["interactions"]["timestamp"], utc=True) < later
        ]
        kept = set(tables["interactions"]["event_id"])
        outcomes = tables["share_outcomes"]
        tables["share_outcomes"] = outcomes.loc[
            (pd.to_datetime(outcomes["measured_at"], utc=True) < later)
            & outcomes["event_id"].isin(kept)
        ]
        content = tables["content"]
        tables["content"] = content.loc[pd.to_datetime(content["published_at"], utc=True) < later]
    write(dataclasses.replace(org, tables=tables), folder / "org")  # type: ignore[type-var]
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    report = import_path(store, folder / "org", context=ValidationContext(now=END))
    assert report.exit_code == 0, report.to_dict()
    return store


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Store]]:
    config = OrgConfig(
        employees=120, content=80, days=100, seed=3, interactions_per_employee=40, end=END
    )
    org = generate(config)
    full = _import(org, tmp_path_factory.mktemp("full"), None)
    cut = _import(org, tmp_path_factory.mktemp("cut"), T)
    yield {"full": full, "cut": cut}
    full.dispose()
    cut.dispose()


def _trained(store: Store) -> tuple[ContentForecaster, dict]:
    snapshot = Snapshot.load(StoreReader(store), T)
    return train_content_forecast(snapshot, SETTINGS, store=store)


def test_held_out_latest_items_against_the_baselines(stores: dict[str, Store]) -> None:
    forecaster, evaluation = _trained(stores["full"])
    protocol = evaluation["protocol"]
    assert protocol["primary_metric"] == "spearman"
    assert protocol["training_items"] >= 10 and protocol["held_out_items"] >= 10
    assert protocol["data_end"] <= T.isoformat()
    assert set(evaluation["models"]) == {"content", "mean_by_type", "mean_by_topic"}
    for entry in evaluation["models"].values():
        assert set(entry["slices"]) == {"shares", "reach", "clicks"}
        assert entry["spearman"] == pytest.approx(
            sum(s["spearman"] for s in entry["slices"].values()) / 3
        )
        assert 0.0 <= entry["coverage"] <= 1.0
    assert forecaster.training["held_out_from"] == protocol["cut_off"]
    assert forecaster.training["items"] >= protocol["training_items"] + protocol["held_out_items"]


def test_later_rows_in_the_store_change_nothing(stores: dict[str, Store]) -> None:
    full, full_evaluation = _trained(stores["full"])
    cut, cut_evaluation = _trained(stores["cut"])
    for name in ("protocol", "models"):
        left, right = full_evaluation[name], cut_evaluation[name]
        if name == "models":
            left = {k: {m: v for m, v in e.items() if m != "seconds"} for k, e in left.items()}
            right = {k: {m: v for m, v in e.items() if m != "seconds"} for k, e in right.items()}
        assert left == right
    ids = newest_items(stores["cut"], as_of=T, days=30)
    assert ids
    assert full.forecast(stores["full"], ids, as_of=T) == cut.forecast(stores["cut"], ids, as_of=T)


def test_too_little_history_is_a_typed_error(stores: dict[str, Store]) -> None:
    snapshot = Snapshot.load(StoreReader(stores["cut"]), T)
    with pytest.raises(InsufficientContentHistory, match="need 500"):
        fit_content_forecast(
            snapshot, SETTINGS.model_copy(update={"min_items": 500}), store=stores["cut"]
        )
    early = Snapshot.load(StoreReader(stores["cut"]), END - timedelta(days=95))
    with pytest.raises(InsufficientContentHistory, match="too little history"):
        train_content_forecast(early, SETTINGS, store=stores["cut"])


def test_the_config_section_names_a_bad_key(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("content_forecast:\n  params:\n    alpah: 3\n")
    with pytest.raises(ConfigError, match=r"content_forecast\.params"):
        load_config(path)
    path.write_text("content_forecast:\n  params:\n    model: boosting\n")
    with pytest.raises(ConfigError, match="group_mean"):
        load_config(path)


def test_saved_forecaster_and_the_cli(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["full"]
    forecaster = fit_content_forecast(Snapshot.load(StoreReader(store), T), SETTINGS, store=store)
    forecaster.save(tmp_path / "cf")
    ids = newest_items(store, as_of=T, days=14, limit=5)
    loaded = ContentForecaster.load(tmp_path / "cf")
    assert loaded.forecast(store, ids, as_of=T) == forecaster.forecast(store, ids, as_of=T)
    options = ["--db", store.url, "--model-dir", str(tmp_path / "cf"), "--as-of", T.isoformat()]
    done = CliRunner().invoke(app, ["content", "forecast", *ids[:2], *options, "--json"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert [i["content_id"] for i in body["items"]] == ids[:2] and body["level"] == 0.8
    assert body["items"][0]["expected"] == pytest.approx(
        forecaster.forecast(store, ids[:1], as_of=T)[0].expected
    )
    table = CliRunner().invoke(app, ["content", "forecast", *options])
    assert table.exit_code == 0 and ids[0] in table.stdout
    unknown = CliRunner().invoke(app, ["content", "forecast", "nope", *options])
    assert unknown.exit_code == 2 and "nope" in unknown.output
    missing = CliRunner().invoke(app, ["content", "forecast", "--model-dir", str(tmp_path / "x")])
    assert missing.exit_code == 2


#: A quick ``advocacy train`` on the organisation: popularity, no baselines, no influencers,
#: no lapse forecast; the content forecast with a two-week warm-up.
QUICK = {
    "data.as_of": T.isoformat(),
    "recommender.model": "popular",
    "recommender.params": {},
    "recommender.baselines": [],
    "data.min_test_pairs": 5,
    "influencer.enabled": False,
    "lapse.enabled": False,
    "content_forecast.min_items": 20,
    "content_forecast.warmup_days": 14.0,
}


def test_train_logs_registers_gates_and_serves_it_as_a_pyfunc(
    stores: dict[str, Store], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from tests.test_training_pipeline import quick_config
    from training.pipeline import train
    from training.registry import RECOMMENDER, champion
    from training.registry_reader import CONTENT_FORECAST
    from training.retrain import first_champions, retrain
    from training.tracking import Tracker, log_training

    store = stores["full"]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, artifact_root=(tmp_path / "artifacts").as_uri())
    config = quick_config(**QUICK)
    result = train(Snapshot.load(StoreReader(store), T), config, cache=store)
    forecast = result.forecast("content_forecast")
    assert forecast.model is not None and forecast.skipped is None
    tracked = log_training(tracker, result, source=store.url)
    assert set(tracked.versions) == {RECOMMENDER, CONTENT_FORECAST}
    metrics = tracker.client.get_run(tracked.run_id).data.metrics
    models = forecast.evaluation["models"]  # type: ignore[index]
    for name in ("content", "mean_by_type", "mean_by_topic"):
        assert metrics[f"content_forecast.{name}.spearman"] == pytest.approx(
            models[name]["spearman"]
        )
    events = first_champions(tracker, result, tracked.versions)
    assert {e["model"]: e["action"] for e in events}[CONTENT_FORECAST] == "promote"
    ref = champion(CONTENT_FORECAST, tracking_uri=uri, dst=tmp_path / "models")
    assert ref is not None and ref.version == tracked.versions[CONTENT_FORECAST]
    ids = newest_items(store, as_of=T, days=14, limit=4)
    expected = forecast.model.forecast(store, ids, as_of=T)
    assert ContentForecaster.load(ref.path).forecast(store, ids, as_of=T) == expected
    monkeypatch.setenv("ADVOCACY_DB_URL", store.url)  # the store the pyfunc reads
    mlflow.set_tracking_uri(uri)
    try:
        pyfunc = mlflow.pyfunc.load_model(f"models:/{CONTENT_FORECAST}@champion")
    finally:
        mlflow.set_tracking_uri(None)
    out = pyfunc.predict(pd.DataFrame({"content_id": ids, "as_of": [T.isoformat()] * len(ids)}))
    assert list(out["content_id"]) == ids
    assert out["shares"].tolist() == pytest.approx([o.expected["shares"] for o in expected])
    assert out["clicks_upper"].tolist() == pytest.approx([o.upper["clicks"] for o in expected])
    # the retrain gate: the same configuration re-evaluated on the same snapshot is not worse
    again = retrain(store, config, tracker, lock_path=tmp_path / "lock", now=T)
    decision = again.decisions[CONTENT_FORECAST]
    assert decision.promote and decision.champion == pytest.approx(decision.challenger)


def test_a_training_run_reads_each_window_of_the_past_once(stores: dict[str, Store]) -> None:
    store = stores["full"]
    snapshot = Snapshot.load(StoreReader(store), T)
    shared = ContentReads(ttl=math.inf)
    evaluation = evaluate_content_forecast(snapshot, SETTINGS, store=store, reads=shared)
    after_evaluation = shared.windows_kept
    forecaster = fit_content_forecast(snapshot, SETTINGS, store=store, reads=shared)
    alone = ContentReads(ttl=math.inf)
    fitted = fit_content_forecast(snapshot, SETTINGS, store=store, reads=alone)
    # the fit alone reads its windows; after the evaluation it reads only the new ones
    assert shared.windows_kept - after_evaluation < alone.windows_kept
    fresh = evaluate_content_forecast(snapshot, SETTINGS, store=store)
    for name, entry in evaluation["models"].items():
        del entry["seconds"], fresh["models"][name]["seconds"]
    assert evaluation["models"] == fresh["models"]
    ids = newest_items(store, as_of=T, days=30)
    assert forecaster.forecast(store, ids, as_of=T) == fitted.forecast(store, ids, as_of=T)
