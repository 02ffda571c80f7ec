"""Item-item components of the hybrid: EASE, and a feature-based item prior.

:class:`ItemItem` is EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): the closed-form
ridge regression of every item's column of the binary user x item matrix on the other
columns, ``B = I - P / diag(P)`` with ``P = (X^T X + lambda I)^-1`` and a zero diagonal. The
value of (employee u, item i) is ``x_u . B[:, i]``, where ``x_u`` is the employee's history
(kept live: :meth:`ItemItem._observe` adds events, no refit). ``lambda`` is chosen from
:data:`EASE_LAMBDAS` on a seeded per-employee holdout of the training pairs (recall@10 of
the held-out items; never on anything outside the training data) unless given; the hybrid
chooses it once per fit, on the data its second stage is fitted on, and reuses it. EASE holds
an items x items matrix and its fit inverts one, so it runs only up to ``max_items`` items
(default 5,000: 100 MB of float32; fit times in docs/recommenders.md); above that the hybrid
leaves the component out and logs why. Content added later scores 0 (it is outside the
matrix, which is not copied to grow).

:class:`ItemPrior` predicts an item's log interaction count from its features (ridge
regression over every item feature column: genres, year, text embeddings, ...) so content
with no engagement yet, e.g. a cold item added with :meth:`add_items`, gets an informed prior.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from itertools import chain, pairwise
from typing import Self

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import Ridge

from recsys.dataset import Dataset
from recsys.matrix import dense, rows_by_name
from recsys.models.component import FitContext, Fold, HistoryRow, ScoreComponent, register

logger = logging.getLogger(__name__)

#: Grid of EASE's ridge strength (chosen on a holdout of the training pairs).
EASE_LAMBDAS = (25.0, 75.0, 200.0, 500.0, 1500.0)
HOLDOUT_FRACTION = 0.2
HOLDOUT_USERS = 2_000
SEARCH_ITEMS = 1_500
K = 10


@register
class ItemItem(ScoreComponent):
    """EASE item-item weights plus each employee's live history (see the module docstring).

    ``lam``: the ridge strength (None: chosen on a holdout of the training pairs, then kept
    for the hybrid's final fit, see :meth:`refit_settings`); ``max_items``: above this many
    items the component is left out (its matrix is items x items).
    """

    name = "ease"

    def __init__(self, *, lam: float | None = None, max_items: int = 5_000) -> None:
        self.lam = lam
        self.max_items = max_items

    def left_out(self, dataset: Dataset) -> str | None:
        if not len(dataset.interactions):
            return "no events"
        if len(dataset.items) > self.max_items:
            return f"{len(dataset.items)} items > max_items={self.max_items}"
        return None

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        matrix = dataset.matrix(binary=True)
        if self.lam is None:
            self.lam_, self.validation_ = _choose_lambda(matrix, context.random_state)
        else:
            self.lam_, self.validation_ = float(self.lam), {}
        self.weights_ = ease_weights(matrix, self.lam_)
        self.history_ = [set(map(int, row.indices)) for row in matrix]
        return self

    def refit_settings(self) -> Self:
        """The final fit keeps the lambda chosen on the second stage's data."""
        return type(self)(lam=self.lam_, max_items=self.max_items)

    def chosen(self) -> dict[str, float]:
        return {"lam_": float(self.lam_)}

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        return self.pair_scores(users, items)

    def row_terms(self, user: int, items: np.ndarray, as_of: float) -> HistoryRow | None:
        """``x_u . B[:, i]`` (:meth:`pair_scores`) as a history row, in the same order."""
        return HistoryRow(self._histories(np.asarray([user], np.int64))[0], self.weights_)

    def static_scores(
        self, users: np.ndarray, columns: np.ndarray | None, fold: Fold
    ) -> np.ndarray | None:
        items = np.arange(len(fold.weights)) if columns is None else columns
        return self.scores(users, items) * fold.float_weights[items][None, :]

    def static_sources(self) -> tuple[np.ndarray, ...]:
        return (self.weights_,)

    def observe_events(self, users, items, times, weights) -> None:
        n_fit = self.weights_.shape[0]
        for user, item in zip(np.asarray(users).tolist(), np.asarray(items).tolist(), strict=True):
            if item < n_fit:  # content added after fit has no EASE row: it adds nothing
                self.history_[user].add(item)

    def history_rows(self, users: np.ndarray) -> sp.csr_matrix:
        """Binary (len(users), n_items) rows of the employees' histories (-1: empty)."""
        indices, counts = self._histories(users)
        indptr = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        data = np.ones(len(indices), np.float32)
        return sp.csr_matrix((data, indices, indptr), shape=(len(counts), self.weights_.shape[0]))

    def _histories(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The employees' history items, concatenated, and how many each has (-1: none)."""
        empty: set[int] = set()
        history = self.history_
        rows = [history[u] if u >= 0 else empty for u in np.asarray(users).tolist()]
        counts = np.fromiter(map(len, rows), np.int64, count=len(rows))
        indices = np.fromiter(chain.from_iterable(rows), np.int64, count=int(counts.sum()))
        return indices, counts

    def scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``x_u . B[:, i]`` for users x items, float32 (0 for content added after fit).

        One sparse-dense product of the employees' history rows with ``weights_`` (it reads
        only the rows their histories touch, no copy), then the candidate columns of that
        small result; ``weights_`` itself is never copied.
        """
        items = np.asarray(items, np.int64)
        n_fit = self.weights_.shape[0]
        out = np.zeros((len(users), len(items)), np.float32)
        inside = np.flatnonzero(items < n_fit)
        rows = self.history_rows(users)
        if not len(inside) or not rows.nnz:
            return out
        product = np.asarray(rows @ self.weights_, np.float32)
        if len(inside) == n_fit and np.array_equal(items[inside], np.arange(n_fit)):
            out[:, inside] = product
        else:
            out[:, inside] = product[:, items[inside]]
        return out

    def pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``x_u . B[:, i]`` per (users[j], items[j]) pair."""
        items = np.asarray(items, np.int64)
        indices, counts = self._histories(users)
        pair = np.repeat(np.arange(len(users)), counts)
        targets = np.repeat(items, counts)
        inside = targets < self.weights_.shape[0]
        values = np.zeros(len(targets), np.float64)
        values[inside] = self.weights_[indices[inside], targets[inside]]
        return np.bincount(pair, values, minlength=len(users))

    def grow_users(self, count: int) -> None:
        self.history_.extend(set() for _ in range(count))

    def grow_items(self, internal, content_ids, features, times) -> None:
        """New content stays outside ``weights_`` (scored 0; no copy of the matrix)."""

    def state(self) -> dict[str, np.ndarray]:
        counts = np.fromiter(map(len, self.history_), np.int64, count=len(self.history_))
        flat = np.fromiter((i for r in self.history_ for i in sorted(r)), np.int64)
        return {
            "weights": self.weights_,
            "lam": np.asarray([self.lam_]),
            "history_indptr": np.r_[0, np.cumsum(counts)],
            "history_indices": flat,
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.weights_ = arrays["weights"]
        self.lam_ = float(arrays["lam"][0])
        self.validation_ = {}
        indptr, flat = arrays["history_indptr"], arrays["history_indices"].tolist()
        self.history_ = [set(flat[a:b]) for a, b in pairwise(indptr.tolist())]
        return self


def ease_weights(matrix: sp.spmatrix, lam: float, dtype: type = np.float64) -> np.ndarray:
    """EASE's item-item matrix (float32, zero diagonal) of a binary user x item matrix."""
    gram: np.ndarray = np.asarray((matrix.T @ matrix).toarray(), dtype)
    gram[np.diag_indices_from(gram)] += lam
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)[None, :]
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32)


def _choose_lambda(matrix: sp.csr_matrix, seed: int) -> tuple[float, dict[str, float]]:
    """The grid value with the best recall@10 on a per-user holdout of the pairs.

    One eigendecomposition of the holdout's Gram matrix ``G = Q diag(e) Q^T`` serves the
    whole grid: ``P = Q diag(1 / (e + lambda)) Q^T`` and ``x B = x - (x P) / diag(P)``, so
    each lambda costs one product for the validation users instead of an inversion. Above
    :data:`SEARCH_ITEMS` items the search runs on the most engaged ones (an approximation of
    the full problem; the chosen lambda is then used on every item).
    """
    rng = np.random.default_rng(seed)
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    if matrix.shape[1] > SEARCH_ITEMS:  # the search runs on the most engaged items
        top = np.sort(np.argsort(-counts, kind="stable")[:SEARCH_ITEMS])
        matrix = sp.csr_matrix(matrix[:, top])
    coo = matrix.tocoo()
    held = rng.random(coo.nnz) < HOLDOUT_FRACTION
    rest = sp.csr_matrix((coo.data[~held], (coo.row[~held], coo.col[~held])), shape=matrix.shape)
    truth = sp.csr_matrix((coo.data[held], (coo.row[held], coo.col[held])), shape=matrix.shape)
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    if len(users) > HOLDOUT_USERS:
        users = np.sort(rng.choice(users, HOLDOUT_USERS, replace=False))
    if not len(users):
        return EASE_LAMBDAS[len(EASE_LAMBDAS) // 2], {}
    gram = np.asarray((rest.T @ rest).toarray(), np.float32)
    values, vectors = np.linalg.eigh(gram)
    history = rest[users].toarray().astype(np.float32)
    projected = history @ vectors
    relevant = np.minimum(np.diff(truth[users].indptr), K)
    is_relevant = truth[users].toarray() > 0
    results: dict[str, float] = {}
    for lam in EASE_LAMBDAS:
        scores = eigen_scores(history, projected, values, vectors, lam)
        scores[history > 0] = -np.inf
        top = np.argpartition(-scores, min(K, scores.shape[1] - 1), axis=1)[:, :K]
        hits = np.take_along_axis(is_relevant, top, axis=1).sum(axis=1)
        results[repr(lam)] = float(np.mean(hits / relevant))
    best = max(EASE_LAMBDAS, key=lambda lam: (results[repr(lam)], -lam))
    logger.info("EASE lambda %s chosen on a holdout of the training pairs: %s", best, results)
    return best, results


def eigen_scores(
    history: np.ndarray, projected: np.ndarray, values: np.ndarray, vectors: np.ndarray, lam: float
) -> np.ndarray:
    """``history @ ease_weights(...)`` from the Gram matrix's eigendecomposition
    (``projected = history @ vectors``)."""
    inverse = (1.0 / np.maximum(values + lam, 1e-12)).astype(np.float32)
    diagonal = (vectors**2) @ inverse
    return history - ((projected * inverse) @ vectors.T) / diagonal[None, :]


@register
class ItemPrior(ScoreComponent):
    """Ridge regression of ``log1p(interactions)`` per item on its feature row (item-only)."""

    name = "item_prior"

    def __init__(self, *, alpha: float = 10.0) -> None:
        self.alpha = alpha

    def left_out(self, dataset: Dataset) -> str | None:
        if dataset.item_features is None or not dataset.item_features.names:
            return "no item features"
        return None

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        rows = dataset.item_feature_rows()
        if rows is None or dataset.item_features is None:
            raise ValueError("ItemPrior needs item features")
        features = dense(rows)
        counts = dataset.item_event_counts()
        target = np.log1p(counts.astype(np.float64))
        # items without events may be new rather than unpopular: learn from engaged ones
        engaged = counts > 0 if (counts > 0).sum() >= 2 else np.ones(len(counts), bool)
        ridge = Ridge(alpha=self.alpha).fit(features[engaged], target[engaged])
        self.feature_names_ = np.asarray(dataset.item_features.names, dtype=np.str_)
        self.coef_ = ridge.coef_.astype(np.float64)
        self.intercept_ = float(ridge.intercept_)
        self.values_ = features @ self.coef_ + self.intercept_
        return self

    def is_item_only(self) -> bool:
        return True

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        return np.asarray(self.values_, np.float64)[items]

    def item_values(self, as_of: float) -> np.ndarray | None:
        return np.asarray(self.values_, np.float64)

    def grow_items(self, internal, content_ids, features, times) -> None:
        extra = np.full(len(internal), self.intercept_)
        if features is not None:
            rows = rows_by_name(features, list(content_ids), self.feature_names_)
            known = features.ids.to_internal(list(content_ids), missing="ignore") >= 0
            extra[known] = rows[known] @ self.coef_ + self.intercept_
        self.values_ = np.concatenate([self.values_, extra])

    def state(self) -> dict[str, np.ndarray]:
        return {
            "feature_names": self.feature_names_,
            "coef": self.coef_,
            "intercept": np.asarray([self.intercept_]),
            "values": self.values_,
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.feature_names_ = arrays["feature_names"]
        self.coef_ = arrays["coef"]
        self.intercept_ = float(arrays["intercept"][0])
        self.values_ = arrays["values"]
        return self


@register
class TreePrior(ItemPrior):
    """:class:`ItemPrior` by gradient-boosted regression trees (scikit-learn's
    ``GradientBoostingRegressor``, squared error) over the item feature columns whose names
    start with one of the comma-separated ``prefixes`` (default MovieLens' genres and year),
    so the prior can be non-linear in them. The fitted trees are kept as flat arrays
    (:func:`tree_arrays`: children, split feature, threshold, leaf value times the learning
    rate) and evaluated with numpy (:func:`tree_predict`), so they save in ``arrays.npz``
    without pickle."""

    name = "tree_prior"

    def __init__(
        self,
        *,
        prefixes: str = "genre=,year",
        trees: int = 300,
        depth: int = 5,
        learning_rate: float = 0.05,
        random_state: int = 42,
    ) -> None:
        self.prefixes = prefixes
        self.trees = trees
        self.depth = depth
        self.learning_rate = learning_rate
        self.random_state = random_state

    def left_out(self, dataset: Dataset) -> str | None:
        features = dataset.item_features
        if features is None or not any(map(self._selected, features.names)):
            return f"no item feature column starts with one of {self.prefixes!r}"
        return None

    def _selected(self, name: str) -> bool:
        return any(name.startswith(p) for p in self.prefixes.split(",") if p)

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        from sklearn.ensemble import GradientBoostingRegressor

        rows = dataset.item_feature_rows()
        if rows is None or dataset.item_features is None:
            raise ValueError("TreePrior needs item features")
        names = [n for n in dataset.item_features.names if self._selected(n)]
        self.feature_names_ = np.asarray(names, dtype=np.str_)
        columns = [dataset.item_features.names.index(n) for n in names]
        features = dense(rows)[:, columns]
        counts = dataset.item_event_counts()
        target = np.log1p(counts.astype(np.float64))
        engaged = counts > 0 if (counts > 0).sum() >= 2 else np.ones(len(counts), bool)
        model = GradientBoostingRegressor(
            n_estimators=self.trees,
            max_depth=self.depth,
            learning_rate=self.learning_rate,
            random_state=self.random_state,
        ).fit(features[engaged], target[engaged])
        self.trees_ = tree_arrays(model)
        self.trees_["value"] *= self.learning_rate  # the state alone predicts
        self.intercept_ = float(target[engaged].mean())
        self.values_ = self._predict(features)
        return self

    def _predict(self, features: np.ndarray) -> np.ndarray:
        return self.intercept_ + tree_predict(self.trees_, features)

    def grow_items(self, internal, content_ids, features, times) -> None:
        extra = np.full(len(internal), self.intercept_)
        if features is not None:
            rows = rows_by_name(features, list(content_ids), self.feature_names_)
            known = features.ids.to_internal(list(content_ids), missing="ignore") >= 0
            extra[known] = self._predict(rows[known])
        self.values_ = np.concatenate([self.values_, extra])

    def state(self) -> dict[str, np.ndarray]:
        return {
            "feature_names": self.feature_names_,
            "intercept": np.asarray([self.intercept_]),
            "values": self.values_,
            **{f"tree_{k}": v for k, v in self.trees_.items()},
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.feature_names_ = arrays["feature_names"]
        self.intercept_ = float(arrays["intercept"][0])
        self.values_ = arrays["values"]
        self.trees_ = {k[5:]: v for k, v in arrays.items() if k.startswith("tree_")}
        return self


def tree_arrays(model: object) -> dict[str, np.ndarray]:
    """The regression trees of a fitted ``GradientBoostingRegressor`` as flat arrays: node
    ``left``/``right`` children (global node numbers, -1 at leaves), split ``feature`` and
    ``threshold``, leaf ``value``, and each tree's ``root``."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("left", "right", "feature", "threshold")}
    values, roots, offset = [], [], 0
    for estimator in np.ravel(model.estimators_):  # type: ignore[attr-defined]
        tree = estimator.tree_
        leaf = tree.children_left < 0
        for key, children in (("left", tree.children_left), ("right", tree.children_right)):
            parts[key].append(np.where(leaf, -1, children + offset))
        parts["feature"].append(np.where(leaf, 0, tree.feature))
        parts["threshold"].append(tree.threshold)
        values.append(tree.value[:, 0, 0])
        roots.append(offset)
        offset += tree.node_count
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["value"] = np.concatenate(values).astype(np.float64)
    out["root"] = np.asarray(roots, np.int64)
    return out


def tree_predict(trees: Mapping[str, np.ndarray], features: np.ndarray) -> np.ndarray:
    """The sum over the trees of each row's leaf value (sklearn's rule: left when
    ``x[feature] <= threshold``)."""
    features = np.asarray(features, np.float64)
    nodes = np.broadcast_to(trees["root"], (len(features), len(trees["root"]))).copy()
    rows = np.arange(len(features))[:, None]
    while True:
        inner = trees["left"][nodes] >= 0
        if not inner.any():
            break
        x = features[rows, trees["feature"][nodes]]
        step = np.where(x <= trees["threshold"][nodes], trees["left"][nodes], trees["right"][nodes])
        nodes = np.where(inner, step, nodes)
    return trees["value"][nodes].sum(axis=1)
