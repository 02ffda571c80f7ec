"""``experiment run`` and the train/retrain/rollback commands, end to end on real MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from features.data.store import Store
from tests.test_training_pipeline import QUICK
from tests.test_training_support import AS_OF, encoder, tiny_org  # noqa: F401 (fixtures)
from training.commands.train import experiment_app, retrain, rollback, train
from training.config import ConfigError
from training.experiment import EXPERIMENT, expand, run_experiment
from training.registry import RECOMMENDER, Registry, make_client
from training.tracking import Tracker

app = typer.Typer()
app.command("train")(train)
app.command("retrain")(retrain)
app.command("rollback")(rollback)
app.add_typer(experiment_app, name="experiment")


def _config(tmp_path: Path, name: str, **extra: object) -> Path:
    raw: dict[str, object] = {"name": name}
    for key, value in (QUICK | extra).items():
        node = raw
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        node[last] = value  # type: ignore[index]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("ADVOCACY_DATA_DIR", str(folder))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("ADVOCACY_ARTIFACT_ROOT", raising=False)
    return folder


def test_grid_runs_as_children_of_one_parent_best_first(
    tiny_org: Store,  # noqa: F811
    encoder,  # noqa: F811
    tmp_path: Path,
) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", artifact_root=(tmp_path / "a").as_uri())
    path = _config(tmp_path, "grid", **{"recommender.params": {}, "recommender.baselines": []})
    grid = {"recommender.model": ["popular", "recent_popular"]}
    experiment = run_experiment(
        [path], grid, tracker, store=tiny_org, encoder=encoder, name="compare"
    )
    rows = experiment.rows
    assert [r.model for r in rows] == sorted(
        ["popular", "recent_popular"], key=lambda m: -next(r.value for r in rows if r.model == m)
    )
    assert rows[0].value >= rows[1].value and rows[0].metric == "ndcg@10"
    assert {r.overrides["recommender.model"] for r in rows} == {"popular", "recent_popular"}
    experiment_id = tracker.experiment_id(EXPERIMENT)
    children = tracker.client.search_runs(
        [experiment_id], f"tags.mlflow.parentRunId = '{experiment.parent_run_id}'"
    )
    assert {c.info.run_id for c in children} == {r.run_id for r in rows}
    assert all(
        c.data.params["recommender.model"] == r
        for c, r in zip(
            sorted(children, key=lambda c: c.data.params["recommender.model"]),
            ["popular", "recent_popular"],
            strict=True,
        )
    )
    parent = tracker.client.get_run(experiment.parent_run_id)
    assert parent.data.tags["best_run_id"] == rows[0].run_id
    assert Registry(tracker.client).history(RECOMMENDER) == []  # nothing registered


def test_grid_errors_name_the_point_before_anything_runs(tmp_path: Path) -> None:
    path = _config(tmp_path, "bad")
    with pytest.raises(ConfigError, match=r"recommender.params.taste__epochs.*taste__epochs': 'x'"):
        expand([path], {"recommender.params.taste__epochs": [3, "x"]})


def test_benchmark_config_runs_the_offline_benchmark(shared_data: Path, tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", artifact_root=(tmp_path / "a").as_uri())
    path = tmp_path / "bench.yaml"
    config = {
        "kind": "benchmark",
        "benchmark": "deskdrop-replay",
        "data": str(shared_data),
        "models": ["popular", "recent_popular"],
        "model_params": {"recent_popular": {"half_life_days": 1.0}},
        "split_at": "2016-11-01",
        "until": "2016-11-08",
    }
    path.write_text(yaml.safe_dump(config))
    experiment = run_experiment([path], {}, tracker)
    (row,) = experiment.rows
    assert row.metric == "ndcg@10" and row.model in ("popular", "recent_popular")
    run = tracker.client.get_run(row.run_id)
    metrics = run.data.metrics
    assert metrics[f"bench.{row.model}.ndcg_at_10"] == pytest.approx(row.value)
    assert {"bench.popular.new_content.mrr", "bench.recent_popular.hr_at_10"} <= set(metrics)
    assert run.data.params["model_params.recent_popular.half_life_days"] == "1.0"
    listed = {a.path for a in tracker.client.list_artifacts(row.run_id)}
    assert {"result.json", "config.yaml", "benchmark_ndcg_at_10.png"} <= listed


def test_commands_train_retrain_rollback_and_errors(
    tiny_org: Store,  # noqa: F811
    data_dir: Path,
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    db = tiny_org.url
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = _config(tmp_path, "cli", **{"recommender.baselines": ["popular"]})

    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  holdout_dayz: 3\n")
    result = runner.invoke(app, ["train", "--config", str(bad), "--db", db])
    assert result.exit_code == 2 and "data.holdout_dayz: unknown key" in result.output

    result = runner.invoke(
        app, ["train", "-c", str(config), "--db", db, "--tracking-uri", uri, "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["versions"][RECOMMENDER] == "1"
    assert [e["action"] for e in summary["events"] if e["model"] == RECOMMENDER] == ["promote"]
    assert (data_dir / "mlartifacts").is_dir()  # the embedded artifact root

    result = runner.invoke(
        app, ["retrain", "-c", str(config), "--db", db, "--tracking-uri", uri, "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["decisions"][RECOMMENDER]["promote"]  # same config, same data: not worse

    result = runner.invoke(app, ["rollback", "--tracking-uri", uri, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["version"] == "1"
    registry = Registry(make_client(uri))
    assert str(registry.champion_version(RECOMMENDER).version) == "1"
    result = runner.invoke(app, ["rollback", "--tracking-uri", uri])
    assert result.exit_code == 5 and "replaced no earlier champion" in result.output

    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    result = runner.invoke(
        app, ["retrain", "-c", str(config), "--db", empty, "--tracking-uri", uri]
    )
    assert result.exit_code == 3 and "no alias moved" in result.output
    result = runner.invoke(
        app,
        [
            "train",
            "--db",
            db,
            "--no-track",
            "--set",
            f"data.as_of={AS_OF}",
            "--set",
            "recommender.model=popular",
            "--set",
            "recommender.baselines=[]",
            "--set",
            "influencer.enabled=false",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Holdout window" in result.output and "popular (shipped)" in result.output
