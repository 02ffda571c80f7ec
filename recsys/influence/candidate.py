"""What the scorer says about one advocate: score, tier, flag, reasons, confidence, review."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from features.data.review_state import Decision, ReviewState

ConfidenceLevel = Literal["low", "medium", "high"]
__all__ = ["Candidate", "Confidence", "ConfidenceLevel", "Decision", "ReviewState", "ScoreDriver"]


class ScoreDriver(NamedTuple):
    """One feature that drives a score (shown as one of a candidate's ``reasons``).

    ``value`` is the readable value of the feature (e.g. followers, not their log),
    ``percentile`` the share of the organisation at or below it (0-100), ``contribution`` its
    part of the score's log-odds (the model's own term, see ``InfluenceScorer.contributions``).
    """

    feature: str
    value: float
    percentile: float
    text: str
    contribution: float


@dataclass(frozen=True)
class Confidence:
    """How much history stands behind a score, and why."""

    level: ConfidenceLevel
    reason: str


@dataclass(frozen=True)
class Candidate:
    """The scorer's output for one advocate who did not opt out."""

    employee_id: str
    score: float
    tier: str
    flagged: bool
    reasons: tuple[ScoreDriver, ...]  # the features driving the score (JSON field ``reasons``)
    confidence: Confidence
    followers_max: float = 0.0
    in_band: bool = False
    department: str | None = None
    review: ReviewState | None = None

    def with_review(self, review: ReviewState | None, *, flagged: bool) -> Candidate:
        return replace(self, review=review, flagged=flagged)

    def to_dict(self) -> dict[str, object]:
        """A JSON-able dict (score drivers as ``reasons`` objects, times as ISO 8601)."""
        review = None
        if self.review is not None:
            review = {
                "decision": self.review.decision,
                "reviewer": self.review.reviewer,
                "note": self.review.note,
                "at": self.review.at.isoformat(),
                "score_at_review": self.review.score,
                "suppressed": self.review.suppressed,
            }
        return {
            "employee_id": self.employee_id,
            "score": round(float(self.score), 6),
            "tier": self.tier,
            "flagged": bool(self.flagged),
            "in_band": bool(self.in_band),
            "followers_max": int(self.followers_max),
            "department": self.department,
            "reasons": [
                {
                    "feature": r.feature,
                    "value": float(r.value),
                    "percentile": round(float(r.percentile), 2),
                    "text": r.text,
                    "contribution": round(float(r.contribution), 6),
                }
                for r in self.reasons
            ],
            "confidence": {"level": self.confidence.level, "reason": self.confidence.reason},
            "review": review,
        }
