"""Review decisions on micro-influencer candidates, stored in the store (schema v3).

Program managers approve or dismiss a candidate with a note; each decision is a row of
``influencer_reviews`` (history is kept) and the latest per advocate is the one in force.
The score at the time is stored with it: a dismissed candidate is flagged again only when
the score rises above it by a margin (``recsys.influence.reviews.apply_reviews``).
Reviews of opted-out advocates are refused, and :func:`latest_reviews` never returns one
(an advocate who opts out later disappears from the reviews too).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from features.data import schema
from features.data.review_state import DECISIONS, Decision, ReviewState
from features.data.store import Store
from features.data.times import naive_utc, utc
from recsys.errors import FieldError, OptedOutError
from recsys.ids import UnknownIdError

logger = logging.getLogger(__name__)

TABLE = schema.influencer_reviews


class ReviewError(FieldError):
    """A review decision that cannot be stored: names the field and the problem."""


@dataclass(frozen=True)
class Review:
    """One stored decision."""

    employee_id: str
    decision: Decision
    note: str
    reviewer: str
    score: float | None
    at: datetime  # UTC-aware

    def state(self) -> ReviewState:
        """The review as shown next to a candidate (suppression is decided later)."""
        return ReviewState(self.decision, self.reviewer, self.note, self.at, self.score)


def record_review(
    store: Store,
    employee_id: str,
    decision: str,
    *,
    note: str,
    reviewer: str,
    score: float | None,
    at: datetime | None = None,
) -> Review:
    """Store a decision on ``employee_id`` and return it.

    Raises :class:`ReviewError` for a bad field, ``UnknownIdError`` for an unknown advocate
    and ``OptedOutError`` for one who opted out.
    """
    review = _checked(employee_id, decision, note, reviewer, score, at)
    advocates = schema.CONTRACT_TABLES["advocates"]
    with store.engine.begin() as conn:
        opted = conn.execute(
            sa.select(advocates.c.opted_out).where(advocates.c.employee_id == review.employee_id)
        ).one_or_none()
        if opted is None:
            raise UnknownIdError("advocate", [review.employee_id])
        if bool(opted[0]):
            raise OptedOutError([review.employee_id])
        conn.execute(
            TABLE.insert().values(
                employee_id=review.employee_id,
                decision=review.decision,
                note=review.note,
                reviewer=review.reviewer,
                score=review.score,
                decided_at=naive_utc(review.at),
            )
        )
    logger.info("stored a review decision (%s)", review.decision)  # no ids or names in logs
    return review


def _checked(
    employee_id: str,
    decision: str,
    note: str,
    reviewer: str,
    score: float | None,
    at: datetime | None,
) -> Review:
    if not str(employee_id or "").strip():
        raise ReviewError("employee_id", "missing")
    choice = str(decision or "").strip().lower()
    if choice not in DECISIONS:
        raise ReviewError("decision", f"must be one of {list(DECISIONS)}, got {decision!r}")
    if not str(reviewer or "").strip():
        raise ReviewError("reviewer", "missing: say who decided")
    if score is not None and (
        not isinstance(score, int | float) or math.isnan(score) or not 0.0 <= score <= 1.0
    ):
        raise ReviewError("score", f"must be a probability in [0, 1], got {score!r}")
    stamp = utc(datetime.now(UTC) if at is None else at)
    return Review(
        employee_id=str(employee_id).strip(),
        decision=choice,  # type: ignore[arg-type]
        note=str(note or ""),
        reviewer=str(reviewer).strip(),
        score=None if score is None else float(score),
        at=stamp.to_pydatetime(),
    )


def review_history(store: Store, employee_id: str | None = None) -> list[Review]:
    """Every stored decision (of one advocate), oldest first; opted-out advocates left out."""
    advocates = schema.CONTRACT_TABLES["advocates"]
    query = (
        sa.select(TABLE)
        .join(advocates, advocates.c.employee_id == TABLE.c.employee_id)
        .where(sa.or_(advocates.c.opted_out.is_(None), advocates.c.opted_out == sa.false()))
        .order_by(TABLE.c.decided_at, TABLE.c.review_id)
    )
    if employee_id is not None:
        query = query.where(TABLE.c.employee_id == str(employee_id))
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_review(row) for row in rows]


def latest_reviews(store: Store) -> dict[str, Review]:
    """The decision in force per advocate (the latest; ties: the last stored)."""
    latest: dict[str, Review] = {}
    for review in review_history(store):
        latest[review.employee_id] = review
    return latest


def _review(row: sa.RowMapping) -> Review:
    at = utc(row["decided_at"])
    return Review(
        employee_id=str(row["employee_id"]),
        decision=row["decision"],
        note=row["note"],
        reviewer=row["reviewer"],
        score=None if row["score"] is None else float(row["score"]),
        at=at.to_pydatetime(),
    )
