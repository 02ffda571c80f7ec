"""All feature builders together: fit once, transform as of any time, timed per stage."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.advocate_profile import AdvocateProfile
from features.audience import AudienceFeatures
from features.content_embeddings import ContentEmbeddings
from features.content_metadata import ContentMetadata
from features.data.store import Store
from features.encoder import TextEncoder
from features.org_network import OrgNetwork
from features.sharing_history import SharingHistory
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix, save_matrix
from recsys.progress import Progress, resolve

logger = logging.getLogger(__name__)

CONTENT_STAGES = ("content_embeddings", "content_metadata")
ADVOCATE_STAGES = ("advocate_profile", "sharing_history", "audience", "org_network")


@dataclass(frozen=True)
class FeatureSet:
    """Every feature matrix as of one time, with how long each took."""

    as_of: pd.Timestamp
    matrices: dict[str, FeatureMatrix]
    seconds: dict[str, float] = field(default_factory=dict)
    embedded: int = 0
    from_cache: int = 0

    def __getitem__(self, name: str) -> FeatureMatrix:
        return self.matrices[name]

    def summary(self) -> dict[str, object]:
        """Counts, dimensions and seconds per stage, for people and logs."""
        return {
            "as_of": self.as_of.isoformat(),
            "items_embedded": self.embedded,
            "items_from_cache": self.from_cache,
            "embedding_dims": self.matrices["content_embeddings"].shape[1],
            "content_items": self.matrices["content_metadata"].shape[0],
            "advocates": self.matrices["advocate_profile"].shape[0],
            "advocates_profiled": self.matrices["sharing_history"].shape[0],
            "features": {name: m.shape[1] for name, m in self.matrices.items()},
            "seconds": {name: round(s, 3) for name, s in self.seconds.items()},
        }

    def combined(self, names: Sequence[str], ids: IdMap | None = None) -> FeatureMatrix:
        """Matrices ``names`` side by side, one row per id of ``ids`` (default: the first's).

        Rows a matrix lacks (e.g. opted-out advocates in ``sharing_history``) are zeros, so
        ``combined(ADVOCATE_STAGES)`` is one user matrix with a row for every advocate and
        ``combined(CONTENT_STAGES)`` one item matrix. Column names are kept (unique across
        builders by their prefixes).
        """
        if not names:
            raise ValueError("combined() needs at least one matrix name")
        unknown = [n for n in names if n not in self.matrices]
        if unknown:
            raise KeyError(f"unknown feature matrices {unknown}; known: {list(self.matrices)}")
        ids = ids or self.matrices[names[0]].ids
        return FeatureMatrix.hstack(*(_aligned(self.matrices[n], ids) for n in names))

    def save(self, folder: Path) -> list[Path]:
        """One ``<name>.npz`` per matrix (see :func:`recsys.matrix.save_matrix`)."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, matrix in self.matrices.items():
            save_matrix(matrix, folder / f"{name}.npz")
            paths.append(folder / f"{name}.npz")
        return paths


def _aligned(matrix: FeatureMatrix, ids: IdMap) -> FeatureMatrix:
    """``matrix`` with its rows in ``ids`` order; ids it lacks get zero rows."""
    if np.array_equal(matrix.ids.external, ids.external):
        return matrix
    rows = matrix.ids.to_internal(ids.external, missing="ignore")
    present = np.flatnonzero(rows >= 0)
    if sp.issparse(matrix.values):
        source = sp.csr_matrix(matrix.values)
        placer = sp.csr_matrix(
            (np.ones(len(present), np.float32), (present, rows[present])),
            shape=(len(ids), source.shape[0]),
        )
        values: np.ndarray | sp.csr_matrix = sp.csr_matrix(placer @ source)
    else:
        values = np.zeros((len(ids), matrix.shape[1]), dtype=matrix.values.dtype)
        values[present] = matrix.values[rows[present]]
    return FeatureMatrix(values, matrix.names, ids)


class FeaturePipeline:
    """Content and advocate builders with shared settings.

    ``encoder`` and ``cache`` go to :class:`ContentEmbeddings` (the default encoder is
    all-MiniLM-L6-v2; pass a :class:`Store` to cache vectors in its ``embedding_cache``).
    The topic-affinity columns of the sharing history use the content embeddings of the
    same transform. ``progress`` (default :func:`recsys.progress.current`) gets one
    stage per builder of a transform and the embedding stage of the encoder.
    """

    def __init__(
        self,
        *,
        encoder: TextEncoder | None = None,
        cache: Store | None = None,
        history_half_life_days: float = 30.0,
        progress: Progress | None = None,
    ) -> None:
        self.encoder = encoder
        self.cache = cache
        self.history_half_life_days = history_half_life_days
        self.progress = progress

    def fit(self, snapshot: Snapshot) -> FeaturePipeline:
        self.builders_ = {
            "content_embeddings": ContentEmbeddings(
                self.encoder, self.cache, progress=self.progress
            ),
            "content_metadata": ContentMetadata(),
            "advocate_profile": AdvocateProfile(),
            "sharing_history": SharingHistory(half_life_days=self.history_half_life_days),
            "audience": AudienceFeatures(),
            "org_network": OrgNetwork(),
        }
        for builder in self.builders_.values():
            builder.fit(snapshot)
        return self

    def transform(self, snapshot: Snapshot) -> FeatureSet:
        """Every matrix as of ``snapshot.as_of``."""
        matrices: dict[str, FeatureMatrix] = {}
        seconds: dict[str, float] = {}
        for name, builder in self.builders_.items():
            with resolve(self.progress).stage(f"features {name}") as stage:
                if name == "sharing_history":
                    matrices[name] = builder.transform(
                        snapshot, embeddings=matrices["content_embeddings"]
                    )
                else:
                    matrices[name] = builder.transform(snapshot)
                seconds[name] = stage.seconds
            logger.info("%s: %s in %.1f s", name, matrices[name].shape, seconds[name])
        stats = self.builders_["content_embeddings"].last_stats_
        return FeatureSet(snapshot.as_of, matrices, seconds, stats.embedded, stats.from_cache)

    def fit_transform(self, snapshot: Snapshot) -> FeatureSet:
        return self.fit(snapshot).transform(snapshot)
