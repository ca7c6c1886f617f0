"""Expectation values of Pauli observables against qiskit.quantum_info."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import efficient_su2
from qiskit.quantum_info import SparsePauliOp, Statevector

from openqpu import sim
from openqpu.errors import OpenQPUError


def _ansatz() -> QuantumCircuit:
    circuit = efficient_su2(5, reps=2)
    values = np.random.default_rng(3).uniform(-np.pi, np.pi, circuit.num_parameters)
    return circuit.assign_parameters(values)


def test_expectation_matches_reference_for_many_observables() -> None:
    circuit = _ansatz()
    observables = [
        SparsePauliOp("ZZIII"),
        SparsePauliOp("XYZIY"),
        SparsePauliOp(["IIIII", "XXYYZ", "YIYIY"], coeffs=[0.5, -1.2, 0.3j + 0.1]),
        SparsePauliOp.from_sparse_list([("XY", [0, 4], 2.0), ("Z", [2], -1.0)], num_qubits=5),
    ]
    reference = Statevector(circuit)
    expected = [reference.expectation_value(op).real for op in observables]
    np.testing.assert_allclose(sim.expectation(circuit, observables), expected, atol=1e-12)


def test_expectation_single_observable_returns_one_value() -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    values = sim.expectation(circuit, SparsePauliOp("YY"))
    assert values.shape == (1,)
    assert values.dtype == np.float64
    assert values[0] == pytest.approx(-1.0)


def test_expectation_ignores_terminal_measurements() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.ry(0.6, 0)
    circuit.measure(0, 0)
    assert sim.expectation(circuit, SparsePauliOp("Z"))[0] == pytest.approx(np.cos(0.6))


def test_expectation_rejects_wrong_width() -> None:
    with pytest.raises(ValueError, match="observable 0 acts on 3 qubits, the circuit has 2"):
        sim.expectation(QuantumCircuit(2), SparsePauliOp("ZZZ"))


def test_expectation_rejects_mid_circuit_measurement() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    circuit.h(0)
    with pytest.raises(OpenQPUError, match="without mid-circuit measurement"):
        sim.expectation(circuit, SparsePauliOp("Z"))
