"""``synthetic-slots``: best hour-of-week slot per advocate and network against planted effects.

Organisation
    :func:`features.data.synthetic.generate` with ``OrgConfig.slot_effect`` (default 0.4): each
    share's expected engagement is scaled by a multiplier per advocate, network and UTC
    hour-of-week slot (smooth network profile + department profile + a personal shift of up to
    4 hours, ``features.data.synthetic.slot_effects``), written to ``slot_truth`` only.
Data the models see
    The shares made before the cut-off T (``end - holdout_days``) with their latest outcome
    measured by T; a share's engagement = clicks + reactions + comments + reshares. Each is
    divided by the mean engagement of its advocate and network (an advocate whose shares there
    all have none: 1 each), so a large audience does not count as more evidence and an
    advocate's weighted total equals their number of shares. Group: the department.
Models (per advocate and network, a ranking of the 168 slots)
    ``pooled_rate`` (ours): :class:`recsys.forecast.slot_rates.SlotRateModel`, the mean
    normalised engagement per share by slot, smoothed over neighbouring hours and shrunk
    advocate -> department -> organisation with the same prior weight in every slot.
    ``department_rate`` and ``organisation_rate``: the same without the advocate level (the
    department's rates), and with neither (one group: the organisation's rates, shrunk toward
    the overall mean; the same for everyone), to show what each level adds.
    ``pooled_ratio``: two :class:`recsys.forecast.SlotModel` fits on the same shares, one
    weighted by the normalised engagement, one counting shares, and the ratio of their pooled
    scores (the prior weight of a slot is proportional to how often the group shares there,
    so a rare slot with one lucky share wins; kept to show it). ``pooled_total``: the weighted
    fit alone (how often they share there x how well it does). ``organisation``: the
    organisation's mean normalised engagement per share per slot on that network (slots
    without shares last), the same for everyone. ``habit``: the advocate's own most frequent
    slots on that network, ties broken by the organisation's most frequent.
Metrics (pairs = advocate x network with a share before T)
    ``regret@1`` = the pair's true best multiplier minus the true multiplier of the model's
    first slot; ``regret@k``: minus the mean multiplier of its top ``k``; ``within@1``: share of
    the pairs whose first slot's multiplier is at least ``1 - within`` (default 0.9) times the
    best. ``random`` is the expectation for a slot drawn uniformly (``best - mean``). Also per
    number of shares before T (``by_shares``) and per network (``by_network``, ``regret@1``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from features.data.contract import NETWORKS
from features.data.synthetic import DAY, OrgConfig, generate
from features.data.times import column_seconds
from recsys.forecast.slot_rates import SlotRateModel
from recsys.forecast.slots import N_SLOTS, SlotModel, hour_of_week, top_k
from training.evaluation.report import json_safe, result, utc
from training.evaluation.slots import baseline_tops

BENCHMARK = "synthetic-slots"
MODELS = (
    "pooled_rate",
    "department_rate",
    "organisation_rate",
    "pooled_ratio",
    "pooled_total",
    "organisation",
    "habit",
    "random",
)
METRICS = ("regret@1", "regret@k", "within@1")
ENGAGEMENT = ("clicks", "reactions", "comments", "reshares")
SHARE_BUCKETS = ((1, 1), (2, 4), (5, 19), (20, None))


def synthetic_slots(
    *,
    employees: int = 1000,
    content: int = 500,
    days: int = 180,
    seed: int = 0,
    interactions_per_employee: float = 1000.0,
    slot_effect: float = 0.4,
    holdout_days: int = 30,
    k: int = 3,
    within: float = 0.1,
) -> dict[str, object]:
    """Generate the organisation, fit on the shares before T and score every pair."""
    started = time.perf_counter()
    if not 0 < holdout_days < days:
        raise ValueError(f"holdout_days: {holdout_days} must be in 1..{days - 1} (days)")
    config = OrgConfig(
        employees=employees,
        content=content,
        days=days,
        seed=seed,
        interactions_per_employee=interactions_per_employee,
        slot_effect=slot_effect,
    )
    org = generate(config)
    cut = config.end_s - holdout_days * DAY
    shares, groups = share_rows(org.tables, cut)
    truth = truth_cube(org.slot_truth, org.tables["advocates"]["employee_id"])
    scored = evaluate_shares(shares, groups, truth, k=k, within=within)
    protocol = {
        "config": {
            "employees": employees,
            "content": content,
            "days": days,
            "seed": seed,
            "interactions_per_employee": interactions_per_employee,
            "slot_effect": slot_effect,
        },
        "cut_off": utc(cut),
        "shares_fitted": len(shares["time"]),
        "pairs": scored.pop("pairs"),
        "k": k,
        "within": within,
        "engagement": " + ".join(ENGAGEMENT),
    }
    models = scored.pop("models")
    return result(BENCHMARK, protocol, models, started) | json_safe(scored)


def share_rows(
    tables: dict[str, pd.DataFrame], cut: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The shares before ``cut`` with an outcome measured by then (arrays ``time``, ``person``
    = advocate position in the advocates table, ``network`` position in the contract's
    ``NETWORKS``, normalised ``value``, raw ``engagement``) and the department position of
    every advocate."""
    advocates = tables["advocates"]
    people = pd.Index(advocates["employee_id"])
    _, groups = np.unique(advocates["department"].astype(str), return_inverse=True)
    events = tables["interactions"]
    stamp = column_seconds(events["timestamp"])
    made = events[(events["event_type"] == "share").to_numpy() & (stamp < cut)]
    outcomes = tables["share_outcomes"]
    seen = outcomes[column_seconds(outcomes["measured_at"]) <= cut]
    last = seen.sort_values("measured_at").drop_duplicates("event_id", keep="last")
    engagement = last[list(ENGAGEMENT)].sum(axis=1).to_numpy(np.float64)
    joined = made.merge(
        pd.DataFrame({"event_id": last["event_id"].to_numpy(), "engagement": engagement}),
        on="event_id",
    )
    person = people.get_indexer(joined["employee_id"])
    network = pd.Index(NETWORKS).get_indexer(joined["network"])
    value = joined["engagement"].to_numpy(np.float64)
    pair = person * len(NETWORKS) + network
    _, inverse, count = np.unique(pair, return_inverse=True, return_counts=True)
    mean = np.bincount(inverse, weights=value) / count
    normalised = np.where(mean[inverse] > 0, value / np.maximum(mean[inverse], 1e-300), 1.0)
    rows = {"time": column_seconds(joined["timestamp"]), "person": person, "network": network}
    return rows | {"value": normalised, "engagement": value}, groups.astype(np.int64)


def truth_cube(truth: pd.DataFrame, employee_ids: pd.Series) -> dict[tuple[int, int], np.ndarray]:
    """``{(advocate position, network position): (168,) true multipliers}`` of ``slot_truth``."""
    if len(truth) % N_SLOTS:
        raise ValueError(f"slot_truth: {len(truth)} rows is not a multiple of {N_SLOTS}")
    m = truth["multiplier"].to_numpy(np.float64).reshape(-1, N_SLOTS)
    heads = truth.iloc[::N_SLOTS]
    person = pd.Index(employee_ids).get_indexer(heads["employee_id"])
    network = pd.Index(NETWORKS).get_indexer(heads["network"])
    return {(int(p), int(n)): m[i] for i, (p, n) in enumerate(zip(person, network, strict=True))}


def evaluate_shares(
    shares: dict[str, np.ndarray],
    groups: np.ndarray,
    truth: dict[tuple[int, int], np.ndarray],
    *,
    k: int = 3,
    within: float = 0.1,
    rate_params: dict[str, float] | None = None,
) -> dict[str, object]:
    """Fit the models on ``shares`` (:func:`share_rows`) and score every (advocate, network)
    with a share against ``truth`` (module docstring)."""
    names = np.array(NETWORKS, object)[shares["network"]]
    fit = {"times": shares["time"], "persons": shares["person"], "person_groups": groups}
    counts = SlotModel().fit(**fit, networks=names)
    weighted = SlotModel().fit(**fit, networks=names, values=shares["value"])
    rate = SlotRateModel(**(rate_params or {})).fit(**fit, values=shares["value"], networks=names)
    one = fit | {"person_groups": np.zeros_like(groups), "values": shares["value"]}
    one_group = SlotRateModel(**(rate_params or {})).fit(**one, networks=names)
    per_model: dict[str, list[np.ndarray]] = {m: [] for m in MODELS}
    n_shares, network_of = [], []
    for j, network in enumerate(NETWORKS):
        on = shares["network"] == j
        if not on.any():
            continue
        persons = np.unique(shares["person"][on])
        true = np.stack([truth[(int(p), j)] for p in persons])
        fitted = (counts, weighted, rate, one_group)
        for name, ranked in _rankings(shares, on, persons, fitted, network, k).items():
            per_model[name].append(_pair_metrics(true, ranked, within))
        best = true.max(axis=1)
        per_model["random"].append(np.stack([best - true.mean(1)] * 2 + [_chance(true, within)]))
        n_shares.append(np.bincount(shares["person"][on])[persons])
        network_of.append(np.full(len(persons), j))
    metrics = {m: np.concatenate(v, axis=1) for m, v in per_model.items()}
    shares_per_pair, nets = np.concatenate(n_shares), np.concatenate(network_of)
    out: dict[str, object] = {"pairs": len(shares_per_pair)}
    out["models"] = {m: _summary(v) for m, v in metrics.items()}
    out["strengths"] = _strengths(counts, weighted)
    out["by_shares"] = {
        _bucket_name(lo, hi): {m: _summary(v[:, sel]) for m, v in metrics.items()}
        for lo, hi in SHARE_BUCKETS
        for sel in [(shares_per_pair >= lo) & (shares_per_pair <= (hi or np.inf))]
        if sel.any()
    }
    out["by_network"] = {
        NETWORKS[j]: {"pairs": int(np.sum(nets == j))}
        | {m: round(float(v[0, nets == j].mean()), 4) for m, v in metrics.items()}
        for j in np.unique(nets)
    }
    return out


def _rankings(
    shares: dict[str, np.ndarray],
    on: np.ndarray,
    persons: np.ndarray,
    fitted: tuple[SlotModel, SlotModel, SlotRateModel, SlotRateModel],
    network: str,
    k: int,
) -> dict[str, np.ndarray]:
    """``(len(persons), k)`` best slots of each model but ``random`` on one network."""
    counts, weighted, rate, one_group = fitted
    j = rate.networks_.index(network)
    department = rate.group_rates_[j][rate.person_groups_[persons]]
    per_share = counts.scores(persons, network)
    per_value = weighted.scores(persons, network)
    slot = hour_of_week(shares["time"][on])
    n = np.bincount(slot, minlength=N_SLOTS).astype(np.float64)
    total = np.bincount(slot, weights=shares["value"][on], minlength=N_SLOTS)
    org_rate = np.where(n > 0, total / np.maximum(n, 1.0), -1.0)
    n_persons = len(counts.person_groups_)
    habit = baseline_tops(shares["time"][on], shares["person"][on], persons, k, n_persons)
    return {
        "pooled_rate": top_k(rate.rates(persons, network), k),
        "department_rate": top_k(department, k),
        "organisation_rate": np.tile(top_k(one_group.group_rates_[j][:1], k), (len(persons), 1)),
        "pooled_ratio": top_k(per_value / per_share, k),
        "pooled_total": top_k(per_value, k),
        "organisation": np.tile(top_k(org_rate[None, :], k), (len(persons), 1)),
        "habit": habit["own_then_org"],
    }


def _pair_metrics(true: np.ndarray, top: np.ndarray, within: float) -> np.ndarray:
    """``(3, pairs)``: regret@1, regret@k and within@1 of the slots ``top`` per pair."""
    best = true.max(axis=1)
    picked = np.take_along_axis(true, top, axis=1)
    return np.stack(
        [best - picked[:, 0], best - picked.mean(1), picked[:, 0] >= (1 - within) * best]
    )


def _chance(true: np.ndarray, within: float) -> np.ndarray:
    """The probability that a uniformly drawn slot is within ``within`` of the best."""
    return np.mean(true >= (1 - within) * true.max(axis=1, keepdims=True), axis=1)


def _summary(values: np.ndarray) -> dict[str, float | int]:
    return {m: round(float(v.mean()), 4) for m, v in zip(METRICS, values, strict=True)} | {
        "pairs": int(values.shape[1])
    }


def _strengths(counts: SlotModel, weighted: SlotModel) -> dict[str, dict[str, list[float]]]:
    """The fitted prior strengths of both fits per network (pseudo-shares)."""
    return {
        name: {
            "a_group": [round(float(x), 2) for x in model.group_strength_],
            "a_person": [round(float(x), 2) for x in model.person_strength_],
            "networks": list(model.networks_),
        }
        for name, model in (("counts", counts), ("weighted", weighted))
    }


def _bucket_name(lo: int, hi: int | None) -> str:
    return f"{lo}" if lo == hi else f"{lo}+" if hi is None else f"{lo}-{hi}"
