"""The console's ASGI app: sign-in, the session guard, CSRF, rendering and the routes.

Every page is rendered on the server (Jinja2, autoescaped) and works without JavaScript;
every script, style and chart is served from here. A page handler receives the request and
a :class:`Page` (the signed-in session, the runtime, rendering) and returns a response;
:meth:`Console.page` wraps it with the session check (a missing or expired session goes to
the sign-in form), the CSRF check of a POST, the service's errors shown as an error page
with their status (a store that does not answer: 503 with ``Retry-After``), and the
response headers (CSP without inline script or style, no caching, no framing).

Personal identifiers travel in query strings and form bodies, never in paths: the access
log records paths only.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import anyio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from serving.console.session import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_COOKIE,
    Session,
    SessionSigner,
    SignInError,
)
from serving.errors import ServingError
from serving.runtime import Runtime

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MOUNT = "/console"
T = TypeVar("T")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:;"
        " font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
NAV = (
    ("candidates", "Influencer candidates"),
    ("analytics", "Program analytics"),
    ("fairness", "Fairness"),
    ("feed", "Feed preview"),
    ("screening", "Screening"),
    ("at_risk", "At risk"),
    ("forecast", "Forecast"),
    ("status", "Model status"),
)

Handler = Callable[[Request, "Page"], Awaitable[Response]]


@dataclass(frozen=True)
class Page:
    """What a page handler works with: the request, its session, the runtime, rendering."""

    request: Request
    session: Session
    console: Console

    @property
    def runtime(self) -> Runtime:
        return self.console.runtime_of()

    async def work(self, function: Callable[[], T]) -> T:
        """``function`` on a worker thread (store work; the event loop serves others)."""
        return await anyio.to_thread.run_sync(function)

    def render(self, template: str, *, status: int = 200, **context: Any) -> Response:
        return self.console.render(
            self.request,
            template,
            status=status,
            session=self.session,
            csrf=self.console.signer.csrf_token(self.session),
            **context,
        )


class Console:
    """The console over one service runtime (``runtime_of`` is called per request)."""

    def __init__(self, runtime_of: Callable[[], Runtime], signer: SessionSigner) -> None:
        self.runtime_of = runtime_of
        self.signer = signer
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(("html",)),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(nav=NAV, root=MOUNT, csrf_field=CSRF_FIELD, query=_query)
        self.templates.filters.update(label=fact_label, when=fact_time)

    # -- rendering ----------------------------------------------------------------------
    def render(
        self, request: Request, template: str, *, status: int = 200, **context: Any
    ) -> Response:
        body = self.templates.get_template(template).render(request=request, **context)
        return secured(HTMLResponse(body, status_code=status))

    # -- the guard ----------------------------------------------------------------------
    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` behind the session check, the CSRF check of a POST and error pages."""

        async def endpoint(request: Request) -> Response:
            session = self.signer.session(request.cookies.get(SESSION_COOKIE))
            if session is None:
                return _to_login(request)
            page = Page(request, session, self)
            if request.method == "POST":
                form = await request.form()
                token = form.get(CSRF_FIELD)
                if not _same_origin(request) or not self.signer.csrf_valid(
                    session, token if isinstance(token, str) else None
                ):
                    logger.warning("console: refused a POST without a valid CSRF token")
                    return page.render(
                        "error.html",
                        status=403,
                        title="Request refused",
                        message="This form was not sent from the console (missing or invalid"
                        " CSRF token). Reload the page and try again.",
                    )
            try:
                with page.runtime.health.guard():
                    return await handler(request, page)
            except ServingError as error:
                response = page.render(
                    "error.html",
                    status=int(error.status),
                    title=_TITLES.get(error.kind)
                    or _TITLES.get(int(error.status), "Cannot show this"),
                    message=error.message,
                    field=error.field,
                )
                response.headers.update(error.headers())
                return response

        return endpoint

    # -- sign in and out ----------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        if self.signer.session(request.cookies.get(SESSION_COOKIE)) is not None:
            return RedirectResponse(_next(request.query_params.get("next")), status_code=303)
        return self._login(request, next_page=request.query_params.get("next"))

    async def login(self, request: Request) -> Response:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        next_page = values.get("next")
        if not _same_origin(request) or not self.signer.login_csrf_valid(
            request.cookies.get(LOGIN_COOKIE), values.get(CSRF_FIELD)
        ):
            error = SignInError("form", "the sign-in form expired: try again", status=403)
            return self._login(request, next_page=next_page, error=error)
        try:
            session, cookie = self.signer.sign_in(values.get("token", ""), values.get("name", ""))
        except SignInError as error:
            logger.info("console: sign-in refused (%s)", error.field)
            return self._login(request, next_page=next_page, error=error, name=values.get("name"))
        logger.info("console: %s signed in", session.role)
        response = RedirectResponse(_next(next_page), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=int(self.signer.lifetime),
            path=MOUNT,
            secure=_https(request),
            httponly=True,
            samesite="strict",
        )
        response.delete_cookie(LOGIN_COOKIE, path=MOUNT)
        return secured(response)

    async def logout(self, request: Request, page: Page) -> Response:
        response = RedirectResponse(f"{MOUNT}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=MOUNT, httponly=True, samesite="strict")
        return secured(response)

    def _login(
        self,
        request: Request,
        *,
        next_page: str | None,
        error: SignInError | None = None,
        name: str | None = None,
    ) -> Response:
        cookie, csrf = self.signer.login_nonce()
        response = self.render(
            request,
            "login.html",
            status=error.status if error else 200,
            error=error,
            next_page=_next(next_page),
            name=name or "",
            login_csrf=csrf,
        )
        response.set_cookie(
            LOGIN_COOKIE,
            cookie,
            max_age=LOGIN_SECONDS,
            path=MOUNT,
            secure=_https(request),
            httponly=True,
            samesite="strict",
        )
        return response


_TITLES: dict[int | str, str] = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    422: "Check the form",
    503: "Not ready yet",
    "store_unavailable": "The data store does not answer",
}


def console_app(
    runtime_of: Callable[[], Runtime],
    *,
    secret: bytes | None = None,
    session_hours: float = 8.0,
) -> Starlette:
    """The console as an ASGI app to mount at :data:`MOUNT` (``secret``: the session key;
    None draws a random one, so sessions end when the process restarts)."""
    from serving.console import (
        analytics,
        at_risk,
        candidates,
        forecast,
        previews,
        screening,
        status,
    )

    signer = SessionSigner(
        secret or secrets.token_bytes(32),
        lambda: runtime_of().tokens,
        lifetime=session_hours * 3600,
    )
    console = Console(runtime_of, signer)
    page = console.page
    routes = [
        Route("/", _home),
        Route("/login", console.login_form, methods=["GET"]),
        Route("/login", console.login, methods=["POST"]),
        Route("/logout", page(console.logout), methods=["POST"]),
        *candidates.routes(page),
        *analytics.routes(page),
        *previews.routes(page),
        *screening.routes(page),
        *status.routes(page),
        *at_risk.routes(page),
        *forecast.routes(page),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes)


class MountedConsole:
    """The console for the BentoML service: built on its first request from the service
    instance's runtime (``runtime_of``), whose dependencies carry the session settings."""

    def __init__(self, runtime_of: Callable[[], Runtime]) -> None:
        self.runtime_of = runtime_of
        self._app: Starlette | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            deps = self.runtime_of().deps
            self._app = console_app(
                self.runtime_of,
                secret=deps.console_secret,
                session_hours=deps.console_session_hours,
            )
        await self._app(scope, receive, send)


async def _home(request: Request) -> Response:
    return RedirectResponse(f"{MOUNT}/candidates", status_code=303)


def secured(response: Response) -> Response:
    """``response`` with the console's security headers."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _to_login(request: Request) -> Response:
    if request.method != "GET":
        return secured(RedirectResponse(f"{MOUNT}/login", status_code=303))
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return secured(RedirectResponse(f"{MOUNT}/login?{urlencode({'next': here})}", 303))


def _next(value: str | None) -> str:
    """A console path to go to after sign-in (anything else: the candidates page)."""
    if value and value.startswith(f"{MOUNT}/") and not value.startswith("//"):
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc and "\\" not in value:
            return value
    return f"{MOUNT}/candidates"


def _https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _same_origin(request: Request) -> bool:
    """A POST's ``Origin`` (when the browser sends one) is this service."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "")


def _query(request: Request, **changes: object) -> str:
    """The current query string with ``changes`` (None removes a key): links that keep
    the page's filters."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


def fact_label(key: object) -> str:
    """A recorded fact's key as a label: ``features_as_of`` -> "Features as of"."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def fact_time(value: object) -> object:
    """An ISO 8601 time (as manifests record them) as "2026-11-03 08:43:33 UTC"; any other
    value as it is."""
    if not isinstance(value, str) or len(value) < 19 or value[10:11] != "T":
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo else "")
