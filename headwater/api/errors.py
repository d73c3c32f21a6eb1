"""Errors as HTTP responses: one JSON shape for every failure, and the OpenAPI entries that
document them.

Every error body is `{"error": {"code": "not_found", "message": "...", "details": [...]?}}`. A
`HeadwaterError` maps by class (the most specific entry in `STATUS_BY_ERROR` wins); request
validation is 422 with the offending fields in `details`; anything unexpected is a 500 whose body
says only that it is a bug (the exception is logged, redacted). Routes document what they can
return with `error_responses(...)`; routers that require a caller start from `AUTH_ERRORS`.
"""

from __future__ import annotations

import logging
import traceback
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from headwater.connectors.core.errors import redact
from headwater.connectors.core.factory import UnknownConnectorError
from headwater.errors import (
    BackendUnavailableError,
    ConfigurationError,
    HeadwaterError,
    NotFoundError,
    SecretDecryptionError,
)
from headwater.services.errors import (
    AuthenticationError,
    ConfigValueError,
    ConflictError,
    ConnectorNotReadyError,
    DuplicateNameError,
    ForbiddenError,
    InvalidArgumentError,
    MissingFieldsError,
    NotBuiltYetError,
    NotInitialisedError,
    TooManyAttemptsError,
)

log = logging.getLogger("headwater.api")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """What every failed request returns."""

    error: ErrorBody


# (error class, status, code); checked in order against the exception's class hierarchy
STATUS_BY_ERROR: tuple[tuple[type[BaseException], int, str], ...] = (
    (AuthenticationError, 401, "not_authenticated"),
    (ForbiddenError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (DuplicateNameError, 409, "conflict"),
    (ConflictError, 409, "conflict"),
    (InvalidArgumentError, 422, "invalid_argument"),
    (UnknownConnectorError, 422, "unknown_connector"),
    (ConfigValueError, 422, "invalid_config"),
    (MissingFieldsError, 422, "missing_fields"),
    (ConnectorNotReadyError, 422, "connector_not_ready"),
    (TooManyAttemptsError, 429, "too_many_attempts"),
    (NotBuiltYetError, 501, "not_built"),
    (NotInitialisedError, 503, "not_initialised"),
    (BackendUnavailableError, 503, "backend_unavailable"),
    (ConfigurationError, 503, "misconfigured"),
    (SecretDecryptionError, 500, "secret_unreadable"),
)
FALLBACK = (400, "bad_request")

_DESCRIPTIONS = {
    400: "The request cannot be carried out as asked (the message says why).",
    401: "No valid session or API token: log in, or send `Authorization: Bearer hw_...`.",
    403: "Authenticated, but not allowed (an admin-only action, or a missing CSRF token).",
    404: "Not found (or not in your organisation).",
    409: "Conflicts with what exists.",
    422: "The request's fields are invalid; `details` names them.",
    429: "Too many attempts; see the Retry-After header.",
    501: "Not built yet.",
    503: "The instance is not initialised or a backend is unreachable.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries (ErrorResponse bodies) for these status codes."""
    return {
        code: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(code, HTTPStatus(code).phrase)}
        for code in codes
    }


# What every route behind `current_caller` can answer besides its own errors (400: a body that is
# not JSON at all, or a deliberate error without a more specific status).
AUTH_ERRORS = error_responses(400, 401, 403, 422, 503)


def status_for(exc: BaseException) -> tuple[int, str]:
    for cls, status, code in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status, code
    return FALLBACK


def error_json(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def _headwater_error(_: Request, exc: Exception) -> JSONResponse:
    status, code = status_for(exc)
    response = error_json(status, code, redact(str(exc)))
    if isinstance(exc, TooManyAttemptsError):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    if status >= 500:
        log.warning("%s: %s", type(exc).__name__, redact(str(exc)))
    return response


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": _readable(err),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    where = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:5])
    return error_json(422, "invalid_request", f"invalid request — {where}", details)


def _readable(err: dict[str, Any]) -> str:
    """Pydantic's message, without its "Value error, " prefix or a regular expression in it. The
    input itself is never echoed (it may be a password)."""
    kind = str(err.get("type", ""))
    if kind == "string_pattern_mismatch":
        return "is not in the form the API schema gives for it"
    return str(err.get("msg", "")).removeprefix("Value error, ")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    response = error_json(exc.status_code, code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. (Starlette names only the first route's: FastAPI
    makes one route per method, so `Allow` would miss the others.)"""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def redacted_traceback(exc: BaseException) -> str:
    """The traceback of `exc` (with its causes), each line redacted as error messages are: the
    standard `exc_info` logging would print the exception messages, secrets and all, unredacted."""
    lines = "".join(traceback.format_exception(exc)).splitlines()
    return "\n".join(redact(line) for line in lines)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unexpected %s in a request: %s\n%s", type(exc).__name__, redact(str(exc)), redacted_traceback(exc)
    )
    return error_json(
        500, "internal_error", "an unexpected error; it is logged on the server (a bug in Headwater)"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HeadwaterError, _headwater_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
