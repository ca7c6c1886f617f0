"""openqpu result documents as the fields of pyqpanda3's ``QCloudResult``.

Counts and probabilities are keyed in hexadecimal with ``measureQubitSize`` the bits
of each program, as the reference cloud sends them; the SDK gives binary keys by
default and these with ``DataBase.Hex``. Chip runs add what the SDK's accessors
read: ``mappingQubit`` (``{SrcQubits:[...],TargetCbits:[...],MappingQubits:[...]}``
per program, the reference's spelling), ``mappingQprog`` (the compiled program as
OriginIR on chip qubits), ``measureQubits`` (the chip qubit each classical bit is
read from), ``srcQubits`` and ``targetCbits`` (the program's measurements). Estimate
jobs built for a task (:mod:`~openqpu.service.protocols.qcloud_tasks`) answer with
that task's fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from qiskit import QuantumCircuit, qasm3

from openqpu.formats import originir
from openqpu.service.circuits import decode_circuit
from openqpu.service.clock import aware
from openqpu.service.lru import LruCache
from openqpu.service.protocols import qcloud_tasks

# A finished task's fields do not change: the last ones made are kept.
_DONE: LruCache[str, dict[str, Any]] = LruCache(64)


def results(
    job: Mapping[str, Any], result: Mapping[str, Any], payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The result fields of a finished task (see the module docstring)."""
    cached = _DONE.get(str(job["id"]))
    if cached is not None:
        return cached
    fields = _timing(job, result)
    entries = result["results"]
    circuits = list(payload.get("circuits") or [])
    notes = [qcloud_tasks.note_of(source) for source in circuits]
    first = notes[0] if notes else None
    task = first.get("task") if first else None
    if result.get("kind") == "estimate" and task in ("probabilities", "amplitudes", "tomography"):
        fields.update(_estimate_fields(task, entries, notes))
    else:
        fields.update(_sample_fields(entries))
        if any("compiled" in entry for entry in entries):
            fields.update(_chip_fields(entries, circuits, notes, payload.get("format", "auto")))
    _DONE.put(str(job["id"]), fields)
    return fields


def _hex_pairs(values: Mapping[str, float]) -> str:
    ordered = sorted(values, key=lambda key: int(key, 2) if key else 0)
    keys = [hex(int(key, 2)) if key else "0x0" for key in ordered]
    return json.dumps({"key": keys, "value": [values[key] for key in ordered]})


def _probabilities(entry: Mapping[str, Any]) -> dict[str, float]:
    """Mitigated probabilities when the job asked for them, else the measured frequencies."""
    mitigated = entry.get("mitigated_probabilities")
    if mitigated is not None:
        return dict(mitigated)
    counts = entry["counts"]
    total = sum(counts.values()) or 1
    return {key: value / total for key, value in counts.items()}


def _sample_fields(entries: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "taskResult": [_hex_pairs(_probabilities(entry)) for entry in entries],
        "probCount": [_hex_pairs(entry["counts"]) for entry in entries],
        "measureQubitSize": [len(next(iter(entry["counts"]), "")) for entry in entries],
    }


def _estimate_fields(
    task: str, entries: list[Mapping[str, Any]], notes: list[dict[str, Any] | None]
) -> dict[str, Any]:
    if task == "probabilities":
        qubits = notes[0]["qubits"] if notes[0] else []
        probabilities = qcloud_tasks.probabilities_from(
            entries[0]["expectation_values"], len(qubits)
        )
        pairs = json.dumps({"key": list(probabilities), "value": list(probabilities.values())})
        return {"taskResult": [pairs], "measureQubitSize": [len(qubits)]}
    if task == "amplitudes":
        keys = [note["key"] if note else str(i) for i, note in enumerate(notes)]
        values = [entry["expectation_values"] for entry in entries]
        document = {
            "ResultType": 3 if len(keys) == 1 and notes[0] and notes[0].get("single") else 2,
            "key": keys,
            "ValueReal": [v[0] for v in values],
            "ValueImag": [v[1] for v in values],
        }
        return {"taskResult": [json.dumps(document)]}
    note = notes[0] or {}
    density, fidelity = qcloud_tasks.tomography_result(entries[0]["expectation_values"], note)
    return {"qstTaskResult": density, "qstFidelity": fidelity}


def _chip_fields(
    entries: list[Mapping[str, Any]],
    circuits: list[str],
    notes: list[dict[str, Any] | None],
    fmt: str,
) -> dict[str, Any]:
    mapping_qubit, mapping_prog, measure_qubits, src_qubits, target_cbits = [], [], [], [], []
    for index, entry in enumerate(entries):
        compiled = entry.get("compiled") or {}
        physical = qasm3.loads(compiled["qasm3"]) if compiled.get("qasm3") else None
        note = notes[index] if index < len(notes) else None
        if note and note.get("task") == "block":
            layout = list(note["mapping"])
            sources, cbits = note["measured"]
        else:
            layout = list(compiled.get("initial_layout") or [])
            sources, cbits = [], []
            if index < len(circuits):
                program = decode_circuit(circuits[index], fmt, f"circuits[{index}]")
                sources, cbits = measurements(program)
        used = [q for q in range(len(layout)) if layout[q] >= 0]
        mapping_qubit.append(
            "{SrcQubits:" + _ints(used) + ",TargetCbits:" + _ints(cbits)
            + ",MappingQubits:" + _ints([layout[q] for q in used]) + "}"
        )  # fmt: skip
        src_qubits.append(_ints(sources))
        target_cbits.append(_ints(cbits))
        if physical is not None:
            mapping_prog.append(_originir(physical))
            measure_qubits.append(_ints(_read_from(physical)))
    fields: dict[str, Any] = {
        "mappingQubit": mapping_qubit,
        "srcQubits": src_qubits,
        "targetCbits": target_cbits,
    }
    if mapping_prog:
        fields["mappingQprog"] = mapping_prog
        fields["measureQubits"] = measure_qubits
    return fields


def _ints(values: list[int]) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def measurements(circuit: QuantumCircuit) -> tuple[list[int], list[int]]:
    """The program's measured qubits and the classical bits they go to, in order."""
    sources, cbits = [], []
    for inst in circuit.data:
        if inst.operation.name == "measure":
            sources.append(circuit.find_bit(inst.qubits[0]).index)
            cbits.append(circuit.find_bit(inst.clbits[0]).index)
    return sources, cbits


def _read_from(physical: QuantumCircuit) -> list[int]:
    """Per classical bit, the chip qubit it is last measured from (-1: never)."""
    read = [-1] * physical.num_clbits
    for inst in physical.data:
        if inst.operation.name == "measure":
            read[physical.find_bit(inst.clbits[0]).index] = physical.find_bit(inst.qubits[0]).index
    return read


def _originir(physical: QuantumCircuit) -> str:
    """The compiled circuit as OriginIR on chip qubits (``QINIT`` the highest used + 1)."""
    kept = physical.copy_empty_like()
    for inst in physical.data:
        if inst.operation.name != "delay":
            kept.append(inst)
    return originir.dumps(kept)


def _timing(job: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """``startTime`` (ms since the epoch), ``totalTime`` and ``qpuRunTime`` (ms)."""
    fields: dict[str, Any] = {}
    created, started, finished = (job.get(k) for k in ("created_at", "started_at", "finished_at"))
    if isinstance(started, datetime):
        fields["startTime"] = int(aware(started).timestamp() * 1000)
    if isinstance(created, datetime) and isinstance(finished, datetime):
        fields["totalTime"] = int((aware(finished) - aware(created)).total_seconds() * 1000)
    seconds = result.get("execution_seconds")
    if isinstance(seconds, int | float):
        fields["qpuRunTime"] = int(seconds * 1000)
    return fields
