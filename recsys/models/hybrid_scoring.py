"""The hybrid's component values: per (employee, item, time) pair, and folded for ranking.

Two ways to the same numbers:

- :func:`pair_values` gives every raw component of arbitrary (user, item, time) triples (the
  second stage's examples, :meth:`Hybrid.components` for reasons);
- :class:`FoldedScorer` ranks a grid of users x items at one ``as_of`` with the standardised
  linear combination folded in: each bilinear component (taste, affinity, colleague trend)
  is one float32 matrix product of a user block with item rows (taste and affinity rows
  pre-scaled by the item weights and cached; the colleague rows, which every event changes,
  used in place and the product weighted per item), EASE one sparse product of the
  history rows, every item-only term (item biases, global trends, freshness, content
  popularity tie-break) one cached vector per ``as_of``, and the department trend one
  cached row per (``as_of``, department). The result equals
  ``intercept + sum(coef * (raw - mean) / scale)`` up to float32 rounding. No request
  copies an items x items or items x dimensions array (a subset of fewer than a quarter of
  the catalogue gathers its rows; a larger one uses the whole blocks and gathers the result).

Raw components (``t`` the request time):

- ``taste``: ``u . v + b_u + b_i`` (LightFM representations; cold employees the mean user);
- ``affinity``: ``unit(profile_u) . e_i + tiebreak * popularity_i / max popularity``;
- ``global_trend_short`` / ``global_trend_long``: ``log1p(decayed_i * factor(t))``;
- ``department_trend``: ``log1p(decayed[department(u), i] * factor(t))`` (0 without one);
- ``colleague_trend``: ``q_u . live_i * factor(t)``
  (:class:`~recsys.models.trends.ColleagueTrend`);
- ``ease``: ``x_u . B[:, i]`` (EASE item-item weights over the employee's live history,
  :class:`~recsys.models.ease.ItemItem`);
- ``item_prior``: the item's predicted ``log1p`` interaction count from its features
  (:class:`~recsys.models.ease.ItemPrior`);
- ``freshness``: ``log1p(hours since the item's time)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recsys.models.content import ContentBased
from recsys.models.ease import ItemItem, ItemPrior
from recsys.models.lightfm_cf import LightFMBase
from recsys.models.popular import RecentPopular
from recsys.models.trends import ColleagueTrend, DepartmentTrend, unit_rows
from recsys.models.user_rows import UserRows

HOUR = 3_600.0
PAIR_CHUNK = 65_536
TREND_NAMES = ("global_trend_short", "global_trend_long")


# -- pairs --------------------------------------------------------------------------------
def pair_values(
    parts: dict[str, object],
    item_times: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    times: np.ndarray,
    names: list[str],
) -> dict[str, np.ndarray]:
    """Raw value of every component in ``names`` for each (users[j], items[j], times[j])."""
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    times = np.broadcast_to(np.asarray(times, np.float64), users.shape)
    out = {name: np.zeros(len(users)) for name in names}
    for start in range(0, len(users), PAIR_CHUNK):
        chunk = slice(start, start + PAIR_CHUNK)
        u, i, t = users[chunk], items[chunk], times[chunk]
        for name in names:
            out[name][chunk] = _pair_value(name, parts.get(name), item_times, u, i, t)
    return out


def _pair_value(name, part, item_times, users, items, times) -> np.ndarray:
    if name == "freshness":
        ages = np.maximum(times - np.asarray(item_times, np.float64)[items], 0.0)
        return np.log1p(ages / HOUR)
    if isinstance(part, LightFMBase):
        vectors, bias = _lightfm_users(part, users)
        dot = np.einsum("ij,ij->i", vectors, part.item_vectors_[items], dtype=np.float64)
        return dot + bias + part.item_bias_[items]
    if isinstance(part, ContentBased):
        dot = np.einsum("ij,ij->i", _profiles(part, users), part.item_vectors_[items])
        return dot + _tiebreak(part)[items]
    if isinstance(part, RecentPopular):
        factor = part._decay(np.maximum(times - part.reference_, 0.0))
        return np.log1p(np.maximum(part.decayed_[items] * factor, 0.0))
    if isinstance(part, DepartmentTrend):
        departments = part.departments(users)
        has = departments >= 0
        values = np.zeros(len(users))
        values[has] = part.decayed_[departments[has], items[has]] * part.factor(times[has])
        return np.log1p(np.maximum(values, 0.0))
    if isinstance(part, ColleagueTrend):
        dot = np.einsum("ij,ij->i", part.user_rows(users), part.live_[items], dtype=np.float64)
        return dot * part.factor(times)
    if isinstance(part, ItemItem):
        return part.pair_scores(users, items)
    if isinstance(part, ItemPrior):
        return np.asarray(part.values_, np.float64)[items]
    raise ValueError(f"unknown component {name!r}")


def row_values(
    parts: dict[str, object],
    item_times: np.ndarray,
    user: int,
    items: np.ndarray,
    as_of: float,
    names: list[str],
    item_rows: dict[object, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """:func:`pair_values` of one employee with ``items`` at one time (a feed's reasons):
    the employee's side is looked up once, so a row costs a few array operations per
    component instead of per-pair gathers of the same vectors. ``item_rows`` (a dict the
    caller keeps for this time and drops when live state changes) holds the item-only
    components over the whole catalogue, so later rows of the same time only gather."""
    items = np.asarray(items, np.int64)
    user, as_of = int(user), float(as_of)
    out = {}
    for name in names:
        part = parts.get(name)
        key = _item_only_key(name, part, user)
        if key is None or item_rows is None:
            out[name] = _row_value(name, part, item_times, user, items, as_of)
            continue
        whole = item_rows.get(key)
        if whole is None:
            every = np.arange(len(item_times))
            whole = item_rows[key] = _row_value(name, part, item_times, user, every, as_of)
        out[name] = whole[items]
    return out


def _item_only_key(name: str, part: object, user: int) -> object:
    """What an item-only component's whole row depends on besides the time (None: the
    component depends on the employee)."""
    if name == "freshness" or isinstance(part, RecentPopular | ItemPrior):
        return name
    if isinstance(part, DepartmentTrend):
        return (name, int(part.user_department_[user]) if user >= 0 else -1)
    return None


def _row_value(name, part, item_times, user: int, items, as_of: float) -> np.ndarray:
    if name == "freshness":
        ages = np.maximum(as_of - np.asarray(item_times, np.float64)[items], 0.0)
        return np.log1p(ages / HOUR)
    if isinstance(part, LightFMBase):
        known = user >= 0
        vector = part.user_vectors_[user] if known else part.cold_vector_
        bias = np.float32(part.user_bias_[user] if known else part.cold_bias_)
        dot = part.item_vectors_[items].astype(np.float64) @ vector.astype(np.float64)
        return dot + bias + part.item_bias_[items]
    if isinstance(part, ContentBased):
        top = part.popularity_.max(initial=0.0)
        tiebreak = part.tiebreak * part.popularity_[items] / top if top > 0 else 0.0
        return part.item_vectors_[items] @ _profile_of(part, user) + tiebreak
    if isinstance(part, RecentPopular):
        factor = part._decay(max(as_of - part.reference_, 0.0))
        return np.log1p(np.maximum(part.decayed_[items] * factor, 0.0))
    if isinstance(part, DepartmentTrend):
        department = int(part.user_department_[user]) if user >= 0 else -1
        if department < 0:
            return np.zeros(len(items))
        values = part.decayed_[department, items] * part.factor(as_of)
        return np.log1p(np.maximum(values, 0.0))
    if isinstance(part, ColleagueTrend):
        vector = (part.user_vectors_[user] if user >= 0 else part.cold_vector_).astype(np.float64)
        return (part.live_[items].astype(np.float64) @ vector) * part.factor(as_of)
    if isinstance(part, ItemItem):
        return part.row_scores(user, items)
    if isinstance(part, ItemPrior):
        return np.asarray(part.values_, np.float64)[items]
    raise ValueError(f"unknown component {name!r}")


def _lightfm_users(part: LightFMBase, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    known = users >= 0
    vectors = np.broadcast_to(part.cold_vector_, (len(users), len(part.cold_vector_))).copy()
    bias = np.full(len(users), part.cold_bias_, np.float32)
    vectors[known] = part.user_vectors_[users[known]]
    bias[known] = part.user_bias_[users[known]]
    return vectors, bias


def _profiles(part: ContentBased, users: np.ndarray) -> np.ndarray:
    """Unit affinity directions (the cold direction for unknown or empty employees)."""
    profiles = _own_profiles(part, users)
    empty = ~np.any(profiles != 0, axis=1)
    profiles[empty] = unit_rows(part.cold_sum_[None, :])[0]
    return profiles


def _profile_of(part: ContentBased, user: int) -> np.ndarray:
    """:func:`_profiles` of one employee."""
    if user >= 0:
        row = np.asarray(part.affinity_[user], np.float64)
        norm = np.linalg.norm(row)
        if norm > 0:
            return row / norm
    cold = np.asarray(part.cold_sum_, np.float64)
    norm = np.linalg.norm(cold)
    return cold / norm if norm > 0 else np.zeros_like(cold)


def _own_profiles(part: ContentBased, users: np.ndarray) -> np.ndarray:
    """Unit affinity directions; zero rows for unknown or empty employees."""
    profiles = np.zeros((len(users), part.item_vectors_.shape[1]))
    known = users >= 0
    profiles[known] = unit_rows(part.affinity_[users[known]])
    return profiles


def _tiebreak(part: ContentBased) -> np.ndarray:
    top = part.popularity_.max(initial=0.0)
    if top <= 0:
        return np.zeros(len(part.popularity_))
    return part.tiebreak * part.popularity_ / top


# -- folded grid --------------------------------------------------------------------------
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
    ``cold`` head, the others the ``warm`` head: every component gets a per-item weight, so
    bilinear item blocks are scaled per item and the user blocks are shared. Item-side arrays
    are cached; the owner calls :meth:`invalidate` whenever live state changes (observe, new
    items or users). Two kinds of cache:

    - static: the per-item weights and the blocks of item rows that only change by being
      replaced (LightFM and content vectors grow by a new array when content is added, and so
      do the cold flags): kept across :meth:`invalidate` while their source arrays are the
      same objects, so an event does not cost a rebuild of the large embedding block;
    - live: the item-only vector and the department rows of a time; dropped by
      :meth:`invalidate`. The colleague rows change in place with every event, so they are
      not copied at all: their product is weighted per item afterwards.
    """

    def __init__(
        self,
        parts: dict[str, object],
        names: list[str],
        warm: Head,
        cold: Head,
        cold_items: Callable[[], np.ndarray],
    ) -> None:
        self.parts = parts
        self.names = names
        self.heads = (warm, cold)
        self.cold_items = cold_items
        self._static: dict[tuple[str, str], tuple[tuple[np.ndarray, ...], np.ndarray]] = {}
        self._vectors: dict[float, np.ndarray] = {}
        self._departments: dict[float, dict[int, np.ndarray]] = {}
        self._cold_rows: dict[str, np.ndarray] = {}
        self._live: dict[float, dict[object, np.ndarray]] = {}
        self._item_rows: dict[float, dict[object, np.ndarray]] = {}
        self.rows: UserRows | None = None

    def item_rows(self, as_of: float) -> dict[object, np.ndarray]:
        """A place for :func:`row_values` to keep the item-only components at ``as_of``
        (dropped by :meth:`invalidate`)."""
        rows = self._item_rows.get(as_of)
        if rows is None:
            if len(self._item_rows) >= 2:
                self._item_rows.pop(next(iter(self._item_rows)))
            rows = self._item_rows[as_of] = {}
        return rows

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

        return self._cached(("heads", "rows"), (cold,), build)  # type: ignore[return-value]

    def contribution_rows(
        self, user: int, items: np.ndarray, as_of: float, item_times: np.ndarray
    ) -> np.ndarray:
        """``coef * (raw - mean) / scale`` of every component (rows in ``names`` order) for
        one employee (-1 = cold) and ``items`` at ``as_of``: what a feed's reasons read.

        The item-only components (and the employee's department trend) come standardised
        from a whole-catalogue block kept per time and department; only the employee's own
        components are computed, for ``items`` alone."""
        items = np.asarray(items, np.int64)
        coef, mean, scale, _ = self.head_rows()
        keys = [_item_only_key(name, self.parts.get(name), user) for name in self.names]
        shared = [j for j, key in enumerate(keys) if key is not None]
        out = np.empty((len(self.names), len(items)))
        if shared:
            out[shared] = self._standardised_block(shared, keys, user, as_of, item_times)[:, items]
        for j, key in enumerate(keys):
            if key is None:
                name = self.names[j]
                raw = _row_value(name, self.parts.get(name), item_times, user, items, as_of)
                out[j] = coef[j, items] * (raw - mean[j, items]) / scale[j, items]
        return out

    def _standardised_block(
        self, rows: list[int], keys: list[object], user: int, as_of: float, item_times: np.ndarray
    ) -> np.ndarray:
        """The standardised whole rows of the components ``rows`` (item-only, by ``keys``),
        kept with the other item-only rows of ``as_of`` (the raw ones come from
        :func:`row_values`' rows in the same place)."""
        cache = self.item_rows(as_of)
        key = ("standardised", *(keys[j] for j in rows))
        block = cache.get(key)
        if block is None:
            coef, mean, scale, _ = self.head_rows()
            names = [self.names[j] for j in rows]
            every = np.arange(len(item_times))
            whole = row_values(self.parts, item_times, user, every, as_of, names, cache)
            raw = np.stack([whole[name] for name in names])
            block = cache[key] = coef[rows] * (raw - mean[rows]) / scale[rows]
        return block

    def invalidate(self) -> None:
        """Drop the live caches (static ones are checked against their sources on use)."""
        self._item_rows.clear()
        self._vectors.clear()
        self._departments.clear()
        self._cold_rows.clear()
        self._live.clear()

    def _cached(
        self, key: tuple[str, str], sources: tuple[np.ndarray, ...], build: Callable[[], np.ndarray]
    ) -> np.ndarray:
        """A static cache entry, rebuilt when any source array is another object."""
        found = self._static.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], sources, strict=True)):
            return found[1]
        value = build()
        self._static[key] = (sources, value)
        return value

    def item_weights(self, name: str) -> np.ndarray:
        """float64 weight of component ``name`` (or ``"constant"``) for every item."""
        cold = self.cold_items()
        return self._cached(("weights", name), (cold,), lambda: self._weights_of(name, cold))

    def _weights_of(self, name: str, cold_items: np.ndarray) -> np.ndarray:
        warm, cold = self.heads
        if name == "constant":
            values = (warm.constant(), cold.constant())
        else:
            j = self.names.index(name)
            values = (float(warm.weights()[j]), float(cold.weights()[j]))
        return np.where(cold_items, values[1], values[0])

    def score(
        self, users: np.ndarray, items: np.ndarray, as_of: float, item_times: np.ndarray
    ) -> np.ndarray:
        """float32 scores (len(users), len(items))."""
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        n_items = len(item_times)
        whole = len(items) == n_items and bool(np.array_equal(items, np.arange(n_items)))
        dense = whole or len(items) * 4 > n_items or self.rows is not None
        if dense:  # whole rows: the static part plus the live rows of this second
            scores = self._static_rows(users)
            scores += self._live_rows(users, as_of, item_times)
            return scores if whole else scores[:, items]
        scores = self._static_block(users, items)
        self._add_colleagues(scores, users, items, as_of)
        scores += self._item_vector(as_of, item_times)[items][None, :]
        if "department_trend" in self.parts:
            self._add_departments(scores, users, items, as_of)
        return scores

    # -- the static part: what only the employee's own events change --------------------
    def enable_rows(self, max_bytes: int) -> None:
        """Keep up to ``max_bytes`` of per-employee static rows between calls (0: none)."""
        if self.rows is not None and self.rows.max_bytes == max_bytes:
            return
        self.rows = UserRows(max_bytes) if max_bytes > 0 else None

    def warm(self, users: np.ndarray, chunk: int = 256) -> int:
        """Compute and keep the static rows of ``users`` (internal ids) while they fit the
        budget; safe to run beside requests and events (a row an event made stale while it
        was computed is not kept). Returns the rows added."""
        rows = self.rows
        if rows is None:
            return 0
        token = self._static_sources()
        row_bytes = 4 * len(self.cold_items())
        wanted = [u for u in np.asarray(users, np.int64).tolist() if rows.get(u, token) is None]
        added = 0
        for start in range(0, len(wanted), chunk):
            if not rows.room_for(row_bytes):
                break
            token = self._static_sources()  # content may have been added meanwhile
            block_users = np.asarray(wanted[start : start + chunk], np.int64)
            block_users = block_users[block_users >= 0]
            snapshots = [rows.snapshot(u, token) for u in block_users.tolist()]
            block = self._static_block(block_users, None, cold=False)
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
        token = self._static_sources()
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
            out[index] = block = self._static_block(computed, None, cold=False)
            for j in np.flatnonzero(computed >= 0).tolist():
                rows.put(int(computed[j]), block[j].copy(), token, snapshots[j])
        self._add_cold_affinity(out, users, None)
        return out

    def _static_block(
        self, users: np.ndarray, columns: np.ndarray | None, *, cold: bool = True
    ) -> np.ndarray:
        """The taste and affinity products, taste's user bias and EASE: float32 (users,
        items), over every item (``columns`` None) or over ``columns``. Employees without a
        content profile of their own get the cold profile's affinity only if ``cold`` (it
        moves with everyone's events: kept rows leave it out, :meth:`_add_cold_affinity`
        adds it per call)."""
        n = len(self.cold_items()) if columns is None else len(columns)
        scores = np.zeros((len(users), n), np.float32)
        for name, part in self.parts.items():
            if isinstance(part, LightFMBase):
                vectors, bias = _lightfm_users(part, users)
                scores += vectors.astype(np.float32) @ self._block_rows(name, columns).T
                weights = self.item_weights(name)
                weights = weights if columns is None else weights[columns]
                scores += bias.astype(np.float32)[:, None] * weights.astype(np.float32)[None, :]
            elif isinstance(part, ContentBased):
                profiles = _own_profiles(part, users).astype(np.float32)
                scores += profiles @ self._block_rows(name, columns).T
        if cold:
            self._add_cold_affinity(scores, users, columns)
        if "ease" in self.parts:
            ease: ItemItem = self.parts["ease"]  # type: ignore[assignment]
            items = np.arange(n) if columns is None else columns
            weights = self.item_weights("ease")[items].astype(np.float32)
            scores += ease.scores(users, items) * weights[None, :]
        return scores

    def _block_rows(self, name: str, columns: np.ndarray | None) -> np.ndarray:
        block = self._item_block(name)
        return block if columns is None else block[columns]

    def _static_sources(self) -> tuple[object, ...]:
        """What the static rows are computed from (replaced, never changed in place)."""
        sources: list[object] = [self.cold_items()]
        for part in self.parts.values():
            if isinstance(part, LightFMBase | ContentBased):
                sources.append(part.item_vectors_)
            elif isinstance(part, ItemItem):
                sources.append(part.weights_)
        return tuple(sources)

    def _add_cold_affinity(
        self, scores: np.ndarray, users: np.ndarray, columns: np.ndarray | None
    ) -> None:
        """The cold profile's affinity for employees without a profile of their own (unknown
        ones included): one row per call, cached until the next event."""
        for name, part in self.parts.items():
            if not isinstance(part, ContentBased):
                continue
            empty = np.ones(len(users), bool)
            known = users >= 0
            empty[known] = ~np.any(part.affinity_[users[known]] != 0, axis=1)
            if not empty.any():
                continue
            row = self._cold_rows.get(name)
            if row is None:
                direction = unit_rows(part.cold_sum_[None, :])[0].astype(np.float32)
                row = self._cold_rows[name] = self._item_block(name) @ direction
            scores[empty] += row if columns is None else row[columns]

    def drop_users(self, users: np.ndarray | None) -> None:
        """Forget the static rows of ``users`` (internal ids; ``None``: every row)."""
        if self.rows is None:
            return
        if users is None:
            self.rows.clear()
        else:
            self.rows.drop(np.unique(np.asarray(users, np.int64)).tolist())

    # -- the live part ------------------------------------------------------------------
    def _live_rows(self, users: np.ndarray, as_of: float, item_times: np.ndarray) -> np.ndarray:
        """Every time-dependent term over the whole catalogue: float32 (len(users) or 1,
        items). The item-only terms plus the employee's department trend are one cached
        vector per (second, department), the colleague trend one product with the weighted
        live rows of that second."""
        live = self._live.get(as_of)
        if live is None:
            if len(self._live) >= 2:
                self._live.pop(next(iter(self._live)))
            live = self._live[as_of] = {}
        part = self.parts.get("department_trend")
        if isinstance(part, DepartmentTrend):
            departments = part.departments(users).tolist()
            rows = [self._item_and_department(live, d, as_of, item_times) for d in departments]
            out = rows[0][None, :] if len(rows) == 1 else np.vstack(rows)
        else:
            out = self._item_vector(as_of, item_times)[None, :]
        for name, colleagues in self.parts.items():
            if isinstance(colleagues, ColleagueTrend):
                block = live.get(name)
                if block is None:
                    scale = np.float32(colleagues.factor(as_of))
                    weights = self._float_weights(name)[:, None]
                    block = live[name] = colleagues.live_ * weights * scale
                out = out + colleagues.user_rows(users).astype(np.float32) @ block.T
        return out

    def _item_and_department(
        self, live: dict, department: int, as_of: float, item_times: np.ndarray
    ) -> np.ndarray:
        key = ("department", department)
        vector = live.get(key)
        if vector is None:
            vector = self._item_vector(as_of, item_times)
            if department >= 0:
                vector = vector + self._department_row(department, as_of)
            live[key] = vector
        return vector

    def _add_colleagues(
        self, scores: np.ndarray, users: np.ndarray, items: np.ndarray, as_of: float
    ) -> None:
        """The colleague trend over a few ``items`` (live rows, changed in place by every
        event): the product weighted per item afterwards (whole rows: :meth:`_live_rows`)."""
        for name, part in self.parts.items():
            if not isinstance(part, ColleagueTrend):
                continue
            scale = float(part.factor(as_of))
            user_block = (scale * part.user_rows(users)).astype(np.float32)
            product = user_block @ part.live_[items].T
            product *= self._float_weights(name)[items][None, :]
            scores += product

    def _item_block(self, name: str) -> np.ndarray:
        """The component's static item rows (taste, affinity: replaced when content is added,
        never changed in place), each scaled by its item's weight (cached)."""
        source = self.parts[name].item_vectors_
        sources = (self.cold_items(), source)
        return self._cached(("block", name), sources, lambda: self._scaled(name, source))

    def _scaled(self, name: str, source: np.ndarray) -> np.ndarray:
        weights = self.item_weights(name)[:, None]
        return np.ascontiguousarray(weights * source, dtype=np.float32)

    def _float_weights(self, name: str) -> np.ndarray:
        """float32 :meth:`item_weights` (cached)."""
        return self._cached(
            ("float32 weights", name),
            (self.cold_items(),),
            lambda: self.item_weights(name).astype(np.float32),
        )

    def _item_vector(self, as_of: float, item_times: np.ndarray) -> np.ndarray:
        """Every item-only term at ``as_of`` over the whole catalogue (cached per time)."""
        vector = self._vectors.get(as_of)
        if vector is not None:
            return vector
        total = self.item_weights("constant").copy()
        for name, part in self.parts.items():
            if isinstance(part, LightFMBase):
                total += self.item_weights(name) * part.item_bias_
            elif isinstance(part, ContentBased):
                total += self.item_weights(name) * _tiebreak(part)
            elif isinstance(part, ItemPrior):
                total += self.item_weights(name) * part.values_
            elif isinstance(part, RecentPopular):
                factor = part._decay(max(as_of - part.reference_, 0.0))
                trend = np.log1p(np.maximum(part.decayed_ * factor, 0.0))
                total += self.item_weights(name) * trend
        if "freshness" in self.names:
            ages = np.maximum(as_of - np.asarray(item_times, np.float64), 0.0)
            total += self.item_weights("freshness") * np.log1p(ages / HOUR)
        vector = total.astype(np.float32)
        if len(self._vectors) >= 4:
            self._vectors.pop(next(iter(self._vectors)))
        self._vectors[as_of] = vector
        return vector

    def _add_departments(
        self, scores: np.ndarray, users: np.ndarray, items: np.ndarray, as_of: float
    ) -> None:
        part: DepartmentTrend = self.parts["department_trend"]  # type: ignore[assignment]
        departments = part.departments(users)
        present = np.unique(departments[departments >= 0])
        if not len(present):
            return
        rows = np.vstack([self._department_row(int(d), as_of) for d in present])[:, items]
        has = np.flatnonzero(departments >= 0)
        scores[has] += rows[np.searchsorted(present, departments[has])]

    def _department_row(self, department: int, as_of: float) -> np.ndarray:
        """The weighted department trend of one department over every item at ``as_of``
        (float32, cached per time: requests of the same second share it)."""
        rows = self._departments.get(as_of)
        if rows is None:
            if len(self._departments) >= 2:
                self._departments.pop(next(iter(self._departments)))
            rows = self._departments[as_of] = {}
        row = rows.get(department)
        if row is None:
            part: DepartmentTrend = self.parts["department_trend"]  # type: ignore[assignment]
            factor = float(part.factor(as_of))
            trend = np.log1p(np.maximum(part.decayed_[department] * factor, 0.0))
            row = rows[department] = (self.item_weights("department_trend") * trend).astype(
                np.float32
            )
        return row
