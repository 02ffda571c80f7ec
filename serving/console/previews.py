"""The feed preview: an employee's feed exactly as ``/feed`` returns it (or a new hire's,
from a described profile), with reasons, and why a given content item is not in it."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from features.data.directory import advocate, find_advocates, group_choices
from recsys.feed import Standing
from recsys.policy import Rule
from serving.console.app import Handler, Page
from serving.errors import NotFound, Unprocessable
from serving.schemas import Profile

#: The id a described new hire is ranked under (never an employee of the audience).
NEW_HIRE = "new-hire-preview"
DEFAULT_K = 10
RULE_TEXT = {
    Rule.NOT_APPROVED: "it is not approved for sharing",
    Rule.NOT_PUBLISHED: "it is not published yet",
    Rule.EXPIRED: "it has expired",
    Rule.REGION: "its audience does not include the employee's region",
    Rule.DEPARTMENT: "its audience does not include the employee's department",
    Rule.LANGUAGE: "it is in a language the employee does not read",
    Rule.ALREADY_SHARED: "the employee has already shared it",
    Rule.DISMISSED: "the employee dismissed it",
}


def routes(page: Callable[[Handler], Callable]) -> list[Route]:
    return [Route("/feed", page(feed_page), methods=["GET"])]


async def feed_page(request: Request, page: Page) -> Response:
    params = request.query_params
    runtime = page.runtime
    store = runtime.store
    mode = "profile" if params.get("mode") == "profile" else "employee"
    k = _k(params.get("k"))
    find = params.get("find", "").strip()
    choices = await page.work(lambda: group_choices(store))
    found = await page.work(lambda: find_advocates(store, find, limit=20)) if find else None
    employee_id, profile = await _who(page, mode, params)
    body, standing = None, None
    why = params.get("why", "").strip()
    if employee_id is not None:
        body = runtime.feed(employee_id, k, None, profile)
        if why:
            standing = runtime.standing(employee_id, why, k, profile)
    return page.render(
        "feed.html",
        title="Feed preview",
        active="feed",
        mode=mode,
        k=k,
        find=find,
        found=found,
        choices=choices,
        employee_id=employee_id if mode == "employee" else None,
        body=body,
        body_json=None if body is None else orjson.dumps(body, option=orjson.OPT_INDENT_2).decode(),
        why=why,
        standing=None if standing is None else explain(standing),
    )


async def _who(page: Page, mode: str, params) -> tuple[str | None, Profile | None]:
    """The employee to rank (None: nothing asked yet) and the new hire's profile."""
    if mode == "profile":
        if not any(params.get(n) for n in ("department", "region", "role", "languages")):
            return None, None
        try:
            profile = Profile(
                department=params.get("department") or None,
                region=params.get("region") or None,
                role=params.get("role") or None,
                languages=[x.strip() for x in params.get("languages", "").split(",") if x.strip()],
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"]) or "profile"
            raise Unprocessable(str(error["msg"]), field=field) from None
        return NEW_HIRE, profile
    employee_id = params.get("employee_id", "").strip()
    if not employee_id:
        return None, None
    known = await page.work(lambda: advocate(page.runtime.store, employee_id))
    if known is None:  # unknown, or opted out: the console does not show them
        raise NotFound(f"no advocate with id {employee_id!r}", field="employee_id")
    return employee_id, None


def _k(value: str | None) -> int:
    if not value:
        return DEFAULT_K
    try:
        k = int(value)
    except ValueError:
        raise Unprocessable(f"must be a whole number 1-100, got {value!r}", field="k") from None
    if not 1 <= k <= 100:
        raise Unprocessable(f"must be 1-100, got {k}", field="k")
    return k


def explain(standing: Standing) -> dict[str, object]:
    """The standing as a verdict and a sentence for the page."""
    item = standing.content_id
    if standing.rule is not None:
        return {
            "verdict": str(standing.rule),
            "text": f"{item} is not eligible: {RULE_TEXT[standing.rule]}.",
        }
    if standing.in_feed:
        return {
            "verdict": "in_feed",
            "text": f"{item} is in the feed at position {standing.feed_rank}.",
        }
    rank, k, total = standing.rank, standing.k, standing.eligible
    if rank is not None and rank <= k:
        text = (
            f"{item} is eligible and ranks {rank} of {total} by score, but the diversity"
            " rules (at most so many items per topic or type) kept it out of the top"
            f" {k}."
        )
        return {"verdict": "diversity", "text": text}
    cut = (
        ""
        if standing.cut_score is None
        else f" (the last item shown scores {standing.cut_score:.4f})"
    )
    score = "" if standing.score is None else f", score {standing.score:.4f}"
    text = (
        f"{item} is eligible but below the cut: it ranks {rank} of {total} eligible items"
        f"{score}; the feed shows the top {k}{cut}."
    )
    return {"verdict": "below_cut", "text": text}
