"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import openqpu
from openqpu.device import Device, default_catalog
from openqpu.service.database import Database
from openqpu.service.errors import install_error_handlers
from openqpu.service.routes import devices, health, jobs, stats, users
from openqpu.service.settings import Settings
from openqpu.service.stats import VisitCounter


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
    app = FastAPI(
        title="openqpu",
        version=openqpu.__version__,
        description="An open quantum computing cloud: devices, jobs, results and statistics.",
    )
    app.state.settings = settings
    app.state.db = database
    app.state.devices = dict(devices_catalog or default_catalog())
    app.state.visits = VisitCounter(database)
    for module in (health, devices, jobs, stats, users):
        app.include_router(module.router)
    install_error_handlers(app)
    app.middleware("http")(_limit_body_and_count_visits)
    return app


async def _limit_body_and_count_visits(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return JSONResponse(
            {
                "detail": f"request body of {declared} bytes is over the limit of {limit} bytes",
                "error": "PayloadTooLarge",
            },
            status_code=413,
        )
    response = await call_next(request)
    visitor = getattr(request.state, "visitor", None)
    if visitor is None and request.url.path.startswith("/api/"):
        visitor = request.client.host if request.client else "unknown"
    visits = request.app.state.visits
    if visitor is not None and visits.is_new(visitor):
        await run_in_threadpool(visits.record, visitor)
    return response
