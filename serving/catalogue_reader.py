"""The store side of the live catalogue: what is published, who the advocates are.

:class:`CatalogueReader` reads the content table, the advocates and the shares and
dismissals (:mod:`features.feed_catalogue` turns them into the feed's
:class:`~recsys.feed_arrays.Catalogue` and :class:`~recsys.feed_arrays.FeedAudience`), tells which
live content a model does not know yet and builds that content's features the way training
does: the content metadata columns (vocabularies of the current content table; values the
model never saw fall in ``__other__`` columns or are ignored by name) next to the
sentence-transformers embedding, read from the store's embedding cache or computed and
cached. The encoder loads on first use, on a refresher thread, never on a request.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from features.content_embeddings import ContentEmbeddings
from features.content_metadata import ContentMetadata
from features.data.reader import StoreReader
from features.data.schema import CONTRACT_TABLES
from features.data.store import Store
from features.data.times import column_seconds
from features.encoder import TextEncoder
from features.feed_catalogue import (
    ADVOCATE_COLUMNS,
    CONTENT_COLUMNS,
    EVENT_COLUMNS,
    EXCLUDING_EVENTS,
    build_audience,
    build_catalogue,
    with_screening,
)
from features.screening.policy import Policy, resolve_policy
from features.screening.records import screen_pending, statuses
from features.snapshot import Snapshot
from recsys.base import Recommender
from recsys.feed_arrays import Catalogue, FeedAudience
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix

logger = logging.getLogger(__name__)

#: The content columns a refresh reads (the feed's fields, no bodies).
CONTENT_READ = [*CONTENT_COLUMNS, "author_id"]
#: The rows :meth:`CatalogueReader.probe` fingerprints: a change in any is a new catalogue
#: (the body and url too, which the feed does not read: a changed text is screened again).
PROBED = (
    ("content", [*CONTENT_READ, "body", "url"]),
    ("content_screening", ("content_id", "status")),
    ("advocates", ADVOCATE_COLUMNS),
)


@dataclass(frozen=True)
class StoreView:
    """The content, advocates and excluding events read at ``as_of``, with a digest."""

    as_of: datetime
    content: pd.DataFrame
    advocates: pd.DataFrame
    excluding: pd.DataFrame
    digest: str
    probe: str = ""  # :meth:`CatalogueReader.probe` taken before the tables were read


class CatalogueReader:
    """Reads the store for the live catalogue and prepares new content for a model."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        encoder: TextEncoder | Callable[[], TextEncoder] | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or resolve_policy()
        self._encoder = encoder
        self._embeddings: ContentEmbeddings | None = None
        self._loading = threading.Lock()  # one encoder load (warm-up or first new content)

    def read(self, probe: str | None = None) -> StoreView:
        """The tables as they are now: the content fields the feed needs (no bodies) with
        each item's screening status (content not screened yet is screened first, with
        ``policy``), the advocates, the shares and dismissals (``probe``: :meth:`probe` just
        taken)."""
        if screen_pending(self.store, self.policy).screened:
            probe = None  # the screening decisions changed under the probe taken
        probe = self.probe() if probe is None else probe
        as_of = self.clock()
        reader = StoreReader(self.store)
        content = with_screening(
            reader.table("content", columns=CONTENT_READ), statuses(self.store)
        )
        advocates = reader.table("advocates", columns=list(ADVOCATE_COLUMNS))
        excluding = self._excluding()
        digest = _digest(content, advocates, excluding)
        return StoreView(as_of, content, advocates, excluding, digest, probe)

    def probe(self) -> str:
        """A fingerprint of the content, screening and advocate rows :meth:`read` reads, for
        telling that nothing changed: the raw rows hashed in this process (no parsing, no
        frames; several times cheaper than a read). Shares and dismissals are not in it:
        every process applies them as they are stored (:mod:`serving.event_follower`)."""
        with self.store.engine.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            parts = []
            for table, columns in PROBED:
                # plain SQL: the driver's values as they are (JSON columns not decoded)
                query = f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)}"
                parts.append(_fingerprint(conn.exec_driver_sql(query).all()))
        return ":".join(map(str, parts))

    def missing(self, view: StoreView, model: Recommender) -> list[str]:
        """Approved, not expired content the model does not know, in table order."""
        content = view.content
        known = content["content_id"].astype(str).isin(set(map(str, model.items_.external)))
        approved = content["approval_status"].fillna("approved").str.lower() == "approved"
        expires = pd.to_datetime(content["expires_at"], utc=True)
        live = ~(expires <= pd.Timestamp(view.as_of)).to_numpy()
        wanted = (~known).to_numpy() & approved.to_numpy() & live
        return list(dict.fromkeys(content.loc[wanted, "content_id"].astype(str)))

    def features(self, view: StoreView, content_ids: Sequence[str]) -> FeatureMatrix:
        """Content metadata and embedding columns for ``content_ids`` (names as in training).

        Reads the whole content table (the texts, and the vocabularies of the metadata).
        """
        full = StoreReader(self.store).table("content")
        snapshot = Snapshot.from_frames(view.as_of, content=full)
        metadata = ContentMetadata().fit(snapshot).transform(snapshot, list(content_ids))
        embeddings = self._embedder(snapshot).transform(snapshot, list(content_ids))
        return FeatureMatrix.hstack(metadata, embeddings)

    def published(self, view: StoreView, content_ids: Sequence[str]) -> np.ndarray:
        """Publication times (unix seconds, 0 if missing) of ``content_ids``."""
        frame = view.content.drop_duplicates("content_id", keep="last")
        times = frame.set_index("content_id")["published_at"]
        seconds = pd.Series(column_seconds(times), index=times.index)
        return seconds.reindex(list(content_ids)).fillna(0).to_numpy(np.int64)

    def catalogue(
        self, view: StoreView, content_ids: Sequence[str]
    ) -> tuple[Catalogue, dict[str, str]]:
        """The catalogue aligned with ``content_ids`` (a model's items) and every title."""
        catalogue, problems = build_catalogue(view.content, IdMap.from_ids(content_ids, "content"))
        for problem in problems[:20]:
            logger.warning("catalogue: %s", problem)
        titles = {
            str(c): "" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t)
            for c, t in zip(view.content["content_id"], view.content["title"], strict=True)
        }
        return catalogue, titles

    def audience(self, view: StoreView) -> FeedAudience:
        return build_audience(view.advocates, view.excluding)

    def forgotten(self, view: StoreView, model: Recommender) -> frozenset[str]:
        """Employees the model holds but the store no longer does (erased, see
        :mod:`features.data.privacy`): served as unknown to the model, never personalised."""
        held = set(view.advocates["employee_id"].astype(str))
        return frozenset(e for e in map(str, model.users_.external) if e not in held)

    def warm(self) -> None:
        """Load the text encoder now (on a background thread of the refresher), so the first
        new content is embedded without the encoder's start-up time."""
        self._embedder(Snapshot.from_frames(self.clock()))

    def _embedder(self, snapshot: Snapshot) -> ContentEmbeddings:
        with self._loading:
            if self._embeddings is None:
                encoder = self._encoder() if callable(self._encoder) else self._encoder
                embeddings = ContentEmbeddings(encoder, self.store).fit(snapshot)
                if hasattr(embeddings.encoder_, "encode"):
                    embeddings.encoder_.encode(["warm up"])  # loads the weights now
                self._embeddings = embeddings
            return self._embeddings

    def _excluding(self) -> pd.DataFrame:
        table = CONTRACT_TABLES["interactions"]
        query = sa.select(*(table.c[c] for c in EVENT_COLUMNS)).where(
            table.c.event_type.in_(EXCLUDING_EVENTS)
        )
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame.from_records(rows, columns=list(EVENT_COLUMNS))


def _digest(content: pd.DataFrame, advocates: pd.DataFrame, excluding: pd.DataFrame) -> str:
    """Changes when any content or advocate row changes, or shares/dismissals are added."""
    digest = hashlib.sha256()
    for frame in (content, advocates):
        hashed = pd.util.hash_pandas_object(frame.astype(str), index=False)
        digest.update(np.ascontiguousarray(hashed.to_numpy()).tobytes())
    digest.update(f"excluding:{len(excluding)}".encode())
    return digest.hexdigest()


def _fingerprint(rows: Sequence[object]) -> int:
    """An in-process hash of raw rows (a driver that decodes JSON gives lists: repr them)."""
    try:
        return hash(tuple(rows))
    except TypeError:
        return hash(repr(rows))
