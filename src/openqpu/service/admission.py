"""Admission of a submitted job: every check of the request before it is stored (device,
limits, circuits, parameters, observables, what fits the chip's calibration), and the
stored payload.

``prepare`` is CPU work (parsing, summarising): callers run it off the event loop. The
job store (``openqpu.service.store.jobs``) then writes the prepared submission.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError

from openqpu.device import Device, resolve
from openqpu.errors import DoesNotFit
from openqpu.formats.prescan import ScanLimits
from openqpu.service.circuits import (
    InvalidRequest,
    decode_circuit,
    decode_observable,
    summarize,
)
from openqpu.service.run.chip import ChipRun, method_settings, transpile_cache_folder
from openqpu.service.run.estimate import estimate_chip_job
from openqpu.service.run.resilience import check_options
from openqpu.service.sandbox import Sandbox, SandboxLimit, TaskTimedOut
from openqpu.service.schemas import JobCreate
from openqpu.service.settings import Settings
from openqpu.service.store.accounts import Principal
from openqpu.service.store.calibrations import Calibrations
from openqpu.service.store.database import Database
from openqpu.service.store.jobs import Submission, store
from openqpu.service.store.wakeup import announce
from openqpu.sim.methods import trajectories
from openqpu.sim.methods.base import MethodUnsupported


def validate(
    request: JobCreate,
    devices: Mapping[str, Device],
    settings: Settings,
    calibrations: Calibrations | None = None,
    *,
    sandbox: Sandbox | None = None,
) -> int:
    """Check a submission completely; return its widest circuit's qubit count.

    On a chip a circuit must also fit the largest connected block of working
    qubits in the calibration in force (``calibrations`` gives it). Work is bounded
    before it is done: counts of observables, terms and values first, then each
    source's pre-scan (declared registers, expanded gates, nesting, controls), and
    with ``sandbox`` the parse and compile of a new source run in its child processes.
    """
    device = devices.get(resolve(devices, request.device) or request.device)
    if device is None:
        known = ", ".join(sorted(devices))
        raise InvalidRequest("device", f"no device {request.device!r} (devices: {known})")
    usable = device.num_qubits
    if device.is_chip and calibrations is not None:
        usable = calibrations.largest_block(device.name)
    if not device.is_chip and request.method not in ("auto", "statevector"):
        raise InvalidRequest(
            "method",
            f"{request.method!r} simulates a chip's noise; {device.name} is an ideal simulator "
            "(use 'auto' or 'statevector')",
        )
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
    if request.options is not None:
        check_options(
            request.options,
            kind=request.kind,
            device=device.name,
            is_chip=device.is_chip,
            mitigation=request.mitigation,
            shots=request.shots,
            max_shots=settings.max_shots,
        )
    _check_job_size(request, settings)
    limits = ScanLimits(
        max_qubits=device.num_qubits,
        max_clbits=settings.max_clbits,
        max_gates=settings.max_expanded_gates,
        max_nesting=settings.max_gate_nesting,
        max_controls=settings.max_controls,
        device=device.name,
    )
    observable_widths: set[int] = set()
    widest = 0
    for index, source in enumerate(request.circuits):
        field = f"circuits[{index}]"
        if len(source) > settings.max_circuit_bytes:
            raise InvalidRequest(
                field, f"{len(source)} bytes is over the limit of {settings.max_circuit_bytes}"
            )
        summary = summarize(
            source,
            request.format,
            field,
            settings.max_circuit_gates,
            device.num_qubits,
            limits=limits,
            sandbox=sandbox,
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
            if summary.num_qubits not in observable_widths:  # once per width, not per circuit
                observable_widths.add(summary.num_qubits)
                for position, spec in enumerate(request.observables or []):
                    decode_observable(spec, summary.num_qubits, f"observables[{position}]")
    return widest


def with_canonical_device(request: JobCreate, devices: Mapping[str, Device]) -> JobCreate:
    """``request`` with its device named by its canonical name: an alias (a chip's
    published name) is accepted on submit and the job is stored, and answered, under
    the device's own name."""
    name = resolve(devices, request.device)
    if name is None or name == request.device:
        return request
    return request.model_copy(update={"device": name})


def _check_job_size(request: JobCreate, settings: Settings) -> None:
    """Refuse a job whose observables, Pauli terms or parameter values are over the caps.

    Counting is cheap (lengths only); decoding comes after, and only within the caps.
    """
    observables = request.observables or []
    if len(observables) > settings.max_observables:
        raise InvalidRequest(
            "observables",
            f"{len(observables):,} observables is over the limit of "
            f"{settings.max_observables:,} (OPENQPU_MAX_OBSERVABLES)",
        )
    if request.kind == "estimate":
        terms = len(request.circuits) * sum(len(spec) for spec in observables)
        if terms > settings.max_pauli_terms:
            raise InvalidRequest(
                "observables",
                f"{len(request.circuits):,} circuits x {terms // len(request.circuits):,} Pauli "
                f"terms = {terms:,} terms to evaluate, over the limit of "
                f"{settings.max_pauli_terms:,} (OPENQPU_MAX_PAULI_TERMS)",
            )
    values = sum(len(row) for row in request.parameter_values or [])
    if values > settings.max_parameter_values:
        raise InvalidRequest(
            "parameter_values",
            f"{values:,} parameter values is over the limit of "
            f"{settings.max_parameter_values:,} (OPENQPU_MAX_PARAMETER_VALUES)",
        )


def prepare(
    principal: Principal,
    request: JobCreate,
    devices: Mapping[str, Device],
    settings: Settings,
    calibrations: Calibrations | None = None,
    *,
    sandbox: Sandbox | None = None,
) -> Submission:
    """Validate ``request`` and, on a chip, estimate its run (CPU: parsing, compiling;
    the cached calibration) for :func:`store`. ``sandbox``: see :func:`validate`."""
    request = with_canonical_device(request, devices)
    num_qubits = validate(request, devices, settings, calibrations, sandbox=sandbox)
    payload = _payload(request)
    if calibrations is not None and request.device in calibrations.specs:
        estimates = estimate(payload, request.device, settings, calibrations, sandbox=sandbox)
        # The worker takes these methods while the same calibration is in force, instead
        # of estimating every method again.
        payload["planned"] = {
            "calibration_id": calibrations.in_force(request.device).id,
            "methods": [entry["method"] for entry in estimates],
        }
    return Submission(principal, request, json.dumps(payload), num_qubits)


def estimate(
    payload: dict[str, Any],
    device: str,
    settings: Settings,
    calibrations: Calibrations,
    *,
    sandbox: Sandbox | None = None,
) -> list[dict[str, Any]]:
    """Per circuit of a chip job: the method the worker will use and its cost.

    With ``sandbox`` the compile and the choice run in one of its child processes,
    under ``OPENQPU_SANDBOX_COMPILE_SECONDS`` (transpiling a wide circuit at level 3
    takes tens of seconds) and the sandbox's memory limit.

    Raises:
        InvalidRequest: a circuit cannot run with the job's ``method``, its estimated
            memory exceeds the memory limit, or the job's estimated run time exceeds
            ``max_run_seconds``; the message names the circuit, method, estimate and
            limit, and what to change.
    """
    chip = ChipRun(
        calibrations.specs[device],
        calibrations.in_force(device),
        method_settings(settings),
        transpile_cache_folder(settings),
    )
    try:
        if sandbox is None:
            estimates = estimate_chip_job(payload, chip)
        else:
            estimates = sandbox.run(
                estimate_chip_job, payload, chip, seconds=settings.sandbox_compile_seconds
            )
    except TaskTimedOut:
        raise InvalidRequest(
            "circuits",
            f"compiling for {device} took longer than the limit of "
            f"{settings.sandbox_compile_seconds:g} s (OPENQPU_SANDBOX_COMPILE_SECONDS): "
            "use a lower optimization_level or a smaller circuit",
        ) from None
    except SandboxLimit as exc:
        raise InvalidRequest("circuits", f"compiling for {device} {exc}") from None
    except MethodUnsupported as exc:
        field = "method" if exc.method != "auto" else "circuits"
        raise InvalidRequest(field, str(exc)) from None
    total = sum(entry["estimated_seconds"] for entry in estimates)
    if total > settings.max_run_seconds:
        slowest = max(estimates, key=lambda entry: entry["estimated_seconds"])
        raise InvalidRequest(
            f"circuits[{slowest['index']}]",
            f"the job is estimated to run {total:,.0f} s (this circuit: method "
            f"{slowest['method']}, {slowest['estimated_seconds']:,.0f} s for "
            f"{payload['shots']:,} shots on {len(slowest['physical_qubits'])} qubits), over "
            f"the run-time limit of {settings.max_run_seconds:g} s (max_run_seconds): use "
            "fewer shots or fewer qubits, or another `method` "
            f"(rejected: {_rejected(slowest)})",
        )
    return estimates


def dry_run(
    request: JobCreate,
    devices: Mapping[str, Device],
    settings: Settings,
    calibrations: Calibrations | None = None,
    *,
    sandbox: Sandbox | None = None,
) -> dict[str, Any]:
    """Everything a submit checks, and the estimate, without queueing (CPU work).

    Returns:
        ``{"device", "shots", "circuits": [per-circuit estimate], "estimated_seconds"}``;
        a chip's entries say method, seconds, memory, success probability, two-qubit
        gates, depth and physical qubits; an ideal simulator's say method and seconds.

    Raises:
        InvalidRequest: what a submit of the same request would be refused for.
    """
    request = with_canonical_device(request, devices)
    validate(request, devices, settings, calibrations, sandbox=sandbox)
    payload = _payload(request)
    if calibrations is not None and request.device in calibrations.specs:
        circuits = estimate(payload, request.device, settings, calibrations, sandbox=sandbox)
    else:
        circuits = [
            _ideal_estimate(index, source, request.format, request.shots)
            for index, source in enumerate(request.circuits)
        ]
    return {
        "dry_run": True,
        "device": request.device,
        "shots": request.shots,
        "circuits": circuits,
        "estimated_seconds": round(sum(c["estimated_seconds"] for c in circuits), 3),
    }


def _ideal_estimate(index: int, source: str, fmt: str, shots: int) -> dict[str, Any]:
    """An ideal simulator runs a circuit once and samples its shots from the state."""
    circuit = decode_circuit(source, fmt, f"circuits[{index}]")
    cost = trajectories.cost(circuit, None, 1)
    return {
        "index": index,
        "method": "statevector",
        "estimated_seconds": round(cost.seconds, 3),
        "estimated_memory_bytes": cost.memory_bytes,
        "num_qubits": circuit.num_qubits,
    }


def _rejected(entry: dict[str, Any]) -> str:
    reasons = entry["methods_rejected"]
    return "; ".join(f"{name}: {why}" for name, why in reasons.items()) or "none"


def _payload(request: JobCreate) -> dict[str, Any]:
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
            "method",
        }
    )
    payload["parameter_values"] = request.parameter_values
    if request.options is not None:
        payload["options"] = request.options.model_dump(exclude_none=True)
    return payload


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
