"""The service's work, free of the web framework: build feeds, take events, list candidates.

:class:`Runtime` owns the live state, the refresher, the event recorder and the token table.
Its methods take validated request values and return response models or raise
:class:`~serving.errors.ServingError`; ranking methods run on the caller's thread under the
state lock (cheap, in memory), store methods are meant for a worker thread.

It is built from :class:`~serving.dependencies.Dependencies`; request values become ranking
inputs and feeds become response bodies in :mod:`serving.feed_body`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from datetime import datetime

from features.data.event_log import EventLog
from features.data.reviews import Review
from features.data.score_history import ScorePoint
from recsys.errors import OptedOutError
from recsys.feed import Feed, Standing
from recsys.feed_arrays import NETWORKS
from recsys.ids import UnknownIdError
from recsys.influence import Candidate
from serving import metrics
from serving.at_risk import FEED_ITEMS, AtRiskViews
from serving.catalogue_reader import CatalogueReader
from serving.content_forecast import ContentForecastViews
from serving.dependencies import Dependencies, load_influencer_scorer
from serving.errors import NotFound, NotReady, StoreUnavailable, Unprocessable, refused
from serving.event_follower import EventFollower
from serving.events import EventRecorder, EventsResult
from serving.feed_body import employee_of, feed_body, feed_filters, item_out, json_time
from serving.forecasts import CONTENT_FORECAST, SERVED_FORECASTS
from serving.health import StoreHealth
from serving.influencers import InfluencerViews
from serving.privacy import DataRights
from serving.program import ProgramViews
from serving.refresh import Refresher
from serving.schemas import (
    AtRiskAdvocateOut,
    AtRiskOut,
    EventIn,
    EventRejectionOut,
    EventsOut,
    Filters,
    InfluencerOut,
    InfluencersOut,
    LapseReasonOut,
    Profile,
    ReviewOut,
    SimilarOut,
    StatusOut,
    SuggestedContentOut,
)
from serving.screening import ScreeningViews
from serving.share_plan import SharePlans
from serving.share_text import ShareTexts
from serving.state import LiveState, StateHolder, engagements

logger = logging.getLogger(__name__)

#: Employees ranked per lock hold in a batch (the event loop serves others in between).
BATCH_CHUNK = 32


class Runtime:
    """The live service: state, refresher, events, influencer candidates."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps
        self.store = deps.store
        self.clock = deps.clock
        self.tokens = deps.tokens
        self.holder = StateHolder()
        self.influencer_views = InfluencerViews(
            deps.store, self.holder, deps.clock, deps.candidates_ttl
        )
        self.catalogue = CatalogueReader(
            deps.store, deps.clock, deps.encoder, deps.screening_policy
        )
        self.screening = ScreeningViews(deps.store, deps.clock)
        self.follower = EventFollower(EventLog(deps.store), self.holder)
        self.refresher = Refresher(
            self.holder,
            model_source=deps.model_source,
            catalogue=self.catalogue,
            follower=self.follower,
            clock=deps.clock,
            influencer_source=deps.influencer_source,
            influencer_loader=load_influencer_scorer,
            policy=deps.policy,
            model_refresh=deps.model_refresh,
            catalogue_refresh=deps.catalogue_refresh,
            event_follow=deps.event_follow,
            score_cache_bytes=deps.score_cache_bytes,
            freeze_heap=deps.freeze_heap,
            # a polling service scores the organisation as soon as a scorer loads
            on_influencer=self.influencer_views.warm if deps.pollers else None,
            on_forecast=self._forecast_loaded if deps.pollers else None,
            forecast_sources={
                key: (source, SERVED_FORECASTS[key].loader(deps.encoder))
                for key, source in deps.forecast_sources.items()
            },
        )
        self.at_risk_views = AtRiskViews(deps.store, self.holder, deps.clock)
        self.content_forecast_views = ContentForecastViews(deps.store, self.holder, deps.clock)
        self.recorder = EventRecorder(deps.store, deps.clock)
        refresh = self.refresher.refresh_catalogue
        self.data_rights = DataRights(
            deps.store,
            deps.clock,
            self.holder,
            refresh,
            self._forget_scores,
        )
        self.program = ProgramViews(deps.store, deps.emv_config)
        self.share_texts = ShareTexts(deps.store, self.catalogue.policy)
        self.share_plans = SharePlans(deps.store, self.holder, deps.clock)
        self.health = StoreHealth(deps.store, deps.clock, interval=deps.store_check)

    def _forecast_loaded(self, key: str) -> None:
        """A polling service reads the content forecast's store history as soon as one
        loads, so the first Forecast page does not wait for it."""
        if key == CONTENT_FORECAST.key:
            self.content_forecast_views.warm()

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Load what can be loaded now, then poll; a missing model leaves readyz false.
        The store's probe runs whether or not the pollers do."""
        if not self.tokens:
            logger.warning("no API tokens configured: every protected endpoint answers 401")
        self.health.check()
        refresher = self.refresher
        for step in (
            refresher.refresh_model,
            refresher.refresh_influencer,
            refresher.refresh_forecasts,
        ):
            try:
                step()
            except Exception as exc:
                self.holder.last_error = f"{type(exc).__name__}: {exc}"
                logger.exception("initial load failed; the pollers will retry")
        self.health.start()
        if self.deps.pollers:
            self.refresher.start()

    def close(self) -> None:
        self.health.stop()
        self.refresher.stop()
        self.content_forecast_views.stop()

    # -- readiness --------------------------------------------------------------------
    def ready(self) -> bool:
        """A recommender is loaded: feeds can be served (``/readyz``).

        The store is not asked: a replica whose store is down still serves feeds from its
        loaded state, and every replica shares the store, so taking them out of a load
        balancer would turn a store outage into a feed outage. ``/status`` (``degraded``,
        ``store_reachable``) and ``advocacy_store_up`` tell it instead."""
        return self.holder.state is not None

    def status(self) -> StatusOut:
        """What is served and what is failing, from memory (never waits on the store)."""
        state, influencer = self.holder.state, self.holder.influencer
        reachable = self.health.reachable
        errors = self.refresher.errors
        return StatusOut(
            ready=state is not None,
            degraded=state is not None and (not reachable or bool(errors)),
            model_loaded=state is not None,
            store_reachable=reachable,
            store_unreachable_since=self.health.down_since,
            refresh_errors=errors,
            model_version=None if state is None else state.model_version.label,
            model_loaded_at=None if state is None else state.model_loaded_at,
            influencer_model_version=None if influencer is None else influencer.version.label,
            **{f"{key}_model_version": self._forecast_version(key) for key in SERVED_FORECASTS},
            catalogue_items=0 if state is None else len(state.ranker.model.items_),
            live_items=0 if state is None else _live_items(state, self.clock()),
            catalogue_refreshed_at=None if state is None else state.catalogue_refreshed_at,
            last_refresh_error=self.holder.last_error,
            events_applied_through=self.holder.cursor,
            process_id=os.getpid(),
        )

    def _forecast_version(self, key: str) -> str | None:
        forecast = self.holder.forecast(key)
        return None if forecast is None else forecast.version.label

    # -- feeds (in memory, under the state lock) --------------------------------------
    def feed(
        self, employee_id: str, k: int, filters: Filters | None, profile: Profile | None
    ) -> dict[str, object]:
        """One employee's :class:`~serving.schemas.FeedOut` as its JSON body (:func:`feed_body`)."""
        wanted = feed_filters(filters)
        now = self._ranking_time()
        with self.holder.lock, refused():
            state = self._state()
            feed = state.ranker.feed(
                employee_id, k, as_of=now.timestamp(), filters=wanted, profile=employee_of(profile)
            )
        metrics.feed_served(feed.cold_start)
        return feed_body(feed, state.model_version.label, json_time(now))

    def feed_with_share_texts(
        self,
        employee_id: str,
        k: int,
        filters: Filters | None,
        profile: Profile | None,
        network: str,
    ) -> dict[str, object]:
        """:meth:`feed` with each item's suggested post on ``network`` (store work: call it
        from a worker thread)."""
        body = self.feed(employee_id, k, filters, profile)
        items: list[dict[str, object]] = body["items"]  # type: ignore[assignment]
        texts = self.share_texts.for_items(
            employee_id, [str(i["content_id"]) for i in items], network
        )
        for item, text in zip(items, texts, strict=True):
            item["share_text"] = text
        return body

    def add_suggested_times(self, employee_id: str, body: dict[str, object]) -> dict[str, object]:
        """``body`` (a :meth:`feed` body) with each item's ``suggested_network`` and
        ``suggested_times`` (:meth:`serving.share_plan.SharePlans.for_feed`)."""
        items: list[dict[str, object]] = body["items"]  # type: ignore[assignment]
        state = self.holder.state
        ids = [str(i["content_id"]) for i in items]
        networks = _item_networks(state, ids) if state is not None else [[] for _ in ids]
        pairs = list(zip(ids, networks, strict=True))
        plans = self.share_plans.for_feed(employee_id, pairs, self.clock())
        for item, (network, times) in zip(items, plans, strict=True):
            item["suggested_network"] = network
            item["suggested_times"] = [json_time(t) for t in times]
        return body

    async def feeds(
        self, employee_ids: list[str], k: int, filters: Filters | None
    ) -> dict[str, object]:
        """Feeds of many employees from one state, ``BATCH_CHUNK`` at a time under the lock;
        other requests are served between the chunks (the event loop is yielded)."""
        wanted = feed_filters(filters)
        now = self._ranking_time()
        state = self._state()
        feeds: list[Feed] = []
        for start in range(0, len(employee_ids), BATCH_CHUNK):
            chunk = employee_ids[start : start + BATCH_CHUNK]
            with self.holder.lock, refused():
                feeds += state.ranker.feeds(chunk, k, as_of=now.timestamp(), filters=wanted)
            await asyncio.sleep(0)
        for feed in feeds:
            metrics.feed_served(feed.cold_start)
        version, as_of = state.model_version.label, json_time(now)
        return {
            "feeds": [feed_body(f, version, as_of) for f in feeds],
            "model_version": version,
            "as_of": as_of,
        }

    def similar(self, content_id: str, k: int, employee_id: str | None) -> SimilarOut:
        now = self._ranking_time()
        with self.holder.lock, refused("content_id"):
            state = self._state()
            try:
                items = state.ranker.similar(
                    content_id, k, as_of=now.timestamp(), employee_id=employee_id
                )
            except UnknownIdError:
                raise NotFound(f"no content with id {content_id!r}", field="content_id") from None
        return SimilarOut(
            content_id=content_id,
            items=[item_out(i) for i in items],
            model_version=state.model_version.label,
            as_of=now,
        )

    def standing(
        self, employee_id: str, content_id: str, k: int, profile: Profile | None
    ) -> Standing:
        """Why ``content_id`` is or is not in the employee's feed of ``k`` items now
        (:meth:`recsys.feed.FeedRanker.standing`)."""
        now = self._ranking_time()
        with self.holder.lock, refused():
            state = self._state()
            try:
                return state.ranker.standing(
                    employee_id, content_id, k, as_of=now.timestamp(), profile=employee_of(profile)
                )
            except UnknownIdError:
                raise NotFound(f"no content with id {content_id!r}", field="content_id") from None

    # -- events -----------------------------------------------------------------------
    def record_events(self, events: list[EventIn]) -> EventsResult:
        """Validate and store, and add new shares to the program rollups (a worker thread's
        job: it waits for the database). While the store is down: StoreUnavailable, and
        none of the events is stored (all of a request's events are written in one
        transaction)."""
        unstored = f"the store does not answer: none of the {len(events)} events was stored"
        unstored += "; send the same request again (events are idempotent on event_id)"
        try:
            self.health.require(unstored)
            with self.health.guard(unstored):
                result = self.recorder.record(events)
        except StoreUnavailable:
            metrics.events_unavailable(len(events))
            raise
        if result.new_share_ids:
            self.program.add_shares(result.new_share_ids)
        return result

    def apply_events(self, result: EventsResult) -> EventsOut:
        """Apply the newly stored events to the live model (in memory, under the lock).

        ``applied`` counts the request's new events the live model has observed, whether
        this call applied them or the event follower got to them first (it reads the store
        every second, and may read them between their write and this call)."""
        applied = 0
        if result.new is not None:
            self.holder.apply(result.new)
            applied = engagements(result.new) if self.holder.state is not None else 0
        metrics.events_recorded(result.stored, result.duplicates, result.rejected)
        return EventsOut(
            received=result.received,
            accepted=result.accepted,
            stored=result.stored,
            duplicates=result.duplicates,
            applied=applied,
            rejected=result.rejected,
            rejections=[
                EventRejectionOut(
                    index=r.row,
                    event_id=result.event_ids[r.row] if r.row < len(result.event_ids) else None,
                    field=r.field,
                    reason=str(r.reason),
                    message=r.message,
                )
                for r in result.rejections
            ],
        )

    # -- influencers (database work: call from a worker thread) -----------------------
    def influencers(
        self, top: int | None, department: str | None, network: str | None, flagged_only: bool
    ) -> InfluencersOut:
        """``/influencers``: candidates chosen from the cached scored organisation with the
        reviews in force (:mod:`serving.influencers`)."""
        if self.holder.influencer is None:
            raise NotReady("no influencer model is loaded yet (see /status)")
        if network is not None and network.strip().lower() not in NETWORKS:
            raise Unprocessable(
                f"unknown network {network!r}; known: {', '.join(NETWORKS)}", field="network"
            )
        listed = self.influencer_views.listing(
            department=department, network=network, flagged_only=flagged_only, top=top
        )
        return InfluencersOut(
            candidates=[InfluencerOut.model_validate(c.to_dict()) for c in listed.candidates],
            model_version=listed.model_version,
            as_of=listed.as_of,
        )

    def review(self, employee_id: str, decision: str, note: str, reviewer: str) -> ReviewOut:
        """``/influencer_review``: store a decision with the advocate's current score; the
        next listing shows it (nothing is scored again)."""
        if self.holder.influencer is None:
            raise NotReady("no influencer model is loaded yet: reviews need its scores")
        from features.data.reviews import ReviewError, record_review

        found = self.influencer_views.scored()[1].candidate(employee_id)
        try:
            review = record_review(
                self.store,
                employee_id,
                decision,
                note=note,
                reviewer=reviewer,
                score=None if found is None else found.score,
                at=self.clock(),
            )
        except (UnknownIdError, OptedOutError):  # opted out: as if absent, nothing stored
            raise NotFound(f"no advocate with id {employee_id!r}", field="employee_id") from None
        except ReviewError as exc:
            raise Unprocessable(str(exc), field=exc.field) from None
        return ReviewOut(
            employee_id=review.employee_id,
            decision=review.decision,
            reviewer=review.reviewer,
            note=review.note,
            score=review.score,
            at=review.at,
        )

    def candidates(
        self,
        *,
        department: str | None = None,
        network: str | None = None,
        tier: str | None = None,
        flagged_only: bool = False,
        review_state: str | None = None,
    ) -> list[Candidate]:
        """Every matching candidate with the review in force, flagged first then by score
        (:meth:`InfluencerViews.listing`): NotReady, Unprocessable naming the filter."""
        return self.influencer_views.listing(
            department=department,
            network=network,
            tier=tier,
            flagged_only=flagged_only,
            review_state=review_state,
        ).candidates

    def candidate(self, employee_id: str) -> Candidate:
        """One candidate with the review in force; NotFound if unknown or opted out."""
        return self.influencer_views.candidate(employee_id)

    def followers(self, employee_id: str) -> dict[str, float]:
        """Followers per network of a candidate; NotFound if unknown or opted out."""
        return self.influencer_views.followers(employee_id)

    def score_history(self, employee_id: str) -> list[ScorePoint]:
        """A candidate's recorded scores, oldest first (empty if unknown or opted out)."""
        return self.influencer_views.score_history(employee_id)

    def review_history(self, employee_id: str) -> list[Review]:
        """A candidate's review decisions, oldest first (empty if unknown or opted out)."""
        return self.influencer_views.review_history(employee_id)

    def fairness(self) -> dict[str, object]:
        """Flag rates by department, region and seniority (``advocacy influencers
        fairness``)."""
        return self.influencer_views.fairness()

    # -- advocates at risk (database work: call from a worker thread) ----------------
    def at_risk(self, top: int | None, min_probability: float, department: str | None) -> AtRiskOut:
        """``/at_risk``: the advocates likeliest to lapse (:mod:`serving.at_risk`), each with
        the first items of their own live feed as the action when a recommender is loaded."""
        listed = self.at_risk_views.listing(
            top=top,
            min_probability=min_probability,
            department=department,
            suggest=self._feed_suggestions,
        )
        forecast = listed.forecast
        return AtRiskOut(
            advocates=[
                AtRiskAdvocateOut(
                    employee_id=a.risk.employee_id,
                    department=a.department,
                    probability=round(a.risk.probability, 6),
                    reasons=[LapseReasonOut.model_validate(r) for r in a.risk.reason_rows()],
                    action=a.action,
                    suggested_content=[
                        SuggestedContentOut(content_id=c, title=t) for c, t in a.suggested_content
                    ],
                )
                for a in listed.advocates
            ],
            eligible=listed.eligible,
            horizon_days=forecast.horizon_days,
            model_version=forecast.model_version,
            as_of=forecast.as_of,
        )

    def _feed_suggestions(self, employee_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """The first :data:`~serving.at_risk.FEED_ITEMS` of each known advocate's live feed
        (in memory, under the state lock); none without a recommender or for a cold start."""
        state = self.holder.state
        if state is None:
            return {}
        now = self._ranking_time()
        with self.holder.lock:
            feeds = state.ranker.feeds(list(employee_ids), FEED_ITEMS, as_of=now.timestamp())
        return {
            f.employee_id: [(i.content_id, i.title or "") for i in f.items]
            for f in feeds
            if not f.cold_start and f.items
        }

    # -- internals --------------------------------------------------------------------
    def _forget_scores(self) -> None:
        """Drop the kept influencer candidates, lapse forecast and content forecast reads
        (an employee was erased): the next request computes them again without them."""
        self.influencer_views.cache.clear()
        self.at_risk_views.cache.clear()
        self.content_forecast_views.forget()

    def _ranking_time(self) -> datetime:
        """Now, to the second: requests of the same second share the model's per-time
        caches (trends and freshness over the whole catalogue)."""
        return self.clock().replace(microsecond=0)

    def _state(self) -> LiveState:
        state = self.holder.state
        if state is None:
            raise NotReady("no recommender model is loaded yet (see /readyz)")
        return state


def _item_networks(state: LiveState, content_ids: list[str]) -> list[list[str]]:
    """The networks each item is meant for, from the live catalogue (empty: any)."""
    ranker = state.ranker
    internal = ranker.model.items_.to_internal(content_ids, missing="ignore")
    sets = ranker.catalogue.networks
    assert sets is not None  # filled by Catalogue
    return [
        [sets.vocabulary[c] for c in sets.row(int(i))] if 0 <= i < len(sets) else []
        for i in internal
    ]


def _live_items(state: LiveState, now: datetime) -> int:
    return int(state.ranker.catalogue.live(now.timestamp()).sum())
