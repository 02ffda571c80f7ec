"""Content performance forecasts for program managers (``/content_forecast``,
``/content_forecast_draft`` and the console's Forecast page).

The loaded :class:`~features.content_forecaster.ContentForecaster` (``holder.forecast(
"content_forecast")``: :data:`serving.forecasts.CONTENT_FORECAST`, hot-swapped by the model
poller like the lapse model) forecasts, as of the request's time (to the
second), the first-week shares, reach and clicks of each item with the model's interval:

- :meth:`ContentForecastViews.items`: the store's items ``content_ids`` (in that order; an
  unknown id is a 404 on ``content_ids``), or, without ids, the newest: every draft and every
  approved item published in the ``days`` before (scheduled ones included), newest first
  (:func:`features.content_forecaster.newest_items`);
- :meth:`ContentForecastViews.draft`: one draft that is not in the store (typed into a form).

Each item's inputs are read as of its publication (a draft or a scheduled item: as of now), so
an item's forecast does not change after it is published. The store reads of the past that
every forecast shares (the advocates, the audience's daily windows, the first weeks of earlier
items) are kept for :data:`READS_TTL` seconds (:class:`~features.content_reads.ContentReads`):
a late event shows within that time, an erasure in this process at once; the content table is
read on every request, so a new item or an edit shows at once. A polling service reads them in
the background when a content forecast loads and renews them every :data:`READS_RENEW` seconds
(:meth:`ContentForecastViews.warm`). Every method here is database work (and may embed a new
text with the sentence-transformers model): call it from a worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from features.content_forecaster import ContentForecaster, ContentOutlook, draft_row, newest_items
from features.content_performance import content_table
from features.content_reads import ContentReads
from features.data.store import Store
from serving.errors import NotFound, NotReady, Unprocessable
from serving.forecasts import CONTENT_FORECAST
from serving.schemas import (
    ContentForecastItemOut,
    ContentForecastOut,
    DraftIn,
    OutcomeForecastOut,
)
from serving.state import StateHolder

logger = logging.getLogger(__name__)

#: The years a draft's planned publication may fall in.
FIRST_YEAR, LAST_YEAR = 1970, 2200
#: Seconds the store reads of the past are kept (module docstring).
READS_TTL = 3600.0
#: Seconds between two background renewals of the kept reads (before they expire).
READS_RENEW = 3000.0


@dataclass(frozen=True)
class ForecastItem:
    """One forecast item: what the store (or the draft) says of it, and its forecast."""

    content_id: str
    title: str
    content_type: str
    approval_status: str
    published_at: datetime
    outlook: ContentOutlook


@dataclass(frozen=True)
class ForecastList:
    items: list[ForecastItem]
    level: float
    model_version: str  # name@version
    as_of: datetime


@dataclass(frozen=True)
class Draft:
    """A draft typed in (the contract's ``content`` fields)."""

    title: str
    content_type: str
    published_at: datetime
    body: str | None = None
    topics: Sequence[str] = ()
    author_id: str | None = None
    language: str | None = None


class ContentForecastViews:
    """The loaded content forecast over the store (module docstring)."""

    def __init__(
        self,
        store: Store,
        holder: StateHolder,
        clock: Callable[[], datetime],
        reads: ContentReads | None = None,
        renew: float = READS_RENEW,
    ) -> None:
        self.store = store
        self.holder = holder
        self.clock = clock
        self.reads = ContentReads(READS_TTL) if reads is None else reads
        self.renew = renew
        self._warming = threading.Lock()  # guards _schedule
        self._schedule = 0  # the current background renewal; an older one stops

    def items(
        self, content_ids: Sequence[str] | None = None, *, days: float = 7.0, limit: int = 100
    ) -> ForecastList:
        """The forecast of ``content_ids``, or of the newest items (module docstring)."""
        return self._items(content_ids, days, limit, self.reads)

    def _items(
        self, content_ids: Sequence[str] | None, days: float, limit: int, reads: ContentReads
    ) -> ForecastList:
        forecaster, version = self._loaded()
        now = self.clock().replace(microsecond=0)
        content = content_table(self.store)
        if content_ids is None:
            content_ids = newest_items(
                self.store, as_of=now, days=days, limit=limit, content=content
            )
        indexed = content.set_index("content_id", drop=False)
        unknown = [i for i in content_ids if i not in indexed.index]
        if unknown:
            raise NotFound(f"no content with id {unknown[0]!r}", field="content_ids")
        rows = indexed.loc[list(content_ids)].reset_index(drop=True)
        return self._listed(forecaster, version, rows, content, now, reads)

    def warm(self) -> threading.Thread:
        """Read the store's past afresh in a background thread (returned, started): the
        newest items are forecast with new kept reads, which then replace the kept ones; and
        again every :attr:`renew` seconds, before the kept reads expire, so that no request
        waits for them. A later call replaces the earlier schedule. A failure is logged and
        leaves the kept reads as they were."""
        with self._warming:
            self._schedule += 1
            ticket = self._schedule

        def run() -> None:
            fresh = self._fresh_reads()
            try:
                self._items(None, 7.0, 100, fresh)
            except Exception:  # the requests will meet (and answer) the same failure
                logger.warning("reading the content forecast's store history failed", exc_info=True)
            else:
                self.reads = fresh
            timer = threading.Timer(self.renew, self._renewal, args=(ticket,))
            timer.daemon = True
            timer.start()

        thread = threading.Thread(target=run, name="content-forecast-warm", daemon=True)
        thread.start()
        return thread

    def forget(self) -> None:
        """Drop the kept reads (an employee was erased): the next request reads afresh."""
        self.reads = self._fresh_reads()

    def _fresh_reads(self) -> ContentReads:
        """Empty reads kept as the current ones are (the same ``ttl`` and clock)."""
        return ContentReads(self.reads.ttl, self.reads.clock)

    def stop(self) -> None:
        """End the background renewals (a running one finishes, and schedules no other)."""
        with self._warming:
            self._schedule += 1

    def _renewal(self, ticket: int) -> None:
        with self._warming:
            current = ticket == self._schedule
        if current:
            self.warm()

    def draft(self, draft: Draft) -> ForecastList:
        """The forecast of one draft that is not in the store."""
        forecaster, version = self._loaded()
        now = self.clock().replace(microsecond=0)
        if not draft.content_type.strip():
            raise Unprocessable("a content type is needed", field="content_type")
        if not FIRST_YEAR <= draft.published_at.year <= LAST_YEAR:
            raise Unprocessable(
                f"a publication time from {FIRST_YEAR} to {LAST_YEAR}", field="published_at"
            )
        row = draft_row(
            title=draft.title,
            content_type=draft.content_type,
            published_at=draft.published_at,
            body=draft.body,
            topics=draft.topics,
            author_id=draft.author_id,
            language=draft.language,
        )
        everything = content_table(self.store)
        return self._listed(forecaster, version, row, everything, now, self.reads)

    def answer(
        self, content_ids: Sequence[str] | None, days: float, limit: int
    ) -> ContentForecastOut:
        """``/content_forecast``: :meth:`items` as the answer (store work: a worker thread's)."""
        return forecast_out(self.items(content_ids, days=days, limit=limit))

    def answer_draft(self, draft: DraftIn) -> ContentForecastOut:
        """``/content_forecast_draft``: :meth:`draft` of the request's draft as the answer."""
        return forecast_out(self.draft(Draft(**draft.model_dump())))

    def _loaded(self) -> tuple[ContentForecaster, str]:
        loaded = self.holder.forecast(CONTENT_FORECAST.key)
        if loaded is None:
            raise NotReady("no content forecast is loaded yet (see /status)")
        return loaded.model, loaded.version.label  # type: ignore[return-value]

    def _listed(
        self,
        forecaster: ContentForecaster,
        version: str,
        rows: pd.DataFrame,
        everything: pd.DataFrame,
        now: datetime,
        reads: ContentReads,
    ) -> ForecastList:
        try:
            outlooks = forecaster.forecast_frame(
                self.store, rows, as_of=now, everything=everything, reads=reads
            )
        except ValueError as exc:  # the model's inputs are not the store's: not the request
            raise NotReady(f"the content forecast {version} cannot be used: {exc}") from None
        published = pd.to_datetime(rows["published_at"], utc=True)
        items = [
            ForecastItem(
                content_id=outlook.content_id,
                title=str(rows["title"].iloc[i] or ""),
                content_type=str(rows["content_type"].iloc[i]),
                approval_status=str(rows["approval_status"].iloc[i]),
                published_at=published.iloc[i].to_pydatetime(),
                outlook=outlook,
            )
            for i, outlook in enumerate(outlooks)
        ]
        return ForecastList(items, forecaster.level, version, now)


def forecast_out(listed: ForecastList) -> ContentForecastOut:
    """The ``/content_forecast`` answer of a forecast list."""

    def outcome(outlook: ContentOutlook, target: str) -> OutcomeForecastOut:
        return OutcomeForecastOut(
            expected=round(outlook.expected[target], 4),
            lower=round(outlook.lower[target], 4),
            upper=round(outlook.upper[target], 4),
        )

    return ContentForecastOut(
        items=[
            ContentForecastItemOut(
                content_id=item.content_id,
                title=item.title,
                content_type=item.content_type,
                approval_status=item.approval_status,
                published_at=item.published_at,
                forecast_from=item.outlook.moment,
                shares=outcome(item.outlook, "shares"),
                reach=outcome(item.outlook, "reach"),
                clicks=outcome(item.outlook, "clicks"),
            )
            for item in listed.items
        ],
        level=listed.level,
        model_version=listed.model_version,
        as_of=listed.as_of,
    )
