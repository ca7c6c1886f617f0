"""The errors the SDK raises: one class per situation, each carrying the server's message.

``error_from_response`` is the one place where an HTTP answer becomes an exception.
"""

from __future__ import annotations

from typing import Any

import httpx

from openqpu.errors import OpenQPUError


class ClientError(OpenQPUError):
    """Root of every error the client raises.

    Attributes:
        message: what went wrong: the server's ``detail``, or the client's own words.
        status_code: the HTTP status of the answer, or None when there was no answer.
        error: the server's name for the error (``InvalidRequest``), or None.
        field: the request field at fault (``device``, ``circuits[1]``), when known.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error = error
        self.field = field


class ServerUnreachable(ClientError):
    """No answer came from the server, even after the retries."""


class AuthenticationFailed(ClientError):
    """The API key is missing, malformed, unknown or revoked (HTTP 401)."""


class PermissionDenied(ClientError):
    """The key is valid but may not do this (HTTP 403)."""


class NotFound(ClientError):
    """The device or job does not exist, or is not the caller's to see (HTTP 404)."""


class InvalidRequest(ClientError):
    """The server rejected the request's content (HTTP 400, 413 or 422).

    Attributes:
        line: 1-based line in the circuit source at fault, or None.
        column: 1-based column in the circuit source at fault, or None.
    """

    def __init__(
        self, message: str, *, line: int | None = None, column: int | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.line = line
        self.column = column


class Conflict(ClientError):
    """The request does not fit the job's state: no result yet, already finished (HTTP 409)."""


class QuotaExceeded(ClientError):
    """A per-user limit is reached (HTTP 429).

    Attributes:
        retry_after: seconds the server asks to wait before trying again, or None.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(ClientError):
    """The server failed (HTTP 5xx), after the retries for 502, 503 and 504."""


class JobFailed(ClientError):
    """A job whose result was asked for failed or was cancelled.

    Attributes:
        job_id: the job.
        status: ``failed`` or ``cancelled``.
        job_error: the job's own error message, or None.
    """

    def __init__(self, job_id: str, status: str, job_error: str | None) -> None:
        what = "was cancelled" if status == "cancelled" else status
        detail = f": {job_error}" if job_error else ""
        super().__init__(f"job {job_id} {what}{detail}")
        self.job_id = job_id
        self.status = status
        self.job_error = job_error


_BY_STATUS: dict[int, type[ClientError]] = {
    400: InvalidRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    422: InvalidRequest,
    429: QuotaExceeded,
}


def error_from_response(response: httpx.Response) -> ClientError:
    """The typed exception for an error answer (status 400 and above).

    Args:
        response: an answer with an error status; its body is the server's JSON
            ``{"detail", "error", "field", "line", "column"}`` or, from a proxy, anything.

    Returns:
        An instance of the ``ClientError`` subclass for the status code.
    """
    code = response.status_code
    body = _json_object(response)
    message = _message(body, response)
    common: dict[str, Any] = {
        "status_code": code,
        "error": body.get("error") if isinstance(body.get("error"), str) else None,
        "field": body.get("field") if isinstance(body.get("field"), str) else None,
    }
    kind = _BY_STATUS.get(code) or (ServerError if code >= 500 else ClientError)
    if kind is InvalidRequest:
        line, column = _int_or_none(body.get("line")), _int_or_none(body.get("column"))
        return InvalidRequest(message, line=line, column=column, **common)
    if kind is QuotaExceeded:
        return QuotaExceeded(message, retry_after=_retry_after(response), **common)
    return kind(message, **common)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(body: dict[str, Any], response: httpx.Response) -> str:
    detail = body.get("detail")
    summary = f"HTTP {response.status_code} {response.reason_phrase} from {response.request.url}"
    if isinstance(detail, str) and detail:
        # Without "error" the answer is not one of the API's own: say where it came from.
        return detail if "error" in body else f"{detail} ({summary})"
    if isinstance(detail, list):  # FastAPI's default validation body
        parts = [
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
        ]
        return "; ".join(parts)
    text = response.text.strip()
    # A proxy's HTML error page says nothing useful past its first line.
    return (
        f"{summary}: {text.splitlines()[0][:200]}" if text and not text.startswith("<") else summary
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None  # an HTTP date; the message already says when


# The names before errors were named as the server names them (deprecated, one release).
NotFoundError = NotFound
InvalidRequestError = InvalidRequest
QuotaError = QuotaExceeded
JobConflict = Conflict
AuthenticationError = AuthenticationFailed
