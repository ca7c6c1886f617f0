"""The wire format of the reference cloud's SDK (``pyqpanda3.qcloud``), mapped onto openqpu jobs.

Pure translation, no web framework: request bodies become a :class:`JobCreate`,
openqpu jobs and results become the documents the SDK parses. The format was read
off the unmodified client (pyqpanda3 0.5.1) talking to a recording server:

- every answer but the resource list is an envelope ``{"success", "code",
  "message", "obj"}``; with ``success`` false the SDK raises ``message``;
- a task's ``taskState`` is a string: "1" waiting, "2" computing, "3" finished,
  "4" failed (reason in ``errInfo``), "5" queuing;
- results are lists (one per program) of JSON strings ``{"key": [...], "value":
  [...]}``: ``taskResult`` holds probabilities (``get_probs``), ``probCount`` counts
  (``get_counts``); keys are binary with classical bit 0 rightmost, as openqpu's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from openqpu.device import Device
from openqpu.errors import OpenQPUError
from openqpu.service.circuits import InvalidRequest
from openqpu.service.schemas import JobCreate
from openqpu.service.store.accounts import AuthenticationFailed
from openqpu.service.store.models import JobStatus

if TYPE_CHECKING:
    from sqlalchemy import RowMapping

# ``machineType`` of a superconducting chip: the only kind the SDK lists from the resource list.
CHIP_MACHINE_TYPE = 5
# The SDK's own simulator names ("full_amplitude") submit with this type and no ``ChipID``.
FULL_AMPLITUDE_MACHINE_TYPE = "0"
FULL_AMPLITUDE_DEVICE = "statevector"
AUTH_PREFIX = "oqcs_auth="

TASK_STATE = {
    JobStatus.QUEUED: "5",  # queuing
    JobStatus.RUNNING: "2",  # computing
    JobStatus.DONE: "3",  # finished
    JobStatus.FAILED: "4",  # failed
    JobStatus.CANCELLED: "4",  # the protocol has no cancelled state: failed, with the reason
}

# Programs the SDK can send in other fields than ``QProg``.
_OTHER_CARRIERS = {
    "QProgBytes": "binary-encoded programs (enable_binary_encoding=True)",
    "Inst": "instruction lists (run_instruction)",
}


def api_key(authorization: str | None) -> str:
    """The API key in an ``Authorization: oqcs_auth=<key>`` header (``Bearer <key>`` also works).

    Raises:
        AuthenticationFailed: the header is missing.
    """
    value = (authorization or "").strip()
    if value.startswith(AUTH_PREFIX):
        return value[len(AUTH_PREFIX) :].strip()
    if value.lower().startswith("bearer "):
        return value[7:].strip()
    if not value:
        raise AuthenticationFailed(
            "missing API key: pass an openqpu API key as QCloudService(api_key, url)"
        )
    return value


def resource_list(devices: Mapping[str, Device], offline: frozenset[str]) -> list[dict[str, Any]]:
    """``getResourceList.json``: every device, listed as a chip (the SDK shows only chips)."""
    return [
        {"machineType": CHIP_MACHINE_TYPE, "onlineFlag": name not in offline, "sinanChipId": name}
        for name in sorted(devices)
    ]


def success(obj: Any) -> dict[str, Any]:
    """The envelope of an answer."""
    return {"success": True, "code": 0, "message": "", "obj": obj}


def failure(code: int, message: str) -> dict[str, Any]:
    """The envelope of a refusal; the SDK raises ``RuntimeError(message)``."""
    return {"success": False, "code": code, "message": message, "obj": None}


# openqpu's request fields by their names in the protocol.
_PROTOCOL_FIELDS = {"device": "ChipID", "shots": "Configuration.shot"}


def describe(exc: OpenQPUError) -> str:
    """An openqpu error in the protocol's words: circuit fields are called ``QProg[i]``."""
    if isinstance(exc, InvalidRequest):
        field, message = exc.field, str(exc)[len(exc.field) + 2 :]
        if field.startswith("circuits"):
            field = "QProg" + field[len("circuits") :]
        field = _PROTOCOL_FIELDS.get(field, field)
        where = f"line {exc.line}, column {exc.column}: " if exc.line is not None else ""
        # The parser's message starts with "line:column: "; say it once, in words.
        if where and message.startswith(f"{exc.line}:{exc.column}: "):
            message = message.split(": ", 1)[1]
        return f"{field}: {where}{message}"
    return str(exc)


def job_create(body: Any, devices: Mapping[str, Device]) -> JobCreate:
    """The openqpu job a ``submit.json`` body asks for.

    ``QProg`` (OriginIR, one string per program) becomes the job's circuits;
    ``Configuration.shot`` its shots; ``amendFlag`` (non-zero) readout mitigation on
    chips; ``mappingFlag``/``circuitOptimization`` both off optimization level 0,
    else 2. ``ChipID`` names the device; the SDK's full-amplitude simulator
    (``QMachineType`` "0") runs on ``statevector``.

    Raises:
        InvalidRequest: naming the protocol field that is missing or wrong.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("body", "expected a JSON object")
    for carrier, what in _OTHER_CARRIERS.items():
        if carrier in body and "QProg" not in body:
            raise InvalidRequest(
                carrier,
                f"openqpu takes programs as OriginIR in QProg, not {what}: "
                "call backend.run(prog, shots, options) with the default encoding",
            )
    programs = body.get("QProg")
    if isinstance(programs, str):
        programs = [programs]
    if not programs or not all(isinstance(p, str) for p in programs):
        raise InvalidRequest("QProg", "expected a non-empty list of OriginIR programs")
    config = body.get("Configuration") or {}
    if not isinstance(config, dict):
        raise InvalidRequest("Configuration", "expected a JSON object")
    device = _device(body)
    optimize = bool(config.get("mappingFlag", True)) or bool(
        config.get("circuitOptimization", True)
    )
    chip = device in devices and devices[device].is_chip
    amend = _integer(config.get("amendFlag", 0), "Configuration.amendFlag") != 0
    fields: dict[str, Any] = {
        "device": device,
        "circuits": programs,
        "format": "originir",
        "shots": _integer(config.get("shot", 1000), "Configuration.shot"),
        "optimization_level": 2 if optimize else 0,
        "mitigation": "readout" if amend and chip else None,
        "name": str(body.get("batchNo") or "")[:128] or None,
    }
    try:
        return JobCreate(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error.get("loc") else "body"
        raise InvalidRequest(name, error.get("msg", "invalid")) from None


def _device(body: Mapping[str, Any]) -> str:
    machine = str(body.get("QMachineType", CHIP_MACHINE_TYPE))
    chip = body.get("ChipID")
    if chip:
        return str(chip)
    if machine == FULL_AMPLITUDE_MACHINE_TYPE:
        return FULL_AMPLITUDE_DEVICE
    raise InvalidRequest(
        "QMachineType",
        f"machine type {machine} is not served here: use the full-amplitude simulator "
        "or a backend from service.backends()",
    )


def _integer(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidRequest(field, f"expected an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest(field, f"expected an integer, got {value!r}") from None


def task_id(body: Any) -> str:
    """The ``taskId`` of a ``taskDetail.json`` or ``cancelTask.json`` body."""
    value = body.get("taskId") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise InvalidRequest("taskId", "expected the task id that submit returned")
    return value


def task_detail(
    job: Mapping[str, Any] | RowMapping, result: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``taskDetail.json``'s ``obj``: the task's state and, when finished, its results.

    Args:
        job: the job's row (``id``, ``status``, ``error``).
        result: the job's result document when it is done, else None.
    """
    status = JobStatus(job["status"])
    detail: dict[str, Any] = {"taskId": job["id"], "taskState": TASK_STATE[status]}
    if status is JobStatus.CANCELLED:
        detail["errInfo"] = f"the task was cancelled{_suffix(job['error'])}"
    elif status is JobStatus.FAILED:
        detail["errInfo"] = job["error"] or "the task failed"
    if result is not None:
        entries = result["results"]
        detail["taskResult"] = [_pairs(_probabilities(entry)) for entry in entries]
        detail["probCount"] = [_pairs(entry["counts"]) for entry in entries]
    return detail


def _suffix(error: str | None) -> str:
    return f": {error}" if error else ""


def _probabilities(entry: Mapping[str, Any]) -> dict[str, float]:
    """Mitigated probabilities when the job asked for them, else the measured frequencies."""
    mitigated = entry.get("mitigated_probabilities")
    if mitigated is not None:
        return dict(mitigated)
    counts = entry["counts"]
    total = sum(counts.values()) or 1
    return {key: value / total for key, value in counts.items()}


def _pairs(values: Mapping[str, float]) -> str:
    keys = sorted(values)
    return json.dumps({"key": keys, "value": [values[key] for key in keys]})
