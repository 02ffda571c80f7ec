"""Influencer candidates: the table (filters, sorting, pages, CSV), a candidate's page
(score over time, reasons, shares and what they earned, review history, the review form)
and the fairness report. Every figure comes from :class:`serving.runtime.Runtime`, the
same calls as ``/influencers``, ``/influencer_review`` and ``/analytics``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import timedelta
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from features.data.directory import group_choices
from features.program.request import DEFAULT_ATTRIBUTION_MODEL
from recsys.feed_arrays import NETWORKS
from recsys.influence.candidate import Candidate
from recsys.influence.tiers import TIERS
from serving.console.app import MOUNT, Handler, Page, secured
from serving.console.charts import bar_chart, line_chart
from serving.console.exports import csv_response
from serving.errors import Unprocessable

PAGE_SIZE = 50
SHARES_DAYS = 90
REVIEW_STATES = ("none", "approve", "dismiss")
SORTS: dict[str, Callable[[Candidate], object]] = {
    "flagged": lambda c: (c.flagged, c.score),  # the runtime's order: flagged first
    "score": lambda c: c.score,
    "followers": lambda c: c.followers_max,
    "department": lambda c: (c.department or "").lower(),
    "employee": lambda c: c.employee_id,
    "confidence": lambda c: ("low", "medium", "high").index(c.confidence.level),
}
FILTERS = ("department", "network", "tier", "review", "flagged")


def routes(page: Callable[[Handler], Callable]) -> list[Route]:
    return [
        Route("/candidates", page(candidates_page), methods=["GET"]),
        Route("/candidates.csv", page(candidates_csv), methods=["GET"]),
        Route("/candidate", page(candidate_page), methods=["GET"]),
        Route("/candidate/review", page(review), methods=["POST"]),
        Route("/fairness", page(fairness_page), methods=["GET"]),
    ]


# -- the table ------------------------------------------------------------------------
async def candidates_page(request: Request, page: Page) -> Response:
    params = request.query_params
    found = await _matching(page, params)
    sort, descending = _sort(params)
    number = _page_number(params.get("page"))
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    if number > pages:
        raise Unprocessable(f"there are {pages} pages, got page {number}", field="page")
    shown = found[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    runtime = page.runtime
    followers = await page.work(
        lambda: {c.employee_id: runtime.followers(c.employee_id) for c in shown}
    )
    choices = await page.work(lambda: group_choices(runtime.store))
    return page.render(
        "candidates.html",
        title="Influencer candidates",
        active="candidates",
        candidates=shown,
        followers=followers,
        total=len(found),
        flagged=sum(c.flagged for c in found),
        page_number=number,
        pages=pages,
        sort=sort,
        descending=descending,
        departments=choices["department"],
        networks=NETWORKS,
        tiers=TIERS,
        states=REVIEW_STATES,
        csv_query=urlencode([(k, v) for k, v in params.multi_items() if k != "page"]),
    )


async def candidates_csv(request: Request, page: Page) -> Response:
    found = await _matching(page, request.query_params)
    runtime = page.runtime
    header = [
        "employee_id", "department", "score", "tier", "flagged", "confidence",
        *(f"followers_{n}" for n in NETWORKS), "reasons", "review", "reviewer", "reviewed_at",
        "review_note",
    ]  # fmt: skip
    rows = await page.work(lambda: [_csv_row(c, runtime.followers(c.employee_id)) for c in found])
    return csv_response("influencer-candidates.csv", header, rows)


def _csv_row(c: Candidate, followers: dict[str, float]) -> list[object]:
    review = c.review
    return [
        c.employee_id, c.department or "", round(c.score, 6), c.tier, c.flagged,
        c.confidence.level, *(followers.get(n, 0.0) for n in NETWORKS),
        "; ".join(r.text for r in c.reasons),
        review.decision if review else "", review.reviewer if review else "",
        review.at.isoformat() if review else "", review.note if review else "",
    ]  # fmt: skip


async def _matching(page: Page, params: QueryParams) -> list[Candidate]:
    """The candidates the filters select, sorted as asked."""
    network = params.get("network") or None
    tier = params.get("tier") or None
    review_state = params.get("review") or None
    if network is not None and network not in NETWORKS:
        raise Unprocessable(
            f"unknown network {network!r}; one of {', '.join(NETWORKS)}", field="network"
        )
    if tier is not None and tier not in TIERS:
        raise Unprocessable(f"unknown tier {tier!r}; one of {', '.join(TIERS)}", field="tier")
    if review_state is not None and review_state not in REVIEW_STATES:
        known = ", ".join(REVIEW_STATES)
        raise Unprocessable(
            f"unknown review state {review_state!r}; one of {known}", field="review"
        )
    runtime = page.runtime
    found = await page.work(
        lambda: runtime.candidates(
            department=params.get("department") or None,
            network=network,
            tier=tier,
            flagged_only=params.get("flagged") in ("1", "on", "true"),
            review_state=review_state,
        )
    )
    sort, descending = _sort(params)
    if sort != "flagged" or not descending:  # else the runtime's order already
        found = sorted(found, key=SORTS[sort], reverse=descending)
    return found


def _sort(params: QueryParams) -> tuple[str, bool]:
    sort = params.get("sort") or "flagged"
    if sort not in SORTS:
        raise Unprocessable(f"unknown sort {sort!r}; one of {', '.join(SORTS)}", field="sort")
    order = params.get("order") or ("asc" if sort in ("department", "employee") else "desc")
    if order not in ("asc", "desc"):
        raise Unprocessable(f"order must be asc or desc, got {order!r}", field="order")
    return sort, order == "desc"


def _page_number(value: str | None) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        raise Unprocessable(f"must be a whole number, got {value!r}", field="page") from None
    if number < 1:
        raise Unprocessable(f"must be >= 1, got {number}", field="page")
    return number


# -- one candidate --------------------------------------------------------------------
async def candidate_page(request: Request, page: Page) -> Response:
    employee_id = request.query_params.get("employee_id", "").strip()
    if not employee_id:
        raise Unprocessable("say which candidate", field="employee_id")
    runtime = page.runtime
    candidate = await page.work(lambda: runtime.candidate(employee_id))  # NotFound: opted out
    history = await page.work(lambda: runtime.score_history(employee_id))
    reviews = await page.work(lambda: runtime.review_history(employee_id))
    now = runtime.clock()
    shares = await page.work(
        lambda: runtime.program.analytics(
            start=now - timedelta(days=SHARES_DAYS),
            end=now,
            group_by=["content"],
            attribution_model=DEFAULT_ATTRIBUTION_MODEL,
            min_group_size=5,
            top=None,
            order_by="shares",
            descending=True,
            filters={"advocate": employee_id},
        )
    )
    return page.render(
        "candidate.html",
        title=f"Candidate {employee_id}",
        active="candidates",
        candidate=candidate,
        followers=await page.work(lambda: runtime.followers(employee_id)),
        chart=_score_chart(history),
        history=history,
        reviews=list(reversed(reviews)),
        shares=shares,
        shares_days=SHARES_DAYS,
        notice=request.query_params.get("saved"),
    )


def _score_chart(history: Sequence) -> object:
    series: dict[str, list[tuple[object, float | None]]] = {}
    for point in history:
        series.setdefault(f"model {point.model_version}", []).append(
            (point.scored_at, round(point.score * 100, 2))
        )
    return line_chart(
        series,
        title="Score over time (probability of top-decile engagement, %)",
        y_label="score %",
        y_format=lambda v: f"{v:.0f}%",
    )


async def review(request: Request, page: Page) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    employee_id = values.get("employee_id", "").strip()
    decision = values.get("decision", "")
    if decision not in ("approve", "dismiss"):
        raise Unprocessable("choose approve or dismiss", field="decision")
    note = values.get("note", "")
    if len(note) > 2000:
        raise Unprocessable(f"at most 2000 characters, got {len(note)}", field="note")
    runtime = page.runtime
    await page.work(lambda: runtime.review(employee_id, decision, note, page.session.name))
    target = f"{MOUNT}/candidate?" + urlencode({"employee_id": employee_id, "saved": decision})
    return secured(RedirectResponse(target, status_code=303))


# -- fairness -------------------------------------------------------------------------
async def fairness_page(request: Request, page: Page) -> Response:
    runtime = page.runtime
    report = await page.work(runtime.fairness)
    minimum = int(report["min_group"])
    charts = {
        dimension: bar_chart(
            [
                (group, g["rate"] * 100 if g["advocates"] >= minimum else None)
                for group, g in d["groups"].items()
            ],
            title=f"Flag rate by {dimension} (%)",
            value_format=lambda v: f"{v:.1f}%",
        )
        for dimension, d in report["dimensions"].items()
    }
    return page.render(
        "fairness.html", title="Fairness", active="fairness", report=report, charts=charts
    )
