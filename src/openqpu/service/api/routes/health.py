"""Liveness and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from sqlalchemy import bindparam, func, select
from starlette.concurrency import run_in_threadpool

from openqpu.service import metrics
from openqpu.service.clock import aware, utcnow
from openqpu.service.store import aggregates
from openqpu.service.store.database import Database
from openqpu.service.store.jobs import JOBS
from openqpu.service.store.models import FINAL_STATUSES, JobStatus

router = APIRouter(tags=["health"])

# The oldest queued job of a device: one step down the queue's partial index.
_OLDEST_QUEUED = select(func.min(JOBS.c.created_at)).where(
    JOBS.c.status == JobStatus.QUEUED.value, JOBS.c.device == bindparam("device")
)


class JobsCollector:
    """Job figures from the database aggregates, read at each scrape (a few small reads,
    whatever the number of jobs stored)."""

    def __init__(self, db: Database, devices: Sequence[str]) -> None:
        self.db, self.devices = db, list(devices)

    def collect(self) -> Iterator[Metric]:
        """The metric families, read now."""
        with self.db.connect() as conn:
            totals = aggregates.job_totals(conn)
            histogram = aggregates.run_histogram(conn)
            oldest = {
                device: conn.execute(_OLDEST_QUEUED, {"device": device}).scalar()
                for device in self.devices
            }
        now = utcnow()
        devices = sorted({*self.devices, *(device for device, _ in totals)})
        jobs = GaugeMetricFamily(
            "openqpu_jobs", "Jobs stored, by status and device.", labels=["status", "device"]
        )
        submitted = CounterMetricFamily(
            "openqpu_jobs_submitted", "Jobs submitted, by device.", labels=["device"]
        )
        finished = CounterMetricFamily(
            "openqpu_jobs_finished",
            "Jobs that finished, by device and final status (done, failed, cancelled).",
            labels=["device", "status"],
        )
        queue = GaugeMetricFamily(
            "openqpu_queue_length", "Jobs waiting in a device's queue.", labels=["device"]
        )
        age = GaugeMetricFamily(
            "openqpu_queue_oldest_age_seconds",
            "How long the oldest queued job of a device has waited (0: none queued).",
            labels=["device"],
        )
        for device in devices:
            counts = {s: n for (d, s), (n, _) in totals.items() if d == device}
            for each in JobStatus:
                jobs.add_metric([each.value, device], counts.get(each.value, 0))
            submitted.add_metric([device], sum(counts.values()))
            for status in sorted(s.value for s in FINAL_STATUSES):
                finished.add_metric([device, status], counts.get(status, 0))
            queue.add_metric([device], counts.get(JobStatus.QUEUED.value, 0))
            first = oldest.get(device)
            age.add_metric([device], (now - aware(first)).total_seconds() if first else 0.0)
        yield from (jobs, submitted, finished, queue, age)
        cumulative, buckets = 0, []
        for bound, n in zip((*aggregates.RUN_BUCKETS, float("inf")), histogram, strict=True):
            cumulative += n
            buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
        seconds = sum(x for (_, s), (_, x) in totals.items() if s == JobStatus.DONE.value)
        yield HistogramMetricFamily(
            "openqpu_job_run_seconds",
            "Run time of done jobs.",
            buckets=buckets,
            sum_value=seconds,
        )


def _database_exposition(app: Any) -> bytes:
    registry = getattr(app.state, "jobs_registry", None)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(JobsCollector(app.state.db, list(app.state.devices)))
        app.state.jobs_registry = registry
    return generate_latest(registry)


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """People who open the server's address land on the dashboard."""
    return RedirectResponse("/web/")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The server answers (on the event loop: a full thread pool does not delay it)."""
    return {"status": "ok"}


@router.get("/metrics", response_class=Response)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus' text format: the processes' own metrics (request latency, worker busy
    time, lease expiries, requeues, database errors) and the jobs' figures from the
    database aggregates (jobs by status, submitted and finished per device, queue
    length and oldest queued age per device, run-time histogram)."""

    def render() -> bytes:
        return metrics.exposition() + _database_exposition(request.app)

    return Response(await run_in_threadpool(render), media_type=metrics.CONTENT_TYPE)
