"""The review decision on a micro-influencer candidate as a value: no store, no scorer.

The store keeps decisions (:mod:`features.data.reviews`) and the scorer shows the one in
force next to a candidate (``recsys.influence``, which re-exports these names); both need
the type, so it lives here, below both, with nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

Decision = Literal["approve", "dismiss"]
DECISIONS: tuple[str, ...] = get_args(Decision)


@dataclass(frozen=True)
class ReviewState:
    """The latest review decision on an advocate, as shown next to the candidate.

    ``suppressed`` is True when a dismissal still holds: the candidate is not flagged again
    until its score exceeds ``score`` (the score at dismissal) by the configured margin.
    """

    decision: Decision
    reviewer: str
    note: str
    at: datetime
    score: float | None
    suppressed: bool = False
