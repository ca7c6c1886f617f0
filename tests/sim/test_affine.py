"""Networks of x, cx and swap become one affine permutation; results must not change."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit

from openqpu import sim
from openqpu.sim.affine import AffinePermutationOp, affine_form
from tests.conftest import fidelity, reference_state


def _network(num_qubits: int, seed: int) -> QuantumCircuit:
    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(num_qubits)
    circuit.h(range(num_qubits))
    circuit.rz(0.3, 0)
    for _ in range(6 * num_qubits):
        kind = rng.integers(3)
        a, b = (int(x) for x in rng.choice(num_qubits, 2, replace=False))
        if kind == 0:
            circuit.cx(a, b)
        elif kind == 1:
            circuit.swap(a, b)
        else:
            circuit.x(a)
    circuit.ry(0.7, num_qubits - 1)
    return circuit


@pytest.mark.slow
@pytest.mark.parametrize("num_qubits", [5, 12, 15, 17])
def test_affine_network_matches_reference(num_qubits: int) -> None:
    circuit = _network(num_qubits, num_qubits)
    steps, _ = sim.lower(circuit).bind(None, np.dtype(np.complex128))
    merged = any(isinstance(op, AffinePermutationOp) for op in steps[0])
    if 10 < num_qubits < 16:  # wider than one monomial block: the blocks merge into one op
        assert merged
    if num_qubits >= 16:  # cache blocking takes the permutation runs instead
        assert not merged
    assert fidelity(sim.statevector(circuit), reference_state(circuit)) > 1 - 1e-10


def test_affine_form_recognises_only_affine_maps() -> None:
    cx_rows = np.array([0, 3, 2, 1])  # cx with control bit 0, target bit 1
    assert affine_form(cx_rows) == ([3, 2], 0)
    toffoli_rows = np.array([0, 1, 2, 7, 4, 5, 6, 3])  # ccx: not affine over GF(2)
    assert affine_form(toffoli_rows) is None


def test_affine_phases_are_not_merged() -> None:
    circuit = QuantumCircuit(4)
    circuit.h(range(4))
    circuit.cy(0, 1)
    circuit.cx(1, 2)
    circuit.cz(2, 3)
    circuit.cx(3, 0)
    np.testing.assert_allclose(sim.statevector(circuit), reference_state(circuit), atol=1e-12)
