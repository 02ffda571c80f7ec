"""Item-item components beside EASE: RP3beta and DLAE (trials of issue 18).

Both keep :class:`~recsys.models.ease.ItemItem`'s live history and scoring (the value of
(employee u, item i) is ``x_u . W[:, i]``, ``x_u`` the binary history); only the items x
items matrix ``W`` differs.

:class:`RP3Beta` (Paudel et al. 2017; Dacrema et al. 2019): with ``X`` the binary user x item
matrix, ``P_ui = (X / rowsum(X))^alpha`` (user -> item) and ``P_iu = (X^T / rowsum(X^T))^alpha``
(item -> user) element-wise, ``W = P_iu @ P_ui`` with column ``j`` divided by ``deg(j)^beta``
(``deg``: the item's number of users), a zero diagonal and only the ``top_k`` largest entries
of each row kept.

:class:`DLAE` (Steck 2020, "Autoencoders that don't overfit towards the identity"): with
``G = X^T X`` and ``L = diag(p / (1 - p) * diag(G)) + lam I``, ``W = (G + L)^-1 G`` (the
dropout emphasis replaces EASE's zero-diagonal constraint); ``zero_diagonal=True`` gives
EDLAE instead: ``P = (G + L)^-1``, ``W = I - P / diag(P)`` with a zero diagonal.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Self

import numpy as np
import scipy.sparse as sp

from recsys.dataset import Dataset
from recsys.models.component import FitContext, register
from recsys.models.ease import ItemItem


class _GraphItemItem(ItemItem):
    """:class:`ItemItem` whose matrix comes from :meth:`_weights`, no lambda search."""

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        matrix = dataset.matrix(binary=True)
        self.weights_ = self._weights(sp.csr_matrix(matrix))
        self.history_ = [set(map(int, row.indices)) for row in matrix]
        return self

    def _weights(self, matrix: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    def refit_settings(self) -> Self:
        return type(self)(**self.get_params(deep=False))

    def chosen(self) -> dict[str, float]:
        return {}

    def state(self) -> dict[str, np.ndarray]:
        counts = np.fromiter(map(len, self.history_), np.int64, count=len(self.history_))
        flat = np.fromiter((i for r in self.history_ for i in sorted(r)), np.int64)
        return {
            "weights": self.weights_,
            "history_indptr": np.r_[0, np.cumsum(counts)],
            "history_indices": flat,
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.weights_ = arrays["weights"]
        indptr, flat = arrays["history_indptr"], arrays["history_indices"].tolist()
        self.history_ = [set(flat[a:b]) for a, b in pairwise(indptr.tolist())]
        return self


@register
class RP3Beta(_GraphItemItem):
    """RP3beta item-item weights (see the module docstring)."""

    name = "rp3beta"

    def __init__(
        self, *, alpha: float = 1.0, beta: float = 0.3, top_k: int = 100, max_items: int = 5_000
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.top_k = top_k
        self.max_items = max_items

    def _weights(self, matrix: sp.csr_matrix) -> np.ndarray:
        return rp3beta_weights(matrix, self.alpha, self.beta, self.top_k)


@register
class DLAE(_GraphItemItem):
    """DLAE (or EDLAE with ``zero_diagonal``) item-item weights (see the module docstring)."""

    name = "dlae"

    def __init__(
        self,
        *,
        p: float = 0.33,
        lam: float = 10.0,
        zero_diagonal: bool = False,
        max_items: int = 5_000,
    ) -> None:
        self.p = p
        self.lam = lam
        self.zero_diagonal = zero_diagonal
        self.max_items = max_items

    def _weights(self, matrix: sp.csr_matrix) -> np.ndarray:
        return dlae_weights(matrix, self.p, float(self.lam or 0.0), self.zero_diagonal)


def rp3beta_weights(matrix: sp.spmatrix, alpha: float, beta: float, top_k: int) -> np.ndarray:
    """RP3beta's float32 items x items matrix of a binary user x item matrix."""
    x = sp.csr_matrix(matrix, dtype=np.float64)
    x.data[:] = 1.0
    user_degree = np.asarray(x.sum(axis=1)).ravel()
    item_degree = np.asarray(x.sum(axis=0)).ravel()
    p_ui = sp.diags(1.0 / np.maximum(user_degree, 1.0)) @ x
    p_iu = sp.diags(1.0 / np.maximum(item_degree, 1.0)) @ sp.csr_matrix(x.T)
    p_ui.data **= alpha
    p_iu.data **= alpha
    weights = np.asarray((p_iu @ p_ui).toarray())
    weights /= np.maximum(item_degree, 1.0)[None, :] ** beta
    weights[np.diag_indices_from(weights)] = 0.0
    if 0 < top_k < weights.shape[1]:
        drop = np.argpartition(-weights, top_k, axis=1)[:, top_k:]
        np.put_along_axis(weights, drop, 0.0, axis=1)
    return weights.astype(np.float32)


def dlae_weights(matrix: sp.spmatrix, p: float, lam: float, zero_diagonal: bool) -> np.ndarray:
    """DLAE's (or EDLAE's) float32 items x items matrix of a binary user x item matrix."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p: the dropout rate must be in [0, 1), got {p}")
    x = sp.csr_matrix(matrix, dtype=np.float64)
    x.data[:] = 1.0
    gram = np.asarray((x.T @ x).toarray())
    penalty = p / (1.0 - p) * np.diag(gram) + lam
    regularised = gram.copy()
    regularised[np.diag_indices_from(regularised)] += penalty
    if zero_diagonal:
        inverse = np.linalg.inv(regularised)
        weights = -inverse / np.diag(inverse)[None, :]
        weights[np.diag_indices_from(weights)] = 0.0
    else:
        weights = np.linalg.solve(regularised, gram)
    return weights.astype(np.float32)
