"""The reference cloud's task API under ``/oqcs/task``, so ``pyqpanda3.qcloud`` runs unchanged.

A thin adapter: each endpoint authenticates the SDK's ``oqcs_auth`` key, calls the
same job store as ``/api/v1/jobs`` and answers in the protocol's envelope (see
:mod:`openqpu.service.protocols.qcloud`). Refusals are answered with HTTP 200 and
``success: false``, as the SDK expects: it then raises the message itself. A call
openqpu does not serve gets such a refusal naming it, never a page the SDK cannot parse.
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
from openqpu.service.protocols import qcloud_chip
from openqpu.service.store import jobs
from openqpu.service.store.accounts import AuthenticationFailed, NotFound, Principal, authenticate
from openqpu.service.store.jobs import Conflict, QuotaExceeded
from openqpu.service.store.models import JobStatus

router = APIRouter(prefix="/oqcs/task", tags=["pyqpanda3"])
log = logging.getLogger(__name__)


class NotServed(OpenQPUError):
    """A call of the reference cloud's API that openqpu does not serve."""


# The envelope's ``code`` for each kind of refusal: the HTTP status /api/v1 would give.
_CODES: list[tuple[type[Exception], int]] = [
    (InvalidRequest, 400),
    (AuthenticationFailed, 401),
    (NotFound, 404),
    (Conflict, 409),
    (QuotaExceeded, 429),
    (NotServed, 404),
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
    exc: Exception | None = None
    try:
        obj = await handler()
        return FastJSONResponse(obj if bare else protocol.success(obj))
    except OpenQPUError as error:
        exc = error
        code = next((c for kind, c in _CODES if isinstance(error, kind)), 400)
        message = protocol.describe(error)
    except Exception:  # the client must get an answer it can show, never a traceback
        log.exception("qcloud request failed")
        code, message = 500, "internal error in the openqpu server; the operator's log has details"
    status = code if bare else 200
    headers = {}
    if bare and isinstance(exc, QuotaExceeded):
        headers["Retry-After"] = str(max(1, int(exc.retry_after)))
    return FastJSONResponse(protocol.failure(code, message), status_code=status, headers=headers)


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
        body = await _body(request)
        server = protocol.Server(state.devices, state.settings, state.calibrations)
        # Parsing, laying out on a qubit block and building task circuits is CPU work.
        create = await run_in_threadpool(lambda: protocol.job_create(body, state.devices, server))
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
            if row["status"] != JobStatus.DONE.value:
                return protocol.task_state(row)
            result = json.loads(jobs.result_of(conn, user, job_id))
            payload = jobs.circuits_of(conn, user, job_id)
        return await run_in_threadpool(lambda: protocol.task_detail(row, result, payload))

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


def _chip(request: Request, asked: Any, field: str) -> tuple[str, Any, Any]:
    """The chip ``asked`` names (a name or an alias): its name, spec and calibration in force."""
    state = request.app.state
    name = protocol.chip_name(asked, state.devices, field)
    if name not in state.calibrations.specs:
        raise InvalidRequest(
            field, f"{name} is an ideal simulator: it has no chip information or qubit blocks"
        )
    return name, state.calibrations.specs[name], state.calibrations.in_force(name)


@router.post("/origin/chipInfo.json")
async def chip_info(request: Request) -> Response:
    """``backend.chip_info()``: the chip under the calibration in force."""

    async def handle() -> dict[str, Any]:
        await _caller(request)
        body = await _body(request)
        asked = body.get("ChipID") if isinstance(body, dict) else None
        _, spec, snapshot = _chip(request, asked, "ChipID")
        return qcloud_chip.chip_info(str(asked), spec, snapshot)

    return await _answer(handle)


@router.post("/management/bestQubitBlocks.json")
async def best_qubit_blocks(request: Request) -> Response:
    """``backend.best_qubit_blocks(n, label, count)``: connected blocks of working qubits,
    best estimated fidelity first."""

    async def handle() -> dict[str, Any]:
        await _caller(request)
        body = await _body(request)
        if not isinstance(body, dict):
            raise InvalidRequest("body", "expected a JSON object")
        asked = body.get("chipId")
        _, _, snapshot = _chip(request, asked, "chipId")
        qubit_num = protocol._integer(body.get("qubitNum"), "qubitNum")
        count = protocol._integer(body.get("qubitBlockNum", 1), "qubitBlockNum")
        label = protocol._integer(body.get("label", 1), "label")
        ranked = await run_in_threadpool(
            lambda: qcloud_chip.best_blocks(snapshot, qubit_num, count)
        )
        return {
            "ChipID": str(asked),
            "QubitNum": qubit_num,
            "Label": label,
            "QubitBlockNum": count,
            "QubitBlocks": [block for block, _ in ranked],
            "EstimatedFidelities": [fidelity for _, fidelity in ranked],
            "CalibrationID": snapshot.id,
        }

    return await _answer(handle)


@router.api_route("/{call:path}", methods=["GET", "POST", "PUT", "DELETE"])
async def not_served(request: Request, call: str) -> Response:
    """Any other call of the SDK: a refusal naming it, in the envelope the SDK reads."""

    async def handle() -> None:
        await _caller(request)
        raise NotServed(
            f"/oqcs/task/{call} is not served by openqpu: the pyqpanda3 calls served are "
            "listed in openqpu's README (pyqpanda3 section)"
        )

    return await _answer(handle)
