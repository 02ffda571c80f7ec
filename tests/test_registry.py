"""The MLflow registry layer: versions, champion alias, history, rollback, loader, gate.

Real MLflow stores: a SQLite file in a temp folder and a fresh PostgreSQL database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys.dataset import Dataset
from recsys.models import MODELS, Popular
from tests.test_training_support import tracking_uri  # noqa: F401 (fixture)
from training.registry import (
    CHAMPION,
    RECOMMENDER,
    NoChampionError,
    Registry,
    champion,
    decide,
    default_tracking_uri,
    make_client,
    resolve_tracking_uri,
)


def _log_model(registry: Registry, uri: str, tmp_path: Path, items: list[str]) -> str:
    """A run holding a real saved Popular model under ``recommender/``; its version."""
    client = registry.client
    experiment = client.get_experiment_by_name("t") or None
    experiment_id = (
        experiment.experiment_id
        if experiment
        else client.create_experiment("t", artifact_location=(tmp_path / "art").as_uri())
    )
    run = client.create_run(experiment_id)
    dataset = Dataset.from_events(["a", "b", "b"][: len(items)], items)
    folder = Popular().fit(dataset).save(tmp_path / f"model-{run.info.run_id}")
    client.log_artifacts(run.info.run_id, str(folder), "recommender")
    client.set_terminated(run.info.run_id)
    return registry.register(RECOMMENDER, run.info.run_id, "recommender", {"k": "v"})


def test_default_tracking_uri_is_a_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert resolve_tracking_uri("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert resolve_tracking_uri("sqlite:///x.db") == "sqlite:///x.db"


def test_no_champion_yet_is_none(tracking_uri: str, tmp_path: Path) -> None:  # noqa: F811
    assert champion(RECOMMENDER, tracking_uri=tracking_uri, dst=tmp_path) is None
    registry = Registry(make_client(tracking_uri))
    _log_model(registry, tracking_uri, tmp_path, ["x", "y", "y"])
    assert champion(RECOMMENDER, tracking_uri=tracking_uri, dst=tmp_path) is None
    assert registry.history(RECOMMENDER) == []


def test_promote_load_history_and_rollback(tracking_uri: str, tmp_path: Path) -> None:  # noqa: F811
    registry = Registry(make_client(tracking_uri))
    v1 = _log_model(registry, tracking_uri, tmp_path, ["x", "y", "y"])
    v2 = _log_model(registry, tracking_uri, tmp_path, ["x", "x", "z"])
    assert (v1, v2) == ("1", "2")
    registry.promote(RECOMMENDER, v1, reason="first", metrics={"ndcg@10": 0.5})
    registry.promote(RECOMMENDER, v2, reason="better", metrics={"ndcg@10": 0.6})

    ref = champion(RECOMMENDER, tracking_uri=tracking_uri, dst=tmp_path / "models")
    assert ref is not None and ref.version == "2"
    assert ref.path == tmp_path / "models" / RECOMMENDER / "2"
    manifest = json.loads((ref.path / "manifest.json").read_text())
    model = MODELS[manifest["model"]].load(ref.path)
    ids, _ = model.recommend(["new"], 1)
    assert ids[0].tolist() == ["x"]  # the most popular item of version 2's data
    # a second load reuses the downloaded folder
    assert champion(RECOMMENDER, tracking_uri=tracking_uri, dst=tmp_path / "models") == ref

    event = registry.rollback(RECOMMENDER, reason="bad feed reports")
    assert (event["action"], event["version"], event["previous"]) == ("rollback", "1", "2")
    assert str(registry.champion_version(RECOMMENDER).version) == "1"
    history = registry.history(RECOMMENDER)
    assert [(e["action"], e["version"], e["previous"]) for e in history] == [
        ("promote", "1", None),
        ("promote", "2", "1"),
        ("rollback", "1", "2"),
    ]
    assert history[1]["metrics"] == {"ndcg@10": 0.6}
    assert all(e["alias"] == CHAMPION and e["time"] and e["run_id"] for e in history)
    with pytest.raises(NoChampionError, match="replaced no earlier champion"):
        registry.rollback(RECOMMENDER)  # version 1 replaced nothing
    registry.rollback(RECOMMENDER, to="2")
    assert str(registry.champion_version(RECOMMENDER).version) == "2"


def test_refusal_is_recorded_and_leaves_the_alias(tracking_uri: str, tmp_path: Path) -> None:  # noqa: F811
    registry = Registry(make_client(tracking_uri))
    v1 = _log_model(registry, tracking_uri, tmp_path, ["x"])
    v2 = _log_model(registry, tracking_uri, tmp_path, ["y"])
    registry.promote(RECOMMENDER, v1, reason="first")
    registry.refuse(RECOMMENDER, v2, reason="worse")
    assert str(registry.champion_version(RECOMMENDER).version) == v1
    assert registry.history(RECOMMENDER)[-1] | {"time": "", "run_id": ""} == {
        "seq": 2,
        "model": RECOMMENDER,
        "action": "refused",
        "alias": CHAMPION,
        "version": v2,
        "previous": v1,
        "metrics": {},
        "reason": "worse",
        "time": "",
        "run_id": "",
    }
    assert registry.version(RECOMMENDER, v2).tags["gate.refused"] == "worse"


def test_rollback_without_champion_is_an_error(tmp_path: Path) -> None:
    registry = Registry(make_client(f"sqlite:///{tmp_path / 'm.db'}"))
    with pytest.raises(NoChampionError, match="no champion"):
        registry.rollback(RECOMMENDER)


@pytest.mark.parametrize(
    ("challenger", "champion_value", "failures", "promote", "why"),
    [
        (0.50, None, [], True, "no champion"),
        (0.50, 0.50, [], True, "not worse"),
        (0.496, 0.50, [], True, "not worse"),  # within the tolerance 0.005
        (0.49, 0.50, [], False, "worse by 0.0100"),
        (0.90, 0.50, ["coverage 0.010 < 0.05"], False, "sanity checks failed: coverage"),
        (None, 0.50, [], False, "undefined"),
        (float("nan"), None, [], False, "undefined"),
    ],
)
def test_gate_decision(
    challenger: float | None,
    champion_value: float | None,
    failures: list[str],
    promote: bool,
    why: str,
) -> None:
    decision = decide(
        challenger, champion_value, metric="ndcg@10", tolerance=0.005, failures=failures
    )
    assert decision.promote is promote
    assert why in decision.reason
