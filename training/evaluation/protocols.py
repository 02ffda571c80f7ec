"""Evaluation protocols: MS Recommenders' stratified split, MovieLens splits, DeskDrop replay.

MovieLens-100K
    :func:`stratified_split` re-implements ``python_stratified_split`` of MS Recommenders
    (``recommenders/datasets/python_splitters.py``, ``_do_stratification``, commit b02c95e of
    2025-09-29, release 1.2.1; read, not copied). :func:`movielens_100k` reproduces the split of
    their benchmark (``examples/06_benchmarks/movielens.ipynb``: ratio 0.75, ``min_rating=1``,
    ``filter_by="item"``, seed 42; then top 10, seen items removed, metrics ``map``,
    ``ndcg_at_k``, ``precision_at_k``, ``recall_at_k``). Note that the benchmark stratifies by
    *item*, not by user. :func:`movielens_cold_items` holds out whole items.

DeskDrop replay
    :func:`deskdrop_replay` turns the event log into time-ordered test pairs after a split time,
    each with the candidate set that existed at that moment (see its docstring).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from recsys.times import TimeLike, epoch_seconds

logger = logging.getLogger(__name__)

MOVIELENS_COLUMNS = ["user_id", "item_id", "rating", "timestamp"]
DESKDROP_COLUMNS = ["timestamp", "eventType", "contentId", "personId"]


def stratified_split(
    frame: pd.DataFrame,
    ratio: float = 0.75,
    seed: int = 42,
    *,
    user_col: str = "user_id",
    item_col: str = "item_id",
    filter_by: Literal["user", "item"] = "user",
    min_rating: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-user (or per-item) random split, row for row as MS ``python_stratified_split``.

    Their procedure: drop groups with fewer than ``min_rating`` rows; draw one uniform number
    per row with NumPy's legacy generator seeded by ``seed`` (``np.random.seed(seed)`` then
    ``np.random.rand(n_rows)``, in row order); sort by (group, draw); the rows of a group of
    ``n`` rows whose 1-based position is ``<= round(ratio * n)`` go to train, the others to
    test. ``round`` is NumPy's half-to-even on ``ratio * n`` in float64 (pandas
    ``Series.__round__``): with 0.75, n = 2 keeps 2 in train, n = 6 keeps 4. Both outputs keep
    the input's index and columns and are ordered by (group, draw), as theirs.

    Differences: a local ``RandomState(seed)`` (same stream) instead of the global seed, and
    the input frame is not modified (theirs adds a ``random`` column to the caller's frame).
    Checked by running their function (git archive of b02c95e, pandas 3.1) on MovieLens-100K:
    identical train and test index sets and row order for ``filter_by`` "user" and "item";
    ``tests/test_protocols.py`` pins fingerprints of those index sets.
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError("ratio must be strictly between 0 and 1")
    if min_rating < 1:
        raise ValueError("min_rating must be >= 1")
    if filter_by not in ("user", "item"):
        raise ValueError("filter_by must be 'user' or 'item'")
    group_col = user_col if filter_by == "user" else item_col
    for column in (user_col, item_col):
        if column not in frame.columns:
            raise ValueError(f"missing column {column!r}")
    if frame[group_col].isna().any():
        raise ValueError(f"column {group_col!r} has missing values")
    data = frame
    if min_rating > 1:
        sizes = data.groupby(group_col)[group_col].transform("size")
        data = data[sizes.to_numpy() >= min_rating]
    draws = np.random.RandomState(seed).rand(len(data))
    codes = pd.factorize(data[group_col], sort=True)[0]
    order = np.lexsort((draws, codes))
    counts = np.bincount(codes)
    sorted_codes = codes[order]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(len(order)) - starts[sorted_codes] + 1
    in_train = rank <= np.round(ratio * counts[sorted_codes])
    ordered = data.iloc[order]
    n_train = int(in_train.sum())
    logger.info(
        "stratified split by %s: %d train, %d test", filter_by, n_train, len(order) - n_train
    )
    return ordered[in_train], ordered[~in_train]


def read_movielens_100k(path: Path | str) -> pd.DataFrame:
    """``u.data`` (a MovieLens-100K folder or the file) in file order, rating as float."""
    path = Path(path)
    file = path / "u.data" if path.is_dir() else path
    frame = pd.read_csv(file, sep="\t", names=MOVIELENS_COLUMNS, dtype="int64")
    return frame.astype({"rating": "float64"})


def movielens_100k(
    path: Path | str,
    *,
    ratio: float = 0.75,
    seed: int = 42,
    filter_by: Literal["user", "item"] = "item",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MovieLens-100K ``(train, test)`` exactly as MS Recommenders' benchmark splits it.

    Defaults follow ``examples/06_benchmarks/movielens.ipynb``, which calls
    ``python_stratified_split(df, ratio=0.75, min_rating=1, filter_by="item")`` (seed 42, the
    function default): 75,066 train / 24,934 test rows, all 943 users in both, every test item
    also in train. ``filter_by="user"`` gives the per-user split: 74,992 / 25,008.
    """
    ratings = read_movielens_100k(path)
    return stratified_split(ratings, ratio, seed, filter_by=filter_by)


def movielens_cold_items(
    path: Path | str, holdout: float = 0.2, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Hold out ``round(holdout * n_items)`` items entirely: ``(train, test, cold_items)``.

    Cold items are drawn uniformly without replacement (``np.random.default_rng(seed)``) among
    the distinct rated items. Train is every rating of the other items; test is every rating
    of a cold item by a user who has at least one train rating (others are dropped, logged).
    ``cold_items`` is sorted.
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError("holdout must be strictly between 0 and 1")
    ratings = read_movielens_100k(path)
    items = np.sort(ratings["item_id"].unique())
    n_cold = round(holdout * items.size)
    cold = np.sort(np.random.default_rng(seed).choice(items, n_cold, replace=False))
    is_cold = ratings["item_id"].isin(cold).to_numpy()
    train, test = ratings[~is_cold], ratings[is_cold]
    known = test["user_id"].isin(train["user_id"].unique()).to_numpy()
    if not known.all():
        logger.info("cold-item split: dropped %d test rows of users without train", (~known).sum())
    return train, test[known], cold


def read_deskdrop_events(path: Path | str) -> pd.DataFrame:
    """DeskDrop ``users_interactions.csv[.gz]`` (or its folder): the four replay columns."""
    path = Path(path)
    file = path / "users_interactions.csv.gz" if path.is_dir() else path
    if path.is_dir() and not file.is_file():
        file = path / "users_interactions.csv"
    dtypes = {"timestamp": "int64", "contentId": "int64", "personId": "int64"}
    return pd.read_csv(file, usecols=DESKDROP_COLUMNS, dtype=dtypes)


def unix_seconds(value: TimeLike) -> int:
    """Whole Unix seconds (:func:`recsys.times.epoch_seconds`, truncated) of a number (taken
    as seconds) or a date/time (naive means UTC)."""
    return int(epoch_seconds(value))


@dataclass(frozen=True)
class CandidateIndex:
    """What existed when: contents by first-seen time and each person's first touches.

    Content positions (``0..n_contents-1``) follow ``(first_seen, content id)`` order, so the
    contents first seen strictly before ``t`` are the positions ``< n_available(t)``. A person's
    first touch of each content (``touch_*``, ascending time per person, CSR by
    ``touch_indptr``) gives the contents touched strictly before ``t`` by a searchsorted.
    """

    content_ids: np.ndarray
    first_seen: np.ndarray  # int64 unix s, ascending, aligned with content_ids
    person_ids: np.ndarray  # sorted unique
    touch_indptr: np.ndarray
    touch_times: np.ndarray
    touch_contents: np.ndarray  # content positions
    _keys: np.ndarray  # person * span + (time - t0), ascending
    _t0: int
    _span: int

    @classmethod
    def build(cls, pairs: pd.DataFrame) -> CandidateIndex:
        """From one row per (person, content) with columns person, content, time (first)."""
        first = pairs.groupby("content", sort=False)["time"].min()
        content_order = np.lexsort((first.index.to_numpy(), first.to_numpy()))
        content_ids = first.index.to_numpy()[content_order]
        position = pd.Series(np.arange(content_ids.size), index=content_ids)
        person_ids = np.sort(pairs["person"].unique())
        person_pos = np.searchsorted(person_ids, pairs["person"].to_numpy())
        times = pairs["time"].to_numpy(dtype=np.int64)
        order = np.lexsort((times, person_pos))
        t0 = int(times.min()) if times.size else 0
        span = int(times.max()) - t0 + 2 if times.size else 2
        indptr = np.concatenate(
            ([0], np.cumsum(np.bincount(person_pos, minlength=person_ids.size)))
        )
        return cls(
            content_ids=content_ids,
            first_seen=first.to_numpy(dtype=np.int64)[content_order],
            person_ids=person_ids,
            touch_indptr=indptr,
            touch_times=times[order],
            touch_contents=position.loc[pairs["content"].to_numpy()[order]].to_numpy(),
            _keys=person_pos[order].astype(np.int64) * span + (times[order] - t0),
            _t0=t0,
            _span=span,
        )

    @property
    def n_contents(self) -> int:
        return int(self.content_ids.size)

    def n_available(self, times: np.ndarray | int) -> np.ndarray:
        """How many contents were first seen strictly before each time."""
        return np.searchsorted(self.first_seen, times, side="left")

    def _touch_ranges(self, persons: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, ...]:
        """Slices ``[start, end)`` of touches strictly before each time, per (person, time)."""
        persons = np.asarray(persons, dtype=np.int64)
        offset = np.clip(np.asarray(times, dtype=np.int64) - self._t0, 0, self._span - 1)
        end = np.searchsorted(self._keys, persons * self._span + offset, side="left")
        return self.touch_indptr[persons], end

    def touched_before(self, person: int, time: int) -> np.ndarray:
        """Content positions that person (position) touched strictly before ``time``."""
        start, end = self._touch_ranges(np.array([person]), np.array([time]))
        return self.touch_contents[start[0] : end[0]]

    def candidates(self, person: int, time: int) -> np.ndarray:
        """Content positions available at ``time`` and not touched before by the person."""
        available = np.ones(int(self.n_available(time)), dtype=bool)
        available[self.touched_before(person, time)] = False
        return np.flatnonzero(available)

    def n_candidates(self, persons: np.ndarray, times: np.ndarray) -> np.ndarray:
        start, end = self._touch_ranges(persons, times)
        return self.n_available(times) - (end - start)

    def candidate_mask(self, persons: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Boolean ``(n_queries, n_contents)``: candidates of each (person position, time)."""
        times = np.asarray(times, dtype=np.int64)
        mask = np.arange(self.n_contents)[None, :] < self.n_available(times)[:, None]
        start, end = self._touch_ranges(persons, times)
        lengths = end - start
        rows = np.repeat(np.arange(lengths.size), lengths)
        within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        mask[rows, self.touch_contents[np.repeat(start, lengths) + within]] = False
        return mask


@dataclass(frozen=True)
class DeskDropReplay:
    """Test pairs after ``split_at`` with their candidates; ``train`` is the events before.

    ``pairs`` columns: ``person_id``, ``content_id``, ``timestamp`` (first event of the pair),
    ``event_type`` (of that event), ``person_pos`` / ``content_pos`` (positions in ``index``),
    ``new_content``, ``new_person``, ``n_candidates``; ordered by time. ``first_reads``: how
    many pairs of the window were left out as their content's first read.
    """

    pairs: pd.DataFrame
    train: pd.DataFrame
    index: CandidateIndex
    split_at: int
    until: int | None
    first_reads: int

    def candidates(self, row: int) -> np.ndarray:
        """Candidate content positions of test pair ``row`` (ids: ``index.content_ids[...]``)."""
        pair = self.pairs.iloc[row]
        return self.index.candidates(int(pair["person_pos"]), int(pair["timestamp"]))

    def candidate_mask(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Boolean ``(len(rows), n_contents)`` candidate mask for pairs ``rows`` (default all)."""
        pairs = self.pairs if rows is None else self.pairs.iloc[np.asarray(rows)]
        return self.index.candidate_mask(pairs["person_pos"].to_numpy(), pairs["timestamp"])


def _first_events(
    events: pd.DataFrame, time_col: str, person_col: str, content_col: str, event_col: str
) -> pd.DataFrame:
    """One row per (person, content): its earliest event (file order breaks time ties)."""
    ordered = events.sort_values(time_col, kind="stable")
    first = ordered.drop_duplicates([person_col, content_col], keep="first")
    columns = {time_col: "time", person_col: "person", content_col: "content"}
    if event_col in events.columns:
        columns[event_col] = "event_type"
    return first[list(columns)].rename(columns=columns).reset_index(drop=True)


def deskdrop_replay(
    events: pd.DataFrame,
    split_at: TimeLike,
    until: TimeLike | None = None,
    *,
    time_col: str = "timestamp",
    person_col: str = "personId",
    content_col: str = "contentId",
    event_col: str = "eventType",
) -> DeskDropReplay:
    """Time-ordered replay of DeskDrop after ``split_at`` (unix seconds or a UTC date/time).

    Test pairs: each (person, content) whose first event ever falls in ``[split_at, until)``,
    once, at that first event's time ``t`` (a pair with an earlier event is not a test pair).
    Candidates of a pair: every content whose first event in the whole log is strictly before
    ``t`` (publication proxy), minus the contents the person touched strictly before ``t``
    (events at the same second stay candidates). A content's first read (``t`` equal to its
    first event) is left out of the test pairs, counted in ``first_reads``: the log does not
    say when the content was published, and taking its first read as the publication would
    make the target the only candidate of age 0, which any freshness signal singles out
    (docs/recommenders.md). The target is always a candidate.
    ``new_content``: the content's first event is at or after ``split_at``; ``new_person``: the
    person has no event before ``split_at``. Only times ``<= t`` of the log are used per pair.
    """
    start = unix_seconds(split_at)
    stop = None if until is None else unix_seconds(until)
    first = _first_events(events, time_col, person_col, content_col, event_col)
    index = CandidateIndex.build(first)
    in_window = first["time"] >= start
    if stop is not None:
        in_window &= first["time"] < stop
    test = first[in_window].sort_values(["time", "person", "content"], kind="stable")
    content_pos = pd.Series(np.arange(index.n_contents), index=index.content_ids)
    read_before = (
        test["time"].to_numpy(np.int64)
        > index.first_seen[content_pos.loc[test["content"].to_numpy()].to_numpy()]
    )
    first_reads = int((~read_before).sum())
    test = test[read_before]
    person_pos = np.searchsorted(index.person_ids, test["person"].to_numpy())
    times = test["time"].to_numpy(dtype=np.int64)
    known_people = first.loc[first["time"] < start, "person"].unique()
    pairs = pd.DataFrame(
        {
            "person_id": test["person"].to_numpy(),
            "content_id": test["content"].to_numpy(),
            "timestamp": times,
            "event_type": test["event_type"].to_numpy() if "event_type" in test else None,
            "person_pos": person_pos,
            "content_pos": content_pos.loc[test["content"].to_numpy()].to_numpy(),
        }
    )
    pairs["new_content"] = index.first_seen[pairs["content_pos"].to_numpy()] >= start
    pairs["new_person"] = ~pairs["person_id"].isin(known_people).to_numpy()
    pairs["n_candidates"] = index.n_candidates(person_pos, times)
    train = events[events[time_col].to_numpy() < start]
    logger.info(
        "deskdrop replay: %d test pairs (%d first reads left out), %d train events",
        *(len(pairs), first_reads, len(train)),
    )
    return DeskDropReplay(pairs, train, index, start, stop, first_reads)


def slice_metrics(
    per_pair_metric_frame: pd.DataFrame,
    slice_column: str,
    metric_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Mean of each metric per value of ``slice_column``, plus a last row ``"all"``.

    ``metric_columns`` defaults to every numeric column other than ``slice_column``. NaN
    (undefined) values are left out of means; column ``n`` counts rows of each slice.
    """
    frame = per_pair_metric_frame
    if metric_columns is None:
        numeric = frame.select_dtypes(include=["number", "bool"]).columns
        metric_columns = [c for c in numeric if c != slice_column]
    by_slice = frame.groupby(slice_column, dropna=False)[metric_columns].mean()
    by_slice.insert(0, "n", frame.groupby(slice_column, dropna=False).size())
    overall = frame[metric_columns].mean().to_frame("all").T
    overall.insert(0, "n", len(frame))
    return pd.concat([by_slice.astype({"n": "int64"}), overall.astype({"n": "int64"})])
