"""Compile once, run many: parameter binding and reuse of a compiled program."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import efficient_su2, real_amplitudes

from openqpu import sim
from tests.conftest import fidelity, reference_state


def test_program_binds_many_parameter_sets() -> None:
    circuit = efficient_su2(6, reps=2)
    program = sim.lower(circuit)
    assert program.parameters == list(circuit.parameters)
    rng = np.random.default_rng(1)
    for _ in range(5):
        values = rng.uniform(-np.pi, np.pi, circuit.num_parameters)
        state = sim.statevector(program, parameter_values=values)
        expected = reference_state(circuit.assign_parameters(values))
        assert fidelity(state, expected) > 1 - 1e-10


def test_program_accepts_a_mapping_and_expressions() -> None:
    theta, phi = Parameter("theta"), Parameter("phi")
    circuit = QuantumCircuit(2, global_phase=theta / 2)
    circuit.rx(2 * theta + 0.1, 0)
    circuit.crz(phi - theta, 0, 1)
    circuit.rzz(phi, 0, 1)
    values = {theta: 0.3, phi: -1.1}
    state = sim.statevector(circuit, parameter_values=values)
    np.testing.assert_allclose(
        state, reference_state(circuit.assign_parameters(values)), atol=1e-12
    )


def test_program_custom_gate_with_parameters() -> None:
    theta = Parameter("t")
    inner = QuantumCircuit(2, name="block")
    inner.ry(theta, 0)
    inner.cx(0, 1)
    circuit = QuantumCircuit(3)
    circuit.append(inner.to_gate(), [2, 0])
    state = sim.statevector(circuit, parameter_values=[0.7])
    expected = reference_state(circuit.assign_parameters([0.7]))
    assert fidelity(state, expected) > 1 - 1e-12


def test_program_missing_parameters_are_reported() -> None:
    circuit = real_amplitudes(2, reps=1)
    with pytest.raises(ValueError, match="unbound parameters"):
        sim.statevector(circuit)
    with pytest.raises(ValueError, match="expected 4 parameter values, got 2"):
        sim.statevector(circuit, parameter_values=[0.1, 0.2])


def test_program_sampling_reuses_the_compiled_program() -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure(range(3), range(3))
    program = sim.lower(circuit)
    first = sim.sample(program, 500, seed=9)
    assert first == sim.sample(program, 500, seed=9)
    assert set(first) == {"000", "111"}
