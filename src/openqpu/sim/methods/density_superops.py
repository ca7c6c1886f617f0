"""Superoperators of the noise model's channels, and the Pauli basis of a density matrix.

Convention (column stacking, as ``qiskit.quantum_info.SuperOp``): on k qubits the
vectorised density matrix has index ``r + 2^k c`` for the entry ``rho[r, c]``, and
a channel with Kraus operators ``K`` is ``sum_K kron(conj(K), K)``. In the
engine's 2n-bit state of an n-qubit ``rho`` the row bits are the qubits ``Q`` and
the column bits ``Q + n``, so a k-qubit superoperator acts on ``Q + (Q + n)``.

The Pauli basis of one qubit: ``c_P = Tr(P rho)`` for P = I, X, Y, Z (index 0-3).
Pauli channels (depolarising) are diagonal there and Clifford gates (cz, cx)
are signed permutations.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from openqpu.sim.channels import pauli_matrix
from openqpu.sim.noise import Depolarizing, ThermalRelaxation

# Entries below this count as structural zeros when classifying small matrices.
ZERO = 1e-14


def from_kraus(kraus: Sequence[np.ndarray]) -> np.ndarray:
    """The superoperator ``sum_K kron(conj(K), K)`` of a list of Kraus operators."""
    return functools.reduce(np.add, [np.kron(np.conj(k), k) for k in kraus])


def of_unitary(matrix: np.ndarray) -> np.ndarray:
    """The superoperator of ``rho -> U rho U^dagger``."""
    return np.kron(np.conj(matrix), matrix)


def thermal(channel: ThermalRelaxation) -> np.ndarray:
    """The exact 4x4 superoperator of thermal relaxation (any T2 <= 2 T1).

    ``rho_11`` decays into ``rho_00`` with probability 1 - exp(-t/T1) and the
    coherences shrink by exp(-t/T2); at zero temperature this is the whole channel.
    """
    damping, coherence = channel.damping, channel.coherence
    return np.array(
        [
            [1.0, 0.0, 0.0, damping],
            [0.0, coherence, 0.0, 0.0],
            [0.0, 0.0, coherence, 0.0],
            [0.0, 0.0, 0.0, 1.0 - damping],
        ],
        dtype=np.complex128,
    )


def depolarizing(channel: Depolarizing) -> np.ndarray:
    """The superoperator of ``rho -> (1 - p) rho + p Tr(rho) I / d``."""
    dim = 1 << channel.num_qubits
    identity = np.eye(dim, dtype=np.complex128).reshape(-1, order="F")
    p = channel.probability
    return (1 - p) * np.eye(dim * dim, dtype=np.complex128) + (p / dim) * np.outer(
        identity, identity
    )


def depolarizing_pauli_diagonal(channel: Depolarizing) -> np.ndarray:
    """The depolarising channel in the Pauli basis: 1 on the identity, 1 - p elsewhere."""
    diagonal = np.full(4**channel.num_qubits, 1.0 - channel.probability, dtype=np.complex128)
    diagonal[0] = 1.0
    return diagonal


RESET = from_kraus([np.array([[1, 0], [0, 0]]), np.array([[0, 1], [0, 0]])]).astype(np.complex128)


@functools.cache
def pauli_basis() -> tuple[np.ndarray, np.ndarray]:
    """``(B, B^-1)``: ``B`` maps one qubit's vectorised rho (bits q, q + n) to ``c_P``."""
    basis = np.zeros((4, 4), dtype=np.complex128)
    for p in range(4):
        # c_P = sum_{r,c} P[c, r] rho[r, c]: row p of B is vec(P^T).
        basis[p] = pauli_matrix(p, 1).T.reshape(-1, order="F")
    return basis, np.linalg.inv(basis)


def pauli_transfer(matrix: np.ndarray) -> np.ndarray:
    """The Pauli transfer matrix of a k-qubit unitary (digit j of an index is qubit j)."""
    k = matrix.shape[0].bit_length() - 1
    count = 4**k
    images = [matrix @ pauli_matrix(p, k) @ matrix.conj().T for p in range(count)]
    transfer = np.empty((count, count), dtype=np.complex128)
    for row in range(count):
        left = pauli_matrix(row, k)
        for col in range(count):
            transfer[row, col] = np.trace(left @ images[col]) / (1 << k)
    return transfer


def is_diagonal(matrix: np.ndarray) -> bool:
    """True when every off-diagonal entry is (numerically) zero."""
    return not np.any(np.abs(matrix - np.diag(np.diag(matrix))) > ZERO)


def is_monomial(matrix: np.ndarray) -> bool:
    """True when every row and column has exactly one non-zero entry."""
    nonzero = np.abs(matrix) > ZERO
    return bool(np.all(nonzero.sum(axis=0) == 1) and np.all(nonzero.sum(axis=1) == 1))
