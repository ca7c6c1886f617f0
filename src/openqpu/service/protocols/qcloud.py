"""The wire format of the reference cloud's SDK (``pyqpanda3.qcloud``), mapped onto openqpu jobs.

Pure translation, no web framework: request bodies become a :class:`JobCreate`,
openqpu jobs and results become the documents the SDK parses. The format was read
off the unmodified client (pyqpanda3 0.5.1) talking to a recording server:

- every answer but the resource list is an envelope ``{"success", "code",
  "message", "obj"}``; with ``success`` false the SDK raises ``message``;
- a task's ``taskState`` is a string: "1" waiting, "2" computing, "3" finished,
  "4" failed (reason in ``errInfo``), "5" queuing;
- ``QMachineType`` says what a task is: "5" a chip run (``ChipID``), "7" state
  tomography on a chip, "0" the full-amplitude simulator (``measure_type`` 2:
  probabilities on ``Configuration.qubits``), "1" the simulator with a
  ``QCloudNoiseModel``, "2"/"3" partial/single amplitudes;
- results are lists (one per program) of JSON strings: ``taskResult`` ``{"key",
  "value"}`` probabilities (``get_probs``), ``probCount`` counts (``get_counts``),
  keys in hexadecimal (``0x5``) with ``measureQubitSize`` the bits per program, which
  the SDK turns into binary keys (classical bit 0 rightmost, as openqpu's) or keeps
  for ``DataBase.Hex``; amplitude results ``{"ResultType": 2 or 3, "key",
  "ValueReal", "ValueImag"}``; tomography ``qstTaskResult`` (the density matrix as
  ``[{"r", "i"}]``, row-major, in one JSON string) and ``qstFidelity`` (a string).

Tasks that are not plain sampling are built from estimate jobs
(:mod:`~openqpu.service.protocols.qcloud_tasks`); noise models are written into the
circuit (:mod:`~openqpu.service.protocols.qcloud_noise`); chips' own calls are in
:mod:`~openqpu.service.protocols.qcloud_chip`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError
from qiskit import QuantumCircuit, qasm3

from openqpu.device import Device, resolve
from openqpu.errors import OpenQPUError
from openqpu.formats import originir
from openqpu.formats.prescan import ScanLimits
from openqpu.service.circuits import InvalidRequest, decode_circuit, scan_circuit
from openqpu.service.protocols import qcloud_chip, qcloud_noise, qcloud_results, qcloud_tasks
from openqpu.service.schemas import JobCreate
from openqpu.service.store.accounts import AuthenticationFailed
from openqpu.service.store.models import JobStatus

if TYPE_CHECKING:
    from sqlalchemy import RowMapping

    from openqpu.service.settings import Settings
    from openqpu.service.store.calibrations import Calibrations

Format = Literal["qasm2", "qasm3", "originir"]

# ``machineType`` of a superconducting chip: the only kind the SDK lists from the resource list.
CHIP_MACHINE_TYPE = 5
FULL_AMPLITUDE_DEVICE = "statevector"
AUTH_PREFIX = "oqcs_auth="

# ``QMachineType`` of each kind of task the SDK sends.
FULL_AMPLITUDE = "0"
NOISY_SIMULATOR = "1"
PARTIAL_AMPLITUDE = "2"
SINGLE_AMPLITUDE = "3"
CHIP = "5"
TOMOGRAPHY = "7"
_AMPLITUDES = (PARTIAL_AMPLITUDE, SINGLE_AMPLITUDE)

TASK_STATE = {
    JobStatus.QUEUED: "5",  # queuing
    JobStatus.RUNNING: "2",  # computing
    JobStatus.DONE: "3",  # finished
    JobStatus.FAILED: "4",  # failed
    JobStatus.CANCELLED: "4",  # the protocol has no cancelled state: failed, with the reason
}

# What the SDK can send that openqpu does not serve, and what to say.
BINARY_ENCODING = (
    "QProgBytes",
    "binary-encoded programs (enable_binary_encoding=True) are not served: the SDK's "
    "binary format is not published and the SDK cannot decode it; call backend.run(prog, "
    "shots, options) with the default encoding (OriginIR)",
)


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
    """``getResourceList.json``: every device and every alias (the SDK shows only chips)."""
    entries = []
    for name in sorted(devices):
        for listed in (name, *devices[name].aliases):
            entries.append(
                {
                    "machineType": CHIP_MACHINE_TYPE,
                    "onlineFlag": name not in offline,
                    "sinanChipId": listed,
                }
            )
    return entries


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


@dataclass(frozen=True)
class Server:
    """What translating a submission needs to know of the server."""

    devices: Mapping[str, Device]
    settings: Settings | None = None
    calibrations: Calibrations | None = None

    @property
    def max_observables(self) -> int:
        return self.settings.max_observables if self.settings is not None else 1000


def chip_name(asked: Any, devices: Mapping[str, Device], field: str = "ChipID") -> str:
    """The canonical name of the device ``asked`` names (its name or an alias).

    Raises:
        InvalidRequest: no device has that name.
    """
    name = resolve(devices, str(asked)) if isinstance(asked, str | int) else None
    if name is None:
        known = ", ".join(sorted(n for d in devices.values() for n in (d.name, *d.aliases)))
        raise InvalidRequest(field, f"no backend {asked!r} (backends: {known})")
    return name


def job_create(body: Any, devices: Mapping[str, Device], server: Server | None = None) -> JobCreate:
    """The openqpu job a ``submit.json`` body asks for.

    ``QProg`` (OriginIR, one string per program) becomes the job's circuits;
    ``Configuration.shot`` its shots; ``amendFlag`` (non-zero) readout mitigation on
    chips; ``mappingFlag``/``circuitOptimization`` both off optimization level 0,
    else 2. ``ChipID`` (a name or an alias) names the device; the SDK's simulators
    run on ``statevector``. Probabilities, amplitudes and tomography become estimate
    jobs, a noise model is written into the circuits, a ``specified_block`` lays the
    programs out on those qubits (see the module docstring).

    Raises:
        InvalidRequest: naming the protocol field that is missing or wrong, or the
            kind of task openqpu does not serve.
    """
    server = server or Server(devices)
    if not isinstance(body, dict):
        raise InvalidRequest("body", "expected a JSON object")
    if "QProgBytes" in body and "QProg" not in body:
        raise InvalidRequest(*BINARY_ENCODING)
    config = body.get("Configuration") or {}
    if not isinstance(config, dict):
        raise InvalidRequest("Configuration", "expected a JSON object")
    machine = str(body.get("QMachineType", CHIP))
    name = str(body.get("batchNo") or "")[:128] or None
    if "Inst" in body and "QProg" not in body:
        return _instructions(body, config, name, server)
    programs = _programs(body)
    if machine in (CHIP, TOMOGRAPHY) or (machine == FULL_AMPLITUDE and body.get("ChipID")):
        device = chip_name(body.get("ChipID"), devices) if body.get("ChipID") else None
        if device is None:
            raise InvalidRequest("ChipID", "a chip task names its chip: service.backend(name)")
        if machine == TOMOGRAPHY:
            return _tomography(programs, device, config, name, server)
        return _chip_run(programs, device, config, name, server)
    if machine == FULL_AMPLITUDE:
        if str(config.get("measure_type", 1)) == "2":
            return _probabilities(programs, config, name, server)
        return _create(FULL_AMPLITUDE_DEVICE, programs, "originir", _shots(config), name=name)
    if machine == NOISY_SIMULATOR:
        return _noisy(programs, config, name, server)
    if machine in _AMPLITUDES:
        return _amplitudes(programs, machine, config, name, server)
    raise InvalidRequest(
        "QMachineType",
        f"machine type {machine} is not served here: openqpu serves chips (5), state "
        "tomography (7), and the full-amplitude (0, 1), partial-amplitude (2) and "
        "single-amplitude (3) simulators",
    )


def _programs(body: Mapping[str, Any]) -> list[str]:
    programs = body.get("QProg")
    if isinstance(programs, str):
        programs = [programs]
    if not programs or not all(isinstance(p, str) for p in programs):
        raise InvalidRequest("QProg", "expected a non-empty list of OriginIR programs")
    return list(programs)


def _shots(config: Mapping[str, Any], default: int = 1000) -> int:
    return _integer(config.get("shot", default), "Configuration.shot")


def _create(device: str, circuits: list[str], fmt: Format, shots: int, **fields: Any) -> JobCreate:
    try:
        return JobCreate(device=device, circuits=circuits, format=fmt, shots=shots, **fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error.get("loc") else "body"
        raise InvalidRequest(name, error.get("msg", "invalid")) from None


def _decoded(programs: list[str], device: str, server: Server) -> list[QuantumCircuit]:
    """The programs parsed, each pre-scanned against the server's limits first."""
    settings = server.settings
    circuits = []
    for index, source in enumerate(programs):
        field = f"circuits[{index}]"
        if settings is not None:
            if len(source) > settings.max_circuit_bytes:
                raise InvalidRequest(
                    field, f"{len(source)} bytes is over the limit of {settings.max_circuit_bytes}"
                )
            limits = ScanLimits(
                max_qubits=server.devices[device].num_qubits,
                max_clbits=settings.max_clbits,
                max_gates=settings.max_expanded_gates,
                max_nesting=settings.max_gate_nesting,
                max_controls=settings.max_controls,
                device=device,
            )
            scan_circuit(source, "originir", field, limits)
        circuits.append(decode_circuit(source, "originir", field))
    return circuits


def _chip_options(config: Mapping[str, Any], chip: bool) -> dict[str, Any]:
    optimize = bool(config.get("mappingFlag", True)) or bool(
        config.get("circuitOptimization", True)
    )
    amend = _integer(config.get("amendFlag", 0), "Configuration.amendFlag") != 0
    return {
        "optimization_level": 2 if optimize else 0,
        "mitigation": "readout" if amend and chip else None,
    }


def _chip_run(
    programs: list[str], device: str, config: Mapping[str, Any], name: str | None, server: Server
) -> JobCreate:
    chip = server.devices[device].is_chip
    options = _chip_options(config, chip)
    block = config.get("specified_block") or []
    if not block:
        return _create(device, programs, "originir", _shots(config), name=name, **options)
    calibrations = server.calibrations
    if not chip or calibrations is None or device not in calibrations.specs:
        raise InvalidRequest(
            "Configuration.specified_block", f"{device} is not a chip: it has no qubit blocks"
        )
    snapshot = calibrations.in_force(device)
    qubits = qcloud_chip.check_block(block, snapshot)
    spec = calibrations.specs[device]
    sources = []
    for circuit in _decoded(programs, device, server):
        laid_out, mapping = qcloud_chip.laid_out_on_block(
            circuit, qubits, spec, snapshot, options["optimization_level"]
        )
        sources_measured, cbits = qcloud_results.measurements(circuit)
        note = {
            "task": "block",
            "block": qubits,
            "mapping": mapping,
            "measured": [sources_measured, cbits],  # the program's, before the layout
        }
        sources.append(_qasm3_with_note(laid_out, note))
    return _create(device, sources, "qasm3", _shots(config), name=name, **options)


def _instructions(
    body: Mapping[str, Any], config: Mapping[str, Any], name: str | None, server: Server
) -> JobCreate:
    """``run_instruction``: the streams as programs on the chip's own qubits, run there."""
    from openqpu.service.protocols import qcloud_instructions

    if not body.get("ChipID"):
        raise InvalidRequest("ChipID", "instructions run on a chip: service.backend(name)")
    device = chip_name(body.get("ChipID"), server.devices)
    programs = qcloud_instructions.programs_of(body["Inst"], server.devices[device].num_qubits)
    calibrations = server.calibrations
    if calibrations is not None and device in calibrations.specs:
        snapshot = calibrations.in_force(device)
        for index, source in enumerate(programs):
            _check_on_working_qubits(source, index, snapshot)
    options = _chip_options(config, server.devices[device].is_chip)
    return _create(device, programs, "originir", _shots(config), name=name, **options)


def _check_on_working_qubits(source: str, index: int, snapshot: Any) -> None:
    """An instruction stream addresses chip qubits: each must work, each CZ a working coupler."""
    working = set(snapshot.working_qubits())
    couplers = {snapshot.couplers[i] for i in snapshot.working_couplers()}
    circuit = originir.loads(source)
    for inst in circuit.data:
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        for q in qubits:
            if q not in working:
                raise InvalidRequest(
                    f"Inst[{index}]",
                    f"qubit {q + 1} (chip qubit {q}) is disabled in calibration {snapshot.id}",
                )
        if len(qubits) == 2 and (min(qubits), max(qubits)) not in couplers:
            raise InvalidRequest(
                f"Inst[{index}]",
                f"CZ on qubits {qubits[0] + 1} and {qubits[1] + 1}: chip qubits {min(qubits)} "
                f"and {max(qubits)} share no working coupler in calibration {snapshot.id}",
            )


def _qasm3_with_note(circuit: QuantumCircuit, note: dict[str, Any]) -> str:
    text = qasm3.dumps(circuit)
    header, _, rest = text.partition("\n")
    return f"{header}\n{qcloud_tasks.NOTE}{json.dumps(note, separators=(',', ':'))}\n{rest}"


def _probabilities(
    programs: list[str], config: Mapping[str, Any], name: str | None, server: Server
) -> JobCreate:
    if len(programs) != 1:
        raise InvalidRequest("QProg", "a probability task takes one program")
    circuit = _decoded(programs, FULL_AMPLITUDE_DEVICE, server)[0]
    source, observables = qcloud_tasks.probabilities_job(
        circuit, config.get("qubits"), server.max_observables
    )
    return _create(
        FULL_AMPLITUDE_DEVICE,
        [source],
        "qasm2",
        1,
        kind="estimate",
        observables=observables,
        name=name,
    )


def _amplitudes(
    programs: list[str], machine: str, config: Mapping[str, Any], name: str | None, server: Server
) -> JobCreate:
    if len(programs) != 1:
        raise InvalidRequest("QProg", "an amplitude task takes one program")
    keys = config.get("Amplitude")
    if machine == SINGLE_AMPLITUDE:
        keys = [keys]
    if not isinstance(keys, list) or not keys:
        raise InvalidRequest("Configuration.Amplitude", f"expected amplitude keys, got {keys!r}")
    most = server.settings.max_circuits if server.settings is not None else 100
    if len(keys) > most:
        raise InvalidRequest(
            "Configuration.Amplitude",
            f"{len(keys)} amplitudes is over the limit of {most} per task (one circuit each, "
            "OPENQPU_MAX_CIRCUITS): split them over several tasks",
        )
    circuit = _decoded(programs, FULL_AMPLITUDE_DEVICE, server)[0]
    sources, observables = qcloud_tasks.amplitude_circuits(
        circuit, keys, single=machine == SINGLE_AMPLITUDE
    )
    return _create(
        FULL_AMPLITUDE_DEVICE,
        sources,
        "qasm2",
        1,
        kind="estimate",
        observables=observables,
        name=name,
    )


def _tomography(
    programs: list[str], device: str, config: Mapping[str, Any], name: str | None, server: Server
) -> JobCreate:
    if len(programs) != 1:
        raise InvalidRequest("QProg", "state tomography takes one program")
    if config.get("specified_block"):
        raise InvalidRequest(
            "Configuration.specified_block", "state tomography does not take a qubit block"
        )
    circuit = _decoded(programs, device, server)[0]
    source, observables = qcloud_tasks.tomography_job(circuit, server.max_observables)
    options = _chip_options(config, server.devices[device].is_chip)
    return _create(
        device, [source], "qasm2", _shots(config), kind="estimate", observables=observables,
        name=name, **options,
    )  # fmt: skip


def _noisy(
    programs: list[str], config: Mapping[str, Any], name: str | None, server: Server
) -> JobCreate:
    model = config.get("noisemodel") or {}
    if not isinstance(model, dict):
        raise InvalidRequest("Configuration.noisemodel", "expected {single_gate, double_gate}")
    single = qcloud_noise.channel(model.get("single_gate"), "Configuration.noisemodel.single_gate")
    double = qcloud_noise.channel(model.get("double_gate"), "Configuration.noisemodel.double_gate")
    shots = _shots(config)
    if single is None and double is None:
        return _create(FULL_AMPLITUDE_DEVICE, programs, "originir", shots, name=name)
    sources = []
    for index, circuit in enumerate(_decoded(programs, FULL_AMPLITUDE_DEVICE, server)):
        noisy = qcloud_noise.with_noise(circuit, single, double)
        _check_noisy_cost(noisy, shots, index, server)
        sources.append(qcloud_tasks.with_note(noisy, {"task": "noise"}))
    return _create(FULL_AMPLITUDE_DEVICE, sources, "qasm2", shots, name=name)


def _check_noisy_cost(circuit: QuantumCircuit, shots: int, index: int, server: Server) -> None:
    """Refuse a noisy run whose trajectories would take longer than ``max_run_seconds``."""
    if server.settings is None:
        return
    from openqpu.sim.methods import trajectories

    seconds = trajectories.cost(circuit, None, shots).seconds
    limit = server.settings.max_run_seconds
    if seconds > limit:
        raise InvalidRequest(
            f"circuits[{index}]",
            f"with the noise model this program runs as {shots:,} noisy trajectories on "
            f"{circuit.num_qubits} qubits (noise ancillas included), estimated at "
            f"{seconds:,.0f} s, over the run-time limit of {limit:g} s (max_run_seconds): "
            "use fewer shots or a smaller program",
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


def task_state(job: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    """``taskDetail.json``'s ``obj`` for a task without results (yet): its state."""
    status = JobStatus(job["status"])
    detail: dict[str, Any] = {"taskId": job["id"], "taskState": TASK_STATE[status]}
    if status is JobStatus.CANCELLED:
        detail["errInfo"] = f"the task was cancelled{_suffix(job['error'])}"
    elif status is JobStatus.FAILED:
        detail["errInfo"] = job["error"] or "the task failed"
    return detail


def task_detail(
    job: Mapping[str, Any] | RowMapping,
    result: Mapping[str, Any] | None,
    payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``taskDetail.json``'s ``obj``: the task's state and, when finished, its results.

    Args:
        job: the job's row (``id``, ``status``, ``error``, times).
        result: the job's result document when it is done, else None.
        payload: what the job was asked to run (its circuits, format and kind), for
            the results that depend on the task (estimate jobs, chip mappings).
    """
    detail = task_state(job)
    if result is None:
        return detail
    detail.update(qcloud_results.results(dict(job), result, payload or {}))
    return detail


def _suffix(error: str | None) -> str:
    return f": {error}" if error else ""
