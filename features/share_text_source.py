"""Share-text suggestions from the store: what the CLI and the service answer.

:func:`suggest` reads the advocate (interests, opt-out), the content item and the
colleagues who already shared the item on the network (first share of each, oldest
first, at most ``max_colleagues``), then composes the suggestion
(:func:`features.share_text.share_text`) avoiding the texts suggested to those colleagues
in turn: colleagues sharing the same item get different posts. An employee who shared it
already gets the suggestion of their turn (the same answer every time).
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from features.data.schema import CONTRACT_TABLES
from features.data.store import Store
from features.screening.policy import Policy
from features.screening.records import screening_status, shown_statuses
from features.screening.screen import ContentText
from features.share_text import (
    ShareItem,
    Sharer,
    Suggestion,
    checked_network,
    share_text,
    texts_in_turn,
)
from recsys.ids import UnknownIdError

#: Earlier sharers whose suggestions a new suggestion avoids (a 3-sentence body has 100-270
#: different posts; 100 colleagues take about 0.1 s to replay).
MAX_COLLEAGUES = 100
SHAREABLE = "approved"


def suggest(
    store: Store,
    policy: Policy,
    employee_id: str,
    content_id: str,
    network: str,
    *,
    max_colleagues: int = MAX_COLLEAGUES,
) -> Suggestion:
    """The suggested post of ``employee_id`` for ``content_id`` on ``network``.

    :class:`~recsys.ids.UnknownIdError` (kind ``employee`` or ``content``) for an unknown
    id; :class:`~recsys.errors.FieldError` on ``network`` when it is unknown or the item is
    not meant for it. Content that is not approved, or that content screening holds or
    blocks (or has not screened yet), gets no suggestion (the reason says why).
    """
    sharer = _sharer(store, employee_id)
    item, status = _item(store, content_id)
    name = checked_network(network, item)
    screened = screening_status(store, content_id)
    reason = ""
    if status != SHAREABLE:
        reason = f"content {content_id!r} is {status}, not approved: it may not be shared"
    elif screened not in shown_statuses():
        state = "not screened yet" if screened is None else f"{screened} by content screening"
        reason = f"content {content_id!r} is {state}: it may not be shared"
    if reason:
        limit = policy.length_limits.get(name)
        return Suggestion(employee_id, content_id, name, None, reason=reason, limit=limit)
    earlier = _earlier_sharers(store, content_id, name, max_colleagues)
    before = []
    for colleague in earlier:
        if colleague.employee_id == employee_id:
            break
        before.append(colleague)
    taken = texts_in_turn(policy, before, item, network)
    return share_text(policy, sharer, item, network, taken=taken)


def _sharer(store: Store, employee_id: str) -> Sharer:
    advocates = CONTRACT_TABLES["advocates"]
    query = sa.select(advocates.c.interests, advocates.c.opted_out).where(
        advocates.c.employee_id == employee_id
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise UnknownIdError("employee", [employee_id])
    return Sharer(employee_id, _list(row.interests), bool(row.opted_out))


def _item(store: Store, content_id: str) -> tuple[ShareItem, str]:
    content = CONTRACT_TABLES["content"]
    columns = ("title", "body", "url", "topics", "language", "content_type", "networks")
    query = sa.select(*(content.c[c] for c in columns), content.c.approval_status).where(
        content.c.content_id == content_id
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise UnknownIdError("content", [content_id])
    values = dict(row._mapping)
    values["topics"] = _list(values["topics"])
    text = ContentText.from_row(values)
    item = ShareItem(content_id, str(row.content_type), text, tuple(_list(row.networks)))
    return item, str(row.approval_status or SHAREABLE)


def _earlier_sharers(store: Store, content_id: str, network: str, limit: int) -> list[Sharer]:
    """Who shared ``content_id`` on ``network``, by their first share (ties by id)."""
    events, advocates = CONTRACT_TABLES["interactions"], CONTRACT_TABLES["advocates"]
    firsts = (
        sa.select(events.c.employee_id, sa.func.min(events.c.timestamp).label("first"))
        .where(
            events.c.content_id == content_id,
            events.c.event_type == "share",
            events.c.network == network,
        )
        .group_by(events.c.employee_id)
        .subquery()
    )
    query = (
        sa.select(firsts.c.employee_id, advocates.c.interests, advocates.c.opted_out)
        .join(advocates, advocates.c.employee_id == firsts.c.employee_id)
        .order_by(firsts.c.first, firsts.c.employee_id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [Sharer(r.employee_id, _list(r.interests), bool(r.opted_out)) for r in rows]


def _list(value: object) -> list[str]:
    """A stored list cell (a JSON array as text on SQLite, a list on PostgreSQL)."""
    if isinstance(value, str):
        value = json.loads(value)
    return [str(v) for v in value] if isinstance(value, list) else []
