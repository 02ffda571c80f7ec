"""Content embeddings: a dense text vector per content item, cached by model and text.

The text of an item (:mod:`features.content_text`) is hashed; vectors of known hashes come
from the cache, the others are encoded in batches and written back batch by batch, so a
re-run encodes only new or edited content and an interrupted run keeps its progress.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from features.builder import check_fitted, select_rows
from features.content_text import DEFAULT_MAX_TOKENS, content_texts
from features.data.store import Store
from features.embedding_cache import EmbeddingCache, MemoryEmbeddingCache, VectorCache, text_hash
from features.encoder import SentenceTransformerEncoder, TextEncoder
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.progress import Progress, resolve

logger = logging.getLogger(__name__)

PREFIX = "emb_"


@dataclass(frozen=True)
class EmbeddingStats:
    """What one :meth:`ContentEmbeddings.transform` did.

    ``embedded + from_cache == items``; ``encoded_texts`` counts distinct texts sent to the
    encoder (items with identical text share one).
    """

    model_id: str
    items: int
    from_cache: int
    embedded: int
    encoded_texts: int
    seconds: float
    encode_seconds: float


class ContentEmbeddings:
    """Dense float32 columns ``emb_0 .. emb_{d-1}``: the embedding of each item's text.

    ``encoder`` defaults to all-MiniLM-L6-v2 (:class:`SentenceTransformerEncoder`), loaded
    only when a text is missing from the cache. ``cache`` is a :class:`VectorCache` or a
    :class:`Store` (its ``embedding_cache`` table); ``None`` keeps vectors in memory for
    the fitted builder's lifetime. ``batch_size`` texts are encoded and cached per step;
    ``max_tokens`` bounds each text; ``progress`` gets an "embed content" stage counting the
    items encoded (``None``: :func:`recsys.progress.current`).

    There is nothing to learn from the data: ``fit`` binds the encoder and the cache, and
    ``transform`` gives any item (new content included) its row at once.
    """

    def __init__(
        self,
        encoder: TextEncoder | None = None,
        cache: VectorCache | Store | None = None,
        *,
        batch_size: int = 256,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        progress: Progress | None = None,
    ) -> None:
        self.encoder = encoder
        self.cache = cache
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.progress = progress

    def fit(self, snapshot: Snapshot) -> ContentEmbeddings:
        """Bind the encoder and the cache (the snapshot is not needed)."""
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        self.encoder_ = self.encoder if self.encoder is not None else SentenceTransformerEncoder()
        if isinstance(self.cache, Store):
            self.cache_: VectorCache = EmbeddingCache(self.cache)
        else:
            self.cache_ = self.cache if self.cache is not None else MemoryEmbeddingCache()
        self.model_id_ = self.encoder_.model_id
        return self

    def transform(self, snapshot: Snapshot, ids: Sequence[str] | None = None) -> FeatureMatrix:
        """The embedding of every item of ``snapshot.content`` (or of ``ids``, in order)."""
        check_fitted(self, "encoder_")
        started = time.perf_counter()
        content = select_rows(snapshot.content, "content_id", ids)
        texts = content_texts(content, max_tokens=self.max_tokens)
        hashes = [text_hash(t) for t in texts]
        by_hash = dict(zip(hashes, texts, strict=True))
        vectors = self.cache_.get(self.model_id_, list(by_hash))
        missing = [h for h in by_hash if h not in vectors]
        encode_seconds = self._encode(missing, by_hash, vectors)
        values = self._stack(hashes, vectors)
        encoded = set(missing)
        embedded = sum(h in encoded for h in hashes)
        self.last_stats_ = EmbeddingStats(
            model_id=self.model_id_,
            items=len(hashes),
            from_cache=len(hashes) - embedded,
            embedded=embedded,
            encoded_texts=len(missing),
            seconds=time.perf_counter() - started,
            encode_seconds=encode_seconds,
        )
        logger.info("content embeddings: %s", self.last_stats_)
        names = tuple(f"{PREFIX}{j}" for j in range(values.shape[1]))
        return FeatureMatrix(values, names, IdMap(content["content_id"].to_numpy(), "content"))

    def _encode(
        self, missing: list[str], by_hash: dict[str, str], vectors: dict[str, np.ndarray]
    ) -> float:
        """Encode the ``missing`` texts batch by batch into ``vectors`` and the cache."""
        if not missing:
            return 0.0
        started = time.perf_counter()
        # Longest first, so that each batch pads to similar lengths.
        ordered = sorted(missing, key=lambda h: len(by_hash[h]), reverse=True)
        stage = resolve(self.progress).stage("embed content", len(ordered), "items")
        with stage as progress:
            for start in range(0, len(ordered), self.batch_size):
                batch = ordered[start : start + self.batch_size]
                encoded = self.encoder_.encode([by_hash[h] for h in batch])
                self.cache_.put(self.model_id_, batch, encoded)
                vectors.update(zip(batch, encoded, strict=True))
                progress.advance(len(batch))
        return time.perf_counter() - started

    def _stack(self, hashes: list[str], vectors: dict[str, np.ndarray]) -> np.ndarray:
        """The (n, d) float32 matrix of the vectors of ``hashes``."""
        if not hashes:
            return np.zeros((0, self.encoder_.dimension), dtype=np.float32)
        sizes = {vectors[h].shape[0] for h in hashes}
        if len(sizes) != 1:
            raise ValueError(
                f"vectors of model {self.model_id_} have several dimensions {sorted(sizes)}:"
                " the cache holds vectors of another model under this id"
            )
        return np.stack([vectors[h] for h in hashes]).astype(np.float32, copy=False)
