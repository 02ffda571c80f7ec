"""Training without tracking: datasets from the store, holdout replay, final model, sanity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.data.event_log import EventLog
from features.data.reader import StoreReader
from features.data.store import Store
from features.pipeline import FeatureSet
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.models import MODELS
from tests.test_training_support import AS_OF, encoder, tiny_org  # noqa: F401 (fixtures)
from training.config import FeatureConfig, TrainConfig, load_config
from training.datasets import DataValidationError, build_dataset, data_profile, engagement_log
from training.pipeline import holdout_start, live_catalogue, train

QUICK = {
    "data.as_of": AS_OF,
    "data.holdout_days": 10,
    "recommender.params.taste__epochs": 3,
    "recommender.params.taste__no_components": 16,
    "recommender.baselines": ["popular", "recent_popular"],
    "influencer.enabled": False,
    "slots.enabled": False,  # the best time to share: tests/test_slots_training.py
}


def quick_config(**overrides: object) -> TrainConfig:
    config = load_config(None, QUICK | overrides)
    assert isinstance(config, TrainConfig)
    return config


def _snapshot() -> Snapshot:
    advocates = pd.DataFrame({"employee_id": ["a", "b", "c"], "opted_out": [False, False, True]})
    content = pd.DataFrame(
        {
            "content_id": ["x", "y"],
            "published_at": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
        }
    )
    interactions = pd.DataFrame(
        {
            "event_id": ["1", "2", "3", "4", "5"],
            "employee_id": ["a", "b", "a", "c", "b"],
            "content_id": ["x", "y", "y", "x", "x"],
            "event_type": ["share", "impression", "view", "view", "dismiss"],
            "timestamp": pd.to_datetime(
                ["2026-01-03", "2026-01-04", "2026-01-02", "2026-01-05", "2026-01-06"], utc=True
            ),
        }
    )
    return Snapshot.from_frames(
        "2026-02-01", advocates=advocates, content=content, interactions=interactions
    )


def test_engagement_log_weights_orders_and_respects_opt_out() -> None:
    log = engagement_log(_snapshot(), load_config().data.event_weights)
    # impression and dismiss weigh 0; c opted out; oldest first
    assert log[["person", "content", "event_type", "weight"]].values.tolist() == [
        ["a", "y", "view", 1.0],
        ["a", "x", "share", 5.0],
    ]
    assert log["timestamp"].tolist() == [1767312000, 1767398400]


def test_build_dataset_aligns_features_to_every_advocate_and_item() -> None:
    snapshot = _snapshot()
    profile = FeatureMatrix(
        np.array([[1.0], [2.0], [3.0]]), ("department=x",), IdMap.from_ids(["a", "b", "c"])
    )
    history = FeatureMatrix(
        np.array([[5.0], [7.0]]), ("log_count:view",), IdMap.from_ids(["b", "a"])
    )
    metadata = FeatureMatrix(np.array([[1.0], [0.0]]), ("type=job",), IdMap.from_ids(["y", "x"]))
    features = FeatureSet(
        pd.Timestamp("2026-02-01", tz="UTC"),
        {"advocate_profile": profile, "sharing_history": history, "content_metadata": metadata},
    )
    config = FeatureConfig(
        user_matrices=["advocate_profile", "sharing_history"], item_matrices=["content_metadata"]
    )
    log = engagement_log(snapshot, load_config().data.event_weights)
    dataset = build_dataset(snapshot, features, config, log)
    assert dataset.shape == (3, 2)
    assert dataset.user_features.names == ("department=x", "log_count:view")
    np.testing.assert_array_equal(dataset.user_feature_rows(), [[1, 7], [2, 5], [3, 0]])
    np.testing.assert_array_equal(dataset.item_feature_rows(), [[0], [1]])
    assert dataset.item_times.tolist() == [1767225600, 1767312000]


def test_data_profile_fingerprint_ignores_row_order() -> None:
    snapshot = _snapshot()
    shuffled = Snapshot.from_frames(
        "2026-02-01",
        advocates=snapshot.advocates.iloc[::-1],
        content=snapshot.content,
        interactions=snapshot.interactions.iloc[::-1],
    )
    profile = data_profile(snapshot)
    assert profile["rows"]["interactions"] == 5
    assert profile["fingerprint"] == data_profile(shuffled)["fingerprint"]
    changed = Snapshot.from_frames(
        "2026-02-01",
        advocates=snapshot.advocates,
        content=snapshot.content,
        interactions=snapshot.interactions.iloc[:-1],
    )
    assert data_profile(changed)["fingerprint"] != profile["fingerprint"]


def test_train_evaluates_fits_and_saves(tiny_org: Store, encoder, tmp_path: Path) -> None:  # noqa: F811
    config = quick_config()
    snapshot = Snapshot.load(StoreReader(tiny_org), pd.Timestamp(AS_OF))
    result = train(snapshot, config, encoder=encoder, cache=tiny_org)

    evaluation = result.evaluation
    assert evaluation["benchmark"] == "store-replay"
    assert set(evaluation["models"]) == {"hybrid", "popular", "recent_popular"}
    protocol = evaluation["protocol"]
    assert protocol["test_pairs"] >= config.data.min_test_pairs
    log = engagement_log(snapshot, config.data.event_weights)
    assert protocol["split_at"] == holdout_start(log, 10)
    for entry in evaluation["models"].values():
        assert set(entry["slices"]) == {"all", "new_content", "new_person"}
        assert 0.0 <= entry["ndcg@10"] <= entry["hr@10"] <= 1.0
        assert entry["slices"]["all"]["n"] == protocol["test_pairs"]
    # the features the holdout models saw were built before the window
    split = pd.Timestamp(protocol["split_at"], unit="s", tz="UTC")
    assert pd.Timestamp(protocol["features_as_of"]) < split
    assert result.primary_metric == evaluation["models"]["hybrid"]["ndcg@10"]

    assert result.sanity["passed"], result.sanity["failures"]
    assert result.sanity["candidates"] == len(live_catalogue(snapshot))
    assert {"log", "holdout_features", "holdout_models", "features", "fit", "sanity"} <= set(
        result.seconds
    )

    paths = result.save(tmp_path / "out")
    manifest = json.loads((paths["recommender"] / "manifest.json").read_text())
    loaded = MODELS[manifest["model"]].load(paths["recommender"])
    people = snapshot.advocates["employee_id"].astype(str).tolist()[:5]
    expected = result.recommender.recommend(people, 5)
    assert [a.tolist() for a in loaded.recommend(people, 5)[0]] == [a.tolist() for a in expected[0]]
    spec = json.loads((paths["recommender"] / "feature_spec.json").read_text())
    assert spec["item_matrices"] == ["content_metadata", "content_embeddings"]
    assert spec["encoder_model_id"] == encoder.model_id
    # the training cut serving replays from: every stored event numbered above it is new
    assert spec["events_seq"] == snapshot.events_seq == EventLog(tiny_org).head() > 0
    assert any(n.startswith("emb_") for n in spec["item_feature_names"])
    saved = json.loads(paths["evaluation"].read_text())
    assert saved["recommender"]["models"]["hybrid"]["ndcg@10"] == result.primary_metric


def test_same_config_data_and_seed_give_the_same_metrics(tiny_org: Store, encoder) -> None:  # noqa: F811
    config = quick_config(**{"recommender.baselines": ["lightfm_cf"]})
    snapshot = Snapshot.load(StoreReader(tiny_org), pd.Timestamp(AS_OF))
    first = train(snapshot, config, encoder=encoder, cache=tiny_org)
    second = train(snapshot, config, encoder=encoder, cache=tiny_org)

    def metrics(result: object) -> dict[str, object]:
        return {
            m: {k: v for k, v in e.items() if k != "seconds"}
            for m, e in result.evaluation["models"].items()
        }  # type: ignore[attr-defined]

    assert metrics(first) == metrics(second)
    assert first.profile["fingerprint"] == second.profile["fingerprint"]


def test_thin_data_is_refused_before_fitting(tiny_org: Store, encoder) -> None:  # noqa: F811
    snapshot = Snapshot.load(StoreReader(tiny_org), pd.Timestamp(AS_OF))
    with pytest.raises(DataValidationError, match=r"new \(employee, content\) pairs"):
        train(snapshot, quick_config(**{"data.min_test_pairs": 10**6}), encoder=encoder)
    empty = Snapshot.from_frames(AS_OF)
    with pytest.raises(DataValidationError, match="no weighted events"):
        train(empty, quick_config(), encoder=encoder)
