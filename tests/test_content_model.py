"""Content-based model: the contract, and obvious answers on tiny embedding datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.matrix import unit_rows as _unit_rows
from recsys.models import MODELS, ContentBased
from tests.recsys_contract import DAY, RecommenderContract, tiny_dataset

# items a..e of the contract dataset: a, b near topic x; c, d near topic y; e in between
TINY_EMBEDDINGS = {
    "a": [1.0, 0.1, 0.0],
    "b": [0.9, 0.0, 0.2],
    "c": [0.0, 1.0, 0.1],
    "d": [0.1, 0.9, 0.0],
    "e": [0.5, 0.5, 0.5],
}


def embeddings(rows: dict[str, list[float]], extra: bool = False) -> FeatureMatrix:
    ids = IdMap.from_ids(rows, "content")
    values = np.asarray(list(rows.values()))
    names = tuple(f"emb_{j}" for j in range(values.shape[1]))
    if extra:  # a non-embedding column that must be ignored
        values = np.hstack([values, np.full((len(rows), 1), 100.0)])
        names += ("length",)
    return FeatureMatrix(values, names, ids)


def with_items(dataset: Dataset, features: FeatureMatrix) -> Dataset:
    return Dataset(
        dataset.users,
        dataset.items,
        dataset.interactions,
        item_features=features,
        item_times=dataset.item_times,
    )


class TestContentBased(RecommenderContract):
    def make_model(self) -> ContentBased:
        return ContentBased()

    def dataset(self) -> Dataset:
        return with_items(tiny_dataset(), embeddings(TINY_EMBEDDINGS, extra=True))

    def test_registered(self) -> None:
        assert MODELS["content"] is ContentBased

    def test_history_topic_first(self) -> None:
        # u1 saw a and b (topic x); u2 saw a and c: c and d are y, e is in between
        ids, scores = self.fitted().recommend(["u1"], 3)
        assert ids[0].tolist() == ["e", "d", "c"]
        assert scores[0][0] <= 1.0 + 1e-5

    def test_cosine_values(self) -> None:
        model = self.fitted()
        _, scores = model.recommend(["u3"], 5, exclude_seen=False, candidates=["e"])
        vectors = _unit_rows(np.asarray(list(TINY_EMBEDDINGS.values())))
        profile = _unit_rows((vectors[0] * 0.5 ** (1 / 30) + vectors[3])[None, :])[0]
        # u3: a at day 5, d at day 6, half-life 30 days
        np.testing.assert_allclose(scores[0][0], profile @ vectors[4], atol=2e-6)

    def test_new_content_scored_from_its_embedding(self) -> None:
        model = self.fitted()
        new = embeddings({"f": [1.0, 0.0, 0.1], "g": [0.0, 1.0, 0.0]})
        model.add_items(["f", "g"], new, times=[7 * DAY, 7 * DAY])
        ids, _ = model.recommend(["u1"], 5)
        assert ids[0][0] == "f" and ids[0].tolist().index("g") > 0

    def test_missing_columns_and_prefix(self) -> None:
        with pytest.raises(ValueError, match="item_features"):
            ContentBased().fit(tiny_dataset())
        with pytest.raises(ValueError, match="starts with"):
            ContentBased(feature_prefix="topic_").fit(self.dataset())
        with pytest.raises(ValueError, match="half_life"):
            ContentBased(half_life_days=0).fit(self.dataset())


def clusters(weights: list[float] | None = None, times: list[int] | None = None) -> Dataset:
    """x1..x3 about topic x, y1..y3 about topic y; ann likes x, bob likes y, cy likes x."""
    users = ["ann", "ann", "bob", "bob", "cy"]
    items = ["x1", "x2", "y1", "y2", "x1"]
    rows = {
        "x1": [1.0, 0.0],
        "x2": [0.9, 0.1],
        "x3": [0.95, 0.05],
        "y1": [0.0, 1.0],
        "y2": [0.1, 0.9],
        "y3": [0.05, 0.95],
    }
    catalogue = IdMap.from_ids(rows, "content")
    dataset = Dataset.from_events(
        users, items, weights, [DAY] * len(users) if times is None else times, items=catalogue
    )
    return with_items(dataset, embeddings(rows))


def test_each_cluster_gets_its_topic_first() -> None:
    model = ContentBased().fit(clusters())
    ids, _ = model.recommend(["ann", "bob", "cy"], 2)
    assert ids[0][0] == "x3" and ids[1][0] == "y3" and ids[2][0] in {"x2", "x3"}


def test_cold_employee_gets_mean_affinity() -> None:
    # two of three employees like topic x: a newcomer gets x first
    ids, _ = ContentBased().fit(clusters()).recommend(["newcomer"], 3)
    assert set(ids[0]) == {"x1", "x2", "x3"}


def test_recent_interest_outweighs_old_with_decay() -> None:
    users = ["ann", "ann", "ann"]
    items = ["x1", "x2", "y1"]
    times = [0, 0, 30 * DAY]
    rows = {"x1": [1.0, 0.0], "x2": [1.0, 0.05], "y1": [0.0, 1.0], "x3": [1.0, 0.1], "y3": [0.1, 1]}
    dataset = with_items(
        Dataset.from_events(users, items, times=times, items=IdMap.from_ids(rows, "content")),
        embeddings(rows),
    )
    decayed = ContentBased(half_life_days=1.0).fit(dataset).recommend(["ann"], 1)[0][0]
    flat = ContentBased(half_life_days=None).fit(dataset).recommend(["ann"], 1)[0][0]
    assert decayed.tolist() == ["y3"] and flat.tolist() == ["x3"]


def test_weights_count() -> None:
    # ann touched x1 once strongly and y1 once weakly
    dataset = Dataset.from_events(["ann", "ann"], ["x1", "y1"], [5.0, 1.0], [DAY, DAY])
    rows = {"x1": [1.0, 0.0], "y1": [0.0, 1.0], "x3": [1.0, 0.1], "y3": [0.1, 1.0]}
    catalogue = IdMap.from_ids(rows, "content")
    dataset = with_items(
        Dataset.from_events(["ann", "ann"], ["x1", "y1"], [5.0, 1.0], [DAY, DAY], items=catalogue),
        embeddings(rows),
    )
    assert ContentBased().fit(dataset).recommend(["ann"], 1)[0][0].tolist() == ["x3"]


def test_observe_updates_affinity_live() -> None:
    model = ContentBased().fit(clusters())
    model.observe(["dan", "dan"], ["y1", "y2"], [2 * DAY, 2 * DAY])
    ids, _ = model.recommend(["dan"], 1, unknown_employees="raise")
    assert ids[0].tolist() == ["y3"]
    # ann turns to topic y, strongly and later
    model.observe(["ann"] * 2, ["y1", "y2"], [40 * DAY] * 2, [3.0, 3.0])
    assert model.recommend(["ann"], 1)[0][0].tolist() == ["y3"]
    expected = _unit_rows(model.affinity_).sum(axis=0)
    np.testing.assert_allclose(model.cold_sum_, expected, atol=1e-12)


def test_out_of_order_events_equal_batch_fit() -> None:
    times = [3 * DAY, 1 * DAY, 2 * DAY, 5 * DAY, 4 * DAY]
    fitted = ContentBased(half_life_days=2.0).fit(clusters(times=times))
    dataset = clusters(times=times)
    live = ContentBased(half_life_days=2.0).fit(
        Dataset(
            dataset.users,
            dataset.items,
            dataset.interactions.select(np.zeros(5, bool)),
            item_features=dataset.item_features,
        )
    )
    events = dataset.interactions
    for j in range(5):
        live.observe(
            dataset.users.to_external(events.users[j : j + 1]),
            dataset.items.to_external(events.items[j : j + 1]),
            events.times[j : j + 1],
        )
    for u in range(3):
        np.testing.assert_allclose(
            _unit_rows(live.affinity_[u : u + 1]), _unit_rows(fitted.affinity_[u : u + 1])
        )


def test_nobody_with_history_falls_back_to_popularity() -> None:
    rows = {"x1": [1.0, 0.0], "y1": [0.0, 1.0], "z": [0.0, 0.0]}
    catalogue = IdMap.from_ids(rows, "content")
    # the only events are on an item without an embedding
    dataset = with_items(
        Dataset.from_events(["ann", "bob"], ["z", "z"], items=catalogue), embeddings(rows)
    )
    ids, scores = ContentBased().fit(dataset).recommend(["stranger"], 3)
    assert ids[0][0] == "z" and scores[0][0] == pytest.approx(1e-6)


def test_sparse_features_and_save_load_after_live_updates(tmp_path: Path) -> None:
    dataset = clusters()
    features = dataset.item_features
    sparse = FeatureMatrix(sp.csr_matrix(features.values), features.names, features.ids)
    model = ContentBased().fit(with_items(dataset, sparse))
    model.observe(["eve"], ["y1"], [3 * DAY])
    model.add_items(["x9"], embeddings({"x9": [1.0, 0.0552]}), times=[4 * DAY])
    loaded = ContentBased.load(model.save(tmp_path / "content"))
    before = model.recommend(["ann", "eve", "who"], 4)
    after = loaded.recommend(["ann", "eve", "who"], 4)
    for a, b in zip(before[0], after[0], strict=True):
        assert a.tolist() == b.tolist()
    for a, b in zip(before[1], after[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert before[0][0][0] == "x9"


def test_tiebreaks_follow_popularity_as_events_and_content_arrive() -> None:
    """The largest popularity is remembered between events, never past one."""
    model = ContentBased(tiebreak=0.5).fit(clusters())

    def fresh() -> np.ndarray:
        return model.tiebreak * model.popularity_ / model.popularity_.max()

    np.testing.assert_array_equal(model.tiebreak_values(), fresh())
    model.observe(["dan"] * 5, ["y1"] * 5, [2 * DAY] * 5)  # y1 becomes the most popular
    np.testing.assert_array_equal(model.tiebreak_values(), fresh())


def test_one_row_is_scaled_as_the_same_row_among_others() -> None:
    """``unit_rows`` of one row (a feed's profile) equals that row's entry of a batch, bit for
    bit; a zero row stays zero."""
    rows = (
        np.random.default_rng(0).standard_normal((200, 384)) * np.geomspace(1e-3, 1e3, 200)[:, None]
    )
    rows[7] = 0.0
    batch = _unit_rows(rows)
    for j in range(len(rows)):
        np.testing.assert_array_equal(_unit_rows(rows[j : j + 1]), batch[j : j + 1])
