"""Expected engagement per share by hour-of-week slot, pooled organisation -> group -> advocate.

:class:`recsys.forecast.slots.SlotModel` says *when an advocate is active* (a distribution over
slots); this says *how well a share does* in each slot, whatever how often they share there.

Per network, each share adds 1 to its advocate's share count ``n`` and its value (e.g. its
engagement over the mean engagement of its advocate on that network) to their sum ``v`` in its
slot (:func:`recsys.forecast.slots.hour_of_week`, UTC). With ``smooth_hours`` = ``h`` > 0 both
are first spread over the neighbouring slots with triangular weights (``h + 1 - |d|`` for
``|d| <= h``, normalised; the week wraps around): time effects are smooth, so a share at 09:00
says something about 08:00 and 10:00. Then, with a strength ``b`` (pseudo-shares, per level):

    organisation ``r0(s) = (V(s) + b * mean) / (N(s) + b)`` (``mean`` = all values / all shares);
    group ``rg(s) = (V_g(s) + b * r0(s)) / (N_g(s) + b)``;
    advocate ``ri(s) = (v_i(s) + b * rg(s)) / (n_i(s) + b)``.

Unlike the slot distribution's prior (proportional to how often the group shares at ``s``),
the weight of the prior here is the same in every slot, so a rare slot with one lucky share
does not win. ``b`` is a fixed hyperparameter (not fitted).

:meth:`SlotRateModel.save` / :meth:`SlotRateModel.load`: ``manifest.json`` + ``arrays.npz``
(plain arrays, no pickle), identical rates after loading.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from recsys.forecast.slots import N_SLOTS, _check, hour_of_week

MODEL_KIND = "slot_rate_model"
#: Version of the saved model's layout (``manifest.json`` + ``arrays.npz``).
FORMAT_VERSION = 1
_CSR_PARTS = ("data", "indices", "indptr")


class SlotRateModel(BaseEstimator):
    """Pooled mean value per share by slot (module docstring).

    ``strength``: pseudo-shares of each level's prior; ``smooth_hours``: half-width of the
    triangular smoothing over neighbouring slots (0: none).
    """

    def __init__(self, strength: float = 30.0, smooth_hours: int = 5) -> None:
        self.strength = strength
        self.smooth_hours = smooth_hours

    def fit(
        self,
        times: np.ndarray | Sequence[float],
        persons: np.ndarray | Sequence[int],
        person_groups: np.ndarray | Sequence[int],
        values: np.ndarray | Sequence[float],
        networks: np.ndarray | Sequence[str] | None = None,
    ) -> SlotRateModel:
        """Fit on shares (Unix seconds ``times``, advocate positions ``persons``, ``values``,
        optional ``networks``) and the group position of every advocate."""
        t = np.asarray(times, np.float64)
        who = np.asarray(persons, np.int64)
        value = np.asarray(values, np.float64)
        groups = np.asarray(person_groups, np.int64)
        n = len(t)
        _check(self.strength > 0, "strength", f"{self.strength} must be positive")
        _check(0 <= self.smooth_hours < N_SLOTS // 2, "smooth_hours", "not in 0..83")
        _check(who.shape == (n,) and value.shape == (n,), "persons/values", f"need {n} each")
        _check(bool(np.all(np.isfinite(value))), "values", "not finite")
        _check(groups.ndim == 1 and len(groups) > 0, "person_groups", "one group per person")
        _check(bool(np.all(groups >= 0)), "person_groups", "negative group position")
        _check(n == 0 or (who.min() >= 0 and who.max() < len(groups)), "persons", "out of range")
        keys = np.full(n, "all", object) if networks is None else np.asarray(networks, object)
        _check(keys.shape == (n,), "networks", f"{keys.shape} for {n} times")
        names, net = np.unique(keys.astype(str), return_inverse=True)
        self.networks_ = tuple(str(x) for x in names) or ("all",)
        self.person_groups_ = groups
        self.kernel_ = _kernel(self.smooth_hours)
        slot = hour_of_week(t)
        self.person_counts_, self.person_values_ = [], []
        self.group_rates_, self.org_rates_ = [], []
        for j in range(len(self.networks_)):
            on = net == j
            counts, sums = _cells(who[on], slot[on], value[on], len(groups), self.kernel_)
            self.person_counts_.append(counts)
            self.person_values_.append(sums)
            org, by_group = self._group_rates(counts, sums, groups)
            self.org_rates_.append(org)
            self.group_rates_.append(by_group)
        return self

    def rates(
        self, persons: np.ndarray | Sequence[int] | None = None, network: str | None = None
    ) -> np.ndarray:
        """``(len(persons), 168)`` pooled mean value per share by slot (all when ``None``)."""
        if not hasattr(self, "networks_"):
            raise NotFittedError("SlotRateModel is not fitted: call fit first")
        j = 0 if network is None else self._network(network)
        rows = np.arange(len(self.person_groups_)) if persons is None else np.asarray(persons)
        b = self.strength
        prior = self.group_rates_[j][self.person_groups_[rows]]
        counts = self.person_counts_[j][rows].toarray()
        sums = self.person_values_[j][rows].toarray()
        return (sums + b * prior) / (counts + b)

    def save(self, folder: str | Path) -> Path:
        """Write ``manifest.json`` and ``arrays.npz`` (plain arrays, no pickle) to ``folder``."""
        if not hasattr(self, "networks_"):
            raise NotFittedError("SlotRateModel is not fitted: call fit first")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {
            "kind": MODEL_KIND,
            "format_version": FORMAT_VERSION,
            "params": {"strength": self.strength, "smooth_hours": self.smooth_hours},
            "networks": list(self.networks_),
        }
        arrays: dict[str, Any] = {
            "person_groups": self.person_groups_,
            "group_rates": np.stack(self.group_rates_),
            "org_rates": np.stack(self.org_rates_),
        }
        for j in range(len(self.networks_)):
            for name, matrix in (
                ("counts", self.person_counts_[j]),
                ("values", self.person_values_[j]),
            ):
                arrays |= {f"{name}_{part}_{j}": getattr(matrix, part) for part in _CSR_PARTS}
        np.savez(folder / "arrays.npz", **arrays)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SlotRateModel:
        """The model :meth:`save` wrote to ``folder`` (identical :meth:`rates`).

        Raises ``FileNotFoundError`` without ``manifest.json`` or ``arrays.npz``, ``ValueError``
        for another kind of model, another format version or arrays that do not fit."""
        folder = Path(folder)
        path = folder / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(f"no slot rate model at {folder}: {path.name} is missing")
        manifest = json.loads(path.read_text())
        if manifest.get("kind") != MODEL_KIND:
            raise ValueError(f"{path}: kind {manifest.get('kind')!r} is not a slot rate model")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version {manifest.get('format_version')}")
        if not (folder / "arrays.npz").is_file():
            raise FileNotFoundError(f"no slot rate model at {folder}: arrays.npz is missing")
        model = cls(**manifest["params"])
        with np.load(folder / "arrays.npz", allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
        model.networks_ = tuple(str(n) for n in manifest["networks"])
        model.person_groups_ = arrays["person_groups"]
        model.kernel_ = _kernel(model.smooth_hours)
        n = len(model.networks_)
        n_groups = int(model.person_groups_.max()) + 1 if len(model.person_groups_) else 0
        if arrays["group_rates"].shape != (n, n_groups, N_SLOTS):
            raise ValueError(
                f"{folder}: group_rates of shape {arrays['group_rates'].shape}, expected"
                f" {(n, n_groups, N_SLOTS)} ({n} networks, {n_groups} groups)"
            )
        model.group_rates_ = list(arrays["group_rates"])
        model.org_rates_ = list(arrays["org_rates"])
        shape = (len(model.person_groups_), N_SLOTS)
        model.person_counts_, model.person_values_ = [], []
        for j in range(n):
            for name, into in (("counts", model.person_counts_), ("values", model.person_values_)):
                parts = tuple(arrays[f"{name}_{part}_{j}"] for part in _CSR_PARTS)
                into.append(sp.csr_matrix(parts, shape))
        return model

    def _group_rates(
        self, counts: sp.csr_matrix, sums: sp.csr_matrix, groups: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The organisation's ``(168,)`` rates and the groups' ``(n_groups, 168)``."""
        b, n_groups = self.strength, int(groups.max()) + 1
        member = sp.csr_matrix(
            (np.ones(len(groups)), (groups, np.arange(len(groups)))), (n_groups, len(groups))
        )
        n_g, v_g = (member @ counts).toarray(), (member @ sums).toarray()
        total = n_g.sum()
        mean = v_g.sum() / total if total > 0 else 1.0
        org = (v_g.sum(axis=0) + b * mean) / (n_g.sum(axis=0) + b)
        return org, (v_g + b * org) / (n_g + b)

    def _network(self, network: str) -> int:
        if network not in self.networks_:
            raise ValueError(f"network: {network!r} not fitted (known: {list(self.networks_)})")
        return self.networks_.index(network)


def _kernel(h: int) -> np.ndarray:
    """Triangular weights of the offsets ``-h..h`` (sum 1)."""
    w = h + 1.0 - np.abs(np.arange(-h, h + 1))
    return w / w.sum()


def _cells(
    persons: np.ndarray, slots: np.ndarray, values: np.ndarray, n_persons: int, kernel: np.ndarray
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Smoothed sparse ``(n_persons, 168)`` share counts and value sums."""
    h = len(kernel) // 2
    rows = np.tile(persons, len(kernel))
    cols = np.concatenate([(slots + d) % N_SLOTS for d in range(-h, h + 1)])
    w = np.repeat(kernel, len(persons))
    shape = (n_persons, N_SLOTS)
    counts = sp.csr_matrix((w, (rows, cols)), shape)
    sums = sp.csr_matrix((w * np.tile(values, len(kernel)), (rows, cols)), shape)
    return counts, sums
