"""training.evaluation.protocols: MS-style stratified split, MovieLens splits, DeskDrop replay."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.evaluation.protocols import (
    deskdrop_replay,
    movielens_100k,
    movielens_cold_items,
    read_deskdrop_events,
    read_movielens_100k,
    slice_metrics,
    stratified_split,
    unix_seconds,
)


def fingerprint(frame: pd.DataFrame) -> str:
    return hashlib.sha256(np.sort(frame.index.to_numpy()).astype(np.int64).tobytes()).hexdigest()


def toy_ratings(sizes: range = range(1, 13)) -> pd.DataFrame:
    users = np.repeat(np.arange(len(sizes)), list(sizes))
    items = np.concatenate([np.arange(n) for n in sizes])
    frame = pd.DataFrame({"user_id": users, "item_id": items, "rating": 1.0})
    return frame.sample(frac=1.0, random_state=0)


def test_stratified_split_counts_follow_ms_rounding() -> None:
    frame = toy_ratings()
    train, test = stratified_split(frame, 0.75, seed=42)
    sizes = frame.groupby("user_id").size()
    kept = train.groupby("user_id").size().reindex(sizes.index, fill_value=0)
    # MS: rank <= round(0.75 * n), numpy half-to-even: n=2 -> 2, n=6 -> 4, n=10 -> 8
    assert kept.tolist() == np.round(0.75 * sizes).astype(int).tolist()
    assert kept.loc[[0, 1, 2, 5, 9]].tolist() == [1, 2, 2, 4, 8]
    assert train.index.intersection(test.index).empty
    assert len(train) + len(test) == len(frame) and "random" not in frame.columns
    assert set(test["user_id"]) == set(sizes.index[sizes >= 3])


def test_stratified_split_is_deterministic_by_seed_and_filters_small_groups() -> None:
    frame = toy_ratings()
    first, _ = stratified_split(frame, seed=1)
    again, _ = stratified_split(frame, seed=1)
    other, _ = stratified_split(frame, seed=2)
    assert first.index.equals(again.index) and not first.index.equals(other.index)
    train, test = stratified_split(frame, filter_by="item", min_rating=5)
    assert set(train["item_id"]) | set(test["item_id"]) == set(range(8))
    with pytest.raises(ValueError, match="ratio"):
        stratified_split(frame, 1.0)


@pytest.fixture(scope="module")
def movielens(shared_data: Path) -> Path:
    return shared_data / "movielens-100k"


# Train/test index fingerprints of MS Recommenders' python_stratified_split (commit b02c95e)
# run on u.data loaded in file order; ours must select the very same rows.
MS_SPLITS = {
    "item": (75066, "ee63a61835a76a39", "d78b60bb4742536a"),
    "user": (74992, "6be2416d6bfd7755", "ae73cd9aa7688249"),
}


@pytest.mark.parametrize("filter_by", ["item", "user"])
def test_movielens_split_is_row_for_row_ms_recommenders(movielens: Path, filter_by: str) -> None:
    train, test = movielens_100k(movielens, filter_by=filter_by)
    n_train, train_print, test_print = MS_SPLITS[filter_by]
    assert (len(train), len(test)) == (n_train, 100_000 - n_train)
    assert (fingerprint(train)[:16], fingerprint(test)[:16]) == (train_print, test_print)
    assert train["user_id"].nunique() == test["user_id"].nunique() == 943
    assert train.index.intersection(test.index).empty
    if filter_by == "user":
        sizes = read_movielens_100k(movielens).groupby("user_id").size()
        kept = train.groupby("user_id").size()
        assert kept.equals(np.round(0.75 * sizes).astype("int64"))
        assert (abs(kept - 0.75 * sizes) <= 0.5).all()


def test_movielens_cold_items_are_absent_from_train(movielens: Path) -> None:
    train, test, cold = movielens_cold_items(movielens, holdout=0.2, seed=42)
    assert cold.size == round(0.2 * 1682) == 336
    assert not train["item_id"].isin(cold).any() and test["item_id"].isin(cold).all()
    assert test["user_id"].isin(train["user_id"]).all()
    assert len(train) + len(test) <= 100_000
    again = movielens_cold_items(movielens, holdout=0.2, seed=42)[2]
    assert np.array_equal(cold, again)


# person A=1 B=2 C=3 D=4 E=5; content x=10 y=20 z=30 w=40; split at t=100
TOY_EVENTS = [
    (10, "VIEW", 10, 1),
    (20, "VIEW", 20, 2),
    (30, "LIKE", 20, 1),
    (90, "VIEW", 20, 4),
    (110, "VIEW", 10, 1),  # A already saw x: not a test pair
    (120, "VIEW", 10, 2),
    (115, "VIEW", 30, 3),  # z first seen; C is a new person
    (130, "BOOKMARK", 30, 1),
    (130, "VIEW", 40, 1),  # w first seen at the same second A bookmarks z
    (140, "VIEW", 30, 1),  # repeat of (A, z)
    (150, "VIEW", 30, 5),  # E is a new person
    (200, "VIEW", 40, 2),
]


def toy_replay(until: int | None = None):
    events = pd.DataFrame(TOY_EVENTS, columns=["timestamp", "eventType", "contentId", "personId"])
    return deskdrop_replay(events, "1970-01-01T00:01:40", until)


def test_deskdrop_replay_on_a_literal_log() -> None:
    replay = toy_replay()
    pairs = replay.pairs
    got = list(zip(pairs.person_id, pairs.content_id, pairs.timestamp, strict=True))
    # (C, z) at 115 and (A, w) at 130 are z's and w's first reads: not test pairs
    assert got == [(2, 10, 120), (1, 30, 130), (5, 30, 150), (2, 40, 200)]
    assert replay.first_reads == 2
    assert pairs.event_type.tolist() == ["VIEW", "BOOKMARK", "VIEW", "VIEW"]
    assert pairs.new_content.tolist() == [False, True, True, True]
    assert pairs.new_person.tolist() == [False, False, True, False]
    ids = replay.index.content_ids
    candidates = [sorted(ids[replay.candidates(i)].tolist()) for i in range(len(pairs))]
    # w (first seen at 130) is not yet a candidate at 130
    assert candidates == [[10, 30], [30], [10, 20, 30, 40], [30, 40]]
    assert pairs.n_candidates.tolist() == [2, 1, 4, 2]
    mask = replay.candidate_mask()
    assert [sorted(ids[row].tolist()) for row in mask] == candidates
    assert replay.split_at == 100 and len(replay.train) == 4
    assert len(toy_replay(until=200).pairs) == 3


def test_slice_metrics_means_per_slice_and_overall() -> None:
    frame = pd.DataFrame(
        {"new": [True, True, False], "hit": [1.0, 0.0, 1.0], "rr": [1, np.nan, 0.5]}
    )
    table = slice_metrics(frame, "new")
    assert table.loc[True, "hit"] == 0.5 and table.loc[True, "rr"] == 1.0
    assert table.loc["all", "n"] == 3 and table.loc[False, "n"] == 1
    assert table.loc["all", "rr"] == 0.75


def test_unix_seconds_reads_numbers_and_utc_dates() -> None:
    assert unix_seconds(1477958400) == unix_seconds("2016-11-01") == 1477958400
    assert unix_seconds("2016-11-01T01:00:00+01:00") == 1477958400


def test_deskdrop_replay_on_the_real_log(shared_data: Path) -> None:
    events = read_deskdrop_events(shared_data / "deskdrop")
    replay = deskdrop_replay(events, "2016-11-01")
    pairs = replay.pairs
    assert len(pairs) == 2976 and len(replay.train) == 61425
    assert replay.first_reads == 230  # 3206 pairs with the contents' first reads
    assert (pairs.new_content.sum(), pairs.new_person.sum()) == (2465, 114)
    assert not pairs.duplicated(["person_id", "content_id"]).any()
    assert (pairs.timestamp >= replay.split_at).all() and pairs.timestamp.is_monotonic_increasing
    earlier = events.merge(
        pairs, left_on=["personId", "contentId"], right_on=["person_id", "content_id"]
    )
    assert (earlier["timestamp_x"] >= earlier["timestamp_y"]).all()
    mask = replay.candidate_mask()
    assert mask[np.arange(len(pairs)), pairs.content_pos].all()
    assert np.array_equal(mask.sum(axis=1), pairs.n_candidates)
    sample = pairs.sample(40, random_state=0)
    first_seen = events.groupby("contentId")["timestamp"].min()
    for row, pair in sample.iterrows():
        t = pair.timestamp
        seen = events[(events.personId == pair.person_id) & (events.timestamp < t)].contentId
        expected = set(first_seen.index[first_seen < t]) - set(seen)
        assert set(replay.index.content_ids[replay.candidates(row)]) == expected
    assert len(deskdrop_replay(events, "2016-11-01", until="2016-12-01").pairs) == 1589
