"""ASGI middleware of the API: the request body limit, visit counting, security headers,
request latency metrics."""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openqpu.service.api.responses import FastJSONResponse
from openqpu.service.metrics import process_metrics
from openqpu.service.store.stats import VisitCounter


class BodyLimit:
    """Refuse request bodies over the limit, whether declared or streamed (413)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _send_json(send, 413, self._too_large(declared.decode(errors="replace")))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:  # a chunked body without a declared length
                raise HTTPException(413, self._too_large(f"at least {received}")["detail"])
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self, size: str) -> dict[str, str]:
        return {
            "detail": f"request body of {size} bytes is over the limit of {self.limit} bytes",
            "error": "PayloadTooLarge",
        }


class RequestMetrics:
    """Time every HTTP request, by route template (not the raw path), method and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = process_metrics().requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.requests.labels(template, scope["method"], str(status)).observe(
                time.perf_counter() - started
            )


class VisitCounting:
    """Count visitors once per day, after the request is answered.

    A visitor is the API key that authenticated the request, else the client address
    for API paths.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        await self.app(scope, receive, send)
        if scope["type"] != "http":
            return
        visitor = scope.get("state", {}).get("visitor")
        if visitor is None and scope["path"].startswith("/api/"):
            client = scope.get("client")
            visitor = client[0] if client else "unknown"
        visits: VisitCounter = scope["app"].state.visits
        if visitor is not None and visits.is_new(visitor):
            await run_in_threadpool(visits.record, visitor)


# The dashboard and the API documentation load only their own scripts, styles and data.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
# Swagger UI (served from the installed swagger-ui-bundle, no CDN) sets inline styles and
# draws its icons from data: URLs; its scripts are still only this server's.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Add Content-Security-Policy, nosniff, Referrer-Policy and no framing to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] == "/docs" or scope["path"].startswith("/docs/")
        policy = DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY
        extra = [(b"content-security-policy", policy.encode()), *_SECURITY_HEADERS]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(key, value) for key, value in extra if key not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


async def _send_json(send: Send, status: int, body: dict[str, str]) -> None:
    response = FastJSONResponse(body, status_code=status)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
