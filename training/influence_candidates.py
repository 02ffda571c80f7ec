"""Micro-influencer candidates: the organisation scored once, then chosen from cheaply with
the reviews in force, and the scores of past times recorded in the score history.

Scoring and choosing are separate: ``score_organisation`` scores every advocate who did not
opt out (the expensive part) into a :class:`ScoredOrganisation`; ``select_candidates`` and
``fairness_of`` apply the reviews in force and filter it (cheap), so a holder of the scored
organisation (the service) shows a review at once without scoring again. ``list_candidates``
and ``candidate_fairness`` do both for one answer (the CLI). ``backfill_scores`` records the
scores as of past times in the score history. The scorer is fitted by
:mod:`training.influence_job`; scoring is :mod:`training.influence_scoring` (this module never
imports the fitting job, so the service does not).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from features.data.contract import NETWORKS
from features.data.reader import StoreReader
from features.data.reviews import latest_reviews
from features.data.score_history import record_scores
from features.data.store import Store
from features.data.times import utc
from features.influence_features import advocate_groups
from features.snapshot import Snapshot
from recsys.errors import FieldError
from recsys.influence import (
    TIERS,
    Candidate,
    InfluenceScorer,
    ReviewState,
    apply_reviews,
    flag_rates,
)
from recsys.influence.reviews import DEFAULT_MARGIN
from recsys.matrix import FeatureMatrix
from recsys.progress import current
from recsys.times import TimeLike
from training.influence_scoring import data_start, score_snapshot

#: What ``select_candidates(review_state=...)`` accepts: never reviewed, or the decision in force.
REVIEW_STATES = ("none", "approve", "dismiss")


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
    decision in force). A bad value raises :class:`~recsys.errors.FieldError` naming it.
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
    """Raise :class:`~recsys.errors.FieldError` for a filter value
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
