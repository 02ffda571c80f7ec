"""training.evaluation.runner and ``advocacy evaluate``: shapes, the replay's rules, real data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from recsys.models import Hybrid, Popular, RecentPopular
from training.commands.evaluate import evaluate
from training.evaluation.deskdrop import HYBRID_EXTRAS, with_extras
from training.evaluation.replay_slices import slice_names
from training.evaluation.runner import (
    BENCHMARKS,
    TUNED,
    deskdrop_benchmark,
    deskdrop_validation_window,
    movielens_benchmark,
    movielens_cold_benchmark,
    run_benchmark,
)

HOUR = 3600
SPLIT = 1_000 * HOUR
REPLAY_METRICS = {"hr@10", "ndcg@10", "mrr"}
CHEAP = {"popular": Popular, "recent_popular": RecentPopular}


def events(rows: list[tuple[int, str, int, int]]) -> pd.DataFrame:
    """DeskDrop-like events from (time, event type, content, person) rows."""
    return pd.DataFrame(rows, columns=["timestamp", "eventType", "contentId", "personId"])


def tiny_log() -> pd.DataFrame:
    """Content 1 is by far the most popular; person 9 first touches it after the split."""
    rows = [
        (t * HOUR, "VIEW", c, p)
        for t, (c, p) in enumerate(
            [(1, 1), (2, 1), (3, 2), (1, 2), (1, 3), (1, 4), (2, 5), (4, 6), (1, 5), (5, 7)]
        )
    ]
    rows += [(SPLIT + HOUR, "LIKE", 1, 9), (SPLIT + 2 * HOUR, "VIEW", 1, 8)]
    return events(rows)


def random_log(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    times = np.sort(rng.integers(0, 2 * SPLIT, n))
    kinds = rng.choice(["VIEW", "LIKE", "BOOKMARK", "FOLLOW", "COMMENT CREATED"], n)
    contents = rng.integers(0, 40, n) + (times // (SPLIT // 4)) * 100
    people = rng.integers(0, 30, n)
    return events(list(zip(times.tolist(), kinds, contents.tolist(), people.tolist(), strict=True)))


def test_tiny_replay_popularity_finds_the_most_popular_candidate() -> None:
    result = deskdrop_benchmark(tiny_log(), {"popular": Popular}, split_at=SPLIT)
    assert set(result) == {"benchmark", "protocol", "models", "seconds"}
    assert result["benchmark"] == "deskdrop-replay"
    assert result["protocol"]["test_pairs"] == 2
    entry = result["models"]["popular"]
    assert entry["hr@10"] == 1.0 and entry["mrr"] == 1.0 and entry["ndcg@10"] == 1.0
    assert list(entry["slices"]) == ["all", *slice_names()]
    assert entry["slices"]["new_person"]["n"] == 2
    assert entry["slices"]["new_content"] == {"hr@10": None, "ndcg@10": None, "mrr": None, "n": 0}
    assert set(entry["seconds"]) == {"fit", "observe", "recommend"}
    json.dumps(result, allow_nan=False)


def test_rank_skips_contents_the_person_touched_before() -> None:
    """Person 1 touched 1 and 2 before; target 3 ranks first among the rest."""
    log = tiny_log()
    log = pd.concat([log, events([(SPLIT + 3 * HOUR, "VIEW", 3, 1)])], ignore_index=True)
    result = deskdrop_benchmark(log, {"popular": Popular}, split_at=SPLIT + 3 * HOUR)
    assert result["protocol"]["test_pairs"] == 1
    assert result["models"]["popular"]["mrr"] == 1.0


class Spy(Popular):
    """Records the latest event time it has seen at each scoring."""

    name = "spy"
    log: ClassVar[list[tuple[float, float]]] = []

    def _fit(self, dataset):
        super()._fit(dataset)
        self.latest_ = float(dataset.interactions.times.max(initial=-1))

    def _observe(self, users, items, times, weights) -> None:
        super()._observe(users, items, times, weights)
        self.latest_ = max(self.latest_, float(np.max(times, initial=-1)))

    def _score(self, users, items, as_of):
        Spy.log.append((self.latest_, as_of))
        return super()._score(users, items, as_of)


def test_models_never_see_events_at_or_after_the_pair_time() -> None:
    Spy.log = []
    log = random_log()
    result = deskdrop_benchmark(log, {"spy": Spy}, split_at=SPLIT, until=SPLIT * 3 // 2)
    n_pairs = result["protocol"]["test_pairs"]
    assert n_pairs > 20
    assert len(Spy.log) >= 10
    assert all(latest < as_of for latest, as_of in Spy.log)
    # and everything before each pair time was observed: the last scoring saw the latest event
    latest, as_of = Spy.log[-1]
    assert latest == log.loc[log["timestamp"] < as_of, "timestamp"].max()


def test_recent_popular_half_life_is_tuned_on_the_validation_window_only() -> None:
    """The registered class is tuned before the split (grid and choice reported); a custom
    factory is left alone; nothing at or after the split is read while tuning."""
    log = random_log(n=1200)
    result = deskdrop_benchmark(log, CHEAP, split_at=2 * SPLIT - 40 * 86_400)
    tuning = result["protocol"]["tuning"]["recent_popular"]
    assert tuning["parameters"] == ["half_life_days"]
    assert tuning["chosen"]["half_life_days"] in TUNED["recent_popular"]["half_life_days"]
    assert len(tuning["grid"]) == len(TUNED["recent_popular"]["half_life_days"])
    assert tuning["validation_end_utc"] == result["protocol"]["split_at_utc"]
    # changing the events after the split does not change the choice
    later = log["timestamp"] >= 2 * SPLIT - 40 * 86_400
    shuffled = log.copy()
    shuffled.loc[later, "contentId"] = shuffled.loc[later, "contentId"].to_numpy()[::-1]
    again = deskdrop_benchmark(shuffled, CHEAP, split_at=2 * SPLIT - 40 * 86_400)
    assert again["protocol"]["tuning"]["recent_popular"] == tuning
    custom = deskdrop_benchmark(log, {"recent_popular": lambda: RecentPopular()}, split_at=SPLIT)
    assert custom["protocol"]["tuning"] == {}


def test_only_the_bare_hybrid_gets_the_deskdrop_extra_components() -> None:
    model = with_extras(Hybrid)
    assert [c.name for c in model.extra_components] == list(HYBRID_EXTRAS)
    result = deskdrop_benchmark(tiny_log(), {"popular": Popular}, split_at=SPLIT)
    assert result["protocol"]["configs"] == {}


def test_validation_window_is_the_days_before_the_split() -> None:
    assert deskdrop_validation_window(SPLIT, days=2) == (SPLIT - 2 * 86_400, SPLIT)
    start, end = deskdrop_validation_window(SPLIT, days=10)
    result = deskdrop_benchmark(random_log(), CHEAP, split_at=start, until=end)
    assert result["protocol"]["until"] == end


def cli(*args: str) -> object:
    app = typer.Typer()
    app.command("evaluate")(evaluate)
    app.callback()(lambda: None)
    return CliRunner().invoke(app, ["evaluate", *args])


def test_cli_json_and_table(tmp_path: Path) -> None:
    tiny_log().assign(sessionId=0).to_csv(tmp_path / "users_interactions.csv", index=False)
    args = ["deskdrop-replay", "--data", str(tmp_path), "--split-at", str(SPLIT)]
    done = cli(*args, "--models", "popular,recent_popular", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["models"]["popular"]["hr@10"] == 1.0
    table = cli(*args, "--models", "popular")
    assert table.exit_code == 0 and "popular" in table.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--data", "."], "unknown benchmark"),
        (["movielens-100k", "--data", "/no/such/path"], "not found"),
        (["movielens-100k", "--data", ".", "--models", "popular,nope"], "unknown model"),
    ],
)
def test_cli_errors_exit_2(args: list[str], message: str) -> None:
    done = cli(*args)
    assert done.exit_code == 2
    assert message in done.output


def check_shape(result: dict, metrics: set[str], models: set[str]) -> None:
    assert set(result) == {"benchmark", "protocol", "models", "seconds"}
    assert set(result["models"]) == models
    for entry in result["models"].values():
        assert set(entry) == metrics | {"slices", "seconds"}
        assert set(entry["slices"]["all"]) == metrics | {"n"}
        assert {"fit", "recommend"} <= set(entry["seconds"])
    assert result["protocol"]["primary_metric"] in metrics
    json.dumps(result, allow_nan=False)


def test_movielens_100k_real(shared_data: Path) -> None:
    # without title embeddings: the popularity figures do not depend on item features
    result = movielens_benchmark(shared_data / "movielens-100k", CHEAP, titles=False)
    check_shape(result, {"map@10", "ndcg@10", "precision@10", "recall@10"}, set(CHEAP))
    popular = result["models"]["popular"]
    assert popular["slices"]["all"]["n"] == 943
    assert popular["precision@10"] == pytest.approx(0.228738, abs=1e-5)
    assert popular["map@10"] == pytest.approx(0.055959, abs=1e-5)


def test_movielens_cold_real(shared_data: Path) -> None:
    result = movielens_cold_benchmark(shared_data / "movielens-100k", CHEAP, titles=False)
    check_shape(result, {"auc"}, set(CHEAP))
    assert result["models"]["popular"]["auc"] == pytest.approx(0.5)  # cold items all tie


def test_deskdrop_replay_real(shared_data: Path) -> None:
    """The real replay at the documented split. ``recent_popular`` at its default half-life:
    a custom factory is not tuned (the tuning, 11 more replays of October, is tested above)."""
    models = {"popular": Popular, "recent_popular": lambda: RecentPopular()}
    result = run_benchmark("deskdrop-replay", shared_data, models, split_at="2016-11-01")
    check_shape(result, REPLAY_METRICS, set(CHEAP))
    assert result["protocol"]["tuning"] == {}
    assert result["protocol"]["test_pairs"] == 2976
    assert result["protocol"]["first_reads_left_out"] == 230
    recent = result["models"]["recent_popular"]
    assert list(recent["slices"]) == ["all", *slice_names()]
    assert recent["hr@10"] > 0.5 > result["models"]["popular"]["hr@10"]


def test_benchmark_names() -> None:
    assert set(BENCHMARKS) == {"movielens-100k", "movielens-100k-cold", "deskdrop-replay"}


def test_movielens_configs_apply_to_bare_registered_classes_only() -> None:
    from recsys.models import Hybrid
    from training.evaluation.movielens import CONFIGS, configured

    chosen, used = configured({"hybrid": Hybrid, "popular": Popular})
    assert used == {"hybrid": CONFIGS["hybrid"]}
    assert chosen["hybrid"]().get_params()["taste__item_feature_prefix"] == "genre="
    assert chosen["popular"] is Popular
    custom, used = configured({"hybrid": lambda: Hybrid().set_params(taste__epochs=1)})
    assert used == {} and custom["hybrid"]().taste.epochs == 1


def test_the_movielens_hybrid_config_fits_saves_and_loads(tmp_path: Path) -> None:
    """Its extra components (tree prior, genre affinity, release window, cold time
    popularity) come back from the saved arrays, and score content added after the load as
    before."""
    from recsys.dataset import Dataset
    from recsys.ids import IdMap
    from recsys.matrix import FeatureMatrix
    from recsys.models import Hybrid, make_recommender
    from training.evaluation.movielens import CONFIGS

    rng = np.random.default_rng(0)
    items = [f"m{j}" for j in range(12)]
    names = ("genre=a", "genre=b", "year", "emb_0", "emb_1", "released")
    released = np.where(np.arange(12) < 6, 0.0, 2.0)[:, None]  # days since the epoch
    values = np.hstack([np.eye(2)[np.arange(12) % 2], rng.normal(size=(12, 3)), released])
    features = FeatureMatrix(values.astype(np.float32), names, IdMap.from_ids(items, "content"))
    pairs = [(u, i) for u in range(20) for i in range(12) if rng.random() < 0.3 + 0.04 * i]
    dataset = Dataset.from_events(
        [f"u{u}" for u, _ in pairs],
        [items[i] for _, i in pairs],
        times=np.arange(len(pairs)) * 3600.0,
        items=IdMap.from_ids(items, "content"),
        item_features=features,
    )
    params = CONFIGS["hybrid"] | {"taste__no_components": 4, "taste__epochs": 3, "negatives": 5}
    model = make_recommender("hybrid", params).fit(dataset)
    extras = {"tree_prior", "genre_affinity", "release_window", "cold_time_popularity"}
    assert extras <= set(model.components_)
    model.save(tmp_path / "model")
    loaded = Hybrid.load(tmp_path / "model")
    late = FeatureMatrix(
        np.asarray([[1, 0, 0.5, 0.1, 0.2, 3.0]], np.float32), names, IdMap.from_ids(["new"], "c")
    )
    for fitted in (model, loaded):
        fitted.add_items(["new"], late)
    users, codes = np.arange(3), np.arange(13)
    as_of = float(len(pairs) * 3600)
    np.testing.assert_allclose(loaded.score(users, codes, as_of), model.score(users, codes, as_of))
    window = model.components_["release_window"]
    assert window.row(0, np.asarray([12]), as_of)[0] < 1.0  # out after most of u0's events
