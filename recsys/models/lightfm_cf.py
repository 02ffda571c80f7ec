"""LightFM collaborative filtering (WARP on interactions only), scored with plain numpy."""

from __future__ import annotations

import numpy as np

from recsys import lightfm_adapter as lfm
from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.matrix import FeatureMatrix


class LightFMBase(Recommender):
    """Shared state and scoring of the LightFM models: latent rows and biases, no lightfm.

    Learned state: ``user_vectors_``/``user_bias_`` (one row per employee) and
    ``item_vectors_``/``item_bias_`` (one per content item), i.e. LightFM's representations
    ``features @ embeddings`` and ``features @ biases``. A score is
    ``user_vector . item_vector + user_bias + item_bias`` (one matrix product), exactly
    LightFM's ``predict``.

    Cold employees (unknown ids, and employees added later by :meth:`observe`) get the mean
    representation and bias of the employees seen in ``fit`` (``cold_vector_``/
    ``cold_bias_``); for WARP that is close to a popularity ranking. :meth:`observe` does not
    retrain: it only updates what is excluded as seen. New content without usable features
    gets the mean item representation and a zero bias, so it can still be recommended.
    """

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
    ) -> None:
        self.no_components = no_components
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.loss = loss
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.random_state = random_state
        self.num_threads = num_threads

    def _train(self, dataset: Dataset, user_rows=None, item_rows=None) -> lfm.LightFMArrays:
        return lfm.fit_lightfm(
            dataset.matrix(binary=True),
            user_rows,
            item_rows,
            loss=self.loss,
            no_components=self.no_components,
            learning_rate=self.learning_rate,
            item_alpha=self.item_alpha,
            user_alpha=self.user_alpha,
            epochs=self.epochs,
            random_state=self.random_state,
            num_threads=self.num_threads,
        )

    def _set_representations(self, user_vectors, user_bias, item_vectors, item_bias) -> None:
        self.user_vectors_, self.user_bias_ = user_vectors, user_bias
        self.item_vectors_, self.item_bias_ = item_vectors, item_bias
        self.cold_vector_ = user_vectors.mean(axis=0, dtype=np.float64).astype(np.float32)
        self.cold_bias_ = np.float32(user_bias.mean(dtype=np.float64))
        self.new_item_vector_ = item_vectors.mean(axis=0, dtype=np.float64).astype(np.float32)

    def user_factors(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float32 (vectors, biases) of ``users`` (internal ids; -1: the cold employee)."""
        users = np.asarray(users, np.int64)
        known = users >= 0
        vectors = np.broadcast_to(self.cold_vector_, (len(users), len(self.cold_vector_))).copy()
        bias = np.full(len(users), self.cold_bias_, np.float32)
        vectors[known] = self.user_vectors_[users[known]]
        bias[known] = self.user_bias_[users[known]]
        return vectors, bias

    def _score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        vectors, bias = self.user_factors(users)
        return lfm.scores(vectors, bias, self.item_vectors_[items], self.item_bias_[items])

    def _add_users(self, count: int) -> None:
        cold = np.broadcast_to(self.cold_vector_, (count, len(self.cold_vector_)))
        self.user_vectors_ = np.vstack([self.user_vectors_, cold]).astype(np.float32)
        self.user_bias_ = np.concatenate([self.user_bias_, np.full(count, self.cold_bias_)])

    def _add_items(
        self, internal: np.ndarray, content_ids: list[str], features: FeatureMatrix | None
    ) -> None:
        vectors, bias = self._new_item_rows(content_ids, features)
        self.item_vectors_ = np.vstack([self.item_vectors_, vectors]).astype(np.float32)
        self.item_bias_ = np.concatenate([self.item_bias_, bias]).astype(np.float32)

    def _new_item_rows(
        self, content_ids: list[str], features: FeatureMatrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean item representation and zero bias (no features in pure CF)."""
        count = len(content_ids)
        vectors = np.broadcast_to(self.new_item_vector_, (count, len(self.new_item_vector_)))
        return np.array(vectors, np.float32), np.zeros(count, np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "user_vectors": self.user_vectors_,
            "user_bias": self.user_bias_,
            "item_vectors": self.item_vectors_,
            "item_bias": self.item_bias_,
            "cold_vector": self.cold_vector_,
            "cold_bias": np.asarray([self.cold_bias_], np.float32),
            "new_item_vector": self.new_item_vector_,
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_vectors_ = arrays["user_vectors"]
        self.user_bias_ = arrays["user_bias"]
        self.item_vectors_ = arrays["item_vectors"]
        self.item_bias_ = arrays["item_bias"]
        self.cold_vector_ = arrays["cold_vector"]
        self.cold_bias_ = np.float32(arrays["cold_bias"][0])
        self.new_item_vector_ = arrays["new_item_vector"]


class LightFMCF(LightFMBase):
    """LightFM on interactions only (identity features): classic matrix factorisation.

    Trains on the binary interaction matrix (interaction weights are not used) with
    ``loss="warp"`` by default; ``num_threads=1`` keeps training deterministic for a given
    ``random_state``. See :class:`LightFMBase` for scoring and cold start.
    """

    name = "lightfm_cf"

    def _fit(self, dataset: Dataset) -> None:
        arrays = self._train(dataset)
        # identity features: the per-feature arrays are the representations themselves
        self._set_representations(
            arrays.user_embeddings, arrays.user_biases, arrays.item_embeddings, arrays.item_biases
        )
