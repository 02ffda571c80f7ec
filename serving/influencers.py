"""Influencer candidates for the service: the organisation scored once per influencer model
version, the reviews in force read fresh on every request.

Scoring the organisation is the expensive part of a candidate list (about 20 s at 100,000
advocates, ``training.influence_candidates.score_organisation``); choosing from it is cheap
(``select_candidates``). :class:`ScoredCache` keeps the one :class:`ScoredOrganisation` of
the loaded scorer version for ``ttl`` seconds (``ADVOCACY_CANDIDATES_TTL``, default 600):
one request scores while the others wait for it, and once the entry is stale one request
scores again while the others are answered from the stale entry. Reviews are read from the
store on every request, so a decision shows at once and never causes a new scoring.

Each scoring records that day's scores of the loaded version in the score history
(``features.data.score_history``), at most once per day and version; a failure to record is
logged and never fails the request. Every method here is database work: call it from a
worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from features.data.reviews import Review, review_history
from features.data.score_history import ScorePoint, has_scores, record_scores, score_history
from features.data.store import Store
from recsys.influence import Candidate, apply_reviews
from serving.errors import NotFound, NotReady, ServingError, Unprocessable, refused
from serving.state import InfluencerState, StateHolder
from training.influence_candidates import (
    ScoredOrganisation,
    check_filters,
    current_reviews,
    fairness_of,
    score_organisation,
    select_candidates,
)

logger = logging.getLogger(__name__)

DEFAULT_TTL = 600.0
V = TypeVar("V")
#: Seconds a request waits for a scoring in progress before a 503 (an HTTP timeout is 60).
SCORING_WAIT = 20.0


class ScoringInProgress(NotReady):
    """The organisation is being scored and the answer did not come within the wait."""


class ScoredCache(Generic[V]):
    """The scored organisation of one scorer version, kept ``ttl`` seconds (module docstring);
    any one value computed per key (``serving.at_risk`` keeps a lapse forecast in one).

    Scoring runs on a background thread, one at a time: a request never scores inline (at
    100,000 advocates a scoring outlasts an HTTP timeout). Without an entry, a request waits
    for the scoring at most ``wait`` seconds (None: as long as it takes), then gets
    :class:`ScoringInProgress`; a stale entry is answered at once while it is scored again;
    a failed scoring is raised to the requests waiting for it (the next request retries).
    """

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        *,
        busy: str = "the organisation is being scored by the influencer model",
    ):
        if not ttl > 0:
            raise ValueError(f"ttl must be > 0 seconds, got {ttl}")
        self.ttl = ttl
        self.busy = busy  # the start of the ScoringInProgress message
        self._clock = clock
        self._changed = threading.Condition()  # guards the fields below
        self._entry: tuple[str, float, V] | None = None
        self._scoring: str | None = None  # the version being scored
        self._failure: tuple[str, BaseException] | None = None

    def get(
        self,
        version: str,
        compute: Callable[[], V],
        *,
        wait: float | None = None,
    ) -> V:
        """The entry of ``version``: kept, or scored by ``compute`` in the background."""
        deadline = None if wait is None else time.monotonic() + wait
        with self._changed:
            entry = self._current(version)
            if entry is not None and self._fresh(entry):
                return entry[2]
            self._start(version, compute)
            if entry is not None:
                return entry[2]  # stale: answered now, scored again meanwhile
            while True:
                entry = self._current(version)
                if entry is not None:
                    return entry[2]
                if self._failure is not None and self._failure[0] == version:
                    raise self._failure[1]
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise ScoringInProgress(f"{self.busy}; try again in a minute")
                self._changed.wait(left)

    def warm(self, version: str, compute: Callable[[], V]) -> None:
        """Start scoring ``version`` in the background unless it is kept or being scored."""
        with self._changed:
            entry = self._current(version)
            if entry is None or not self._fresh(entry):
                self._start(version, compute)

    def clear(self) -> None:
        """Drop the kept entry (an employee was erased): the next request scores again."""
        with self._changed:
            self._entry = None

    def _start(self, version: str, compute: Callable[[], V]) -> None:
        """A background scoring of ``version`` unless one runs (call with the lock held)."""
        if self._scoring is not None:
            return
        self._scoring = version
        self._failure = None
        threading.Thread(
            target=self._score, args=(version, compute), name="score-organisation", daemon=True
        ).start()

    def _score(self, version: str, compute: Callable[[], V]) -> None:
        try:
            scored = compute()
        except BaseException as exc:  # handed to the waiting requests
            with self._changed:
                self._failure = (version, exc)
                self._scoring = None
                self._changed.notify_all()
            if not isinstance(exc, ServingError):
                logger.exception("scoring the organisation failed")
            return
        with self._changed:
            self._entry = (version, self._clock(), scored)
            self._scoring = None
            self._changed.notify_all()

    def _current(self, version: str) -> tuple[str, float, V] | None:
        entry = self._entry
        return entry if entry is not None and entry[0] == version else None

    def _fresh(self, entry: tuple[str, float, V]) -> bool:
        return self._clock() - entry[1] < self.ttl


@dataclass(frozen=True)
class CandidateList:
    """Candidates chosen from one scored organisation: by which scorer, as of when."""

    candidates: list[Candidate]
    model_version: str  # name@version of the scorer
    as_of: datetime  # UTC: when the organisation was scored


class InfluencerViews:
    """Candidates, one candidate's details and histories, and flag rates, for the service."""

    def __init__(
        self,
        store: Store,
        holder: StateHolder,
        clock: Callable[[], datetime],
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self.store = store
        self.holder = holder
        self.clock = clock
        self.cache: ScoredCache[ScoredOrganisation] = ScoredCache(ttl)
        self._recorded: set[tuple[str, date]] = set()
        self._record_lock = threading.Lock()

    def scored(self) -> tuple[InfluencerState, ScoredOrganisation]:
        """The loaded scorer and its scored organisation (cached); NotReady without one, and
        :class:`ScoringInProgress` when it is not scored within :data:`SCORING_WAIT`."""
        influencer = self.holder.influencer
        if influencer is None:
            raise NotReady("no influencer model is loaded yet (see /status)")
        return influencer, self.cache.get(
            influencer.version.version, lambda: self._score(influencer), wait=SCORING_WAIT
        )

    def warm(self) -> None:
        """Score the loaded scorer's organisation in the background (at start and on a new
        scorer version), so the first candidate list does not wait for it."""
        influencer = self.holder.influencer
        if influencer is not None:
            self.cache.warm(influencer.version.version, lambda: self._score(influencer))

    def listing(
        self,
        *,
        department: str | None = None,
        network: str | None = None,
        tier: str | None = None,
        flagged_only: bool = False,
        review_state: str | None = None,
        top: int | None = None,
    ) -> CandidateList:
        """Candidates with the reviews in force, flagged first then by score
        (``training.influence_candidates.select_candidates``); a bad filter is Unprocessable
        (checked before any scoring)."""
        with refused():
            check_filters(network=network, tier=tier, review_state=review_state, top=top)
        influencer, scored = self.scored()
        with refused():
            chosen = select_candidates(
                scored,
                current_reviews(self.store),
                department=department,
                network=network,
                flagged_only=flagged_only,
                tier=tier,
                review_state=review_state,
                top=top,
            )
        return CandidateList(chosen, influencer.version.label, scored.as_of.to_pydatetime())

    def candidate(self, employee_id: str) -> Candidate:
        """One advocate's candidate with the review in force; NotFound when not scored
        (unknown or opted out)."""
        _, found = self._scored_candidate(employee_id)
        history = review_history(self.store, found.employee_id)
        if not history:
            return found
        return apply_reviews([found], {found.employee_id: history[-1].state()})[0]

    def followers(self, employee_id: str) -> dict[str, float]:
        """Followers per network the scorer knows (0: no account); NotFound as
        :meth:`candidate`."""
        scored, found = self._scored_candidate(employee_id)
        return scored.followers_of(found.employee_id)

    def score_history(self, employee_id: str) -> list[ScorePoint]:
        """The advocate's recorded scores, oldest first (every scorer version); empty for an
        unknown or opted-out advocate."""
        return score_history(self.store, _id(employee_id))

    def review_history(self, employee_id: str) -> list[Review]:
        """The advocate's review decisions, oldest first; empty for an unknown or opted-out
        advocate."""
        return review_history(self.store, _id(employee_id))

    def fairness(self) -> dict[str, object]:
        """Flag rates with the reviews in force by department, region and seniority
        (``recsys.influence.flag_rates``, as ``advocacy influencers fairness`` prints)."""
        _, scored = self.scored()
        return fairness_of(scored, current_reviews(self.store))

    def _scored_candidate(self, employee_id: str) -> tuple[ScoredOrganisation, Candidate]:
        wanted = _id(employee_id)
        _, scored = self.scored()
        found = scored.candidate(wanted)
        if found is None:
            raise NotFound(f"no advocate with id {employee_id!r}", field="employee_id")
        return scored, found

    def _score(self, influencer: InfluencerState) -> ScoredOrganisation:
        with refused():
            scored = score_organisation(
                self.store,
                influencer.scorer,  # type: ignore[arg-type]
                self.clock(),
            )
        self._record(influencer.version.label, scored)
        return scored

    def _record(self, version: str, scored: ScoredOrganisation) -> None:
        """Record the day's scores of ``version`` unless done already (logged on failure)."""
        key = (version, scored.as_of.date())
        with self._record_lock:
            if key in self._recorded:
                return
            try:
                if not has_scores(self.store, scored_at=scored.as_of, model_version=version):
                    record_scores(
                        self.store, scored.candidates, scored_at=scored.as_of, model_version=version
                    )
                self._recorded.add(key)
            except Exception:
                logger.exception("could not record the influencer scores of %s", version)


def _id(employee_id: str) -> str:
    if not str(employee_id or "").strip():
        raise Unprocessable("must not be blank", field="employee_id")
    return str(employee_id).strip()
