"""Program analytics and attribution for the service: the same functions as ``advocacy
analytics`` and ``advocacy attribution`` (``features.program``, ``training.attribution_job``),
with the service's errors.

Both run on a worker thread (database work). Before a report, the chosen attribution
model's stored credits are brought up to date (:func:`training.attribution_job.current_credits`)
at most once per :data:`CREDITS_CHECK_SECONDS` per model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from features.data.store import Store
from recsys.errors import FieldError
from serving.errors import Unprocessable
from serving.schemas import AnalyticsOut, AttributionOut

logger = logging.getLogger(__name__)

CREDITS_CHECK_SECONDS = 30.0


class ProgramViews:
    """Reports for program managers over one store, with one EMV configuration."""

    def __init__(self, store: Store, emv_config: Path | None = None) -> None:
        from features.program import EXAMPLE_CONFIG, load_emv_config

        self.store = store
        self.emv = load_emv_config(emv_config or EXAMPLE_CONFIG)
        self._checked: dict[str, float] = {}
        self._rollups_checked = False
        self._lock = threading.Lock()

    def analytics(
        self,
        *,
        start: datetime,
        end: datetime,
        group_by: list[str],
        attribution_model: str,
        min_group_size: int,
        top: int | None,
        order_by: str | None,
        descending: bool,
        filters: Mapping[str, str],
    ) -> AnalyticsOut:
        """A program report (``features.program.program_report``)."""
        from features.program import ReportRequest, program_report
        from recsys.attribution import MODELS

        if attribution_model not in MODELS:
            known = ", ".join(sorted(MODELS))
            raise Unprocessable(
                f"unknown attribution model {attribution_model!r}; one of {known}",
                field="attribution_model",
            )
        with _as_unprocessable():
            request = ReportRequest(
                start=start,
                end=end,
                group_by=tuple(group_by),
                attribution_model=attribution_model,
                min_group_size=min_group_size,
                top=top,
                order_by=order_by,
                descending=descending,
                filters=dict(filters),
            )
        self._ready_rollups()
        self._current_credits(attribution_model)
        with _as_unprocessable():  # e.g. order_by "emv" when the rates mix currencies
            report = program_report(self.store, request, self.emv)
        return AnalyticsOut.model_validate(report.to_dict())

    def attribution(
        self,
        *,
        model: str,
        start: datetime | None,
        end: datetime | None,
        lookback_days: float,
        channel: str,
        by: list[str],
        top: int,
        min_group_size: int,
    ) -> AttributionOut:
        """One model's credit roll-ups over the period (nothing is stored)."""
        from features.click_paths import ATTRIBUTES
        from training.attribution_job import (
            AttributionRequest,
            attribute,
            opted_out,
        )

        unknown = [name for name in by if name not in ATTRIBUTES]
        if unknown:
            known = ", ".join(ATTRIBUTES)
            raise Unprocessable(f"unknown roll-up {unknown[0]!r}; one of {known}", field="by")
        with _as_unprocessable():
            request = AttributionRequest(
                model=model, start=start, end=end, lookback_days=lookback_days, channel=channel
            )
            result = attribute(self.store, request)
        payload = result.to_dict(
            tuple(by), top=top, hidden=opted_out(self.store), min_group_size=min_group_size
        )
        payload["by"] = {
            name: [{**row, "key": row.pop(name)} for row in rows]
            for name, rows in payload["by"].items()
        }
        return AttributionOut.model_validate(payload)

    def add_shares(self, event_ids: list[str]) -> None:
        """Add live shares to the rollups; a failure is logged (the events are stored, and
        the next import's refresh adds them)."""
        from features.program import add_shares

        try:
            add_shares(self.store, event_ids)
        except Exception:
            logger.exception("could not add %d live shares to the rollups", len(event_ids))

    def _ready_rollups(self) -> None:
        """Fill the rollups once if they are empty but the store has shares (a store
        upgraded to schema 6 with data in it)."""
        from features.program import fill_empty_rollups

        with self._lock:
            if not self._rollups_checked:
                fill_empty_rollups(self.store)
                self._rollups_checked = True

    def _current_credits(self, model: str) -> None:
        from training.attribution_job import current_credits

        with self._lock:
            checked = self._checked.get(model)
            if checked is not None and time.monotonic() - checked < CREDITS_CHECK_SECONDS:
                return
            if current_credits(self.store, model):
                logger.info("recomputed %s attribution credits", model)
            self._checked[model] = time.monotonic()


@contextmanager
def _as_unprocessable() -> Iterator[None]:
    """Turn a refused request field into a 422 naming the field."""
    try:
        yield
    except FieldError as error:
        raise Unprocessable(str(error), field=error.field) from None
