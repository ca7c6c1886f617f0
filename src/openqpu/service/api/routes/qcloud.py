"""The reference cloud's task API under ``/oqcs/task``, so ``pyqpanda3.qcloud`` runs unchanged.

A thin adapter: each endpoint authenticates the SDK's ``oqcs_auth`` key, calls the
same job store as ``/api/v1/jobs`` and answers in the protocol's envelope (see
:mod:`openqpu.service.protocols.qcloud`). Refusals are answered with HTTP 200 and
``success: false``, as the SDK expects: it then raises the message itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from openqpu.errors import OpenQPUError
from openqpu.service import admission
from openqpu.service.api.ratelimit import admit
from openqpu.service.api.responses import FastJSONResponse
from openqpu.service.circuits import InvalidRequest
from openqpu.service.clock import utcnow
from openqpu.service.protocols import qcloud as protocol
from openqpu.service.store import jobs
from openqpu.service.store.accounts import AuthenticationFailed, NotFound, Principal, authenticate
from openqpu.service.store.jobs import Conflict, QuotaExceeded
from openqpu.service.store.models import JobStatus

router = APIRouter(prefix="/oqcs/task", tags=["pyqpanda3"])
log = logging.getLogger(__name__)

# The envelope's ``code`` for each kind of refusal: the HTTP status /api/v1 would give.
_CODES: list[tuple[type[Exception], int]] = [
    (InvalidRequest, 400),
    (AuthenticationFailed, 401),
    (NotFound, 404),
    (Conflict, 409),
    (QuotaExceeded, 429),
]


async def _caller(request: Request) -> Principal:
    key = protocol.api_key(request.headers.get("authorization"))
    with request.app.state.db.connect() as conn:
        principal = authenticate(conn, key)
    admit(request, principal)
    return principal


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise InvalidRequest("body", f"not valid JSON: {exc}") from None


async def _answer(handler: Callable[[], Awaitable[Any]], *, bare: bool = False) -> Response:
    """Run ``handler`` and wrap what it returns, or the error it raises, in the envelope.

    ``bare``: the answer is sent as it is, and a refusal keeps its HTTP status.
    """
    try:
        obj = await handler()
        return FastJSONResponse(obj if bare else protocol.success(obj))
    except OpenQPUError as exc:
        code = next((c for kind, c in _CODES if isinstance(exc, kind)), 400)
        message = protocol.describe(exc)
    except Exception:  # the client must get an answer it can show, never a traceback
        log.exception("qcloud request failed")
        code, message = 500, "internal error in the openqpu server; the operator's log has details"
    status = code if bare else 200
    return FastJSONResponse(protocol.failure(code, message), status_code=status)


@router.get("/getResourceList.json")
async def resource_list(request: Request) -> Response:
    """Every device, as a chip the SDK can pick with ``service.backend(name)``.

    The SDK reads a bare array here, so a refusal keeps its HTTP status: the SDK
    then shows the status and the envelope instead of failing to parse it.
    """

    async def handle() -> list[dict[str, Any]]:
        await _caller(request)
        state = request.app.state
        now = utcnow()
        offline = frozenset(
            name
            for name in state.calibrations.specs
            if state.calibrations.maintenance_until(name, now) is not None
        )
        return protocol.resource_list(state.devices, offline)

    return await _answer(handle, bare=True)


@router.post("/origin/submit.json")
async def submit(request: Request) -> Response:
    """Queue one openqpu job holding every program of the request; ``obj.taskId`` is its id."""

    async def handle() -> dict[str, str]:
        user = await _caller(request)
        state = request.app.state
        create = protocol.job_create(await _body(request), state.devices)
        submission = await run_in_threadpool(
            lambda: admission.prepare(
                user,
                create,
                state.devices,
                state.settings,
                state.calibrations,
                sandbox=state.sandbox,
            )
        )
        document, _ = await state.batcher.run(
            lambda conn: jobs.store(conn, submission, state.settings)
        )
        return {"taskId": document["id"]}

    return await _answer(handle)


@router.post("/origin/taskDetail.json")
async def task_detail(request: Request) -> Response:
    """The task's state and, once finished, its probabilities and counts per program."""

    async def handle() -> dict[str, Any]:
        user = await _caller(request)
        job_id = protocol.task_id(await _body(request))
        with request.app.state.db.connect() as conn:
            row = jobs.get_job(conn, user, job_id)
            result = None
            if row["status"] == JobStatus.DONE.value:
                result = json.loads(jobs.result_of(conn, user, job_id))
        return protocol.task_detail(row, result)

    return await _answer(handle)


@router.post("/cancelTask.json")
async def cancel_task(request: Request) -> Response:
    """Cancel a queued or running task; a finished one is refused (the SDK returns False)."""

    async def handle() -> dict[str, str]:
        user = await _caller(request)
        job_id = protocol.task_id(await _body(request))
        await request.app.state.batcher.run(lambda conn: jobs.cancel(conn, user, job_id))
        return {"taskId": job_id}

    return await _answer(handle)
