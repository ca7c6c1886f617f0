"""Public usage statistics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openqpu.service.api.deps import DatabaseDep
from openqpu.service.store.stats import public_stats

router = APIRouter(prefix="/api/v1", tags=["stats"])


@router.get("/stats")
def stats(request: Request, db: DatabaseDep) -> dict[str, Any]:
    """Tasks completed, visits, users, countries, queues and device status (no key needed)."""
    devices = request.app.state.devices
    with db.read() as session:
        figures = public_stats(session, list(devices))
    paused = set(request.app.state.calibrations.in_maintenance())
    figures["device_status"] = {
        name: "maintenance" if name in paused else "online" for name in devices
    }
    return figures
