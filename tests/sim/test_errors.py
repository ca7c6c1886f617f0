"""Unsupported instructions and the memory guard fail early with clear messages."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Instruction

from openqpu import sim
from openqpu.errors import CircuitTooLarge, UnsupportedInstruction


def test_errors_unsupported_instruction_is_named() -> None:
    circuit = QuantumCircuit(2)
    circuit.append(Instruction("mystery", 1, 0, []), [1])
    with pytest.raises(UnsupportedInstruction, match="unsupported instruction 'mystery'"):
        sim.statevector(circuit)


def test_errors_while_loop_is_unsupported() -> None:
    circuit = QuantumCircuit(1, 1)
    with circuit.while_loop((circuit.clbits[0], 0)):
        circuit.h(0)
        circuit.measure(0, 0)
    with pytest.raises(UnsupportedInstruction, match="'while_loop'"):
        sim.sample(circuit, 10)


def test_errors_memory_guard_names_qubits_bytes_and_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENQPU_MEMORY_LIMIT", str(1 << 20))
    circuit = QuantumCircuit(20)
    circuit.h(0)
    message = "a 20-qubit statevector in complex128 needs 16,777,216 bytes, over the memory "
    with pytest.raises(CircuitTooLarge, match=message + r"limit of 1,048,576 bytes"):
        sim.statevector(circuit)
    with pytest.raises(CircuitTooLarge, match="complex64 needs 8,388,608 bytes"):
        sim.statevector(circuit, dtype="complex64")


def test_errors_memory_guard_default_refuses_huge_circuits_before_allocating() -> None:
    with pytest.raises(CircuitTooLarge, match="a 60-qubit statevector"):
        sim.sample(QuantumCircuit(60, 1), 1)


def test_errors_bad_dtype() -> None:
    with pytest.raises(ValueError, match="dtype must be 'complex128' or 'complex64'"):
        sim.statevector(QuantumCircuit(1), dtype="float64")


def test_errors_statevector_refuses_dynamic_circuit() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    circuit.x(0)
    with pytest.raises(Exception, match="use sample"):
        sim.statevector(circuit)
