"""The hybrid's component values: per (employee, item, time) pair, and folded for ranking.

Every formula lives in its component (:mod:`recsys.models.component`); this module only
iterates over them:

- :func:`pair_values` gives every raw component of arbitrary (user, item, time) triples (the
  second stage's examples, :meth:`Hybrid.components` for reasons);
- :class:`FoldedScorer` ranks a grid of users x items at one ``as_of`` with the standardised
  linear combination folded in: each component contributes its weighted item-only part to
  one cached vector per time, its static part (what only the employee's own events change:
  taste, own affinity, EASE) and its live part (department and colleague trends, the cold
  affinity). The result equals ``intercept + sum(coef * (raw - mean) / scale)`` up to
  float32 rounding.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np

from recsys.models.cache import BoundedCache, SourceCache, TimedCache, freeze
from recsys.models.component import DotRow, Fold, HistoryRow, ScoreComponent
from recsys.models.user_rows import UserRows

PAIR_CHUNK = 65_536
#: Request times whose live entries (item vectors, department rows, colleague blocks,
#: reasons' rows) are kept; bounds of each time's entries and of the untimed live entries.
LIVE_TIMES = 2
LIVE_ENTRIES = 512
LIVE_BYTES = 1 << 30
_NO_BIAS = np.zeros(0)


def pair_values(
    components: Mapping[str, ScoreComponent],
    users: np.ndarray,
    items: np.ndarray,
    times: np.ndarray | float,
) -> dict[str, np.ndarray]:
    """Raw value of every component for each (users[j], items[j], times[j])."""
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    times = np.broadcast_to(np.asarray(times, np.float64), users.shape)
    out = {name: np.zeros(len(users)) for name in components}
    for start in range(0, len(users), PAIR_CHUNK):
        chunk = slice(start, start + PAIR_CHUNK)
        u, i, t = users[chunk], items[chunk], times[chunk]
        for name, component in components.items():
            out[name][chunk] = component.pairs(u, i, t)
    return out


@dataclass(frozen=True)
class Head:
    """One logistic second stage: ``intercept + sum(coef * (raw - means) / scales)``."""

    coef: np.ndarray
    means: np.ndarray
    scales: np.ndarray
    intercept: float

    def weights(self) -> np.ndarray:
        """Per component: the weight of the raw value."""
        return self.coef / self.scales

    def constant(self) -> float:
        return float(self.intercept - np.sum(self.coef * self.means / self.scales))


class FoldedScorer:
    """Scores of users x items at one time, the linear second stage folded in.

    Items flagged cold (``cold_items()``: no interaction in ``fit``, or added later) use the
    ``cold`` head, the others the ``warm`` head: every component gets a per-item weight.
    Caches (declared here): ``static`` entries are checked against their source arrays on
    use (:class:`~recsys.models.cache.SourceCache`); ``live`` entries and ``timed`` ones (per
    request time, the latest :data:`LIVE_TIMES` times) are dropped by :meth:`invalidate`,
    which the owner calls whenever live state changes (observe, new items or users); ``rows``
    keeps per-employee static rows when enabled.
    """

    def __init__(
        self,
        components: Mapping[str, ScoreComponent],
        warm: Head,
        cold: Head,
        cold_items: Callable[[], np.ndarray],
    ) -> None:
        self.components = dict(components)
        self.names = list(self.components)
        self.heads = (warm, cold)
        self.cold_items = cold_items
        self.static = SourceCache()
        self.live = BoundedCache(LIVE_ENTRIES, LIVE_BYTES)
        self.timed = TimedCache(LIVE_TIMES, LIVE_ENTRIES, LIVE_BYTES)
        self.rows: UserRows | None = None
        self.folds = {
            name: Fold(
                name, self._weights_getter(name), cold_items, self.static, self.live, self.timed
            )
            for name in self.names
        }

    def _weights_getter(self, name: str) -> Callable[[], np.ndarray]:
        return lambda: self.item_weights(name)

    # -- weights ------------------------------------------------------------------------
    def item_weights(self, name: str) -> np.ndarray:
        """float64 weight of component ``name`` (or ``"constant"``) for every item."""
        cold = self.cold_items()
        return self.static.get(("weights", name), (cold,), lambda: self._weights_of(name, cold))

    def _weights_of(self, name: str, cold_items: np.ndarray) -> np.ndarray:
        warm, cold = self.heads
        if name == "constant":
            values = (warm.constant(), cold.constant())
        else:
            j = self.names.index(name)
            values = (float(warm.weights()[j]), float(cold.weights()[j]))
        return np.where(cold_items, values[1], values[0])

    def head_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per item, the coefficients, means and scales of its head (components x items)
        and the cold head's intercept shift (cached while the cold flags are the same)."""
        cold = self.cold_items()

        def build() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            warm, other = self.heads
            rows = [
                np.where(cold[None, :], b[:, None], a[:, None])
                for a, b in ((warm.coef, other.coef), (warm.means, other.means))
            ]
            scales = np.where(cold[None, :], other.scales[:, None], warm.scales[:, None])
            shift = np.where(cold, other.intercept - warm.intercept, 0.0)
            return rows[0], rows[1], scales, shift

        return self.static.get(("heads", "rows"), (cold,), build)

    # -- one employee's raw and standardised rows (a feed's reasons) ----------------------
    def raw_rows(self, user: int, items: np.ndarray, as_of: float) -> dict[str, np.ndarray]:
        """Raw value of every component for one employee (-1 = cold) and ``items``: rows
        shared with other employees (item-only components, the department trend) come from
        whole-catalogue rows kept per time until the next event."""
        items = np.asarray(items, np.int64)
        out = {}
        for name, component in self.components.items():
            key = component.row_key(user)
            if key is None:
                out[name] = component.row(user, items, as_of)
            else:
                out[name] = self._whole_row(name, key, user, as_of)[items]
        return out

    def _whole_row(self, name: str, key: Hashable, user: int, as_of: float) -> np.ndarray:
        component = self.components[name]

        def build() -> np.ndarray:
            values = component.item_values(as_of) if component.is_item_only() else None
            if values is None:
                values = component.row(user, np.arange(len(self.cold_items())), as_of)
            return np.asarray(values, np.float64)

        return self.timed.at(as_of).get_or_build(("raw row", name, key), build)  # type: ignore[return-value]

    def contribution_rows(self, user: int, items: np.ndarray, as_of: float) -> np.ndarray:
        """``coef * (raw - mean) / scale`` of every component (rows in ``names`` order) for
        one employee (-1 = cold) and ``items`` at ``as_of``: what a feed's reasons read.
        Shared rows come standardised over the whole catalogue (kept per time)."""
        items = np.asarray(items, np.int64)
        coef, mean, scale, _ = self.head_rows()
        out = np.empty((len(self.names), len(items)))
        for j, (name, component) in enumerate(self.components.items()):
            key = component.row_key(user)
            if key is None:
                raw = component.row(user, items, as_of)
                out[j] = coef[j, items] * (raw - mean[j, items]) / scale[j, items]
            else:
                out[j] = self._standardised_row(name, key, j, user, as_of)[items]
        return out

    def kernel_contribution_rows(
        self, user: int, items: np.ndarray, as_of: float, extra: int = 0
    ) -> np.ndarray:
        """:meth:`contribution_rows` (and ``extra`` rows left for the caller) with the
        per-employee rows of components that give their terms (``row_terms``) evaluated by
        the compiled kernels of :mod:`recsys.feed_kernel` (the same values up to the order
        of a dot product's sum), and the shared rows gathered from one block per time and
        key (:meth:`_shared_block`)."""
        from recsys import feed_kernel

        items = np.ascontiguousarray(items, np.int64)
        coef, mean, scale, _ = self.head_rows()
        out = np.empty((len(self.names) + extra, len(items)))
        keys = tuple(component.row_key(user) for component in self.components.values())
        shared, block = self._shared_block(keys, user, as_of)
        if len(shared):
            out[shared] = block[items].T
        for j, component in enumerate(self.components.values()):
            if keys[j] is not None:
                continue
            terms = component.row_terms(user, items, as_of)
            if isinstance(terms, DotRow) and terms.matrix.dtype != np.float32:
                # float64 rows: numpy's product, as the component's row computes it (a
                # standardisation with a tiny scale magnifies a different order of the sum)
                raw = terms.scale * (terms.matrix[items] @ terms.vector) + terms.offset
                if terms.bias is not None:
                    raw = raw + terms.bias
                out[j] = coef[j, items] * (raw - mean[j, items]) / scale[j, items]
            elif isinstance(terms, DotRow):
                bias = _NO_BIAS if terms.bias is None else terms.bias
                feed_kernel.dot_contributions(
                    terms.vector,
                    terms.matrix,
                    items,
                    terms.scale,
                    terms.offset,
                    bias,
                    coef[j],
                    mean[j],
                    scale[j],
                    out[j],
                )
            elif isinstance(terms, HistoryRow):
                feed_kernel.history_contributions(
                    terms.history, terms.matrix, items, coef[j], mean[j], scale[j], out[j]
                )
            else:
                raw = component.row(user, items, as_of)
                out[j] = coef[j, items] * (raw - mean[j, items]) / scale[j, items]
        return out

    def _shared_block(
        self, keys: tuple[Hashable | None, ...], user: int, as_of: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The components whose rows are shared (a ``row_key``) and their standardised rows
        as the columns of one (items, components) block (kept per time and keys): one gather
        of a few rows serves them all, each item's values side by side in memory."""

        def build() -> tuple[np.ndarray, np.ndarray]:
            shared = [j for j, key in enumerate(keys) if key is not None]
            rows = [self._standardised_row(self.names[j], keys[j], j, user, as_of) for j in shared]
            n = len(self.cold_items())
            block = np.column_stack(rows) if rows else np.zeros((n, 0))
            return np.asarray(shared, np.int64), block

        found = self.timed.at(as_of).get_or_build(("shared block", keys), build)
        return found  # type: ignore[return-value]

    def _standardised_row(
        self, name: str, key: Hashable, j: int, user: int, as_of: float
    ) -> np.ndarray:
        """A shared row standardised over the whole catalogue (kept per time)."""

        def build() -> np.ndarray:
            coef, mean, scale, _ = self.head_rows()
            raw = self._whole_row(name, key, user, as_of)
            return coef[j] * (raw - mean[j]) / scale[j]

        return self.timed.at(as_of).get_or_build(("standardised", name, key), build)  # type: ignore[return-value]

    def invalidate(self) -> None:
        """Drop the live caches (static ones are checked against their sources on use)."""
        self.live.clear()
        self.timed.clear()

    # -- scores -------------------------------------------------------------------------
    def score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        """float32 scores (len(users), len(items))."""
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        n_items = len(self.cold_items())
        whole = len(items) == n_items and bool(np.array_equal(items, np.arange(n_items)))
        dense = whole or len(items) * 4 > n_items or self.rows is not None
        if dense:  # whole rows: the static part plus the live rows of this time
            scores = self._static_rows(users)
            scores += self._live_rows(users, None, as_of)
            return scores if whole else scores[:, items]
        scores = self._static_block(users, items)
        scores += self._live_rows(users, items, as_of)
        return scores

    def score_row(self, user: int, as_of: float, candidates: int) -> np.ndarray | None:
        """One employee's float32 scores over every item, as :meth:`score` computes them
        when it scores whole rows (kept rows, or ``candidates`` above a quarter of the
        items); None when :meth:`score` would score ``candidates`` columns alone (whose
        float32 sums may differ in the last bit)."""
        if self.rows is None and candidates * 4 <= len(self.cold_items()):
            return None
        users = np.asarray([user], np.int64)
        scores = self._static_rows(users)
        scores += self._live_rows(users, None, as_of)
        return scores[0]

    def score_parts(
        self, user: int, as_of: float, candidates: int
    ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """:meth:`score_row` before its two sums: the static row (a kept row itself: read,
        never write) and the live rows (the item vector first) whose float32 sum, in order,
        is added to it. None when :meth:`score_row` would be None, or a live part is not one
        float32 row over every item (then only :meth:`score_row` sums it as :meth:`score`).

        Leading live parts that employees share (a ``row_key``, e.g. a department's trend)
        come already added to the item vector, in the same order and float32 arithmetic,
        one row kept per time and keys: the sum reads one row fewer per such part."""
        n = len(self.cold_items())
        if self.rows is None and candidates * 4 <= n:
            return None
        users = np.asarray([user], np.int64)
        parts = [self.item_vector(as_of)]
        shared: tuple[tuple[str, Hashable], ...] = ()  # the parts added to parts[0] so far
        for name, component in self.components.items():
            part = component.live_scores(users, None, as_of, self.folds[name])
            if part is None:
                continue
            if part.dtype != np.float32 or part.shape != (1, n):
                return None
            key = component.row_key(user) if len(parts) == 1 else None
            if key is None:
                parts.append(part[0])
                continue
            shared += ((name, key),)
            added = functools.partial(np.add, parts[0], part[0])
            kept = self.timed.at(as_of).get_or_build(("live prefix", shared), added)
            parts[0] = cast(np.ndarray, kept)
        return self._static_row(user), parts

    def _static_row(self, user: int) -> np.ndarray:
        """The static row of one employee: the kept one when there is one (not a copy)."""
        rows = self.rows
        if rows is None or user < 0:
            return self._static_rows(np.asarray([user], np.int64))[0]
        row = rows.get(user, self.static_sources())
        return row if row is not None else self._static_rows(np.asarray([user], np.int64))[0]

    def item_vector(self, as_of: float) -> np.ndarray:
        """Every weighted item-only term at ``as_of`` over the catalogue (float32, cached)."""

        def build() -> np.ndarray:
            total = self.item_weights("constant").copy()
            for name, component in self.components.items():
                values = component.item_values(as_of)
                if values is not None:
                    total += self.item_weights(name) * values
            return total.astype(np.float32)

        return self.timed.at(as_of).get_or_build("item vector", build)  # type: ignore[return-value]

    def _live_rows(self, users: np.ndarray, columns: np.ndarray | None, as_of: float):
        """The item vector plus every component's live part: float32 (len(users) or 1,
        items or ``columns``)."""
        vector = self.item_vector(as_of)
        out = (vector if columns is None else vector[columns])[None, :]
        fresh = False  # parts may be cached arrays: the first sum makes the one copy
        for name, component in self.components.items():
            part = component.live_scores(users, columns, as_of, self.folds[name])
            if part is None:
                continue
            if fresh and part.shape == out.shape:
                out += part
            else:
                out, fresh = out + part, True
        return out

    def _static_block(self, users: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
        """Every component's static part: float32 (users, items or ``columns``)."""
        n = len(self.cold_items()) if columns is None else len(columns)
        scores: np.ndarray | None = None
        for name, component in self.components.items():
            part = component.static_scores(users, columns, self.folds[name])
            if part is None:
                continue
            if scores is None:  # the first part is fresh (the protocol): sum into it
                owned = part.dtype == np.float32 and part.flags.writeable and part.flags.owndata
                scores = part if owned else part.astype(np.float32)
            else:
                scores += part
        return np.zeros((len(users), n), np.float32) if scores is None else scores

    # -- kept rows: the static part between calls ----------------------------------------
    def enable_rows(self, max_bytes: int) -> None:
        """Keep up to ``max_bytes`` of per-employee static rows between calls (0: none)."""
        if self.rows is not None and self.rows.max_bytes == max_bytes:
            return
        self.rows = UserRows(max_bytes) if max_bytes > 0 else None

    def static_sources(self) -> tuple[np.ndarray, ...]:
        """What the static rows are computed from: replaced, never changed in place (made
        read-only here, the rule :mod:`recsys.models.cache` asserts)."""
        sources = [self.cold_items()]
        for component in self.components.values():
            sources.extend(component.static_sources())
        for source in sources:
            freeze(source)
        return tuple(sources)

    def warm(self, users: np.ndarray, chunk: int = 256) -> int:
        """Compute and keep the static rows of ``users`` (internal ids) while they fit the
        budget; safe to run beside requests and events (a row an event made stale while it
        was computed is not kept). Returns the rows added."""
        rows = self.rows
        if rows is None:
            return 0
        token = self.static_sources()
        row_bytes = 4 * len(self.cold_items())
        wanted = [u for u in np.asarray(users, np.int64).tolist() if rows.get(u, token) is None]
        added = 0
        for start in range(0, len(wanted), chunk):
            if not rows.room_for(row_bytes):
                break
            token = self.static_sources()  # content may have been added meanwhile
            block_users = np.asarray(wanted[start : start + chunk], np.int64)
            block_users = block_users[block_users >= 0]
            snapshots = [rows.snapshot(u, token) for u in block_users.tolist()]
            block = self._static_block(block_users, None)
            for user, row, snapshot in zip(block_users.tolist(), block, snapshots, strict=True):
                if not rows.room_for(row_bytes):
                    break
                added += rows.put(user, row.copy(), token, snapshot)
        return added

    def _static_rows(self, users: np.ndarray) -> np.ndarray:
        """:meth:`_static_block` over every item, from the kept rows where possible."""
        rows = self.rows
        if rows is None:
            return self._static_block(users, None)
        token = self.static_sources()
        out = np.empty((len(users), len(self.cold_items())), np.float32)
        missing = []
        for j, user in enumerate(users.tolist()):
            row = rows.get(user, token) if user >= 0 else None
            if row is None:
                missing.append(j)
            else:
                out[j] = row
        if missing:
            index = np.asarray(missing, np.int64)
            computed = users[index]
            snapshots = [rows.snapshot(u, token) for u in computed.tolist()]
            out[index] = block = self._static_block(computed, None)
            for j in np.flatnonzero(computed >= 0).tolist():
                rows.put(int(computed[j]), block[j].copy(), token, snapshots[j])
        return out

    def drop_users(self, users: np.ndarray | None) -> None:
        """Forget the static rows of ``users`` (internal ids; ``None``: every row)."""
        if self.rows is None:
            return
        if users is None:
            self.rows.clear()
        else:
            self.rows.drop(np.unique(np.asarray(users, np.int64)).tolist())
