"""What a training looks like in MLflow: an experiment marked as model training, a run that
spans the training, and the champion loaded as a ``pyfunc`` in a fresh process that ranks
exactly as the service does. Real MLflow (SQLite) in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from features.data.reader import StoreReader
from features.data.store import Store
from features.snapshot import Snapshot
from serving.auth import Tokens
from serving.dependencies import Dependencies
from serving.model_source import RegistrySource
from serving.runtime import Runtime
from tests.test_training_pipeline import quick_config
from tests.test_training_support import AS_OF, encoder, tiny_org  # noqa: F401 (fixtures)
from training.commands.train import train as train_command
from training.pipeline import Stages, TrainResult, train
from training.registry import INFLUENCERS, RECOMMENDER
from training.tracking import (
    EXPERIMENT,
    EXPERIMENT_KIND,
    KIND_TAG,
    TrackedRun,
    Tracker,
    log_training,
    ui_path,
)

MOMENT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # after the data, content still live
NOTEBOOK = """
import json, sys
import mlflow
import pandas as pd

uri, as_of, employees, scored_at, out = sys.argv[1:6]
mlflow.set_tracking_uri(uri)
feed = mlflow.pyfunc.load_model("models:/advocacy-recommender@champion")
frame = pd.DataFrame({"employee_id": employees.split(","), "k": 10, "as_of": as_of})
ranked = feed.predict(frame)
defaults = feed.predict(pd.DataFrame({"employee_id": employees.split(",")[:1]}))
scorer = mlflow.pyfunc.load_model("models:/advocacy-influencers@champion")
rows = scorer.unwrap_python_model().feature_rows(as_of=scored_at)
scores = scorer.predict(rows)
with open(out, "w") as f:
    json.dump({
        "feed": ranked.to_dict("records"),
        "default_rows": len(defaults),
        "scores": scores.to_dict("records"),
        "schema": [c.name for c in feed.metadata.get_input_schema().inputs],
    }, f)
"""


@dataclass
class Trained:
    tracker: Tracker
    result: TrainResult
    tracked: TrackedRun
    started: float  # before the run opened (epoch seconds)
    trained: float  # after the training, before logging
    ended: float  # after the run ended
    folder: Path


@pytest.fixture(scope="module")
def trained(
    tiny_org: Store,  # noqa: F811
    encoder,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Trained:
    folder = tmp_path_factory.mktemp("mlflow_models")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    tracker = Tracker(uri, artifact_root=(folder / "artifacts").as_uri())
    config = quick_config(**{"influencer.enabled": True})
    started = time.time()
    with tracker.run(config.name) as run_id:
        snapshot = Snapshot.load(StoreReader(tiny_org), pd.Timestamp(AS_OF))
        result = train(snapshot, config, encoder=encoder, cache=tiny_org, stages=Stages())
        trained = time.time()
        tracked = log_training(tracker, result, run_id=run_id, source=tiny_org.url)
    ended = time.time()
    for name in (RECOMMENDER, INFLUENCERS):
        tracker.registry.promote(name, tracked.versions[name], reason="notebook test")
    return Trained(tracker, result, tracked, started, trained, ended, folder)


def test_the_experiment_is_marked_as_model_training(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", artifact_root=(tmp_path / "a").as_uri())
    made_before = tracker.client.create_experiment("advocacy")  # an older installation's
    chosen = tracker.client.create_experiment("other", tags={KIND_TAG: "genai_development"})
    assert tracker.experiment_id() == made_before
    assert tracker.client.get_experiment(made_before).tags[KIND_TAG] == EXPERIMENT_KIND
    assert tracker.experiment_id("other") == chosen
    assert tracker.client.get_experiment(chosen).tags[KIND_TAG] == "genai_development"
    created = tracker.client.get_experiment(tracker.experiment_id("advocacy-experiments"))
    assert created.tags[KIND_TAG] == EXPERIMENT_KIND and created.tags["mlflow.note.content"]
    assert ui_path("7") == "#/experiments/7/runs?workflowType=machine_learning"


def test_the_run_spans_the_training(trained: Trained) -> None:
    run = trained.tracker.client.get_run(trained.tracked.run_id)
    assert run.info.status == "FINISHED"
    start, end = run.info.start_time / 1000, run.info.end_time / 1000
    assert trained.started - 1 <= start <= trained.started + 5  # opened before training
    assert trained.trained <= end <= trained.ended + 1  # ended after the models were logged
    stages = {k: v for k, v in run.data.metrics.items() if k.startswith("seconds.")}
    assert {"seconds.fit", "seconds.holdout_models", "seconds.influencer_fit"} <= set(stages)
    assert end - start >= sum(stages.values())  # the stages happened inside the run
    assert run.info.experiment_id == trained.tracker.experiment_id(EXPERIMENT)


def test_a_failed_training_is_a_failed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVOCACY_DATA_DIR", str(tmp_path / "data"))
    app = typer.Typer()
    app.command()(train_command)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(app, ["--db", empty, "--tracking-uri", uri])
    assert result.exit_code == 3, result.output
    tracker = Tracker(uri)
    [run] = tracker.client.search_runs([tracker.experiment_id()])
    assert run.info.status == "FAILED"
    assert "no weighted events" in run.data.tags["error"]


def test_the_champion_loads_in_a_notebook_and_ranks_as_the_service(
    trained: Trained,
    tiny_org: Store,  # noqa: F811
) -> None:
    employees = [*map(str, trained.result.recommender.users_.external[:3]), "new-hire-0"]
    answer = _notebook(trained, tiny_org.url, employees)
    assert answer["schema"] == ["employee_id", "k", "as_of"]
    assert answer["default_rows"] == 10  # k 10 at the current time by default
    served = _service_feeds(trained, tiny_org, employees)
    for employee in employees:
        rows = [r for r in answer["feed"] if r["employee_id"] == employee]
        assert [r["rank"] for r in rows] == list(range(1, 11))
        expected = served[employee]
        assert [r["content_id"] for r in rows] == [i["content_id"] for i in expected]
        assert [r["title"] for r in rows] == [i["title"] for i in expected]
        assert [r["score"] for r in rows] == pytest.approx([i["score"] for i in expected])

    scores = {r["employee_id"]: r for r in answer["scores"]}
    candidates = trained.result.influencer_candidates or []
    assert len(scores) == len(candidates) > 0
    for candidate in candidates[:20]:
        row = scores[candidate.employee_id]
        assert row["score"] == pytest.approx(candidate.score)
        assert (row["flagged"], row["tier"]) == (candidate.flagged, candidate.tier)


def _notebook(trained: Trained, store_url: str, employees: list[str]) -> dict[str, object]:
    """Run :data:`NOTEBOOK` in a fresh interpreter (the store named by its environment)."""
    out = trained.folder / "notebook.json"
    env = os.environ | {"ADVOCACY_DB_URL": store_url}
    env.pop("MLFLOW_TRACKING_URI", None)
    moments = [MOMENT.isoformat(), ",".join(employees), AS_OF]  # scores: as in training
    args = [trained.tracker.tracking_uri, *moments, str(out)]
    done = subprocess.run(
        [sys.executable, "-c", NOTEBOOK, *args],
        cwd=trained.folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def _service_feeds(
    trained: Trained, store: Store, employees: list[str]
) -> dict[str, list[dict[str, object]]]:
    """Each employee's feed from the service's runtime at :data:`MOMENT`, its model loaded
    through the registry as ``advocacy serve`` loads it."""
    uri = trained.tracker.tracking_uri
    deps = Dependencies(
        store=store,
        model_source=RegistrySource(
            RECOMMENDER, tracking_uri=uri, cache_dir=trained.folder / "served"
        ),
        tokens=Tokens.parse("reader-token-0123456789:frontend"),
        clock=lambda: MOMENT,
        pollers=False,
    )
    runtime = Runtime(deps)
    runtime.start()
    try:
        assert runtime.status().model_version == f"{RECOMMENDER}@1"
        return {e: runtime.feed(e, 10, None, None)["items"] for e in employees}  # type: ignore[misc]
    finally:
        runtime.close()
