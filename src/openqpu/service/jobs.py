"""The job store: submit with validation and quotas, read, list and cancel jobs."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openqpu.device import Device
from openqpu.errors import OpenQPUError
from openqpu.service.accounts import NotFound, Principal
from openqpu.service.circuits import InvalidRequest, decode_circuit, decode_observable
from openqpu.service.clock import utcnow
from openqpu.service.database import Database
from openqpu.service.models import (
    FINAL_STATUSES,
    TRANSITIONS,
    Job,
    JobEvent,
    JobStatus,
    Result,
    User,
)
from openqpu.service.schemas import JobCreate
from openqpu.service.settings import Settings

ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class QuotaExceeded(OpenQPUError):
    """A per-user limit is reached; ``retry_after`` says when to try again (seconds)."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class Conflict(OpenQPUError):
    """The request does not fit the job's current state."""


def record_transition(
    session: Session, job: Job, new: JobStatus, detail: str | None = None
) -> None:
    """Move ``job`` to ``new`` (checked against TRANSITIONS) and record the event."""
    old = JobStatus(job.status)
    if new not in TRANSITIONS[old]:
        raise Conflict(f"job {job.id} cannot go from {old.value} to {new.value}")
    job.status = new.value
    session.add(JobEvent(job_id=job.id, status=new.value, at=utcnow(), detail=detail))


def validate(request: JobCreate, devices: Mapping[str, Device], settings: Settings) -> int:
    """Check a submission completely; return its widest circuit's qubit count."""
    from openqpu import sim

    device = devices.get(request.device)
    if device is None:
        known = ", ".join(sorted(devices))
        raise InvalidRequest("device", f"no device {request.device!r} (devices: {known})")
    if request.shots > settings.max_shots:
        raise InvalidRequest("shots", f"{request.shots} is over the limit of {settings.max_shots}")
    if len(request.circuits) > settings.max_circuits:
        raise InvalidRequest(
            "circuits",
            f"{len(request.circuits)} circuits is over the limit of {settings.max_circuits}",
        )
    if request.parameter_values is not None and len(request.parameter_values) != len(
        request.circuits
    ):
        raise InvalidRequest("parameter_values", "give one list of values per circuit")
    if request.kind == "estimate" and not request.observables:
        raise InvalidRequest("observables", "an estimate job needs at least one observable")
    widest = 0
    for index, source in enumerate(request.circuits):
        field = f"circuits[{index}]"
        if len(source) > settings.max_circuit_bytes:
            raise InvalidRequest(
                field, f"{len(source)} bytes is over the limit of {settings.max_circuit_bytes}"
            )
        circuit = decode_circuit(source, request.format, field)
        if circuit.num_qubits > device.num_qubits:
            raise InvalidRequest(
                field,
                f"{circuit.num_qubits} qubits is more than device {device.name} has "
                f"({device.num_qubits})",
            )
        widest = max(widest, circuit.num_qubits)
        if circuit.size() > settings.max_circuit_gates:
            raise InvalidRequest(
                field,
                f"{circuit.size()} instructions is over the limit of {settings.max_circuit_gates}",
            )
        try:
            program = sim.compile(circuit)
        except OpenQPUError as exc:
            raise InvalidRequest(field, str(exc)) from None
        values = request.parameter_values[index] if request.parameter_values else []
        if len(values) != len(program.parameters):
            raise InvalidRequest(
                f"parameter_values[{index}]",
                f"the circuit has {len(program.parameters)} parameters, got {len(values)} values",
            )
        if request.kind == "estimate":
            if program.is_dynamic:
                raise InvalidRequest(
                    field, "estimate needs a circuit without mid-circuit measurement"
                )
            for position, spec in enumerate(request.observables or []):
                decode_observable(spec, circuit.num_qubits, f"observables[{position}]")
    return widest


def submit(
    db: Database,
    principal: Principal,
    request: JobCreate,
    devices: Mapping[str, Device],
    settings: Settings,
) -> tuple[Job, bool]:
    """Store a valid job in the queue; return it and whether it is new.

    A repeated ``idempotency_key`` returns the job first stored with it.
    """
    payload = request.model_dump(include={"circuits", "format", "kind", "shots", "observables"})
    payload["parameter_values"] = request.parameter_values
    if request.idempotency_key:
        existing = _by_idempotency_key(db, principal.user_id, request.idempotency_key)
        if existing is not None:
            return _same_request(existing, request, payload), False
    num_qubits = validate(request, devices, settings)
    now = utcnow()
    job = Job(
        id=str(uuid.uuid4()),
        owner_id=principal.user_id,
        device=request.device,
        kind=request.kind,
        status=JobStatus.QUEUED.value,
        priority=request.priority,
        shots=request.shots,
        seed=request.seed if request.seed is not None else secrets.randbits(62),
        num_circuits=len(request.circuits),
        num_qubits=num_qubits,
        payload=json.dumps(payload),
        name=request.name,
        idempotency_key=request.idempotency_key,
        created_at=now,
        attempts=0,
    )
    try:
        with db.write() as session:
            _check_quotas(session, principal.user_id, job.shots * job.num_circuits, settings, now)
            job.fair_seq = _active_jobs(session, principal.user_id)
            session.add(job)
            session.flush()
            session.add(JobEvent(job_id=job.id, status=JobStatus.QUEUED.value, at=now))
    except IntegrityError:
        # Two submits with one idempotency key raced: the other one won.
        existing = _by_idempotency_key(db, principal.user_id, request.idempotency_key or "")
        if existing is None:
            raise
        return _same_request(existing, request, payload), False
    return job, True


def _same_request(existing: Job, request: JobCreate, payload: dict[str, Any]) -> Job:
    """The stored job, if it was made from this same request; a key reused otherwise."""
    same = (
        json.loads(existing.payload) == json.loads(json.dumps(payload))
        and existing.device == request.device
        and (request.seed is None or existing.seed == request.seed)
    )
    if not same:
        raise Conflict(
            f"idempotency_key {request.idempotency_key!r} was used for a different request "
            f"(job {existing.id}); use a new key for a new job"
        )
    return existing


def _by_idempotency_key(db: Database, user_id: int, key: str) -> Job | None:
    with db.read() as session:
        return session.scalar(
            select(Job).where(Job.owner_id == user_id, Job.idempotency_key == key)
        )


def _active_jobs(session: Session, user_id: int) -> int:
    query = select(func.count(Job.id)).where(Job.owner_id == user_id, Job.status.in_(ACTIVE))
    return int(session.scalar(query) or 0)


def _check_quotas(
    session: Session, user_id: int, shots: int, settings: Settings, now: datetime
) -> None:
    active = _active_jobs(session, user_id)
    if active >= settings.max_queued_jobs_per_user:
        raise QuotaExceeded(
            f"queued job limit reached: {active} of {settings.max_queued_jobs_per_user} jobs are "
            "queued or running; wait for some to finish",
            retry_after=5,
        )
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    used = session.scalar(
        select(func.coalesce(func.sum(Job.shots * Job.num_circuits), 0)).where(
            Job.owner_id == user_id,
            Job.created_at >= midnight,
            Job.status != JobStatus.CANCELLED.value,
        )
    )
    if int(used or 0) + shots > settings.max_shots_per_day:
        reset = midnight + timedelta(days=1)
        raise QuotaExceeded(
            f"daily shot limit reached: {int(used or 0)} of {settings.max_shots_per_day} shots "
            f"used today; this job needs {shots}; the limit resets at {reset.isoformat()}",
            retry_after=max(1, int((reset - now).total_seconds())),
        )


def get_job(session: Session, principal: Principal, job_id: str) -> Job:
    """The job, if the caller may see it (its owner or an admin)."""
    job = session.get(Job, job_id)
    if job is None or (job.owner_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"no job {job_id!r}")
    return job


def queue_position(session: Session, job: Job) -> int | None:
    """How many queued jobs on the same device run before this one (None unless queued)."""
    if job.status != JobStatus.QUEUED.value:
        return None
    ahead = select(func.count(Job.id)).where(
        Job.status == JobStatus.QUEUED.value,
        Job.device == job.device,
        or_(
            Job.priority > job.priority,
            and_(Job.priority == job.priority, Job.fair_seq < job.fair_seq),
            and_(
                Job.priority == job.priority,
                Job.fair_seq == job.fair_seq,
                Job.created_at < job.created_at,
            ),
        ),
    )
    return int(session.scalar(ahead) or 0)


def queue_lengths(session: Session) -> dict[str, int]:
    """Number of queued jobs per device (devices with none are absent)."""
    rows = session.execute(
        select(Job.device, func.count(Job.id))
        .where(Job.status == JobStatus.QUEUED.value)
        .group_by(Job.device)
    )
    return {device: int(count) for device, count in rows}


def events(session: Session, job_id: str) -> list[JobEvent]:
    """The job's status changes in order."""
    return list(
        session.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id))
    )


def owner_names(session: Session, owner_ids: set[int]) -> dict[int, str]:
    """User names by id."""
    if not owner_ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(owner_ids)))
    return {user_id: name for user_id, name in rows}


def list_jobs(
    session: Session,
    principal: Principal,
    *,
    status: str | None,
    device: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Job], int]:
    """The caller's jobs (all jobs for an admin), newest first, and how many match."""
    conditions = [] if principal.is_admin else [Job.owner_id == principal.user_id]
    if status:
        conditions.append(Job.status == status)
    if device:
        conditions.append(Job.device == device)
    count = int(session.scalar(select(func.count(Job.id)).where(*conditions)) or 0)
    page = session.scalars(
        select(Job)
        .where(*conditions)
        .order_by(Job.created_at.desc(), Job.id)
        .limit(limit)
        .offset(offset)
    )
    return list(page), count


def cancel(db: Database, principal: Principal, job_id: str) -> Job:
    """Cancel a queued or running job; a finished job is a conflict."""
    with db.write() as session:
        job = get_job(session, principal, job_id)
        if JobStatus(job.status) in FINAL_STATUSES:
            raise Conflict(f"job {job_id} is already {job.status}")
        record_transition(session, job, JobStatus.CANCELLED, f"by {principal.name}")
        job.finished_at = utcnow()
        job.lease_expires_at = None
        return job


def result_of(session: Session, principal: Principal, job_id: str) -> dict[str, Any]:
    """The stored result document of a done job."""
    job = get_job(session, principal, job_id)
    if job.status != JobStatus.DONE.value:
        detail = f": {job.error}" if job.error else ""
        raise Conflict(f"job {job_id} is {job.status}, it has no result{detail}")
    row = session.get(Result, job_id)
    if row is None:
        raise Conflict(f"job {job_id} is done but its result is missing")
    document = json.loads(row.data)
    document["job_id"] = job_id
    return document
