"""Random circuits of up to 12 qubits against qiskit.quantum_info (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit.library import UnitaryGate, get_standard_gate_name_mapping
from qiskit.quantum_info import random_unitary

from openqpu import sim
from tests.conftest import fidelity, reference_state

_GATES = {
    name: gate
    for name, gate in get_standard_gate_name_mapping().items()
    if name not in {"measure", "reset", "delay", "global_phase"}
}
_NAMES = sorted(_GATES)


@st.composite
def circuits(draw: st.DrawFn) -> QuantumCircuit:
    """A random circuit of standard gates, unitaries and controlled gates."""
    num_qubits = draw(st.integers(1, 12))
    circuit = QuantumCircuit(num_qubits)
    for _ in range(draw(st.integers(0, 60))):
        kind = draw(st.sampled_from([*_NAMES, "unitary", "mcx"]))
        if kind == "unitary":
            width = draw(st.integers(1, min(3, num_qubits)))
            gate = UnitaryGate(random_unitary(1 << width, seed=draw(st.integers(0, 999))))
        elif kind == "mcx":
            if num_qubits < 2:
                continue
            width = draw(st.integers(2, min(7, num_qubits)))
            circuit.mcx(list(range(width - 1)), width - 1)
            continue
        else:
            template = _GATES[kind]
            if template.num_qubits > num_qubits:
                continue
            angles = [draw(st.floats(-7, 7, allow_nan=False)) for _ in template.params]
            gate = type(template)(*angles) if angles else template
        qubits = draw(
            st.lists(
                st.integers(0, num_qubits - 1),
                min_size=gate.num_qubits,
                max_size=gate.num_qubits,
                unique=True,
            )
        )
        circuit.append(gate, qubits)
    return circuit


# complex128 rounding is ~1e-16 per operation; 1e-10 is the contract.
@settings(max_examples=120, deadline=None)
@given(circuits())
def test_random_circuit_matches_reference(circuit: QuantumCircuit) -> None:
    state = sim.statevector(circuit)
    assert fidelity(state, reference_state(circuit)) > 1 - 1e-10
    assert abs(np.linalg.norm(state) - 1) < 1e-10


@settings(max_examples=25, deadline=None)
@given(circuits())
def test_random_circuit_complex64_matches_reference(circuit: QuantumCircuit) -> None:
    state = sim.statevector(circuit, dtype="complex64").astype(np.complex128)
    # single precision keeps ~1e-7 per operation over at most ~60 blocks
    assert fidelity(state, reference_state(circuit)) > 1 - 1e-4
