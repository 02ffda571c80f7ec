"""Saved models after an erasure: the CLI lists the folders still holding the employee, and
``advocacy retrain`` (which reads the store) trains models without them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.data.importer import import_path
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate, write
from features.data.validation import ValidationContext
from recsys.saved_ids import folders_holding, model_folders
from tests.test_training_pipeline import quick_config
from tests.test_training_support import END, encoder  # noqa: F401 (fixture)
from training.cli import app
from training.retrain import retrain
from training.tracking import Tracker

POPULAR = {"recommender.model": "popular", "recommender.params": {}, "recommender.baselines": []}


@pytest.fixture
def org(tmp_path: Path) -> Store:
    config = OrgConfig(
        employees=150, content=60, days=60, seed=3, end=END, interactions_per_employee=30
    )
    write(generate(config), tmp_path / "org")
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    context = ValidationContext(END + timedelta(days=1), timedelta(hours=1))
    assert import_path(store, tmp_path / "org", context=context).exit_code == 0
    return store


def test_erase_lists_held_models_and_retrain_drops_the_employee(
    org: Store,
    encoder,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADVOCACY_DATA_DIR", str(tmp_path / "data"))
    artifacts = tmp_path / "artifacts"
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=artifacts.as_uri())
    config, lock = quick_config(**POPULAR), tmp_path / "retrain.lock"
    retrain(org, config, tracker, encoder=encoder, lock_path=lock)
    employee = next(r["employee_id"] for r in org.rows("interactions", ["employee_id"]))
    before = model_folders([artifacts])
    held = folders_holding(employee, [artifacts])
    assert held and set(held) <= set(before)

    runner, db = CliRunner(), f"sqlite:///{tmp_path / 'store.db'}"
    assert runner.invoke(app, ["data", "erase", employee, "--db", db]).exit_code == 2  # no --yes
    model_dir = held[0]
    result = runner.invoke(
        app, ["data", "erase", employee, "--yes", "--db", db, "--model-dir", str(model_dir)]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["deleted"]["advocates"] == 1
    assert answer["models"]["served"] is True and str(model_dir) in answer["models"]["folders"]

    retrain(org, config, tracker, encoder=encoder, lock_path=lock)
    new = [f for f in model_folders([artifacts]) if f not in before]
    assert new and not folders_holding(employee, new)  # trained on the store: they are gone
    assert folders_holding(employee, [artifacts]) == held  # older models: listed until removed

    exported = runner.invoke(app, ["data", "export", employee, "--db", db])
    assert json.loads(exported.output)["erased"] is True
    assert runner.invoke(app, ["data", "re-enrol", employee, "--db", db]).exit_code == 0
    assert runner.invoke(app, ["data", "re-enrol", employee, "--db", db]).exit_code == 1
