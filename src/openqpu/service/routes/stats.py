"""Public usage statistics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openqpu.service.deps import DatabaseDep
from openqpu.service.stats import public_stats

router = APIRouter(prefix="/api/v1", tags=["stats"])


@router.get("/stats")
def stats(request: Request, db: DatabaseDep) -> dict[str, Any]:
    """Tasks completed, visits, users, countries and queues (no key needed)."""
    with db.read() as session:
        return public_stats(session, list(request.app.state.devices))
