"""Admission of a submitted job: every check of the request before it is stored (device,
limits, circuits, parameters, observables, what fits the chip's calibration), and the
stored payload.

``prepare`` is CPU work (parsing, summarising): callers run it off the event loop. The
job store (``openqpu.service.store.jobs``) then writes the prepared submission.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError

from openqpu.device import Device
from openqpu.errors import DoesNotFit
from openqpu.service.circuits import InvalidRequest, decode_observable, summarize
from openqpu.service.schemas import JobCreate
from openqpu.service.settings import Settings
from openqpu.service.store.accounts import Principal
from openqpu.service.store.calibrations import Calibrations
from openqpu.service.store.database import Database
from openqpu.service.store.jobs import Submission, store
from openqpu.service.store.wakeup import announce


def validate(
    request: JobCreate,
    devices: Mapping[str, Device],
    settings: Settings,
    calibrations: Calibrations | None = None,
) -> int:
    """Check a submission completely; return its widest circuit's qubit count.

    On a chip a circuit must also fit the largest connected block of working
    qubits in the calibration in force (``calibrations`` gives it).
    """
    device = devices.get(request.device)
    if device is None:
        known = ", ".join(sorted(devices))
        raise InvalidRequest("device", f"no device {request.device!r} (devices: {known})")
    usable = device.num_qubits
    if device.spec is not None and calibrations is not None:
        usable = calibrations.largest_block(device.name)
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
        summary = summarize(
            source, request.format, field, settings.max_circuit_gates, device.num_qubits
        )
        if summary.num_qubits > device.num_qubits:
            raise InvalidRequest(
                field,
                f"{summary.num_qubits} qubits is more than device {device.name} has "
                f"({device.num_qubits})",
            )
        if summary.num_active_qubits > usable:
            message = str(DoesNotFit(summary.num_active_qubits, device.name, usable))
            raise InvalidRequest(field, message)
        widest = max(widest, summary.num_qubits)
        values = request.parameter_values[index] if request.parameter_values else []
        if len(values) != summary.num_parameters:
            raise InvalidRequest(
                f"parameter_values[{index}]",
                f"the circuit has {summary.num_parameters} parameters, got {len(values)} values",
            )
        if request.kind == "estimate":
            if summary.is_dynamic:
                raise InvalidRequest(
                    field, "estimate needs a circuit without mid-circuit measurement"
                )
            for position, spec in enumerate(request.observables or []):
                decode_observable(spec, summary.num_qubits, f"observables[{position}]")
    return widest


def prepare(
    principal: Principal,
    request: JobCreate,
    devices: Mapping[str, Device],
    settings: Settings,
    calibrations: Calibrations | None = None,
) -> Submission:
    """Validate ``request`` (CPU; on a chip the cached calibration) for :func:`store`."""
    num_qubits = validate(request, devices, settings, calibrations)
    return Submission(principal, request, _payload(request), num_qubits)


def _payload(request: JobCreate) -> str:
    payload = request.model_dump(
        include={
            "device",
            "circuits",
            "format",
            "kind",
            "shots",
            "observables",
            "optimization_level",
            "mitigation",
        }
    )
    payload["parameter_values"] = request.parameter_values
    return json.dumps(payload)


def submit(
    db: Database,
    principal: Principal,
    request: JobCreate,
    devices: Mapping[str, Device],
    settings: Settings,
) -> tuple[dict, bool]:
    """Validate and store a job in its own transaction (for callers outside a request)."""
    submission = prepare(principal, request, devices, settings)
    try:
        with db.transaction() as conn:
            stored = store(conn, submission, settings)
            announce(conn)
            return stored
    except IntegrityError:
        # Two submits with one idempotency key raced: the other one won.
        with db.transaction() as conn:
            return store(conn, submission, settings)
