"""The content performance forecast's inputs and first-week outcomes, as of a time, from a store.

Moment of each item
    ``transform(store, ids, as_of=T)`` builds each item's row as of ``min(published_at, T)``:
    at its publication for an item published by T, at T for a draft or a scheduled item. Every
    event read is observed before that moment (before the UTC midnight that starts its day for
    the audience windows), and only content published before it counts; a store that also
    holds later rows (events, outcomes, content, advocates hired later) gives the same rows.
Columns (:data:`CATEGORICAL` codes, :data:`PERIODS` cycles, the rest numbers)
    - ``content_type``: position in the types seen in ``fit`` (-1: unseen);
      ``primary_topic``: position of the item's first topic in the topic vocabulary (-1:
      none or unseen; the ``mean by topic`` baseline's group); ``topic=<t>``: multi-hot over
      the ``max_topics`` most frequent topics of the fitted items.
    - ``weekday`` (0 = Monday) and ``hour`` (fractional, UTC) of publication; hour of week =
      ``24 * weekday + hour``.
    - ``live_days``: days the item can be shown in its first week (7 without expiry).
    - ``eligible_fraction``: share of the advocates hired by then whom the item is eligible
      for (allowed regions, departments and languages; empty list = all) and who read its
      language (advocates without languages read everything).
    - Audience (:func:`features.content_outcomes.audience_activity`, SQL, the
      ``audience_days`` before the moment's day): ``log_active_advocates`` (advocates not
      opted out with an event other than an impression), ``log_eligible_active`` (that x
      ``eligible_fraction``), ``log_recent_shares`` (share events), ``log_reach_per_share``
      and ``log_clicks_per_share`` (mean impressions and clicks of the share measurements
      taken in the window).
    - ``log_items_7d`` / ``log_topic_items_7d``: approved items published in the 7 days
      before (sharing a topic with the item): the competition for the same feed slots.
    - ``recent_log_shares`` / ``recent_log_reach``: mean ``log1p`` first-week outcome of the
      items whose first week ended in the ``audience_days`` before (0 when none).
    - ``topic_log_shares`` / ``topic_log_reach``: the mean ``log1p`` first-week outcome of the
      items sharing a topic with the item whose first week ended in the ``topic_days`` before,
      shrunk like the author's (below).
    - Author (numbers, not an id): ``log_author_items`` (the author's items whose first week
      ended before), ``author_log_shares`` / ``author_log_reach``: their mean ``log1p``
      first-week outcome, shrunk towards the mean over every such item of the organisation
      with ``author_prior`` pseudo-items.
    - ``emb_pc<k>``: the item's text embedding (:class:`~features.content_embeddings.
      ContentEmbeddings`, the sentence-transformers model) projected on the first
      ``components`` principal components of the fitted items' embeddings.
Outcomes
    :meth:`ContentPerformanceFeatures.outcomes`: shares, reach and clicks of each item's first
    7 days (:func:`features.content_outcomes.first_week_outcomes`), as known at
    ``min(published_at + 7 days, T)``, and whether the week is complete by T.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from features.builder import check_fitted, select_rows, vocabulary
from features.content_embeddings import ContentEmbeddings
from features.content_outcomes import OUTCOMES
from features.content_reads import ContentReads
from features.data.reader import StoreReader
from features.data.store import Store
from features.encoder import TextEncoder
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.times import DAY

WEEK = 7 * DAY
CATEGORICAL = ("content_type", "primary_topic", "weekday")
PERIODS = (("hour", 24.0),)
_NUMBERS = (
    "live_days",
    "eligible_fraction",
    "log_active_advocates",
    "log_eligible_active",
    "log_recent_shares",
    "log_reach_per_share",
    "log_clicks_per_share",
    "log_items_7d",
    "log_topic_items_7d",
    "recent_log_shares",
    "recent_log_reach",
    "topic_log_shares",
    "topic_log_reach",
    "log_author_items",
    "author_log_shares",
    "author_log_reach",
)


class ContentPerformanceFeatures:
    """Inputs of :class:`recsys.forecast.ContentForecast` for content items (module docstring).

    ``fit(store, ids)`` learns the type and topic vocabularies and the embedding projection
    from the items ``ids`` (the training items); ``transform`` builds rows for any item.
    ``encoder`` defaults to the sentence-transformers model of
    :class:`~features.content_embeddings.ContentEmbeddings`; its vectors are cached in the
    store's embedding cache.
    """

    def __init__(
        self,
        *,
        encoder: TextEncoder | None = None,
        components: int = 8,
        max_topics: int = 30,
        audience_days: float = 30.0,
        topic_days: float = 90.0,
        author_prior: float = 3.0,
        random_state: int = 0,
    ) -> None:
        self.encoder = encoder
        self.components = components
        self.max_topics = max_topics
        self.audience_days = audience_days
        self.topic_days = topic_days
        self.author_prior = author_prior
        self.random_state = random_state

    def fit(self, store: Store, ids: Sequence[str]) -> ContentPerformanceFeatures:
        """Vocabularies and the embedding projection of the items ``ids``."""
        if self.components < 0 or self.max_topics < 1 or self.audience_days <= 0:
            raise ValueError("components >= 0, max_topics >= 1 and audience_days > 0 needed")
        content = select_rows(content_table(store), "content_id", list(ids))
        self.types_ = vocabulary(content["content_type"])
        topics = [t for items in content["topics"] for t in (items or ())]
        self.topics_ = vocabulary(topics, limit=self.max_topics)
        self.embeddings_ = ContentEmbeddings(self.encoder, store).fit(_snapshot(content))
        self.pca_ = None
        if self.components > 0 and len(content):
            vectors = self._vectors(content)
            k = min(self.components, *vectors.shape)
            self.pca_ = PCA(k, random_state=self.random_state).fit(vectors)
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """The column names of :meth:`transform`."""
        check_fitted(self, "topics_")
        k = 0 if self.pca_ is None else self.pca_.n_components_
        topics = tuple(f"topic={t}" for t in self.topics_)
        return (*CATEGORICAL, "hour", *_NUMBERS, *topics, *(f"emb_pc{j}" for j in range(k)))

    def transform(
        self,
        store: Store,
        ids: Sequence[str],
        *,
        as_of: datetime | pd.Timestamp,
        reads: ContentReads | None = None,
    ) -> FeatureMatrix:
        """One row per item of ``ids`` as of ``min(published_at, as_of)`` (``reads`` as in
        :meth:`transform_frame`)."""
        everything = content_table(store)
        content = select_rows(everything, "content_id", list(ids))
        return self.transform_frame(store, content, as_of=as_of, everything=everything, reads=reads)

    def transform_frame(
        self,
        store: Store,
        content: pd.DataFrame,
        *,
        as_of: datetime | pd.Timestamp,
        everything: pd.DataFrame | None = None,
        reads: ContentReads | None = None,
    ) -> FeatureMatrix:
        """:meth:`transform` of content rows given as a frame of the store's ``content``
        columns (e.g. a draft not in the store); ``everything``: the store's content table
        (read when None), the other items' competition and history; ``reads``: the store
        reads of the past to use (:class:`~features.content_reads.ContentReads`; default:
        read every time)."""
        check_fitted(self, "topics_")
        everything = content_table(store) if everything is None else everything
        reads = ContentReads() if reads is None else reads
        content = content.reset_index(drop=True)
        moment = np.minimum(_seconds(content["published_at"]), _seconds([as_of])[0])
        columns = self._item_columns(content, moment)
        columns |= _eligibility(reads.advocates(store), content, moment)
        columns |= self._audience(store, reads, moment, columns["eligible_fraction"])
        columns |= _competition(everything, content, moment)
        columns |= self._history(store, reads, everything, content, moment)
        values = np.column_stack([columns[name] for name in self.names[: len(columns)]])
        if self.pca_ is not None:
            values = np.hstack([values, self.pca_.transform(self._vectors(content))])
        index = IdMap(content["content_id"].astype(str).to_numpy(dtype=object), "content")
        return FeatureMatrix(values.astype(np.float64), self.names, index)

    def outcomes(
        self,
        store: Store,
        ids: Sequence[str],
        *,
        as_of: datetime | pd.Timestamp,
        reads: ContentReads | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """First-week :data:`~features.content_outcomes.OUTCOMES` ``(n, 3)`` of ``ids`` as
        known at ``min(published_at + 7 days, as_of)`` and whether that week is complete
        (``reads`` as in :meth:`transform_frame`)."""
        rows = select_rows(content_table(store), "content_id", list(ids))
        return _outcomes(rows, store, ContentReads() if reads is None else reads, as_of)

    # -- column groups ------------------------------------------------------------------------

    def _item_columns(self, content: pd.DataFrame, moment: np.ndarray) -> dict[str, np.ndarray]:
        published = pd.to_datetime(content["published_at"], utc=True)
        expires = _seconds(content["expires_at"])
        live = np.clip((expires - _seconds(content["published_at"])) / DAY, 0.0, 7.0)
        topic_index = {t: j for j, t in enumerate(self.topics_)}
        first = [str(items[0]) if len(items or ()) else "" for items in content["topics"]]
        hot = np.zeros((len(content), len(self.topics_)))
        for row, items in enumerate(content["topics"]):
            for topic in items or ():
                if topic in topic_index:
                    hot[row, topic_index[topic]] = 1.0
        type_index = {t: j for j, t in enumerate(self.types_)}
        out = {
            "content_type": np.array([type_index.get(t, -1) for t in content["content_type"]]),
            "primary_topic": np.array([topic_index.get(t, -1) for t in first], np.float64),
            "weekday": published.dt.day_of_week.to_numpy(np.float64),
            "hour": (published.dt.hour + published.dt.minute / 60.0).to_numpy(np.float64),
            "live_days": np.where(np.isnan(live), 7.0, live),
        }
        return out | {f"topic={t}": hot[:, j] for j, t in enumerate(self.topics_)}

    def _audience(
        self, store: Store, reads: ContentReads, moment: np.ndarray, eligible: np.ndarray
    ) -> dict[str, np.ndarray]:
        day = np.floor(moment / DAY) * DAY
        days, inverse = np.unique(day, return_inverse=True)
        stops = _naives(days)
        starts = _naives(days - self.audience_days * DAY)
        figures = reads.audience(store, starts, stops)[inverse.reshape(-1)]
        active, shares, reach, clicks = figures.T
        return {
            "log_active_advocates": np.log1p(active),
            "log_eligible_active": np.log1p(active * eligible),
            "log_recent_shares": np.log1p(shares),
            "log_reach_per_share": np.log1p(reach),
            "log_clicks_per_share": np.log1p(clicks),
        }

    def _history(
        self,
        store: Store,
        reads: ContentReads,
        everything: pd.DataFrame,
        content: pd.DataFrame,
        moment: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Outcomes of the items whose first week ended by each moment: the organisation's
        recent level, the record of the item's topics and of its author."""
        done_by = moment.max() if len(moment) else 0.0
        published = _seconds(everything["published_at"])
        earlier = everything.loc[
            (published + WEEK <= done_by) & (everything["approval_status"] == "approved")
        ].reset_index(drop=True)
        logs = np.log1p(_outcomes(earlier, store, reads, _naive(done_by))[0][:, :2])
        ended = _seconds(earlier["published_at"]) + WEEK
        authors = earlier["author_id"].astype(str).to_numpy()
        own = content["author_id"].astype(str).to_numpy()
        overlap = _topic_overlap(content["topics"], earlier["topics"])
        n = len(content)
        recent, topical, author = np.zeros((n, 2)), np.zeros((n, 2)), np.zeros((n, 2))
        count = np.zeros(n)
        for i in range(n):
            done = ended <= moment[i]
            window = done & (ended > moment[i] - self.audience_days * DAY)
            if window.any():
                recent[i] = logs[window].mean(axis=0)
            overall = logs[done].mean(axis=0) if done.any() else np.zeros(2)
            near = overlap[i] & done & (ended > moment[i] - self.topic_days * DAY)
            topical[i] = _shrunk(logs[near], overall, self.author_prior)
            mine = done & (authors == own[i])
            count[i] = mine.sum()
            author[i] = _shrunk(logs[mine], overall, self.author_prior)
        return {
            "recent_log_shares": recent[:, 0],
            "recent_log_reach": recent[:, 1],
            "topic_log_shares": topical[:, 0],
            "topic_log_reach": topical[:, 1],
            "log_author_items": np.log1p(count),
            "author_log_shares": author[:, 0],
            "author_log_reach": author[:, 1],
        }

    def _vectors(self, content: pd.DataFrame) -> np.ndarray:
        matrix = self.embeddings_.transform(_snapshot(content), list(content["content_id"]))
        return np.asarray(matrix.values, np.float64)


def _outcomes(
    content: pd.DataFrame, store: Store, reads: ContentReads, as_of: datetime | pd.Timestamp
) -> tuple[np.ndarray, np.ndarray]:
    published = _seconds(content["published_at"])
    until = _seconds([as_of])[0]
    stops = np.minimum(published + WEEK, until)
    figures = reads.outcomes(
        store,
        content["content_id"].astype(str).tolist(),
        _naives(published),
        _naives(stops),
    )
    return figures, published + WEEK <= until


def _shrunk(logs: np.ndarray, prior: np.ndarray, weight: float) -> np.ndarray:
    """Mean of the rows of ``logs`` with ``weight`` pseudo-rows at ``prior``."""
    return (logs.sum(axis=0) + weight * prior) / (len(logs) + weight)


def _topic_overlap(topics: pd.Series, others: pd.Series) -> np.ndarray:
    """``(len(topics), len(others))``: whether the two items share a topic."""
    index: dict[str, int] = {}
    for items in (*topics, *others):
        for topic in items or ():
            index.setdefault(str(topic), len(index))

    def hot(column: pd.Series) -> np.ndarray:
        out = np.zeros((len(column), max(len(index), 1)))
        for row, items in enumerate(column):
            out[row, [index[str(t)] for t in items or ()]] = 1.0
        return out

    return (hot(topics) @ hot(others).T) > 0


def _eligibility(
    advocates: pd.DataFrame, content: pd.DataFrame, moment: np.ndarray
) -> dict[str, np.ndarray]:
    """``eligible_fraction`` per item: among the advocates hired by its moment."""
    hired = _seconds(pd.to_datetime(advocates["hire_date"]).dt.tz_localize("UTC"))
    hired = np.where(np.isnan(hired), -np.inf, hired)
    order = np.argsort(hired, kind="stable")
    hired = hired[order]
    audience = _Audience(advocates.iloc[order])
    fraction = np.zeros(len(content))
    signatures: dict[tuple, np.ndarray] = {}
    for i, row in enumerate(content.itertuples(index=False)):
        key = (
            tuple(row.allowed_regions or ()),
            tuple(row.allowed_departments or ()),
            tuple(row.allowed_languages or ()),
            row.language if isinstance(row.language, str) else "",
        )
        if key not in signatures:
            signatures[key] = audience.eligible(*key)
        total = np.searchsorted(hired, moment[i], "right")
        fraction[i] = signatures[key][:total].sum() / total if total else 0.0
    return {"eligible_fraction": fraction}


class _Audience:
    """The advocates' regions, departments and languages as codes, for eligibility masks."""

    def __init__(self, advocates: pd.DataFrame) -> None:
        self.regions = advocates["region"].astype(str).to_numpy()
        self.departments = advocates["department"].astype(str).to_numpy()
        spoken = advocates["languages"].reset_index(drop=True).explode().dropna().astype(str)
        codes, names = pd.factorize(spoken)
        self.languages = {str(name): j for j, name in enumerate(names)}
        self.speaks = np.zeros((len(advocates), max(len(names), 1)), bool)
        self.speaks[spoken.index.to_numpy(), codes] = True
        self.speaks_none = ~self.speaks.any(axis=1)

    def eligible(
        self,
        allowed_regions: tuple[str, ...],
        allowed_departments: tuple[str, ...],
        allowed_languages: tuple[str, ...],
        language: str,
    ) -> np.ndarray:
        """Per advocate: in an allowed region and department (empty: all), speaking an
        allowed language (empty: any), and reading ``language`` (or listing no language)."""
        ok = np.ones(len(self.regions), bool)
        if allowed_regions:
            ok &= np.isin(self.regions, allowed_regions)
        if allowed_departments:
            ok &= np.isin(self.departments, allowed_departments)
        if allowed_languages:
            ok &= self._speak(allowed_languages)
        if language:
            ok &= self.speaks_none | self._speak((language,))
        return ok

    def _speak(self, names: tuple[str, ...]) -> np.ndarray:
        columns = [self.languages[n] for n in names if n in self.languages]
        return self.speaks[:, columns].any(axis=1)


def _competition(
    everything: pd.DataFrame, content: pd.DataFrame, moment: np.ndarray
) -> dict[str, np.ndarray]:
    """Approved items published in the 7 days before each moment (sharing a topic)."""
    live = everything.loc[everything["approval_status"] == "approved"]
    published = _seconds(live["published_at"])
    topic_sets = [set(v or ()) for v in live["topics"]]
    items, topical = np.zeros(len(content)), np.zeros(len(content))
    for i, topics in enumerate(content["topics"]):
        recent = np.flatnonzero((published < moment[i]) & (published >= moment[i] - WEEK))
        items[i] = len(recent)
        wanted = set(topics or ())
        topical[i] = sum(bool(topic_sets[j] & wanted) for j in recent)
    return {"log_items_7d": np.log1p(items), "log_topic_items_7d": np.log1p(topical)}


def content_table(store: Store) -> pd.DataFrame:
    """The store's ``content`` table (every column of the contract)."""
    return StoreReader(store).table("content")


def _snapshot(content: pd.DataFrame) -> Snapshot:
    return Snapshot.from_frames(pd.Timestamp.now(tz="UTC"), content=content)


def _seconds(values: Iterable[object]) -> np.ndarray:
    """Unix seconds (float, NaN where missing) of a column or list of times (naive = UTC)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.DatetimeTZDtype):
        stamps = values.dt.tz_convert("UTC")  # a typed column (the store reader's)
    else:
        stamps = pd.to_datetime(pd.Series(list(values), dtype=object), utc=True, format="mixed")
    delta = stamps - pd.Timestamp(0, tz="UTC")
    return np.asarray(delta.dt.total_seconds(), np.float64)


def _naives(seconds: np.ndarray) -> list[datetime]:
    """:func:`_naive` of many times at once."""
    return list(pd.to_datetime(seconds, unit="s").to_pydatetime())


def _naive(seconds: float) -> datetime:
    return pd.Timestamp(seconds, unit="s").to_pydatetime()


__all__ = [
    "CATEGORICAL",
    "OUTCOMES",
    "PERIODS",
    "WEEK",
    "ContentPerformanceFeatures",
    "content_table",
]
