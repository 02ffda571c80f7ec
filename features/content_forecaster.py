"""The content performance forecast as it is shipped and served: the fitted input builder and
the fitted model together, forecasting items of the store (or drafts given as rows) as of a time.

Forecast
    :meth:`ContentForecaster.forecast` builds each item's inputs as of ``min(published_at, T)``
    (:class:`~features.content_performance.ContentPerformanceFeatures`) and returns, per item,
    the expected first-week outcomes (shares, reach, clicks: the model's median estimate) and
    the bounds of the model's interval (``level``, 80% by default). A draft or a scheduled
    item is forecast as if published at its planned time with what is known at T;
    :meth:`ContentForecaster.forecast_frame` does the same for rows that are not in the store
    (a draft typed into a form).
Newest items
    :func:`newest_items`: the drafts and the items published in the ``days`` before T (or
    scheduled after it), newest first: what a program manager wants forecast.
Saved form (no pickle)
    ``manifest.json`` (``kind`` :data:`KIND`, the builder's parameters, its type and topic
    vocabularies, the text encoder's model id, training facts), ``builder.npz`` (the
    embedding projection: PCA components and mean) and ``forecast/`` (the model,
    :meth:`recsys.forecast.ContentForecast.save`). :meth:`ContentForecaster.load` reads it
    back with identical forecasts; the text encoder given to it must be the one fitted with
    (its model id is checked when the first text is embedded).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from features.content_embeddings import ContentEmbeddings
from features.content_performance import ContentPerformanceFeatures, content_table
from features.content_reads import ContentReads
from features.data.store import Store
from features.encoder import TextEncoder
from features.snapshot import Snapshot
from recsys.forecast import ContentForecast

KIND = "content_performance_forecast"
FORMAT_VERSION = 1
FORECAST_FOLDER = "forecast"
_BUILDER_PARAMS = ("components", "max_topics", "audience_days", "topic_days", "author_prior")


@dataclass(frozen=True)
class ContentOutlook:
    """One item's forecast: expected first-week outcomes and their interval, per target."""

    content_id: str
    moment: datetime  # UTC: the inputs' time, min(published_at, the forecast's time)
    expected: dict[str, float]
    lower: dict[str, float]
    upper: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "content_id": self.content_id,
            "moment": self.moment.isoformat(),
            "expected": self.expected,
            "lower": self.lower,
            "upper": self.upper,
        }


class ContentForecaster:
    """A fitted builder and a fitted :class:`~recsys.forecast.ContentForecast` (module
    docstring); ``training``: facts about the fit (recorded in the saved manifest)."""

    def __init__(
        self,
        builder: ContentPerformanceFeatures,
        model: ContentForecast,
        training: dict[str, Any] | None = None,
    ) -> None:
        names = tuple(builder.names)
        if tuple(model.features) != names:
            raise ValueError(
                f"ContentForecaster: the model's features {list(model.features)[:5]}... are not"
                f" the builder's columns {list(names)[:5]}..."
            )
        self.builder = builder
        self.model = model
        self.training = dict(training or {})
        self._binding = threading.Lock()

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.model.targets)

    @property
    def level(self) -> float:
        return float(self.model.level)

    def forecast(
        self,
        store: Store,
        ids: Sequence[str],
        *,
        as_of: datetime | pd.Timestamp,
        reads: ContentReads | None = None,
    ) -> list[ContentOutlook]:
        """The forecast of the store's items ``ids`` (in that order) as of ``as_of``; an
        unknown id raises ``KeyError``; ``reads``: the store reads of the past to use
        (:class:`~features.content_reads.ContentReads`, e.g. one that keeps them)."""
        everything = content_table(store)
        indexed = everything.set_index("content_id", drop=False)
        missing = [i for i in ids if i not in indexed.index]
        if missing:
            raise KeyError(f"unknown content_id(s): {', '.join(missing[:5])}")
        rows = indexed.loc[list(ids)].reset_index(drop=True)
        return self._forecast(store, rows, as_of, everything, reads)

    def forecast_frame(
        self,
        store: Store,
        content: pd.DataFrame,
        *,
        as_of: datetime | pd.Timestamp,
        everything: pd.DataFrame | None = None,
        reads: ContentReads | None = None,
    ) -> list[ContentOutlook]:
        """The forecast of content rows that need not be in the store (the ``content``
        table's columns; see :func:`draft_row`); ``everything``: the store's content table
        when already read; ``reads`` as in :meth:`forecast`."""
        everything = content_table(store) if everything is None else everything
        return self._forecast(store, content.reset_index(drop=True), as_of, everything, reads)

    def _forecast(
        self,
        store: Store,
        rows: pd.DataFrame,
        as_of: datetime | pd.Timestamp,
        everything: pd.DataFrame,
        reads: ContentReads | None,
    ) -> list[ContentOutlook]:
        if not len(rows):
            return []
        self._bind(store)
        x = self.builder.transform_frame(
            store, rows, as_of=as_of, everything=everything, reads=reads
        ).values
        point = self.model.predict(x)
        lower, upper = self.model.predict_interval(x)
        published = pd.to_datetime(rows["published_at"], utc=True)
        moment = _utc(as_of)
        moments = published.where(published <= moment, moment)
        targets = self.targets
        return [
            ContentOutlook(
                content_id=str(rows["content_id"].iloc[i]),
                moment=pd.Timestamp(moments.iloc[i]).to_pydatetime(),
                expected=_row(targets, point[i]),
                lower=_row(targets, lower[i]),
                upper=_row(targets, upper[i]),
            )
            for i in range(len(rows))
        ]

    def _bind(self, store: Store) -> None:
        """Read and write embeddings through ``store``'s cache (the store forecast)."""
        with self._binding:
            embeddings = self.builder.embeddings_
            if embeddings.cache is store:
                return
            encoder = getattr(embeddings, "encoder_", None) or embeddings.encoder
            bound = ContentEmbeddings(encoder, store).fit(_empty_snapshot())
            recorded = self.training.get("encoder_model_id")
            if recorded and bound.model_id_ != recorded:
                raise ValueError(
                    f"ContentForecaster: fitted with text model {recorded}, given {bound.model_id_}"
                )
            self.builder.embeddings_ = bound

    # -- persistence ------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write the saved form (module docstring) to ``folder``."""
        folder = Path(folder)
        builder = self.builder
        self.model.save(folder / FORECAST_FOLDER)
        pca = builder.pca_
        arrays = {} if pca is None else {"components": pca.components_, "mean": pca.mean_}
        np.savez(folder / "builder.npz", **arrays)
        manifest = {
            "kind": KIND,
            "format_version": FORMAT_VERSION,
            "model": self.model.model,
            "params": {k: getattr(builder, k) for k in _BUILDER_PARAMS}
            | {"random_state": builder.random_state, "alpha": self.model.alpha},
            "types": [str(t) for t in builder.types_],
            "topics": [str(t) for t in builder.topics_],
            "targets": list(self.targets),
            "level": self.level,
            "training": self.training,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, encoder: TextEncoder | None = None) -> ContentForecaster:
        """The forecaster written by :meth:`save`; ``encoder``: the text encoder (default
        the bundled sentence-transformers model, loaded when a text is not cached)."""
        folder = Path(folder)
        path = folder / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(f"no content forecast at {folder}: {path.name} is missing")
        manifest = json.loads(path.read_text())
        if manifest.get("kind") != KIND:
            raise ValueError(f"{path} is not a content forecast (kind {manifest.get('kind')!r})")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version {manifest.get('format_version')}")
        params = manifest["params"]
        builder = ContentPerformanceFeatures(
            encoder=encoder,
            random_state=int(params["random_state"]),
            **{k: params[k] for k in _BUILDER_PARAMS},
        )
        builder.types_ = list(manifest["types"])
        builder.topics_ = list(manifest["topics"])
        builder.embeddings_ = ContentEmbeddings(encoder)
        with np.load(folder / "builder.npz", allow_pickle=False) as stored:
            builder.pca_ = _pca(stored["components"], stored["mean"]) if stored.files else None
        model = ContentForecast.load(folder / FORECAST_FOLDER)
        return cls(builder, model, manifest.get("training") or {})


def newest_items(
    store: Store,
    *,
    as_of: datetime | pd.Timestamp,
    days: float = 7.0,
    limit: int = 100,
    content: pd.DataFrame | None = None,
) -> list[str]:
    """The ids of the drafts, the scheduled items and the approved items published in the
    ``days`` before ``as_of``, newest publication first, at most ``limit``; ``content``: the
    store's content table when already read."""
    content = content_table(store) if content is None else content
    published = pd.to_datetime(content["published_at"], utc=True)
    moment = _utc(as_of)
    status = content["approval_status"].astype(str)
    recent = (status == "approved") & (published >= moment - timedelta(days=days))
    wanted = content.loc[(recent | (status == "draft")).to_numpy()].assign(_at=published)
    ordered = wanted.sort_values(["_at", "content_id"], ascending=[False, True])
    return ordered["content_id"].astype(str).head(limit).tolist()


def draft_row(
    *,
    title: str,
    content_type: str,
    published_at: datetime,
    body: str | None = None,
    topics: Sequence[str] = (),
    author_id: str | None = None,
    language: str | None = None,
    content_id: str = "draft",
) -> pd.DataFrame:
    """A one-row frame of the ``content`` table's columns for a draft not in the store: open
    to every advocate (no allowed regions, departments or languages), never expiring."""
    return pd.DataFrame(
        [
            {
                "content_id": content_id,
                "title": title,
                "body": body,
                "url": None,
                "content_type": content_type.strip().lower(),
                "language": language,
                "topics": [t.strip().lower() for t in topics if t.strip()],
                "author_id": author_id,
                "published_at": _utc(published_at),
                "expires_at": pd.NaT,
                "approval_status": "draft",
                "allowed_regions": [],
                "allowed_departments": [],
                "allowed_languages": [],
                "networks": [],
            }
        ]
    )


def _utc(moment: datetime | pd.Timestamp) -> pd.Timestamp:
    """A time as a UTC timestamp (naive = UTC)."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _row(targets: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    return {t: float(v) for t, v in zip(targets, values, strict=True)}


def _pca(components: np.ndarray, mean: np.ndarray) -> PCA:
    """A fitted PCA's projection from its components and mean (no whitening)."""
    pca = PCA(len(components))
    pca.components_, pca.mean_ = components, mean
    pca.n_components_, pca.n_features_in_ = len(components), components.shape[1]
    pca.explained_variance_ = np.ones(len(components))
    return pca


def _empty_snapshot() -> Snapshot:
    return Snapshot.from_frames(pd.Timestamp.now(tz="UTC"))
