"""Liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from openqpu.service.api.deps import DatabaseDep
from openqpu.service.store.models import Job

router = APIRouter(tags=["health"])

_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0)


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """People who open the server's address land on the dashboard."""
    return RedirectResponse("/web/")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The server answers (on the event loop: a full thread pool does not delay it)."""
    return {"status": "ok"}


@router.get("/metrics", response_class=Response)
def metrics(db: DatabaseDep) -> Response:
    """Jobs by status, queue lengths and a run-time histogram, in Prometheus' text format."""
    lines = [
        "# HELP openqpu_jobs Jobs by status and device.",
        "# TYPE openqpu_jobs gauge",
    ]
    with db.read() as session:
        for status, device, count in session.execute(
            select(Job.status, Job.device, func.count(Job.id)).group_by(Job.status, Job.device)
        ):
            lines.append(f'openqpu_jobs{{status="{status}",device="{device}"}} {count}')
        lines += [
            "# HELP openqpu_job_run_seconds Run time of finished jobs.",
            "# TYPE openqpu_job_run_seconds histogram",
        ]
        times = session.execute(
            select(func.count(Job.id), func.sum(Job.run_seconds)).where(
                Job.run_seconds.is_not(None)
            )
        ).one()
        for bound in _BUCKETS:
            below = session.scalar(select(func.count(Job.id)).where(Job.run_seconds <= bound))
            lines.append(f'openqpu_job_run_seconds_bucket{{le="{bound}"}} {below}')
        lines.append(f'openqpu_job_run_seconds_bucket{{le="+Inf"}} {times[0]}')
        lines.append(f"openqpu_job_run_seconds_sum {float(times[1] or 0.0)}")  # NULL: no rows
        lines.append(f"openqpu_job_run_seconds_count {times[0]}")
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
