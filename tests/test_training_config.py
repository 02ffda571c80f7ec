"""Training configs: defaults, YAML files, overrides, grids and errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config import (
    BenchmarkConfig,
    ConfigError,
    TrainConfig,
    flatten,
    grid_points,
    load_config,
    parse_sets,
)

CONFIGS = Path(__file__).resolve().parents[1] / "experiments" / "configs"


def test_defaults() -> None:
    config = load_config()
    assert isinstance(config, TrainConfig)
    assert config.recommender.model == "hybrid"
    assert config.data.event_weights["share"] == 5.0
    assert config.data.event_weights["impression"] == 0.0
    assert config.model_params("hybrid") == {"random_state": 42}
    assert config.model_params("popular") == {}  # no random_state parameter


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(path: Path) -> None:
    assert load_config(path).name


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"data.bogus": 1}, "data.bogus: unknown key"),
        ({"bogus": 1}, "bogus: unknown key"),
        ({"data.holdout_days": 0}, "data.holdout_days: Input should be greater than 0"),
        ({"gate.tolerance": "a"}, "gate.tolerance: Input should be a valid number"),
        ({"recommender.model": "nope"}, "recommender.model: unknown model 'nope'"),
        ({"recommender.baselines": ["nope"]}, "recommender.baselines: unknown model 'nope'"),
        (
            {"recommender.params.taste__epochs": "x"},
            "recommender.params.taste__epochs: expected a number",
        ),
        (
            {"recommender.params.taste__epochs": 2.5},
            "recommender.params.taste__epochs: expected an integer",
        ),
        ({"recommender.params.bogus": 1}, "recommender.params.bogus: not a parameter of"),
        ({"features.user_matrices": ["x"]}, "features.user_matrices.0: Input should be"),
        ({"data.event_weights": {"klick": 1}}, "data.event_weights: unknown event type"),
        ({"data.event_weights": {"view": -1}}, "weights must be >= 0"),
    ],
)
def test_errors_name_the_key(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(None, overrides)
    assert message in str(raised.value)


def test_yaml_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("recommender:\n  modle: hybrid\n")
    with pytest.raises(ConfigError, match=r"c.yaml: recommender.modle: unknown key"):
        load_config(path)
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_benchmark_config() -> None:
    config = load_config(CONFIGS / "bench_deskdrop.yaml")
    assert isinstance(config, BenchmarkConfig) and config.benchmark == "deskdrop-replay"
    with pytest.raises(ConfigError, match="benchmark: unknown 'x'"):
        load_config(None, {"kind": "benchmark", "benchmark": "x"})


def test_overrides_grid_and_flatten() -> None:
    grid = parse_sets(["recommender.params.taste__epochs=5,10", "data.holdout_days=7"])
    assert grid == {"recommender.params.taste__epochs": [5, 10], "data.holdout_days": [7]}
    points = grid_points(grid)
    assert points == [
        {"recommender.params.taste__epochs": 5, "data.holdout_days": 7},
        {"recommender.params.taste__epochs": 10, "data.holdout_days": 7},
    ]
    config = load_config(None, points[1])
    flat = flatten(config)
    assert flat["recommender.params.taste__epochs"] == "10"
    assert flat["data.holdout_days"] == "7.0"
    assert flat["features.item_matrices"] == '["content_metadata", "content_embeddings"]'
    assert parse_sets(["features.user_matrices=[advocate_profile,audience],[audience]"]) == {
        "features.user_matrices": [["advocate_profile", "audience"], ["audience"]]
    }
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_sets(["novalue"])


def test_the_default_config_file_holds_the_defaults() -> None:
    """experiments/configs/default.yaml lists every section at its default value."""
    loaded = load_config(CONFIGS / "default.yaml")
    defaults = TrainConfig(name=loaded.name)
    assert loaded.model_dump() == defaults.model_dump()
