"""GroupLens MovieLens-100K into the contract.

Users (``u.user``) become advocates (occupation as department), movies (``u.item``,
latin-1) become content of type ``movie`` with genres as topics and the title as text,
and ratings (``u.data``) become ``rate`` interactions whose ``value`` is the rating.
A movie without a release date is published at its first rating.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from features.data.contract import TABLES
from features.data.sources import InputError, TableChunk

FILES = ("u.user", "u.item", "u.data", "u.genre")
USER_COLUMNS = ["user_id", "age", "gender", "occupation", "zip_code"]
ITEM_COLUMNS = ["item_id", "title", "release_date", "video_release_date", "url"]


def movielens_streams(path: Path) -> list[Iterator[TableChunk]]:
    """Import streams for a MovieLens-100K folder."""
    folder = path if path.is_dir() else path.parent
    absent = [name for name in FILES if not (folder / name).is_file()]
    if absent:
        raise InputError(f"{folder}: not a MovieLens-100K folder, missing {', '.join(absent)}")
    return [_stream(folder)]


def _stream(folder: Path) -> Iterator[TableChunk]:
    ratings = read_ratings(folder)
    yield TableChunk("advocates", advocates(folder), str(folder / "u.user"), 1)
    yield TableChunk("content", content(folder, ratings), str(folder / "u.item"), 1)
    yield TableChunk("interactions", interactions(ratings), str(folder / "u.data"), 1)


def read_ratings(folder: Path) -> pd.DataFrame:
    return pd.read_csv(
        folder / "u.data",
        sep="\t",
        names=["user_id", "item_id", "rating", "timestamp"],
        dtype=str,
    )


def genres(folder: Path) -> list[str]:
    table = pd.read_csv(folder / "u.genre", sep="|", names=["genre", "index"], dtype=str)
    table = table.dropna()
    return [
        g.lower().replace("'", "")
        for g in table.sort_values("index", key=lambda s: s.astype(int))["genre"]
    ]


def advocates(folder: Path) -> pd.DataFrame:
    users = pd.read_csv(folder / "u.user", sep="|", names=USER_COLUMNS, dtype=str)
    return pd.DataFrame(
        {"employee_id": users["user_id"], "department": users["occupation"], "country": "US"}
    )


def content(folder: Path, ratings: pd.DataFrame) -> pd.DataFrame:
    names = genres(folder)
    items = pd.read_csv(
        folder / "u.item", sep="|", names=ITEM_COLUMNS + names, dtype=str, encoding="latin-1"
    )
    flags = items[names].astype(int).to_numpy().astype(bool)
    topics = [";".join(g for g, on in zip(names, row, strict=True) if on) for row in flags]
    released = pd.to_datetime(items["release_date"], format="%d-%b-%Y", errors="coerce", utc=True)
    first_rating = pd.to_datetime(
        pd.to_numeric(ratings["timestamp"]).groupby(ratings["item_id"]).min(), unit="s", utc=True
    )
    published = released.fillna(items["item_id"].map(first_rating))
    frame = pd.DataFrame(
        {
            "content_id": items["item_id"],
            "title": items["title"].fillna(""),
            "url": items["url"],
            "content_type": "movie",
            "language": "en",
            "topics": topics,
            "published_at": published.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    return frame.reindex(columns=list(TABLES["content"].field_names))


def interactions(ratings: pd.DataFrame) -> pd.DataFrame:
    seconds = pd.to_numeric(ratings["timestamp"], errors="coerce")
    frame = pd.DataFrame(
        {
            "event_id": "ml-" + ratings["user_id"] + "-" + ratings["item_id"],
            "employee_id": ratings["user_id"],
            "content_id": ratings["item_id"],
            "event_type": "rate",
            "timestamp": pd.to_datetime(seconds, unit="s", utc=True).dt.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "value": ratings["rating"],
        }
    )
    return frame.reindex(columns=list(TABLES["interactions"].field_names))
