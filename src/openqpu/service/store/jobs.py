"""The job store: store admitted jobs (quotas, idempotency), read, list and cancel them.

Hot paths (submit, read, result, cancel) use SQLAlchemy Core on a ``Connection``:
one short transaction per request, no ORM objects. Every function that takes a
``Connection`` also works on an ORM ``Session`` (both have ``execute``).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from openqpu.errors import OpenQPUError
from openqpu.service.circuits import draw_circuit
from openqpu.service.clock import aware, utcnow
from openqpu.service.schemas import JobCreate
from openqpu.service.settings import Settings
from openqpu.service.store import aggregates, usage
from openqpu.service.store.accounts import NotFound, Principal
from openqpu.service.store.models import (
    FINAL_STATUSES,
    TRANSITIONS,
    Job,
    JobEvent,
    JobStatus,
    Result,
    User,
)

JOBS = Job.__table__
EVENTS = JobEvent.__table__
RESULTS = Result.__table__
USERS = User.__table__

# Where the read-only queries shared with ORM code run.
ConnectionOrSession: TypeAlias = Connection | Session

ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)

# The columns of a job that its owner sees, in the order of the API's documents.
PUBLIC_COLUMNS = (
    "id",
    "name",
    "device",
    "kind",
    "status",
    "shots",
    "num_circuits",
    "num_qubits",
    "priority",
    "seed",
    "created_at",
    "started_at",
    "finished_at",
    "attempts",
    "error",
)
JOB_VIEW = select(
    *(JOBS.c[name] for name in PUBLIC_COLUMNS),
    JOBS.c.owner_id,
    JOBS.c.fair_seq,
    USERS.c.name.label("owner"),
).join(USERS, USERS.c.id == JOBS.c.owner_id)


# Hot statements are built once: SQLAlchemy then reuses their compiled form and cache key.
_JOB_BY_ID = JOB_VIEW.where(JOBS.c.id == bindparam("job_id"))
_BY_IDEMPOTENCY_KEY = JOB_VIEW.add_columns(JOBS.c.payload).where(
    JOBS.c.owner_id == bindparam("owner_id"), JOBS.c.idempotency_key == bindparam("key")
)
_ACTIVE_JOBS = select(func.count()).where(
    JOBS.c.owner_id == bindparam("owner_id"), JOBS.c.status.in_(ACTIVE)
)
_INSERT_JOB = insert(JOBS)
_INSERT_EVENT = insert(EVENTS)
# What a submit needs to know, in one round trip: the job a repeated idempotency key
# names, the owner's active jobs (the new job's fair-share place), shots used today
# (one counter row: usage.py), and how many queued jobs run before the new one.
# correlate(None): inside the count over jobs below it must stay a query of its own.
_ACTIVE = _ACTIVE_JOBS.correlate(None).scalar_subquery()
_BEFORE_SUBMIT = select(
    select(JOBS.c.id)
    .where(JOBS.c.owner_id == bindparam("owner_id"), JOBS.c.idempotency_key == bindparam("key"))
    .scalar_subquery(),
    _ACTIVE,
    usage.SHOTS_ON_DAY.scalar_subquery(),
    select(func.count())
    .where(
        JOBS.c.status == JobStatus.QUEUED.value,
        JOBS.c.device == bindparam("device"),
        or_(
            JOBS.c.priority > bindparam("priority"),
            and_(JOBS.c.priority == bindparam("priority"), JOBS.c.fair_seq <= _ACTIVE),
        ),
    )
    .scalar_subquery(),
)
# The run times behind a queue's ETA: the newest jobs finished on a device.
ETA_SAMPLE = 20
_RECENT_RUNS = (
    select(JOBS.c.started_at, JOBS.c.finished_at)
    .where(JOBS.c.device == bindparam("device"), JOBS.c.status == JobStatus.DONE.value)
    .order_by(JOBS.c.finished_at.desc())
    .limit(ETA_SAMPLE)
)
# PostgreSQL stores a job and its first event in one statement.
_JOB_COLUMNS = (
    "id", "owner_id", "device", "kind", "status", "priority", "fair_seq", "shots", "seed",
    "num_circuits", "num_qubits", "payload", "name", "idempotency_key", "created_at",
    "attempts", "started_at", "finished_at", "error",
)  # fmt: skip
_JOB_CTE = (
    insert(JOBS)
    .values({name: bindparam(name) for name in _JOB_COLUMNS})
    .returning(JOBS.c.id, JOBS.c.created_at)
    .cte("new_job")
)
_INSERT_JOB_AND_EVENT = insert(EVENTS).from_select(
    ["job_id", "status", "at"],
    select(_JOB_CTE.c.id, literal(JobStatus.QUEUED.value), _JOB_CTE.c.created_at),
)
_AHEAD_IN_QUEUE = select(func.count()).where(
    JOBS.c.status == JobStatus.QUEUED.value,
    JOBS.c.device == bindparam("device"),
    or_(
        JOBS.c.priority > bindparam("priority"),
        and_(JOBS.c.priority == bindparam("priority"), JOBS.c.fair_seq < bindparam("fair_seq")),
        and_(
            JOBS.c.priority == bindparam("priority"),
            JOBS.c.fair_seq == bindparam("fair_seq"),
            JOBS.c.created_at < bindparam("created_at"),
        ),
    ),
)
_EVENTS_OF = (
    select(EVENTS.c.status, EVENTS.c.at, EVENTS.c.detail)
    .where(EVENTS.c.job_id == bindparam("job_id"))
    .order_by(EVENTS.c.id)
)
_FINISHED_AMONG = select(JOBS.c.id, JOBS.c.status).where(
    JOBS.c.id.in_(bindparam("ids", expanding=True)),
    JOBS.c.status.in_([status.value for status in FINAL_STATUSES]),
)
_RESULT_OF = (
    select(
        JOBS.c.owner_id,
        JOBS.c.status,
        JOBS.c.error,
        JOBS.c.archived_at,
        JOBS.c.archive,
        RESULTS.c.data,
    )
    .outerjoin(RESULTS, RESULTS.c.job_id == JOBS.c.id)
    .where(JOBS.c.id == bindparam("job_id"))
)


class QuotaExceeded(OpenQPUError):
    """A per-user limit is reached; ``retry_after`` says when to try again (seconds)."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class Conflict(OpenQPUError):
    """The request does not fit the job's current state."""


class Archived(OpenQPUError):
    """Retention moved the job's result and events out of the database (HTTP 410)."""


def transition(
    conn: Connection,
    job_id: str,
    old: JobStatus,
    new: JobStatus,
    detail: str | None = None,
    *,
    where: Sequence[Any] = (),
    **values: Any,
) -> bool:
    """Move a job from ``old`` to ``new`` (checked against TRANSITIONS), record the event.

    ``where`` adds conditions (the worker that holds it, say); ``values`` are set too.
    Returns False, changing nothing, when the job is not in ``old`` (or fails ``where``).
    """
    if new not in TRANSITIONS[old]:
        raise Conflict(f"job {job_id} cannot go from {old.value} to {new.value}")
    changed = conn.execute(
        update(JOBS)
        .where(JOBS.c.id == job_id, JOBS.c.status == old.value, *where)
        .values(status=new.value, **values)
        .returning(JOBS.c.owner_id, JOBS.c.device)
    ).all()
    if len(changed) != 1:
        return False
    now = utcnow()
    conn.execute(
        _INSERT_EVENT, {"job_id": job_id, "status": new.value, "at": now, "detail": detail}
    )
    owner_id, device = changed[0]
    aggregates.tally(conn, aggregates.moved([(owner_id, device)], old.value, new.value, now))
    return True


def transition_many(
    conn: Connection,
    old: JobStatus,
    new: JobStatus,
    changes: Sequence[Mapping[str, Any]],
    at: datetime,
    **shared: Any,
) -> None:
    """The set-based :func:`transition`: move every job in ``changes`` from ``old`` to
    ``new`` (checked against TRANSITIONS) in one UPDATE and one multi-row event insert.

    Each change is ``{"id": job id, "owner_id": its owner, "device": its device,
    "detail": event detail, <column>: value, ...}``, all with the same columns (owner
    and device go to the aggregates, not to the row); ``shared`` sets columns to the
    same value (or SQL expression) for every job. Callers hold the jobs (locked, in
    ``old``), so every row moves.
    """
    if not changes:
        return
    if new not in TRANSITIONS[old]:
        raise Conflict(f"jobs cannot go from {old.value} to {new.value}")
    columns = [name for name in changes[0] if name not in ("id", "detail", "owner_id", "device")]
    statement = (
        update(JOBS)
        .where(JOBS.c.id == bindparam("b_id"), JOBS.c.status == old.value)
        .values(status=new.value, **shared, **{name: bindparam(f"b_{name}") for name in columns})
    )
    conn.execute(
        statement,
        [{"b_id": c["id"], **{f"b_{name}": c[name] for name in columns}} for c in changes],
    )
    conn.execute(
        _INSERT_EVENT,
        [
            {"job_id": c["id"], "status": new.value, "at": at, "detail": c.get("detail")}
            for c in changes
        ],
    )
    seconds = [c.get("run_seconds") for c in changes] if new == JobStatus.DONE else None
    owners = [(c["owner_id"], c["device"]) for c in changes]
    aggregates.tally(conn, aggregates.moved(owners, old.value, new.value, at, seconds))


@dataclass(frozen=True)
class Submission:
    """A validated request, ready to be stored by :func:`store`."""

    principal: Principal
    request: JobCreate
    payload: str
    num_qubits: int


def store(conn: Connection, submission: Submission, settings: Settings) -> tuple[dict, bool]:
    """Queue a prepared job in one write transaction; return its document and whether it is new.

    A repeated ``idempotency_key`` returns the job first stored with it (409 when the
    key was used for a different request). Quotas are checked in the same transaction.
    """
    principal, request = submission.principal, submission.request
    now = utcnow()
    existing_id, active, used, ahead = conn.execute(
        _BEFORE_SUBMIT,
        {
            "owner_id": principal.user_id,
            "key": request.idempotency_key,
            "day": now.date(),
            "device": request.device,
            "priority": request.priority,
        },
    ).one()
    if existing_id is not None:
        assert request.idempotency_key is not None  # only a repeated key finds a job
        existing = _by_idempotency_key(conn, principal.user_id, request.idempotency_key)
        assert existing is not None
        _same_request(existing, submission)
        return job_document(conn, existing), False
    shots = request.shots * len(request.circuits)
    _check_quotas(int(active), int(used or 0), shots, settings, now)
    job_id = str(uuid.uuid4())
    values = {
        "id": job_id,
        "owner_id": principal.user_id,
        "device": request.device,
        "kind": request.kind,
        "status": JobStatus.QUEUED.value,
        "priority": request.priority,
        "fair_seq": active,
        "shots": request.shots,
        "seed": request.seed if request.seed is not None else secrets.randbits(62),
        "num_circuits": len(request.circuits),
        "num_qubits": submission.num_qubits,
        "payload": submission.payload,
        "name": request.name,
        "idempotency_key": request.idempotency_key,
        "created_at": now,
        "attempts": 0,
        "started_at": None,
        "finished_at": None,
        "error": None,
    }
    if conn.dialect.name == "postgresql":
        conn.execute(_INSERT_JOB_AND_EVENT, values)
    else:  # SQLite runs in process: two statements cost next to nothing
        conn.execute(_INSERT_JOB, values)
        queued = {"job_id": job_id, "status": JobStatus.QUEUED.value, "at": now, "detail": None}
        conn.execute(_INSERT_EVENT, queued)
    usage.add_shots(conn, principal.user_id, now.date(), shots)
    new = [(principal.user_id, request.device)]
    aggregates.tally(conn, aggregates.moved(new, None, JobStatus.QUEUED.value, now))
    document = {name: values.get(name) for name in PUBLIC_COLUMNS}
    document["owner"] = principal.name
    # Jobs ahead: higher priority, or the same priority and an earlier fair-share place
    # (the new job is the newest of its place, so all of that place run before it).
    document["queue_position"] = int(ahead)
    document["events"] = [{"status": JobStatus.QUEUED.value, "at": now, "detail": None}]
    return document, True


def _same_request(existing: RowMapping, submission: Submission) -> None:
    """Raise Conflict unless the stored job was made from this same request."""
    request = submission.request
    same = (
        _asked(existing["payload"]) == _asked(submission.payload)
        and existing["device"] == request.device
        and (request.seed is None or existing["seed"] == request.seed)
    )
    if not same:
        raise Conflict(
            f"idempotency_key {request.idempotency_key!r} was used for a different request "
            f"(job {existing['id']}); use a new key for a new job"
        )


def _asked(payload: str) -> dict[str, Any]:
    """What the user asked for in a stored payload: without admission's ``planned``
    methods, which a recalibration between a request and its retry may change."""
    asked = json.loads(payload)
    asked.pop("planned", None)
    return dict(asked)


def _by_idempotency_key(conn: Connection, user_id: int, key: str) -> RowMapping | None:
    return conn.execute(_BY_IDEMPOTENCY_KEY, {"owner_id": user_id, "key": key}).mappings().first()


def _check_quotas(active: int, used: int, shots: int, settings: Settings, now: datetime) -> None:
    if active >= settings.max_queued_jobs_per_user:
        raise QuotaExceeded(
            f"queued job limit reached: {active} of {settings.max_queued_jobs_per_user} jobs are "
            "queued or running; wait for some to finish",
            retry_after=5,
        )
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if used + shots > settings.max_shots_per_day:
        reset = midnight + timedelta(days=1)
        raise QuotaExceeded(
            f"daily shot limit reached: {used} of {settings.max_shots_per_day} shots "
            f"used today; this job needs {shots}; the limit resets at {reset.isoformat()}",
            retry_after=max(1, int((reset - now).total_seconds())),
        )


def find(conn: Connection, job_id: str) -> RowMapping:
    """The job row with its owner's name (any owner)."""
    row = conn.execute(_JOB_BY_ID, {"job_id": job_id}).mappings().first()
    if row is None:
        raise NotFound(f"no job {job_id!r}")
    return row


def get_job(conn: Connection, principal: Principal, job_id: str) -> RowMapping:
    """The job row, if the caller may see it (its owner or an admin)."""
    row = find(conn, job_id)
    if row["owner_id"] != principal.user_id and not principal.is_admin:
        raise NotFound(f"no job {job_id!r}")
    return row


def job_document(conn: Connection, row: RowMapping, *, with_events: bool = True) -> dict[str, Any]:
    """The API's view of a job: its columns, owner, queue position and status history."""
    document: dict[str, Any] = {name: row[name] for name in PUBLIC_COLUMNS}
    for name in ("created_at", "started_at", "finished_at"):
        if document[name] is not None:
            document[name] = aware(document[name])
    document["owner"] = row["owner"]
    document["queue_position"] = queue_position(conn, row)
    if with_events:
        document["events"] = events(conn, row["id"])
    return document


def queue_position(conn: Connection, job: RowMapping) -> int | None:
    """How many queued jobs on the same device run before this one (None unless queued)."""
    if job["status"] != JobStatus.QUEUED.value:
        return None
    keys = ("device", "priority", "fair_seq", "created_at")
    return int(conn.execute(_AHEAD_IN_QUEUE, {key: job[key] for key in keys}).scalar() or 0)


def usage_by_user(conn: ConnectionOrSession, day: date) -> dict[int, tuple[int, int]]:
    """Per user: (queued or running jobs, shots submitted on ``day``), users with any."""
    active = conn.execute(
        select(JOBS.c.owner_id, func.count())
        .where(JOBS.c.status.in_(ACTIVE))
        .group_by(JOBS.c.owner_id)
    ).all()
    found: dict[int, tuple[int, int]] = {owner: (int(n), 0) for owner, n in active}
    for owner, total in usage.shots_by_user(conn, day).items():
        found[owner] = (found.get(owner, (0, 0))[0], total)
    return found


def queue_preview(conn: Connection, owner_id: int, device: str, priority: int) -> dict[str, Any]:
    """Where a job of this owner and priority would enter ``device``'s queue now: the
    queued jobs that would run before it, and the recent mean run time of a job there
    (seconds, from the last ``ETA_SAMPLE`` jobs finished on the device; None if none)."""
    _, _, _, ahead = conn.execute(
        _BEFORE_SUBMIT,
        {"owner_id": owner_id, "key": None, "day": utcnow().date(), "device": device,
         "priority": priority},
    ).one()  # fmt: skip
    recent = conn.execute(_RECENT_RUNS, {"device": device}).all()
    runs = [(aware(end) - aware(start)).total_seconds() for start, end in recent if start and end]
    return {
        "queue_position": int(ahead),
        "mean_run_seconds": sum(runs) / len(runs) if runs else None,
    }


def queue_lengths(conn: ConnectionOrSession) -> dict[str, int]:
    """Number of queued jobs per device (devices with none are absent), from the
    aggregates: the same cost however long the queues."""
    queued = aggregates.by_device(aggregates.job_totals(conn), JobStatus.QUEUED.value)
    return {device: n for device, n in queued.items() if n}


def events(conn: Connection, job_id: str) -> list[dict[str, Any]]:
    """The job's status changes in order, as ``{"status", "at", "detail"}``."""
    rows = conn.execute(_EVENTS_OF, {"job_id": job_id})
    return [{"status": status, "at": aware(at), "detail": detail} for status, at, detail in rows]


def archived_message(
    job_id: str, archived_at: datetime, archive: str | None, principal: Principal
) -> str:
    """What a request for an archived job's result is told; admins learn where it went."""
    message = (
        f"job {job_id}'s result and status history were archived on "
        f"{aware(archived_at).date().isoformat()} (the retention policy)"
    )
    if not principal.is_admin:
        return message + "; an administrator can retrieve them"
    if archive:
        return message + f"; they are in {archive}"
    return message + "; they were deleted"


def cancel(conn: Connection, principal: Principal, job_id: str) -> dict[str, Any]:
    """Cancel a queued or running job; a finished job is a conflict."""
    row = get_job(conn, principal, job_id)
    old = JobStatus(row["status"])
    if old in FINAL_STATUSES:
        raise Conflict(f"job {job_id} is already {old.value}")
    detail = f"by {principal.name}"
    if not transition(
        conn,
        job_id,
        old,
        JobStatus.CANCELLED,
        detail,
        finished_at=utcnow(),
        lease_expires_at=None,
    ):
        raise Conflict(f"job {job_id} changed status while being cancelled; try again")
    submitted = aware(row["created_at"]).date()  # the day whose quota counted its shots
    usage.add_shots(conn, row["owner_id"], submitted, -row["shots"] * row["num_circuits"])
    return job_document(conn, find(conn, job_id))


def final_statuses(conn: Connection, job_ids: Sequence[str]) -> dict[str, str]:
    """Of ``job_ids``, those that are finished, with their status."""
    rows = conn.execute(_FINISHED_AMONG, {"ids": list(job_ids)})
    return {job_id: status for job_id, status in rows}


_PAYLOAD_OF = select(JOBS.c.payload).where(JOBS.c.id == bindparam("job_id"))


def circuits_of(
    conn: Connection, principal: Principal, job_id: str, *, drawn: bool = False
) -> dict[str, Any]:
    """What the job was asked to run: its circuits as submitted, format, kind, options;
    with ``drawn``, each circuit also drawn as text (Qiskit's text drawer)."""
    get_job(conn, principal, job_id)  # the access check
    payload = json.loads(conn.execute(_PAYLOAD_OF, {"job_id": job_id}).scalar_one())
    payload["job_id"] = job_id
    if drawn:
        payload["drawings"] = [
            draw_circuit(source, payload.get("format", "auto"), f"circuits[{i}]")
            for i, source in enumerate(payload["circuits"])
        ]
    return payload


def result_of(conn: Connection, principal: Principal, job_id: str) -> str:
    """The stored result document of a done job, as JSON text with ``job_id`` added."""
    row = conn.execute(_RESULT_OF, {"job_id": job_id}).first()
    if row is None or (row.owner_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"no job {job_id!r}")
    if row.archived_at is not None and row.data is None:
        raise Archived(archived_message(job_id, row.archived_at, row.archive, principal))
    if row.status != JobStatus.DONE.value:
        detail = f": {row.error}" if row.error else ""
        raise Conflict(f"job {job_id} is {row.status}, it has no result{detail}")
    if row.data is None:
        raise Conflict(f"job {job_id} is done but its result is missing")
    # The stored text is a JSON object: splice the id in without parsing it again.
    rest = row.data.strip()[1:].lstrip()
    separator = "" if rest.startswith("}") else ","
    return '{"job_id":' + json.dumps(job_id) + separator + rest
