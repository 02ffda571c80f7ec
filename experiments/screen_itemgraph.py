"""Screen item-item matrices alone on tune_hybrid's warm validation split (issue 18).

Each matrix W scores ``x_u . W`` (seen items removed, every fit item a candidate); prints
nDCG@10 per setting. Validation only: the benchmark's train split, per-user 80/20 (seed 7).

The matrices: EASE (``recsys.models.ease.ease_weights``); RP3beta (Paudel et al. 2017): with
``X`` the binary user x item matrix, ``P_ui = (X / rowsum(X))^alpha`` and ``P_iu = (X^T /
rowsum(X^T))^alpha`` element-wise, ``W = P_iu @ P_ui`` with column ``j`` divided by
``deg(j)^beta``, a zero diagonal and the ``top_k`` largest entries of each row kept; DLAE
(Steck 2020): ``G = X^T X``, ``L = diag(p / (1 - p) * diag(G)) + lam I``, ``W = (G + L)^-1 G``,
or EDLAE (``zero_diagonal``): ``P = (G + L)^-1``, ``W = I - P / diag(P)``, zero diagonal.
The hybrid components built on them (``rp3beta``, ``dlae``) were written for issue 18's
trials (commit 80878e9, ``recsys/models/itemgraph.py``) and removed after them: none helped
on validation (figures in docs/recommenders.md).

    python experiments/screen_itemgraph.py [--wide]   # --wide: the second, wider grid
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.metrics import mean_over_users, ranking_metrics_per_user  # noqa: E402
from recsys.models.ease import ease_weights  # noqa: E402
from training.evaluation.protocols import movielens_100k, stratified_split  # noqa: E402

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))


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


def main(argv: list[str] | None = None) -> None:
    train, _ = movielens_100k(SHARED / "movielens-100k")
    fit_rows, valid = stratified_split(train, 0.8, 7, filter_by="user")
    valid = valid[valid["item_id"].isin(set(fit_rows["item_id"]))]
    users = {u: j for j, u in enumerate(np.sort(fit_rows["user_id"].unique()))}
    items = {i: j for j, i in enumerate(np.sort(fit_rows["item_id"].unique()))}
    x = sp.csr_matrix(
        (
            np.ones(len(fit_rows)),
            (fit_rows["user_id"].map(users).to_numpy(), fit_rows["item_id"].map(items).to_numpy()),
        ),
        shape=(len(users), len(items)),
    )
    x.data[:] = 1.0
    vu = np.sort(valid["user_id"].unique())
    rows = x[[users[u] for u in vu]]
    truth = valid.groupby("user_id")["item_id"].apply(lambda s: [items[i] for i in s])
    relevant = [np.asarray(truth.loc[u], np.int64) for u in vu]

    def ndcg(weights: np.ndarray) -> float:
        scores = np.asarray(rows @ weights, np.float64)
        scores[rows.toarray() > 0] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
        return round(mean_over_users(ranking_metrics_per_user(top, relevant, 10)["ndcg"]), 4)

    grid: list[tuple[str, object]] = [("ease lam 500", lambda: ease_weights(x, 500.0))]
    wide = "--wide" in (sys.argv[1:] if argv is None else argv)
    for lam in (1500.0, 2000.0, 3000.0) if wide else (200.0, 500.0, 1000.0):
        for p in (0.1, 0.25, 0.33, 0.5):
            for zero in (False, True):
                grid.append((f"dlae p {p} lam {lam} zero {zero}", (p, lam, zero)))
    for alpha in (0.6, 0.8) if wide else (0.5, 0.8, 1.0):
        for beta in (0.6, 0.7, 0.8) if wide else (0.2, 0.3, 0.5):
            for k in (200, 500) if wide else (50, 200):
                grid.append((f"rp3 a {alpha} b {beta} k {k}", (alpha, beta, k)))
    for name, spec in grid:
        if callable(spec):
            w = spec()
        elif name.startswith("dlae"):
            w = dlae_weights(x, *spec)
        else:
            w = rp3beta_weights(x, *spec)
        print(json.dumps({"variant": name, "ndcg@10": ndcg(w)}), flush=True)


if __name__ == "__main__":
    main()
