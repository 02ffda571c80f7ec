"""LightFM hybrid: identity plus employee-profile and content features; cold start from features."""

from __future__ import annotations

import dataclasses
from typing import Self

import numpy as np
import scipy.sparse as sp

from recsys import lightfm_adapter as lfm
from recsys.dataset import Dataset
from recsys.matrix import FeatureMatrix
from recsys.models.component import DotRow, FitContext, Fold, RecommenderComponent, register
from recsys.models.lightfm_cf import LightFMBase


class LightFMHybrid(LightFMBase):
    """LightFM with user and item features from the :class:`Dataset`.

    Feature rows are ``[identity | features]`` (identity columns when ``user_identity`` /
    ``item_identity``), L1-normalised as LightFM recommends; features are the
    ``dataset.user_features`` / ``dataset.item_features`` columns whose names start with
    ``user_feature_prefix`` / ``item_feature_prefix`` (``""``: all). Without feature matrices
    this is :class:`~recsys.models.lightfm_cf.LightFMCF`. Interaction weights are not used.

    New content (:meth:`add_items` with ``features``) is scored with no refit: its feature row
    (columns matched by name, missing ones zero, no identity column, L1-normalised) times the
    learned feature embeddings and biases. Content with no usable feature row gets the mean
    item representation and a zero bias, as in pure CF.

    New employees: :meth:`add_users` with ``features`` (or :meth:`set_user_features`)
    registers profile rows; employees unknown so far are added to the model with the
    representation of their profile (same recipe as new content), so ``recommend`` ranks for
    them from their profile. Unknown employees without
    a registered profile, and employees added by :meth:`observe`, get the mean representation
    of the employees seen in ``fit``. Employees seen in ``fit`` keep their learned rows.
    """

    name = "lightfm_hybrid"

    def __init__(
        self,
        *,
        no_components: int = 64,
        epochs: int = 30,
        learning_rate: float = 0.05,
        loss: str = "warp",
        item_alpha: float = 0.0,
        user_alpha: float = 0.0,
        random_state: int = 42,
        num_threads: int = 1,
        user_feature_prefix: str = "",
        item_feature_prefix: str = "",
        user_identity: bool = True,
        item_identity: bool = True,
    ) -> None:
        super().__init__(
            no_components=no_components,
            epochs=epochs,
            learning_rate=learning_rate,
            loss=loss,
            item_alpha=item_alpha,
            user_alpha=user_alpha,
            random_state=random_state,
            num_threads=num_threads,
        )
        self.user_feature_prefix = user_feature_prefix
        self.item_feature_prefix = item_feature_prefix
        self.user_identity = user_identity
        self.item_identity = item_identity

    # -- learning ---------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        user_names, user_values = _selected(dataset, "user", self.user_feature_prefix)
        item_names, item_values = _selected(dataset, "item", self.item_feature_prefix)
        n_users, n_items = dataset.shape
        user_rows = _with_identity(n_users, user_values, self.user_identity, "user")
        item_rows = _with_identity(n_items, item_values, self.item_identity, "item")
        arrays = self._train(dataset, user_rows, item_rows)
        user_vectors, user_bias = lfm.representations(
            user_rows, arrays.user_embeddings, arrays.user_biases
        )
        item_vectors, item_bias = lfm.representations(
            item_rows, arrays.item_embeddings, arrays.item_biases
        )
        self._set_representations(user_vectors, user_bias, item_vectors, item_bias)
        skip_users = n_users if self.user_identity else 0
        skip_items = n_items if self.item_identity else 0
        self.user_feature_names_ = np.asarray(user_names, dtype=np.str_)
        self.user_feature_embeddings_ = arrays.user_embeddings[skip_users:]
        self.user_feature_biases_ = arrays.user_biases[skip_users:]
        self.item_feature_names_ = np.asarray(item_names, dtype=np.str_)
        self.item_feature_embeddings_ = arrays.item_embeddings[skip_items:]
        self.item_feature_biases_ = arrays.item_biases[skip_items:]
        self.n_fit_users_ = n_users

    # -- cold start from features -----------------------------------------------------
    def set_user_features(self, features: FeatureMatrix) -> list[str]:
        """Register profile rows for employees not seen in ``fit``; returns those updated.

        Employees unknown so far are added (nothing seen yet); employees added after
        ``fit`` (by :meth:`observe` or an earlier call) get their profile representation.
        Employees from ``fit``, and rows with no known feature column, are left alone.
        """
        self._check_fitted()
        if not len(self.user_feature_names_):
            raise ValueError("this model was fitted without user features")
        ids = [str(e) for e in features.ids.external]
        vectors, bias, usable = _from_features(
            features,
            ids,
            self.user_feature_names_,
            self.user_feature_embeddings_,
            self.user_feature_biases_,
        )
        chosen = [
            j
            for j, e in enumerate(ids)
            if usable[j]
            and (e not in self.users_ or self.users_.to_internal([e])[0] >= self.n_fit_users_)
        ]
        new = [ids[j] for j in chosen if ids[j] not in self.users_]
        if new:
            self.users_ = self.users_.add(new)
            self.seen_.extend(set() for _ in new)
            self._add_users(len(new))
        rows = self.users_.to_internal([ids[j] for j in chosen])
        self.user_vectors_[rows] = vectors[chosen]
        self.user_bias_[rows] = bias[chosen]
        return [ids[j] for j in chosen]

    def _set_user_features(
        self, internal: np.ndarray, employee_ids: list[str], features: FeatureMatrix
    ) -> None:
        """Employees added after ``fit`` with a usable profile row get its representation."""
        if not len(self.user_feature_names_):
            return
        vectors, bias, usable = _from_features(
            features,
            employee_ids,
            self.user_feature_names_,
            self.user_feature_embeddings_,
            self.user_feature_biases_,
        )
        chosen = usable & (np.asarray(internal) >= self.n_fit_users_)
        rows = np.asarray(internal)[chosen]
        self.user_vectors_[rows] = vectors[chosen]
        self.user_bias_[rows] = bias[chosen]

    def profile_rows(
        self, employee_ids: list[str], features: FeatureMatrix
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(vectors, usable)`` of employees' profile representations (no state change)."""
        vectors, _, usable = _from_features(
            features,
            employee_ids,
            self.user_feature_names_,
            self.user_feature_embeddings_,
            self.user_feature_biases_,
        )
        return vectors, usable

    def _new_item_rows(
        self, content_ids: list[str], features: FeatureMatrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        vectors, bias = super()._new_item_rows(content_ids, features)
        if features is None or not len(self.item_feature_names_):
            return vectors, bias
        from_features, feature_bias, usable = _from_features(
            features,
            content_ids,
            self.item_feature_names_,
            self.item_feature_embeddings_,
            self.item_feature_biases_,
        )
        vectors[usable], bias[usable] = from_features[usable], feature_bias[usable]
        return vectors, bias

    # -- persistence ------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        return super()._state() | {
            "user_feature_names": self.user_feature_names_,
            "user_feature_embeddings": self.user_feature_embeddings_,
            "user_feature_biases": self.user_feature_biases_,
            "item_feature_names": self.item_feature_names_,
            "item_feature_embeddings": self.item_feature_embeddings_,
            "item_feature_biases": self.item_feature_biases_,
            "n_fit_users": np.asarray([self.n_fit_users_], np.int64),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        super()._set_state(arrays)
        self.user_feature_names_ = arrays["user_feature_names"]
        self.user_feature_embeddings_ = arrays["user_feature_embeddings"]
        self.user_feature_biases_ = arrays["user_feature_biases"]
        self.item_feature_names_ = arrays["item_feature_names"]
        self.item_feature_embeddings_ = arrays["item_feature_embeddings"]
        self.item_feature_biases_ = arrays["item_feature_biases"]
        self.n_fit_users_ = int(arrays["n_fit_users"][0])


def _selected(
    dataset: Dataset, side: str, prefix: str
) -> tuple[tuple[str, ...], np.ndarray | sp.spmatrix | None]:
    """Names and aligned rows of the ``side`` features starting with ``prefix`` (or none)."""
    features = dataset.user_features if side == "user" else dataset.item_features
    if features is None:
        return (), None
    features = features.select(prefix)
    if not features.names:
        return (), None
    if side == "user":
        return features.names, dataclasses.replace(
            dataset, user_features=features
        ).user_feature_rows()
    return features.names, dataclasses.replace(dataset, item_features=features).item_feature_rows()


def _with_identity(n: int, values, identity: bool, side: str) -> sp.csr_matrix:
    if not identity and values is None:
        raise ValueError(f"{side}_identity=False needs {side} features in the dataset")
    return lfm.feature_rows(n, values, identity=identity)


def _from_features(
    features: FeatureMatrix,
    ids: list[str],
    names: np.ndarray,
    embeddings: np.ndarray,
    biases: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Representations of ``ids`` from their feature rows (columns by name, no identity).

    Returns ``(vectors, bias, usable)``; ``usable`` is False where the row has no non-zero
    known feature (those rows are zero).
    """
    rows = features.ids.to_internal(ids, missing="ignore")
    position = {name: j for j, name in enumerate(features.names)}
    columns = np.asarray([position.get(str(n), -1) for n in names], np.int64)
    picked = np.zeros((len(ids), len(names)), np.float32)
    present, have = np.flatnonzero(rows >= 0), np.flatnonzero(columns >= 0)
    if len(present) and len(have):
        block = features.values[rows[present]]
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        picked[np.ix_(present, have)] = block[:, columns[have]]
    normalised = lfm.feature_rows(len(ids), picked, identity=False)
    usable = np.diff(normalised.indptr) > 0
    vectors, bias = lfm.representations(normalised, embeddings, biases)
    return vectors, bias, usable


@register
class Taste(LightFMHybrid, RecommenderComponent):
    """The hybrid's long-term taste: ``u . v + b_u + b_i`` of LightFM representations
    (:class:`LightFMHybrid`; cold employees the mean user, new content from its features)."""

    name = "taste"

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        super().fit_component(dataset, context)
        if context.reset_unseen:
            self._reset_unseen_items(dataset)
        return self

    def _reset_unseen_items(self, dataset: Dataset) -> None:
        """Items with no event in ``dataset`` get the representation new content gets live."""
        counts = dataset.item_event_counts()
        unseen = np.flatnonzero(counts == 0)
        if not len(unseen):
            return
        ids = [str(c) for c in dataset.items.external[unseen]]
        vectors, bias = self._new_item_rows(ids, dataset.item_features)
        self.item_vectors_[unseen] = vectors
        self.item_bias_[unseen] = bias

    # -- shapes -----------------------------------------------------------------------
    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        vectors, bias = self.user_factors(users)
        dot = np.einsum("ij,ij->i", vectors, self.item_vectors_[items], dtype=np.float64)
        return dot + bias + self.item_bias_[items]

    def item_values(self, as_of: float) -> np.ndarray | None:
        return self.item_bias_

    def row_terms(self, user: int, items: np.ndarray, as_of: float) -> DotRow | None:
        """``u . v_i + b_u + b_i`` (:meth:`pairs`) as a dot row."""
        known = user >= 0  # float32 as user_factors gives them
        vector = (self.user_vectors_[user] if known else self.cold_vector_).astype(np.float32)
        bias = np.float32(self.user_bias_[user] if known else self.cold_bias_)
        return DotRow(
            vector.astype(np.float64),
            np.ascontiguousarray(self.item_vectors_),
            offset=float(bias),
            bias=self.item_bias_[items].astype(np.float64),
        )

    def static_scores(
        self, users: np.ndarray, columns: np.ndarray | None, fold: Fold
    ) -> np.ndarray | None:
        vectors, bias = self.user_factors(users)
        block = fold.scaled_rows(self.item_vectors_)
        weights = fold.float_weights
        if columns is not None:
            block, weights = block[columns], weights[columns]
        scores = vectors @ block.T
        scores += bias[:, None] * weights[None, :]
        return scores

    def static_sources(self) -> tuple[np.ndarray, ...]:
        return (self.item_vectors_,)

    def employee_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(every employee's vector, the cold employee's vector)."""
        return self.user_vectors_, self.cold_vector_

    def profile_vectors(
        self, internal: np.ndarray, employee_ids: list[str], features: FeatureMatrix
    ) -> tuple[np.ndarray, np.ndarray]:
        """(internal ids, vectors) of the employees added after fit that ``features`` gives
        a usable profile row (what :meth:`set_profiles` uses)."""
        internal = np.asarray(internal, np.int64)
        if not len(self.user_feature_names_):
            return internal[:0], np.zeros((0, len(self.cold_vector_)), np.float32)
        vectors, usable = self.profile_rows(employee_ids, features)
        chosen = usable & (internal >= self.n_fit_users_)
        return internal[chosen], vectors[chosen]

    # -- live state -------------------------------------------------------------------
