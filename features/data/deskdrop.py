"""CI&T DeskDrop into the contract.

``users_interactions.csv[.gz]`` (timestamp, eventType, contentId, personId, sessionId,
userAgent, userRegion, userCountry) becomes advocates (one per person, region and country
from their latest event that has them) and interactions. Content comes from
``shared_articles.csv[.gz]`` when present (CONTENT SHARED rows; CONTENT REMOVED marks an
article retired); any content id without an article row gets one with publication time =
its first event and no text.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from features.data.contract import TABLES
from features.data.sources import InputError, TableChunk

logger = logging.getLogger(__name__)

INTERACTIONS_FILE = "users_interactions.csv"
ARTICLES_FILE = "shared_articles.csv"
EVENT_TYPES = {
    "VIEW": "view",
    "LIKE": "like",
    "BOOKMARK": "bookmark",
    "FOLLOW": "follow",
    "COMMENT CREATED": "comment",
}
CONTENT_TYPES = {"HTML": "article", "RICH": "article", "VIDEO": "video"}
_INTERACTION_COLUMNS = ("timestamp", "eventType", "contentId", "personId", "sessionId")
_ARTICLE_COLUMNS = ("timestamp", "eventType", "contentId", "authorPersonId", "contentType")


def find_file(folder: Path, name: str) -> Path | None:
    """``name`` or ``name.gz`` inside ``folder``."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def deskdrop_streams(path: Path) -> list[Iterator[TableChunk]]:
    """Import streams for a DeskDrop folder (or its interactions file)."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    folder = path if path.is_dir() else path.parent
    interactions_path = find_file(folder, INTERACTIONS_FILE) if path.is_dir() else path
    if interactions_path is None:
        raise InputError(f"{path}: no {INTERACTIONS_FILE}[.gz] here")
    return [_stream(interactions_path, find_file(folder, ARTICLES_FILE))]


def _stream(interactions_path: Path, articles_path: Path | None) -> Iterator[TableChunk]:
    events = read_interactions(interactions_path)
    articles = read_articles(articles_path) if articles_path else None
    source = str(interactions_path)
    yield TableChunk("advocates", advocates(events, articles), f"{source} (people)", 1)
    content_source = str(articles_path) if articles_path else f"{source} (content)"
    yield TableChunk("content", content(events, articles), content_source, 1)
    yield TableChunk("interactions", interactions(events), source, 1)


def read_interactions(path: Path) -> pd.DataFrame:
    frame = _read(path, _INTERACTION_COLUMNS)
    frame = frame.reset_index(drop=True)
    for column in ("contentId", "personId", "sessionId"):
        frame[column] = frame[column].astype(str)
    return frame


def read_articles(path: Path) -> pd.DataFrame:
    return _read(path, _ARTICLE_COLUMNS)


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read as CSV: {exc}") from exc
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise InputError(f"{path}: not a DeskDrop file, missing column(s) {', '.join(absent)}")
    return frame


def _iso(seconds: pd.Series) -> pd.Series:
    """Unix seconds (text) to ISO 8601; unparsable values stay as given for validation."""
    numbers = pd.to_numeric(seconds, errors="coerce")
    stamps = pd.to_datetime(numbers, unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return stamps.where(numbers.notna(), seconds)


def event_ids(events: pd.DataFrame) -> pd.Series:
    """Stable ids from each event's fields; exact repeats get ``-1``, ``-2``, ... suffixes."""
    parts = [events[c].astype(str).tolist() for c in _INTERACTION_COLUMNS]
    digests = pd.Series(
        [
            "dd-" + hashlib.sha1("|".join(row).encode()).hexdigest()[:20]
            for row in zip(*parts, strict=True)
        ],
        index=events.index,
    )
    repeat = digests.groupby(digests).cumcount()
    return digests.where(repeat == 0, digests + "-" + repeat.astype(str))


def interactions(events: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "event_id": event_ids(events),
            "employee_id": events["personId"],
            "content_id": events["contentId"],
            "event_type": events["eventType"].map(EVENT_TYPES).fillna(events["eventType"]),
            "network": None,
            "timestamp": _iso(events["timestamp"]),
            "value": None,
        }
    )
    return frame[list(TABLES["interactions"].field_names)]


def advocates(events: pd.DataFrame, articles: pd.DataFrame | None) -> pd.DataFrame:
    people = events[["personId", "timestamp", "userRegion", "userCountry"]].rename(
        columns={"personId": "employee_id", "userRegion": "region", "userCountry": "country"}
    )
    if articles is not None:
        authors = articles[["authorPersonId", "timestamp", "authorRegion", "authorCountry"]]
        people = pd.concat([people, authors.set_axis(people.columns, axis=1)], ignore_index=True)
    people = people.assign(order=pd.to_numeric(people["timestamp"], errors="coerce"))
    people = people.sort_values("order", kind="stable")
    located = people[people["country"].astype(str).str.strip() != ""]
    latest = located.groupby("employee_id")[["region", "country"]].last()
    ids = pd.Index(people["employee_id"].unique()).sort_values()
    frame = latest.reindex(ids).rename_axis("employee_id").reset_index()
    return frame


def content(events: pd.DataFrame, articles: pd.DataFrame | None) -> pd.DataFrame:
    columns = list(TABLES["content"].field_names)
    first = events.assign(order=pd.to_numeric(events["timestamp"], errors="coerce"))
    first = first.groupby("contentId")["order"].min()
    fallback = pd.DataFrame(
        {
            "content_id": first.index,
            "content_type": "article",
            "published_at": _iso(first.astype("Int64").astype(str)).to_numpy(),
        }
    ).reindex(columns=columns)
    if articles is None:
        return fallback
    shared = _articles_as_content(articles).reindex(columns=columns)
    missing = fallback[~fallback["content_id"].isin(shared["content_id"])]
    logger.info(
        "DeskDrop: %d articles, %d content ids only seen in events", len(shared), len(missing)
    )
    return pd.concat([shared, missing], ignore_index=True)


def _articles_as_content(articles: pd.DataFrame) -> pd.DataFrame:
    shared = articles[articles["eventType"] == "CONTENT SHARED"].drop_duplicates(
        "contentId", keep="last"
    )
    removed = set(articles.loc[articles["eventType"] == "CONTENT REMOVED", "contentId"])
    content_type = shared["contentType"].str.upper().map(CONTENT_TYPES)
    return pd.DataFrame(
        {
            "content_id": shared["contentId"].astype(str),
            "title": shared.get("title", ""),
            "body": shared.get("text"),
            "url": shared.get("url"),
            "content_type": content_type.fillna(shared["contentType"].str.lower()),
            "language": shared.get("lang"),
            "author_id": shared["authorPersonId"].astype(str),
            "published_at": _iso(shared["timestamp"]),
            "approval_status": np.where(shared["contentId"].isin(removed), "retired", "approved"),
        }
    )
