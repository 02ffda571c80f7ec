"""Advocates at risk of lapsing: the likeliest to have no activity in the lapse model's
horizon, with the probability, the reasons and the suggested action; the same call as
``/at_risk`` (:meth:`serving.runtime.Runtime.at_risk`)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from features.data.directory import group_choices
from serving.console.app import Handler, Page
from serving.errors import Unprocessable

#: How many advocates the page can list.
TOPS = (20, 50, 100, 500)


def routes(page: Callable[[Handler], Callable]) -> list[Route]:
    return [Route("/at_risk", page(at_risk_page), methods=["GET"])]


async def at_risk_page(request: Request, page: Page) -> Response:
    params = request.query_params
    top = _top(params.get("top"))
    percent = _percent(params.get("min_probability"))
    department = params.get("department") or None
    runtime = page.runtime
    answer = await page.work(lambda: runtime.at_risk(top, percent / 100, department))
    choices = await page.work(lambda: group_choices(runtime.store))
    return page.render(
        "at_risk.html",
        title="Advocates at risk",
        active="at_risk",
        answer=answer,
        departments=choices["department"],
        tops=TOPS,
        top=top,
        percent=percent,
    )


def _top(raw: str | None) -> int:
    if not raw:
        return TOPS[0]
    if not raw.isdigit() or int(raw) not in TOPS:
        raise Unprocessable(f"choose one of {', '.join(map(str, TOPS))}", field="top")
    return int(raw)


def _percent(raw: str | None) -> float:
    """The lowest probability shown, in percent (0-100)."""
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 100.0:
        raise Unprocessable("a percentage from 0 to 100", field="min_probability")
    return value
