"""Request and response bodies of the service (pydantic; published in the OpenAPI spec).

Every answer other than a 2xx has the body of :class:`ErrorOut` (the partial rejection of
``/events`` adds its counts to it: :class:`EventsRejectedOut`).

Request values are taken as the spec publishes them, without conversion: numbers and
booleans as JSON numbers and booleans (``"5"``, or ``0`` for false, are refused), times as
ISO 8601 strings (:data:`Time`). Ids are strings of 1-200 characters. Event fields are
deliberately loose here (plain strings): events are checked by the data contract's own
validation, so that one bad event is reported with its index, field and reason and the
valid events of the same request are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StrictBool,
)
from pydantic_core import core_schema

from features.program.figures import Figures

MAX_K = 100
MAX_BATCH_EMPLOYEES = 1000
MAX_EVENTS = 1000

#: Unicode's White_Space characters, spelled out: ``\S`` means a different set in the
#: validator (Rust's regex: these), in Python's ``re`` (also U+001C-U+001F) and in the
#: JSON Schema tools that generate requests from the spec (U+0085 is not whitespace to
#: some), so an id the spec allows could be refused.
WHITESPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: An id: 1-200 characters, at least one of them not whitespace.
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=f"[^{WHITESPACE}]")]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Flag = StrictBool


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return value


def _text(value: object) -> object:
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


@dataclass(frozen=True)
class Whole:
    """A request's integer from ``ge`` to ``le`` (``Annotated[int, Whole(1, 100)]``): a JSON
    number without a fraction (``20`` or ``20.0``, as JSON Schema's ``integer``); strings and
    booleans, which pydantic would convert, are refused. (A class rather than ``Field`` plus
    a validator: BentoML repeats the metadata of ``X | None`` parameters, which would publish
    the bounds twice.)"""

    ge: int
    le: int

    def __get_pydantic_core_schema__(
        self, source: object, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        bounded = core_schema.int_schema(ge=self.ge, le=self.le)
        return core_schema.no_info_before_validator_function(_number, bounded)


K = Annotated[int, Whole(1, MAX_K), Field(description=f"How many items (1-{MAX_K}).")]
Time = Annotated[datetime, BeforeValidator(_text)]
"""A request's time: an ISO 8601 string (a date alone is its midnight; without an offset,
UTC). Unix seconds, which pydantic would take, are refused: the spec publishes a string."""


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]
"""A time in an answer, always with its offset (RFC 3339 date-times need one): a naive time
(the store's and the program reports' times are naive UTC) is written as UTC."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # no conversions, as the spec says


class Filters(_Model):
    """Optional feed filters; an empty list means no filter."""

    networks: list[Code] = Field(default_factory=list, max_length=20)
    content_types: list[Code] = Field(default_factory=list, max_length=50)
    languages: list[Code] = Field(default_factory=list, max_length=50)
    exclude_ids: list[Id] = Field(default_factory=list, max_length=1000)


class Profile(_Model):
    """What the front end knows of an employee the model has not seen (cold start)."""

    department: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=200)
    languages: list[Code] = Field(default_factory=list, max_length=20)


class ReasonOut(BaseModel):
    kind: str
    text: str


class FindingOut(BaseModel):
    """One reason screening holds or blocks an item."""

    detector: str = Field(
        description="terms, patterns, links, sensitive_topic, personal_data, tone or language."
    )
    field: str = Field(description="The content field it was found in.")
    start: int = Field(description="Start of the match in the field; -1: the whole field.")
    end: int = Field(description="End of the match (exclusive); -1: the whole field.")
    excerpt: str = Field(description="What matched (personal data masked).")
    rule: str = Field(description="The policy rule it broke.")
    action: str = Field(description="block or hold.")


class ShareTextOut(BaseModel):
    """A suggested post (``features.share_text``), or none: ``text`` null and ``reason``."""

    employee_id: str
    content_id: str
    network: str
    text: str | None = Field(description="The post; null when there is none (see reason).")
    reason: str = Field(description="Why there is no post ('' when there is one).")
    lead: str = Field(description="The body sentence picked for this advocate.")
    hashtags: list[str]
    disclosure: str = Field(description="The policy's disclosure for the network and type.")
    length: int = Field(description="The post's length as the network counts it.")
    limit: int | None = Field(description="The policy's length limit; null: none.")
    truncated: bool = Field(description="The lead was cut at a word boundary (ellipsis).")
    status: str = Field(description="The screen's decision on the post: passed, held, blocked.")
    findings: list[FindingOut]


class FeedItemOut(BaseModel):
    content_id: str
    title: str
    score: float
    rank: int
    reasons: list[ReasonOut]
    share_text: ShareTextOut | None = Field(
        default=None,
        description="Only when the request names `share_text_network`: the suggested post for"
        " this item (as `/share_text` answers); null for an employee the store does not hold"
        " yet, or while the store does not answer.",
    )
    suggested_network: str | None = Field(
        default=None,
        description="Only when the request sets `suggest_times`: the network where a share of"
        " this item is expected to gain the most from its timing (as `/share_plan` answers);"
        " null when no slot model is loaded or it does not know the employee.",
    )
    suggested_times: list[UtcTime] | None = Field(
        default=None,
        description="Only when the request sets `suggest_times`: the next starts (UTC) of the"
        " employee's suggested hours on `suggested_network`, best first, spread over"
        " colleagues (as `/share_plan` answers); empty when there is no suggested network.",
    )


class FeedOut(BaseModel):
    employee_id: str
    items: list[FeedItemOut]
    cold_start: bool
    model_version: str
    as_of: UtcTime


class FeedsBatchOut(BaseModel):
    feeds: list[FeedOut]
    model_version: str
    as_of: UtcTime


class SimilarOut(BaseModel):
    content_id: str
    items: list[FeedItemOut]
    model_version: str
    as_of: UtcTime


class SlotOut(BaseModel):
    """One suggested time to share."""

    at: UtcTime = Field(description="The slot's next start after now (UTC).")
    slot: int = Field(description="Hour of the week, 0 = Monday 00:00 UTC ... 167.")
    slot_name: str = Field(description="The slot in words, e.g. `Wed 09:00` (UTC).")
    expected_engagement: float = Field(
        description="Expected engagement of a share there, relative to the advocate's typical"
        " share on the network (1.0 = typical); the share of their activity when the slot"
        " model has no engagement rates (`basis` activity)."
    )
    lift: float | None = Field(
        description="Over the habit slot: expected_engagement / habit's - 1 (0.25 = +25%);"
        " null when the habit slot expects nothing."
    )
    rank_alone: int = Field(
        description="Its rank among the advocate's own 168 slots (1 = their best): above 1"
        " when a better one went to a colleague for this item."
    )


class NetworkPlanOut(BaseModel):
    network: str
    slots: list[SlotOut] = Field(description="The suggested times, best first.")
    habit_slot: int = Field(description="The advocate's usual hour of the week on the network.")
    habit_slot_name: str
    habit_source: str = Field(
        description="`own`: their most frequent hour; `group`: they have no events there, the"
        " pooled most likely hour of their group."
    )
    habit_expected_engagement: float
    cohort: int = Field(
        description="Colleagues of the advocate's group the item's slots are spread over (the"
        " advocate included): none of them gets the same hour for this item."
    )
    basis: str = Field(description="`engagement` (per-share rates) or `activity`.")
    why: str = Field(description="The plan in words: lift over the habit, spreading.")


class SharePlanOut(BaseModel):
    """When and where one advocate should share one content item."""

    employee_id: str
    content_id: str
    suggested_network: str | None = Field(
        description="The network where timing gains the most (first in `networks`); null when"
        " there is no plan (see `reason`)."
    )
    networks: list[NetworkPlanOut]
    reason: str = Field(description="Why there is no plan ('' when there is one).")
    model_version: str
    as_of: UtcTime


class EventIn(_Model):
    """One event from a front end, in the contract's ``interactions`` fields.

    ``timestamp`` (ISO 8601) defaults to the time of the request.
    """

    event_id: Id
    employee_id: Id
    content_id: Id
    event_type: str = Field(max_length=64)
    network: str | None = Field(default=None, max_length=64)
    timestamp: str | None = Field(default=None, max_length=64)
    value: float | None = None


class EventRejectionOut(BaseModel):
    index: int = Field(description="0-based position of the event in the request.")
    event_id: str | None
    field: str
    reason: str
    message: str


class EventsOut(BaseModel):
    received: int
    accepted: int = Field(description="Valid events (new or already stored).")
    stored: int = Field(description="Valid events stored for the first time.")
    duplicates: int = Field(description="Valid events whose event_id was already stored.")
    applied: int = Field(description="New events applied to the live model.")
    rejected: int
    rejections: list[EventRejectionOut]


# -- errors -----------------------------------------------------------------------------
class ErrorDetailOut(BaseModel):
    """One problem with the request."""

    loc: list[str | int] = Field(
        description="Where: the path of the body field (names and list positions), "
        "['Authorization'] or ['Content-Type'] for a header, [] for the request as a whole."
    )
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(
        description="The kind: pydantic's error type for a request the schema refuses "
        "(missing, int_parsing, json_invalid, ...), else unauthorized, forbidden, not_found, "
        "unprocessable, not_ready, unsupported_media_type, or an event's rejection reason."
    )
    url: str | None = Field(
        default=None, description="pydantic's page on the error type (schema refusals only)."
    )


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="What went wrong, for a person to read.")
    detail: list[ErrorDetailOut] = Field(
        default_factory=list,
        description="Each problem with the request, field by field; absent from 500 and 504.",
    )


class EventsRejectedOut(EventsOut, ErrorOut):
    """``/events`` when some events were refused (422): the counts and rejections of
    :class:`EventsOut` (the valid events are stored all the same), with the error fields
    of :class:`ErrorOut` (one ``detail`` per rejection, at ``["events", index, field]``)."""

    @classmethod
    def of(cls, answer: EventsOut) -> EventsRejectedOut:
        return cls(
            **answer.model_dump(),
            error=f"{answer.rejected} of {answer.received} events rejected "
            "(the valid ones are stored)",
            detail=[
                ErrorDetailOut(loc=["events", r.index, r.field], msg=r.message, type=r.reason)
                for r in answer.rejections
            ],
        )


class InfluencerReasonOut(BaseModel):
    feature: str
    value: float
    percentile: float = Field(description="Share of the organisation at or below (0-100).")
    text: str
    contribution: float = Field(description="Its part of the score's log-odds.")


class ConfidenceOut(BaseModel):
    level: str
    reason: str


class ReviewStateOut(BaseModel):
    decision: str
    reviewer: str
    note: str
    at: UtcTime
    score_at_review: float | None
    suppressed: bool


class InfluencerOut(BaseModel):
    employee_id: str
    score: float
    tier: str
    flagged: bool
    in_band: bool
    followers_max: int
    department: str | None
    reasons: list[InfluencerReasonOut]
    confidence: ConfidenceOut
    review: ReviewStateOut | None


class InfluencersOut(BaseModel):
    candidates: list[InfluencerOut]
    model_version: str
    as_of: UtcTime


class LapseReasonOut(BaseModel):
    feature: str
    contribution: float = Field(description="Its part of the log-odds of lapsing.")
    text: str


class SuggestedContentOut(BaseModel):
    content_id: str
    title: str


class AtRiskAdvocateOut(BaseModel):
    employee_id: str
    department: str | None
    probability: float = Field(description="P(no activity in the next `horizon_days`).")
    reasons: list[LapseReasonOut]
    action: str = Field(
        description="What a program manager could do: share items of their own feed, else an"
        " action for their first reason."
    )
    suggested_content: list[SuggestedContentOut] = Field(
        description="The first items of the advocate's own live feed (empty: none known)."
    )


class AtRiskOut(BaseModel):
    advocates: list[AtRiskAdvocateOut]
    eligible: int = Field(
        description="Advocates forecast: active in the 60 days before `as_of`, not opted out"
        " (in `department` when given)."
    )
    horizon_days: float
    model_version: str
    as_of: UtcTime = Field(description="The forecast's time: the current hour.")


MAX_FORECAST_IDS = 200


class DraftIn(_Model):
    """A content draft not in the store, in the contract's ``content`` fields: forecast as if
    published at ``published_at`` to every advocate (no eligibility restrictions)."""

    title: str = Field(min_length=1, max_length=500)
    content_type: Code
    published_at: Time = Field(
        strict=False, description="The planned publication time (ISO 8601; no offset: UTC)."
    )
    body: str | None = Field(default=None, max_length=20_000)
    topics: list[Code] = Field(default_factory=list, max_length=30)
    author_id: Id | None = None
    language: Code | None = None


class OutcomeForecastOut(BaseModel):
    expected: float = Field(description="The forecast (the model's median estimate), >= 0.")
    lower: float = Field(description="The interval's lower bound (`level`).")
    upper: float = Field(description="The interval's upper bound (`level`).")


class ContentForecastItemOut(BaseModel):
    content_id: str
    title: str
    content_type: str
    approval_status: str = Field(description="draft, approved, rejected or retired.")
    published_at: UtcTime = Field(description="Publication time (planned, for a draft).")
    forecast_from: UtcTime = Field(
        description="The inputs' time: the publication, or `as_of` for a draft or a scheduled"
        " item (what is known then)."
    )
    shares: OutcomeForecastOut = Field(description="Share events in the first 7 days.")
    reach: OutcomeForecastOut = Field(description="Impressions of those shares.")
    clicks: OutcomeForecastOut = Field(description="Clicks on those shares.")


class ContentForecastOut(BaseModel):
    items: list[ContentForecastItemOut]
    level: float = Field(description="The intervals' coverage, e.g. 0.8 for 80%.")
    model_version: str
    as_of: UtcTime = Field(description="The forecast's time.")


class ReviewOut(BaseModel):
    employee_id: str
    decision: str
    reviewer: str
    note: str
    score: float | None
    at: UtcTime


class ScreeningItemOut(BaseModel):
    """The screening decision in force for one content item."""

    content_id: str
    title: str = Field(description="The item's title now.")
    status: str = Field(description="passed, held, blocked or released.")
    decided_by: str = Field(description="`screen`, or the program manager who decided.")
    decided_at: UtcTime
    reason: str
    findings: list[FindingOut]


class ScreeningQueueOut(BaseModel):
    status: str
    count: int = Field(description="Items with this status (the list holds at most `limit`).")
    items: list[ScreeningItemOut]


class DataExportOut(BaseModel):
    """Everything stored about one employee (see docs/compliance.md, "Privacy rights")."""

    employee_id: str
    erased: bool = Field(description="Whether the id is marked erased (refused on import).")
    tables: dict[str, list[dict[str, Any]]] = Field(
        description="Per table, the rows about the employee (times in ISO 8601, naive UTC)."
    )


class DataErasureOut(BaseModel):
    """What an erasure removed and whether the served model still holds the employee."""

    employee_id: str
    erased_at: UtcTime
    erased_by: str
    deleted: dict[str, int] = Field(description="Rows deleted per table.")
    cleared: dict[str, int] = Field(description="Rows whose column naming them was cleared.")
    served_model_holds_id: bool = Field(
        description="The served model's users hold the id until the next training; its feed"
        " is served as for an unknown employee (cold start) from now on."
    )


class StatusOut(BaseModel):
    ready: bool = Field(description="A recommender is loaded and feeds are served (/readyz).")
    degraded: bool = Field(
        description="Serving from the loaded state while the store or a model source does not"
        " answer: events and store reads answer 503, new champions wait."
    )
    model_loaded: bool
    store_reachable: bool = Field(description="The store answered the last probe (every 2 s).")
    store_unreachable_since: datetime | None = Field(
        description="When the store stopped answering; null while it answers."
    )
    model_version: str | None
    model_loaded_at: UtcTime | None
    influencer_model_version: str | None
    lapse_model_version: str | None = Field(
        default=None, description="The lapse model `/at_risk` answers with (null: none loaded)."
    )
    content_forecast_model_version: str | None = Field(
        default=None,
        description="The content forecast `/content_forecast` answers with (null: none loaded).",
    )
    slots_model_version: str | None = Field(
        default=None,
        description="The slot model `/share_plan` and `suggest_times` answer with (null: none).",
    )
    catalogue_items: int
    live_items: int
    catalogue_refreshed_at: UtcTime | None
    last_refresh_error: str | None
    events_applied_through: int = Field(
        description="Every stored event numbered up to this is applied to the live model"
        " (the store's event log; every process follows it)."
    )
    process_id: int = Field(description="The answering worker process (one per worker).")
    refresh_errors: dict[str, str] = Field(
        description="The error of each poller (model, catalogue, events) whose last attempt failed."
    )


# -- program managers: analytics and attribution (features.program, training.attribution_job)
PerCurrency = dict[str, float]


FiguresOut = Figures
"""One row's figures: the library's own dataclass (definitions: ``features.program.figures``),
so the published schema cannot drift from what reports compute."""


class ReportRowOut(BaseModel):
    key: dict[str, str | None] = Field(description="The group: dimension or time bucket -> value.")
    suppressed: bool = Field(description="Fewer advocates than min_group_size: no figures.")
    figures: FiguresOut | None
    previous: FiguresOut | None = Field(description="The previous period of the same length.")
    previous_suppressed: bool
    change: dict[str, float | dict[str, float | None] | None] | None = Field(
        description="Relative change of each figure vs. the previous period."
    )


class SpanOut(BaseModel):
    start: UtcTime
    end: UtcTime


class AttributionRunOut(BaseModel):
    model: str
    computed_at: UtcTime
    lookback_days: float
    conversions: int
    unattributed: int
    params: dict[str, str | float | int | bool | None]


class EmvInfoOut(BaseModel):
    currencies: list[str]
    rates_are_examples: bool = Field(description="The shipped example rates are in use.")
    unpriced_networks: list[str | None]


class AnalyticsOut(BaseModel):
    period: SpanOut
    previous_period: SpanOut
    group_by: list[str]
    filters: dict[str, str]
    min_group_size: int
    attribution_model: str
    attribution: AttributionRunOut | None = Field(description="None: the model has no run.")
    emv: EmvInfoOut
    suppressed: int = Field(description="Rows whose figures are withheld (k-suppression).")
    rows: list[ReportRowOut]
    totals: ReportRowOut


class AttributionRowOut(BaseModel):
    key: str
    conversions: float | None
    value: PerCurrency | None
    suppressed: bool = False


class AttributionTotalsOut(BaseModel):
    conversions: int
    attributed: int
    unattributed: int = Field(description="Conversions without a tracked click in the lookback.")
    attributed_value: PerCurrency
    touches: int
    non_converting_paths: int


class AttributionOut(BaseModel):
    model: str
    channel: str
    params: dict[str, str | float | int | bool | None]
    start: UtcTime
    end: UtcTime
    lookback_days: float
    seconds: float
    totals: AttributionTotalsOut
    by: dict[str, list[AttributionRowOut]]
