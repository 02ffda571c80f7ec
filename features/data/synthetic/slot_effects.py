"""Planted time-of-week effects on the engagement of shares (the best-time-to-share benchmark).

With ``OrgConfig.slot_effect`` = ``s`` > 0, a share made by advocate ``e`` (department ``d``) on
network ``n`` in hour-of-week slot ``h`` (``recsys.forecast.slots.hour_of_week``, UTC) gets
its expected impressions, and so all its engagement counts, scaled by

    ``m(e, n, h) = exp(s * z[d, n, (h - shift[e, n]) % 168]) / mean_h exp(s * z[d, n, h])``

(a mean of 1 over the week). ``z[d, n]`` is a smooth weekly profile, standardised to mean 0 and
standard deviation 1 over the 168 slots: the network's organisation-wide profile plus
``DEPARTMENT_WEIGHT`` times a department's own, each a sum of weekly (1 and 2 cycles a week)
and daily (1 and 2 cycles a day) harmonics with normal coefficients. ``shift[e, n]`` is the
advocate's own offset, uniform in ``-MAX_SHIFT..MAX_SHIFT`` hours. So the levels organisation
-> department -> advocate each add something a pooled model can learn or borrow.

Everything is drawn from its own random stream (stream 11 of the generator), so the other
tables' draws do not change; with ``slot_effect`` = 0 nothing is planted and every table is
exactly as without it. The truth (``slot_truth_table``) goes to the ground truth only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.data.contract import NETWORKS
from features.data.synthetic.people import People
from features.data.synthetic.tables import str_column
from features.data.synthetic.vocabulary import DEPARTMENTS
from recsys.forecast.slots import N_SLOTS, hour_of_week

#: Cycles per week of the profiles' harmonics and the standard deviation of their coefficients.
HARMONICS = ((1, 0.6), (2, 0.4), (7, 1.0), (14, 0.5))
#: Weight of a department's own profile next to its network's organisation-wide one.
DEPARTMENT_WEIGHT = 0.8
#: Largest personal shift of an advocate's profile, in hours.
MAX_SHIFT = 4
TRUTH_COLUMNS = ["employee_id", "network", "slot", "multiplier"]


@dataclass(frozen=True)
class SlotEffects:
    """Planted effects: ``log_m`` (departments, networks, 168) log multipliers (already times
    ``slot_effect`` and normalised to a weekly mean multiplier of 1) and ``shift`` (employees,
    networks) hours."""

    dept: np.ndarray
    log_m: np.ndarray
    shift: np.ndarray

    def multiplier(self, emp: np.ndarray, net: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """The multiplier of each (employee position, network position, slot)."""
        at = (np.asarray(slot) - self.shift[emp, net]) % N_SLOTS
        return np.exp(self.log_m[self.dept[emp], net, at])

    def at_times(self, emp: np.ndarray, net: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The multiplier of shares made at Unix seconds ``t``."""
        return self.multiplier(emp, net, hour_of_week(t))


def _profiles(count: int, rng: np.random.Generator) -> np.ndarray:
    """``(count, 168)`` smooth weekly profiles: sums of the :data:`HARMONICS`."""
    h = np.arange(N_SLOTS) * 2 * np.pi / N_SLOTS
    out = np.zeros((count, N_SLOTS))
    for cycles, sd in HARMONICS:
        a, b = rng.normal(0.0, sd, (2, count, 1))
        out += a * np.cos(cycles * h) + b * np.sin(cycles * h)
    return out


def plant_slot_effects(strength: float, people: People, rng: np.random.Generator) -> SlotEffects:
    """Draw the profiles and the personal shifts (module docstring) from ``rng``."""
    n_dept, n_net = len(DEPARTMENTS), len(NETWORKS)
    org = _profiles(n_net, rng)
    own = _profiles(n_dept * n_net, rng).reshape(n_dept, n_net, N_SLOTS)
    z = org[None] + DEPARTMENT_WEIGHT * own
    z = (z - z.mean(axis=2, keepdims=True)) / z.std(axis=2, keepdims=True)
    log_m = strength * z
    log_m -= np.log(np.exp(log_m).mean(axis=2, keepdims=True))
    shift = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, (people.n, n_net))
    return SlotEffects(dept=people.dept, log_m=log_m, shift=shift)


def slot_truth_table(
    effects: SlotEffects, people: People, emp: np.ndarray, net: np.ndarray
) -> pd.DataFrame:
    """One row per (advocate, network) with a share (``emp``/``net`` of the shares) and slot:
    ``employee_id``, ``network``, ``slot`` (0..167, Monday 00:00 UTC = 0) and ``multiplier``
    (rounded to 5 decimals); ordered by employee id, network (contract order) and slot."""
    pairs = np.unique(np.stack([people.rank[emp], net], axis=1), axis=0)
    order = np.argsort(people.rank)
    e, n = order[pairs[:, 0]], pairs[:, 1]
    slots = np.arange(N_SLOTS)
    m = effects.multiplier(np.repeat(e, N_SLOTS), np.repeat(n, N_SLOTS), np.tile(slots, len(e)))
    return pd.DataFrame(
        {
            "employee_id": str_column(np.repeat(people.ids[e], N_SLOTS)),
            "network": str_column(np.array(NETWORKS, object)[np.repeat(n, N_SLOTS)]),
            "slot": np.tile(slots, len(e)).astype(np.int64),
            "multiplier": np.round(m, 5),
        }
    )
