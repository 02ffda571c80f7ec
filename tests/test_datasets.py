"""Adapters of real datasets into the contract, on the files in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.data.deskdrop import event_ids
from features.data.importer import EXIT_OK, import_path
from features.data.store import Store
from features.data.validation import ValidationContext

ARTICLES = Path(__file__).parent / "fixtures" / "deskdrop" / "shared_articles.csv"


def test_deskdrop_imports_every_event(
    sqlite_store: Store, context: ValidationContext, shared_data: Path
) -> None:
    report = import_path(sqlite_store, shared_data / "deskdrop", fmt="deskdrop", context=context)
    assert report.exit_code == EXIT_OK, report.to_dict()["rejections"][:3]
    assert sqlite_store.count("interactions") == 66_508
    assert sqlite_store.count("advocates") == 1_823
    assert sqlite_store.count("content") == 2_787
    assert sqlite_store.grouped_counts("interactions", "event_type") == {
        "view": 56_229,
        "like": 5_258,
        "bookmark": 2_296,
        "comment": 1_480,
        "follow": 1_245,
    }
    again = import_path(sqlite_store, shared_data / "deskdrop", fmt="deskdrop", context=context)
    assert again.new_rows == {"advocates": 0, "content": 0, "interactions": 0}


def test_deskdrop_event_ids_are_stable_and_unique_for_repeats() -> None:
    events = pd.DataFrame(
        {
            c: ["1", "1", "2"]
            for c in ("timestamp", "eventType", "contentId", "personId", "sessionId")
        }
    )
    ids = event_ids(events)
    assert ids.is_unique and ids.iloc[1] == ids.iloc[0] + "-1"
    assert ids.tolist() == event_ids(events).tolist()


def test_deskdrop_with_shared_articles(
    sqlite_store: Store, context: ValidationContext, shared_data: Path, tmp_path: Path
) -> None:
    (tmp_path / "users_interactions.csv.gz").symlink_to(
        shared_data / "deskdrop" / "users_interactions.csv.gz"
    )
    (tmp_path / "shared_articles.csv").symlink_to(ARTICLES)
    report = import_path(sqlite_store, tmp_path, fmt="deskdrop", context=context)
    assert report.exit_code == EXIT_OK
    content = {r["content_id"]: r for r in sqlite_store.rows("content")}
    dao = content["-4110354420726924665"]
    assert (dao["title"], dao["language"], dao["content_type"]) == (
        "Ethereum and the DAO",
        "en",
        "article",
    )
    assert dao["author_id"] == "4340306774493623681"
    assert dao["published_at"].isoformat() == "2016-03-28T19:39:48"
    video = content["-7292285110016212249"]
    assert (video["content_type"], video["approval_status"]) == ("video", "retired")
    assert content["111"]["title"] == "Unseen article"  # articles nobody interacted with
    assert len(content) == 2_787 + 1  # event-only content keeps its fallback rows
    authors = {r["employee_id"]: r for r in sqlite_store.rows("advocates")}
    assert authors["999"]["country"] == "BR"


def test_movielens_100k(sqlite_store: Store, context: ValidationContext, shared_data: Path) -> None:
    report = import_path(
        sqlite_store, shared_data / "movielens-100k", fmt="movielens", context=context
    )
    assert report.exit_code == EXIT_OK
    assert sqlite_store.counts()["interactions"] == 100_000
    assert sqlite_store.count("advocates") == 943 and sqlite_store.count("content") == 1_682
    toy = next(r for r in sqlite_store.rows("content") if r["content_id"] == "1")
    assert toy["title"] == "Toy Story (1995)"
    assert toy["topics"] == ["animation", "childrens", "comedy"]
    values = {r["value"] for r in sqlite_store.rows("interactions", ["value"])}
    assert values == {1.0, 2.0, 3.0, 4.0, 5.0}
