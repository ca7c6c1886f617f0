"""Every standard gate, alone, matches qiskit.quantum_info on a random input state."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import (
    MCPhaseGate,
    MCXGate,
    UnitaryGate,
    get_standard_gate_name_mapping,
)
from qiskit.quantum_info import random_unitary

from openqpu import sim
from tests.conftest import fidelity, reference_state

NUM_QUBITS = 6
# complex128 keeps ~1e-15 per amplitude; 1e-10 leaves room for a few hundred gates.
TOLERANCE = 1e-10


def _standard_gates() -> list[Gate]:
    gates = []
    rng = np.random.default_rng(7)
    for name, gate in sorted(get_standard_gate_name_mapping().items()):
        if name in {"measure", "reset", "delay", "global_phase"}:
            continue
        params = [float(rng.uniform(-np.pi, np.pi)) for _ in gate.params]
        gates.append(type(gate)(*params) if params else gate)
    return gates


def _random_input(num_qubits: int, seed: int) -> QuantumCircuit:
    circuit = QuantumCircuit(num_qubits)
    for q in range(num_qubits):
        circuit.append(UnitaryGate(random_unitary(2, seed=seed + q)), [q])
    for q in range(0, num_qubits - 1, 2):
        circuit.append(UnitaryGate(random_unitary(4, seed=seed + 100 + q)), [q, q + 1])
    return circuit


def _check(gate: Gate, qubits: list[int], seed: int = 3) -> None:
    circuit = _random_input(NUM_QUBITS, seed)
    circuit.append(gate, qubits)
    state = sim.statevector(circuit)
    assert fidelity(state, reference_state(circuit)) > 1 - TOLERANCE
    # Global phase matters for a statevector: compare amplitudes directly too.
    np.testing.assert_allclose(state, reference_state(circuit), atol=1e-10)


@pytest.mark.parametrize("gate", _standard_gates(), ids=lambda g: g.name)
def test_gate_standard_matches_reference(gate: Gate) -> None:
    rng = np.random.default_rng(len(gate.name))
    qubits = [int(q) for q in rng.choice(NUM_QUBITS, gate.num_qubits, replace=False)]
    _check(gate, qubits)


@pytest.mark.parametrize("num_controls", [3, 4, 5])
def test_gate_multi_controlled_x_matches_reference(num_controls: int) -> None:
    qubits = [5, 0, 3, 1, 4, 2][: num_controls + 1]
    _check(MCXGate(num_controls), qubits)
    _check(MCXGate(num_controls, ctrl_state=1), qubits)


def test_gate_multi_controlled_phase_and_controlled_unitary_match_reference() -> None:
    _check(MCPhaseGate(0.7, 4), [2, 0, 5, 1, 3])
    controlled = UnitaryGate(random_unitary(4, seed=5)).control(3, ctrl_state="101")
    _check(controlled, [4, 1, 2, 0, 5])


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_gate_unitary_matches_reference(width: int) -> None:
    gate = UnitaryGate(random_unitary(1 << width, seed=width))
    _check(gate, [5, 1, 3, 0][:width])


def test_gate_custom_composite_is_decomposed() -> None:
    inner = QuantumCircuit(3, name="my_block", global_phase=0.4)
    inner.h(0)
    inner.cx(0, 2)
    inner.rzz(0.3, 1, 2)
    inner.append(UnitaryGate(random_unitary(2, seed=9)), [1])
    _check(inner.to_gate(), [4, 0, 2])
    _check(inner.to_gate().control(2), [1, 3, 5, 0, 2])


def test_gate_global_phase_is_applied() -> None:
    circuit = QuantumCircuit(2, global_phase=0.9)
    circuit.h(0)
    circuit.global_phase += 0.2
    np.testing.assert_allclose(sim.statevector(circuit), reference_state(circuit), atol=1e-12)


def test_gate_barrier_delay_and_identity_change_nothing() -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.barrier()
    circuit.delay(100, 1, unit="ns")
    circuit.id(1)
    np.testing.assert_allclose(sim.statevector(circuit), reference_state(circuit), atol=1e-12)


def test_gate_complex64_is_close() -> None:
    circuit = _random_input(NUM_QUBITS, 11)
    circuit.cx(0, 5)
    circuit.ccx(1, 2, 3)
    state = sim.statevector(circuit, dtype="complex64")
    assert state.dtype == np.complex64
    # single precision: ~1e-7 relative per operation
    assert fidelity(state.astype(np.complex128), reference_state(circuit)) > 1 - 1e-5


def test_gate_wide_unitaries_stay_separate_blocks() -> None:
    circuit = _random_input(NUM_QUBITS, 21)
    circuit.append(UnitaryGate(random_unitary(32, seed=1)), [0, 2, 4, 1, 3])
    circuit.append(UnitaryGate(random_unitary(32, seed=2)), [5, 1, 0, 2, 3])
    circuit.cx(4, 5)
    _check_circuit(circuit)


def test_gate_box_runs_its_body() -> None:
    boxed, flat = _random_input(NUM_QUBITS, 5), _random_input(NUM_QUBITS, 5)
    with boxed.box():
        boxed.cx(0, 3)
        boxed.rz(0.4, 3)
    flat.cx(0, 3)
    flat.rz(0.4, 3)
    # qiskit.quantum_info cannot simulate a box, so the reference is the same gates unboxed
    np.testing.assert_allclose(sim.statevector(boxed), reference_state(flat), atol=1e-10)


def _check_circuit(circuit: QuantumCircuit) -> None:
    np.testing.assert_allclose(sim.statevector(circuit), reference_state(circuit), atol=1e-10)


def test_gate_initialize_and_composite_instructions_run_their_definitions() -> None:
    amplitudes = np.array([0.6, 0.0, 0.0, 0.8j])
    circuit = QuantumCircuit(3)
    circuit.x(2)
    circuit.initialize(amplitudes, [0, 1])
    expected = np.kron([0, 1], amplitudes)  # qubit 2 in |1>, qubits 0-1 initialised
    fid = abs(np.vdot(expected, sim.statevector(circuit))) ** 2
    assert fid > 1 - 1e-10

    inner = QuantumCircuit(2, 1, name="measure_block")
    inner.h(0)
    inner.cx(0, 1)
    inner.measure(1, 0)
    outer = QuantumCircuit(2, 2)
    outer.append(inner.to_instruction(), [1, 0], [1])
    counts = sim.sample(outer, 2000, seed=3)
    assert set(counts) == {"00", "10"}


@pytest.mark.parametrize("num_qubits", [4, 12])
def test_gate_numpy_and_numba_paths_agree(num_qubits: int) -> None:
    # Below NUMPY_BELOW_QUBITS the ops run in NumPy, above it in numba: same results.
    circuit = _random_input(num_qubits, 31)
    circuit.cx(0, num_qubits - 1)
    circuit.ccx(1, 2, 0)
    circuit.append(MCXGate(3), [3, 0, 2, 1])
    circuit.mcx(list(range(num_qubits - 1)), num_qubits - 1)
    circuit.cp(0.3, 1, 3)
    circuit.swap(0, 2)
    np.testing.assert_allclose(sim.statevector(circuit), reference_state(circuit), atol=1e-10)
