"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import openqpu
from openqpu.device import Device, default_catalog
from openqpu.service.batcher import WriteBatcher
from openqpu.service.calibrations import calibrations_for
from openqpu.service.database import Database
from openqpu.service.errors import install_error_handlers
from openqpu.service.ratelimit import RateLimiter
from openqpu.service.responses import FastJSONResponse
from openqpu.service.routes import devices, health, jobs, stats, users
from openqpu.service.routes import qcloud as qcloud_routes
from openqpu.service.routes import quafu as quafu_routes
from openqpu.service.settings import Settings
from openqpu.service.stats import VisitCounter
from openqpu.service.watcher import JobWatcher


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    devices_catalog: Mapping[str, Device] | None = None,
) -> FastAPI:
    """Build the app: routes, error mapping, body limit and visit counting.

    The database schema is migrated to the newest revision here.
    """
    database = db or Database(settings.database_url)
    database.migrate()
    batcher = WriteBatcher(database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        batcher.close()

    app = FastAPI(
        title="openqpu",
        version=openqpu.__version__,
        description="An open quantum computing cloud: devices, jobs, results and statistics.",
        default_response_class=FastJSONResponse,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.batcher = batcher
    app.state.watcher = JobWatcher(database)
    app.state.devices = dict(devices_catalog or default_catalog(settings.device_dir or None))
    app.state.calibrations = calibrations_for(database, app.state.devices, settings)
    for chip in app.state.calibrations.specs:
        app.state.calibrations.schedule(chip)  # the first snapshot is made at first start
    app.state.visits = VisitCounter(database)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    for module in (health, devices, jobs, stats, users):
        app.include_router(module.router)
    app.mount("/web", StaticFiles(packages=[("openqpu.web", "static")], html=True), name="web")
    app.include_router(qcloud_routes.router)  # pyqpanda3.qcloud's protocol
    app.include_router(quafu_routes.router)  # pyquafu's protocol
    install_error_handlers(app)
    app.add_middleware(BodyLimitAndVisits, max_body_bytes=settings.max_body_bytes)
    return app


class BodyLimitAndVisits:
    """ASGI middleware: refuse bodies over the limit (declared or streamed); count visitors.

    A visitor is the API key that authenticated the request, else the client address
    for API paths; each is stored once per day.
    """

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
        await self._count_visit(scope)

    def _too_large(self, size: str) -> dict[str, str]:
        return {
            "detail": f"request body of {size} bytes is over the limit of {self.limit} bytes",
            "error": "PayloadTooLarge",
        }

    async def _count_visit(self, scope: Scope) -> None:
        visitor = scope.get("state", {}).get("visitor")
        if visitor is None and scope["path"].startswith("/api/"):
            client = scope.get("client")
            visitor = client[0] if client else "unknown"
        visits: VisitCounter = scope["app"].state.visits
        if visitor is not None and visits.is_new(visitor):
            await run_in_threadpool(visits.record, visitor)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


async def _send_json(send: Send, status: int, body: dict[str, str]) -> None:
    response = FastJSONResponse(body, status_code=status)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
