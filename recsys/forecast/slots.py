"""Best time to share: hour-of-week slots with partial pooling organisation -> group -> advocate.

Slots
    :func:`hour_of_week`: 168 slots, slot 0 = Monday 00:00-00:59 **UTC** (Unix seconds carry no
    zone). The per-advocate and per-group distributions absorb a person's offset (a group is
    meant to be one place, e.g. a department's site or a country/region); the organisation
    level mixes zones.
Counts
    Each event adds its weight to its advocate's slot: its ``value`` (e.g. a share's engagement;
    1 when not given) over the mean value of its network (so counts are in "average events").
    With ``half_life_days``, times ``0.5 ** (age / half_life)`` (age from ``now``, default the
    last event), rescaled so that each advocate's total stays their undecayed total: decay
    changes the shape of a record, not how much evidence it is. A ``network`` key per event
    splits everything: one independent hierarchy per network.
Pooling (posterior means of Dirichlet-multinomial levels)
    Organisation ``p0 = (C + 1/2) / (N + 84)`` (Jeffreys); group ``g``:
    ``p_g = (C_g + a_group * p0) / (N_g + a_group)``; advocate ``i`` of group ``g``:
    ``p_i = (c_i + a_person * p_g) / (n_i + a_person)``. An advocate without events gets
    ``p_g``; a long record (``n_i >> a_person``) is mostly its own.
Prior strengths (fitted, per network)
    ``a_group`` and ``a_person`` maximise the Dirichlet-multinomial marginal likelihood (type II
    maximum likelihood / empirical Bayes) of the groups' counts around ``p0`` and of the
    advocates' counts around their group, each left out of the mean it is compared with (a
    group against the organisation without it, an advocate against the group without them), so
    a group of one advocate does not explain itself. A log grid over ``[1e-2, 1e5]`` refined by
    a bounded scalar search, on at most 20,000 advocates (an even stride); a flat likelihood (no
    row with more than one event) gives the upper bound (full pooling). Weighted counts enter
    the same formula (real-valued counts).
Outputs
    :meth:`SlotModel.scores`: the pooled distribution per slot (share of the advocate's activity,
    or of their engagement when events are weighted by it); :meth:`SlotModel.plan`: the top-k
    slots (ties: the earlier slot of the week), their lift (score over the habit slot's, minus
    1) and the habit (the advocate's own most frequent slot; ties: higher pooled score, then
    earlier); :meth:`SlotModel.top_slots`, :meth:`SlotModel.lift`, :meth:`SlotModel.habit` are
    its parts. :meth:`SlotModel.save` / :meth:`SlotModel.load`: ``manifest.json`` +
    ``arrays.npz``. :func:`spread_slots` spreads one content item's suggestions over colleagues.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import gammaln
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from recsys.times import HOUR, decay

N_SLOTS = 168
#: 1970-01-01 (Unix time 0) was a Thursday: hours from the Monday before it.
_EPOCH_FROM_MONDAY_HOURS = 72
#: Bounds of the fitted prior strengths (pseudo-events).
STRENGTH_BOUNDS = (1e-2, 1e5)
#: Observations (advocates, groups) a prior strength is fitted on at most (an even stride).
MAX_STRENGTH_ROWS = 20_000
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CHUNK = 8192
#: Version of the saved model's layout (``manifest.json`` + ``arrays.npz``).
FORMAT_VERSION = 1
_CSR_PARTS = ("data", "indices", "indptr")


def hour_of_week(times: np.ndarray | Sequence[float]) -> np.ndarray:
    """Slot (0..167, Monday 00:00 UTC = 0) of each Unix time in seconds."""
    hours = np.floor(np.asarray(times, np.float64) / HOUR).astype(np.int64)
    return (hours + _EPOCH_FROM_MONDAY_HOURS) % N_SLOTS


def slot_name(slot: int) -> str:
    """``"Mon 09:00"`` for slot 9 (UTC)."""
    if not 0 <= slot < N_SLOTS:
        raise ValueError(f"slot: {slot} is not in 0..{N_SLOTS - 1}")
    return f"{_DAYS[slot // 24]} {slot % 24:02d}:00"


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """``(rows, k)`` columns of the ``k`` highest scores per row; ties: the lower column."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def fit_strength(
    rows: np.ndarray,
    counts: np.ndarray,
    base: np.ndarray,
    totals: np.ndarray,
    max_rows: int = MAX_STRENGTH_ROWS,
) -> float:
    """Strength ``a`` maximising ``sum_j log DirMult(counts_j | a * base_j)``.

    The nonzero cells are given flat: ``rows`` (observation of each cell), ``counts`` and the
    base probability ``base`` at that cell; ``totals`` per observation. Zero cells add nothing.
    Above ``max_rows`` observations with counts, an even stride of them (a single scalar needs
    no more). A log grid (half a decade apart) refined by a bounded scalar search.
    """
    rows, counts, base, totals = _stride(rows, counts, base, totals, max_rows)
    totals = totals[totals > 0]
    if not len(totals) or not np.any(totals > 1):  # one event per row says nothing
        return STRENGTH_BOUNDS[1]
    base = np.maximum(base, 1e-300)
    ones = counts == 1  # lgamma(1 + x) - lgamma(x) = log(x), much cheaper
    base_one, base_more, more = base[ones], base[~ones], counts[~ones]

    def loss(log_a: float) -> float:
        a = math.exp(log_a)
        whole = np.sum(gammaln(a) - gammaln(a + totals))
        cells = np.sum(np.log(a * base_one))
        cells += np.sum(gammaln(more + a * base_more) - gammaln(a * base_more))
        return -float(whole + cells)

    lo, hi = (math.log(b) for b in STRENGTH_BOUNDS)
    grid = np.linspace(lo, hi, 15)
    values = np.array([loss(x) for x in grid])
    best = int(np.argmin(values))
    if values.max() - values.min() < 1e-9:
        return STRENGTH_BOUNDS[1]
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    found = minimize_scalar(loss, bounds=(left, right), method="bounded", options={"xatol": 1e-4})
    log_a = float(found.x) if found.fun <= values[best] else float(grid[best])
    return math.exp(log_a)


def _stride(
    rows: np.ndarray, counts: np.ndarray, base: np.ndarray, totals: np.ndarray, max_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cells and totals of every ``ceil(used / max_rows)``-th observation with counts."""
    used = np.flatnonzero(totals > 0)
    if len(used) <= max_rows:
        return rows, counts, base, totals
    chosen = np.zeros(len(totals), bool)
    chosen[used[:: math.ceil(len(used) / max_rows)]] = True
    cells = chosen[rows]
    return rows[cells], counts[cells], base[cells], totals[chosen]


class SlotModel(BaseEstimator):
    """Hour-of-week slot distributions per advocate with partial pooling (module docstring).

    ``half_life_days``: recency decay of the counts (``None``: none).
    """

    def __init__(self, half_life_days: float | None = None) -> None:
        self.half_life_days = half_life_days

    def fit(
        self,
        times: np.ndarray | Sequence[float],
        persons: np.ndarray | Sequence[int],
        person_groups: np.ndarray | Sequence[int],
        *,
        values: np.ndarray | Sequence[float] | None = None,
        networks: np.ndarray | Sequence[str] | None = None,
        now: float | None = None,
    ) -> SlotModel:
        """Fit on events (Unix seconds ``times``, advocate positions ``persons``), the group
        position of every advocate (``person_groups[i]``, ``0..n_groups-1``; its length is the
        number of advocates), optional weights ``values`` and ``networks`` per event."""
        t = np.asarray(times, np.float64)
        who = np.asarray(persons, np.int64)
        groups = np.asarray(person_groups, np.int64)
        n = len(t)
        _check(who.shape == (n,), "persons", f"shape {who.shape} for {n} times")
        _check(groups.ndim == 1 and len(groups) > 0, "person_groups", "needs one group per person")
        _check(bool(np.all(groups >= 0)), "person_groups", "negative group position")
        _check(bool(np.all(np.isfinite(t))), "times", "not finite")
        _check(n == 0 or (who.min() >= 0 and who.max() < len(groups)), "persons", "out of range")
        names, net = _network_codes(networks, n)
        weight = self._weights(values, t, who * len(names) + net, net, now)
        self.networks_ = tuple(str(x) for x in names) or ("all",)
        self.person_groups_ = groups
        self.n_groups_ = int(groups.max()) + 1
        slot = hour_of_week(t)
        parts = [
            _level_fit(who[net == j], slot[net == j], weight[net == j], groups)
            for j in range(len(self.networks_))
        ]
        self.org_ = np.stack([p[0] for p in parts])
        self.group_strength_ = np.array([p[1] for p in parts])
        self.group_scores_ = np.stack([p[2] for p in parts])
        self.person_strength_ = np.array([p[3] for p in parts])
        self.person_counts_ = [p[4] for p in parts]
        return self

    def scores(
        self, persons: np.ndarray | Sequence[int] | None = None, network: str | None = None
    ) -> np.ndarray:
        """``(len(persons), 168)`` pooled slot distributions (all advocates when ``None``)."""
        j, rows = self._network(network), self._persons(persons)
        return self._pooled(self.person_counts_[j][rows].toarray(), rows, j)

    def plan(
        self,
        persons: np.ndarray | Sequence[int] | None = None,
        k: int = 3,
        network: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per advocate (all when ``None``), computed 8,192 at a time: the ``(n, k)`` best slots,
        best first (ties: the earlier slot of the week); their ``(n, k)`` lift, the score of the
        slot over the score of the habit slot minus 1 (NaN without a habit); the ``(n,)`` habit,
        the advocate's own most frequent slot (ties: higher pooled score, then the earlier
        slot; -1 without events in ``network``)."""
        _check(1 <= k <= N_SLOTS, "k", f"{k} is not in 1..{N_SLOTS}")
        j, rows = self._network(network), self._persons(persons)
        parts = [self._plan(rows[i : i + _CHUNK], k, j) for i in range(0, len(rows), _CHUNK)]
        if not parts:
            return np.zeros((0, k), np.int64), np.zeros((0, k)), np.zeros(0, np.int64)
        top, lift, habit = (np.concatenate(p) for p in zip(*parts, strict=True))
        return top, lift, habit

    def top_slots(
        self,
        persons: np.ndarray | Sequence[int] | None = None,
        k: int = 3,
        network: str | None = None,
    ) -> np.ndarray:
        """The best ``k`` slots of :meth:`plan`."""
        return self.plan(persons, k, network)[0]

    def lift(
        self,
        persons: np.ndarray | Sequence[int] | None = None,
        k: int = 3,
        network: str | None = None,
    ) -> np.ndarray:
        """The lift over the habit of the best ``k`` slots, as :meth:`plan`."""
        return self.plan(persons, k, network)[1]

    def habit(
        self, persons: np.ndarray | Sequence[int] | None = None, network: str | None = None
    ) -> np.ndarray:
        """The own most frequent slot of :meth:`plan` (-1 without events)."""
        return self.plan(persons, 1, network)[2]

    def _pooled(self, counts: np.ndarray, rows: np.ndarray, j: int) -> np.ndarray:
        prior = self.group_scores_[j][self.person_groups_[rows]]
        a = self.person_strength_[j]
        return (counts + a * prior) / (counts.sum(axis=1, keepdims=True) + a)

    def _plan(self, rows: np.ndarray, k: int, j: int) -> tuple[np.ndarray, ...]:
        counts = self.person_counts_[j][rows].toarray()
        score = self._pooled(counts, rows, j)
        top = top_k(score, k)
        most = counts.max(axis=1, keepdims=True)
        pick = np.argmax(np.where(counts == most, score, -np.inf), axis=1)
        habit = np.where(most[:, 0] > 0, pick, -1)
        own = score[np.arange(len(rows)), np.maximum(habit, 0)]
        lift = np.take_along_axis(score, top, axis=1) / own[:, None] - 1.0
        return top, np.where(habit[:, None] >= 0, lift, np.nan), habit

    def save(self, folder: str | Path) -> Path:
        """Write ``manifest.json`` and ``arrays.npz`` (plain arrays, no pickle) to ``folder``."""
        self._network(None)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {
            "kind": "slot_model",
            "format_version": FORMAT_VERSION,
            "params": {"half_life_days": self.half_life_days},
            "networks": list(self.networks_),
            "group_strength": self.group_strength_.tolist(),
            "person_strength": self.person_strength_.tolist(),
        }
        arrays: dict[str, Any] = {"org": self.org_, "group_scores": self.group_scores_}
        arrays["person_groups"] = self.person_groups_
        for j, counts in enumerate(self.person_counts_):
            arrays |= {f"{part}_{j}": getattr(counts, part) for part in _CSR_PARTS}
        np.savez(folder / "arrays.npz", **arrays)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SlotModel:
        """The model :meth:`save` wrote to ``folder``."""
        path = Path(folder) / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(f"no slot model at {folder}: {path.name} is missing")
        manifest = json.loads(path.read_text())
        if manifest.get("kind") != "slot_model":
            raise ValueError(f"{path}: kind {manifest.get('kind')!r} is not a slot model")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version {manifest.get('format_version')}")
        model = cls(**manifest["params"])
        with np.load(Path(folder) / "arrays.npz", allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
        model.networks_ = tuple(manifest["networks"])
        model.group_strength_ = np.asarray(manifest["group_strength"], np.float64)
        model.person_strength_ = np.asarray(manifest["person_strength"], np.float64)
        model.org_, model.group_scores_ = arrays["org"], arrays["group_scores"]
        model.person_groups_ = arrays["person_groups"]
        model.n_groups_ = model.group_scores_.shape[1]
        shape = (len(model.person_groups_), N_SLOTS)
        model.person_counts_ = [
            sp.csr_matrix(tuple(arrays[f"{p}_{j}"] for p in _CSR_PARTS), shape)
            for j in range(len(model.networks_))
        ]
        return model

    def _weights(
        self,
        values: np.ndarray | Sequence[float] | None,
        times: np.ndarray,
        cells: np.ndarray,
        net: np.ndarray,
        now: float | None,
    ) -> np.ndarray:
        """Event weights: ``values`` over their network's mean (counts in average events);
        with a half-life, decayed and rescaled so each (advocate, network) ``cells`` total stays
        the same: decay reshapes a record, it does not make it shorter evidence."""
        n = len(times)
        weight = np.ones(n) if values is None else np.asarray(values, np.float64)
        _check(weight.shape == (n,), "values", f"{weight.shape} for {n} times")
        _check(bool(np.all(np.isfinite(weight) & (weight >= 0))), "values", "negative or NaN")
        mean = np.bincount(net, weights=weight) / np.maximum(np.bincount(net), 1)
        weight = np.where(mean[net] > 0, weight / np.maximum(mean[net], 1e-300), 0.0)
        if self.half_life_days is None:
            return weight
        _check(self.half_life_days > 0, "half_life_days", "must be positive")
        end = float(now) if now is not None else float(times.max()) if n else 0.0
        decayed = weight * decay(np.maximum(end - times, 0.0), self.half_life_days)
        total = np.bincount(cells, weights=weight)[cells]
        kept = np.bincount(cells, weights=decayed)[cells]
        return np.where(kept > 0, decayed * total / np.maximum(kept, 1e-300), 0.0)

    def _network(self, network: str | None) -> int:
        if not hasattr(self, "networks_"):
            raise NotFittedError("SlotModel is not fitted: call fit first")
        if network is None:
            return 0
        if network not in self.networks_:
            raise ValueError(f"network: {network!r} not fitted (known: {list(self.networks_)})")
        return self.networks_.index(network)

    def _persons(self, persons: np.ndarray | Sequence[int] | None) -> np.ndarray:
        n = len(self.person_groups_)
        rows = np.arange(n) if persons is None else np.asarray(persons, np.int64)
        _check(rows.ndim == 1, "persons", "must be one-dimensional")
        _check(not len(rows) or (rows.min() >= 0 and rows.max() < n), "persons", "out of range")
        return rows


def _network_codes(
    networks: np.ndarray | Sequence[str] | None, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted network names and each event's position among them (one ``"all"`` if none)."""
    if networks is None:
        return np.array(["all"]), np.zeros(n, np.int64)
    keys = np.asarray(networks, object)
    _check(keys.shape == (n,), "networks", f"{keys.shape} for {n} times")
    names, codes = np.unique(keys.astype(str), return_inverse=True)
    return names, codes.astype(np.int64)


def _level_fit(
    persons: np.ndarray, slots: np.ndarray, weights: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray, float, sp.csr_matrix]:
    """One network: organisation distribution, group strength and distributions, advocate
    strength and counts (see the module docstring)."""
    n_persons, n_groups = len(groups), int(groups.max()) + 1
    person = sp.csr_matrix(
        (weights, (persons, slots)), shape=(n_persons, N_SLOTS), dtype=np.float64
    )
    person.sum_duplicates()
    person.eliminate_zeros()
    group = np.zeros((n_groups, N_SLOTS))
    np.add.at(group, (groups[persons], slots), weights)
    org = group.sum(axis=0)
    p0 = (org + 0.5) / (org.sum() + 0.5 * N_SLOTS)
    # groups against the organisation without them
    g_rows, g_slots = np.nonzero(group)
    rest = org[None, :] - group
    loo0 = (rest + 0.5) / (rest.sum(axis=1, keepdims=True) + 0.5 * N_SLOTS)
    a_group = fit_strength(g_rows, group[g_rows, g_slots], loo0[g_rows, g_slots], group.sum(1))
    group_total = group.sum(axis=1, keepdims=True)
    p_group = (group + a_group * p0) / (group_total + a_group)
    # advocates against their group without them
    rows = np.repeat(np.arange(n_persons), np.diff(person.indptr))
    cols, counts = person.indices, person.data
    totals = np.asarray(person.sum(axis=1)).ravel()
    g = groups[rows]
    loo = (np.maximum(group[g, cols] - counts, 0.0) + a_group * p0[cols]) / (
        group_total[g, 0] - totals[rows] + a_group
    )
    a_person = fit_strength(rows, counts, loo, totals)
    return p0, a_group, p_group, a_person, person


def spread_slots(scores: np.ndarray, k: int = 3, capacity: int | None = None) -> np.ndarray:
    """Slots for ``m`` colleagues sharing one content item, so they do not all post at once.

    ``scores``: ``(m, 168)`` (e.g. :meth:`SlotModel.scores` of the colleagues). Greedy: the
    (colleague, slot) pairs by descending score (ties: colleague, then slot, in order); a pair
    is taken while the colleague has fewer than ``k`` slots and the slot fewer than
    ``capacity`` colleagues (default: the least that fits everyone, ``ceil(m * k / 168)``).
    Returns ``(m, k)`` slots per colleague, their best first.
    """
    s = np.asarray(scores, np.float64)
    _check(s.ndim == 2 and s.shape[1] == N_SLOTS, "scores", f"shape {s.shape}, need (m, 168)")
    _check(bool(np.all(np.isfinite(s))), "scores", "not finite")
    _check(1 <= k <= N_SLOTS, "k", f"{k} is not in 1..{N_SLOTS}")
    m = s.shape[0]
    least = math.ceil(m * k / N_SLOTS)
    cap = least if capacity is None else capacity
    _check(cap >= least, "capacity", f"{cap} cannot fit {m} colleagues x {k} slots (>= {least})")
    order = np.argsort(-s.ravel(), kind="stable")
    out = np.full((m, k), -1, np.int64)
    taken = np.zeros(m, np.int64)
    load = np.zeros(N_SLOTS, np.int64)
    remaining = m * k
    while remaining:  # a second pass (one more per slot) only in a rare corner
        for flat in order:
            if not remaining:
                break
            who, slot = divmod(int(flat), N_SLOTS)
            if taken[who] < k and load[slot] < cap and slot not in out[who, : taken[who]]:
                out[who, taken[who]] = slot
                taken[who] += 1
                load[slot] += 1
                remaining -= 1
        cap += 1
    return out


def _check(ok: bool, field: str, problem: str) -> None:
    if not ok:
        raise ValueError(f"{field}: {problem}")
