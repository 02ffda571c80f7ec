"""Content metadata features: type, language, topics, author, age as of a time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.builder import check_fitted, multi_hot, one_hot, select_rows, vocabulary
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.times import DAY

# (name, lower bound in days, upper bound in days): age = as_of - published_at
AGE_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("scheduled", -np.inf, 0.0),
    ("0-1d", 0.0, 1.0),
    ("1-3d", 1.0, 3.0),
    ("3-7d", 3.0, 7.0),
    ("7-30d", 7.0, 30.0),
    ("30d+", 30.0, np.inf),
)


class ContentMetadata:
    """One-hot type, language and author, multi-hot topics, age bucket, expiry flag.

    Vocabularies are learned in ``fit``; a value first seen later (a new topic, a new
    author) maps to the ``__other__`` column of its field, so new content gets a full row
    at once, with no refit.
    """

    def __init__(self, *, min_topic_count: int = 1, max_authors: int = 500) -> None:
        self.min_topic_count = min_topic_count
        self.max_authors = max_authors

    def fit(self, snapshot: Snapshot) -> ContentMetadata:
        content = snapshot.content
        self.types_ = vocabulary(content["content_type"])
        self.languages_ = vocabulary(content["language"])
        topics = [t for items in content["topics"] for t in (items or ())]
        self.topics_ = vocabulary(topics, min_count=self.min_topic_count)
        self.authors_ = vocabulary(content["author_id"], min_count=2, limit=self.max_authors)
        return self

    def transform(self, snapshot: Snapshot, ids: Sequence[str] | None = None) -> FeatureMatrix:
        check_fitted(self, "topics_")
        content = select_rows(snapshot.content, "content_id", ids)
        parts = [
            one_hot(content["content_type"].tolist(), self.types_, "type"),
            one_hot(content["language"].tolist(), self.languages_, "language"),
            multi_hot(content["topics"].tolist(), self.topics_, "topic"),
            one_hot(content["author_id"].tolist(), self.authors_, "author"),
            _age(content, snapshot.as_of),
        ]
        values = sp.hstack([p[0] for p in parts], format="csr", dtype=np.float32)
        names = tuple(n for p in parts for n in p[1])
        return FeatureMatrix(values, names, IdMap(content["content_id"].to_numpy(), "content"))


def _age(content: pd.DataFrame, as_of: pd.Timestamp) -> tuple[sp.csr_matrix, list[str]]:
    published = pd.to_datetime(content["published_at"], utc=True)
    age_days = ((as_of - published).dt.total_seconds() / DAY).to_numpy()
    columns = [((age_days >= low) & (age_days < high)) for _, low, high in AGE_BUCKETS]
    expires = pd.to_datetime(content["expires_at"], utc=True)
    columns.append((expires <= as_of).fillna(False).to_numpy(dtype=bool))
    names = [f"age={name}" for name, _, _ in AGE_BUCKETS] + ["expired"]
    return sp.csr_matrix(np.column_stack(columns).astype(np.float32)), names
