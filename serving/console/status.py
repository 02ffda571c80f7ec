"""The model status page: the champions with their metrics and training time, the last
retrains and alias changes, and the catalogue's last refresh."""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from serving.console.app import Handler, Page
from serving.model_source import ModelSource

logger = logging.getLogger(__name__)


def routes(page: Callable[[Handler], Callable]) -> list[Route]:
    return [Route("/status", page(status_page), methods=["GET"])]


async def status_page(request: Request, page: Page) -> Response:
    runtime = page.runtime
    service = await page.work(runtime.status)
    sources = [("Recommender", runtime.deps.model_source)]
    if runtime.deps.influencer_source is not None:
        sources.append(("Influencer scorer", runtime.deps.influencer_source))
    models = [(label, await page.work(lambda s=source: _describe(s))) for label, source in sources]
    return page.render(
        "status.html", title="Model status", active="status", service=service, models=models
    )


def _describe(source: ModelSource) -> dict[str, object]:
    """What ``source`` says about its versions; an unreachable registry is shown, not raised."""
    try:
        return source.describe()
    except Exception as exc:  # the page still shows the service's own status
        logger.warning("model status of %s unavailable: %s", source.name, type(exc).__name__)
        return {"name": source.name, "error": f"{type(exc).__name__}: {exc}"}
