"""Content-based: cosine between an employee's topic affinity and content embeddings."""

from __future__ import annotations

import dataclasses

import numpy as np

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.matrix import FeatureMatrix, dense, rows_by_name, unit_rows
from recsys.models.component import DotRow, Fold, RecommenderComponent, register
from recsys.times import decay


class ContentBased(Recommender):
    """Rank content by cosine similarity to what each employee interacted with.

    Item embeddings are the ``dataset.item_features`` columns whose names start with
    ``feature_prefix`` (e.g. ``emb_*``), L2-normalised. With ``centre`` (the hybrid's
    affinity sets it) the mean embedding of the fitted catalogue (``centre_``; rows with no
    embedding left out) is subtracted first, also from content added later: sentence
    embeddings share a large common direction, so uncentred cosines mostly measure it (the
    measured effect is in docs/recommenders.md). ``centre="cold"`` centres only for content
    with no event in ``fit`` and content added later (see :meth:`_split_rows`): warm items
    keep the uncentred cosine; it doubles the width of the profiles.
    An employee's affinity is the time-decayed, weighted mean of the embeddings of the items
    they interacted with: an event of weight w at time t counts
    ``w * 2 ** (-(t_last - t) / half_life)`` where ``t_last`` is that employee's latest event
    (``half_life_days=None``: no decay). Only its direction matters for the cosine, so the
    sums are kept per employee relative to their own latest
    event and each live event (:meth:`observe`) costs O(dimensions).

    Scores are ``cosine + tiebreak * popularity``: ``popularity`` is the item's weighted
    event count divided by the largest one (in [0, 1]), so with the default
    ``tiebreak=1e-6`` it only orders items the embeddings cannot tell apart.

    Cold start: unknown employees, and known ones with no usable history, get the mean
    direction of every employee's affinity (the normalised sum of their unit affinities);
    when nobody has history that is zero and the ranking is the popularity tie-break.
    New content (:meth:`add_items`) is scored from its ``features`` rows right away (columns
    matched by name); content without embedding rows scores 0 cosine (tie-break only).
    """

    name = "content"
    history_vectors_: np.ndarray | None

    def __init__(
        self,
        *,
        feature_prefix: str = "emb_",
        half_life_days: float | None = 30.0,
        tiebreak: float = 1e-6,
        centre: bool | str = False,
    ) -> None:
        self.feature_prefix = feature_prefix
        self.half_life_days = half_life_days
        self.tiebreak = tiebreak
        self.centre = centre

    # -- learning ---------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ValueError(f"half_life_days must be > 0 or None, got {self.half_life_days}")
        if dataset.item_features is None:
            raise ValueError("ContentBased needs dataset.item_features (content embeddings)")
        selected = dataset.item_features.select(self.feature_prefix)
        if not selected.names:
            raise ValueError(f"no item feature column starts with {self.feature_prefix!r}")
        self.feature_names_ = np.asarray(selected.names, dtype=np.str_)
        rows = dataclasses.replace(dataset, item_features=selected).item_feature_rows()
        if self.centre not in (False, True, "cold"):
            raise ValueError(f"centre must be False, True or 'cold', got {self.centre!r}")
        raw = dense(rows)
        present = np.any(raw != 0, axis=1)
        self.centre_ = np.zeros(raw.shape[1])
        if self.centre and present.any():
            self.centre_ = raw[present].mean(axis=0)
        n_users = len(dataset.users)
        if self.centre == "cold":
            counts = dataset.item_event_counts()
            self.item_vectors_, self.history_vectors_ = self._split_rows(raw, counts == 0)
            self.sums_ = np.zeros((n_users, self.history_vectors_.shape[1]))
        else:
            self.history_vectors_ = None
            self.item_vectors_ = self._unit_centred(raw) if self.centre else unit_rows(raw)
        self.affinity_ = np.zeros((n_users, self.item_vectors_.shape[1]))
        self.user_time_ = np.full(n_users, -np.inf)
        self.popularity_ = np.zeros(len(dataset.items))
        self.__dict__.pop("_top", None)
        self.cold_sum_ = np.zeros(self.item_vectors_.shape[1])
        events = dataset.interactions
        self._accumulate(
            events.users, events.items, events.times.astype(np.float64), events.weights
        )
        self.cold_sum_ = unit_rows(self.affinity_).sum(axis=0)

    def _observe(self, users, items, times, weights) -> None:
        touched = np.unique(users)
        before = unit_rows(self.affinity_[touched]).sum(axis=0)
        self._accumulate(users, items, np.asarray(times, np.float64), weights)
        self.cold_sum_ += unit_rows(self.affinity_[touched]).sum(axis=0) - before

    def _accumulate(
        self, users: np.ndarray, items: np.ndarray, times: np.ndarray, weights: np.ndarray
    ) -> None:
        if len(users) == 0:
            return
        weights = np.asarray(weights, np.float64)
        np.add.at(self.popularity_, items, weights)
        self.__dict__.pop("_top", None)
        latest = np.full(len(self.user_time_), -np.inf)
        np.maximum.at(latest, users, times)
        moved = np.flatnonzero(latest > self.user_time_)
        history = self.history_vectors_
        split = history is not None
        target = self.sums_ if split else self.affinity_
        source = history if history is not None else self.item_vectors_
        if self.half_life_days is not None:
            old = np.isfinite(self.user_time_[moved])
            shift = latest[moved[old]] - self.user_time_[moved[old]]
            target[moved[old]] *= self._decay(shift)[:, None]
        self.user_time_[moved] = latest[moved]
        factors = weights * self._decay(self.user_time_[users] - times)
        np.add.at(target, users, factors[:, None] * source[items])
        if split:
            touched = np.unique(users)
            self.affinity_[touched] = _halves_unit(self.sums_[touched])

    def _split(self) -> bool:
        return self.history_vectors_ is not None

    def _split_rows(self, raw: np.ndarray, cold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``centre="cold"``: (item rows, history rows) of width 2 d. Scoring rows are
        ``[unit(raw), 0]`` for warm items and ``[0, unit(raw - centre_)]`` for cold ones;
        history rows (what an event adds to the profile) are ``[unit(raw), unit(raw -
        centre_)]``, and the profile is kept as its two unit halves, so a warm item scores
        the uncentred cosine and a cold one the centred cosine (both divided by sqrt 2)."""
        plain, centred = unit_rows(raw), self._unit_centred(raw)
        cold = np.asarray(cold, bool)[:, None]
        rows = np.hstack([np.where(cold, 0.0, plain), np.where(cold, centred, 0.0)])
        return rows, np.hstack([plain, centred])

    def _unit_centred(self, raw: np.ndarray) -> np.ndarray:
        """Unit rows of ``raw - centre_``; rows with no embedding (all zero) stay zero."""
        present = np.any(raw != 0, axis=1)
        return unit_rows(np.where(present[:, None], raw - self.centre_, 0.0))

    def _decay(self, seconds: np.ndarray) -> np.ndarray:
        seconds = np.asarray(seconds, np.float64)
        if self.half_life_days is None:
            return np.ones_like(seconds)
        return decay(seconds, self.half_life_days)

    # -- scoring ----------------------------------------------------------------------
    def own_profiles(self, users: np.ndarray) -> np.ndarray:
        """Unit affinity directions; zero rows for unknown employees or empty histories."""
        users = np.asarray(users, np.int64)
        profiles = np.zeros((len(users), self.item_vectors_.shape[1]))
        known = users >= 0
        profiles[known] = unit_rows(self.affinity_[users[known]])
        return profiles

    def profiles(self, users: np.ndarray) -> np.ndarray:
        """:meth:`own_profiles`, with the cold direction for the empty rows."""
        profiles = self.own_profiles(users)
        empty = ~np.any(profiles != 0, axis=1)
        profiles[empty] = self.cold_profile()
        return profiles

    def cold_profile(self) -> np.ndarray:
        """The direction of employees without a history of their own."""
        return unit_rows(self.cold_sum_[None, :])[0]

    def tiebreak_values(self) -> np.ndarray:
        """``tiebreak * popularity / max popularity`` of every item."""
        top = self._top_popularity()
        if top <= 0:
            return np.zeros(len(self.popularity_))
        return self.tiebreak * self.popularity_ / top

    def _top_popularity(self) -> float:
        """The largest popularity (0 for none), remembered until popularity changes
        (:meth:`_accumulate`, :meth:`_add_items`, :meth:`_set_state` forget it)."""
        top = self.__dict__.get("_top")
        if top is None:
            top = self.__dict__["_top"] = float(self.popularity_.max(initial=0.0))
        return top

    def _score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        cosine = self.profiles(users) @ self.item_vectors_[items].T
        return cosine + self.tiebreak_values()[items][None, :]

    # -- live catalogue ---------------------------------------------------------------
    def _add_users(self, count: int) -> None:
        self.affinity_ = np.vstack([self.affinity_, np.zeros((count, self.affinity_.shape[1]))])
        if self._split():
            self.sums_ = np.vstack([self.sums_, np.zeros((count, self.sums_.shape[1]))])
        self.user_time_ = np.concatenate([self.user_time_, np.full(count, -np.inf)])

    def _add_items(
        self, internal: np.ndarray, content_ids: list[str], features: FeatureMatrix | None
    ) -> None:
        rows = np.zeros((len(internal), len(self.feature_names_)))
        if features is not None:
            rows = rows_by_name(features, content_ids, self.feature_names_)
        if self.history_vectors_ is not None:  # added content is cold: the centred half
            vectors, history = self._split_rows(rows, np.ones(len(internal), bool))
            self.history_vectors_ = np.vstack([self.history_vectors_, history])
        else:
            vectors = self._unit_centred(rows)
        self.item_vectors_ = np.vstack([self.item_vectors_, vectors])
        self.popularity_ = np.concatenate([self.popularity_, np.zeros(len(internal))])
        self.__dict__.pop("_top", None)

    # -- persistence ------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        return {
            "feature_names": self.feature_names_,
            "item_vectors": self.item_vectors_,
            "affinity": self.affinity_,
            "user_time": self.user_time_,
            "popularity": self.popularity_,
            "cold_sum": self.cold_sum_,
            "centre": self.centre_,
        } | (
            {"history_vectors": self.history_vectors_, "sums": self.sums_}
            if self.history_vectors_ is not None
            else {}
        )

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.feature_names_ = arrays["feature_names"]
        self.item_vectors_ = arrays["item_vectors"]
        self.affinity_ = arrays["affinity"]
        self.user_time_ = arrays["user_time"]
        self.popularity_ = arrays["popularity"]
        self.__dict__.pop("_top", None)
        self.cold_sum_ = arrays["cold_sum"]
        # models saved before centring existed: no centre
        self.centre_ = arrays.get("centre", np.zeros(len(self.feature_names_)))
        self.history_vectors_ = arrays.get("history_vectors")
        if self.history_vectors_ is not None:
            self.sums_ = arrays["sums"]


def _halves_unit(matrix: np.ndarray) -> np.ndarray:
    """Each half of every row scaled to unit norm (zero halves stay zero)."""
    half = matrix.shape[1] // 2
    return np.hstack([unit_rows(matrix[:, :half]), unit_rows(matrix[:, half:])])


@register
class Affinity(ContentBased, RecommenderComponent):
    """The hybrid's content affinity: ``unit(profile_u) . e_i + tiebreak * popularity_i /
    max popularity`` (:class:`ContentBased`; the cold direction for employees without a
    history of their own), when the item features have ``feature_prefix`` columns."""

    name = "affinity"

    def left_out(self, dataset: Dataset) -> str | None:
        features = dataset.item_features
        if features is None or not any(n.startswith(self.feature_prefix) for n in features.names):
            return f"no item feature column starts with {self.feature_prefix!r}"
        return None

    # -- shapes -----------------------------------------------------------------------
    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        dot = np.einsum("ij,ij->i", self.profiles(users), self.item_vectors_[items])
        return dot + self.tiebreak_values()[items]

    def row(self, user: int, items: np.ndarray, as_of: float) -> np.ndarray:
        profile = self.profiles(np.asarray([user]))[0]
        return self.item_vectors_[items] @ profile + self.tiebreak_values()[items]

    def item_values(self, as_of: float) -> np.ndarray | None:
        return self.tiebreak_values()

    def row_terms(self, user: int, items: np.ndarray, as_of: float) -> DotRow | None:
        """``profile . e_i + tiebreak_i`` (:meth:`row`) as a dot row."""
        profile = unit_rows(self.affinity_[user : user + 1])[0] if user >= 0 else None
        if profile is None or not profile.any():  # no history of their own: the cold one
            profile = self.cold_profile()
        return DotRow(
            profile, np.ascontiguousarray(self.item_vectors_), bias=self._tiebreak_of(items)
        )

    def _tiebreak_of(self, items: np.ndarray) -> np.ndarray:
        """:meth:`tiebreak_values` of ``items`` only (the same values)."""
        top = self._top_popularity()
        if top <= 0:
            return np.zeros(len(items))
        return self.tiebreak * self.popularity_[items] / top

    def static_scores(
        self, users: np.ndarray, columns: np.ndarray | None, fold: Fold
    ) -> np.ndarray | None:
        block = fold.scaled_rows(self.item_vectors_)
        block = block if columns is None else block[columns]
        return self.own_profiles(users).astype(np.float32) @ block.T

    def live_scores(
        self, users: np.ndarray, columns: np.ndarray | None, as_of: float, fold: Fold
    ) -> np.ndarray | None:
        """The cold direction's affinity for employees without a profile of their own (it
        moves with everyone's events): one row, cached until the next event."""
        users = np.asarray(users, np.int64)
        if len(users) == 1 and users[0] >= 0 and self.affinity_[users[0]].any():
            return None  # one employee with a profile of their own (a feed)
        empty = np.ones(len(users), bool)
        known = users >= 0
        empty[known] = ~np.any(self.affinity_[users[known]] != 0, axis=1)
        if not empty.any():
            return None
        row = fold.live(
            "cold",
            lambda: fold.scaled_rows(self.item_vectors_) @ self.cold_profile().astype(np.float32),
        )
        out = np.zeros((len(users), len(row) if columns is None else len(columns)), np.float32)
        out[empty] = row if columns is None else row[columns]
        return out

    def static_sources(self) -> tuple[np.ndarray, ...]:
        return (self.item_vectors_,)

    # -- live state -------------------------------------------------------------------


@register
class GenreAffinity(Affinity):
    """A second affinity over other item columns (default the ``genre=`` flags, centred on
    the catalogue mean, no decay): the cosine of the employee's profile of those columns and
    the item's row, so content with no event is scored by the employee's genre taste beside
    the title-embedding affinity. Everything else as :class:`Affinity`."""

    name = "genre_affinity"

    def __init__(
        self,
        *,
        feature_prefix: str = "genre=",
        half_life_days: float | None = None,
        tiebreak: float = 1e-6,
        centre: bool | str = True,
    ) -> None:
        super().__init__(
            feature_prefix=feature_prefix,
            half_life_days=half_life_days,
            tiebreak=tiebreak,
            centre=centre,
        )
