"""The BentoML service: ``bentoml serve serving.service:AdvocacyService``.

Endpoints (POST, JSON; bearer token with a role, see :mod:`serving.auth`): ``/feed``,
``/feeds_batch``, ``/similar``, ``/events``, ``/share_text`` (front ends), ``/share_plan``
(front ends and program managers), ``/influencers``, ``/influencer_review``, ``/analytics``,
``/attribution``, ``/at_risk``, ``/content_forecast``, ``/content_forecast_draft`` (program
managers), ``/status``.
BentoML's own ``/healthz``, ``/livez`` (process up), ``/readyz`` (a model is loaded, from
:meth:`AdvocacyService.__is_ready__`; the store is not asked, see
:meth:`~serving.runtime.Runtime.ready`) and ``/metrics`` (Prometheus) need no token; the
OpenAPI spec at ``/docs.json`` documents every status each endpoint answers
(:mod:`serving.openapi`). The program manager console (:mod:`serving.console`) is mounted
at ``/console``.

While the store does not answer, feeds keep coming from the loaded state; the endpoints
that need the store answer 503 ``store_unavailable`` with ``Retry-After``
(:class:`~serving.errors.StoreUnavailable`), never a 500.

Configuration comes from the environment (:class:`~serving.config.ServingConfig`); a host
or a test injects its own :class:`~serving.dependencies.Dependencies` with
:func:`use_dependencies` before the service is instantiated. The model work of a request
runs on the event loop (in memory, a few milliseconds); database work runs on a worker
thread.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
import bentoml
import orjson
from pydantic import BaseModel, Field, StrictFloat, ValidationError
from starlette.responses import JSONResponse

from features.program.request import DEFAULT_ATTRIBUTION_CHANNEL, DEFAULT_ATTRIBUTION_MODEL
from serving.auth import Endpoint
from serving.config import ServingConfig, workers_from_env
from serving.console import MOUNT as CONSOLE_MOUNT
from serving.console import MountedConsole
from serving.dependencies import Dependencies, dependencies_from_config
from serving.errors import ServingError
from serving.openapi import AsPublished
from serving.runtime import Runtime
from serving.schemas import (
    MAX_BATCH_EMPLOYEES,
    MAX_EVENTS,
    MAX_FORECAST_IDS,
    AnalyticsOut,
    AtRiskOut,
    AttributionOut,
    Code,
    ContentForecastOut,
    DataErasureOut,
    DataExportOut,
    DraftIn,
    EventIn,
    EventsOut,
    EventsRejectedOut,
    FeedOut,
    FeedsBatchOut,
    Filters,
    Flag,
    Id,
    InfluencersOut,
    K,
    Profile,
    ReviewOut,
    ScreeningItemOut,
    ScreeningQueueOut,
    SharePlanOut,
    ShareTextOut,
    SimilarOut,
    StatusOut,
    Time,
    Whole,
)

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
_factory: Callable[[], Dependencies] | None = None
_BENTOML_ERROR_LOGGER = "bentoml._internal.server.http_app"
_NO_URL = {"detail": {"__all__": {"url"}}}


class FeedResponse(JSONResponse):
    """A feed body (plain dicts, lists, str, int, finite float: :func:`serving.feed_body.feed_body`)
    as compact UTF-8 JSON written by orjson: the values of Starlette's ``JSONResponse`` (some
    exponents are spelled differently: ``0.000015`` for ``1.5e-05``), in a fifteenth of
    the time."""

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


def use_dependencies(factory: Callable[[], Dependencies] | None) -> None:
    """Build the next service instance from ``factory`` (None: from the environment)."""
    global _factory
    _factory = factory


class _RedactValidationErrors(logging.Filter):
    """BentoML logs a rejected body's validation error with the offending values (ids,
    names); keep the field locations only."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ValidationError):
            locations = [".".join(map(str, e["loc"])) or "body" for e in exc.errors()]
            record.msg = f"{record.getMessage()}: invalid {', '.join(locations[:10])}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def _install_log_filter() -> None:
    target = logging.getLogger(_BENTOML_ERROR_LOGGER)
    if not any(isinstance(f, _RedactValidationErrors) for f in target.filters):
        target.addFilter(_RedactValidationErrors())


def _current_runtime() -> Runtime:
    return bentoml.get_current_service().runtime  # type: ignore[no-any-return]


@bentoml.asgi_app(MountedConsole(_current_runtime), path=CONSOLE_MOUNT)
@bentoml.service(
    name="advocacy",
    workers=workers_from_env(),
    traffic={"timeout": 60},
    metrics={"enabled": True},
)
class AdvocacyService:
    """Feeds, similar content, live events and influencer candidates for advocacy programs."""

    def __init__(self) -> None:
        _install_log_filter()
        deps = (
            _factory()
            if _factory is not None
            else dependencies_from_config(ServingConfig.from_env())
        )
        self.runtime = Runtime(deps)
        self.runtime.start()

    async def __is_ready__(self) -> bool:
        """On the event loop (BentoML runs a sync one on a worker thread, which can all be
        busy waiting on a dead store): an answer at once."""
        return self.runtime.ready()

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        self.runtime.close()

    # -- front ends ---------------------------------------------------------------------
    @bentoml.api(route="/feed")
    async def feed(
        self,
        employee_id: Id,
        ctx: bentoml.Context,
        k: K = 20,
        filters: Filters | None = None,
        profile: Profile | None = None,
        share_text_network: Code | None = None,
        suggest_times: Flag = False,
    ) -> FeedOut:
        """The ranked feed of one employee (cold start from ``profile`` when unknown); with
        ``share_text_network``, each item with its suggested post on that network (read from
        the store: slower); with ``suggest_times``, each item with its suggested network and
        times to share (as ``/share_plan``; in memory, ~3 ms an item, on a worker thread)."""
        if share_text_network is None and not suggest_times:
            return await self._answer(
                ctx,
                Endpoint.FEED,
                lambda: FeedResponse(self.runtime.feed(employee_id, k, filters, profile)),
            )

        def work() -> FeedResponse:
            runtime = self.runtime
            if share_text_network is None:
                body = runtime.feed(employee_id, k, filters, profile)
            else:
                body = runtime.feed_with_share_texts(
                    employee_id, k, filters, profile, share_text_network
                )
            if suggest_times:
                body = runtime.add_suggested_times(employee_id, body)
            return FeedResponse(body)

        # a worker thread's: store reads, or ~3 ms of planning per item (not on the loop)
        return await self._answer(ctx, Endpoint.FEED, work, threaded=True)

    @bentoml.api(route="/feeds_batch")
    async def feeds_batch(
        self,
        employee_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BATCH_EMPLOYEES)],
        ctx: bentoml.Context,
        k: K = 20,
        filters: Filters | None = None,
    ) -> FeedsBatchOut:
        """Feeds of many employees (digests), scored together in batches."""
        try:
            self.runtime.tokens.authorize(_authorization(ctx), Endpoint.FEEDS_BATCH)
            return FeedResponse(await self.runtime.feeds(employee_ids, k, filters))  # type: ignore[return-value]
        except ServingError as error:
            return _error(ctx, error)  # type: ignore[return-value]

    @bentoml.api(route="/similar")
    async def similar(
        self,
        content_id: Id,
        ctx: bentoml.Context,
        k: K = 20,
        employee_id: Id | None = None,
    ) -> SimilarOut:
        """Eligible content similar to ``content_id`` (for ``employee_id`` when given)."""
        return await self._answer(
            ctx, Endpoint.SIMILAR, lambda: self.runtime.similar(content_id, k, employee_id)
        )

    @bentoml.api(route="/events")
    async def events(
        self,
        events: Annotated[list[EventIn], Field(min_length=1, max_length=MAX_EVENTS)],
        ctx: bentoml.Context,
    ) -> EventsOut:
        """Store events (idempotent on event_id) and apply them to the live model.

        200 when every event was accepted; 422 when some were rejected (the body lists
        each with its index, field and reason; the valid ones are stored all the same);
        503 with ``Retry-After`` when the store does not answer: none was stored.
        """
        try:
            self.runtime.tokens.authorize(_authorization(ctx), Endpoint.EVENTS)
            result = await anyio.to_thread.run_sync(self.runtime.record_events, events)
            answer = self.runtime.apply_events(result)  # only what was stored
        except ServingError as error:
            return _error(ctx, error)  # type: ignore[return-value]
        if answer.rejected:
            ctx.response.status_code = 422
            body = EventsRejectedOut.of(answer).model_dump(mode="json", exclude=_NO_URL)
            return JSONResponse(body, status_code=422)  # type: ignore[return-value]
        return answer

    @bentoml.api(route="/share_text")
    async def share_text(
        self, employee_id: Id, content_id: Id, network: Code, ctx: bentoml.Context
    ) -> ShareTextOut:
        """A suggested post for the advocate, the item and the network: within the network's
        length limit, the policy's disclosure, hashtags from the topics, a lead picked for
        the advocate, other words than colleagues who shared it before, screened. When the
        post would be held or blocked (or the item is not approved): ``text`` null and the
        ``reason``."""
        return await self._answer(
            ctx,
            Endpoint.SHARE_TEXT,
            lambda: self.runtime.share_texts.answer(employee_id, content_id, network),
            threaded=True,
        )

    @bentoml.api(route="/share_plan")
    async def share_plan(
        self, employee_id: Id, content_id: Id, ctx: bentoml.Context
    ) -> SharePlanOut:
        """When and where the advocate should share the item: per network, the next UTC
        times of their 3 best hour-of-week slots (expected engagement per share, spread so
        that colleagues of their department do not all get the same hour for the item), the
        lift over their habit and why; ``suggested_network`` first."""
        return await self._answer(
            ctx,
            Endpoint.SHARE_PLAN,
            lambda: self.runtime.share_plans.answer(employee_id, content_id),
            threaded=True,
        )

    # -- program managers ---------------------------------------------------------------
    @bentoml.api(route="/influencers")
    async def influencers(
        self,
        ctx: bentoml.Context,
        top: Annotated[int, Whole(1, 10_000)] | None = 50,
        department: Annotated[str, Field(min_length=1, max_length=200)] | None = None,
        network: Annotated[str, Field(min_length=1, max_length=64)] | None = None,
        flagged_only: Flag = False,
    ) -> InfluencersOut:
        """Micro-influencer candidates with score, tier, reasons, confidence and review."""
        return await self._answer(
            ctx,
            Endpoint.INFLUENCERS,
            lambda: self.runtime.influencers(top, department, network, flagged_only),
            threaded=True,
        )

    @bentoml.api(route="/influencer_review")
    async def influencer_review(
        self,
        employee_id: Id,
        decision: Annotated[str, Field(pattern="^(approve|dismiss)$")],
        reviewer: Annotated[str, Field(min_length=1, max_length=200)],
        ctx: bentoml.Context,
        note: Annotated[str, Field(max_length=2000)] = "",
    ) -> ReviewOut:
        """Store a program manager's decision (approve or dismiss) on a candidate."""
        return await self._answer(
            ctx,
            Endpoint.INFLUENCER_REVIEW,
            lambda: self.runtime.review(employee_id, decision, note, reviewer),
            threaded=True,
        )

    @bentoml.api(route="/analytics")
    async def analytics(
        self,
        start: Time,
        end: Time,
        ctx: bentoml.Context,
        group_by: Annotated[list[Code], Field(max_length=8)] | None = None,
        attribution_model: Code = DEFAULT_ATTRIBUTION_MODEL,
        min_group_size: Annotated[int, Whole(0, 1000)] = 5,
        top: Annotated[int, Whole(1, 10_000)] | None = None,
        order_by: Annotated[str, Field(min_length=1, max_length=80)] | None = None,
        descending: Flag = True,
        filters: Annotated[dict[Code, Annotated[str, Field(max_length=200)]], Field(max_length=8)]
        | None = None,
    ) -> AnalyticsOut:
        """Program figures for ``[start, end)`` by any of department, region, network,
        content_type, topic, content, advocate and day/week/month, with the previous period.

        Opted-out advocates never appear by name; groups of fewer than ``min_group_size``
        advocates are suppressed. Conversions are the ``attribution_model``'s credit.
        """
        return await self._answer(
            ctx,
            Endpoint.ANALYTICS,
            lambda: self.runtime.program.analytics(
                start=start,
                end=end,
                group_by=list(group_by or ()),
                attribution_model=attribution_model,
                min_group_size=min_group_size,
                top=top,
                order_by=order_by,
                descending=descending,
                filters=dict(filters or {}),
            ),
            threaded=True,
        )

    @bentoml.api(route="/attribution")
    async def attribution(
        self,
        ctx: bentoml.Context,
        model: Code = DEFAULT_ATTRIBUTION_MODEL,
        start: Time | None = None,
        end: Time | None = None,
        lookback_days: Annotated[StrictFloat, Field(ge=0.01, le=365)] = 30.0,
        channel: Code = DEFAULT_ATTRIBUTION_CHANNEL,
        by: Annotated[list[Code], Field(min_length=1, max_length=6)] | None = None,
        top: Annotated[int, Whole(1, 1000)] = 20,
        min_group_size: Annotated[int, Whole(1, 1000)] = 5,
    ) -> AttributionOut:
        """Conversions credited by one attribution model to advocates, content, networks,
        departments, content types or shares (``by``); unattributed conversions counted."""
        return await self._answer(
            ctx,
            Endpoint.ATTRIBUTION,
            lambda: self.runtime.program.attribution(
                model=model,
                start=start,
                end=end,
                lookback_days=lookback_days,
                channel=channel,
                by=list(by or ("advocate", "content", "network", "department")),
                top=top,
                min_group_size=min_group_size,
            ),
            threaded=True,
        )

    @bentoml.api(route="/at_risk")
    async def at_risk(
        self,
        ctx: bentoml.Context,
        top: Annotated[int, Whole(1, 1000)] = 20,
        min_probability: Annotated[StrictFloat, Field(ge=0.0, le=1.0)] = 0.0,
        department: Annotated[str, Field(min_length=1, max_length=200)] | None = None,
    ) -> AtRiskOut:
        """Advocates likeliest to have no activity in the lapse model's horizon, as of the
        current hour: probability, reasons and a suggested action (items of their own feed,
        else one for their first reason). Opted-out advocates never appear."""
        return await self._answer(
            ctx,
            Endpoint.AT_RISK,
            lambda: self.runtime.at_risk(top, min_probability, department),
            threaded=True,
        )

    @bentoml.api(route="/content_forecast")
    async def content_forecast(
        self,
        ctx: bentoml.Context,
        content_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_FORECAST_IDS)]
        | None = None,
        days: Annotated[StrictFloat, Field(gt=0.0, le=90.0)] = 7.0,
        limit: Annotated[int, Whole(1, 500)] = 100,
    ) -> ContentForecastOut:
        """Expected first-week shares, reach and clicks of content items with an interval
        (`level`, 80%), from what is known at publication (a draft or a scheduled item: now).
        ``content_ids`` in that order; without them, every draft and every approved item
        published in the last ``days``, newest first (at most ``limit``)."""
        ids = None if content_ids is None else list(content_ids)
        return await self._answer(
            ctx,
            Endpoint.CONTENT_FORECAST,
            lambda: self.runtime.content_forecast_views.answer(ids, days, limit),
            threaded=True,
        )

    @bentoml.api(route="/content_forecast_draft")
    async def content_forecast_draft(
        self, draft: DraftIn, ctx: bentoml.Context
    ) -> ContentForecastOut:
        """The forecast of a draft that is not in the store (title, body, type, topics,
        author, planned publication time), as if published then to every advocate."""
        return await self._answer(
            ctx,
            Endpoint.CONTENT_FORECAST_DRAFT,
            lambda: self.runtime.content_forecast_views.answer_draft(draft),
            threaded=True,
        )

    # -- operations ---------------------------------------------------------------------
    @bentoml.api(route="/screening_queue")
    async def screening_queue(
        self,
        ctx: bentoml.Context,
        status: Annotated[str, Field(pattern="^(held|blocked|released|passed)$")] = "held",
        limit: Annotated[int, Whole(1, 1000)] = 200,
    ) -> ScreeningQueueOut:
        """Content screening holds for a person's decision (or another status), newest
        first, with each finding."""
        return await self._answer(
            ctx,
            Endpoint.SCREENING_QUEUE,
            lambda: self.runtime.screening.queue(status, limit),
            threaded=True,
        )

    @bentoml.api(route="/screening_decision")
    async def screening_decision(
        self,
        content_id: Id,
        decision: Annotated[str, Field(pattern="^(release|block)$")],
        reviewer: Annotated[str, Field(min_length=1, max_length=200)],
        reason: Annotated[str, Field(min_length=1, max_length=2000)],
        ctx: bentoml.Context,
    ) -> ScreeningItemOut:
        """Release held content (it reaches feeds from the next catalogue refresh) or block
        content; recorded in the audit log."""
        return await self._answer(
            ctx,
            Endpoint.SCREENING_DECISION,
            lambda: self.runtime.screening.decide(content_id, decision, reviewer, reason),
            threaded=True,
        )

    @bentoml.api(route="/data_export")
    async def data_export(self, employee_id: Id, ctx: bentoml.Context) -> DataExportOut:
        """Everything stored about one employee, per table (admin only)."""
        return await self._answer(
            ctx,
            Endpoint.DATA_EXPORT,
            lambda: self.runtime.data_rights.export(employee_id),
            threaded=True,
        )

    @bentoml.api(route="/data_erase")
    async def data_erase(
        self,
        employee_id: Id,
        erased_by: Annotated[str, Field(min_length=1, max_length=200)],
        confirm: bool,
        ctx: bentoml.Context,
    ) -> DataErasureOut:
        """Erase one employee (admin only): their rows go, their id is refused on import until
        re-enrolled, and their feed is no longer personalised."""
        return await self._answer(
            ctx,
            Endpoint.DATA_ERASE,
            lambda: self.runtime.data_rights.erase(employee_id, erased_by, confirm),
            threaded=True,
        )

    @bentoml.api(route="/status")
    async def status(self, ctx: bentoml.Context) -> StatusOut:
        """Model version, catalogue size, last refreshes, whether the store answers and
        ``degraded`` (any role). From memory: it answers at once while the store is down."""
        return await self._answer(ctx, Endpoint.STATUS, self.runtime.status)

    async def _answer(
        self,
        ctx: bentoml.Context,
        endpoint: Endpoint,
        work: Callable[[], T],
        *,
        threaded: bool = False,
    ) -> T:
        """Authorize, then run ``work`` (on a worker thread if ``threaded``); domain errors
        become their 4xx/503 answers, a store that does not answer a 503 with Retry-After."""
        try:
            self.runtime.tokens.authorize(_authorization(ctx), endpoint)
            with self.runtime.health.guard():
                if threaded:
                    return await anyio.to_thread.run_sync(work)
                return work()
        except ServingError as error:
            return _error(ctx, error)  # type: ignore[return-value]


AdvocacyService.add_asgi_middleware(AsPublished, service=AdvocacyService)


def _fix_signatures(service: type) -> None:
    """Give each API function its signature once (``__signature__``): BentoML asks
    ``inspect.signature`` of the function on every request, which then returns the stored
    one instead of building it again from the parameters (~17 us a request for ``/feed``)."""
    for api in service.apis.values():  # type: ignore[attr-defined]
        api.func.__signature__ = inspect.signature(api.func)


_fix_signatures(AdvocacyService)


def _authorization(ctx: bentoml.Context) -> str | None:
    return ctx.request.headers.get("authorization")


def _error(ctx: bentoml.Context, error: ServingError) -> JSONResponse:
    """The error's answer; its headers (``WWW-Authenticate``, ``Retry-After``) are set on
    the context too, which BentoML copies onto the response."""
    ctx.response.status_code = int(error.status)
    for name, value in error.headers().items():
        ctx.response.metadata[name] = value
    return error.response()
