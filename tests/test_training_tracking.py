"""MLflow logging of a training on real backends (SQLite file and PostgreSQL database):
params, metrics, tags, dataset inputs, logged pyfunc models, registered versions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from features.data.reader import StoreReader
from features.data.store import Store
from features.snapshot import Snapshot
from tests.test_training_pipeline import quick_config
from tests.test_training_support import (  # noqa: F401 (fixtures)
    AS_OF,
    encoder,
    tiny_org,
    tracking_uri,
)
from training.config import flatten
from training.pipeline import TrainResult, train
from training.registry import INFLUENCERS, RECOMMENDER
from training.tracking import (
    EXPERIMENT_KIND,
    KIND_TAG,
    Tracker,
    chosen_params,
    log_training,
    metric_key,
)


@pytest.fixture(scope="module")
def result(tiny_org: Store, encoder) -> TrainResult:  # noqa: F811
    snapshot = Snapshot.load(StoreReader(tiny_org), pd.Timestamp(AS_OF))
    config = quick_config(**{"influencer.enabled": True})
    return train(snapshot, config, encoder=encoder, cache=tiny_org)


def test_metric_keys_are_valid_mlflow_names() -> None:
    assert metric_key("rec", "hybrid", "ndcg@10") == "rec.hybrid.ndcg_at_10"
    assert metric_key("inf", "influence", "precision@k") == "inf.influence.precision_at_k"


def test_a_training_is_one_run_with_params_metrics_tags_artifacts_and_versions(
    result: TrainResult,
    tracking_uri: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    tracker = Tracker(tracking_uri, artifact_root=(tmp_path / "artifacts").as_uri())
    tracked = log_training(tracker, result, source="sqlite:///store.db")
    run = tracker.client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED"
    experiment = tracker.client.get_experiment(run.info.experiment_id)
    assert experiment.tags[KIND_TAG] == EXPERIMENT_KIND

    assert run.data.params == flatten(result.config) | chosen_params(result)
    assert float(run.data.params["recommender.chosen.ease__lam_"]) > 0  # chosen during fit
    metrics = run.data.metrics
    hybrid = result.evaluation["models"]["hybrid"]
    assert metrics["rec.hybrid.ndcg_at_10"] == pytest.approx(hybrid["ndcg@10"])
    new_content = hybrid["slices"]["new_content"]
    assert metrics["rec.hybrid.new_content.hr_at_10"] == pytest.approx(new_content["hr@10"])
    assert metrics["rec.hybrid.new_content.n"] == new_content["n"]
    for baseline in ("popular", "recent_popular"):
        assert f"rec.{baseline}.mrr" in metrics and f"rec.{baseline}.new_person.mrr" in metrics
    assert metrics["sanity.coverage"] == pytest.approx(result.sanity["coverage"])
    assert metrics["sanity.passed"] == 1.0
    assert "seconds.holdout_models" in metrics and "seconds.fit" in metrics

    tags = run.data.tags
    assert tags["data.fingerprint"] == result.profile["fingerprint"]
    assert tags["data.rows.interactions"] == str(result.profile["rows"]["interactions"])
    assert tags["data.first_event"].startswith("2026-")
    assert tags["version.mlflow"] and tags["git.commit"]

    def listed(path: str | None = None) -> set[str]:
        return {a.path for a in tracker.client.list_artifacts(tracked.run_id, path)}

    assert listed() == {"evaluation.json", "config.yaml", "plots"}  # models: logged models
    assert {"plots/metric_by_slice.png", "plots/score_distribution.png"} <= listed("plots")
    assert "plots/influencer_reasons.png" in listed("plots")
    assert "inf.influence.precision_at_k" in metrics and "inf.leaderboard.recall_at_k" in metrics

    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"advocacy-store", "advocacy-store-holdout"}
    store = inputs["advocacy-store"]
    assert store.dataset.digest == result.profile["fingerprint"]
    assert {(t.key, t.value) for t in store.tags} == {(MLFLOW_DATASET_CONTEXT, "training")}
    assert json.loads(store.dataset.source) == {"url": "sqlite:///store.db"}
    profile = json.loads(store.dataset.profile)
    assert profile["as_of"] == result.profile["as_of"]
    assert profile["rows"] == result.profile["rows"]
    holdout = inputs["advocacy-store-holdout"]
    assert holdout.tags[0].value == "evaluation"
    window = json.loads(holdout.dataset.profile)
    assert window["holdout_start"] == result.profile["holdout_start"]
    assert window["test_pairs"] == result.evaluation["protocol"]["test_pairs"] > 0
    found = tracker.client.search_runs(
        [run.info.experiment_id], f"dataset.digest = '{result.profile['fingerprint']}'"
    )
    assert [r.info.run_id for r in found] == [tracked.run_id]

    outputs = {o.model_id for o in run.outputs.model_outputs}
    assert outputs == set(tracked.models.values()) and len(outputs) == 2
    for name, kind in ((RECOMMENDER, "recommender"), (INFLUENCERS, "influencers")):
        logged = tracker.client.get_logged_model(tracked.models[name])
        assert (logged.name, str(logged.status), logged.source_run_id) == (
            kind,
            "READY",
            tracked.run_id,
        )
        files = {a.path for a in tracker.client.list_logged_model_artifacts(logged.model_id)}
        assert {"MLmodel", "requirements.txt", "artifacts"} <= files
        assert tracked.versions[name] == "1"
        version = tracker.registry.version(name, "1")
        assert version.run_id == tracked.run_id
        assert version.source == logged.artifact_location
        assert json.loads(logged.tags["mlflow.modelVersions"]) == [{"name": name, "version": 1}]
        saved = tracker.registry.download(version, tmp_path / "served").path
        assert (saved / "manifest.json").is_file()  # the project's folder, as serving loads
    assert (saved.parent.parent / RECOMMENDER / "1" / "feature_spec.json").is_file()
    recommender = tracker.client.get_logged_model(tracked.models[RECOMMENDER])
    hybrid = result.evaluation["models"]["hybrid"]
    assert recommender.metrics and all(
        m.model_id == recommender.model_id for m in recommender.metrics
    )
    linked = {m.key: m for m in recommender.metrics}
    assert linked["rec.hybrid.ndcg_at_10"].value == pytest.approx(hybrid["ndcg@10"])
    assert linked["rec.hybrid.ndcg_at_10"].dataset_name == "advocacy-store-holdout"
    history = tracker.client.get_metric_history(tracked.run_id, "rec.hybrid.ndcg_at_10")
    assert len(history) == 1  # linked to the model, not logged twice
    assert tracker.registry.champion_version(RECOMMENDER) is None  # train never moves it

    again = log_training(tracker, result, register=True)
    assert again.versions[RECOMMENDER] == "2"


def test_a_failing_run_is_marked_failed(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", artifact_root=(tmp_path / "a").as_uri())
    with pytest.raises(RuntimeError, match="boom"), tracker.run("broken") as run_id:
        raise RuntimeError("boom")
    run = tracker.client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == "RuntimeError: boom"
