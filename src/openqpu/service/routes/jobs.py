"""Jobs: submit, read, list, cancel, results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from openqpu.service import jobs
from openqpu.service.deps import CurrentUser, DatabaseDep, SettingsDep
from openqpu.service.models import Job, JobStatus
from openqpu.service.schemas import JobCreate, JobEventPublic, JobPublic, JobsPublic

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def _public(job: Job, owner: str, **extra: Any) -> JobPublic:
    return JobPublic(
        id=job.id,
        name=job.name,
        owner=owner,
        device=job.device,
        kind=job.kind,
        status=job.status,
        shots=job.shots,
        num_circuits=job.num_circuits,
        num_qubits=job.num_qubits,
        priority=job.priority,
        seed=job.seed,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        attempts=job.attempts,
        error=job.error,
        **extra,
    )


def _history(session: Session, job_id: str) -> list[JobEventPublic]:
    return [
        JobEventPublic(status=e.status, at=e.at, detail=e.detail)
        for e in jobs.events(session, job_id)
    ]


@router.post("", response_model=JobPublic, status_code=status.HTTP_201_CREATED)
def submit_job(
    body: JobCreate,
    request: Request,
    response: Response,
    db: DatabaseDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> JobPublic:
    """Validate and queue a job; a repeated ``idempotency_key`` returns the first job."""
    job, created = jobs.submit(db, user, body, request.app.state.devices, settings)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    with db.read() as session:
        position = jobs.queue_position(session, job)
        history = _history(session, job.id)
    return _public(job, user.name, queue_position=position, events=history)


@router.get("", response_model=JobsPublic)
def list_jobs(
    db: DatabaseDep,
    user: CurrentUser,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    device: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobsPublic:
    """The caller's jobs (every job for an admin), newest first."""
    with db.read() as session:
        page, count = jobs.list_jobs(
            session,
            user,
            status=status_filter.value if status_filter else None,
            device=device,
            limit=limit,
            offset=offset,
        )
        names = jobs.owner_names(session, {job.owner_id for job in page})
    return JobsPublic(
        data=[_public(job, names.get(job.owner_id, "?")) for job in page], count=count
    )


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job_id: str, db: DatabaseDep, user: CurrentUser) -> JobPublic:
    """Status, times, events and, while queued, the position in the queue."""
    with db.read() as session:
        job = jobs.get_job(session, user, job_id)
        history = _history(session, job_id)
        owner = (
            user.name
            if job.owner_id == user.user_id
            else jobs.owner_names(session, {job.owner_id}).get(job.owner_id, "?")
        )
        position = jobs.queue_position(session, job)
    return _public(job, owner, queue_position=position, events=history)


@router.get("/{job_id}/result")
def get_result(job_id: str, db: DatabaseDep, user: CurrentUser) -> dict[str, Any]:
    """Per-circuit counts or expectation values, execution time and the seed used."""
    with db.read() as session:
        return jobs.result_of(session, user, job_id)


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel_job(job_id: str, db: DatabaseDep, user: CurrentUser) -> JobPublic:
    """Cancel a queued or running job."""
    job = jobs.cancel(db, user, job_id)
    return _public(job, user.name)
