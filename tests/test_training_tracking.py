"""MLflow logging of a training on real backends (SQLite file and PostgreSQL database)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

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
from training.tracking import Tracker, log_training, metric_key


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
    tracked = log_training(tracker, result)
    run = tracker.client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED"

    assert run.data.params == flatten(result.config)
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

    assert {"recommender", "evaluation.json", "config.yaml", "plots"} <= listed()
    assert {"recommender/manifest.json", "recommender/arrays.npz"} <= listed("recommender")
    assert "recommender/feature_spec.json" in listed("recommender")
    assert {"plots/metric_by_slice.png", "plots/score_distribution.png"} <= listed("plots")

    assert tracked.versions[RECOMMENDER] == "1"
    version = tracker.registry.version(RECOMMENDER, "1")
    assert version.run_id == tracked.run_id
    assert version.source == f"runs:/{tracked.run_id}/recommender"
    assert tracker.registry.champion_version(RECOMMENDER) is None  # train never moves it
    assert tracked.versions[INFLUENCERS] == "1"
    assert "inf.influence.precision_at_k" in metrics and "inf.leaderboard.recall_at_k" in metrics
    assert "plots/influencer_reasons.png" in listed("plots")
    assert {"influencers", "recommender"} <= {p.split("/")[0] for p in listed()}

    again = log_training(tracker, result, register=True)
    assert again.versions[RECOMMENDER] == "2"


def test_a_failing_run_is_marked_failed(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", artifact_root=(tmp_path / "a").as_uri())
    with pytest.raises(RuntimeError, match="boom"), tracker.run("broken") as run_id:
        raise RuntimeError("boom")
    run = tracker.client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == "RuntimeError: boom"
