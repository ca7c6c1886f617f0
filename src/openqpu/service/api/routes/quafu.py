"""The Quafu cloud's API (``/qbackend/``), so that pyquafu runs unchanged against openqpu.

A thin adapter over openqpu's job model: a task is a one-circuit sample job, the
``api_token`` header is an openqpu API key, each device is a backend. Requests are
form-encoded; every answer is HTTP 200 with a JSON document, errors included, since
pyquafu turns any other status into a generic "failed to communicate" error and
reads the error from the document's ``status`` and ``message``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy import Connection, bindparam, select
from starlette.concurrency import run_in_threadpool

from openqpu.errors import OpenQPUError
from openqpu.service import admission
from openqpu.service.api.ratelimit import admit
from openqpu.service.api.responses import FastJSONResponse
from openqpu.service.circuits import InvalidRequest, is_summarized
from openqpu.service.protocols import quafu as quafu
from openqpu.service.schemas import JobCreate
from openqpu.service.store import jobs
from openqpu.service.store.accounts import AuthenticationFailed, Principal, authenticate
from openqpu.service.store.models import JobStatus

router = APIRouter(prefix="/qbackend", tags=["quafu"])

# How long ``scq_kit/`` waits for the result; a task still queued or running then is
# answered with its status (0 or 1), to be fetched later with ``scq_task_recall/``.
SYNC_WAIT_SECONDS = 300.0

# openqpu's request fields as the Quafu form names them, for error messages.
_FIELDS = {"device": "selected_server", "circuits": "qtasm", "name": "task_name"}
_PAYLOAD = select(jobs.JOBS.c.payload).where(jobs.JOBS.c.id == bindparam("job_id"))


async def _answer(
    request: Request, work: Callable[[Principal, dict[str, str]], Awaitable[dict[str, Any]]]
) -> FastJSONResponse:
    """Authenticate ``api_token``, parse the form, run ``work``; errors become documents."""
    try:
        token = request.headers.get("api_token")
        if not token:
            raise AuthenticationFailed("missing API key: send the 'api_token' header")
        with request.app.state.db.connect() as conn:
            principal = authenticate(conn, token)
        admit(request, principal)
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        return FastJSONResponse(await work(principal, form))
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem.get("loc", ()))
        field = _FIELDS.get(field.split(".")[0], field)
        return FastJSONResponse(quafu.error(quafu.USER_ERROR, f"{field}: {problem['msg']}"))
    except OpenQPUError as exc:
        return FastJSONResponse(quafu.error(*_code_and_message(exc)))


def _code_and_message(exc: OpenQPUError) -> tuple[int, str]:
    message = str(exc)
    if isinstance(exc, InvalidRequest):
        name = exc.field.split("[")[0]
        if name in _FIELDS:
            message = _FIELDS[name] + message[len(exc.field) :]
        if name == "circuits":
            return quafu.CIRCUIT_ERROR, message
    return quafu.USER_ERROR, message


def _integer(form: dict[str, str], name: str, default: int) -> int:
    value = form.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest(name, f"expected an integer, got {value[:40]!r}") from None


@router.post("/get_backends/")
async def get_backends(request: Request) -> FastJSONResponse:
    """Every device as a backend: name, system id, qubits, status, gates, queue length."""

    async def work(_principal: Principal, _form: dict[str, str]) -> dict[str, Any]:
        state = request.app.state
        with state.db.connect() as conn:
            queues = jobs.queue_lengths(conn)
        in_maintenance = set(state.calibrations.in_maintenance())
        # An alias (a chip's published name) is listed as a backend of its own name.
        data = [
            quafu.backend_info(
                device,
                queued=queues.get(name, 0),
                in_maintenance=name in in_maintenance,
                listed_as=listed,
            )
            for name, device in state.devices.items()
            for listed in (name, *device.aliases)
        ]
        return {"status": 200, "message": "success", "ok": True, "data": data}

    return await _answer(request, work)


@router.post("/scq_get_chip_info/")
async def get_chip_info(request: Request) -> FastJSONResponse:
    """A backend's couplers with CZ fidelities and its qubits' calibration."""

    async def work(_principal: Principal, form: dict[str, str]) -> dict[str, Any]:
        state = request.app.state
        wanted = form.get("system_name", "")
        by_name = {
            listed.lower(): device
            for device in state.devices.values()
            for listed in (device.name, *device.aliases)
        }
        device = by_name.get(wanted.lower())
        if device is None:
            known = ", ".join(n for d in state.devices.values() for n in (d.name, *d.aliases))
            raise InvalidRequest("system_name", f"no backend {wanted[:64]!r} (backends: {known})")
        snapshot = state.calibrations.in_force(device.name) if device.is_chip else None
        return quafu.chip_info(device, snapshot, listed_as=wanted)

    return await _answer(request, work)


def _job_request(form: dict[str, str], devices: dict[str, Any]) -> JobCreate:
    """The openqpu job a Quafu task form asks for."""
    wanted = _integer(form, "selected_server", -1)
    # A device is found by the system_id of its name or of one of its aliases.
    by_id = {
        quafu.system_id(listed): name
        for name, device in devices.items()
        for listed in (name, *device.aliases)
    }
    if wanted not in by_id:
        known = ", ".join(f"{quafu.system_id(name)} ({name})" for name in devices)
        raise InvalidRequest("selected_server", f"no backend with system_id {wanted} ({known})")
    if _integer(form, "tomo", 0):
        raise InvalidRequest("tomo", "tomography is not supported; send tomo=0")
    return JobCreate(
        device=by_id[wanted],
        circuits=[form.get("qtasm", "")],
        format="qasm2",
        shots=_integer(form, "shots", 1000),
        priority=_integer(form, "priority", 0),
        name=form.get("task_name") or None,
        # Chips always map the circuit onto working qubits; compile=0 only skips optimisation.
        optimization_level=2 if _integer(form, "compile", 1) else 0,
    )


async def _submit(request: Request, principal: Principal, form: dict[str, str]) -> str:
    """Queue the task's job; return its id."""
    state = request.app.state
    body = _job_request(form, state.devices)
    args = (principal, body, state.devices, state.settings, state.calibrations)
    if is_summarized(body.circuits[0], body.format, state.settings.max_circuit_gates):
        submission = admission.prepare(*args)
    else:  # parsing and compiling may take a while: keep the event loop free
        submission = await run_in_threadpool(
            lambda: admission.prepare(*args, sandbox=state.sandbox)
        )
    document, _created = await state.batcher.run(
        lambda conn: jobs.store(conn, submission, state.settings)
    )
    return str(document["id"])


def _task(conn: Connection, principal: Principal, job_id: str) -> dict[str, Any]:
    """The Quafu task document of a job the caller may see."""
    row = jobs.get_job(conn, principal, job_id)
    payload = json.loads(conn.execute(_PAYLOAD, {"job_id": job_id}).scalar_one())
    if payload["kind"] != "sample" or len(payload["circuits"]) != 1:
        raise InvalidRequest(
            "task_id",
            f"job {job_id} is a {payload['kind']} job of {len(payload['circuits'])} circuits; "
            "a Quafu task samples one circuit",
        )
    counts = None
    if row["status"] == JobStatus.DONE.value:
        result = json.loads(jobs.result_of(conn, principal, job_id))
        counts = result["results"][0]["counts"]
    return quafu.task_document(row, payload["circuits"][0], payload.get("format", "auto"), counts)


async def _send(request: Request, *, wait: bool) -> FastJSONResponse:
    async def work(principal: Principal, form: dict[str, str]) -> dict[str, Any]:
        job_id = await _submit(request, principal, form)
        if wait:
            await request.app.state.watcher.wait(job_id, SYNC_WAIT_SECONDS)
        with request.app.state.db.connect() as conn:
            return _task(conn, principal, job_id)

    return await _answer(request, work)


@router.post("/scq_kit/")
async def send_and_wait(request: Request) -> FastJSONResponse:
    """Run a task and answer with its result (or its status after SYNC_WAIT_SECONDS)."""
    return await _send(request, wait=True)


@router.post("/scq_kit_asyc/")
async def send(request: Request) -> FastJSONResponse:
    """Queue a task and answer at once with its id and status (the path is Quafu's spelling)."""
    return await _send(request, wait=False)


@router.post("/scq_task_recall/")
async def recall(request: Request) -> FastJSONResponse:
    """A task's status and, once it is completed, its counts."""

    async def work(principal: Principal, form: dict[str, str]) -> dict[str, Any]:
        with request.app.state.db.connect() as conn:
            return _task(conn, principal, form.get("task_id", ""))

    return await _answer(request, work)
