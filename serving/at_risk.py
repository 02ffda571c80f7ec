"""Advocates at risk of lapsing, for the service (``/at_risk``) and the console.

The lapse forecast of every eligible advocate (``features.advocate_activity``:
:func:`read_activity` of the store as of the current hour, :func:`forecast_lapse` with the
loaded lapse model) is the expensive part: one store read of up to two years of events.
:class:`AtRiskViews` keeps one :class:`LapseForecast` per (model version, hour) in a
:class:`~serving.influencers.ScoredCache` (computed on a background thread, a request waits
for it at most :data:`~serving.influencers.SCORING_WAIT` seconds, then 503), with every
advocate's department read beside it. Choosing from it is cheap: every request leaves out
the advocates who opted out since (read fresh, so an opt-out counts at once), then filters
by department, probability and top; the suggested action comes from the caller's
``suggest`` (the live ranker's feeds, in memory) with :func:`recsys.forecast.feed_action`,
else the advocate's first reason's :func:`recsys.forecast.reason_action`. Every method here
is database work: call it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from features.advocate_activity import LapseRisk, at_risk, forecast_lapse, read_activity
from features.data.directory import departments, opted_out
from features.data.store import Store
from recsys.forecast import LapseModel, feed_action, reason_action
from serving.errors import NotReady, Unprocessable
from serving.influencers import SCORING_WAIT, ScoredCache
from serving.state import ForecastState, StateHolder

#: Seconds a forecast is kept: it is computed once per model version and hour anyway.
FORECAST_TTL = 3600.0
#: Feed items suggested per advocate.
FEED_ITEMS = 3

#: ``suggest(employee_ids)``: each advocate's first feed items as ``(content_id, title)``
#: (none for an advocate the model does not know).
Suggest = Callable[[Sequence[str]], dict[str, list[tuple[str, str]]]]


@dataclass(frozen=True)
class LapseForecast:
    """Every eligible advocate's forecast (likeliest first) as of one hour, by one model."""

    risks: list[LapseRisk]
    departments: dict[str, str | None]
    as_of: datetime  # UTC, on the hour
    model_version: str  # name@version
    horizon_days: float


@dataclass(frozen=True)
class AtRiskAdvocate:
    """One listed advocate: the forecast, their department and the suggested action."""

    risk: LapseRisk
    department: str | None
    action: str
    suggested_content: list[tuple[str, str]]  # (content_id, title) from their own feed


@dataclass(frozen=True)
class AtRiskList:
    advocates: list[AtRiskAdvocate]
    eligible: int  # advocates forecast (in the department, when one is asked)
    forecast: LapseForecast


class AtRiskViews:
    """The cached lapse forecast and the at-risk listing (module docstring)."""

    def __init__(self, store: Store, holder: StateHolder, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.holder = holder
        self.clock = clock
        self.cache: ScoredCache[LapseForecast] = ScoredCache(
            FORECAST_TTL, busy="the lapse forecast is being computed"
        )

    def forecast(self) -> LapseForecast:
        """The loaded model's forecast as of the current hour (cached); NotReady without a
        lapse model, :class:`~serving.influencers.ScoringInProgress` when not computed in
        time."""
        lapse = self.holder.forecast("lapse")
        if lapse is None:
            raise NotReady("no lapse model is loaded yet (see /status)")
        as_of = self.clock().replace(minute=0, second=0, microsecond=0)
        key = f"{lapse.version.version}@{as_of.isoformat()}"
        return self.cache.get(key, lambda: self._compute(lapse, as_of), wait=SCORING_WAIT)

    def listing(
        self,
        *,
        top: int | None,
        min_probability: float = 0.0,
        department: str | None = None,
        suggest: Suggest | None = None,
    ) -> AtRiskList:
        """The likeliest ``top`` advocates at ``min_probability`` or above (in
        ``department``, case-insensitive: Unprocessable when no advocate is in it), each with
        an action."""
        forecast = self.forecast()
        gone = opted_out(self.store)  # read fresh: an opt-out within the hour counts at once
        risks = [r for r in forecast.risks if r.employee_id not in gone]
        if department is not None and department.strip():
            wanted = department.strip().lower()
            known = {(d or "").lower() for d in forecast.departments.values()}
            if wanted not in known:
                raise Unprocessable(f"no advocate in department {department!r}", field="department")
            risks = [
                r
                for r in risks
                if (forecast.departments.get(r.employee_id) or "").lower() == wanted
            ]
        try:
            chosen = at_risk(risks, top=top, min_probability=min_probability)
        except ValueError as exc:
            field = "top" if str(exc).startswith("top") else "min_probability"
            raise Unprocessable(str(exc), field=field) from None
        feeds = suggest([r.employee_id for r in chosen]) if suggest and chosen else {}
        listed = [
            _advocate(r, forecast.departments.get(r.employee_id), feeds.get(r.employee_id, []))
            for r in chosen
        ]
        return AtRiskList(listed, len(risks), forecast)

    def _compute(self, lapse: ForecastState, as_of: datetime) -> LapseForecast:
        model: LapseModel = lapse.model  # type: ignore[assignment]
        activity = read_activity(self.store, as_of)
        try:
            risks = forecast_lapse(model, activity)
        except ValueError as exc:  # the model's features are not the store's: not the request
            raise NotReady(f"the lapse model {lapse.version.label} cannot be used: {exc}") from None
        return LapseForecast(
            risks, departments(self.store), as_of, lapse.version.label, model.horizon_days
        )


def _advocate(
    risk: LapseRisk, department: str | None, items: list[tuple[str, str]]
) -> AtRiskAdvocate:
    if items:
        action = feed_action([title or content_id for content_id, title in items])
    else:
        action = reason_action(risk.reasons[0][0] if risk.reasons else None)
    return AtRiskAdvocate(risk, department, action, items)
