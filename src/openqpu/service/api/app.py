"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

import openqpu
from openqpu.device import Device, default_catalog
from openqpu.service import heap
from openqpu.service.api.errors import install_error_handlers
from openqpu.service.api.middleware import (
    BodyLimit,
    RequestMetrics,
    SecurityHeaders,
    VisitCounting,
)
from openqpu.service.api.ratelimit import RateLimiter
from openqpu.service.api.responses import FastJSONResponse
from openqpu.service.api.routes import catalog, devices, health, jobs, preview, stats, users
from openqpu.service.api.routes import qcloud as qcloud_routes
from openqpu.service.api.routes import quafu as quafu_routes
from openqpu.service.api.routes.docs import install_docs
from openqpu.service.api.watcher import JobWatcher
from openqpu.service.sandbox import Sandbox
from openqpu.service.settings import Settings
from openqpu.service.store.batcher import WriteBatcher
from openqpu.service.store.calibrations import calibrations_for
from openqpu.service.store.database import Database
from openqpu.service.store.stats import VisitCounter


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
    # Untrusted sources are read in these children, never on the event loop's process.
    sandbox = Sandbox(
        settings.sandbox_processes,
        seconds=settings.sandbox_seconds,
        memory_bytes=settings.sandbox_memory_mb * 2**20,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sandbox.start()
        heap.settle()  # after imports and warm-up: full collections skip what start-up made
        try:
            yield
        finally:
            sandbox.close()
            batcher.close()

    app = FastAPI(
        title="openqpu",
        version=openqpu.__version__,
        description="An open quantum computing cloud: devices, jobs, results and statistics.",
        default_response_class=FastJSONResponse,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs from local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.batcher = batcher
    app.state.sandbox = sandbox
    app.state.watcher = JobWatcher(database)
    app.state.devices = dict(devices_catalog or default_catalog(settings.device_dir or None))
    app.state.calibrations = calibrations_for(database, app.state.devices, settings)
    for chip in app.state.calibrations.specs:
        app.state.calibrations.schedule(chip)  # the first snapshot is made at first start
    app.state.visits = VisitCounter(database)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    for module in (health, devices, jobs, stats, users, preview, catalog):
        app.include_router(module.router)
    app.mount("/web", StaticFiles(packages=[("openqpu.web", "static")], html=True), name="web")
    app.include_router(qcloud_routes.router)  # pyqpanda3.qcloud's protocol
    app.include_router(quafu_routes.router)  # pyquafu's protocol
    install_docs(app)
    install_error_handlers(app)
    # Added last, runs first: an oversized body is refused before anything else reads it.
    app.add_middleware(VisitCounting)
    app.add_middleware(BodyLimit, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestMetrics)  # outermost: times every answer, refusals too
    return app
