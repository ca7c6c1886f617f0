"""The worker side of the job store: claim with a lease, renew, finish, reap.

A running job holds a lease that its worker renews; when a lease runs out (the
worker died) the job goes back to the queue, and after ``max_attempts`` such
losses it fails. A result is written in the same transaction that moves the job
from ``running`` (held by this worker) to ``done``, so it is stored exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from openqpu.service.clock import utcnow
from openqpu.service.database import Database
from openqpu.service.jobs import record_transition
from openqpu.service.models import Job, JobStatus, Result


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker needs to run a job."""

    id: str
    payload: dict[str, Any]
    seed: int
    attempts: int


def claim(db: Database, worker_id: str, lease_seconds: float) -> ClaimedJob | None:
    """Take the next queued job (priority, then fair share, then age) or None."""
    now = utcnow()
    with db.write() as session:
        # SKIP LOCKED lets PostgreSQL workers claim side by side; SQLite's write
        # lock (BEGIN IMMEDIATE) already serialises claims.
        job = session.scalar(
            select(Job)
            .where(Job.status == JobStatus.QUEUED.value)
            .order_by(Job.priority.desc(), Job.fair_seq, Job.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return None
        record_transition(session, job, JobStatus.RUNNING, worker_id)
        job.worker_id = worker_id
        job.started_at = now
        job.lease_expires_at = now + timedelta(seconds=lease_seconds)
        job.attempts += 1
        return ClaimedJob(job.id, json.loads(job.payload), int(job.seed or 0), job.attempts)


def _held(job_id: str, worker_id: str) -> Any:
    return (
        Job.id == job_id,
        Job.status == JobStatus.RUNNING.value,
        Job.worker_id == worker_id,
    )


def renew(db: Database, job_id: str, worker_id: str, lease_seconds: float) -> bool:
    """Extend the lease; False when the job is no longer this worker's (cancelled, reaped)."""
    with db.write() as session:
        changed = session.execute(
            update(Job)
            .where(*_held(job_id, worker_id))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        )
        return changed.rowcount == 1


def complete(
    db: Database, job_id: str, worker_id: str, result: dict[str, Any], run_seconds: float
) -> bool:
    """Store the result and mark the job done, if this worker still holds it."""
    now = utcnow()
    with db.write() as session:
        job = session.scalar(select(Job).where(*_held(job_id, worker_id)).with_for_update())
        if job is None:
            return False
        record_transition(session, job, JobStatus.DONE)
        job.finished_at = now
        job.lease_expires_at = None
        job.run_seconds = run_seconds
        session.add(Result(job_id=job_id, data=json.dumps(result), created_at=now))
        return True


def fail(db: Database, job_id: str, worker_id: str, error: str) -> bool:
    """Mark the job failed with ``error``, if this worker still holds it."""
    with db.write() as session:
        job = session.scalar(select(Job).where(*_held(job_id, worker_id)).with_for_update())
        if job is None:
            return False
        record_transition(session, job, JobStatus.FAILED, error)
        job.error = error
        job.finished_at = utcnow()
        job.lease_expires_at = None
        return True


def reap_expired(db: Database, max_attempts: int) -> int:
    """Requeue running jobs whose lease ran out; fail those that used every attempt."""
    now = utcnow()
    with db.write() as session:
        expired = list(
            session.scalars(
                select(Job)
                .where(Job.status == JobStatus.RUNNING.value, Job.lease_expires_at < now)
                .with_for_update(skip_locked=True)
            )
        )
        for job in expired:
            if job.attempts >= max_attempts:
                message = (
                    f"the job stopped its worker {job.attempts} times "
                    f"(limit {max_attempts} attempts); it is not retried"
                )
                record_transition(session, job, JobStatus.FAILED, message)
                job.error = message
                job.finished_at = now
            else:
                record_transition(session, job, JobStatus.QUEUED, "lease expired")
            job.worker_id = None
            job.lease_expires_at = None
        return len(expired)
