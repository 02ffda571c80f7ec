"""Screening decisions in the store: what the screen decided for each content item, what a
program manager decided after it, and the append-only audit log of both (schema v9).

- :func:`screen_pending` screens the content whose text the decision in force did not judge
  (new items, changed title/body/url/topics/language) or that the screen judged under another
  policy, and records each new decision. A manager's release or block stands when only the
  policy changed; a changed text is always screened again.
- :func:`decide` records a manager's ``release`` (held content goes to feeds) or ``block``.
- :func:`shown_statuses`: the statuses that let an item reach a feed (``passed``,
  ``released``); :func:`statuses` maps content ids to their status (an item without a
  decision is absent: not yet screened, kept out of feeds).
- Every decision appends a row to ``screening_audit`` (who, when, what, why, the findings);
  the database refuses updates and deletes of that table.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from features.data import schema
from features.data.store import Store
from features.data.times import naive_utc, utc
from features.screening.policy import Policy
from features.screening.screen import ContentText, Status, screen
from recsys.errors import FieldError
from recsys.ids import UnknownIdError

logger = logging.getLogger(__name__)

TABLE = schema.content_screening
AUDIT = schema.screening_audit
SCREEN = "screen"  # the actor of the screen's own decisions
RELEASED = "released"
SHOWN = (str(Status.PASSED), RELEASED)
DECISIONS = {"release": RELEASED, "block": str(Status.BLOCKED)}
_TEXT_COLUMNS = ("title", "body", "url", "topics", "language")


class ScreeningDecisionError(FieldError):
    """A manager's decision that cannot be recorded: names the field and the problem."""


@dataclass(frozen=True)
class ScreeningRecord:
    """The decision in force for one content item."""

    content_id: str
    status: str
    findings: tuple[dict, ...]
    decided_by: str
    decided_at: datetime  # UTC-aware
    reason: str
    title: str = ""  # the item's title now ("" when its row is gone)


@dataclass(frozen=True)
class ScreenedCount:
    """What :func:`screen_pending` did: items screened, by resulting status."""

    screened: int
    by_status: dict[str, int]


def shown_statuses() -> tuple[str, ...]:
    """The statuses whose content may reach a feed."""
    return SHOWN


def content_hash(text: ContentText) -> str:
    """The hash of the parts of an item screening reads."""
    parts = [text.title, text.body, text.url, sorted(text.topics), text.language]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def screen_pending(store: Store, policy: Policy, *, now: datetime | None = None) -> ScreenedCount:
    """Screen every content item whose decision is missing or stale (module docstring).

    One transaction; when another process recorded a first decision for one of the items
    meanwhile (the insert conflicts), the pass runs once more and skips what it did."""
    at = naive_utc(utc(now or datetime.now(UTC)))
    try:
        counts = _screen_pending(store, policy, at)
    except sa.exc.IntegrityError:
        counts = _screen_pending(store, policy, at)
    total = sum(counts.values())
    if total:
        logger.info("screened %d content item(s): %s", total, counts)
    return ScreenedCount(total, counts)


def _screen_pending(store: Store, policy: Policy, at: datetime) -> dict[str, int]:
    content = schema.CONTRACT_TABLES["content"]
    with store.engine.begin() as conn:
        rows = conn.execute(
            sa.select(*(content.c[c] for c in ("content_id", *_TEXT_COLUMNS)))
        ).mappings()
        texts = {str(r["content_id"]): ContentText.from_row(dict(r)) for r in rows}
        current = {
            r.content_id: r
            for r in conn.execute(
                sa.select(
                    TABLE.c.content_id,
                    TABLE.c.status,
                    TABLE.c.content_hash,
                    TABLE.c.policy,
                    TABLE.c.decided_by,
                )
            )
        }
        counts: dict[str, int] = {}
        for content_id, text in texts.items():
            digest = content_hash(text)
            found = current.get(content_id)
            if found is not None and not _stale(found, digest, policy):
                continue
            result = screen(policy, text)
            findings = [f.to_dict() for f in result.findings]
            record = {
                "content_id": content_id,
                "status": str(result.status),
                "findings": findings,
                "content_hash": digest,
                "policy": policy.fingerprint,
                "decided_by": SCREEN,
                "decided_at": at,
                "reason": _summary(findings),
            }
            _write(conn, record, exists=found is not None)
            _audit(conn, record, "screened", None if found is None else found.status)
            counts[str(result.status)] = counts.get(str(result.status), 0) + 1
    return counts


def decide(
    store: Store,
    content_id: str,
    decision: str,
    *,
    by: str,
    reason: str,
    now: datetime | None = None,
) -> ScreeningRecord:
    """A manager's ``release`` or ``block`` of ``content_id``; the record now in force.

    Only held content can be released; any screened item can be blocked.
    """
    content_id, status, by, reason = _checked(content_id, decision, by, reason)
    at = naive_utc(utc(now or datetime.now(UTC)))
    with store.engine.begin() as conn:
        row = conn.execute(sa.select(TABLE).where(TABLE.c.content_id == content_id)).mappings()
        found = row.one_or_none()
        if found is None:
            raise UnknownIdError("screened content", [content_id])
        if status == RELEASED and found["status"] != str(Status.HELD):
            raise ScreeningDecisionError(
                "decision", f"only held content can be released; this item is {found['status']}"
            )
        record = {**found, "status": status, "decided_by": by, "decided_at": at, "reason": reason}
        _write(conn, record, exists=True)
        _audit(conn, record, decision, str(found["status"]))
    logger.info("content screening decision recorded (%s)", decision)
    return _record(record)


def statuses(store: Store) -> dict[str, str]:
    """Content id -> the status in force (screened items only)."""
    with store.engine.connect() as conn:
        return {
            str(c): str(s) for c, s in conn.execute(sa.select(TABLE.c.content_id, TABLE.c.status))
        }


def screening_status(store: Store, content_id: str) -> str | None:
    """The status in force of one item (None: not screened yet)."""
    with store.engine.connect() as conn:
        return _status(conn, content_id)


def records(store: Store, status: str | None = None) -> list[ScreeningRecord]:
    """The decisions in force (of one ``status``) with each item's title, newest first."""
    content = schema.CONTRACT_TABLES["content"]
    query = (
        sa.select(TABLE, content.c.title)
        .select_from(TABLE.outerjoin(content, content.c.content_id == TABLE.c.content_id))
        .order_by(TABLE.c.decided_at.desc(), TABLE.c.content_id)
    )
    if status is not None:
        query = query.where(TABLE.c.status == status)
    with store.engine.connect() as conn:
        return [_record(dict(r)) for r in conn.execute(query).mappings()]


def audit_log(store: Store, content_id: str | None = None) -> list[dict[str, object]]:
    """The audit log (of one item), oldest first."""
    query = sa.select(AUDIT).order_by(AUDIT.c.seq)
    if content_id is not None:
        query = query.where(AUDIT.c.content_id == content_id)
    with store.engine.connect() as conn:
        return [{**row, "at": utc(row["at"]).isoformat()} for row in conn.execute(query).mappings()]


def _checked(content_id: str, decision: str, by: str, reason: str) -> tuple[str, str, str, str]:
    if not str(content_id or "").strip():
        raise ScreeningDecisionError("content_id", "missing")
    choice = str(decision or "").strip().lower()
    if choice not in DECISIONS:
        raise ScreeningDecisionError(
            "decision", f"must be one of {sorted(DECISIONS)}, got {decision!r}"
        )
    if not str(by or "").strip() or str(by).strip() == SCREEN:
        raise ScreeningDecisionError("by", "missing: say who decided")
    if not str(reason or "").strip():
        raise ScreeningDecisionError("reason", "missing: say why")
    return str(content_id).strip(), DECISIONS[choice], str(by).strip(), str(reason).strip()


def _stale(found: sa.Row, digest: str, policy: Policy) -> bool:
    """A decision judged another text, or is the screen's under another policy."""
    if found.content_hash != digest:
        return True
    return found.decided_by == SCREEN and found.policy != policy.fingerprint


def _status(conn: Connection, content_id: str) -> str | None:
    return conn.execute(
        sa.select(TABLE.c.status).where(TABLE.c.content_id == content_id)
    ).scalar_one_or_none()


def _write(conn: Connection, record: dict[str, object], *, exists: bool) -> None:
    """Replace the item's decision in force (``exists``), or insert its first one (which
    conflicts when another process inserted it meanwhile: see :func:`screen_pending`)."""
    if exists:
        key = TABLE.c.content_id == record["content_id"]
        conn.execute(TABLE.update().where(key).values(**record))
    else:
        conn.execute(TABLE.insert().values(**record))


def _audit(conn: Connection, record: dict[str, object], action: str, before: str | None) -> None:
    conn.execute(
        AUDIT.insert().values(
            at=record["decided_at"],
            actor=record["decided_by"],
            content_id=record["content_id"],
            action=action,
            status_before=before,
            status_after=record["status"],
            reason=record["reason"],
            findings=record["findings"],
            policy=record["policy"],
        )
    )


def _summary(findings: Sequence[dict]) -> str:
    """The screen's reason: its findings' rules, in order, without repeats."""
    rules = dict.fromkeys(f"{f['detector']}: {f['rule']}" for f in findings)
    return "; ".join(rules) if rules else "no finding"


def _record(row: Mapping[str, Any]) -> ScreeningRecord:
    findings = row["findings"]
    if isinstance(findings, str):
        findings = json.loads(findings)
    return ScreeningRecord(
        content_id=str(row["content_id"]),
        status=str(row["status"]),
        findings=tuple(findings or ()),
        decided_by=str(row["decided_by"]),
        decided_at=utc(row["decided_at"]).to_pydatetime(),
        reason=str(row["reason"]),
        title=str(row.get("title") or ""),
    )
