"""Request and response bodies of the service (pydantic; published in the OpenAPI spec).

Ids are strings of 1-200 characters. Event fields are deliberately loose here (plain
strings): events are checked by the data contract's own validation, so that one bad event
is reported with its index, field and reason and the valid events of the same request are
stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_K = 100
MAX_BATCH_EMPLOYEES = 1000
MAX_EVENTS = 1000

Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Code = Annotated[str, Field(min_length=1, max_length=64)]
K = Annotated[int, Field(ge=1, le=MAX_K, description=f"How many items (1-{MAX_K}).")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class FeedItemOut(BaseModel):
    content_id: str
    title: str
    score: float
    rank: int
    reasons: list[ReasonOut]


class FeedOut(BaseModel):
    employee_id: str
    items: list[FeedItemOut]
    cold_start: bool
    model_version: str
    as_of: datetime


class FeedsBatchOut(BaseModel):
    feeds: list[FeedOut]
    model_version: str
    as_of: datetime


class SimilarOut(BaseModel):
    content_id: str
    items: list[FeedItemOut]
    model_version: str
    as_of: datetime


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
    at: datetime
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
    as_of: datetime


class ReviewOut(BaseModel):
    employee_id: str
    decision: str
    reviewer: str
    note: str
    score: float | None
    at: datetime


class StatusOut(BaseModel):
    ready: bool
    model_loaded: bool
    store_reachable: bool
    model_version: str | None
    model_loaded_at: datetime | None
    influencer_model_version: str | None
    catalogue_items: int
    live_items: int
    catalogue_refreshed_at: datetime | None
    last_refresh_error: str | None
