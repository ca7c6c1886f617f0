"""Running a job on an emulated chip: compile for the calibration in force, choose the
simulation method (density matrix, stabilizer, MPS or statevector trajectories), then
simulate with the noise that calibration describes.

Transpiled circuits (and, for statevector trajectories, their lowered programs) are
cached by source, calibration and optimisation level, so the parameter sets of a
variational loop compile once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from openqpu import sim
from openqpu.device import CalibrationSnapshot, DeviceSpec
from openqpu.service.circuits import decode_circuit, decode_observable
from openqpu.service.lru import LruCache
from openqpu.service.run import transpile_cache
from openqpu.service.run.fanout import Fanout, Gathered, LocalFanout, chunk_seed, shot_chunks
from openqpu.service.run.mitigated import BasisRun, MitigatedEstimate, combine
from openqpu.service.run.mitigation import (
    MAX_MITIGATED_BITS,
    mitigate_readout,
    nearest_probabilities,
    subspace_quasi_probabilities,
)
from openqpu.service.run.resilience import Resilience, resolve
from openqpu.service.run.runner import circuit_seed
from openqpu.service.run.scheduling import durations_for
from openqpu.service.settings import Settings
from openqpu.service.store.bootstrap import data_directory
from openqpu.sim.methods import stabilizer, trajectories
from openqpu.sim.methods.base import STATEVECTOR, MethodRun
from openqpu.sim.methods.choose import Choice, MethodSettings, choose, run_method
from openqpu.sim.noise import NoiseModel
from openqpu.transpile import TranspiledCircuit, noise_model_for, transpile_for_device

COMPILED_CACHE_SIZE = 64
# Circuits wider than this compile at level 1 unless the job asks otherwise.
WIDE_CIRCUIT_QUBITS = 24
# The transpiler's own seed: fixed, so that a circuit compiles the same way for
# every job (and the transpiled form can be reused) until the calibration changes.
TRANSPILER_SEED = 0


@dataclass(frozen=True)
class ChipRun:
    """What a job on a chip runs against: the chip, the snapshot in force and the
    settings of the simulation methods."""

    spec: DeviceSpec
    snapshot: CalibrationSnapshot
    methods: MethodSettings = field(default_factory=MethodSettings)
    transpile_cache: Path | None = None  # shared on-disk cache (``transpile_cache``)


def transpile_cache_folder(settings: Settings) -> Path:
    """Where the server's processes share transpiled circuits: ``<data dir>/transpiled``."""
    return data_directory(settings) / "transpiled"


def method_settings(settings: Settings) -> MethodSettings:
    """The simulation methods' settings from the server's."""
    return MethodSettings(
        density_max_qubits=settings.density_max_qubits,
        mps_max_bond=settings.mps_max_bond,
        mps_truncation_threshold=settings.mps_truncation_threshold,
    )


class _Prepared:
    """A circuit transpiled for the chip with its noise model; the statevector program
    is lowered on first use (wide circuits never need it)."""

    def __init__(
        self, circuit: QuantumCircuit, transpiled: TranspiledCircuit, noise: NoiseModel, level: int
    ) -> None:
        self.circuit = circuit
        self.transpiled = transpiled
        self.noise = noise
        self.level = level
        self._program: sim.Program | None = None

    @property
    def program(self) -> sim.Program:
        """The transpiled circuit lowered for statevector trajectories."""
        if self._program is None:
            self._program = sim.lower(self.transpiled.circuit, noise=self.noise)
        return self._program

    def bound(self, values: list[float] | None) -> tuple[QuantumCircuit, dict | None]:
        """The transpiled circuit with the user's parameter ``values`` assigned, and the
        mapping (transpiled circuit's parameters -> value); no mapping without values."""
        if not values:
            return self.transpiled.circuit, None
        given = dict(zip(self.circuit.parameters, values, strict=True))
        mapping = {p: given[p] for p in self.transpiled.circuit.parameters}
        return self.transpiled.circuit.assign_parameters(mapping), mapping


_prepared: LruCache[tuple[str, str, str, str, int | None], _Prepared] = LruCache(
    COMPILED_CACHE_SIZE
)
_decoded: LruCache[tuple[str, str], QuantumCircuit] = LruCache(COMPILED_CACHE_SIZE)


def _decode(source: str, fmt: str, field: str) -> QuantumCircuit:
    return _decoded.get_or_make((fmt, source), lambda: decode_circuit(source, fmt, field))


def default_level(circuit: QuantumCircuit) -> int:
    """The optimisation level a chip job gets when it names none.

    Level 2 in general; level 1 for Clifford circuits (level 2 resynthesises two-qubit
    blocks into non-Clifford angles, which would keep them off the stabilizer method)
    and for circuits wider than ``WIDE_CIRCUIT_QUBITS`` (there level 2's layout and
    resynthesis take seconds and gain little).
    """
    if circuit.num_qubits > WIDE_CIRCUIT_QUBITS or stabilizer.why_not(circuit, None) is None:
        return 1
    return 2


def _prepare(
    source: str, fmt: str, field: str, chip: ChipRun, level: int | None, basis: str = ""
) -> _Prepared:
    """The circuit transpiled for the chip at ``level`` (None: ``default_level``); with
    ``basis`` (one of I, X, Y, Z per qubit, qubit 0 last) its final measurements are
    replaced by measurements in that basis."""

    def make() -> _Prepared:
        circuit = _decode(source, fmt, field)
        used = default_level(circuit) if level is None else level
        if basis:
            circuit = measured_in_basis(circuit, basis)
        transpiled = transpile_for_device(
            circuit, chip.spec, chip.snapshot, optimization_level=used, seed=TRANSPILER_SEED
        )
        noise = noise_model_for(transpiled, chip.spec, chip.snapshot)
        return _Prepared(circuit, transpiled, noise, used)

    key = (fmt, source, basis, chip.snapshot.id, level)
    folder = chip.transpile_cache
    if folder is None:
        return _prepared.get_or_make(key, make)
    return _prepared.get_or_make(key, lambda: transpile_cache.get_or_make(folder, key, make))


def measured_in_basis(circuit: QuantumCircuit, basis: str) -> QuantumCircuit:
    """``circuit`` without its final measurements, then measured in ``basis``.

    ``basis`` has one letter per qubit, Qiskit's order (the last letter is qubit 0):
    X and Y qubits are rotated onto Z first; I qubits are not measured. Classical
    bit j holds the j-th measured qubit, in ascending order; the classical bits the
    circuit keeps (mid-circuit results, or bits declared and never measured) follow.
    """
    kept = circuit.remove_final_measurements(inplace=False)
    letters = basis[::-1]
    measured = [q for q, letter in enumerate(letters) if letter != "I"]
    register = ClassicalRegister(len(measured), "basis")
    out = QuantumCircuit(register, name=kept.name, global_phase=kept.global_phase)
    for qreg in kept.qregs:
        out.add_register(qreg)
    out.add_bits([q for q in kept.qubits if q not in set(out.qubits)])
    for creg in kept.cregs:
        out.add_register(creg)
    out.add_bits([c for c in kept.clbits if c not in set(out.clbits)])
    out.compose(kept, qubits=kept.qubits, clbits=kept.clbits, inplace=True)
    for bit, q in enumerate(measured):
        if letters[q] == "Y":
            out.sdg(q)
        if letters[q] in "XY":
            out.h(q)
        out.measure(q, register[bit])
    return out


def readout_errors(
    transpiled: TranspiledCircuit, snapshot: CalibrationSnapshot
) -> list[tuple[int, float, float]]:
    """``(clbit, P(1|0), P(0|1))`` of the chip qubit each classical bit is last measured on."""
    measured: dict[int, int] = {}
    circuit = transpiled.circuit
    for item in circuit.data:
        if item.operation.name == "measure":
            qubit = transpiled.physical_qubits[circuit.find_bit(item.qubits[0]).index]
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
    the transpiled circuit (OpenQASM 3 on chip qubits), the initial layout, the
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
    prepared, outcome = _run_prepared(payload, index, seed, shots, chip)
    transpiled = prepared.transpiled
    entry: dict[str, Any] = {
        "counts": outcome.counts,
        "shots": shots,
        "num_qubits": prepared.circuit.num_qubits,
        "compiled": {
            "qasm3": transpiled.qasm3,
            "initial_layout": list(transpiled.initial_layout),
            "physical_qubits": list(transpiled.physical_qubits),
            "num_two_qubit_gates": transpiled.num_two_qubit_gates,
            "depth": transpiled.depth,
            "duration_ns": transpiled.duration_ns,
            "optimization_level": prepared.level,
        },
        "estimated_success_probability": transpiled.estimated_success_probability,
        **method_fields(outcome),
    }
    if payload.get("mitigation") == "readout":
        entry["readout_errors"] = readout_errors(transpiled, chip.snapshot)
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
        merge_method_fields(entry, part)
    for entry in entries:
        errors = entry.pop("readout_errors", None)
        if errors is not None and len(errors) > MAX_MITIGATED_BITS:
            quasi = subspace_quasi_probabilities(entry["counts"], errors)
            entry["mitigated_quasi_probabilities"] = quasi
            entry["mitigated_probabilities"] = nearest_probabilities(quasi)
        elif errors is not None:
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
) -> tuple[_Prepared, MethodRun]:
    """``shots`` shots of circuit ``index`` (measured in ``basis`` if given) with the
    method chosen for the whole circuit's shots (so every chunk uses the same one)."""
    prepared, choice, values = plan(payload, index, chip, basis, estimate=False)
    if choice.method == STATEVECTOR:
        outcome = trajectories.run(prepared.program, shots, seed=seed, parameter_values=values)
    else:
        circuit, _ = prepared.bound(_values_of(payload, index))
        outcome = run_method(
            choice.method, circuit, prepared.noise, shots, seed=seed, settings=chip.methods
        )
    return prepared, outcome


def _values_of(payload: dict[str, Any], index: int) -> list[float] | None:
    values = payload.get("parameter_values")
    return values[index] if values else None


def plan(
    payload: dict[str, Any], index: int, chip: ChipRun, basis: str = "", *, estimate: bool = True
) -> tuple[_Prepared, Choice, dict | None]:
    """Compile circuit ``index`` (cached) and choose its method for the job's shots;
    without ``estimate``, a method admission planned (or the job forced) is only
    checked, not estimated again.

    Returns:
        The prepared circuit, the method choice (raises ``MethodUnsupported`` when the
        job's ``method`` cannot run it) and the parameter mapping for the program.
    """
    level = payload.get("optimization_level")
    source, fmt = payload["circuits"][index], payload.get("format", "auto")
    prepared = _prepare(source, fmt, f"circuits[{index}]", chip, level, basis)
    circuit, mapping = prepared.bound(_values_of(payload, index))
    choice = choose(
        circuit,
        prepared.noise,
        int(payload["shots"]),
        method=_method_for(payload, index, chip, basis),
        settings=chip.methods,
        estimate=estimate,
    )
    return prepared, choice, mapping


def _method_for(payload: dict[str, Any], index: int, chip: ChipRun, basis: str) -> str:
    """The job's ``method``; for ``auto``, the one admission planned for this circuit when
    the calibration it planned against is still in force (and the circuit is measured as
    given), so the worker does not estimate every method again."""
    method = payload.get("method") or "auto"
    planned = payload.get("planned")
    if method != "auto" or not planned or basis:
        return str(method)
    if planned.get("calibration_id") != chip.snapshot.id:
        return "auto"
    return str(planned["methods"][index])


def method_fields(outcome: MethodRun) -> dict[str, Any]:
    """What a result entry says about how its counts were obtained."""
    return {
        "method": outcome.method,
        "approximations": list(outcome.approximations),
        "method_figures": dict(outcome.figures),
    }


def merge_method_fields(entry: dict[str, Any], part: dict[str, Any]) -> None:
    """Fold a later shot chunk's method fields into ``entry``: sentences once each, the
    largest bond dimension, the smallest fidelity, other figures from the first chunk."""
    for sentence in part.get("approximations", []):
        if sentence not in entry["approximations"]:
            entry["approximations"].append(sentence)
    figures = entry["method_figures"]
    for name, value in part.get("method_figures", {}).items():
        if name not in figures:
            figures[name] = value
        elif name.startswith("max_"):
            figures[name] = max(figures[name], value)
        elif name.endswith("fidelity"):
            figures[name] = min(figures[name], value)


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
    resilience = resolve(payload.get("options"))
    if resilience.active:
        return _mitigated_entry(payload, index, seed, chip, observables, groups, resilience)
    how: dict[str, Any] | None = None
    for number, group in enumerate(groups):
        group_labels = group.paulis.to_labels()
        basis = _basis_of(group_labels, num_qubits)
        prepared, outcome = _run_prepared(
            payload, index, seed + number, payload["shots"], chip, basis
        )
        counts = outcome.counts
        fields = method_fields(outcome)
        if how is None:
            how = fields
        else:
            merge_method_fields(how, fields)
        mitigated = None
        if payload.get("mitigation") == "readout":
            errors = readout_errors(prepared.transpiled, chip.snapshot)
            mitigated = mitigate_readout(counts, errors)
        total = sum(counts.values())
        probs = mitigated or {key: count / total for key, count in counts.items()}
        for label, mask in parity_masks(basis, group_labels).items():
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
        **(how or {}),
    }


def _basis_of(group_labels: list[str], num_qubits: int) -> str:
    """The measurement basis of qubit-wise commuting labels (I where none acts)."""
    return "".join(
        next((label[i] for label in group_labels if label[i] != "I"), "I")
        for i in range(num_qubits)
    )


def parity_masks(basis: str, labels: list[str]) -> dict[str, int]:
    """Per label, the classical bits (of a circuit ``measured_in_basis(basis)``) whose
    parity is the label's value: bit j holds the j-th non-I qubit of the basis."""
    position = {q: j for j, q in enumerate(i for i, c in enumerate(basis[::-1]) if c != "I")}
    return {
        label: sum(1 << position[q] for q, c in enumerate(label[::-1]) if c != "I")
        for label in labels
    }


def _mitigated_entry(
    payload: dict[str, Any],
    index: int,
    seed: int,
    chip: ChipRun,
    observables: list[SparsePauliOp],
    groups: list[SparsePauliOp],
    resilience: Resilience,
) -> dict[str, Any]:
    """An estimate entry run with ``resilience`` (``openqpu.service.run.mitigated``):
    values with standard errors, and what each technique did in ``resilience``."""
    num_qubits = observables[0].num_qubits
    shots = int(payload["shots"])
    estimate = MitigatedEstimate(resilience, shots, seed)
    how: dict[str, Any] = {}
    values: list[dict[str, float]] = [{} for _ in estimate.factors]
    stds: list[dict[str, float]] = [{} for _ in estimate.factors]
    for number, group in enumerate(groups):
        group_labels = group.paulis.to_labels()
        basis = _basis_of(group_labels, num_qubits)
        prepared, choice, _ = plan(payload, index, chip, basis)
        circuit, _ = prepared.bound(_values_of(payload, index))

        def run(
            circuit: QuantumCircuit,
            shots: int,
            seed: int,
            noise: NoiseModel = prepared.noise,
            method: str = choice.method,
        ) -> dict[str, int]:
            outcome = run_method(method, circuit, noise, shots, seed=seed, settings=chip.methods)
            if how:
                merge_method_fields(how, method_fields(outcome))
            else:
                how.update(method_fields(outcome))
            return outcome.counts

        durations = durations_for(chip.spec, chip.snapshot, prepared.transpiled.physical_qubits)
        run_basis = BasisRun(circuit, parity_masks(basis, group_labels), durations, run)
        for f, (here, spread) in enumerate(
            zip(*estimate.basis_values(number, run_basis), strict=True)
        ):
            values[f].update(here)
            stds[f].update(spread)
    extrapolators = resilience.extrapolators if resilience.zne_mitigation else None
    evs, errors, zne_metadata = combine(observables, estimate.applied, values, stds, extrapolators)
    if zne_metadata is not None:
        zne_metadata["noise_factors"] = estimate.factors
        zne_metadata["noise_factors_applied"] = estimate.applied
    randomizations = resilience.randomizations(shots)
    metadata: dict[str, Any] = {
        "options": resilience.as_metadata(),
        "num_randomizations": len(randomizations),
        "circuits_run": estimate.circuits_run,
        "shots_per_randomization": max(randomizations),
        "measure_mitigation": (
            {"calibration_shots": estimate.calibration_shots}
            if resilience.measure_mitigation
            else None
        ),
        "zne": zne_metadata,
    }
    return {
        "expectation_values": evs,
        "standard_errors": errors,
        "shots": shots,
        "num_qubits": num_qubits,
        "measurement_bases": len(groups),
        "resilience": metadata,
        **how,
    }
