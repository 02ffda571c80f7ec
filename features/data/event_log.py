"""The store's interactions in the order they were stored, for processes that follow them.

Every interaction gets a sequence number when it is stored
(:func:`~features.data.schema.event_sequence`); numbers only grow and become visible in
increasing order, so a reader that remembers the highest number it has seen (its cursor)
finds every later event with ``seq > cursor``, whichever process or import wrote it.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from features.data.reader import fetch_rows, typed_frame
from features.data.schema import CONTRACT_TABLES, event_sequence
from features.data.store import Store
from features.data.times import naive_utc

#: The columns :meth:`EventLog.after` returns, the sequence number first.
COLUMNS = ("seq", "event_id", "employee_id", "content_id", "event_type", "network", "timestamp")


class EventLog:
    """Reads interactions by sequence number."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._seq = event_sequence(store.dialect)

    def head(self) -> int:
        """The highest sequence number stored (0 for no events)."""
        query = sa.select(sa.func.coalesce(sa.func.max(self._seq), 0)).select_from(_TABLE)
        with self.store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def after(
        self,
        seq: int,
        *,
        limit: int,
        through: int | None = None,
        unseen_by: tuple[int | None, datetime | None] = (None, None),
    ) -> pd.DataFrame:
        """Up to ``limit`` events with a number above ``seq`` (and at most ``through``), in
        order; with ``unseen_by`` (a training cut: sequence number, ``as_of``), only those
        outside it: numbered above the number, or observed after ``as_of``.

        Columns :data:`COLUMNS`; ``seq`` int64, ``timestamp`` UTC.
        """
        query = sa.select(self._seq, *(_TABLE.c[c] for c in COLUMNS[1:])).where(self._seq > seq)
        if through is not None:
            query = query.where(self._seq <= through)
        cut_seq, cut_as_of = unseen_by
        outside = []
        if cut_seq is not None:
            outside.append(self._seq > cut_seq)
        if cut_as_of is not None:
            outside.append(_TABLE.c.timestamp > naive_utc(cut_as_of))
        if outside:
            query = query.where(sa.or_(*outside))
        rows = fetch_rows(self.store, query.order_by(self._seq).limit(limit))
        frame = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
        frame["seq"] = frame["seq"].astype("int64")
        return typed_frame("interactions", frame)


_TABLE = CONTRACT_TABLES["interactions"]
