"""``/share_plan`` and the opt-in ``suggested_times`` of ``/feed``: when and where to share.

Models (:class:`SlotPlanner`, from a saved :class:`recsys.forecast.share_plan.SharePlanModel`
folder, the ``advocacy-slots`` model: the ``slots`` entry of :mod:`serving.forecasts`)
    ``activity``: :class:`recsys.forecast.slots.SlotModel`, when the advocate is active (their
    habit: their own most frequent hour-of-week slot); ``rates`` (optional):
    :class:`recsys.forecast.slot_rates.SlotRateModel`, the expected engagement of a share by
    slot, relative to the advocate's typical share on that network (1.0 = typical); the
    slots are ranked by it. Without ``rates`` the activity scores rank the slots (where they
    are most active). Both are indexed by advocate position; ``employee_ids`` names the
    positions. An advocate the models do not know gets the organisation's level.
Networks of a plan
    The item's networks (none listed: any) that the model knows (a model fitted without
    networks knows every network of the contract, with the same slots on each); of those,
    the ones the advocate has shared on (per the model), or all of them when they have
    shared on none.
    ``suggested_network``: the one whose best slot for the advocate has the highest expected
    engagement (ties: the order of the model's networks). Engagement is relative to the
    advocate's own typical share on each network, so this is where timing gains the most;
    audiences of different networks are not compared.
Spreading colleagues (deterministic, cheap)
    The colleagues of an advocate for an item are the advocates of their group in the model
    (the department), in an order fixed per item: by ``key(employee) XOR key(content)``
    (8-byte BLAKE2b digests of the ids, so it is the same in every process and differs from
    item to item). That order is cut into cohorts of :data:`COHORT`; within the advocate's
    cohort, :func:`recsys.forecast.slots.spread_slots` (capacity 1) gives each member
    :data:`SLOTS` slots no other member of the cohort gets. So no hour is suggested for the
    same item to more than one colleague in 8, and each advocate's slots stay among the best
    ~24 of their own. The cost is one (8, 168) spread per item and network.
Times and why
    Each slot is given as its next start strictly after the service's clock (UTC), with the
    expected engagement there, its lift over the habit slot's (``expected / habit - 1``) and
    its rank among the advocate's own slots; ``why`` says it in words. The habit is their
    most frequent slot on the network, else over all their events (``habit_source`` "own");
    without events, their group's most likely slot ("group"), or the organisation's for an
    advocate the models do not know ("organisation").
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from features.data.directory import advocate
from features.data.schema import CONTRACT_TABLES
from features.data.store import Store
from recsys.feed_arrays import NETWORKS
from recsys.forecast.share_plan import ALL, SharePlanModel
from recsys.forecast.slot_rates import SlotRateModel
from recsys.forecast.slots import N_SLOTS, SlotModel, hour_of_week, slot_name, spread_slots
from serving.errors import NotFound, NotReady
from serving.schemas import NetworkPlanOut, SharePlanOut, SlotOut
from serving.state import ForecastState, StateHolder

#: The slot model's key in :data:`serving.forecasts.SERVED_FORECASTS` and the holder.
KEY = "slots"
#: Slots suggested per network.
SLOTS = 3
#: Colleagues who never get the same suggested hour for the same item.
COHORT = 8
#: (advocate, network) pairs whose scores and habit a loaded planner keeps.
MEMO = 4096


@dataclass(frozen=True)
class SlotSuggestion:
    """One suggested time to share on one network."""

    slot: int  # hour of the week, 0 = Monday 00:00 UTC
    at: datetime  # its next start after now (UTC)
    expected: float  # expected engagement (relative to the advocate's typical share)
    lift: float | None  # over the habit slot (None: the habit slot expects nothing)
    rank_alone: int  # 1 = the advocate's best slot, were they alone


@dataclass(frozen=True)
class NetworkPlan:
    network: str
    slots: list[SlotSuggestion]
    habit_slot: int
    habit_source: str  # "own" (their most frequent hour) or "group" (no events of their own)
    habit_expected: float
    cohort: int  # colleagues the item's slots were spread over (the advocate included)
    basis: str  # "engagement" (rates) or "activity" (no rate model)
    why: str


@dataclass(frozen=True)
class Plan:
    employee_id: str
    content_id: str
    networks: list[NetworkPlan]  # suggested network first
    suggested_network: str | None


class SlotPlanner:
    """The loaded slot models with what a plan needs precomputed (module docstring).

    A position of ``None`` is an advocate the models do not know: the organisation's level
    (its rates, its most likely hour as the habit), no spreading."""

    def __init__(
        self,
        activity: SlotModel,
        employee_ids: Sequence[str],
        rates: SlotRateModel | None = None,
    ) -> None:
        if len(employee_ids) != len(activity.person_groups_):
            raise ValueError(
                f"employee_ids: {len(employee_ids)} ids for {len(activity.person_groups_)}"
                " advocates of the slot model"
            )
        self.activity = activity
        self.rates = rates
        self.employee_ids = tuple(map(str, employee_ids))
        self._position = {e: i for i, e in enumerate(self.employee_ids)}
        self._keys = np.array([_key(e) for e in self.employee_ids], np.uint64)
        groups = np.asarray(activity.person_groups_, np.int64)
        order = np.argsort(groups, kind="stable")
        bounds = np.searchsorted(groups[order], np.arange(int(groups.max()) + 2))
        self._members = [order[a:b] for a, b in pairwise(bounds)]
        self._groups = groups
        named = rates.networks_ if rates is not None else activity.networks_
        self.networks = tuple(n for n in named if n != ALL) or NETWORKS
        self._used = {n: self._users(n) for n in self.networks}
        # one advocate's scores and habit per network, kept across the items of a feed and
        # across requests (the models do not change once loaded)
        self.scores = functools.lru_cache(maxsize=MEMO)(self._scores)  # type: ignore[method-assign]
        self.habit = functools.lru_cache(maxsize=MEMO)(self._habit)  # type: ignore[method-assign]

    def position(self, employee_id: str) -> int | None:
        return self._position.get(str(employee_id))

    def networks_for(self, position: int | None, item_networks: Sequence[str]) -> list[str]:
        """The networks of a plan (module docstring), in the model's order."""
        wanted = {n.strip().lower() for n in item_networks}
        candidates = [n for n in self.networks if not wanted or n in wanted]
        used = [n for n in candidates if position is not None and self._used[n][position]]
        return used or candidates

    def plan(
        self, employee_id: str, content_id: str, item_networks: Sequence[str], now: datetime
    ) -> Plan:
        """Every network's plan, the suggested network first (none for an item on no
        network the model knows)."""
        position = self.position(employee_id)
        plans = [
            self.network_plan(position, content_id, n, now)
            for n in self.networks_for(position, item_networks)
        ]
        best = self.best_network(position, [p.network for p in plans])
        plans.sort(key=lambda p: p.network != best)
        return Plan(employee_id, content_id, plans, best)

    def best_network(self, position: int | None, networks: Sequence[str]) -> str | None:
        """The network whose best slot expects the most for the advocate (first on ties)."""
        if not networks:
            return None
        best = [float(self.scores(position, n).max()) for n in networks]
        return networks[int(np.argmax(best))]

    def network_plan(
        self, position: int | None, content_id: str, network: str, now: datetime
    ) -> NetworkPlan:
        """The advocate's :data:`SLOTS` slots on ``network`` for the item, spread over their
        cohort, with the lift over their habit and why."""
        if position is None:
            own = self.scores(None, network)
            slots, size = np.argsort(-own, kind="stable")[:SLOTS], 1
        else:
            cohort, mine = self.cohort(position, content_id)
            scores = self.rows(cohort, network)
            own, size = scores[mine], len(cohort)
            slots = spread_slots(scores, SLOTS, capacity=1)[mine]
        rank = np.empty(N_SLOTS, np.int64)
        rank[np.argsort(-own, kind="stable")] = np.arange(1, N_SLOTS + 1)
        habit, source = self.habit(position, network)
        base = float(own[habit])
        suggestions = [
            SlotSuggestion(
                int(s),
                next_start(int(s), now),
                float(own[s]),
                float(own[s]) / base - 1.0 if base > 0 else None,
                int(rank[s]),
            )
            for s in slots
        ]
        basis = "engagement" if self.rates is not None else "activity"
        why = explain(network, suggestions, habit, source, size, basis)
        return NetworkPlan(network, suggestions, habit, source, base, size, basis, why)

    def cohort(self, position: int, content_id: str) -> tuple[np.ndarray, int]:
        """The advocate's cohort for the item (positions, in the item's order) and their row
        in it: the members whose rank in the item's order is in the advocate's block of
        :data:`COHORT`, found by two partitions (linear in the group's size, no sort)."""
        members = self._members[self._groups[position]]
        salt = np.uint64(_key(content_id))
        keys = self._keys[members] ^ salt
        at = int(np.count_nonzero(keys < (self._keys[position] ^ salt)))
        start = at - at % COHORT
        last = min(start + COHORT, len(members)) - 1
        low, high = np.partition(keys, [start, last])[[start, last]]
        chosen = np.flatnonzero((keys >= low) & (keys <= high))
        if len(chosen) != last - start + 1:  # two ids with one key: the full order
            chosen = np.argsort(keys, kind="stable")[start : last + 1]
        chosen = chosen[np.argsort(keys[chosen], kind="stable")]
        cohort = members[chosen]
        return cohort, int(np.flatnonzero(cohort == position)[0])

    def rows(self, positions: Sequence[int] | np.ndarray, network: str) -> np.ndarray:
        """``(n, 168)`` expected engagement per share (the activity share without rates)."""
        rows = np.asarray(positions, np.int64)
        if self.rates is not None:
            return self.rates.rates(rows, network)
        return self.activity.scores(rows, self._activity_network(network))

    def scores(self, position: int | None, network: str) -> np.ndarray:
        """``(168,)`` :meth:`rows` of one advocate (None: the organisation's); remembered
        for the latest :data:`MEMO` (advocate, network) pairs. Not to be modified."""
        return self._scores(position, network)

    def _scores(self, position: int | None, network: str) -> np.ndarray:
        if position is not None:
            return self.rows([position], network)[0]
        if self.rates is not None:
            return np.asarray(self.rates.org_rates_[self.rates.networks_.index(network)])
        return self._organisation(network)

    def habit(self, position: int | None, network: str) -> tuple[int, str]:
        """The advocate's own most frequent slot on ``network``, else over all their events
        ("own"); else their group's most likely one ("group"; "organisation" for an advocate
        the model does not know). Remembered as :meth:`scores`."""
        return self._habit(position, network)

    def _habit(self, position: int | None, network: str) -> tuple[int, str]:
        if position is None:
            return int(np.argmax(self._organisation(ALL))), "organisation"
        for name in dict.fromkeys((network, ALL)):
            if name in self.activity.networks_:
                own = int(self.activity.habit([position], name)[0])
                if own >= 0:
                    return own, "own"
        pooled = self.activity.scores([position], self._activity_network(ALL))[0]
        return int(np.argmax(pooled)), "group"

    def _organisation(self, network: str) -> np.ndarray:
        """The organisation's activity distribution on ``network`` (else over all events)."""
        names = self.activity.networks_
        name = self._activity_network(network) or self._activity_network(ALL)
        return np.asarray(self.activity.org_[names.index(name) if name else 0])

    def _activity_network(self, network: str) -> str | None:
        """``network`` if the activity model has it, else ``"all"`` if it has that, else
        None (its first)."""
        names = self.activity.networks_
        return network if network in names else ALL if ALL in names else None

    def _users(self, network: str) -> np.ndarray:
        """Whether each advocate has shared (or had events) on ``network`` per the model."""
        if self.rates is not None:
            counts = self.rates.person_counts_[self.rates.networks_.index(network)]
        elif network in self.activity.networks_:
            counts = self.activity.person_counts_[self.activity.networks_.index(network)]
        else:
            return np.zeros(len(self.employee_ids), bool)
        return np.diff(counts.indptr) > 0


class SharePlans:
    """``/share_plan`` answers and the ``/feed`` suggestions from the loaded planner."""

    def __init__(self, store: Store, holder: StateHolder, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.holder = holder
        self.clock = clock

    def answer(self, employee_id: str, content_id: str) -> SharePlanOut:
        """The plan of an advocate and an item (store work: a worker thread's); NotReady
        without a slot model, NotFound for an unknown (or opted-out) advocate or item."""
        loaded = self._loaded()
        if advocate(self.store, employee_id) is None:
            raise NotFound(f"no advocate with id {employee_id!r}", field="employee_id")
        networks = item_networks(self.store, content_id)
        if networks is None:
            raise NotFound(f"no content with id {content_id!r}", field="content_id")
        planner: SlotPlanner = loaded.model  # type: ignore[assignment]
        now = self.clock()
        plan = planner.plan(employee_id, content_id, networks, now)
        reason = ""
        if not plan.networks:
            reason = f"the item is meant for no network the slot model knows ({networks})"
        return SharePlanOut(
            employee_id=employee_id,
            content_id=content_id,
            suggested_network=plan.suggested_network,
            networks=[_network_out(p) for p in plan.networks],
            reason=reason,
            model_version=loaded.version.label,
            as_of=now,
        )

    def for_feed(
        self, employee_id: str, items: Sequence[tuple[str, Sequence[str]]], now: datetime
    ) -> list[tuple[str | None, list[datetime]]]:
        """Per feed item ``(content_id, its networks)``: the suggested network and its
        times, best first (one store read: whether the advocate is there and has not opted
        out); none without a slot model. An employee the model does not know, or the store
        no longer holds as an advocate who has not opted out (opted out or erased after the
        model was trained), gets the organisation's: no personal profile is used."""
        loaded = self.holder.forecast(KEY)
        if loaded is None:
            return [(None, []) for _ in items]
        planner: SlotPlanner = loaded.model  # type: ignore[assignment]
        known = advocate(self.store, employee_id) is not None
        position = planner.position(employee_id) if known else None
        out: list[tuple[str | None, list[datetime]]] = []
        for content_id, networks in items:
            best = planner.best_network(position, planner.networks_for(position, networks))
            if best is None:
                out.append((None, []))
                continue
            plan = planner.network_plan(position, content_id, best, now)
            out.append((best, [s.at for s in plan.slots]))
        return out

    def _loaded(self) -> ForecastState:
        loaded = self.holder.forecast(KEY)
        if loaded is None:
            raise NotReady("no slot model is loaded yet (see /status)")
        return loaded


def item_networks(store: Store, content_id: str) -> list[str] | None:
    """The networks an item is meant for (empty: any); None for an unknown item."""
    content = CONTRACT_TABLES["content"]
    query = sa.select(content.c.networks).where(content.c.content_id == str(content_id))
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    value = json.loads(row.networks) if isinstance(row.networks, str) else row.networks
    return [str(v).strip().lower() for v in value or ()]  # a JSON array on SQLite


def _network_out(plan: NetworkPlan) -> NetworkPlanOut:
    return NetworkPlanOut(
        network=plan.network,
        slots=[
            SlotOut(
                at=s.at,
                slot=s.slot,
                slot_name=slot_name(s.slot),
                expected_engagement=s.expected,
                lift=s.lift,
                rank_alone=s.rank_alone,
            )
            for s in plan.slots
        ],
        habit_slot=plan.habit_slot,
        habit_slot_name=slot_name(plan.habit_slot),
        habit_source=plan.habit_source,
        habit_expected_engagement=plan.habit_expected,
        cohort=plan.cohort,
        basis=plan.basis,
        why=plan.why,
    )


def next_start(slot: int, now: datetime) -> datetime:
    """The next start of hour-of-week ``slot`` strictly after ``now`` (UTC)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    current = int(hour_of_week([hour.timestamp()])[0])
    at = hour + timedelta(hours=(slot - current) % N_SLOTS)
    return at if at > now else at + timedelta(hours=N_SLOTS)


def explain(
    network: str,
    slots: Sequence[SlotSuggestion],
    habit: int,
    source: str,
    cohort: int,
    basis: str,
) -> str:
    """The plan in words: the first slot against the habit, and the spreading."""
    first = slots[0]
    usual = {
        "own": "your most frequent hour",
        "group": "your colleagues' usual hour",
        "organisation": "the organisation's usual hour",
    }[source]
    measure = "engagement per share" if basis == "engagement" else "activity"
    if first.lift is None:
        versus = f"{usual} {slot_name(habit)} UTC expects none"
    elif first.slot == habit:
        versus = f"it is {usual}, already the best"
    else:
        versus = f"{first.lift:+.0%} {measure} over {usual} {slot_name(habit)} UTC"
    text = f"{network}: {slot_name(first.slot)} UTC first ({versus})."
    if first.rank_alone > 1:
        text += (
            f" It is your #{first.rank_alone} hour: better ones go to colleagues of your"
            f" cohort of {cohort} for this item, so you do not all post at once."
        )
    elif cohort > 1:
        text += f" Spread over a cohort of {cohort} colleagues for this item."
    return text


def load_slot_planner(folder: Path) -> SlotPlanner:
    """A :class:`SlotPlanner` of a saved :class:`~recsys.forecast.share_plan.SharePlanModel`
    folder (the ``advocacy-slots`` model, :data:`serving.forecasts.SLOTS`)."""
    bundle = SharePlanModel.load(folder)
    return SlotPlanner(bundle.activity, bundle.employee_ids.tolist(), bundle.rates)


def _key(identifier: str) -> int:
    """A stable 64-bit key of an id (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(str(identifier).encode(), digest_size=8).digest(), "big")
