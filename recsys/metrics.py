"""Ranking metrics for top-k recommendation lists, per-user ROC AUC and a deterministic top-k.

Inputs
    ``recommendations``: int array ``(n_users, width)``, one ranked list per row (best first);
    ``-1`` pads short lists. A list must not repeat an item (``ValueError``).
    ``relevant``: the relevant items of each row, either a sequence of ``n_users`` int arrays or
    a sparse matrix ``(n_users, n_items)`` (anything with ``tocsr()``, e.g. SciPy CSR); its
    stored non-zero entries are the relevant items and their values are graded relevance (used
    by :func:`ndcg_at_k` with ``score_type`` ``"raw"`` / ``"exp"`` only).
    ``k``: the cut-off; ``None`` means the width of ``recommendations``. Lists narrower than
    ``k`` are treated as padded with ``-1``.

Per-user functions return float64 arrays of length ``n_users`` with ``NaN`` for users without
relevant items (undefined, left out of means); a user with relevant items and no hit scores 0.
:func:`mean_over_users` averages the defined values; :func:`ranking_metrics` returns all means.

Reference definitions (MS Recommenders, ``recommenders/evaluation/python_evaluation.py`` at
commit b02c95e of 2025-09-29, release 1.2.1; read, not copied). With ``relevancy_method=None``
(lists given) and every user with relevant items also having a list, their means equal ours:

- ``precision_at_k``: hits in top k / k (k, not the list length: short lists cap it below 1).
- ``recall_at_k``: hits in top k / number of relevant items.
- ``ndcg_at_k`` (``score_type="binary"`` default, ``discfun_type="loge"``): DCG = sum over hits
  of 1 / log(1 + rank); IDCG = the same sum over ranks 1..min(k, n_relevant). The log base
  cancels in the ratio, so our log2 gives identical values.
- ``map_at_k`` (since 1.2.0, PR #2004, commit ec77025): sum over hits of precision at the hit's
  rank, divided by min(k, n_relevant). Their ``map`` (and ``map_at_k`` up to 1.1.1) divides by
  n_relevant instead: ``denominator="n_relevant"`` here. The MovieLens benchmark's "MAP" column
  (``examples/06_benchmarks/benchmark_utils.py``) is their ``map`` with k=10.
- Users: a user with relevant items but no hit counts 0 in every metric. Their precision,
  recall and MAP average over users present in both truth and predictions (a user with no
  predictions is dropped); their nDCG averages over every user in the truth (a user with no
  predictions counts 0). Here a user with an all ``-1`` list counts 0 in every metric.

Not in MS Recommenders' python evaluation: :func:`hit_rate_at_k`, :func:`mrr` (their private
``_get_reciprocal_rank`` is the MAP numerator, not MRR). Their ``auc`` is one pooled
``roc_auc_score`` over all (user, item) rows; :func:`auc` here is per user.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

PAD = -1
ScoreType = Literal["binary", "raw", "exp"]
MapDenominator = Literal["min_k_relevant", "n_relevant"]


@dataclass(frozen=True)
class _Relevant:
    """Relevant items as sorted unique keys ``row * n_keys + item`` with their gains."""

    keys: np.ndarray  # int64, sorted, unique
    gains: np.ndarray  # float64, aligned with keys
    counts: np.ndarray  # int64 per row
    n_keys: int  # item-id bound used in keys

    @property
    def rows(self) -> np.ndarray:
        return self.keys // self.n_keys

    @property
    def items(self) -> np.ndarray:
        return self.keys % self.n_keys

    def dense(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean ``shape`` mask of relevant (row, item); items beyond ``shape[1]`` dropped."""
        mask = np.zeros(shape, dtype=bool)
        items = self.items
        keep = items < shape[1]
        mask[self.rows[keep], items[keep]] = True
        return mask


def _as_relevant(relevant: Sequence[np.ndarray] | Any, n_rows: int) -> _Relevant:
    """Normalise a list of arrays or a sparse matrix into :class:`_Relevant`."""
    if hasattr(relevant, "tocsr"):
        matrix = relevant.tocsr(copy=True)
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        items = np.asarray(matrix.indices, dtype=np.int64)
        gains = np.asarray(matrix.data, dtype=np.float64)
        given_rows = matrix.shape[0]
    else:
        arrays = [np.asarray(a, dtype=np.int64).ravel() for a in relevant]
        lengths = np.array([a.size for a in arrays], dtype=np.int64)
        rows = np.repeat(np.arange(len(arrays)), lengths)
        items = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
        gains = np.ones(items.size)
        given_rows = len(arrays)
    if given_rows != n_rows:
        raise ValueError(f"relevant has {given_rows} rows for {n_rows} users")
    if items.size and items.min() < 0:
        raise ValueError("relevant item ids must be >= 0")
    n_keys = int(items.max()) + 1 if items.size else 1
    keys, first = np.unique(rows.astype(np.int64) * n_keys + items, return_index=True)
    counts = np.bincount(keys // n_keys, minlength=n_rows).astype(np.int64)
    return _Relevant(keys, gains[first], counts, n_keys)


@dataclass(frozen=True)
class _Hits:
    """Which top-k positions hit, with the hit's gain, per user."""

    hits: np.ndarray  # bool (n_users, k)
    gains: np.ndarray  # float64 (n_users, k), 0 where no hit
    relevant: _Relevant
    k: int

    @property
    def n_relevant(self) -> np.ndarray:
        return self.relevant.counts

    def undefined_as_nan(self, values: npt.ArrayLike) -> np.ndarray:
        return np.where(self.n_relevant > 0, values, np.nan)


def _cut(recommendations: np.ndarray, k: int | None) -> tuple[np.ndarray, int]:
    """The first ``k`` columns, padded with ``-1`` to width ``k``; checks ids and repeats."""
    recs = np.asarray(recommendations)
    if recs.ndim != 2 or not np.issubdtype(recs.dtype, np.integer):
        raise ValueError("recommendations must be a 2-D integer array (n_users, width)")
    k = recs.shape[1] if k is None else int(k)
    if k < 1:
        raise ValueError("k must be >= 1")
    recs = recs[:, :k].astype(np.int64, copy=False)
    if recs.shape[1] < k:
        recs = np.pad(recs, ((0, 0), (0, k - recs.shape[1])), constant_values=PAD)
    if recs.size and recs.min() < PAD:
        raise ValueError("recommended item ids must be >= 0, or -1 for padding")
    ordered = np.sort(recs, axis=1)
    if np.any((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != PAD)):
        raise ValueError("a recommendation list repeats an item")
    return recs, k


def _hits(recommendations: np.ndarray, relevant: Any, k: int | None) -> _Hits:
    recs, k = _cut(recommendations, k)
    rel = _as_relevant(relevant, recs.shape[0])
    known = (recs >= 0) & (recs < rel.n_keys)
    keys = np.arange(recs.shape[0], dtype=np.int64)[:, None] * rel.n_keys + recs
    if rel.keys.size == 0:
        return _Hits(np.zeros(recs.shape, dtype=bool), np.zeros(recs.shape), rel, k)
    pos = np.minimum(np.searchsorted(rel.keys, keys), rel.keys.size - 1)
    hits = known & (rel.keys[pos] == keys)
    return _Hits(hits, np.where(hits, rel.gains[pos], 0.0), rel, k)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def hit_rate_at_k(recommendations: np.ndarray, relevant: Any, k: int | None = None) -> np.ndarray:
    """1 if any of the top ``k`` is relevant, else 0 (per user; NaN without relevant items)."""
    h = _hits(recommendations, relevant, k)
    return h.undefined_as_nan(h.hits.any(axis=1).astype(np.float64))


def precision_at_k(recommendations: np.ndarray, relevant: Any, k: int | None = None) -> np.ndarray:
    """Hits in the top ``k`` divided by ``k`` (MS Recommenders ``precision_at_k``)."""
    h = _hits(recommendations, relevant, k)
    return h.undefined_as_nan(h.hits.sum(axis=1) / h.k)


def recall_at_k(recommendations: np.ndarray, relevant: Any, k: int | None = None) -> np.ndarray:
    """Hits in the top ``k`` divided by the number of relevant items (MS ``recall_at_k``)."""
    h = _hits(recommendations, relevant, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return h.undefined_as_nan(h.hits.sum(axis=1) / h.n_relevant)


def _ideal_gains(rel: _Relevant, n_rows: int, k: int, score_type: ScoreType) -> np.ndarray:
    """``(n_rows, k)`` gains of each row's best ``k`` relevant items, descending."""
    if score_type == "binary":
        return (np.arange(k)[None, :] < rel.counts[:, None]).astype(np.float64)
    gains = _transform_gains(rel.gains, score_type)
    rows = rel.rows
    order = np.lexsort((-gains, rows))
    starts = np.concatenate(([0], np.cumsum(rel.counts)[:-1]))
    position = np.arange(order.size) - starts[rows[order]]
    keep = position < k
    ideal = np.zeros((n_rows, k))
    ideal[rows[order][keep], position[keep]] = gains[order][keep]
    return ideal


def _transform_gains(gains: np.ndarray, score_type: ScoreType) -> np.ndarray:
    if score_type == "binary":
        return (gains != 0).astype(np.float64)
    if score_type == "raw":
        return gains
    if score_type == "exp":
        return np.exp2(gains) - 1.0
    raise ValueError("score_type must be one of 'binary', 'raw', 'exp'")


def _ndcg(h: _Hits, score_type: ScoreType) -> np.ndarray:
    discount = _discounts(h.k)
    gains = _transform_gains(h.gains, score_type) * h.hits
    dcg = gains @ discount
    idcg = _ideal_gains(h.relevant, h.hits.shape[0], h.k, score_type) @ discount
    with np.errstate(invalid="ignore", divide="ignore"):
        return h.undefined_as_nan(np.where(idcg > 0, dcg / idcg, 0.0))


def ndcg_at_k(
    recommendations: np.ndarray,
    relevant: Any,
    k: int | None = None,
    *,
    score_type: ScoreType = "binary",
) -> np.ndarray:
    """Normalised DCG at ``k`` with discount 1/log2(1 + rank) (MS ``ndcg_at_k``).

    ``score_type`` as in MS Recommenders: ``"binary"`` (default) gain 1 per hit; ``"raw"`` the
    stored relevance value; ``"exp"`` 2**value - 1. IDCG uses the user's ``min(k, n_relevant)``
    best gains. ``"raw"`` / ``"exp"`` need a sparse ``relevant`` (lists carry no grades).
    """
    if score_type != "binary" and not hasattr(relevant, "tocsr"):
        raise ValueError("graded nDCG needs relevant as a sparse matrix of relevance values")
    return _ndcg(_hits(recommendations, relevant, k), score_type)


def _reciprocal_rank(h: _Hits) -> np.ndarray:
    first = np.argmax(h.hits, axis=1)
    rr = np.where(h.hits.any(axis=1), 1.0 / (first + 1), 0.0)
    return h.undefined_as_nan(rr)


def mrr(recommendations: np.ndarray, relevant: Any, k: int | None = None) -> np.ndarray:
    """Reciprocal rank of the first relevant item within the top ``k``, 0 if none there.

    The mean over users is MRR@k. With ``k=None`` the whole given list counts: pass the full
    ranking (``top_k(scores, n_items)``) for the uncut MRR, or use :func:`mrr_full`, which gives
    the same values from scores without sorting.
    """
    return _reciprocal_rank(_hits(recommendations, relevant, k))


def _average_precision(h: _Hits, denominator: MapDenominator) -> np.ndarray:
    ranks = np.arange(1, h.k + 1)
    precision_at_hits = np.cumsum(h.hits, axis=1) / ranks * h.hits
    if denominator == "min_k_relevant":
        norm = np.minimum(h.n_relevant, h.k)
    elif denominator == "n_relevant":
        norm = h.n_relevant
    else:
        raise ValueError("denominator must be 'min_k_relevant' or 'n_relevant'")
    with np.errstate(invalid="ignore", divide="ignore"):
        return h.undefined_as_nan(precision_at_hits.sum(axis=1) / norm)


def map_at_k(
    recommendations: np.ndarray,
    relevant: Any,
    k: int | None = None,
    *,
    denominator: MapDenominator = "min_k_relevant",
) -> np.ndarray:
    """Average precision at ``k`` per user; its mean is MAP@k.

    Sum over hit ranks r <= k of (hits in top r) / r, divided by ``min(k, n_relevant)``
    (``"min_k_relevant"``: MS Recommenders >= 1.2.0 ``map_at_k``, Spark ``meanAveragePrecisionAt``)
    or by ``n_relevant`` (``"n_relevant"``: MS ``map``, their benchmark's "MAP", and their
    ``map_at_k`` up to 1.1.1).
    """
    return _average_precision(_hits(recommendations, relevant, k), denominator)


def mean_over_users(values: np.ndarray) -> float:
    """Mean of the defined (non-NaN) per-user values; NaN when none is defined."""
    values = np.asarray(values, dtype=np.float64)
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")


def ranking_metrics_per_user(
    recommendations: np.ndarray, relevant: Any, k: int | None = None
) -> dict[str, np.ndarray]:
    """All list metrics at once (one hit computation): name -> per-user values."""
    h = _hits(recommendations, relevant, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = h.undefined_as_nan(h.hits.sum(axis=1) / h.n_relevant)
    return {
        "hit_rate": h.undefined_as_nan(h.hits.any(axis=1).astype(np.float64)),
        "precision": h.undefined_as_nan(h.hits.sum(axis=1) / h.k),
        "recall": recall,
        "ndcg": _ndcg(h, "binary"),
        "map": _average_precision(h, "min_k_relevant"),
        "map_n_relevant": _average_precision(h, "n_relevant"),
        "mrr": _reciprocal_rank(h),
    }


def ranking_metrics(
    recommendations: np.ndarray, relevant: Any, k: int | None = None
) -> dict[str, float]:
    """Means over users with relevant items of :func:`ranking_metrics_per_user`."""
    per_user = ranking_metrics_per_user(recommendations, relevant, k)
    return {name: mean_over_users(values) for name, values in per_user.items()}


def _prepared_scores(
    scores: np.ndarray, exclude_mask: np.ndarray | None, copy: bool = True
) -> np.ndarray:
    """2-D scores with excluded entries at -inf; NaN left after exclusion is an error.

    A float64 copy, or with ``copy=False`` a writeable 2-D float32/float64 array itself.
    """
    usable = (
        not copy
        and isinstance(scores, np.ndarray)
        and scores.ndim == 2
        and scores.dtype in (np.float32, np.float64)
        and scores.flags.writeable
    )
    s = scores if usable else np.array(scores, dtype=np.float64, ndmin=2, copy=True)
    if exclude_mask is not None:
        exclude = np.asarray(exclude_mask, dtype=bool).reshape(s.shape)
        s[exclude] = -np.inf
    if np.isnan(s).any():
        raise ValueError("scores contain NaN outside the excluded entries")
    return s


def top_k(
    scores: np.ndarray, k: int, exclude_mask: np.ndarray | None = None, *, copy: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best items per row: ``(indices, scores)``, best first.

    ``scores`` is 1-D (one row) or 2-D ``(n_users, n_items)``; results have the same number of
    dimensions with ``k`` columns. Ties go to the lower item index. Excluded (``exclude_mask``
    True) and ``-inf`` items are never returned: missing places hold index ``-1`` and score
    ``-inf`` (also when ``k`` exceeds the number of items). NaN not excluded raises.
    Uses ``argpartition`` and sorts only the selected ``k``; rows whose k-th value is tied with
    unselected items are re-selected with a stable sort to keep the tie-break exact.
    ``copy=False`` lets a writeable 2-D float32/float64 ``scores`` be used (and overwritten)
    in place, which saves a float64 copy of a large batch.
    """
    one_row = np.ndim(scores) == 1
    if k < 1:
        raise ValueError("k must be >= 1")
    if one_row and exclude_mask is None:
        return _top_k_row(np.asarray(scores, dtype=np.float64), k)
    s = _prepared_scores(scores, exclude_mask, copy)
    n_rows, n_items = s.shape
    kk = min(k, n_items)
    if kk == 0:
        chosen = np.zeros((n_rows, 0), dtype=np.int64)
    elif kk < n_items:
        chosen = _select(s, kk)
    else:
        chosen = np.broadcast_to(np.arange(n_items), (n_rows, n_items)).copy()
    values = np.take_along_axis(s, chosen, axis=1)
    order = np.lexsort((chosen, -values), axis=1)
    chosen = np.take_along_axis(chosen, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    indices = np.full((n_rows, k), PAD, dtype=np.int64)
    best = np.full((n_rows, k), -np.inf)
    found = values > -np.inf
    indices[:, :kk] = np.where(found, chosen, PAD)
    best[:, :kk] = np.where(found, values, -np.inf)
    return (indices[0], best[0]) if one_row else (indices, best)


def _top_k_row(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` of one row without an exclusion mask (a feed): the same result with
    fewer array passes (no copy, no 2-D bookkeeping)."""
    if np.isnan(s).any():
        raise ValueError("scores contain NaN outside the excluded entries")
    kk = min(k, len(s))
    if kk < len(s):
        chosen = np.argpartition(-s, kk - 1)[:kk]
        kth = s[chosen].min()
        if kth > -np.inf and np.count_nonzero(s >= kth) > kk:  # ties cut: lowest index wins
            chosen = np.argsort(-s, kind="stable")[:kk]
    else:
        chosen = np.arange(len(s))
    values = s[chosen]
    order = np.lexsort((chosen, -values))
    chosen, values = chosen[order], values[order]
    found = int(np.count_nonzero(values > -np.inf))  # a prefix: -inf sorts last
    indices = np.full(k, PAD, dtype=np.int64)
    best = np.full(k, -np.inf)
    indices[:found] = chosen[:found]
    best[:found] = values[:found]
    return indices, best


def _select(s: np.ndarray, kk: int) -> np.ndarray:
    """Indices of each row's ``kk`` largest, ties at the boundary to the lowest indices."""
    chosen = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
    kth = np.take_along_axis(s, chosen, axis=1).min(axis=1)
    above = (s > kth[:, None]).sum(axis=1)
    tied = (s == kth[:, None]).sum(axis=1)
    ambiguous = np.flatnonzero((above + tied > kk) & (kth > -np.inf))
    if ambiguous.size:
        chosen[ambiguous] = np.argsort(-s[ambiguous], axis=1, kind="stable")[:, :kk]
    return chosen


def mrr_full(
    scores: np.ndarray, relevant: Any, exclude_mask: np.ndarray | None = None
) -> np.ndarray:
    """Reciprocal rank of the first relevant item in the full ranking of ``scores``.

    Ranking and tie-break as :func:`top_k` (higher score first, then lower index; excluded and
    ``-inf`` items are not ranked). 0 when every relevant item is excluded or ``-inf``; NaN for
    users without relevant items. Equals ``mrr(top_k(scores, n_items)[0], relevant)``.
    """
    s = _prepared_scores(scores, exclude_mask)
    rel = _as_relevant(relevant, s.shape[0])
    mask = rel.dense(s.shape)
    rel_scores = np.where(mask, s, -np.inf)
    best = rel_scores.max(axis=1, initial=-np.inf)
    first = np.argmax(mask & (s == best[:, None]), axis=1)
    before = (s > best[:, None]).sum(axis=1)
    tied_before = ((s == best[:, None]) & (np.arange(s.shape[1]) < first[:, None])).sum(axis=1)
    rr = np.where(best > -np.inf, 1.0 / (1 + before + tied_before), 0.0)
    return np.where(rel.counts > 0, rr, np.nan)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Row-wise 1-based ranks, ties averaged; NaN entries sort last (ranks meaningless)."""
    n_rows, n = values.shape
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    new = np.ones((n_rows, n), dtype=bool)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    position = np.broadcast_to(np.arange(n), (n_rows, n))
    first = np.maximum.accumulate(np.where(new, position, 0), axis=1)
    ends = np.ones((n_rows, n), dtype=bool)
    ends[:, :-1] = new[:, 1:]
    last = np.minimum.accumulate(np.where(ends, position, n)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((n_rows, n))
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=1)
    return ranks


def auc(scores: np.ndarray, relevant: Any, exclude_mask: np.ndarray | None = None) -> np.ndarray:
    """Per-user ROC AUC of ``scores``: relevant items against all other non-excluded items.

    AUC = (sum of positives' ranks - P(P+1)/2) / (P * N) with ranks over the user's positives
    and negatives and ties at their average rank (ties count 1/2; equals sklearn's
    ``roc_auc_score`` per row). Excluded items are neither positive nor negative. NaN (skipped
    by :func:`mean_over_users`) for users with no positive or no negative; ``-inf`` scores are
    ranked last, ties among them averaged.
    """
    s = np.array(scores, dtype=np.float64, ndmin=2, copy=True)
    rel = _as_relevant(relevant, s.shape[0])
    include = np.ones(s.shape, dtype=bool)
    if exclude_mask is not None:
        include = ~np.asarray(exclude_mask, dtype=bool).reshape(s.shape)
    if np.isnan(s[include]).any():
        raise ValueError("scores contain NaN outside the excluded entries")
    positive = rel.dense(s.shape) & include
    ranks = _average_ranks(np.where(include, s, np.nan))
    n_pos = positive.sum(axis=1)
    n_neg = include.sum(axis=1) - n_pos
    rank_sum = np.where(positive, ranks, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), value, np.nan)
