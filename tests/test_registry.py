"""The MLflow registry layer: versions, champion alias, history, rollback, loader, gate.

Real MLflow stores: a SQLite file in a temp folder and a fresh PostgreSQL database.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from mlflow.entities import Metric, Param, RunTag

from recsys.dataset import Dataset
from recsys.models import MODELS, Popular
from tests.test_training_support import tracking_uri  # noqa: F401 (fixture)
from training.registry import (
    CHAMPION,
    INFLUENCERS,
    RECOMMENDER,
    NoChampionError,
    Registry,
    RegistryUnavailableError,
    champion,
    decide,
    default_tracking_uri,
    describe,
    make_client,
    resolve_tracking_uri,
)
from training.tracking import evaluation_metrics


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


def _training_run(
    registry: Registry,
    tmp_path: Path,
    metrics: dict[str, float],
    tags: dict[str, str],
    params: int = 3,
) -> str:
    """A finished run with training-like metrics, tags and ``params`` params; its id."""
    client = registry.client
    found = client.get_experiment_by_name("t")
    experiment_id = (
        found.experiment_id
        if found
        else client.create_experiment("t", artifact_location=(tmp_path / "art").as_uri())
    )
    run_id = client.create_run(experiment_id).info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()],
        params=[Param(f"p{i}", str(i)) for i in range(params)],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    client.set_terminated(run_id)
    return run_id


def _runner(models: dict[str, dict[str, float]]) -> dict[str, object]:
    """A runner-shaped evaluation result (overall metrics, one slice, seconds per model)."""
    return {
        "models": {
            name: values | {"slices": {"all": values | {"n": 40}}, "seconds": {"fit": 1.5}}
            for name, values in models.items()
        }
    }


RECOMMENDER_METRICS = evaluation_metrics(
    _runner(
        {
            "hybrid": {"ndcg@10": 0.31, "hr@10": 0.52, "mrr": 0.27},
            "popular": {"ndcg@10": 0.22, "hr@10": 0.41, "mrr": 0.18},
            "content": {"ndcg@10": 0.25, "hr@10": 0.39, "mrr": 0.21},
        }
    ),
    "rec",
) | {"sanity.coverage": 0.4, "sanity.latency_p95_ms": 12.5, "seconds.fit": 30.0}
INFLUENCER_METRICS = evaluation_metrics(
    _runner(
        {
            "influence": {"auc": 0.71, "precision@k": 0.3, "recall@k": 0.35},
            "leaderboard": {"auc": 0.64, "precision@k": 0.2, "recall@k": 0.25},
            "followers": {"auc": 0.58, "precision@k": 0.1, "recall@k": 0.15},
        }
    ),
    "inf",
)
RUN_TAGS = {
    "model": "hybrid",
    "primary_metric": "ndcg@10",
    "data.fingerprint": "abc123",
    "data.as_of": "2026-11-01T00:00:00+00:00",
    "data.rows.events": "1200",
    "config.name": "default",
    "version.numpy": "2.1.0",
}


def test_describe_a_model_that_does_not_exist(tracking_uri: str) -> None:  # noqa: F811
    expected = {"name": RECOMMENDER, "champion": None, "versions": [], "history": []}
    assert describe(RECOMMENDER, tracking_uri=tracking_uri) == expected


def test_describe_the_champion_versions_and_history(tracking_uri: str, tmp_path: Path) -> None:  # noqa: F811
    registry = Registry(make_client(tracking_uri))
    metrics = RECOMMENDER_METRICS | INFLUENCER_METRICS
    run_id = _training_run(registry, tmp_path, metrics, RUN_TAGS, params=150)
    v1 = registry.register(RECOMMENDER, run_id, "recommender")
    v2 = _log_model(registry, tracking_uri, tmp_path, ["x"])
    v3 = _log_model(registry, tracking_uri, tmp_path, ["y"])
    registry.promote(RECOMMENDER, v1, reason="first", metrics={"ndcg@10": 0.31})
    registry.refuse(RECOMMENDER, v2, reason="worse")
    registry.refuse(RECOMMENDER, v3, reason="worse again")

    described = describe(RECOMMENDER, tracking_uri=tracking_uri, history=2, versions=2)
    assert json.loads(json.dumps(described)) == described  # plain JSON types only
    found = described["champion"]
    assert (found["version"], found["run_id"], found["params"]) == (v1, run_id, 150)
    assert (found["model"], found["baseline"], found["primary_metric"]) == (
        "hybrid",
        "content",  # the best baseline by ndcg@10
        "ndcg@10",
    )
    assert found["metrics"] == pytest.approx(
        {
            "ndcg@10": 0.31,
            "hr@10": 0.52,
            "mrr": 0.27,
            "baseline.ndcg@10": 0.25,
            "baseline.hr@10": 0.39,
            "baseline.mrr": 0.21,
            "coverage": 0.4,
            "latency_p95_ms": 12.5,
        }
    )
    assert list(found["metrics"])[:4] == ["ndcg@10", "hr@10", "mrr", "baseline.ndcg@10"]
    assert found["tags"] == {k: v for k, v in RUN_TAGS.items() if k.startswith(("data.", "config"))}
    trained = found["trained_at"]
    start, end = datetime.fromisoformat(trained["start"]), datetime.fromisoformat(trained["end"])
    assert start <= end and start.utcoffset().total_seconds() == 0 and trained["seconds"] >= 0
    assert trained["training_seconds"] == 30.0  # the logged seconds.<stage>
    assert datetime.fromisoformat(found["registered_at"]) >= start.replace(microsecond=0)

    assert [(v["version"], v["champion"]) for v in described["versions"]] == [
        (v3, False),
        (v2, False),
    ]
    assert all(v["run_id"] and v["registered_at"] for v in described["versions"])
    assert [(e["action"], e["version"]) for e in described["history"]] == [
        ("refused", v3),
        ("refused", v2),
    ]
    everything = describe(RECOMMENDER, tracking_uri=tracking_uri)["history"]
    assert [e["seq"] for e in everything] == [3, 2, 1]
    assert everything[-1] | {"time": ""} == registry.history(RECOMMENDER)[0] | {"time": ""}


def test_describe_the_influencer_scorer_and_unknown_metric_names(
    tracking_uri: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    registry = Registry(make_client(tracking_uri))
    run_id = _training_run(registry, tmp_path, RECOMMENDER_METRICS | INFLUENCER_METRICS, RUN_TAGS)
    registry.promote(INFLUENCERS, registry.register(INFLUENCERS, run_id, "x"), reason="first")
    found = describe(INFLUENCERS, tracking_uri=tracking_uri)["champion"]
    assert (found["model"], found["baseline"], found["primary_metric"]) == (
        "influence",
        "leaderboard",
        "auc",
    )
    assert found["metrics"] == pytest.approx(
        {
            "auc": 0.71,
            "precision@k": 0.3,
            "recall@k": 0.35,
            "baseline.auc": 0.64,
            "baseline.precision@k": 0.2,
            "baseline.recall@k": 0.25,
        }
    )
    other = _training_run(registry, tmp_path, {"loss": 0.5, "rec.hybrid.ndcg_at_10": 0.3}, {})
    registry.promote("other-model", registry.register("other-model", other, "x"), reason="first")
    found = describe("other-model", tracking_uri=tracking_uri)["champion"]
    assert found["metrics"] == {"loss": 0.5, "rec.hybrid.ndcg_at_10": 0.3}  # everything
    assert (found["model"], found["baseline"], found["primary_metric"]) == (None, None, None)


def test_describe_an_unreachable_registry_is_a_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with pytest.raises(RegistryUnavailableError, match=r"127\.0\.0\.1:1 unavailable") as caught:
        describe(RECOMMENDER, tracking_uri="http://pm:secret@127.0.0.1:1")
    assert isinstance(caught.value, ConnectionError) and "secret" not in str(caught.value)
