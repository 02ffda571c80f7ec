"""Content forecasts: the expected first-week shares, reach and clicks of every draft and every
item published in the last days, with the model's 80% interval, and of a draft typed into the
form; the same calls as ``/content_forecast`` and ``/content_forecast_draft``
(:class:`serving.content_forecast.ContentForecastViews`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from serving.console.app import Handler, Page
from serving.content_forecast import Draft, ForecastList
from serving.errors import Unprocessable

#: The periods the page can list (days back from now).
DAYS = (3, 7, 14, 30)
#: Items listed at most.
LIMIT = 200


def routes(page: Callable[[Handler], Callable]) -> list[Route]:
    return [Route("/forecast", page(forecast_page), methods=["GET", "POST"])]


async def forecast_page(request: Request, page: Page) -> Response:
    """The newest items' forecasts; a POST adds the typed draft's forecast above them."""
    days = _days(request.query_params.get("days"))
    views = page.runtime.content_forecast_views
    draft: ForecastList | None = None
    typed: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form()
        typed = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
        wanted = _draft(typed)
        draft = await page.work(lambda: views.draft(wanted))
    listed = await page.work(lambda: views.items(None, days=float(days), limit=LIMIT))
    return page.render(
        "forecast.html",
        title="Content forecast",
        active="forecast",
        listed=listed,
        draft=draft,
        typed=typed,
        days=days,
        choices=DAYS,
    )


def _days(raw: str | None) -> int:
    if not raw:
        return 7
    if not raw.isdigit() or int(raw) not in DAYS:
        raise Unprocessable(f"choose one of {', '.join(map(str, DAYS))}", field="days")
    return int(raw)


def _draft(values: dict[str, str]) -> Draft:
    """The typed draft; a missing title or type, or an unreadable time: 422 on its field."""
    for field in ("title", "content_type", "published_at"):
        if not values.get(field):
            raise Unprocessable("this field is needed for a forecast", field=field)
    if len(values["title"]) > 500 or len(values.get("body", "")) > 20_000:
        raise Unprocessable("at most 500 characters of title and 20,000 of body", field="body")
    try:
        planned = datetime.fromisoformat(values["published_at"])
    except ValueError:
        raise Unprocessable(
            "a date and time, e.g. 2026-12-07T09:00", field="published_at"
        ) from None
    topics = [t.strip() for t in values.get("topics", "").split(",") if t.strip()]
    return Draft(
        title=values["title"],
        content_type=values["content_type"],
        published_at=planned if planned.tzinfo else planned.replace(tzinfo=UTC),
        body=values.get("body") or None,
        topics=tuple(topics[:30]),
        author_id=values.get("author_id") or None,
    )
