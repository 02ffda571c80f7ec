"""The screening queue: content held for a person's decision (or blocked, released), each
finding with what it matched, and the release / block form; the same calls as
``/screening_queue`` and ``/screening_decision`` (:class:`serving.screening.ScreeningViews`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from serving.console.app import MOUNT, Handler, Page, secured
from serving.errors import Unprocessable
from serving.screening import STATUSES

DECISIONS = ("release", "block")


def routes(page: Callable[[Handler], Callable]) -> list[Route]:
    return [
        Route("/screening", page(queue_page), methods=["GET"]),
        Route("/screening/decide", page(decide), methods=["POST"]),
    ]


async def queue_page(request: Request, page: Page) -> Response:
    status = request.query_params.get("status") or "held"
    screening = page.runtime.screening
    queue = await page.work(lambda: screening.queue(status))  # Unprocessable: unknown status
    return page.render(
        "screening.html",
        title="Content screening",
        active="screening",
        queue=queue,
        statuses=STATUSES,
        notice=request.query_params.get("saved"),
        notice_item=request.query_params.get("content_id"),
    )


async def decide(request: Request, page: Page) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    content_id = values.get("content_id", "").strip()
    decision = values.get("decision", "")
    if decision not in DECISIONS:
        raise Unprocessable("choose release or block", field="decision")
    reason = values.get("reason", "").strip()
    if not reason or len(reason) > 2000:
        raise Unprocessable("say why, in at most 2000 characters", field="reason")
    screening = page.runtime.screening
    await page.work(lambda: screening.decide(content_id, decision, page.session.name, reason))
    query = urlencode({"saved": decision, "content_id": content_id})
    return secured(RedirectResponse(f"{MOUNT}/screening?{query}", status_code=303))
