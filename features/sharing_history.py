"""Sharing history features: what each advocate viewed, clicked, shared ... up to ``as_of``.

Only advocates who did not opt out are profiled: opted-out advocates have no row, and asking
for one raises :class:`OptedOutError` (the opt-out policy and its helpers
live in :mod:`features.builder`, shared with :mod:`features.audience` and
:mod:`features.org_network`).

Columns (``FeatureMatrix.names``; ``<event>`` is a contract event type, ``active`` is every
event but ``impression``, which the system does rather than the advocate)
- ``log_count:<event>``, ``log_count:active``: ``log1p`` of the number of events.
- ``days_since:<event>``, ``days_since:active``: days from the last such event to ``as_of``,
  capped at ``max_days`` (never = ``max_days``).
- ``log_count:<event>:type=<content type>`` for the events in ``by_type_events`` (default view,
  click, share), over the content types learned in ``fit`` plus ``type=__other__``.
- ``log_count:share:network=<network>``: shares per contract network.
- ``log_distinct_content``: ``log1p`` of the number of items with an active event.
- ``click_per_view``, ``share_per_view``: clicks and shares over ``views + 1``.
- ``log_count:last_<R>d``, ``log_count:prev_<P>d``, ``trend:log_ratio``: active events in the
  last ``R`` days and the ``P`` days before, and the log of their rate ratio, smoothed with
  ``trend_prior`` pseudo-events spread evenly over both windows (no activity -> 0).
- ``affinity:<embedding column>`` and ``affinity_mass``, only when content embeddings are given:
  the L2-normalised mean of the embeddings of the content an advocate had events with,
  weighted by ``event_weights[event type] * 0.5 ** (age_days / half_life_days)``, and
  ``log1p`` of the total weight of the events used (a confidence). No such event -> zeros.

The content embeddings come from another builder, as a :class:`~recsys.matrix.FeatureMatrix`
whose ids are content ids: pass them to the constructor (``embeddings=``) or to
``transform(..., embeddings=)``, which wins. Events on content without an embedding are left
out of the affinity only. Rows of the embedding matrix are used as given (normalise them first
if their scale should not matter).

Everything is vectorised (``np.bincount``, ``ufunc.at``, one sparse product), so 5M events of
100k advocates take seconds, not minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.builder import (
    OTHER,
    advocate_index,
    check_fitted,
    lookup,
    profiled_rows,
    vocabulary,
)
from features.data.contract import EVENT_TYPES, NETWORKS
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.times import DAY, decay

logger = logging.getLogger(__name__)

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 2.0,
    "like": 3.0,
    "follow": 3.0,
    "rate": 2.0,
    "bookmark": 4.0,
    "comment": 4.0,
    "share": 8.0,
}
ACTIVE = tuple(e for e in EVENT_TYPES if e != "impression")
Block = tuple[np.ndarray, list[str]]


class SharingHistory:
    """Counts, recency, per-type/per-network counts, activity trend and topic affinity.

    Parameters
    ----------
    embeddings:
        Content embeddings (rows = content ids) for the affinity vector; optional, see module.
    half_life_days:
        Half-life of an event's weight in the affinity vector.
    event_weights:
        Weight per event type in the affinity vector (missing types weigh 0);
        default :data:`DEFAULT_EVENT_WEIGHTS` (shares highest; impressions, dismissals 0).
    by_type_events:
        Event types counted per content type.
    max_content_types:
        Size of the content-type vocabulary learned in ``fit``.
    recent_days, previous_days, trend_prior:
        Windows and smoothing of the activity trend.
    max_days:
        Cap of the ``days_since:*`` columns.
    """

    def __init__(
        self,
        *,
        embeddings: FeatureMatrix | None = None,
        half_life_days: float = 30.0,
        event_weights: Mapping[str, float] | None = None,
        by_type_events: Sequence[str] = ("view", "click", "share"),
        max_content_types: int = 20,
        recent_days: float = 30.0,
        previous_days: float = 60.0,
        trend_prior: float = 2.0,
        max_days: float = 365.0,
    ) -> None:
        self.embeddings = embeddings
        self.half_life_days = half_life_days
        self.event_weights = event_weights
        self.by_type_events = by_type_events
        self.max_content_types = max_content_types
        self.recent_days = recent_days
        self.previous_days = previous_days
        self.trend_prior = trend_prior
        self.max_days = max_days

    def fit(self, snapshot: Snapshot) -> SharingHistory:
        """Check the parameters and learn the content-type vocabulary."""
        weights = dict(DEFAULT_EVENT_WEIGHTS if self.event_weights is None else self.event_weights)
        unknown = sorted(set(weights) - set(EVENT_TYPES)) + sorted(
            set(self.by_type_events) - set(EVENT_TYPES)
        )
        if unknown:
            raise ValueError(f"unknown event type(s) {unknown}; known: {list(EVENT_TYPES)}")
        if self.half_life_days <= 0 or self.recent_days <= 0 or self.previous_days <= 0:
            raise ValueError("half_life_days, recent_days and previous_days must be > 0")
        self.weights_ = np.array([weights.get(e, 0.0) for e in EVENT_TYPES], dtype=np.float64)
        self.content_types_ = vocabulary(
            snapshot.content["content_type"], limit=self.max_content_types
        )
        return self

    def transform(
        self,
        snapshot: Snapshot,
        ids: Sequence[str] | None = None,
        *,
        embeddings: FeatureMatrix | None = None,
    ) -> FeatureMatrix:
        """History rows for ``ids`` (default: every advocate who did not opt out)."""
        check_fitted(self, "content_types_")
        advocates = profiled_rows(snapshot, ids)
        index = advocate_index(advocates)
        n = len(index)
        events = _load_events(snapshot, index)
        types = _content_types(snapshot.content, events.uniques, self.content_types_)
        blocks = [
            _counts_and_recency(events, n, self.max_days),
            _by_content_type(events, n, types, self.content_types_, self.by_type_events),
            _by_network(events, n),
            _breadth_and_rates(events, n),
            _trend(events, n, self.recent_days, self.previous_days, self.trend_prior),
        ]
        embeddings = embeddings if embeddings is not None else self.embeddings
        if embeddings is not None:
            blocks.append(_affinity(events, n, embeddings, self.weights_, self.half_life_days))
        values = np.hstack([b[0] for b in blocks]).astype(np.float32, copy=False)
        names = tuple(name for b in blocks for name in b[1])
        logger.info(
            "sharing history: %d advocates, %d events, %d columns", n, events.size, len(names)
        )
        return FeatureMatrix(values, names, index)


class _Events:
    """Interactions of the wanted advocates as arrays: row, event code, age, content code.

    Events after ``as_of`` (an uncut snapshot), of other advocates, of event types outside the
    contract or without a content id are left out.
    """

    def __init__(self, frame: pd.DataFrame, index: pd.Index, as_of: pd.Timestamp) -> None:
        stamps = pd.to_datetime(frame["timestamp"], utc=True)
        age = (as_of - stamps).dt.total_seconds().to_numpy(dtype=np.float64) / DAY
        row = lookup(frame["employee_id"], index)
        kind = lookup(frame["event_type"], pd.Index(EVENT_TYPES))
        content, uniques = pd.factorize(frame["content_id"])
        keep = (row >= 0) & (kind >= 0) & (age >= 0) & (content >= 0)
        self.row, self.kind, self.age = row[keep], kind[keep], age[keep]
        self.content = np.asarray(content, dtype=np.int64)[keep]
        self.uniques = np.asarray(uniques, dtype=object).astype(str).astype(object)
        self.network = lookup(frame["network"], pd.Index(NETWORKS))[keep]

    @property
    def size(self) -> int:
        return len(self.row)

    def active(self) -> np.ndarray:
        return self.kind != EVENT_TYPES.index("impression")


def _load_events(snapshot: Snapshot, index: IdMap) -> _Events:
    return _Events(snapshot.interactions, pd.Index(index.external), snapshot.as_of)


def _content_types(content: pd.DataFrame, uniques: np.ndarray, vocab: list[str]) -> np.ndarray:
    """Per distinct content id of the events: its type's vocabulary index (other = len)."""
    known = pd.Index(content["content_id"].astype(str))
    type_codes = pd.Categorical(content["content_type"], categories=vocab).codes
    type_codes = np.where(type_codes < 0, len(vocab), type_codes)
    positions = known.get_indexer(uniques) if len(uniques) else np.zeros(0, dtype=np.int64)
    return np.where(positions >= 0, type_codes[np.clip(positions, 0, None)], len(vocab))


def _counts(rows: np.ndarray, codes: np.ndarray, n: int, k: int) -> np.ndarray:
    """An ``n x k`` count table of (row, code) pairs."""
    return np.bincount(rows * k + codes, minlength=n * k).reshape(n, k).astype(np.float64)


def _counts_and_recency(events: _Events, n: int, max_days: float) -> Block:
    k = len(EVENT_TYPES)
    counts = _counts(events.row, events.kind, n, k)
    last = np.full(n * k, max_days)
    np.minimum.at(last, events.row * k + events.kind, np.clip(events.age, 0.0, None))
    last = last.reshape(n, k)
    active = events.active()
    any_count = np.bincount(events.row[active], minlength=n).astype(np.float64)
    any_last = np.full(n, max_days)
    np.minimum.at(any_last, events.row[active], np.clip(events.age[active], 0.0, None))
    values = np.column_stack([np.log1p(counts), np.log1p(any_count), last, any_last])
    names = [f"log_count:{e}" for e in (*EVENT_TYPES, "active")]
    names += [f"days_since:{e}" for e in (*EVENT_TYPES, "active")]
    return values, names


def _by_content_type(
    events: _Events, n: int, types: np.ndarray, vocab: list[str], wanted: Sequence[str]
) -> Block:
    labels = [*vocab, OTHER]
    event_type = types[events.content] if events.size else np.zeros(0, dtype=np.int64)
    blocks, names = [], []
    for event in wanted:
        mine = events.kind == EVENT_TYPES.index(event)
        blocks.append(np.log1p(_counts(events.row[mine], event_type[mine], n, len(labels))))
        names += [f"log_count:{event}:type={label}" for label in labels]
    return np.hstack(blocks) if blocks else np.zeros((n, 0)), names


def _by_network(events: _Events, n: int) -> Block:
    shared = (events.kind == EVENT_TYPES.index("share")) & (events.network >= 0)
    counts = _counts(events.row[shared], events.network[shared], n, len(NETWORKS))
    return np.log1p(counts), [f"log_count:share:network={net}" for net in NETWORKS]


def _breadth_and_rates(events: _Events, n: int) -> Block:
    active = events.active()
    pairs = np.unique(events.row[active] * max(len(events.uniques), 1) + events.content[active])
    distinct = np.bincount(pairs // max(len(events.uniques), 1), minlength=n)
    counts = _counts(events.row, events.kind, n, len(EVENT_TYPES))
    views = counts[:, EVENT_TYPES.index("view")]
    clicks = counts[:, EVENT_TYPES.index("click")]
    shares = counts[:, EVENT_TYPES.index("share")]
    values = np.column_stack([np.log1p(distinct), clicks / (views + 1), shares / (views + 1)])
    return values, ["log_distinct_content", "click_per_view", "share_per_view"]


def _trend(events: _Events, n: int, recent: float, previous: float, prior: float) -> Block:
    active = events.active()
    age, rows = events.age[active], events.row[active]
    now = np.bincount(rows[age < recent], minlength=n).astype(np.float64)
    before = (age >= recent) & (age < recent + previous)
    then = np.bincount(rows[before], minlength=n).astype(np.float64)
    base = prior / (recent + previous)  # prior events per day, the same in both windows
    rate_now, rate_then = now / recent + base, then / previous + base
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rate_then > 0, np.log(rate_now / rate_then), 0.0)
    names = [f"log_count:last_{recent:g}d", f"log_count:prev_{previous:g}d", "trend:log_ratio"]
    return np.column_stack([np.log1p(now), np.log1p(then), ratio]), names


def _affinity(
    events: _Events, n: int, embeddings: FeatureMatrix, weights: np.ndarray, half_life: float
) -> Block:
    """Time-decayed, event-weighted mean content embedding per advocate, L2-normalised."""
    position = embeddings.ids.to_internal(events.uniques, missing="ignore")
    column = position[events.content] if events.size else np.zeros(0, dtype=np.int64)
    weight = weights[events.kind] * decay(np.clip(events.age, 0.0, None) * DAY, half_life)
    keep = (column >= 0) & (weight > 0)
    if events.size and not keep.any():
        logger.warning("no weighted event is on content with an embedding: affinity is zero")
    matrix = sp.csr_matrix(
        (weight[keep].astype(np.float32), (events.row[keep], column[keep])),
        shape=(n, len(embeddings.ids)),
    )
    table = embeddings.values
    table = table.astype(np.float32) if sp.issparse(table) else np.asarray(table, np.float32)
    summed = matrix @ table
    summed = summed.toarray() if sp.issparse(summed) else np.asarray(summed)
    norms = np.linalg.norm(summed, axis=1, keepdims=True)
    affinity = np.divide(summed, norms, out=np.zeros_like(summed), where=norms > 0)
    mass = np.log1p(np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel())
    names = [f"affinity:{name}" for name in embeddings.names] + ["affinity_mass"]
    return np.column_stack([affinity, mass]), names
