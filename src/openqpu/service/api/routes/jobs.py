"""Jobs: submit, read, list, cancel, results.

The handlers are ``async``: reads are single indexed queries run on the event loop,
writes go through the app's :class:`~openqpu.service.store.batcher.WriteBatcher` (group
commit), and only circuit parsing on a cache miss goes to a thread.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from openqpu.service import admission
from openqpu.service.api.deps import CurrentUser
from openqpu.service.api.responses import FastJSONResponse, RawJSONResponse
from openqpu.service.circuits import is_summarized, qasm_warnings
from openqpu.service.schemas import JobCreate, JobPublic, JobsPublic
from openqpu.service.store import jobs, listing
from openqpu.service.store.models import JobStatus

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

MAX_WAIT_SECONDS = 30.0
# Offsets cost their length in rows skipped: deeper pages go by the ``next`` cursor.
MAX_OFFSET = 10_000


@router.post("", response_model=JobPublic, status_code=status.HTTP_201_CREATED)
async def submit_job(body: JobCreate, request: Request, user: CurrentUser) -> FastJSONResponse:
    """Validate and queue a job; a repeated ``idempotency_key`` returns the first job."""
    state = request.app.state
    settings, devices, calibrations = state.settings, state.devices, state.calibrations
    body = admission.with_canonical_device(body, devices)  # an alias names the same device
    if body.dry_run:
        return await _dry_run(body, request, user)
    # A chip job is compiled and its run estimated at admission: never on the event loop.
    cached = body.device not in calibrations.specs and all(
        is_summarized(source, body.format, settings.max_circuit_gates) for source in body.circuits
    )
    if cached:
        submission = admission.prepare(user, body, devices, settings, calibrations)
    else:  # parsing and compiling may take a while: keep the event loop free
        submission = await run_in_threadpool(
            lambda: admission.prepare(
                user, body, devices, settings, calibrations, sandbox=state.sandbox
            )
        )
    batcher = request.app.state.batcher
    try:
        document, created = await batcher.run(lambda conn: jobs.store(conn, submission, settings))
    except IntegrityError:
        # Two submits with one idempotency key raced in two processes: the other one won.
        document, created = await batcher.run(lambda conn: jobs.store(conn, submission, settings))
    said = qasm_warnings(body.circuits, body.format)
    if said:  # how the sources were read, e.g. OpenQASM 2 without its header
        document = {**document, "warnings": said}
    return FastJSONResponse(
        document,
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        headers={"Location": f"/api/v1/jobs/{document['id']}"},
    )


async def _dry_run(body: JobCreate, request: Request, user: CurrentUser) -> FastJSONResponse:
    """The estimate of a submit and where the job would enter the queue, queueing nothing.

    The ETA is the queued jobs ahead times the mean run time of the device's recent jobs,
    plus this job's own estimate.
    """
    state = request.app.state
    document = await run_in_threadpool(
        lambda: admission.dry_run(
            body, state.devices, state.settings, state.calibrations, sandbox=state.sandbox
        )
    )
    with state.db.connect() as conn:
        preview = jobs.queue_preview(conn, user.user_id, body.device, body.priority)
    mean = preview["mean_run_seconds"]
    document["queue_position"] = preview["queue_position"]
    document["eta_seconds"] = (
        None
        if mean is None and preview["queue_position"]
        else round(preview["queue_position"] * (mean or 0.0) + document["estimated_seconds"], 3)
    )
    return FastJSONResponse(document)


@router.get("", response_model=JobsPublic)
async def list_jobs(
    request: Request,
    user: CurrentUser,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    device: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        str | None,
        Query(
            max_length=200,
            description="the 'next' cursor of the previous page: the jobs older than its last",
        ),
    ] = None,
    offset: Annotated[
        int,
        Query(ge=0, le=MAX_OFFSET, description="skip this many jobs (small offsets only)"),
    ] = 0,
) -> FastJSONResponse:
    """The caller's jobs (every job for an admin), newest first.

    ``next`` is the cursor of the following (older) page, null on the last one: pass it
    as ``?before=``; a page costs the same at any depth. ``count`` is the number of jobs
    that match the filters.
    """
    with request.app.state.db.connect() as conn:
        page, count, cursor = listing.list_jobs(
            conn,
            user,
            status=status_filter.value if status_filter else None,
            device=device,
            limit=limit,
            offset=offset,
            before=before,
        )
    return FastJSONResponse({"data": page, "count": count, "next": cursor})


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(
    job_id: str,
    request: Request,
    user: CurrentUser,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="seconds to wait for the job to finish before answering (long poll)",
        ),
    ] = 0.0,
) -> FastJSONResponse:
    """Status, times, events and, while queued, the position in the queue.

    With ``?wait=S`` the answer comes when the job is finished or after S seconds,
    whichever is first: one request instead of a polling loop.
    """
    db = request.app.state.db
    with db.connect() as conn:
        row = jobs.get_job(conn, user, job_id)
        if wait <= 0 or row["status"] not in jobs.ACTIVE:
            return FastJSONResponse(jobs.job_document(conn, row))
    await request.app.state.watcher.wait(job_id, wait)
    with db.connect() as conn:
        return FastJSONResponse(jobs.job_document(conn, jobs.get_job(conn, user, job_id)))


@router.get("/{job_id}/result", response_model=dict[str, Any])
async def get_result(job_id: str, request: Request, user: CurrentUser) -> RawJSONResponse:
    """Per-circuit counts or expectation values, execution time and the seed used."""
    with request.app.state.db.connect() as conn:
        return RawJSONResponse(jobs.result_of(conn, user, job_id))


@router.get("/{job_id}/circuits", response_model=dict[str, Any])
def get_circuits(
    job_id: str,
    request: Request,
    user: CurrentUser,
    drawn: Annotated[bool, Query(description="also draw each circuit as text")] = False,
) -> FastJSONResponse:
    """The job's circuits as submitted, with their format, kind, shots and options."""
    with request.app.state.db.connect() as conn:
        return FastJSONResponse(jobs.circuits_of(conn, user, job_id, drawn=drawn))


@router.post("/{job_id}/cancel", response_model=JobPublic)
async def cancel_job(job_id: str, request: Request, user: CurrentUser) -> FastJSONResponse:
    """Cancel a queued or running job."""
    document = await request.app.state.batcher.run(lambda conn: jobs.cancel(conn, user, job_id))
    return FastJSONResponse(document)
