"""The one place where service errors become HTTP responses."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

from openqpu.errors import OpenQPUError
from openqpu.service.circuits import InvalidRequest
from openqpu.service.metrics import process_metrics
from openqpu.service.store.accounts import AuthenticationFailed, NotFound
from openqpu.service.store.batcher import DatabaseBusy
from openqpu.service.store.jobs import Archived, Conflict, QuotaExceeded

log = logging.getLogger(__name__)


class PermissionDenied(OpenQPUError):
    """The caller may not do this."""


class PayloadTooLarge(OpenQPUError):
    """The request body is over the size limit."""


_STATUS: list[tuple[type[Exception], int]] = [
    (InvalidRequest, 400),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Archived, 410),
    (PayloadTooLarge, 413),
    (QuotaExceeded, 429),
]


def _body(exc: Exception) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": str(exc), "error": type(exc).__name__}
    if isinstance(exc, InvalidRequest):
        body.update(field=exc.field, line=exc.line, column=exc.column)
    return body


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    headers = {}
    if isinstance(exc, QuotaExceeded):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(_body(exc), status_code=status, headers=headers)


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """The database is down or busy: nothing was stored; the client should retry."""
    log.warning("database unavailable: %s", exc)
    process_metrics().database_errors.labels("api").inc()
    return JSONResponse(
        {
            "detail": "the database is unavailable right now; nothing was changed, retry shortly",
            "error": "ServiceUnavailable",
        },
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def _value_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "error": "ValueError"}, status_code=400)


# What pydantic puts in an error's location for the member of a union it tried
# ("constrained-int", "literal['auto']", "list[float]", "int"): not a field's name.
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPE_TAGS = frozenset({"int", "float", "str", "bool", "bytes", "list", "dict", "tuple", "none"})


def _where(location: Sequence[Any]) -> str:
    """The field path of a pydantic error location: names and list indices only."""
    parts = [
        str(part)
        for part in location
        if part != "body"
        and (
            isinstance(part, int)
            or (_FIELD.fullmatch(str(part)) is not None and part not in _TYPE_TAGS)
        )
    ]
    return ".".join(parts)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # One line per field: a union's members each fail, and say so, on the same field.
    problems: dict[str, list[str]] = {}
    for error in exc.errors():
        messages = problems.setdefault(_where(error.get("loc", ())) or "body", [])
        message = str(error.get("msg", "invalid"))
        if message not in messages:
            messages.append(message)
    first = exc.errors()[0] if exc.errors() else {}
    field: str | None
    if first.get("type") == "json_invalid":
        field = "body"  # the location is a character offset, not a field
    else:
        field = _where(first.get("loc", ())) or None
    detail = "; ".join(f"{where}: {', or '.join(messages)}" for where, messages in problems.items())
    return JSONResponse(
        {"detail": detail, "error": "InvalidRequest", "field": field},
        status_code=422,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map service errors to status codes with a JSON body naming what was wrong."""
    app.add_exception_handler(OpenQPUError, _service_error)
    for unavailable in (OperationalError, InterfaceError, DatabaseBusy):
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(ValueError, _value_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
