"""The one module that imports ``lightfm``: fit there, score here with plain numpy.

:func:`fit_lightfm` trains a ``lightfm.LightFM`` model and hands back its learned arrays
(:class:`LightFMArrays`), nothing else: models save those arrays (no pickle) and score with
:func:`representations` (``features @ embeddings`` and ``features @ biases``), so neither
scoring nor loading needs ``lightfm``. ``lightfm`` itself is imported lazily inside
:func:`fit_lightfm`.

Feature matrices follow LightFM's convention (``lightfm.data.Dataset``): one identity column
per user / item first (when ``identity=True``), then the given features, and every row
L1-normalised (:func:`feature_rows`). The LightFM score of a pair is
``user_repr . item_repr + user_bias + item_bias``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recsys.progress import Progress, resolve

LOSSES = ("warp", "bpr", "logistic", "warp-kos")


@dataclass(frozen=True)
class LightFMArrays:
    """What LightFM learned, per feature column (identity columns first when used)."""

    user_embeddings: np.ndarray  # (n_user_features, no_components) float32
    user_biases: np.ndarray  # (n_user_features,) float32
    item_embeddings: np.ndarray  # (n_item_features, no_components) float32
    item_biases: np.ndarray  # (n_item_features,) float32


def feature_rows(
    n_rows: int,
    features: np.ndarray | sp.spmatrix | None = None,
    *,
    identity: bool = True,
    normalise: bool = True,
) -> sp.csr_matrix:
    """``[identity | features]`` as float32 CSR, rows L1-normalised as LightFM recommends.

    Without features this is the identity (LightFM's default). All-zero rows stay zero.
    """
    parts: list[sp.spmatrix] = []
    if identity:
        parts.append(sp.identity(n_rows, dtype=np.float32, format="csr"))
    if features is not None:
        extra = sp.csr_matrix(features, dtype=np.float32)
        if extra.shape[0] != n_rows:
            raise ValueError(f"{extra.shape[0]} feature rows for {n_rows} rows")
        if not np.isfinite(extra.data).all():
            raise ValueError("features must be finite (no NaN or inf)")
        parts.append(extra)
    if not parts:
        raise ValueError("feature_rows needs identity=True or features")
    matrix = sp.hstack(parts, format="csr", dtype=np.float32)
    matrix.eliminate_zeros()
    if normalise:
        matrix = normalize(matrix, norm="l1", axis=1, copy=False)
    return sp.csr_matrix(matrix, dtype=np.float32)


def fit_lightfm(
    interactions: sp.spmatrix,
    user_features: sp.spmatrix | None = None,
    item_features: sp.spmatrix | None = None,
    *,
    loss: str = "warp",
    no_components: int = 64,
    learning_rate: float = 0.05,
    item_alpha: float = 0.0,
    user_alpha: float = 0.0,
    epochs: int = 30,
    random_state: int = 42,
    num_threads: int = 1,
    progress: Progress | None = None,
) -> LightFMArrays:
    """Train LightFM on a users x items matrix (non-zero = positive) and return its arrays.

    ``user_features`` / ``item_features`` default to identity matrices (pure collaborative
    filtering); build them with :func:`feature_rows`. ``num_threads=1`` makes training
    deterministic for a given ``random_state``. Epochs run one at a time (the same
    arithmetic as one ``fit``), each counted in the "lightfm epochs" stage of ``progress``
    (default :func:`recsys.progress.current`).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if no_components < 1 or epochs < 0 or num_threads < 1:
        raise ValueError("no_components and num_threads must be >= 1, epochs >= 0")
    from lightfm import LightFM  # the only lightfm import in recsys

    matrix = sp.coo_matrix(interactions, dtype=np.float32)
    n_users, n_items = matrix.shape
    binary = sp.coo_matrix(
        (np.ones(matrix.nnz, np.float32), (matrix.row, matrix.col)), shape=matrix.shape
    )
    binary.sum_duplicates()
    binary.data[:] = 1.0
    users = user_features if user_features is not None else feature_rows(n_users)
    items = item_features if item_features is not None else feature_rows(n_items)
    model = LightFM(
        no_components=no_components,
        loss=loss,
        learning_rate=learning_rate,
        item_alpha=item_alpha,
        user_alpha=user_alpha,
        random_state=np.random.RandomState(random_state),
    )
    users = sp.csr_matrix(users, dtype=np.float32)
    items = sp.csr_matrix(items, dtype=np.float32)
    with resolve(progress).stage("lightfm epochs", epochs, "epochs") as stage:
        for _ in range(epochs):
            model.fit_partial(
                binary, user_features=users, item_features=items, num_threads=num_threads
            )
            stage.advance()
    if model.item_embeddings is None:  # no epochs: the initial state, as fit(epochs=0) gives
        model.fit_partial(binary, user_features=users, item_features=items, epochs=0)
    return LightFMArrays(
        user_embeddings=np.array(model.user_embeddings, dtype=np.float32),
        user_biases=np.array(model.user_biases, dtype=np.float32),
        item_embeddings=np.array(model.item_embeddings, dtype=np.float32),
        item_biases=np.array(model.item_biases, dtype=np.float32),
    )


def representations(
    features: np.ndarray | sp.spmatrix, embeddings: np.ndarray, biases: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(features @ embeddings, features @ biases)`` as float32: LightFM's latent rows."""
    if sp.issparse(features):
        features = sp.csr_matrix(features, dtype=np.float32)
    else:
        features = np.asarray(features, dtype=np.float32)
    if features.shape[1] != embeddings.shape[0]:
        raise ValueError(f"{features.shape[1]} features for {embeddings.shape[0]} embeddings")
    vectors = np.asarray(features @ embeddings, dtype=np.float32)
    bias = np.asarray(features @ biases, dtype=np.float32).ravel()
    return vectors, bias


def scores(
    user_vectors: np.ndarray,
    user_bias: np.ndarray,
    item_vectors: np.ndarray,
    item_bias: np.ndarray,
) -> np.ndarray:
    """LightFM's prediction for every pair: one matrix product plus the two biases."""
    product = np.asarray(user_vectors, np.float64) @ np.asarray(item_vectors, np.float64).T
    return product + np.asarray(item_bias, np.float64)[None, :] + user_bias[:, None]
