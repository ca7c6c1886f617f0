"""The Quafu cloud's wire format: backends, chip info and task documents from openqpu's own.

pyquafu (``quafu/users/userapi.py``, ``tasks/tasks.py``, ``results/results.py``,
``backends/backends.py``, ``exceptions/utils.py``) reads these documents; the field
names, status numbers and error codes below are the ones it reads. Nothing here
touches the database or the web layer.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qiskit import QuantumCircuit, qasm2, transpile

from openqpu.device import CalibrationSnapshot, Device
from openqpu.service.circuits import decode_circuit
from openqpu.service.lru import LruCache
from openqpu.service.store.models import JobStatus

if TYPE_CHECKING:
    from sqlalchemy import RowMapping

# ``status`` of a task; pyquafu's ExecResult names them In Queue .. Failed.
TASK_STATUS: dict[str, int] = {
    JobStatus.QUEUED.value: 0,
    JobStatus.RUNNING.value: 1,
    JobStatus.DONE.value: 2,
    JobStatus.CANCELLED.value: 3,
    JobStatus.FAILED.value: 4,
}

# ``status`` of an error document; pyquafu's validate_server_resp raises on these.
USER_ERROR = 400  # quafu.exceptions.UserError
CIRCUIT_ERROR = 5001  # CircuitError
SERVER_ERROR = 5003  # ServerError
COMPILE_ERROR = 5004  # CompileError

# Gate names (lower case, as pyquafu's Task.check_valid_gates compares them) whose
# OpenQASM 2 output from pyquafu 0.4.5 openqpu reads.
SIMULATOR_GATES = (
    "id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg", "sy", "w", "sw", "swdg",
    "rx", "ry", "rz", "p", "u3", "cx", "cnot", "cy", "cz", "cp", "cs", "ct", "crx", "cry",
    "crz", "swap", "rxx", "rzz", "ccx", "toffoli", "cswap", "fredon", "barrier",
)  # fmt: skip


def error(code: int, message: str) -> dict[str, Any]:
    """An error document: pyquafu raises the exception of ``code`` with ``message``."""
    return {"status": code, "message": message, "msg": message, "ok": False}


def system_id(name: str) -> int:
    """A device's ``system_id``: stable across restarts and processes, like its name."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def backend_info(
    device: Device, *, queued: int, in_maintenance: bool, listed_as: str | None = None
) -> dict[str, Any]:
    """One entry of ``get_backends``'s ``data``, as ``quafu.backends.Backend`` reads it.

    ``listed_as``: the name to list it under (one of its aliases); its ``system_id``
    is that name's, and a task sent to it runs on the device.
    """
    name = listed_as or device.name
    if not device.is_chip:
        gates = list(SIMULATOR_GATES)
    else:  # without compilation a chip takes its native gates only
        natives = [gate for gate in device.native_gates if gate not in ("measure", "reset")]
        gates = [*natives, "id", "barrier"]
    return {
        "system_name": name,
        "system_id": system_id(name),
        "qubits": device.num_qubits,
        "status": "Maintenance" if in_maintenance else "Online",
        "valid_gates": gates,
        "queued_len": queued,
        "QV": 0,
        "clops": 0.0,
        "priority_qubits": None,
        "description": device.description,
    }


def qubit_name(qubit: int) -> str:
    """A chip qubit as Quafu names them (pyquafu sorts names by their number)."""
    return f"Q{qubit}"


def chip_info(
    device: Device, snapshot: CalibrationSnapshot | None, *, listed_as: str | None = None
) -> dict[str, Any]:
    """``scq_get_chip_info``: working couplers with their CZ fidelity, and per-qubit data.

    pyquafu's ``Backend.get_chip_info`` reads ``topological_structure`` as
    ``{"Q0_Q1": {"cz": {"fidelity": f}}}``; the rest is its ``full_info``. An ideal
    simulator has no couplers: its structure is empty.
    """
    info: dict[str, Any] = {
        "status": 200,
        "message": "success",
        "system_name": listed_as or device.name,
        "qubits": device.num_qubits,
        "topological_structure": {},
    }
    if snapshot is None:
        return info
    structure = info["topological_structure"]
    for index in snapshot.working_couplers():
        a, b = snapshot.couplers[index]
        structure[f"{qubit_name(a)}_{qubit_name(b)}"] = {
            "cz": {
                "fidelity": round(1 - snapshot.cz_error[index], 6),
                "duration_ns": snapshot.cz_duration_ns[index],
            }
        }
    info["qubits_info"] = {
        qubit_name(q): {
            "T1_us": snapshot.t1_us[q],
            "T2_us": snapshot.t2_us[q],
            "frequency_ghz": snapshot.frequency_ghz[q],
            "readout_error_0to1": snapshot.readout_error_0to1[q],
            "readout_error_1to0": snapshot.readout_error_1to0[q],
            "fidelity_1q": round(1 - snapshot.gate_error_1q[q], 6),
        }
        for q in snapshot.working_qubits()
    }
    info["disabled_qubits"] = [qubit_name(q) for q in snapshot.disabled_qubits]
    info["calibration"] = snapshot.summary()
    return info


class Measurements:
    """Which qubit each classical bit of a circuit measures, read once per circuit text."""

    def __init__(self, circuit: QuantumCircuit) -> None:
        mapping: dict[int, int] = {}
        clbits: set[int] = set()
        for item in circuit.data:
            if item.operation.name == "measure":
                clbit = circuit.find_bit(item.clbits[0]).index
                mapping[circuit.find_bit(item.qubits[0]).index] = clbit
                clbits.add(clbit)
        self.qubit_to_clbit = mapping
        self.clbits = sorted(clbits)

    def quafu_counts(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Counts keyed as Quafu keys them: measured classical bits only, bit 0 leftmost.

        openqpu's keys (Qiskit's order) put classical bit 0 rightmost.

        >>> m = Measurements(QuantumCircuit.from_qasm_str(
        ...     'OPENQASM 2.0; include "qelib1.inc"; qreg q[3]; creg c[3];'
        ...     'measure q[0] -> c[0]; measure q[2] -> c[2];'))
        >>> m.quafu_counts({"001": 7, "100": 3})
        {'10': 7, '01': 3}
        """
        quafu: dict[str, int] = {}
        for key, count in counts.items():
            bits = key.replace(" ", "")[::-1]
            quafu_key = "".join(bits[clbit] for clbit in self.clbits)
            quafu[quafu_key] = quafu.get(quafu_key, 0) + int(count)
        return quafu


_measurements: LruCache[tuple[str, str], Measurements] = LruCache(256)


def measurements_of(source: str, fmt: str) -> Measurements:
    """The measurements of a stored circuit source (cached by its text)."""
    return _measurements.get_or_make(
        (fmt, source), lambda: Measurements(decode_circuit(source, fmt, "qtasm"))
    )


# Gates pyquafu's own OpenQASM reader knows: the circuit sent back is written in these
# (its own output may hold gates it cannot read back, such as iswap).
_QUAFU_READABLE = ["x", "y", "z", "h", "s", "sdg", "t", "tdg", "rx", "ry", "rz", "cx", "cz", "swap"]


def openqasm_of(source: str, fmt: str) -> str:
    """The circuit as OpenQASM 2 in gates pyquafu's parser reads, measurements kept."""
    try:
        circuit = decode_circuit(source, fmt, "qtasm")
        if set(circuit.count_ops()) - {*_QUAFU_READABLE, "measure", "barrier", "reset"}:
            circuit = transpile(circuit, basis_gates=_QUAFU_READABLE, optimization_level=0)
        return qasm2.dumps(circuit)
    except Exception:  # a circuit OpenQASM 2 cannot express: pyquafu gets an empty one
        return ""


def task_document(
    job: Mapping[str, Any] | RowMapping,
    source: str,
    fmt: str,
    counts: Mapping[str, int] | None,
) -> dict[str, Any]:
    """A task as ``quafu.results.ExecResult`` reads it.

    ``res`` is evaluated by the client as a Python literal, so it is always the JSON
    of a ``dict[str, int]`` built here, never text a user supplied.

    Args:
        job: the job row (``id``, ``name``, ``status``, ``error``).
        source: the circuit the job runs; sent back as ``openqasm`` with its
            qubit -> classical bit map as ``measure``.
        fmt: the circuit's format.
        counts: the job's counts in openqpu's order, when it is done.
    """
    measured = measurements_of(source, fmt)
    res = json.dumps(measured.quafu_counts(counts) if counts is not None else {})
    document: dict[str, Any] = {
        "task_id": job["id"],
        "task_name": job["name"] or "",
        "status": TASK_STATUS[job["status"]],
        "openqasm": openqasm_of(source, fmt),
        "measure": str(dict(sorted(measured.qubit_to_clbit.items()))),
        "res": res,
        "raw": res,
    }
    if job["error"]:
        document["msg"] = job["error"]
    return document
