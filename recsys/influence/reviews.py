"""The review policy: how program managers' decisions change what is flagged.

- ``approve``: the advocate stays listed with the decision shown; the flag is the scorer's.
- ``dismiss``: the advocate is not flagged again while their score stays below the score at
  dismissal plus ``margin`` (probability points, default 0.10); once it rises above, they are
  flagged again (when the scorer flags them) and the review shows ``suppressed=False``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from recsys.influence.candidate import Candidate, ReviewState

DEFAULT_MARGIN = 0.10


def apply_reviews(
    candidates: Sequence[Candidate],
    reviews: Mapping[str, ReviewState],
    *,
    margin: float = DEFAULT_MARGIN,
) -> list[Candidate]:
    """``candidates`` with their latest review attached and dismissals applied."""
    if not 0.0 <= margin <= 1.0:
        raise ValueError(f"margin must be in [0, 1] (probability points), got {margin}")
    out = []
    for candidate in candidates:
        review = reviews.get(candidate.employee_id)
        if review is None:
            out.append(candidate)
            continue
        suppressed = review.decision == "dismiss" and (
            review.score is None or candidate.score <= review.score + margin
        )
        state = replace(review, suppressed=suppressed)
        out.append(candidate.with_review(state, flagged=candidate.flagged and not suppressed))
    return out
