"""Fitting, evaluating and listing micro-influencer candidates: the facade over
``features.influence_*`` and ``recsys.influence``.

Time
    ``fit_influence`` learns from time inside the data. ``end`` is the last moment with data
    (share outcome, interaction or account snapshot) at or before ``as_of`` (default: the
    snapshot's ``as_of``), so scoring "now" after the data stopped still learns from the last
    full horizon. Features as of ``T = end - horizon``, labels from ``(T, end]`` (top decile of
    engagement per share, see ``features.influence_labels``), plus up to two earlier windows
    of the same length. The model cannot be refit *at* ``as_of`` (its labels would lie in the
    future), so what moves to ``as_of`` is everything else: candidates are scored from
    features built as of ``as_of`` and percentiles compare against the organisation as of
    ``as_of`` (``InfluenceScorer.set_reference``). ``training_`` records ``features_as_of``,
    ``labels_end``, ``scored_as_of`` and every window's label counts.
Candidates
    Scoring and choosing are separate: ``score_organisation`` scores every advocate who did
    not opt out (the expensive part) into a :class:`ScoredOrganisation`; ``select_candidates``
    and ``fairness_of`` apply the reviews in force and filter it (cheap), so a holder of the
    scored organisation (the service) shows a review at once without scoring again.
    ``backfill_scores`` records the scores as of past times in the score history.
Evaluation
    ``evaluate_influence`` backtests on the store's own history: fit with labels from
    ``(as_of - 2h, as_of - h]``, score as of ``as_of - h`` and compare with the labels of
    ``(as_of - h, as_of]``, for the model and the ``leaderboard`` and ``followers`` baselines.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.data.contract import NETWORKS
from features.data.errors import FieldError
from features.data.reader import StoreReader, utc
from features.data.reviews import latest_reviews
from features.data.score_history import record_scores
from features.data.store import Store
from features.influence_features import (
    InfluenceFeatures,
    advocate_attributes,
    advocate_groups,
)
from features.influence_labels import influence_labels
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.influence import (
    TIERS,
    Candidate,
    FollowersBaseline,
    InfluenceScorer,
    LeaderboardBaseline,
    ReviewState,
    apply_reviews,
    flag_rates,
)
from recsys.influence.reviews import DEFAULT_MARGIN
from recsys.matrix import FeatureMatrix
from recsys.progress import current

logger = logging.getLogger(__name__)

FEATURE_PARAMS = ("networks", "prior_impressions", "lift_prior_shares", "org_network")
SCORER_PARAMS = tuple(InfluenceScorer().get_params())
TimeLike = datetime | pd.Timestamp | str
RECOMMENDED_LABELLED = 20
#: What ``select_candidates(review_state=...)`` accepts: never reviewed, or the decision in force.
REVIEW_STATES = ("none", "approve", "dismiss")


class InsufficientHistoryError(ValueError):
    """Too few advocates with measured shares in the label windows to learn a scorer."""


def data_end(snapshot: Snapshot) -> pd.Timestamp:
    """The last moment with data in ``snapshot`` (at most its ``as_of``)."""
    latest = [
        pd.to_datetime(frame[column], utc=True).max()
        for frame, column in (
            (snapshot.share_outcomes, "measured_at"),
            (snapshot.interactions, "timestamp"),
            (snapshot.social_accounts, "as_of"),
        )
        if len(frame)
    ]
    if not latest:
        raise ValueError("the snapshot holds no events: nothing to learn influence from")
    return min(max(latest), snapshot.as_of)


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``config`` as (feature builder params, scorer params); unknown keys raise."""
    unknown = sorted(set(config) - set(FEATURE_PARAMS) - set(SCORER_PARAMS))
    if unknown:
        raise TypeError(
            f"unknown influence setting(s) {unknown}; known: {[*FEATURE_PARAMS, *SCORER_PARAMS]}"
        )
    features = {k: v for k, v in config.items() if k in FEATURE_PARAMS}
    return features, {k: v for k, v in config.items() if k in SCORER_PARAMS}


def build_features(snapshot: Snapshot, config: Mapping[str, Any] | None = None) -> FeatureMatrix:
    """The influence feature matrix as of ``snapshot.as_of`` (advocates not opted out)."""
    builder = InfluenceFeatures(**dict(config or {}))
    return builder.fit(snapshot).transform(snapshot)


def fit_influence(
    snapshot: Snapshot,
    *,
    as_of: TimeLike | None = None,
    horizon_days: float = 30,
    random_state: int = 42,
    windows: int = 3,
    min_labelled: int = 0,
    **config: Any,
) -> InfluenceScorer:
    """Fit the scorer on features as of ``end - horizon`` and labels from ``(end - horizon,
    end]`` (``end``: the last data at or before ``as_of``), plus up to ``windows - 1`` earlier
    windows of the same length (features as of ``end - (i + 1) * horizon``, labels from the
    ``horizon`` after), each kept only when the data reaches back to its start; then set the
    organisation reference as of ``as_of`` (module docstring). Fewer than ``min_labelled``
    labelled rows (and, when ``min_labelled >= 2``, fewer than 2 positives) raise
    :class:`InsufficientHistoryError`; below :data:`RECOMMENDED_LABELLED` a warning is logged.
    The CLI asks for :data:`RECOMMENDED_LABELLED`: no candidate list from a handful of people."""
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be > 0, got {horizon_days}")
    if int(windows) < 1:
        raise ValueError(f"windows must be >= 1, got {windows}")
    feature_config, scorer_config = split_config(config)
    scored_at = snapshot.as_of if as_of is None else utc(as_of)
    if scored_at > snapshot.as_of:
        raise ValueError(f"as_of {scored_at} is after the snapshot's as_of {snapshot.as_of}")
    end = data_end(snapshot.cut(scored_at))
    horizon = pd.Timedelta(days=horizon_days)
    parts, summaries = _label_windows(snapshot, end, horizon, int(windows), feature_config)
    features, labels = _stack(parts)
    labelled, positives = int((~np.isnan(labels)).sum()), int(np.nansum(labels))
    if labelled < min_labelled or (min_labelled >= 2 and positives < 2):
        raise InsufficientHistoryError(
            f"too little history to learn from: {labelled} advocate-windows with a measured share"
            f" in the label windows ({positives} in the top decile); need {min_labelled} and 2"
        )
    if labelled < RECOMMENDED_LABELLED:
        logger.warning(
            "influence scorer fitted on only %d labelled advocate-windows (%d positive):"
            " treat its scores as rough",
            labelled,
            positives,
        )
    info = {
        "features_as_of": (end - horizon).isoformat(),
        "labels_end": end.isoformat(),
        "scored_as_of": scored_at.isoformat(),
        "horizon_days": horizon_days,
        "windows": summaries,
        "features_config": {k: _plain(v) for k, v in feature_config.items()},
        **summaries[0],
    }
    scorer = InfluenceScorer(random_state=random_state, **scorer_config)
    with current().stage("influencer fit"):
        scorer.fit(features, labels, info=info)
        scorer.set_reference(build_features(snapshot.cut(scored_at), feature_config))
    logger.info("fitted influence scorer: %s", scorer.training_)
    return scorer


def _label_windows(
    snapshot: Snapshot,
    end: pd.Timestamp,
    horizon: pd.Timedelta,
    windows: int,
    feature_config: Mapping[str, Any],
) -> tuple[list[tuple[FeatureMatrix, np.ndarray, int]], list[dict]]:
    """Features and labels of up to ``windows`` label windows back from ``end`` (see
    :func:`fit_influence`), each counted in the progress stage "influencer windows"."""
    first = data_start(snapshot)
    parts, summaries = [], []
    with current().stage("influencer windows", windows, "windows") as stage:
        for i in range(windows):
            stop, start = end - i * horizon, end - (i + 1) * horizon
            if i > 0 and start <= first:
                break
            features = build_features(snapshot.cut(start), feature_config)
            ids = list(features.ids.external)
            labels = influence_labels(snapshot.cut(stop), start, stop, ids=ids)
            parts.append((features, labels.labels, i))
            summaries.append(labels.summary())
            stage.advance()
    return parts, summaries


def data_start(snapshot: Snapshot) -> pd.Timestamp:
    """The first interaction in ``snapshot`` (its ``as_of`` when there is none)."""
    if snapshot.interactions.empty:
        return snapshot.as_of
    return pd.to_datetime(snapshot.interactions["timestamp"], utc=True).min()


def _stack(parts: list[tuple[FeatureMatrix, np.ndarray, int]]) -> tuple[FeatureMatrix, np.ndarray]:
    """Windows one under the other (row ids ``employee@window``) with their labels."""
    if len(parts) == 1:
        return parts[0][0], parts[0][1]
    names = parts[0][0].names
    values = np.vstack([np.column_stack([m.column(n) for n in names]) for m, _, _ in parts])
    ids = np.concatenate([[f"{e}@{i}" for e in m.ids.external] for m, _, i in parts])
    labels = np.concatenate([y for _, y, _ in parts])
    return FeatureMatrix(values, names, IdMap(ids.astype(object), "advocate_window")), labels


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | list) else value


def score_snapshot(
    snapshot: Snapshot, scorer: InfluenceScorer
) -> tuple[FeatureMatrix, list[Candidate]]:
    """Features as of ``snapshot.as_of`` and a candidate per advocate who did not opt out."""
    features = build_features(snapshot, scorer.training_.get("features_config"))
    candidates = scorer.score(features)
    attributes = advocate_attributes(snapshot, list(features.ids.external))
    departments = attributes["department"].astype(object).where(attributes["department"].notna())
    return features, [
        _with_department(c, d) for c, d in zip(candidates, departments.tolist(), strict=True)
    ]


def _with_department(candidate: Candidate, department: object) -> Candidate:
    return replace(candidate, department=None if department is None else str(department))


@dataclass(frozen=True, eq=False)
class ScoredOrganisation:
    """Every advocate who did not opt out, scored as of ``as_of`` (feature-row order), with
    no review applied: what :func:`select_candidates` and :func:`fairness_of` choose from.

    ``groups`` holds department, region and seniority per advocate (as ``advocate_groups``
    returns them); ``followers`` the followers per advocate of each network the scorer knows
    (the ``followers_<network>`` feature columns).
    """

    as_of: pd.Timestamp
    features: FeatureMatrix
    candidates: tuple[Candidate, ...]
    groups: Mapping[str, list[object]]
    followers: Mapping[str, np.ndarray]

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot, scorer: InfluenceScorer) -> ScoredOrganisation:
        """Score ``snapshot`` as of its ``as_of`` with ``scorer``."""
        features, candidates = score_snapshot(snapshot, scorer)
        prefix = "followers_"
        followers = {
            name.removeprefix(prefix): np.asarray(features.column(name), dtype=float)
            for name in features.names
            if name.startswith(prefix) and name.removeprefix(prefix) in NETWORKS
        }
        return cls(
            as_of=snapshot.as_of,
            features=features,
            candidates=tuple(candidates),
            groups=advocate_groups(snapshot, list(features.ids.external)),
            followers=followers,
        )

    @functools.cached_property
    def rows(self) -> dict[str, int]:
        """Each scored advocate's row."""
        return {c.employee_id: i for i, c in enumerate(self.candidates)}

    @functools.cached_property
    def columns(self) -> pd.DataFrame:
        """Per row: ``score``, ``flagged`` and ``tier`` (before reviews), ``department``
        lower-cased ("" when missing) and ``id_rank`` (the employee id's place in id order):
        what :func:`select_candidates` filters and sorts with."""
        ids = pd.Series([c.employee_id for c in self.candidates], dtype=object)
        return pd.DataFrame(
            {
                "score": np.array([c.score for c in self.candidates], dtype=float),
                "flagged": np.array([c.flagged for c in self.candidates], dtype=bool),
                "tier": np.array([c.tier for c in self.candidates], dtype=object),
                "department": np.array(
                    [(c.department or "").lower() for c in self.candidates], dtype=object
                ),
                "id_rank": ids.rank(method="first").to_numpy(dtype=np.int64),
            }
        )

    def candidate(self, employee_id: str) -> Candidate | None:
        """The advocate's candidate (no review applied), None when not scored (unknown or
        opted out)."""
        row = self.rows.get(str(employee_id))
        return None if row is None else self.candidates[row]

    def followers_of(self, employee_id: str) -> dict[str, float]:
        """Followers per network of a scored advocate (0 where they have no account);
        ``KeyError`` when the advocate was not scored."""
        row = self.rows[str(employee_id)]
        return {network: float(values[row]) for network, values in self.followers.items()}


def score_organisation(
    store: Store, scorer: InfluenceScorer, as_of: TimeLike | None = None
) -> ScoredOrganisation:
    """The organisation in ``store`` scored as of ``as_of`` (default now): the expensive part
    of a candidate list (about 20 s at 100,000 advocates), to be chosen from cheaply."""
    moment = utc(as_of if as_of is not None else datetime.now(UTC))
    snapshot = Snapshot.load(StoreReader(store), moment)
    return ScoredOrganisation.from_snapshot(snapshot, scorer)


def current_reviews(store: Store) -> dict[str, ReviewState]:
    """The review in force per advocate, as :func:`select_candidates` takes them."""
    return {k: r.state() for k, r in latest_reviews(store).items()}


def select_candidates(
    scored: ScoredOrganisation,
    reviews: Mapping[str, ReviewState],
    *,
    department: str | None = None,
    network: str | None = None,
    flagged_only: bool = False,
    tier: str | None = None,
    review_state: str | None = None,
    margin: float = DEFAULT_MARGIN,
    top: int | None = None,
) -> list[Candidate]:
    """``scored`` with ``reviews`` applied, filtered, flagged first then by score (ties by
    employee id); only the reviewed candidates are copied, the rest are ``scored``'s own.

    ``department`` matches case-insensitively; ``network`` keeps advocates with an account
    (followers > 0) on that network; ``tier`` is one of :data:`~recsys.influence.TIERS`;
    ``review_state`` is ``"none"`` (never reviewed), ``"approve"`` or ``"dismiss"`` (the
    decision in force). A bad value raises :class:`~features.data.errors.FieldError` naming it.
    """
    check_filters(network=network, tier=tier, review_state=review_state, top=top)
    keep = _static_mask(scored, department, network, tier)
    reviewed = _reviewed(scored, reviews, margin)
    flagged = _flags(scored, reviewed)
    if flagged_only:
        keep &= flagged
    wanted_state = _choice("review_state", review_state, REVIEW_STATES)
    if wanted_state is not None:
        states = np.full(len(flagged), "none", dtype=object)
        states[list(reviewed)] = [_review_state(c) for c in reviewed.values()]
        keep &= states == wanted_state
    columns = scored.columns
    order = np.lexsort((columns["id_rank"], -columns["score"], ~flagged))  # last key first
    order = order[keep[order]][:top]
    return [reviewed.get(row, scored.candidates[row]) for row in order.tolist()]


def _reviewed(
    scored: ScoredOrganisation, reviews: Mapping[str, ReviewState], margin: float
) -> dict[int, Candidate]:
    """The reviewed candidates with their review applied (``apply_reviews``), by row."""
    rows = sorted(scored.rows[e] for e in reviews if e in scored.rows)
    applied = apply_reviews([scored.candidates[r] for r in rows], reviews, margin=margin)
    return dict(zip(rows, applied, strict=True))


def _flags(scored: ScoredOrganisation, reviewed: Mapping[int, Candidate]) -> np.ndarray:
    """Every row's flag once the reviews in ``reviewed`` are applied."""
    flagged = scored.columns["flagged"].to_numpy(copy=True)
    flagged[list(reviewed)] = [c.flagged for c in reviewed.values()]
    return flagged


def check_filters(
    *,
    network: str | None = None,
    tier: str | None = None,
    review_state: str | None = None,
    top: int | None = None,
) -> None:
    """Raise :class:`~features.data.errors.FieldError` for a filter value
    :func:`select_candidates` refuses (callers check before the scoring)."""
    if top is not None and top < 1:
        raise FieldError("top", f"must be >= 1, got {top}")
    _choice("network", network, NETWORKS)
    _choice("tier", tier, TIERS)
    _choice("review_state", review_state, REVIEW_STATES)


def _static_mask(
    scored: ScoredOrganisation, department: str | None, network: str | None, tier: str | None
) -> np.ndarray:
    """Rows kept by the filters that reviews cannot change."""
    keep = np.ones(len(scored.candidates), dtype=bool)
    wanted_network = _choice("network", network, NETWORKS)
    if wanted_network is not None:
        if wanted_network not in scored.followers:
            raise FieldError("network", f"{network!r} is not among the scorer's networks")
        keep &= scored.followers[wanted_network] > 0
    wanted_tier = _choice("tier", tier, TIERS)
    if wanted_tier is not None:
        keep &= (scored.columns["tier"] == wanted_tier).to_numpy()
    if department is not None:
        keep &= (scored.columns["department"] == department.strip().lower()).to_numpy()
    return keep


def _choice(field: str, value: str | None, known: Sequence[str]) -> str | None:
    """``value`` stripped and lower-cased, or a :class:`FieldError` when it is not known."""
    if value is None:
        return None
    cleaned = value.strip().lower()
    if cleaned not in known:
        name = field.replace("_", " ")
        raise FieldError(field, f"unknown {name} {value!r}; known: {list(known)}")
    return cleaned


def _review_state(candidate: Candidate) -> str:
    return "none" if candidate.review is None else candidate.review.decision


def fairness_of(
    scored: ScoredOrganisation,
    reviews: Mapping[str, ReviewState],
    margin: float = DEFAULT_MARGIN,
) -> dict[str, object]:
    """Flag rates by department, region and seniority once ``reviews`` are applied."""
    return flag_rates(_flags(scored, _reviewed(scored, reviews, margin)), scored.groups)


def list_candidates(
    store: Store,
    scorer: InfluenceScorer,
    *,
    as_of: TimeLike | None = None,
    top: int | None = None,
    department: str | None = None,
    network: str | None = None,
    flagged_only: bool = False,
    margin: float = DEFAULT_MARGIN,
) -> list[Candidate]:
    """Candidates as of ``as_of`` (default now) with the latest reviews, chosen by
    :func:`select_candidates`; opted-out advocates never appear."""
    check_filters(network=network, top=top)  # refused before the scoring
    return select_candidates(
        score_organisation(store, scorer, as_of),
        current_reviews(store),
        department=department,
        network=network,
        flagged_only=flagged_only,
        margin=margin,
        top=top,
    )


def candidate_fairness(
    store: Store,
    scorer: InfluenceScorer,
    *,
    as_of: TimeLike | None = None,
    margin: float = DEFAULT_MARGIN,
) -> dict[str, object]:
    """Flag rates of the current candidates by department, region and seniority."""
    return fairness_of(score_organisation(store, scorer, as_of), current_reviews(store), margin)


def backfill_times(end: TimeLike, *, every_days: float, since_days: float) -> list[pd.Timestamp]:
    """``end``, ``end - every_days``, ... back to ``end - since_days``, oldest first."""
    if not every_days > 0:
        raise FieldError("every_days", f"must be > 0, got {every_days}")
    if not since_days >= 0:
        raise FieldError("since_days", f"must be >= 0, got {since_days}")
    last, step = utc(end), pd.Timedelta(days=every_days)
    count = int(since_days // every_days)
    return [last - k * step for k in range(count, -1, -1)]


def backfill_scores(
    store: Store,
    scorer: InfluenceScorer,
    *,
    model_version: str,
    times: Sequence[TimeLike],
) -> list[dict[str, object]]:
    """Score the organisation as of each of ``times`` and record it in the score history
    (``features.data.score_history``, one row per advocate and day); the store is read once.
    Times before the first interaction are skipped. One summary per time, oldest first:
    ``as_of``, ``scored_at`` (the day), ``advocates``, ``flagged``, or ``skipped``."""
    moments = sorted(utc(t) for t in times)
    if not moments:
        return []
    snapshot = Snapshot.load(StoreReader(store), moments[-1])
    first = data_start(snapshot)
    out: list[dict[str, object]] = []
    with current().stage("score history", len(moments), "days") as stage:
        for moment in moments:
            out.append(_backfill_one(store, scorer, snapshot, moment, first, model_version))
            stage.advance()
    return out


def _backfill_one(
    store: Store,
    scorer: InfluenceScorer,
    snapshot: Snapshot,
    moment: pd.Timestamp,
    first: pd.Timestamp,
    model_version: str,
) -> dict[str, object]:
    if moment < first:
        return {"as_of": moment.isoformat(), "skipped": "before the first interaction"}
    scored = ScoredOrganisation.from_snapshot(snapshot.cut(moment), scorer)
    day = record_scores(store, scored.candidates, scored_at=moment, model_version=model_version)
    return {
        "as_of": moment.isoformat(),
        "scored_at": day.isoformat(),
        "advocates": len(scored.candidates),
        "flagged": sum(c.flagged for c in scored.candidates),
    }


def ranking_metrics(
    score: np.ndarray, relevant: np.ndarray, k: int, *, labelled: np.ndarray | None = None
) -> dict[str, float | None]:
    """``auc`` (over ``labelled`` rows), ``precision@k`` and ``recall@k`` of ``score``'s top k
    (ties broken by row order) against ``relevant``."""
    score, relevant = np.asarray(score, float), np.asarray(relevant, bool)
    mask = np.ones(len(score), bool) if labelled is None else np.asarray(labelled, bool)
    auc = None
    if len(set(relevant[mask].tolist())) == 2:
        auc = round(float(roc_auc_score(relevant[mask], score[mask])), 6)
    top = np.argsort(-score, kind="stable")[:k]
    hits = int(relevant[top].sum())
    positives = int(relevant.sum())
    return {
        "auc": auc,
        "precision@k": round(hits / k, 6) if k else None,
        "recall@k": round(hits / positives, 6) if positives else None,
    }


def calibration_report(score: np.ndarray, outcome: np.ndarray, bins: int = 5) -> dict:
    """Brier score and, per score quantile bin, the mean score next to the observed rate."""
    score, outcome = np.asarray(score, float), np.asarray(outcome, float)
    if len(score) == 0:
        return {"brier": None, "mean_score": None, "positive_rate": None, "bins": []}
    edges = np.unique(np.quantile(score, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, max(len(edges) - 2, 0))
    table = [
        {
            "n": int((which == b).sum()),
            "mean_score": round(float(score[which == b].mean()), 4),
            "positive_rate": round(float(outcome[which == b].mean()), 4),
        }
        for b in np.unique(which)
    ]
    return {
        "brier": round(float(np.mean((score - outcome) ** 2)), 6),
        "mean_score": round(float(score.mean()), 4),
        "positive_rate": round(float(outcome.mean()), 4),
        "bins": table,
    }


def evaluate_influence(
    snapshot: Snapshot,
    *,
    as_of: TimeLike | None = None,
    horizon_days: float = 30,
    k: int | None = None,
    **config: Any,
) -> dict:
    """Backtest on the snapshot's history (see the module docstring); JSON-able result."""
    started = time.perf_counter()
    end = data_end(snapshot.cut(snapshot.as_of if as_of is None else utc(as_of)))
    middle = end - pd.Timedelta(days=horizon_days)
    clock = time.perf_counter()
    scorer = fit_influence(snapshot, as_of=middle, horizon_days=horizon_days, **config)
    fit_seconds = time.perf_counter() - clock
    present = snapshot.cut(middle)
    clock = time.perf_counter()
    features = build_features(present, scorer.training_.get("features_config"))
    score = scorer.predict_proba(features)
    flagged = scorer.predict(features)
    score_seconds = time.perf_counter() - clock
    labels = influence_labels(snapshot.cut(end), middle, end, ids=list(features.ids.external))
    relevant = labels.labels == 1.0
    labelled = ~np.isnan(labels.labels)
    k = int(k or max(1, labels.positives))
    models = {
        "influence": _entry(score, relevant, labelled, k, fit_seconds, score_seconds),
        **_baselines(features, relevant, labelled, k),
    }
    models["influence"]["calibration"] = calibration_report(score[labelled], relevant[labelled])
    groups = advocate_groups(present, list(features.ids.external))
    return {
        "benchmark": "influence-backtest",
        "protocol": {
            "k": k,
            "horizon_days": horizon_days,
            "train_features_as_of": scorer.training_["features_as_of"],
            "train_labels": [scorer.training_["label_start"], scorer.training_["label_end"]],
            "test_features_as_of": middle.isoformat(),
            "test_labels": [labels.start.isoformat(), labels.end.isoformat()],
            "relevant": "top decile of engagement per share in the test window",
            "auc_over": "advocates with a measured share in the test window",
            "advocates": len(features.ids),
            "labelled": labels.labelled,
            "positives": labels.positives,
            "calibration": scorer.calibration_,
        },
        "models": models,
        "fairness": flag_rates(flagged, groups),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _entry(
    score: np.ndarray,
    relevant: np.ndarray,
    labelled: np.ndarray | None,
    k: int,
    fit_seconds: float,
    score_seconds: float,
) -> dict:
    metrics = ranking_metrics(score, relevant, k, labelled=labelled)
    n = int(len(score) if labelled is None else np.sum(labelled))
    return {
        **metrics,
        "slices": {"all": {**metrics, "n": n}},
        "seconds": {"fit": round(fit_seconds, 3), "score": round(score_seconds, 3)},
    }


def _baselines(
    features: FeatureMatrix, relevant: np.ndarray, labelled: np.ndarray | None, k: int
) -> dict[str, dict]:
    out = {}
    for name, model in (("leaderboard", LeaderboardBaseline()), ("followers", FollowersBaseline())):
        clock = time.perf_counter()
        score = model.fit(features).decision_function(features)
        seconds = time.perf_counter() - clock
        out[name] = _entry(score, relevant, labelled, k, 0.0, seconds)
    return out
