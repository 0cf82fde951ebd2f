"""The one error shape: `{"error": {"code", "message", "details"}}`, for every failure.

Service errors, FastAPI's validation errors, unknown routes and unexpected
exceptions all leave through these handlers, so a client parses one shape.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from predhub.errors import PredhubError, UsageError
from predhub.service.catalog import DATABASE_UNAVAILABLE, DatabaseValueError
from predhub.service.errors import ServiceError

log = structlog.get_logger(__name__)

JSON = "application/json"


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, malformed_id")
    message: str = Field(description="What went wrong, for a human")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail


# Declared on every route so the OpenAPI document describes the errors it returns.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input"},
    404: {"model": ErrorBody, "description": "Not found"},
    422: {"model": ErrorBody, "description": "Invalid parameters"},
}


class ApiError(PredhubError, UsageError):
    """The request cannot be answered as asked (a 4xx in the one error shape)."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details


class BodyTooLarge(StarletteHTTPException, ApiError):
    """The request body is larger than allowed.

    An HTTP exception first, so that FastAPI re-raises it from body parsing
    (rather than calling it a malformed body) and the size guard answers 413.
    """

    def __init__(self, limit: int) -> None:
        message = f"request bodies are at most {limit} bytes"
        StarletteHTTPException.__init__(self, 413, message)
        self.message = message
        self.status = 413
        self.code = "payload_too_large"
        self.details = {"limit": limit}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(orjson.dumps(body, default=str), status_code=status, media_type=JSON)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    503: "unavailable",
}

RETRY_AFTER_SECONDS = 1


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    problems = []
    for err in exc.errors()[:20]:
        problems.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return {"problems": problems}


def _validation_message(exc: RequestValidationError) -> str:
    errs = exc.errors()
    if not errs:
        return "invalid request"
    first = errs[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
    return f"{where}: {first.get('msg', 'invalid')}"


def install_error_handlers(app: FastAPI) -> None:
    async def on_service_error(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return error_response(exc.status, exc.code, exc.message, exc.details)

    async def on_api_error(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.details)

    async def on_validation(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(
            422, "invalid_request", _validation_message(exc), _validation_details(exc)
        )

    async def on_http(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_data_error(_req: Request, exc: Exception) -> Response:
        # Input PostgreSQL cannot take (a value out of range, bytes it cannot encode):
        # the request's fault, not the server's.
        return error_response(400, "invalid_input", f"the database refused a value: {exc}")

    async def on_database_unavailable(req: Request, exc: Exception) -> Response:
        # The database is away (restarting, failing over, out of space): a client
        # should retry shortly, and the server log needs one line, not a traceback.
        log.warning("api.database_unavailable", path=req.url.path, error=repr(exc))
        response = error_response(
            503,
            "database_unavailable",
            f"the database is unavailable; retry shortly ({type(exc).__name__})",
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    async def on_unexpected(req: Request, exc: Exception) -> Response:
        log.exception("api.unhandled", path=req.url.path, error=repr(exc))
        return error_response(500, "internal_error", "internal error; see the server log")

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(DatabaseValueError, on_data_error)
    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, on_database_unavailable)
    app.add_exception_handler(Exception, on_unexpected)
