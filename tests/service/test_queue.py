"""The job store and queue on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from openqpu.device import default_catalog
from openqpu.service import admission
from openqpu.service.clock import utcnow
from openqpu.service.schemas import JobCreate
from openqpu.service.settings import Settings
from openqpu.service.store import jobs, queue
from openqpu.service.store.accounts import Principal
from openqpu.service.store.database import Database
from openqpu.service.store.models import Job, JobEvent, JobStatus, Result
from tests.service.conftest import BELL, principal


def _submit(db: Database, who: Principal, circuit: str = BELL, **fields: object) -> str:
    request = JobCreate(device="statevector", circuits=[circuit], **{"shots": 10, **fields})
    job, created = admission.submit(db, who, request, default_catalog(), Settings())
    assert created and job["status"] == "queued"
    return job["id"]


def test_queue_claims_by_priority_then_fair_share(db: Database) -> None:
    alice, bob = principal(db, "alice"), principal(db, "bob")
    alice_jobs = [_submit(db, alice) for _ in range(5)]
    bob_job = _submit(db, bob)
    urgent = _submit(db, alice, priority=5)
    order = [queue.claim(db, "w", 30) for _ in range(7)]
    ids = [c.id for c in order if c is not None]
    assert ids[0] == urgent
    # Bob's single job runs right after Alice's first, not after all five.
    assert ids[1] == alice_jobs[0]
    assert ids[2] == bob_job
    assert queue.claim(db, "w", 30) is None


def test_queue_claims_small_jobs_together_and_big_or_retried_ones_alone(db: Database) -> None:
    alice = principal(db, "alice")
    small = [_submit(db, alice) for _ in range(3)]
    big = _submit(db, alice, shots=queue.SMALL_JOB_SHOTS + 1)
    after = _submit(db, alice)
    first = queue.claim_many(db, "w", 30, limit=8)
    assert [c.id for c in first] == small  # stops before the big job
    assert [c.id for c in queue.claim_many(db, "w", 30, limit=8)] == [big]  # alone
    assert [c.id for c in queue.claim_many(db, "w", 30, limit=8)] == [after]
    # A job whose worker died goes back to the queue and is then claimed alone.
    retried = _submit(db, alice)
    fresh = _submit(db, alice)
    assert [c.id for c in queue.claim_many(db, "dead", 0.01, limit=8)] == [retried, fresh]
    time.sleep(0.05)
    assert queue.reap_expired(db, max_attempts=3) == 2
    assert [c.id for c in queue.claim_many(db, "w", 30, limit=8)] == [retried]
    outcomes = [queue.Outcome(retried, {"results": []}), queue.Outcome(small[0], error="boom")]
    assert queue.finish_many(db, "w", outcomes) == [True, True]
    with db.read() as session:
        assert session.get(Job, small[0]).error == "boom"


def test_queue_result_is_stored_exactly_once(db: Database) -> None:
    alice = principal(db, "alice")
    job_id = _submit(db, alice)
    claimed = queue.claim(db, "worker-1", 30)
    assert claimed is not None and claimed.id == job_id
    assert queue.complete(db, job_id, "worker-1", {"results": []}, 0.1)
    assert not queue.complete(db, job_id, "worker-1", {"results": []}, 0.1)
    assert not queue.complete(db, job_id, "worker-2", {"results": []}, 0.1)
    with db.read() as session:
        assert len(list(session.scalars(select(Result).where(Result.job_id == job_id)))) == 1
        statuses = [e.status for e in session.scalars(select(JobEvent).order_by(JobEvent.id))]
    assert statuses == ["queued", "running", "done"]


def test_queue_two_outcomes_of_one_job_store_the_first_only(db: Database) -> None:
    # A job that finished just as its run-time limit struck reaches the store twice.
    job_id = _submit(db, principal(db, "carol"))
    assert queue.claim(db, "worker-1", 30) is not None
    outcomes = [
        queue.Outcome(job_id, {"results": []}, run_seconds=0.5),
        queue.Outcome(job_id, error="run time limit exceeded"),
    ]
    assert queue.finish_many(db, "worker-1", outcomes) == [True, False]
    with db.read() as session:
        statuses = [e.status for e in session.scalars(select(JobEvent).order_by(JobEvent.id))]
        job = session.get(Job, job_id)
        assert job is not None and job.status == "done" and job.error is None
    assert statuses == ["queued", "running", "done"]


def test_queue_expired_lease_requeues_then_fails_after_max_attempts(db: Database) -> None:
    alice = principal(db, "alice")
    job_id = _submit(db, alice)
    for attempt in (1, 2):
        claimed = queue.claim(db, f"dead-{attempt}", 0.01)
        assert claimed is not None and claimed.attempts == attempt
        time.sleep(0.05)
        assert queue.reap_expired(db, max_attempts=2) == 1
    with db.read() as session:
        stored = session.get(Job, job_id)
    assert stored is not None and stored.status == JobStatus.FAILED.value
    assert "stopped its worker 2 times" in (stored.error or "")
    # The worker that lost its lease cannot store a result any more.
    assert not queue.complete(db, job_id, "dead-2", {}, 0.0)


def test_queue_cancelled_running_job_drops_its_result(db: Database) -> None:
    alice = principal(db, "alice")
    job_id = _submit(db, alice)
    assert queue.claim(db, "w", 30) is not None
    with db.transaction() as conn:
        jobs.cancel(conn, alice, job_id)
    assert not queue.renew(db, job_id, "w", 30)
    assert not queue.complete(db, job_id, "w", {"results": []}, 0.1)
    with db.read() as session:
        assert session.get(Result, job_id) is None


def test_queue_idempotency_key_returns_the_first_job(db: Database) -> None:
    alice = principal(db, "alice")
    request = JobCreate(device="statevector", circuits=[BELL], idempotency_key="k-1")
    first, created = admission.submit(db, alice, request, default_catalog(), Settings())
    again, created_again = admission.submit(db, alice, request, default_catalog(), Settings())
    assert created and not created_again and first["id"] == again["id"]


def test_queue_quota_on_queued_jobs(db: Database) -> None:
    alice = principal(db, "alice")
    settings = Settings(max_queued_jobs_per_user=2)
    request = JobCreate(device="statevector", circuits=[BELL])
    admission.submit(db, alice, request, default_catalog(), settings)
    admission.submit(db, alice, request, default_catalog(), settings)
    with pytest.raises(jobs.QuotaExceeded, match="queued job limit reached: 2 of 2"):
        admission.submit(db, alice, request, default_catalog(), settings)


def test_queue_daily_shot_quota_names_limit_and_reset(db: Database) -> None:
    alice = principal(db, "alice")
    settings = Settings(max_shots_per_day=1500)
    admission.submit(db, alice, JobCreate(device="statevector", circuits=[BELL], shots=1000),
                default_catalog(), settings)  # fmt: skip
    with pytest.raises(jobs.QuotaExceeded, match="1000 of 1500 shots used today") as caught:
        admission.submit(db, alice, JobCreate(device="statevector", circuits=[BELL], shots=1000),
                    default_catalog(), settings)  # fmt: skip
    assert "resets at" in str(caught.value) and caught.value.retry_after > 0


def test_queue_migrated_schema_equals_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from openqpu.service.store.models import Base

    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_queue_set_based_moves_obey_the_transition_table(db: Database) -> None:
    with db.transaction() as conn, pytest.raises(jobs.Conflict, match="from done to running"):
        jobs.transition_many(conn, JobStatus.DONE, JobStatus.RUNNING, [{"id": "x"}], utcnow())


def test_queue_idempotent_retry_ignores_the_planned_methods() -> None:
    """A retry after a recalibration plans again; it is still the same request."""
    first = '{"device": "lattice12", "shots": 10, "planned": {"calibration_id": "a"}}'
    retry = '{"device": "lattice12", "shots": 10, "planned": {"calibration_id": "b"}}'
    assert jobs._asked(first) == jobs._asked(retry) == {"device": "lattice12", "shots": 10}
