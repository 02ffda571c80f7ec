"""The retrain gate on real MLflow backends: promote, refuse, abort, lock, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from filelock import FileLock

from features.data.store import Store
from tests.test_training_pipeline import quick_config
from tests.test_training_support import encoder, tiny_org, tracking_uri  # noqa: F401 (fixtures)
from training.datasets import DataValidationError
from training.registry import RECOMMENDER
from training.retrain import RetrainLocked, retrain
from training.tracking import Tracker

POPULAR = {"recommender.model": "popular", "recommender.params": {}, "recommender.baselines": []}
HYBRID = {"recommender.baselines": []}


def _tracker(uri: str, tmp_path: Path) -> Tracker:
    return Tracker(uri, artifact_root=(tmp_path / "artifacts").as_uri())


def _champion(tracker: Tracker) -> str | None:
    version = tracker.registry.champion_version(RECOMMENDER)
    return None if version is None else str(version.version)


def test_gate_promotes_better_refuses_worse_and_rollback_restores(
    tiny_org: Store,  # noqa: F811
    encoder,  # noqa: F811
    tracking_uri: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    tracker = _tracker(tracking_uri, tmp_path)
    lock = tmp_path / "retrain.lock"

    def run(overrides: dict[str, object]):
        config = quick_config(**overrides)
        return retrain(tiny_org, config, tracker, encoder=encoder, lock_path=lock)

    first = run(POPULAR)  # no champion yet: a sane challenger is promoted
    assert first.decisions[RECOMMENDER].promote
    assert "no champion" in first.decisions[RECOMMENDER].reason
    assert _champion(tracker) == first.versions[RECOMMENDER] == "1"

    better = run(HYBRID)  # the champion's config (popular) is re-evaluated on the same window
    decision = better.decisions[RECOMMENDER]
    assert decision.champion == pytest.approx(first.metrics["challenger"])
    assert decision.challenger > decision.champion  # hybrid beats popularity on this org
    assert decision.promote and _champion(tracker) == "2"

    worse = run(POPULAR)
    decision = worse.decisions[RECOMMENDER]
    assert decision.challenger < decision.champion - 0.005
    assert not decision.promote and "worse by" in decision.reason
    assert _champion(tracker) == "2"  # left alone
    run_tags = tracker.client.get_run(worse.run_id).data.tags
    assert run_tags["gate.recommender.promoted"] == "False"

    history = tracker.registry.history(RECOMMENDER)
    assert [(e["action"], e["version"], e["previous"]) for e in history] == [
        ("promote", "1", None),
        ("promote", "2", "1"),
        ("refused", "3", "2"),
    ]
    assert history[1]["metrics"]["challenger"] == pytest.approx(better.metrics["challenger"])
    assert history[1]["run_id"] == better.run_id

    event = tracker.registry.rollback(RECOMMENDER, reason="test")
    assert (event["version"], event["previous"]) == ("1", "2")
    assert _champion(tracker) == "1"


def test_broken_data_and_failures_abort_before_any_alias_moves(
    tiny_org: Store,  # noqa: F811
    encoder,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracker = _tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)
    lock = tmp_path / "retrain.lock"
    config = quick_config(**POPULAR)
    retrain(tiny_org, config, tracker, encoder=encoder, lock_path=lock)
    assert _champion(tracker) == "1"

    empty = Store.open(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DataValidationError, match="no weighted events"):
        retrain(empty, quick_config(**HYBRID), tracker, encoder=encoder, lock_path=lock)
    empty.dispose()
    assert _champion(tracker) == "1"
    aborted = tracker.client.search_runs(
        [tracker.experiment_id()], "tags.`retrain.aborted` = 'true'"
    )
    assert len(aborted) == 1 and aborted[0].info.status == "FAILED"
    assert "no weighted events" in aborted[0].data.tags["retrain.error"]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("champion evaluation crashed")

    monkeypatch.setattr("training.retrain._recommender_gate", broken)
    with pytest.raises(RuntimeError, match="crashed"):
        retrain(tiny_org, quick_config(**HYBRID), tracker, encoder=encoder, lock_path=lock)
    assert _champion(tracker) == "1"
    assert len(tracker.registry.history(RECOMMENDER)) == 1
    failed = tracker.client.search_runs([tracker.experiment_id()], "attributes.status = 'FAILED'")
    assert any("crashed" in r.data.tags.get("error", "") for r in failed)


def test_a_second_retrain_waits_for_none(tiny_org: Store, tmp_path: Path) -> None:  # noqa: F811
    tracker = _tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)
    lock = tmp_path / "retrain.lock"
    with FileLock(str(lock)), pytest.raises(RetrainLocked, match="another retrain is running"):
        retrain(tiny_org, quick_config(), tracker, lock_path=lock)
    assert tracker.client.search_experiments()[0].name == "Default"  # nothing was logged
