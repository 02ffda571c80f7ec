"""What the ranked feed needs from the store: the catalogue, the audience and the titles.

:func:`build_feed_data` turns a :class:`~features.snapshot.Snapshot` (or :func:`load_feed_data`
the store itself, reading only the columns and events it needs) into a :class:`FeedData`:

- ``catalogue``: a :class:`~recsys.feed_arrays.Catalogue` aligned with a model's ``items_``
  (row i = the model's item i): approval, publication and expiry, allowed regions,
  departments and languages, topics, content type, language and target networks. Model items
  the content table no longer holds are never shown (treated as retired);
- ``missing``: content of the table the model does not know yet, with its publication times.
  Add it (``model.add_items(missing, features, missing_published_at)``) and build again;
  until then it is not in the catalogue;
- ``audience``: every advocate's region, department, languages, role and interests, with the
  content each already shared or dismissed (never offered to them again);
- ``titles``: content id -> title.

Target networks come from ``content.networks`` (schema version 4): content with networks is
kept by a network filter only when one of them is asked for; content without networks is
meant for any network and every network filter keeps it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from features.data.contract import APPROVAL_STATUSES
from features.data.reader import StoreReader
from features.data.schema import CONTRACT_TABLES
from features.data.store import Store
from features.data.times import column_seconds, naive_utc, utc
from features.screening.policy import Policy, resolve_policy
from features.screening.records import screen_pending, shown_statuses, statuses
from features.snapshot import Snapshot
from recsys.feed_arrays import NETWORKS, Catalogue, FeedAudience
from recsys.ids import IdMap

logger = logging.getLogger(__name__)

#: Events after which content is never offered again to that employee.
EXCLUDING_EVENTS = ("share", "dismiss")
CONTENT_COLUMNS = (
    "content_id",
    "title",
    "content_type",
    "language",
    "topics",
    "published_at",
    "expires_at",
    "approval_status",
    "allowed_regions",
    "allowed_departments",
    "allowed_languages",
)
ADVOCATE_COLUMNS = ("employee_id", "department", "role", "region", "languages", "interests")
EVENT_COLUMNS = ("employee_id", "content_id", "event_type")


@dataclass(frozen=True)
class FeedData:
    """The inputs of a :class:`~recsys.feed.FeedRanker` built from store data."""

    catalogue: Catalogue
    audience: FeedAudience
    titles: dict[str, str]
    missing: tuple[str, ...] = ()
    missing_published_at: np.ndarray = field(default_factory=lambda: np.zeros(0))
    problems: tuple[str, ...] = ()  # rows kept out of the feed, with why

    def summary(self) -> dict[str, object]:
        return {
            "catalogue_items": len(self.catalogue),
            "approved": int(self.catalogue.approved.sum()),
            "advocates": len(self.audience),
            "missing_from_model": len(self.missing),
            "problems": len(self.problems),
        }


def build_feed_data(snapshot: Snapshot, items: IdMap) -> FeedData:
    """The feed's inputs from ``snapshot``, aligned with a model's ``items`` map."""
    events = snapshot.interactions
    excluding = events.loc[events["event_type"].isin(EXCLUDING_EVENTS), list(EVENT_COLUMNS)]
    return _feed_data(snapshot.content, snapshot.advocates, excluding, items)


def load_feed_data(
    store: Store,
    items: IdMap,
    as_of: datetime | pd.Timestamp | str,
    policy: Policy | None = None,
) -> FeedData:
    """:func:`build_feed_data` straight from the store: the content and advocates as they are,
    and only the shares and dismissals observed up to ``as_of``. Content not screened yet is
    screened first (``policy``, default :func:`~features.screening.policy.resolve_policy`);
    held and blocked content is kept out of the catalogue."""
    screen_pending(store, policy or resolve_policy())
    reader = StoreReader(store)
    content = reader.table("content", columns=_present(CONTENT_COLUMNS, "content"))
    content = with_screening(content, statuses(store))
    advocates = reader.table("advocates", columns=list(ADVOCATE_COLUMNS))
    return _feed_data(content, advocates, _excluding_events(store, as_of), items)


def _present(columns: Iterable[str], table: str) -> list[str]:
    """``columns`` plus ``networks`` when the table has it (a store at schema version 4+)."""
    names = list(columns)
    return [*names, "networks"] if "networks" in CONTRACT_TABLES[table].c else names


def _excluding_events(store: Store, as_of: datetime | pd.Timestamp | str) -> pd.DataFrame:
    table = CONTRACT_TABLES["interactions"]
    query = sa.select(*(table.c[c] for c in EVENT_COLUMNS)).where(
        table.c.event_type.in_(EXCLUDING_EVENTS), table.c.timestamp <= naive_utc(utc(as_of))
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame.from_records(rows, columns=list(EVENT_COLUMNS))


def _feed_data(
    content: pd.DataFrame, advocates: pd.DataFrame, excluding: pd.DataFrame, items: IdMap
) -> FeedData:
    _require(content, ("content_id", "content_type", "published_at"), "content")
    _require(advocates, ("employee_id",), "advocates")
    _require(excluding, EVENT_COLUMNS, "interactions")
    content = content.drop_duplicates("content_id", keep="last").reset_index(drop=True)
    ids = content["content_id"].astype(str)
    known = ids.isin(set(map(str, items.external))).to_numpy()
    missing = content.loc[~known]
    catalogue, problems = build_catalogue(content.loc[known], items)
    titles = {c: t or "" for c, t in zip(ids, _texts(content.get("title"), len(ids)), strict=True)}
    data = FeedData(
        catalogue=catalogue,
        audience=build_audience(advocates, excluding),
        titles=titles,
        missing=tuple(missing["content_id"].astype(str)),
        missing_published_at=column_seconds(missing["published_at"]),
        problems=tuple(problems),
    )
    logger.info("feed data: %s", data.summary())
    return data


def with_screening(content: pd.DataFrame, decided: dict[str, str]) -> pd.DataFrame:
    """``content`` with a ``screening`` column: each item's status in force (missing when
    not screened yet), as :func:`build_catalogue` reads it."""
    return content.assign(screening=content["content_id"].astype(str).map(decided))


def build_catalogue(content: pd.DataFrame, items: IdMap) -> tuple[Catalogue, list[str]]:
    """A catalogue row per model item (``items`` order) from the content table, and the
    problems found. Items without a content row are retired (never shown); a row with an
    unknown approval status is kept out of the feed (as a draft); unknown target networks are
    dropped from a row. With a ``screening`` column (:func:`with_screening`), only items
    passed or released by content screening are shown. Each problem is reported, the rest of
    the row and table is kept."""
    ids = [str(c) for c in items.external]
    frame = content.assign(content_id=content["content_id"].astype(str))
    frame = frame.drop_duplicates("content_id", keep="last").set_index("content_id")
    aligned = frame.reindex(pd.Index(ids, name="content_id"))
    present = aligned.index.isin(frame.index)
    if not present.all():
        logger.info("%d model items have no content row: never shown", int((~present).sum()))
    problems: list[str] = []
    catalogue = Catalogue.from_lists(
        content_ids=ids,
        approval_status=_statuses(aligned, present, problems),
        published_at=_optional_seconds(aligned["published_at"], len(ids)),
        expires_at=_optional_seconds(aligned.get("expires_at"), len(ids)),
        content_type=[t or "" for t in _texts(aligned["content_type"])],
        topics=_lists(aligned.get("topics"), len(ids)),
        allowed_regions=_lists(aligned.get("allowed_regions"), len(ids)),
        allowed_departments=_lists(aligned.get("allowed_departments"), len(ids)),
        allowed_languages=_lists(aligned.get("allowed_languages"), len(ids)),
        networks=_networks(aligned, problems),
        language=_texts(aligned.get("language"), len(aligned)),
        screened=_screened(aligned),
    )
    return catalogue, problems


def _screened(aligned: pd.DataFrame) -> list[bool] | None:
    if "screening" not in aligned.columns:
        return None
    return aligned["screening"].isin(shown_statuses()).tolist()


def _statuses(aligned: pd.DataFrame, present: np.ndarray, problems: list[str]) -> list[str]:
    raw = _texts(aligned.get("approval_status"), len(aligned))
    out = []
    for content_id, value, here in zip(aligned.index, raw, present, strict=True):
        if not here:
            out.append("retired")
            continue
        status = (value or "approved").strip().lower()
        if status not in APPROVAL_STATUSES:
            problems.append(f"content {content_id}: approval_status {value!r} unknown; not shown")
            status = "draft"
        out.append(status)
    return out


def _networks(aligned: pd.DataFrame, problems: list[str]) -> list[list[str]]:
    rows = _lists(aligned.get("networks"), len(aligned))
    out = []
    for content_id, values in zip(aligned.index, rows, strict=True):
        unknown = [v for v in values if v.strip().lower() not in NETWORKS]
        if unknown:
            problems.append(f"content {content_id}: networks {unknown} unknown; ignored")
        out.append([v for v in values if v.strip().lower() in NETWORKS])
    return out


def build_audience(advocates: pd.DataFrame, excluding: pd.DataFrame) -> FeedAudience:
    """Advocates' attributes, with the content each shared or dismissed (``excluding`` holds
    ``employee_id``, ``content_id`` and ``event_type`` rows)."""
    n = len(advocates)
    by_kind = {
        kind: excluding.loc[excluding["event_type"] == kind]
        .groupby("employee_id")["content_id"]
        .agg(lambda ids: list(map(str, ids)))
        .to_dict()
        for kind in EXCLUDING_EVENTS
    }
    return FeedAudience.from_lists(
        [str(e) for e in advocates["employee_id"]],
        _texts(advocates.get("region"), n),
        _texts(advocates.get("department"), n),
        _lists(advocates.get("languages"), n),
        roles=_texts(advocates.get("role"), n),
        interests=_lists(advocates.get("interests"), n),
        shared=by_kind["share"],
        dismissed=by_kind["dismiss"],
    )


# -- column helpers: missing columns and missing values -----------------------------------------
def _require(frame: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ValueError(f"{table}: missing required columns {absent}")


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, list | tuple | np.ndarray) and pd.isna(value))


def _texts(column: pd.Series | None, n: int | None = None) -> list[str | None]:
    if column is None:
        return [None] * (n or 0)
    return [None if _missing(v) or not str(v).strip() else str(v) for v in column]


def _lists(column: pd.Series | None, n: int | None = None) -> list[list[str]]:
    if column is None:
        return [[] for _ in range(n or 0)]
    return [[] if _missing(v) else [str(x) for x in v if not _missing(x)] for v in column]


def _optional_seconds(column: pd.Series | None, n: int) -> list[float | None]:
    if column is None:
        return [None] * n
    return [None if np.isnan(v) else float(v) for v in column_seconds(column)]
