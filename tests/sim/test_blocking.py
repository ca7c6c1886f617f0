"""Large states (n >= 16) take the cache-blocked path; results must not change."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate, UnitaryGate, efficient_su2, quantum_volume
from qiskit.quantum_info import random_unitary

from openqpu import sim
from openqpu.sim.ops import DiagonalOp, GroupOp, MonomialOp
from tests.conftest import fidelity, reference_state

N = 17


def _ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    return circuit


def _qft(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(range(n))
    circuit.append(QFTGate(n), range(n))
    return transpile(circuit, basis_gates=["h", "cp", "swap"], optimization_level=0)


def _mixed(n: int) -> QuantumCircuit:
    rng = np.random.default_rng(4)
    circuit = QuantumCircuit(n)
    for layer in range(6):
        for q in range(n):
            circuit.append(UnitaryGate(random_unitary(2, seed=layer * n + q)), [q])
        for _ in range(n):
            a, b, c = (int(x) for x in rng.choice(n, 3, replace=False))
            circuit.cx(a, b)
            circuit.rzz(0.3, b, c)
            circuit.swap(a, c)
            circuit.ccx(a, b, c)
        circuit.mcx(list(range(layer, layer + 5)), n - 1)
    return circuit


def _su2(n: int) -> QuantumCircuit:
    circuit = efficient_su2(n, reps=2)
    values = np.random.default_rng(1).uniform(-np.pi, np.pi, circuit.num_parameters)
    return circuit.assign_parameters(values)


CIRCUITS = {
    "ghz": _ghz,
    "qft": _qft,
    "qv": lambda n: quantum_volume(n, depth=4, seed=3).decompose(),
    "su2": _su2,
    "mixed": _mixed,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_blocking_large_circuit_matches_reference(name: str) -> None:
    # Below the blocked sizes a cx chain becomes one affine permutation
    # (tests/sim/test_affine.py); GHZ on 19 qubits takes the blocked path.
    circuit = CIRCUITS[name](19 if name == "ghz" else N)
    program = sim.lower(circuit)
    steps, _ = program.bind(None, np.dtype(np.complex128))
    assert any(isinstance(op, GroupOp) for op in steps[0]), "the blocked path was not taken"
    state = sim.statevector(program)
    assert fidelity(state, reference_state(circuit)) > 1 - 1e-10


@pytest.mark.slow
def test_blocking_complex64_large_circuit() -> None:
    circuit = _mixed(N)
    state = sim.statevector(circuit, dtype="complex64").astype(np.complex128)
    assert fidelity(state, reference_state(circuit)) > 1 - 1e-4


def test_blocking_fusion_keeps_structure() -> None:
    steps, _ = sim.lower(_ghz(19)).bind(None, np.dtype(np.complex128))
    members = [m for op in steps[0] if isinstance(op, GroupOp) for m in op.members]
    assert any(isinstance(m, MonomialOp) for m in members), "cx chains should stay permutations"
    qft_steps, _ = sim.lower(_qft(N)).bind(None, np.dtype(np.complex128))
    qft_ops = [m for op in qft_steps[0] for m in getattr(op, "members", [op])]
    assert any(isinstance(m, DiagonalOp) for m in qft_ops), "controlled phases should stay diagonal"
