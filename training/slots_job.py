"""Fitting and evaluating the best time to share on the store (``advocacy train``, registered
as ``advocacy-slots``): the facade over :mod:`recsys.forecast.slots`,
:mod:`recsys.forecast.slot_rates` and the protocol of :mod:`training.evaluation.slots`.

Data
    The events of the advocates who have not opted out, impressions left out (shown, not done),
    up to the snapshot's last event at or before its ``as_of`` (the data's end, as the lapse
    job reads it), counted once per advocate, clock hour and network (the ``hours`` unit of
    ``deskdrop-slots``): every event under the network ``all`` and, when it names one, under
    that network too. Group of an advocate: ``slots.group_by`` of the advocates table
    (``department``; ``region`` = country/region, ``country``, or ``none``); empty: ``?``.
    Shares with an outcome measured by the end: engagement = clicks + reactions + comments +
    reshares (latest measurement), over the mean of that advocate on that network
    (:func:`training.evaluation.slots_synthetic.share_rows`).
Held out
    The last ``slots.holdout_days`` before the end, from T = end - holdout. Activity: every
    model fitted on the events before T, the advocates with an event before T and one in
    ``[T, end]`` scored on network ``all`` (:func:`training.evaluation.slots.window_metrics`):
    ``slots`` (:class:`recsys.forecast.SlotModel`) and the baselines of ``deskdrop-slots``,
    ``organisation`` (the organisation's most active hours), ``own`` (the advocate's most
    frequent hours) and ``own_then_org``; metrics ``next@k``, ``hours@k``, ``n``, ``hours``.
    Rates (when shares with outcomes are on both sides of T): ``slot_rates``
    (:class:`recsys.forecast.SlotRateModel` on the shares before T with their outcome measured
    by T) and ``organisation_rates`` (the organisation's observed mean per network and slot)
    against the shares made in ``[T, end]``: ``corr``, the correlation of the predicted rate
    of the share's slot with its engagement over the advocate's mean before T (advocates
    without one are left out), and ``shares``.
Shipped
    :class:`recsys.forecast.SharePlanModel`: the ``SlotModel`` on every event and the
    ``SlotRateModel`` on every share with an outcome (none without such shares), over the
    advocates who have not opted out; its ``training`` holds the cut-off, holdout and counts.
Too little history
    No events before T, or fewer than ``slots.min_scored`` advocates to score after it:
    :class:`InsufficientSlotHistory` (``advocacy train`` then says so and trains the rest).
Registered
    :data:`JOB`, the ``advocacy-slots`` job of :mod:`training.forecast_jobs`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.data.contract import NETWORKS
from features.data.times import column_seconds
from features.data.times import utc as utc_time
from features.snapshot import Snapshot
from recsys.forecast import SharePlanModel, SlotModel, SlotRateModel
from recsys.forecast.share_plan import ALL
from recsys.forecast.slots import hour_of_week
from recsys.times import DAY
from training.config import SlotsConfig
from training.evaluation.report import json_safe, utc
from training.evaluation.slots import baseline_tops, fit_rows, window_metrics
from training.evaluation.slots_synthetic import share_rows
from training.forecast_jobs import ForecastJob, InsufficientHistory

BENCHMARK = "store-slots"
UNKNOWN = "?"


class InsufficientSlotHistory(InsufficientHistory):
    """Too few events (or advocates active on both sides of the held-out start)."""


class SlotData:
    """What the slot models learn from (module docstring): the advocates, their groups, the
    events counted once per advocate, hour and network, and the shares with outcomes."""

    def __init__(self, snapshot: Snapshot, settings: SlotsConfig) -> None:
        advocates = snapshot.profiled_advocates.reset_index(drop=True)
        self.employee_ids = advocates["employee_id"].astype(str).to_numpy(object)
        keys = group_keys(advocates, settings.group_by)
        names, groups = np.unique(keys.astype(str), return_inverse=True)
        self.groups, self.group_names = groups.astype(np.int64), [str(n) for n in names]
        events = snapshot.interactions
        person = pd.Index(self.employee_ids).get_indexer(events["employee_id"].astype(str))
        times = column_seconds(events["timestamp"])
        kept = (person >= 0) & (events["event_type"] != "impression").to_numpy()
        kept &= times <= utc_time(snapshot.as_of).timestamp()
        if not kept.any():
            raise InsufficientSlotHistory(
                "too little history for the best time to share: no events"
            )
        network = events["network"].fillna("").astype(str).to_numpy(object)[kept]
        self.times, self.persons, self.networks = times[kept], person[kept], network
        self.end = float(self.times.max()) + 1.0
        shared = kept & (events["event_type"] == "share").to_numpy()
        shared &= events["network"].isin(NETWORKS).to_numpy()
        self.shares_frame = {
            "advocates": advocates,
            "interactions": events.loc[shared].reset_index(drop=True),
            "share_outcomes": snapshot.share_outcomes,
        }

    def activity(self, before: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Times, advocates and networks of the counted events before ``before``: one per
        advocate and clock hour under ``all``, and one per advocate, hour and named network."""
        past = self.times < before
        t, p, n = self.times[past], self.persons[past], self.networks[past]
        parts = [(*fit_rows(t, p, "hours"), ALL)]
        for name in sorted(set(n.tolist()) - {""}):
            on = n == name
            parts.append((*fit_rows(t[on], p[on], "hours"), name))
        times = np.concatenate([part[0] for part in parts])
        persons = np.concatenate([part[1] for part in parts])
        networks = np.concatenate([np.full(len(part[0]), part[2], object) for part in parts])
        return times, persons, networks

    def shares(self, cut: float) -> dict[str, np.ndarray]:
        """The shares made before ``cut`` with an outcome measured by then (``time``,
        ``person``, ``network`` position in :data:`NETWORKS`, normalised ``value``)."""
        rows, _ = share_rows(self.shares_frame, int(cut))
        return rows


def group_keys(advocates: pd.DataFrame, group_by: str) -> np.ndarray:
    """The group key of each advocate (module docstring)."""

    def column(name: str) -> pd.Series:
        if name not in advocates.columns:
            return pd.Series([""] * len(advocates))
        return advocates[name].fillna("").astype(str).str.strip().reset_index(drop=True)

    if group_by == "none":
        return np.full(len(advocates), ALL, object)
    if group_by == "region":
        country, region = column("country"), column("region")
        keys = np.where(country == "", "", country + "/" + region)
    else:
        keys = column(group_by).to_numpy(object)
    return np.where(keys == "", UNKNOWN, keys).astype(object)


def train_slots(snapshot: Snapshot, settings: SlotsConfig) -> tuple[SharePlanModel, dict[str, Any]]:
    """The held-out evaluation and the shipped bundle of ``snapshot`` (module docstring)."""
    data = SlotData(snapshot, settings)
    evaluation = evaluate_slots(data, settings)
    model = fit_slots(data, settings)
    model.training |= {"held_out_from": evaluation["protocol"]["held_out_from"]}
    return model, evaluation


def evaluate_slots(data: SlotData, settings: SlotsConfig) -> dict[str, Any]:
    """The activity models and baselines (and the rate models) on the held-out last days."""
    started = time.perf_counter()
    start = data.end - settings.holdout_days * DAY
    past = data.times < start
    future = ~past
    scored = np.intersect1d(np.unique(data.persons[past]), np.unique(data.persons[future]))
    if not past.any() or len(scored) < settings.min_scored:
        raise InsufficientSlotHistory(
            f"too little history for the best time to share: {len(scored)} advocate(s) with"
            f" events both before and in the last {settings.holdout_days:g} days before the"
            f" last event ({utc(int(data.end))}); need {settings.min_scored}"
        )
    times, persons, networks = data.activity(start)
    on_all = networks == ALL
    clock = time.perf_counter()
    model = SlotModel(half_life_days=settings.half_life_days)
    model.fit(times, persons, data.groups, networks=networks, now=start)
    fitted = time.perf_counter() - clock
    n_persons = len(data.employee_ids)
    tops = {"slots": model.top_slots(scored, settings.k, ALL)}
    tops |= baseline_tops(times[on_all], persons[on_all], scored, settings.k, n_persons)
    models: dict[str, Any] = {}
    for name, top in tops.items():
        models[name] = window_metrics(top, scored, data.times[future], data.persons[future])
    models["slots"]["seconds"] = {"fit": round(fitted, 3)}
    rates, rate_protocol = evaluate_rates(data, settings, start)
    protocol = {
        "cut_off": utc(int(data.end)),
        "held_out_from": utc(int(start)),
        "holdout_days": settings.holdout_days,
        "k": settings.k,
        "group_by": settings.group_by,
        "groups": len(data.group_names),
        "unit": "one per advocate, clock hour and network; impressions left out",
        "slots": "hour of the week in UTC, 0 = Monday 00:00",
        "scored": "an event before the held-out start and one after it (network all)",
        "strengths": {
            "networks": list(model.networks_),
            "a_group": [round(float(x), 3) for x in model.group_strength_],
            "a_person": [round(float(x), 3) for x in model.person_strength_],
        },
        "rates": rate_protocol,
        "primary_metric": "hours@k",
    }
    return {
        "benchmark": BENCHMARK,
        "protocol": json_safe(protocol),
        "models": json_safe(models | rates),
        "seconds": round(time.perf_counter() - started, 3),
    }


def evaluate_rates(
    data: SlotData, settings: SlotsConfig, start: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``slot_rates`` and ``organisation_rates`` on the shares made after ``start`` (module
    docstring); nothing when there are no shares with outcomes on both sides."""
    before = data.shares(start)
    after = data.shares(data.end)
    new = after["time"] >= start
    if not len(before["time"]) or not new.any():
        return {}, {"skipped": "no shares with measured outcomes on both sides of the start"}
    n_nets = len(NETWORKS)
    pair = before["person"] * n_nets + before["network"]
    mean = pd.Series(before["engagement"]).groupby(pair).mean()
    test_pair = after["person"][new] * n_nets + after["network"][new]
    scale = mean.reindex(test_pair).to_numpy(np.float64)
    usable = np.isfinite(scale) & (scale > 0)
    if usable.sum() < 3:
        return {}, {"skipped": f"{int(usable.sum())} new share(s) of advocates with earlier ones"}
    realised = after["engagement"][new][usable] / scale[usable]
    persons = after["person"][new][usable]
    networks = after["network"][new][usable]
    slots = hour_of_week(after["time"][new][usable])
    names = np.array(NETWORKS, object)
    model = SlotRateModel(strength=settings.rate_strength, smooth_hours=settings.rate_smooth_hours)
    model.fit(
        before["time"], before["person"], data.groups, before["value"], names[before["network"]]
    )
    predicted = np.full(len(persons), np.nan)
    organisation = np.full(len(persons), np.nan)
    before_slots = hour_of_week(before["time"])
    for j in np.unique(networks):
        here = networks == j
        name = str(names[j])
        if name not in model.networks_:
            continue
        rates = model.rates(persons[here], name)
        predicted[here] = rates[np.arange(here.sum()), slots[here]]
        on = before["network"] == j
        sums = np.bincount(before_slots[on], weights=before["value"][on], minlength=168)
        counts = np.bincount(before_slots[on], minlength=168)
        observed = np.where(counts > 0, sums / np.maximum(counts, 1), before["value"][on].mean())
        organisation[here] = observed[slots[here]]
    known = np.isfinite(predicted)
    models = {
        "slot_rates": {
            "corr": _corr(predicted[known], realised[known]),
            "shares": int(known.sum()),
        },
        "organisation_rates": {
            "corr": _corr(organisation[known], realised[known]),
            "shares": int(known.sum()),
        },
    }
    protocol = {"shares_before": len(before["time"]), "shares_after": int(new.sum())}
    return models, protocol


def _corr(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return round(float(np.corrcoef(x, y)[0, 1]), 4)


def fit_slots(data: SlotData, settings: SlotsConfig) -> SharePlanModel:
    """The shipped bundle: every counted event and every share with an outcome."""
    times, persons, networks = data.activity(data.end)
    activity = SlotModel(half_life_days=settings.half_life_days)
    activity.fit(times, persons, data.groups, networks=networks, now=data.end)
    shares = data.shares(data.end)
    rates = None
    if len(shares["time"]):
        names = np.array(NETWORKS, object)[shares["network"]]
        rates = SlotRateModel(
            strength=settings.rate_strength, smooth_hours=settings.rate_smooth_hours
        )
        rates.fit(shares["time"], shares["person"], data.groups, shares["value"], names)
    training = {
        "cut_off": utc(int(data.end)),
        "events": len(data.times),
        "counted": len(times),
        "shares": len(shares["time"]),
        "advocates": len(data.employee_ids),
    }
    return SharePlanModel(
        activity,
        rates,
        data.employee_ids.tolist(),
        data.group_names,
        group_by=settings.group_by,
        training=training,
    )


def champion_evaluation(snapshot: Snapshot, settings: SlotsConfig) -> dict[str, Any]:
    """A (champion's) configuration evaluated on ``snapshot`` (the retrain gate)."""
    return evaluate_slots(SlotData(snapshot, settings), settings)


def _signature(model: SharePlanModel) -> Any:
    from training.mlflow_models import slots_signature

    return slots_signature(model)


def _caption(evaluation: Mapping[str, Any]) -> str:
    protocol = evaluation["protocol"]
    return (
        f"Best time to share, held out from {protocol['held_out_from'][:10]}"
        f" (top {protocol['k']} hours)"
    )


JOB = ForecastJob(
    name="advocacy-slots",  # training.registry_reader.SLOTS (no MLflow import here)
    short="slots",
    title="best time to share",
    model_key="slots",
    train=train_slots,
    evaluate=champion_evaluation,
    code=Path(__file__).with_name("pyfunc_slots.py"),
    signature=_signature,
    model_type="share-slots",
    description="Best time to share: an MLflow pyfunc (employee ids and an optional network in,"
    " the top hour-of-week slots with lift, habit and expected engagement out) over the"
    " SharePlanModel's folder (activity/ SlotModel, rates/ SlotRateModel; no pickle).",
    columns=("next@k", "hours@k", "n", "corr", "shares"),
    caption=_caption,
)
