"""The floor the framework sets: a BentoML service whose feed returns a constant list.

Same request parsing and the same response shape as ``serving.service.AdvocacyService``'s
``/feed`` (20 items with reasons), no model, no auth, no state: what
``experiments/bench_serving.py`` compares the real service against.

    bentoml serve experiments.trivial_service:TrivialService --port 3001
"""

from __future__ import annotations

from datetime import UTC, datetime

import bentoml

from serving.schemas import FeedItemOut, FeedOut, Filters, Id, K, Profile, ReasonOut

_ITEMS = [
    FeedItemOut(
        content_id=f"c{j:05d}",
        title=f"Constant item {j}",
        score=1.0 - j / 100,
        rank=j + 1,
        reasons=[ReasonOut(kind="global_trend", text="Popular across the company right now")],
    )
    for j in range(100)
]


@bentoml.service(name="trivial", workers=1, metrics={"enabled": True})
class TrivialService:
    """Answers every feed request with the same items."""

    @bentoml.api(route="/feed")
    async def feed(
        self,
        employee_id: Id,
        k: K = 20,
        filters: Filters | None = None,
        profile: Profile | None = None,
    ) -> FeedOut:
        return FeedOut(
            employee_id=employee_id,
            items=_ITEMS[:k],
            cold_start=False,
            model_version="trivial@1",
            as_of=datetime.now(UTC),
        )
