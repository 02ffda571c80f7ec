"""Data rights for the service: ``/data_export`` and ``/data_erase`` (admin role).

The store work is :mod:`features.data.privacy`. After an erasure this process refreshes its
catalogue at once, so the erased employee is served as unknown to the model (cold start, no
personalised feed: :meth:`~serving.catalogue_reader.CatalogueReader.forgotten`) and drops
its kept influencer candidates (scored again without them); other processes do so at their
next catalogue refresh (the advocates are in its probe) and when their candidates expire
(``ADVOCACY_CANDIDATES_TTL``). Every method here is database work: call it from a worker
thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from features.data.privacy import erase_employee, export_employee
from features.data.store import Store
from serving.errors import Unprocessable
from serving.schemas import DataErasureOut, DataExportOut
from serving.state import StateHolder

logger = logging.getLogger(__name__)


class DataRights:
    """Export and erasure of one employee's data over one store."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        holder: StateHolder,
        refresh: Callable[[], object],
        forget_scores: Callable[[], None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.holder = holder
        self.refresh = refresh
        self.forget_scores = forget_scores

    def export(self, employee_id: str) -> DataExportOut:
        return DataExportOut.model_validate(export_employee(self.store, employee_id))

    def erase(self, employee_id: str, erased_by: str, confirm: bool) -> DataErasureOut:
        """Erase ``employee_id`` (see :func:`~features.data.privacy.erase_employee`), then
        refresh this process's catalogue so that their feed is no longer personalised."""
        if confirm is not True:
            raise Unprocessable("must be true: an erasure cannot be undone", field="confirm")
        if not erased_by.strip():
            raise Unprocessable("must name who erases", field="erased_by")
        erasure = erase_employee(self.store, employee_id, by=erased_by.strip(), now=self.clock())
        self.forget_scores()  # the kept candidates and lapse forecast may list them
        try:
            self.refresh()
        except Exception:  # erased already: the poller's next refresh forgets them
            logger.exception("catalogue refresh after an erasure failed")
        state = self.holder.state
        held = state is not None and employee_id in state.ranker.model.users_
        return DataErasureOut(
            employee_id=employee_id,
            erased_at=erasure.erased_at,
            erased_by=erasure.erased_by,
            deleted=dict(erasure.deleted),
            cleared=dict(erasure.cleared),
            served_model_holds_id=held,
        )
