"""Domain errors of the service and their HTTP answers.

Every error a valid client can cause maps to a 4xx answer naming the field and the
problem; 503 means the service cannot answer yet (no model loaded, store unreachable).
The body has the shape of BentoML's own validation answers: ``{"error": message,
"detail": [{"loc": [field], "msg": message, "type": kind}]}``.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse


class ServingError(Exception):
    """A request the service refuses, with the HTTP status and the field at fault."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    kind: str = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> dict[str, object]:
        loc = [self.field] if self.field else []
        detail = [{"loc": loc, "msg": self.message, "type": self.kind}]
        return {"error": self.message, "detail": detail}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == HTTPStatus.UNAUTHORIZED else None
        return JSONResponse(self.body(), status_code=int(self.status), headers=headers)


class BadRequest(ServingError):
    status = HTTPStatus.BAD_REQUEST
    kind = "bad_request"


class Unauthorized(ServingError):
    status = HTTPStatus.UNAUTHORIZED
    kind = "unauthorized"


class Forbidden(ServingError):
    status = HTTPStatus.FORBIDDEN
    kind = "forbidden"


class NotFound(ServingError):
    status = HTTPStatus.NOT_FOUND
    kind = "not_found"


class Unprocessable(ServingError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    kind = "unprocessable"


class NotReady(ServingError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    kind = "not_ready"
