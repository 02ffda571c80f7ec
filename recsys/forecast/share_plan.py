"""The best-time-to-share models of one organisation, saved and loaded together.

:class:`SharePlanModel` holds a :class:`recsys.forecast.slots.SlotModel` (when each advocate is
active: hour-of-week distributions per network) and, when the store had shares with measured
outcomes, a :class:`recsys.forecast.slot_rates.SlotRateModel` (the engagement per share by
slot per network), both over the same advocates (positions = ``employee_ids``) and groups
(``groups``: the group name of each group position). ``advocacy train`` saves it as the folder
of the ``advocacy-slots`` model::

    manifest.json   kind "share_plan_model", format_version, group_by, groups, training facts
    arrays.npz      employee_ids (unicode strings, no pickle)
    activity/       SlotModel.save: manifest.json + arrays.npz
    rates/          SlotRateModel.save: manifest.json + arrays.npz (absent: no share outcomes)

:func:`load_slot_models` (or :meth:`SharePlanModel.load`) reads it back. Networks: the activity
model has ``"all"`` (every event) and one hierarchy per network the events name; the rate model
one per network with shares. An employee the models do not know (``positions`` -1) gets the
organisation's level: the organisation distribution (its top slots, no lift, habit -1) and the
organisation's rates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recsys.forecast.slot_rates import SlotRateModel
from recsys.forecast.slots import N_SLOTS, SlotModel, top_k

MODEL_KIND = "share_plan_model"
#: Version of the bundle's layout (the models inside have their own).
FORMAT_VERSION = 1
#: The activity model's network of every event.
ALL = "all"


@dataclass(frozen=True)
class SharePlan:
    """Per employee (rows in request order): the ``k`` best slots by activity (best first),
    their lift over the habit slot (NaN without a habit), the habit (-1 without events on that
    network), the expected engagement per share of each slot relative to the advocate's typical
    share (NaN without a rate model for the network) and whether the models know the employee."""

    slots: np.ndarray
    lift: np.ndarray
    habit: np.ndarray
    rate: np.ndarray
    known: np.ndarray


class SharePlanModel:
    """A fitted :class:`SlotModel` and optional :class:`SlotRateModel` with the employee ids
    they were fitted on (module docstring)."""

    def __init__(
        self,
        activity: SlotModel,
        rates: SlotRateModel | None,
        employee_ids: Sequence[str],
        groups: Sequence[str],
        *,
        group_by: str = "department",
        training: Mapping[str, Any] | None = None,
    ) -> None:
        ids = np.asarray([str(e) for e in employee_ids], dtype=str)
        n = len(activity.person_groups_)
        if len(ids) != n:
            raise ValueError(f"employee_ids: {len(ids)} ids for {n} advocates of the slot model")
        if rates is not None and len(rates.person_groups_) != n:
            raise ValueError(f"rates: {len(rates.person_groups_)} advocates, the slot model {n}")
        self.activity = activity
        self.rates = rates
        self.employee_ids = ids
        self.groups = tuple(str(g) for g in groups)
        self.group_by = group_by
        self.training = dict(training or {})
        self._index = {e: i for i, e in enumerate(ids.tolist())}

    @property
    def networks(self) -> tuple[str, ...]:
        """The activity model's networks (``"all"`` and those the events named)."""
        return tuple(self.activity.networks_)

    def positions(self, employee_ids: Sequence[str]) -> np.ndarray:
        """Each employee's position in the models, -1 when unknown."""
        found = [self._index.get(str(e), -1) for e in employee_ids]
        return np.asarray(found, np.int64).reshape(-1)

    def plan(
        self, employee_ids: Sequence[str], k: int = 3, network: str | None = None
    ) -> SharePlan:
        """The ``k`` best slots of each employee on ``network`` (default and unknown networks:
        ``"all"`` for the activity; no rates) with lift, habit and rates (:class:`SharePlan`)."""
        rows = self.positions(employee_ids)
        known = rows >= 0
        on = network if network in self.activity.networks_ else ALL
        slots = np.zeros((len(rows), k), np.int64)
        lift = np.full((len(rows), k), np.nan)
        habit = np.full(len(rows), -1, np.int64)
        slots[known], lift[known], habit[known] = self.activity.plan(rows[known], k, on)
        if not known.all():
            j = self.activity.networks_.index(on)
            slots[~known] = top_k(self.activity.org_[j][None, :], k)
        rates = self.slot_rates(employee_ids, network)
        rate = np.full((len(rows), k), np.nan)
        if rates is not None:
            rate = np.take_along_axis(rates, slots, axis=1)
        return SharePlan(slots, lift, habit, rate, known)

    def slot_rates(self, employee_ids: Sequence[str], network: str | None) -> np.ndarray | None:
        """``(n, 168)`` expected engagement per share by slot on ``network`` (unknown employees:
        the organisation's), or None without a rate model for that network."""
        model = self.rates
        if model is None or network is None or network not in model.networks_:
            return None
        rows = self.positions(employee_ids)
        known = rows >= 0
        out = np.empty((len(rows), N_SLOTS))
        out[known] = model.rates(rows[known], network)
        out[~known] = model.org_rates_[model.networks_.index(network)]
        return out

    def save(self, folder: str | Path) -> Path:
        """Write the folder of the module docstring (plain JSON and arrays, no pickle)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.activity.save(folder / "activity")
        if self.rates is not None:
            self.rates.save(folder / "rates")
        np.savez(folder / "arrays.npz", employee_ids=self.employee_ids)
        manifest = {
            "kind": MODEL_KIND,
            "format_version": FORMAT_VERSION,
            "group_by": self.group_by,
            "groups": list(self.groups),
            "rates": self.rates is not None,
            "training": self.training,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SharePlanModel:
        """The bundle :meth:`save` wrote: identical plans, scores and rates.

        Raises ``FileNotFoundError`` for a folder without the bundle's files (or a missing
        model inside), ``ValueError`` for another kind, another format version or parts that
        do not fit together."""
        folder = Path(folder)
        path = folder / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(f"no share plan model at {folder}: {path.name} is missing")
        manifest = json.loads(path.read_text())
        if manifest.get("kind") != MODEL_KIND:
            raise ValueError(f"{path}: kind {manifest.get('kind')!r} is not a share plan model")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version {manifest.get('format_version')}")
        if not (folder / "arrays.npz").is_file():
            raise FileNotFoundError(f"no share plan model at {folder}: arrays.npz is missing")
        with np.load(folder / "arrays.npz", allow_pickle=False) as stored:
            ids = stored["employee_ids"]
        activity = SlotModel.load(folder / "activity")
        rates = SlotRateModel.load(folder / "rates") if manifest.get("rates") else None
        return cls(
            activity,
            rates,
            ids.tolist(),
            manifest["groups"],
            group_by=manifest["group_by"],
            training=manifest.get("training"),
        )


def load_slot_models(folder: str | Path) -> tuple[SlotModel, SlotRateModel | None]:
    """The two models of a saved :class:`SharePlanModel` folder."""
    bundle = SharePlanModel.load(folder)
    return bundle.activity, bundle.rates
