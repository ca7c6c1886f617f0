"""Compiling circuits for lattice72: native gates, working qubits, same ideal output."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

import openqpu.sim
from openqpu.device import CalibrationSnapshot, DeviceSpec, generate_snapshot, load_device_specs
from openqpu.errors import DoesNotFit
from openqpu.transpile import TranspiledCircuit, noise_model_for, transpile_for_device

T0 = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
_ALLOWED = {"rz", "sx", "x", "cz", "measure", "reset", "delay", "barrier"}


@pytest.fixture(scope="module")
def spec() -> DeviceSpec:
    return load_device_specs()["lattice72"]


@pytest.fixture(scope="module")
def snapshot(spec: DeviceSpec) -> CalibrationSnapshot:
    return generate_snapshot(spec, seed=11, taken_at=T0)


def _ghz(width: int) -> QuantumCircuit:
    circuit = QuantumCircuit(width, width)
    circuit.h(0)
    for q in range(width - 1):
        circuit.cx(q, q + 1)
    circuit.measure(range(width), range(width))
    return circuit


def _mixed() -> QuantumCircuit:
    # Non-Clifford, uneven distribution, measured into a permuted classical order.
    circuit = QuantumCircuit(3, 3)
    circuit.ry(0.7, 0)
    circuit.h(1)
    circuit.cx(0, 2)
    circuit.t(2)
    circuit.crx(1.1, 1, 2)
    circuit.measure([0, 1, 2], [2, 0, 1])
    return circuit


def _distribution(circuit: QuantumCircuit, state: np.ndarray) -> dict[str, float]:
    """Probabilities of the classical bits under terminal measurements."""
    measured = {
        circuit.find_bit(inst.clbits[0]).index: circuit.find_bit(inst.qubits[0]).index
        for inst in circuit.data
        if inst.name == "measure"
    }
    qargs = [measured[c] for c in range(circuit.num_clbits)]
    probabilities = Statevector(state).probabilities_dict(qargs)
    return {key: p for key, p in probabilities.items() if p > 1e-12}


@pytest.mark.parametrize("circuit", [_ghz(2), _ghz(5), _mixed()], ids=["bell", "ghz5", "mixed"])
def test_transpile_keeps_the_ideal_distribution(
    circuit: QuantumCircuit, spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    compiled = transpile_for_device(circuit, spec, snapshot, seed=3)
    expected = _distribution(circuit, Statevector(circuit.remove_final_measurements(False)).data)
    # openqpu.sim ignores delays and terminal measurements; qiskit.quantum_info
    # gives the reference. 1e-9: float round-off of a few dozen gates.
    got = _distribution(compiled.circuit, openqpu.sim.statevector(compiled.circuit))
    assert got.keys() == expected.keys()
    for key, probability in expected.items():
        assert got[key] == pytest.approx(probability, abs=1e-9)
    assert compiled.circuit.num_clbits == circuit.num_clbits


@pytest.mark.parametrize("width", [2, 5])
def test_transpile_uses_native_gates_on_working_hardware(
    width: int, spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    compiled = transpile_for_device(_ghz(width), spec, snapshot, seed=3)
    circuit = compiled.circuit
    assert set(circuit.count_ops()) <= _ALLOWED
    assert compiled.num_qubits == width == circuit.num_qubits
    working = set(snapshot.working_qubits())
    couplers = {snapshot.couplers[i] for i in snapshot.working_couplers()}
    assert set(compiled.physical_qubits) <= working
    assert set(compiled.initial_layout) <= working and len(compiled.initial_layout) == width
    cz_count = 0
    for inst in circuit.data:
        if inst.name == "cz":
            a, b = (compiled.physical_qubits[circuit.find_bit(q).index] for q in inst.qubits)
            assert (min(a, b), max(a, b)) in couplers
            cz_count += 1
    assert cz_count == compiled.num_two_qubit_gates == width - 1
    assert compiled.calibration_id == snapshot.id
    assert "delay[" in compiled.qasm3 and "dt]" in compiled.qasm3
    assert f"${compiled.physical_qubits[0]}" in compiled.qasm3
    assert compiled.duration_ns >= spec.durations.measure_ns


def test_transpile_success_probability_drops_with_depth(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    bell = transpile_for_device(_ghz(2), spec, snapshot)
    ghz = transpile_for_device(_ghz(5), spec, snapshot)
    assert 0 < ghz.estimated_success_probability < bell.estimated_success_probability < 1
    assert ghz.depth > bell.depth


def test_transpile_is_deterministic_for_a_seed(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    first = transpile_for_device(_mixed(), spec, snapshot, seed=5)
    assert first == transpile_for_device(_mixed(), spec, snapshot, seed=5)


def test_transpile_refuses_circuits_wider_than_the_working_block(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    cut = dataclasses.replace(snapshot, disabled_qubits=tuple(range(12, 18)))
    message = (
        "the circuit needs 55 qubits but lattice72's largest connected block "
        "of working qubits has 54"
    )
    with pytest.raises(DoesNotFit, match=message):
        transpile_for_device(_ghz(55), spec, cut)


def test_transpile_avoids_a_cut_off_region(spec: DeviceSpec, snapshot: CalibrationSnapshot) -> None:
    cut = dataclasses.replace(snapshot, disabled_qubits=tuple(range(12, 18)))
    compiled = transpile_for_device(_ghz(20), spec, cut, optimization_level=1)
    assert set(compiled.physical_qubits) <= set(range(18, 72))


def test_noise_model_covers_every_gate_and_measurement(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    compiled: TranspiledCircuit = transpile_for_device(_ghz(5), spec, snapshot)
    model = noise_model_for(compiled, spec, snapshot)
    circuit = compiled.circuit
    assert model.dt_ns == spec.dt_ns
    for inst in circuit.data:
        qubits = tuple(circuit.find_bit(q).index for q in inst.qubits)
        if inst.name in ("sx", "x", "cz"):
            assert model.after_gate(inst.name, qubits), (inst.name, qubits)
        elif inst.name == "measure":
            assert qubits[0] in model.readout
        elif inst.name == "delay":
            assert qubits[0] in model.relaxation
            assert model.idle(qubits[0], inst.operation.duration, inst.operation.unit) is not None
    other = generate_snapshot(spec, seed=12, taken_at=T0)
    with pytest.raises(ValueError, match="which the circuit was transpiled against"):
        noise_model_for(compiled, spec, other)


def test_transpile_dynamic_circuit_is_compiled_unscheduled(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(1)
    circuit.measure(1, 1)
    compiled = transpile_for_device(circuit, spec, snapshot)
    assert compiled.duration_ns is None
    assert "if_else" in compiled.circuit.count_ops()
    assert openqpu.sim.sample(compiled.circuit, 200, seed=1).keys() == {"00", "11"}


def test_transpile_drops_idle_qubits_from_barriers(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    circuit = QuantumCircuit(4)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.barrier()
    compiled = transpile_for_device(circuit, spec, snapshot)
    assert compiled.num_qubits == 2
    assert len(compiled.initial_layout) == 4
    assert compiled.circuit.count_ops()["barrier"] == 1


def test_a_circuit_transpiled_for_the_chip_keeps_its_layout(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    from qiskit import transpile

    from openqpu.device import build_target

    isa = transpile(_ghz(4), target=build_target(spec, snapshot), seed_transpiler=3)
    assert isa.num_qubits == 72
    placed = isa.layout.final_index_layout()
    compiled = transpile_for_device(isa, spec, snapshot)
    assert set(compiled.physical_qubits) == set(placed)
    ideal = openqpu.sim.sample(_ghz(4), 2000, seed=1)
    assert set(openqpu.sim.sample(compiled.circuit, 2000, seed=1)) == set(ideal)


def test_a_transpiled_circuit_on_a_now_disabled_qubit_is_laid_out_again(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    bad = snapshot.disabled_qubits[0]
    neighbour = next(b if a == bad else a for a, b in snapshot.couplers if bad in (a, b))
    circuit = QuantumCircuit(72, 2)
    circuit.h(bad)
    circuit.cz(bad, neighbour)
    circuit.measure([bad, neighbour], [0, 1])
    compiled = transpile_for_device(circuit, spec, snapshot)
    assert bad not in compiled.physical_qubits
    assert len(compiled.initial_layout) == 2
