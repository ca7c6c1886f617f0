"""Prometheus metrics of the processes (``prometheus_client``), in multiprocess mode when
the API and workers run as several processes.

What each process counts itself (request latency, worker busy time, lease expiries,
requeues, database errors) is defined here once per process. Figures about the jobs
(submitted, finished, queue lengths, run times) come from the database aggregates at
scrape time instead (``openqpu.service.api.routes.health``): they are the same
whichever process answers and survive restarts.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format (what generate_latest writes for these ASCII names), which
# every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Request latency buckets (seconds): the API answers in milliseconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0)


@dataclass(frozen=True)
class ProcessMetrics:
    """The metrics this process updates."""

    requests: Histogram
    worker_busy: Counter
    lease_expiries: Counter
    requeues: Counter
    database_errors: Counter


_metrics: ProcessMetrics | None = None
# Why a job went back to the queue: its worker's lease ran out, or its worker stopped
# before starting it.
REQUEUE_REASONS = ("lease_expired", "worker_stopped")


def process_metrics() -> ProcessMetrics:
    """This process's metrics, made on first use (after multiprocess mode is chosen)."""
    global _metrics
    if _metrics is None:
        _metrics = ProcessMetrics(
            requests=Histogram(
                "openqpu_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template, method and status.",
                ["route", "method", "status"],
                buckets=LATENCY_BUCKETS,
            ),
            worker_busy=Counter(
                "openqpu_worker_busy_seconds",
                "Seconds workers spent running jobs.",
            ),
            lease_expiries=Counter(
                "openqpu_lease_expiries",
                "Running jobs whose worker's lease ran out (the worker died or hung).",
            ),
            requeues=Counter(
                "openqpu_job_requeues",
                "Jobs put back in the queue, by reason.",
                ["reason"],
            ),
            database_errors=Counter(
                "openqpu_database_errors",
                "Database operations that failed (busy, unreachable, refused), by process role.",
                ["role"],
            ),
        )
        # Every series present from the start (at zero), so that dashboards and
        # rate() see it before the first event.
        for reason in REQUEUE_REASONS:
            _metrics.requeues.labels(reason)
        for role in ("api", "worker"):
            _metrics.database_errors.labels(role)
    return _metrics


def enable_multiprocess(folder: Path) -> None:
    """Share metrics between this process and the processes it starts, through files in
    ``folder`` (emptied first: counts of an earlier run must not add up).

    Call before this process makes its first metric; children inherit the setting.
    """
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)
    values.ValueClass = values.get_value_class()  # prometheus_client read it at import


def multiprocess_dir() -> str | None:
    """The folder processes share metrics through, or None (one process)."""
    return os.environ.get(MULTIPROCESS_ENV) or None


def exposition() -> bytes:
    """The process metrics in Prometheus' text format (of every process, in multiprocess
    mode)."""
    process_metrics()  # present (at zero) even before anything was counted
    folder = multiprocess_dir()
    if folder is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    return generate_latest(registry)


def process_exited(pid: int) -> None:
    """Bookkeeping for a child process that ended (multiprocess mode)."""
    folder = multiprocess_dir()
    if folder is not None:
        multiprocess.mark_process_dead(pid, folder)
