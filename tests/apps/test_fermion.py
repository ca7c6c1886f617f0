"""The fermion-to-qubit mappings against the canonical anticommutation relations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp

from openqpu.apps import fermion


def _anticommutator(a: SparsePauliOp, b: SparsePauliOp) -> np.ndarray:
    return (a @ b + b @ a).to_matrix()


@pytest.mark.parametrize("mapping", fermion.MAPPINGS)
def test_fermion_creation_obeys_the_anticommutation_relations(mapping: fermion.Mapping) -> None:
    n = 4
    up = [fermion.creation(j, n, mapping) for j in range(n)]
    for i, j in itertools.product(range(n), repeat=2):
        expected = np.eye(2**n) if i == j else np.zeros((2**n, 2**n))
        assert np.allclose(_anticommutator(up[i], up[j].adjoint()), expected), (i, j)
        assert np.allclose(_anticommutator(up[i], up[j]), 0), (i, j)


def test_fermion_parity_stores_the_running_parity_of_the_occupations() -> None:
    # Fill modes 0 and 2 of 4 from the vacuum: occupations 0101, parities 0011 (qubit 0
    # on the right), so only basis state 0b0011 is reached.
    state = np.zeros(16)
    state[0] = 1
    for mode in (2, 0):
        state = fermion.creation(mode, 4, "parity").to_matrix() @ state
    assert np.flatnonzero(np.abs(state) > 1e-12).tolist() == [0b0011]


@pytest.mark.parametrize("mapping", fermion.MAPPINGS)
def test_fermion_number_operators_count_each_spin(mapping: fermion.Mapping) -> None:
    alpha, beta = fermion.number_operators(2, mapping)
    up = [fermion.creation(j, 4, mapping) for j in range(4)]
    state = np.zeros(16)
    state[0] = 1
    for mode in (3, 1, 0):  # two alpha electrons (modes 0, 1), one beta (mode 3)
        state = up[mode].to_matrix() @ state
    assert np.vdot(state, alpha.to_matrix() @ state).real == pytest.approx(2)
    assert np.vdot(state, beta.to_matrix() @ state).real == pytest.approx(1)


def test_fermion_two_qubit_reduction_refuses_an_operator_that_flips_a_parity() -> None:
    with pytest.raises(ValueError, match="does not conserve the alpha and beta parities"):
        fermion.two_qubit_reduced(SparsePauliOp("IIXI"), 1, 1)
    with pytest.raises(ValueError, match="expected an even number of qubits, got 3"):
        fermion.two_qubit_reduced(SparsePauliOp("III"), 1, 1)
    with pytest.raises(ValueError, match="mode: expected 0 to 3, got 4"):
        fermion.creation(4, 4, "parity")
