"""Request values to ranking inputs and ranked feeds to response bodies (no state)."""

from __future__ import annotations

import functools
from datetime import datetime

from pydantic import TypeAdapter

from recsys.feed import Feed, FeedFilters, FeedItem
from recsys.feed_arrays import Employee
from serving.errors import refused
from serving.schemas import FeedItemOut, Filters, Profile, ReasonOut


def feed_filters(filters: Filters | None) -> FeedFilters | None:
    """The request's filters; a refused one is a 422 on its field (``filters.networks``)."""
    if filters is None:
        return None
    with refused():
        return FeedFilters(
            networks=tuple(filters.networks),
            content_types=tuple(filters.content_types),
            languages=tuple(filters.languages),
            exclude_ids=tuple(filters.exclude_ids),
        )


def employee_of(profile: Profile | None) -> Employee | None:
    if profile is None:
        return None
    return Employee(
        region=profile.region,
        department=profile.department,
        languages=tuple(profile.languages),
        role=profile.role,
    )


def item_out(item: FeedItem) -> FeedItemOut:
    return FeedItemOut(
        content_id=item.content_id,
        title=item.title,
        score=item.score,
        rank=item.rank,
        reasons=[ReasonOut(kind=str(r.kind), text=r.text) for r in item.reasons],
    )


def feed_body(feed: Feed, model_version: str, as_of: str) -> dict[str, object]:
    """The JSON body of :class:`~serving.schemas.FeedOut` (and of each feed in a batch),
    built directly: a feed is the hot path, and a model object per item and reason cost
    more than ranking them. ``as_of`` as :func:`json_time` writes it."""
    return {
        "employee_id": feed.employee_id,
        "items": [
            {
                "content_id": item.content_id,
                "title": item.title,
                "score": item.score,
                "rank": item.rank,
                "reasons": [{"kind": str(r.kind), "text": r.text} for r in item.reasons],
            }
            for item in feed.items
        ],
        "cold_start": feed.cold_start,
        "model_version": model_version,
        "as_of": as_of,
    }


@functools.cache
def _time_adapter() -> TypeAdapter[datetime]:
    return TypeAdapter(datetime)


@functools.lru_cache(maxsize=8)
def json_time(moment: datetime) -> str:
    """A time as the response schemas serialise it (pydantic's JSON form); remembered for
    the latest few times (feeds are ranked to the second, so most requests share one)."""
    return str(_time_adapter().dump_python(moment, mode="json"))
