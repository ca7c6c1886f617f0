"""Public usage statistics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from openqpu.service.store.stats import Cached, public_stats

router = APIRouter(prefix="/api/v1", tags=["stats"])


def public_figures(app: Any) -> Cached:
    """The app's cached public statistics (made on first use)."""
    state = app.state
    cached = getattr(state, "public_stats", None)
    if cached is None:

        def compute() -> dict[str, Any]:
            devices = state.devices
            with state.db.connect() as conn:
                figures = public_stats(conn, list(devices))
            paused = set(state.calibrations.in_maintenance())
            figures["device_status"] = {
                name: "maintenance" if name in paused else "online" for name in devices
            }
            return figures

        cached = state.public_stats = Cached(compute, state.settings.stats_cache_seconds)
    return cached


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    """Tasks completed, visits, users, countries, queues and device status (no key needed).

    Read from aggregates and cached for ``stats_cache_seconds``: the same answer for
    every caller, at the same cost whatever the number of jobs stored.
    """
    cached = public_figures(request.app)
    return await run_in_threadpool(cached.get)
