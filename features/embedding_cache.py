"""Caches of text embeddings keyed by (model id, sha256 of the text).

A text is embedded once per model: a re-run finds the vectors of unchanged texts in the
cache and encodes only new or edited ones. A different ``model_id`` (another model, other
weights, another sequence length) never matches an old key, so changing the model
invalidates the cache cleanly; :meth:`EmbeddingCache.prune_models` removes the old rows.

:class:`EmbeddingCache` keeps the vectors in the store's ``embedding_cache`` table (SQLite or
PostgreSQL) as float32 little-endian bytes; :class:`MemoryEmbeddingCache` keeps them in a
dict for one process. Both read and write in batches, never one query per text.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from features.data import schema
from features.data.store import Store

logger = logging.getLogger(__name__)

VECTOR_DTYPE = np.dtype("<f4")  # float32, little-endian: the stored byte layout
TABLE = schema.embedding_cache


def text_hash(text: str) -> str:
    """The hex sha256 of ``text`` in UTF-8: the cache key of its embedding."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@runtime_checkable
class VectorCache(Protocol):
    """Where the embedding builders look vectors up before encoding."""

    def get(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``hashes`` (missing ones are absent from the dict)."""
        ...

    def put(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` as the embedding of ``hashes[i]``."""
        ...


def _check_vectors(hashes: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] != len(hashes):
        raise ValueError(f"expected {len(hashes)} vectors as a 2-d array, got {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise ValueError("refusing to cache non-finite vectors")
    return vectors.astype(VECTOR_DTYPE, copy=False)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MemoryEmbeddingCache:
    """Vectors in a dict: for one process, tests, or when no store is configured."""

    def __init__(self) -> None:
        self._vectors: dict[tuple[str, str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found = ((h, self._vectors.get((model_id, h))) for h in hashes)
        return {h: v for h, v in found if v is not None}

    def put(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        vectors = _check_vectors(hashes, vectors).astype(np.float32)
        for h, v in zip(hashes, vectors, strict=True):
            self._vectors[(model_id, h)] = v


class EmbeddingCache:
    """Vectors in the store's ``embedding_cache`` table, read and written in batches.

    ``chunk_size`` bounds the keys of one ``IN (...)`` lookup (SQLite's bound-parameter
    limit) and the rows of one insert batch.
    """

    def __init__(self, store: Store, *, chunk_size: int = 500) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.store = store
        self.chunk_size = chunk_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store.url!r})"

    def get(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors among ``hashes``; rows with a wrong length count as missing."""
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, np.ndarray] = {}
        columns = (TABLE.c.text_hash, TABLE.c.dim, TABLE.c.vector)
        with self.store.engine.connect() as conn:
            for chunk in _chunks(wanted, self.chunk_size):
                query = sa.select(*columns).where(
                    TABLE.c.model_id == model_id, TABLE.c.text_hash.in_(chunk)
                )
                for key, dim, blob in conn.execute(query):
                    vector = np.frombuffer(bytes(blob), dtype=VECTOR_DTYPE)
                    if vector.size != dim:
                        logger.warning("ignoring a damaged cached vector %s/%s", model_id, key)
                        continue
                    found[key] = vector.astype(np.float32, copy=False)
        return found

    def put(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store the vectors in one transaction; a key already stored is overwritten."""
        vectors = _check_vectors(hashes, vectors)
        if not len(hashes):
            return
        now = datetime.now(UTC).replace(tzinfo=None)
        dim = int(vectors.shape[1])
        rows = {
            h: {
                "model_id": model_id,
                "text_hash": h,
                "dim": dim,
                "vector": v.tobytes(),
                "created_at": now,
            }
            for h, v in zip(hashes, vectors, strict=True)
        }  # one row per key (the last vector given wins): PostgreSQL rejects a batch that
        # updates a row twice
        statement = self._upsert()
        with self.store.engine.begin() as conn:
            batch = list(rows.values())
            for start in range(0, len(batch), self.chunk_size):
                conn.execute(statement, batch[start : start + self.chunk_size])

    def _upsert(self) -> sa.Insert:
        dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        if self.store.dialect not in dialects:
            raise NotImplementedError(f"no upsert for the {self.store.dialect} dialect")
        statement = dialects[self.store.dialect](TABLE)
        updated = {c: statement.excluded[c] for c in ("dim", "vector", "created_at")}
        return statement.on_conflict_do_update(
            index_elements=["model_id", "text_hash"], set_=updated
        )

    def count(self, model_id: str | None = None) -> int:
        """Cached vectors, of one model or of all."""
        query = sa.select(sa.func.count()).select_from(TABLE)
        if model_id is not None:
            query = query.where(TABLE.c.model_id == model_id)
        with self.store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def model_ids(self) -> dict[str, int]:
        """Cached vectors per model id."""
        query = sa.select(TABLE.c.model_id, sa.func.count()).group_by(TABLE.c.model_id)
        with self.store.engine.connect() as conn:
            return {str(m): int(n) for m, n in conn.execute(query)}

    def prune_models(self, keep: Iterable[str]) -> int:
        """Delete the vectors of every model not in ``keep``; returns the rows deleted."""
        kept = list(dict.fromkeys(keep))
        statement = sa.delete(TABLE)
        if kept:
            statement = statement.where(TABLE.c.model_id.not_in(kept))
        with self.store.engine.begin() as conn:
            deleted = conn.execute(statement).rowcount
        logger.info("pruned %d cached vectors of models other than %s", deleted, kept)
        return deleted

    def prune_texts(self, model_id: str, keep: Collection[str]) -> int:
        """Delete the vectors of ``model_id`` whose text hash is not in ``keep``.

        After content edits the old texts' vectors are never read again; this drops them.
        """
        keep = set(keep)
        with self.store.engine.begin() as conn:
            stored = (
                conn.execute(sa.select(TABLE.c.text_hash).where(TABLE.c.model_id == model_id))
                .scalars()
                .all()
            )
            stale = [h for h in stored if h not in keep]
            for chunk in _chunks(stale, self.chunk_size):
                conn.execute(
                    sa.delete(TABLE).where(
                        TABLE.c.model_id == model_id, TABLE.c.text_hash.in_(chunk)
                    )
                )
        logger.info("pruned %d stale cached vectors of %s", len(stale), model_id)
        return len(stale)
