"""The worker side of the job store: claim with a lease, renew, finish, reap.

A running job holds a lease that its worker renews; when a lease runs out (the
worker died) the job goes back to the queue, and after ``max_attempts`` such
losses it fails. A result is written in the same transaction that moves the job
from ``running`` (held by this worker) to ``done``, so it is stored exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from openqpu.service.clock import utcnow
from openqpu.service.metrics import process_metrics
from openqpu.service.store.database import Database
from openqpu.service.store.jobs import EVENTS, JOBS, RESULTS, transition, transition_many
from openqpu.service.store.models import JobStatus
from openqpu.service.store.wakeup import announce

QUEUED, RUNNING, DONE, FAILED = (
    JobStatus.QUEUED,
    JobStatus.RUNNING,
    JobStatus.DONE,
    JobStatus.FAILED,
)


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker needs to run a job."""

    id: str
    payload: dict[str, Any]
    seed: int
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """How a claimed job ended: a result document, or an error message."""

    job_id: str
    result: dict[str, Any] | None = None
    error: str | None = None
    run_seconds: float = 0.0


def claim(db: Database, worker_id: str, lease_seconds: float) -> ClaimedJob | None:
    """Take the next queued job (priority, then fair share, then age) or None."""
    claimed = claim_many(db, worker_id, lease_seconds, limit=1)
    return claimed[0] if claimed else None


# Jobs this small may share one claim (one transaction) with the job at the head of the queue.
SMALL_JOB_QUBITS = 16
SMALL_JOB_SHOTS = 100_000


def _is_small(num_qubits: int, shots: int, num_circuits: int, attempts: int) -> bool:
    # A retried job is claimed alone: if it crashes its worker again, no other job
    # loses an attempt with it.
    return (
        attempts == 0 and num_qubits <= SMALL_JOB_QUBITS and shots * num_circuits <= SMALL_JOB_SHOTS
    )


def claim_many(
    db: Database,
    worker_id: str,
    lease_seconds: float,
    *,
    limit: int,
    paused: Sequence[str] = (),
) -> list[ClaimedJob]:
    """Take the job at the head of the queue and, when it and the next ones are small,
    up to ``limit`` jobs in all, in one transaction (priority, then fair share, then age).
    Jobs for the ``paused`` devices (in maintenance) are left waiting.
    """
    with db.transaction() as conn:
        return _claim(conn, worker_id, lease_seconds, limit, paused)


# Devices in maintenance ("paused") keep their queue waiting.
_NOT_PAUSED = JOBS.c.device.not_in(bindparam("paused", expanding=True))
_ANY_QUEUED = select(JOBS.c.id).where(JOBS.c.status == QUEUED.value, _NOT_PAUSED).limit(1)
# Built once, like the request paths' statements: a worker claims many times a second.
_HEAD_OF_QUEUE = (
    select(
        JOBS.c.id,
        JOBS.c.payload,
        JOBS.c.seed,
        JOBS.c.attempts,
        JOBS.c.num_qubits,
        JOBS.c.shots,
        JOBS.c.num_circuits,
        JOBS.c.owner_id,
        JOBS.c.device,
    )
    .where(JOBS.c.status == QUEUED.value, _NOT_PAUSED)
    .order_by(JOBS.c.priority.desc(), JOBS.c.fair_seq, JOBS.c.created_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)


_HELD = (
    select(JOBS.c.id, JOBS.c.owner_id, JOBS.c.device)
    .where(
        JOBS.c.id.in_(bindparam("ids", expanding=True)),
        JOBS.c.status == RUNNING.value,
        JOBS.c.worker_id == bindparam("w"),
    )
    .with_for_update()
)
_INSERT_RESULT = insert(RESULTS)
_INSERT_EVENT = insert(EVENTS)


def finish_and_claim(
    db: Database,
    worker_id: str,
    outcomes: Sequence[Outcome],
    lease_seconds: float,
    *,
    limit: int,
    paused: Sequence[str] = (),
) -> tuple[list[bool], list[ClaimedJob]]:
    """Store ``outcomes`` and claim the next jobs (as :func:`claim_many`) in one transaction.

    A worker's loop makes one write transaction per batch of jobs instead of two. With
    nothing to store and nothing queued it returns at once, without taking a write lock.
    """
    if not outcomes:
        with db.connect() as conn:
            if conn.execute(_ANY_QUEUED, {"paused": list(paused)}).first() is None:
                return [], []
    with db.transaction() as conn:
        stored = _finish(conn, worker_id, outcomes)
        return stored, _claim(conn, worker_id, lease_seconds, limit, paused)


def _claim(
    conn: Connection, worker_id: str, lease_seconds: float, limit: int, paused: Sequence[str]
) -> list[ClaimedJob]:
    now = utcnow()
    # SKIP LOCKED lets PostgreSQL workers claim side by side; SQLite's write
    # lock (BEGIN IMMEDIATE) already serialises claims.
    rows = conn.execute(_HEAD_OF_QUEUE, {"limit": limit, "paused": list(paused)}).all()
    claimed: list[ClaimedJob] = []
    owners: dict[str, tuple[int, str]] = {}
    for job_id, payload, seed, attempts, num_qubits, shots, num_circuits, owner, device in rows:
        small = _is_small(num_qubits, shots, num_circuits, attempts)
        if claimed and not small:
            break
        claimed.append(ClaimedJob(job_id, json.loads(payload), int(seed or 0), attempts + 1))
        owners[job_id] = (owner, device)
        if not small:
            break
    if claimed:
        # The rows are locked (or SQLite's write lock is held): one UPDATE and one
        # multi-row INSERT of events claim them all.
        transition_many(
            conn,
            QUEUED,
            RUNNING,
            [
                {
                    "id": job.id,
                    "owner_id": owners[job.id][0],
                    "device": owners[job.id][1],
                    "detail": worker_id,
                }
                for job in claimed
            ],
            now,
            worker_id=worker_id,
            started_at=now,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=JOBS.c.attempts + 1,
        )
    return claimed


def renew(db: Database, job_ids: str | Sequence[str], worker_id: str, lease_seconds: float) -> bool:
    """Extend the leases; False when none of the jobs is still this worker's."""
    ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
    with db.transaction() as conn:
        changed = conn.execute(
            update(JOBS)
            .where(
                JOBS.c.id.in_(ids),
                JOBS.c.status == RUNNING.value,
                JOBS.c.worker_id == worker_id,
            )
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        )
        return changed.rowcount > 0


def _finish(conn: Connection, worker_id: str, outcomes: Sequence[Outcome]) -> list[bool]:
    """Store outcomes of jobs this worker still holds; True for each one stored.

    A few statements whatever the number of outcomes: lock the jobs still held, then
    update them, insert the results and insert the events, each for all at once.
    """
    if not outcomes:
        return []
    now = utcnow()
    ids = [outcome.job_id for outcome in outcomes]
    held = {
        job_id: {"owner_id": owner, "device": device}
        for job_id, owner, device in conn.execute(_HELD, {"ids": ids, "w": worker_id})
    }
    # One outcome per job, the first given (a job that finished just as its run-time
    # limit struck is done, not failed too).
    first: dict[str, Outcome] = {}
    for outcome in outcomes:
        if outcome.job_id in held:
            first.setdefault(outcome.job_id, outcome)
    done = [o for o in first.values() if o.error is None]
    failed = [o for o in first.values() if o.error is not None]
    finished = {"finished_at": now, "lease_expires_at": None}
    transition_many(
        conn,
        RUNNING,
        DONE,
        [
            {
                "id": o.job_id,
                **held[o.job_id],
                "detail": None,
                **finished,
                "run_seconds": o.run_seconds,
            }
            for o in done
        ],
        now,
    )
    if done:
        conn.execute(
            _INSERT_RESULT,
            [{"job_id": o.job_id, "data": json.dumps(o.result), "created_at": now} for o in done],
        )
    transition_many(
        conn,
        RUNNING,
        FAILED,
        [
            {"id": o.job_id, **held[o.job_id], "detail": o.error, **finished, "error": o.error}
            for o in failed
        ],
        now,
    )
    stored = {o.job_id: o for o in (*done, *failed)}
    return [stored.get(outcome.job_id) is outcome for outcome in outcomes]


def finish_many(db: Database, worker_id: str, outcomes: Sequence[Outcome]) -> list[bool]:
    """Store several outcomes in one transaction; each True if this worker still held it."""
    with db.transaction() as conn:
        return _finish(conn, worker_id, outcomes)


def stop_batch(
    db: Database, worker_id: str, outcomes: Sequence[Outcome], unstarted: Sequence[str]
) -> None:
    """Before a worker stops mid-batch: store ``outcomes`` and give back the jobs it
    claimed but never started, uncharged (their attempt is not counted), in one
    transaction."""
    with db.transaction() as conn:
        _finish(conn, worker_id, outcomes)
        for job_id in unstarted:
            transition(
                conn,
                job_id,
                RUNNING,
                QUEUED,
                "returned unstarted: its worker stopped",
                where=(JOBS.c.worker_id == worker_id,),
                worker_id=None,
                lease_expires_at=None,
                attempts=JOBS.c.attempts - 1,
            )
        if unstarted:
            announce(conn)
    if unstarted:
        process_metrics().requeues.labels("worker_stopped").inc(len(unstarted))


def complete(
    db: Database, job_id: str, worker_id: str, result: dict[str, Any], run_seconds: float
) -> bool:
    """Store the result and mark the job done, if this worker still holds it."""
    return finish_many(db, worker_id, [Outcome(job_id, result, run_seconds=run_seconds)])[0]


def fail(db: Database, job_id: str, worker_id: str, error: str) -> bool:
    """Mark the job failed with ``error``, if this worker still holds it."""
    return finish_many(db, worker_id, [Outcome(job_id, error=error)])[0]


def reap_expired(db: Database, max_attempts: int) -> int:
    """Requeue running jobs whose lease ran out; fail those that used every attempt."""
    now = utcnow()
    with db.transaction() as conn:
        expired = conn.execute(
            select(JOBS.c.id, JOBS.c.attempts)
            .where(JOBS.c.status == RUNNING.value, JOBS.c.lease_expires_at < now)
            .with_for_update(skip_locked=True)
        ).all()
        for job_id, attempts in expired:
            released: dict[str, Any] = {"worker_id": None, "lease_expires_at": None}
            if attempts >= max_attempts:
                message = (
                    f"the job stopped its worker {attempts} times "
                    f"(limit {max_attempts} attempts); it is not retried"
                )
                transition(
                    conn,
                    job_id,
                    RUNNING,
                    FAILED,
                    message,
                    error=message,
                    finished_at=now,
                    **released,
                )
            else:
                transition(conn, job_id, RUNNING, QUEUED, "lease expired", **released)
        if expired:
            announce(conn)
    if expired:
        counted = process_metrics()
        counted.lease_expiries.inc(len(expired))
        requeued = sum(1 for _, attempts in expired if attempts < max_attempts)
        if requeued:
            counted.requeues.labels("lease_expired").inc(requeued)
    return len(expired)
