"""Content screening for the service: the queue a program manager works through and their
release or block decisions (``/screening_queue``, ``/screening_decision``, the console).

Decisions go to the store (:mod:`features.screening.records`) with the audit log; the next
catalogue refresh of every process brings released content to feeds and keeps blocked
content out (the refresh's probe covers the screening decisions). Every method here is
database work: call it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from features.data.store import Store
from features.screening.records import (
    ScreeningDecisionError,
    ScreeningRecord,
    decide,
    records,
)
from recsys.ids import UnknownIdError
from serving.errors import NotFound, Unprocessable
from serving.schemas import FindingOut, ScreeningItemOut, ScreeningQueueOut

STATUSES = ("held", "blocked", "released", "passed")


class ScreeningViews:
    """The screening queue and decisions over one store."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def queue(self, status: str = "held", limit: int = 200) -> ScreeningQueueOut:
        """Content with ``status`` (default held), newest decisions first."""
        if status not in STATUSES:
            raise Unprocessable(f"status must be one of {list(STATUSES)}", field="status")
        found = records(self.store, status=status)
        return ScreeningQueueOut(
            status=status, count=len(found), items=[item_out(r) for r in found[:limit]]
        )

    def decide(
        self, content_id: str, decision: str, reviewer: str, reason: str
    ) -> ScreeningItemOut:
        """Record a release or block of ``content_id`` by ``reviewer``; the record in force."""
        try:
            record = decide(
                self.store, content_id, decision, by=reviewer, reason=reason, now=self.clock()
            )
        except UnknownIdError:
            raise NotFound(
                f"no screened content with id {content_id!r}", field="content_id"
            ) from None
        except ScreeningDecisionError as exc:
            raise Unprocessable(exc.problem, field=exc.field) from None
        return item_out(record)


def item_out(record: ScreeningRecord) -> ScreeningItemOut:
    return ScreeningItemOut(
        content_id=record.content_id,
        title=record.title,
        status=record.status,
        decided_by=record.decided_by,
        decided_at=record.decided_at,
        reason=record.reason,
        findings=[FindingOut.model_validate(f) for f in record.findings],
    )
