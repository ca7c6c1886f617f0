"""Running a job on an emulated chip: compile for the calibration in force, then
simulate with the noise that calibration describes.

Compiled circuits and their noisy programs are cached by source, calibration and
optimisation level, so the parameter sets of a variational loop compile once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from openqpu import sim
from openqpu.compile import CompiledCircuit, compile_for_device, noise_model_for
from openqpu.device import CalibrationSnapshot, DeviceSpec
from openqpu.service.circuits import decode_circuit, decode_observable
from openqpu.service.lru import LruCache
from openqpu.service.run.fanout import Fanout, Gathered, LocalFanout, chunk_seed, shot_chunks
from openqpu.service.run.mitigation import mitigate_readout
from openqpu.service.run.runner import circuit_seed

COMPILED_CACHE_SIZE = 64
# The transpiler's own seed: fixed, so that a circuit compiles the same way for
# every job (and the compiled form can be reused) until the calibration changes.
TRANSPILER_SEED = 0


@dataclass(frozen=True)
class ChipRun:
    """What a job on a chip runs against: the chip and the snapshot in force."""

    spec: DeviceSpec
    snapshot: CalibrationSnapshot


@dataclass(frozen=True)
class _Prepared:
    circuit: QuantumCircuit
    compiled: CompiledCircuit
    program: sim.Program


_prepared: LruCache[tuple[str, str, str, str, int], _Prepared] = LruCache(COMPILED_CACHE_SIZE)
_decoded: LruCache[tuple[str, str], QuantumCircuit] = LruCache(COMPILED_CACHE_SIZE)


def _decode(source: str, fmt: str, field: str) -> QuantumCircuit:
    return _decoded.get_or_make((fmt, source), lambda: decode_circuit(source, fmt, field))


def _prepare(
    source: str, fmt: str, field: str, chip: ChipRun, level: int, basis: str = ""
) -> _Prepared:
    """The circuit compiled for the chip; with ``basis`` (one of I, X, Y, Z per qubit,
    qubit 0 last) its final measurements are replaced by measurements in that basis."""

    def make() -> _Prepared:
        circuit = _decode(source, fmt, field)
        if basis:
            circuit = measured_in_basis(circuit, basis)
        compiled = compile_for_device(
            circuit, chip.spec, chip.snapshot, optimization_level=level, seed=TRANSPILER_SEED
        )
        noise = noise_model_for(compiled, chip.spec, chip.snapshot)
        return _Prepared(circuit, compiled, sim.compile(compiled.circuit, noise=noise))

    return _prepared.get_or_make((fmt, source, basis, chip.snapshot.id, level), make)


def measured_in_basis(circuit: QuantumCircuit, basis: str) -> QuantumCircuit:
    """``circuit`` without its final measurements, then measured in ``basis``.

    ``basis`` has one letter per qubit, Qiskit's order (the last letter is qubit 0):
    X and Y qubits are rotated onto Z first; I qubits are not measured. Classical
    bit j holds the j-th measured qubit, in ascending order.
    """
    out = circuit.remove_final_measurements(inplace=False)
    letters = basis[::-1]
    measured = [q for q, letter in enumerate(letters) if letter != "I"]
    register = ClassicalRegister(len(measured), "basis")
    out.add_register(register)
    for bit, q in enumerate(measured):
        if letters[q] == "Y":
            out.sdg(q)
        if letters[q] in "XY":
            out.h(q)
        out.measure(q, register[bit])
    return out


def readout_errors(
    compiled: CompiledCircuit, snapshot: CalibrationSnapshot
) -> list[tuple[int, float, float]]:
    """``(clbit, P(1|0), P(0|1))`` of the chip qubit each classical bit is last measured on."""
    measured: dict[int, int] = {}
    circuit = compiled.circuit
    for item in circuit.data:
        if item.operation.name == "measure":
            qubit = compiled.physical_qubits[circuit.find_bit(item.qubits[0]).index]
            measured[circuit.find_bit(item.clbits[0]).index] = qubit
    return [
        (clbit, snapshot.readout_error_0to1[q], snapshot.readout_error_1to0[q])
        for clbit, q in sorted(measured.items())
    ]


def run_on_chip(
    payload: dict[str, Any], seed: int, chip: ChipRun, fanout: Fanout | None = None
) -> dict[str, Any]:
    """Execute a validated job on a chip and return its result document.

    A sample job's entries add to the counts what the chip did with each circuit:
    the compiled circuit (OpenQASM 3 on chip qubits), the initial layout, the
    number of two-qubit gates, the depth and the estimated success probability;
    with ``mitigation: "readout"`` also the corrected probabilities. An estimate
    job measures each group of qubit-wise commuting Pauli terms in its basis with
    ``shots`` shots, as on hardware, and averages the parities.

    The units of ``fanout`` (default: this process) are the circuits; when the
    fan-out sets ``chunk_shots``, a sample circuit with more shots runs as chunks of
    that many noisy trajectories, seeded by ``chunk_seed``, whose counts are added.
    """
    started = time.perf_counter()
    fanout = fanout or LocalFanout()
    num_circuits = len(payload["circuits"])
    if payload["kind"] == "sample":
        units = [
            (index, chunk_seed(circuit_seed(seed, index), chunk), shots)
            for index in range(num_circuits)
            for chunk, shots in enumerate(shot_chunks(payload["shots"], fanout.chunk_shots))
        ]
        gathered: Gathered[Any] = fanout.map(_sample_part, (payload, chip), units)
        entries = _merged_chunks(units, gathered.values)
    else:
        units = [
            (index, circuit_seed(seed, index), payload["shots"]) for index in range(num_circuits)
        ]
        gathered = fanout.map(_estimate_part, (payload, chip), units)
        entries = gathered.values
    for entry in entries:
        entry["calibration_id"] = chip.snapshot.id
        entry["seconds"] = entry.pop("seconds")  # last, as it always was
    result: dict[str, Any] = {
        "kind": payload["kind"],
        "results": entries,
        "seed": seed,
        "device": chip.spec.name,
        "calibration_id": chip.snapshot.id,
        "execution_seconds": round(time.perf_counter() - started, 6),
    }
    if (metadata := gathered.metadata()) is not None:
        result["fanout"] = metadata
    return result


# A unit of a chip job: (circuit index, seed, shots).
_Unit = tuple[int, int, int]


def _sample_part(job: tuple[dict[str, Any], ChipRun], unit: _Unit) -> dict[str, Any]:
    """The entry of one shot chunk of a sample circuit, its mitigation not yet done."""
    payload, chip = job
    index, seed, shots = unit
    started = time.perf_counter()
    prepared, counts = _run_prepared(payload, index, seed, shots, chip)
    compiled = prepared.compiled
    entry: dict[str, Any] = {
        "counts": counts,
        "shots": shots,
        "num_qubits": prepared.circuit.num_qubits,
        "compiled": {
            "qasm3": compiled.qasm3,
            "initial_layout": list(compiled.initial_layout),
            "physical_qubits": list(compiled.physical_qubits),
            "num_two_qubit_gates": compiled.num_two_qubit_gates,
            "depth": compiled.depth,
            "duration_ns": compiled.duration_ns,
            "optimization_level": int(payload.get("optimization_level", 2)),
        },
        "estimated_success_probability": compiled.estimated_success_probability,
    }
    if payload.get("mitigation") == "readout":
        entry["readout_errors"] = readout_errors(compiled, chip.snapshot)
    entry["seconds"] = time.perf_counter() - started
    return entry


def _merged_chunks(units: list[_Unit], parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per circuit: the counts of its chunks added, then mitigated."""
    entries: list[dict[str, Any]] = []
    for (index, _, _), part in zip(units, parts, strict=True):
        if index == len(entries):
            entries.append(part)
            continue
        entry = entries[index]
        for key, count in part["counts"].items():
            entry["counts"][key] = entry["counts"].get(key, 0) + count
        entry["shots"] += part["shots"]
        entry["seconds"] += part["seconds"]
    for entry in entries:
        errors = entry.pop("readout_errors", None)
        if errors is not None:
            entry["mitigated_probabilities"] = mitigate_readout(entry["counts"], errors)
        entry["seconds"] = round(entry["seconds"], 6)
    return entries


def _estimate_part(job: tuple[dict[str, Any], ChipRun], unit: _Unit) -> dict[str, Any]:
    payload, chip = job
    index, seed, _ = unit
    started = time.perf_counter()
    entry = _estimate_entry(payload, index, seed, chip)
    entry["seconds"] = round(time.perf_counter() - started, 6)
    return entry


def _run_prepared(
    payload: dict[str, Any], index: int, seed: int, shots: int, chip: ChipRun, basis: str = ""
) -> tuple[_Prepared, dict[str, int]]:
    """Counts of ``shots`` shots of circuit ``index`` (measured in ``basis`` if given)."""
    level = int(payload.get("optimization_level", 2))
    source, fmt = payload["circuits"][index], payload.get("format", "auto")
    prepared = _prepare(source, fmt, f"circuits[{index}]", chip, level, basis)
    values = payload.get("parameter_values")
    bound = None
    if values:
        given = dict(zip(prepared.circuit.parameters, values[index], strict=True))
        bound = {p: given[p] for p in prepared.program.parameters}
    counts = sim.sample(prepared.program, shots, seed=seed, parameter_values=bound)
    return prepared, counts


def _estimate_entry(
    payload: dict[str, Any], index: int, seed: int, chip: ChipRun
) -> dict[str, Any]:
    source, fmt = payload["circuits"][index], payload.get("format", "auto")
    num_qubits = _decode(source, fmt, f"circuits[{index}]").num_qubits
    observables = [
        decode_observable(spec, num_qubits, f"observables[{i}]")
        for i, spec in enumerate(payload["observables"])
    ]
    labels = sorted({label for op in observables for label in op.paulis.to_labels()})
    measured = [label for label in labels if set(label) != {"I"}]
    values = {label: 1.0 for label in labels if set(label) == {"I"}}
    groups = SparsePauliOp(measured).group_commuting(qubit_wise=True) if measured else []
    for number, group in enumerate(groups):
        group_labels = group.paulis.to_labels()
        basis = "".join(
            next((label[i] for label in group_labels if label[i] != "I"), "I")
            for i in range(num_qubits)
        )
        prepared, counts = _run_prepared(
            payload, index, seed + number, payload["shots"], chip, basis
        )
        mitigated = None
        if payload.get("mitigation") == "readout":
            errors = readout_errors(prepared.compiled, chip.snapshot)
            mitigated = mitigate_readout(counts, errors)
        total = sum(counts.values())
        probs = mitigated or {key: count / total for key, count in counts.items()}
        # Classical bit j holds the j-th non-I qubit of the basis, ascending.
        position = {q: j for j, q in enumerate(i for i, c in enumerate(basis[::-1]) if c != "I")}
        for label in group_labels:
            mask = sum(1 << position[q] for q, c in enumerate(label[::-1]) if c != "I")
            values[label] = sum(
                p * (-1 if (int(key, 2) & mask).bit_count() % 2 else 1) for key, p in probs.items()
            )
    expectation = [
        float(
            sum(
                (complex(coeff) * values[label]).real
                for label, coeff in zip(op.paulis.to_labels(), op.coeffs, strict=True)
            )
        )
        for op in observables
    ]
    return {
        "expectation_values": expectation,
        "shots": payload["shots"],
        "num_qubits": num_qubits,
        "measurement_bases": len(groups),
    }
