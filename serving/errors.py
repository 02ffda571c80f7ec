"""Domain errors of the service and their HTTP answers.

Every error a valid client can cause maps to a 4xx answer naming the field and the
problem; 503 means the service cannot answer now: no model loaded yet (``not_ready``), or
the store does not answer (``store_unavailable``, with ``Retry-After``).
The body is :class:`~serving.schemas.ErrorOut`, the shape of BentoML's own validation
answers: ``{"error": message, "detail": [{"loc": path, "msg": message, "type": kind}]}``,
where ``path`` is the field's path as BentoML gives it (``filters.networks`` is
``["filters", "networks"]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus

from starlette.responses import JSONResponse

from recsys.errors import FieldError
from serving.schemas import ErrorDetailOut, ErrorOut


class ServingError(Exception):
    """A request the service refuses, with the HTTP status and the field at fault."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    kind: str = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> dict[str, object]:
        loc: list[str | int] = list(self.field.split(".")) if self.field else []
        detail = ErrorDetailOut(loc=loc, msg=self.message, type=self.kind)
        return ErrorOut(error=self.message, detail=[detail]).model_dump(exclude_none=True)

    def headers(self) -> dict[str, str]:
        """Headers the answer carries (``WWW-Authenticate`` on a 401)."""
        return {"WWW-Authenticate": "Bearer"} if self.status == HTTPStatus.UNAUTHORIZED else {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body(), status_code=int(self.status), headers=self.headers() or None
        )


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


class UnsupportedMediaType(ServingError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    kind = "unsupported_media_type"


class NotReady(ServingError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    kind = "not_ready"


#: Seconds a client is told to wait (``Retry-After``) when the store does not answer.
STORE_RETRY_AFTER = 5


class StoreUnavailable(ServingError):
    """The store did not answer (PostgreSQL down, restarting or unreachable): nothing of the
    request was stored; the same request can be sent again after ``Retry-After`` seconds."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    kind = "store_unavailable"

    def __init__(self, message: str, *, retry_after: int = STORE_RETRY_AFTER) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@contextmanager
def refused(field: str | None = None) -> Iterator[None]:
    """A value the code below refuses is the request's fault: 422 with the message.

    A :class:`~recsys.errors.FieldError` names its field (``exc.field``); any other
    ``ValueError`` is put on ``field`` (None: the request as a whole). Messages are never
    parsed for a field name.
    """
    try:
        yield
    except FieldError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None
    except ValueError as exc:
        raise Unprocessable(str(exc), field=field) from None
