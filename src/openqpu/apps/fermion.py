"""Electronic-structure Hamiltonians as qubit operators: second quantisation of molecular
integrals, the Jordan-Wigner and parity mappings, and the parity form's two-qubit reduction.

Spin orbitals are in block order: spatial orbital ``p`` with spin alpha is mode ``p``, with
spin beta mode ``n + p`` (``n`` spatial orbitals), so that in the parity mapping qubit
``n - 1`` holds the parity of the alpha electrons and qubit ``2n - 1`` that of all of them.
Qubit ``j`` is mode ``j`` (Qiskit's labels put qubit 0 on the right).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from qiskit.quantum_info import PauliList, SparsePauliOp

Mapping = Literal["jordan_wigner", "parity"]
MAPPINGS: tuple[Mapping, ...] = ("jordan_wigner", "parity")

# Integrals smaller than this (hartree) add nothing at the accuracy anyone asks of VQE.
_CUTOFF = 1e-12


def creation(mode: int, num_modes: int, mapping: Mapping) -> SparsePauliOp:
    """The creation operator of ``mode`` among ``num_modes`` as a qubit operator.

    Jordan-Wigner stores occupations: ``Z_0 ... Z_{j-1} (X_j - i Y_j) / 2``. Parity stores
    ``p_j = n_0 + ... + n_j (mod 2)``: creating in mode ``j`` flips ``p_j ... p_{n-1}``, the
    sign ``(-1)^{p_{j-1}}`` and the check that mode ``j`` was empty (``p_j = p_{j-1}``)
    give ``X_{n-1} ... X_{j+1} (X_j Z_{j-1} - i Y_j) / 2``.

    Args:
        mode: which mode, ``0 <= mode < num_modes``.
        num_modes: the number of spin orbitals, which is the number of qubits.
        mapping: ``"jordan_wigner"`` or ``"parity"``.

    Raises:
        ValueError: an unknown mapping or a mode out of range.

    >>> creation(0, 1, "jordan_wigner").to_matrix().real
    array([[0., 0.],
           [1., 0.]])
    """
    if not 0 <= mode < num_modes:
        raise ValueError(f"mode: expected 0 to {num_modes - 1}, got {mode}")
    if mapping == "jordan_wigner":
        below = list(range(mode))
        terms = [("Z" * mode + "X", [*below, mode], 0.5), ("Z" * mode + "Y", [*below, mode], -0.5j)]
    elif mapping == "parity":
        above = list(range(mode + 1, num_modes))
        flips = "X" * len(above)
        real = (flips + "XZ", [*above, mode, mode - 1]) if mode else (flips + "X", [*above, mode])
        terms = [(*real, 0.5), (flips + "Y", [*above, mode], -0.5j)]
    else:
        raise ValueError(f"mapping: expected one of {', '.join(MAPPINGS)}, got {mapping!r}")
    return SparsePauliOp.from_sparse_list(terms, num_qubits=num_modes)


def molecular_hamiltonian(
    one_body: np.ndarray, two_body: np.ndarray, constant: float, *, mapping: Mapping
) -> SparsePauliOp:
    """``constant + sum h_pq a+_p a_q + 1/2 sum (pq|rs) a+_p a+_r a_s a_q`` over spin orbitals.

    Args:
        one_body: float array, shape ``(n, n)``: ``h[p, q]`` over spatial (molecular)
            orbitals, hartree.
        two_body: float array, shape ``(n, n, n, n)``: ``(pq|rs)`` in chemists' order
            (``p, q`` electron 1, ``r, s`` electron 2), hartree.
        constant: the nuclear repulsion (plus any frozen core's energy), hartree.
        mapping: ``"jordan_wigner"`` or ``"parity"``.

    Returns:
        The Hermitian operator on ``2n`` qubits, real coefficients, simplified.
    """
    n = one_body.shape[0]
    if one_body.shape != (n, n) or two_body.shape != (n, n, n, n):
        raise ValueError(f"two_body: expected shape {(n,) * 4}, got {two_body.shape}")
    up = [creation(j, 2 * n, mapping) for j in range(2 * n)]
    down = [op.adjoint() for op in up]
    terms = [SparsePauliOp("I" * 2 * n, [constant])]
    for spin in (0, n):
        for p, q in zip(*np.nonzero(np.abs(one_body) > _CUTOFF), strict=True):
            terms.append(one_body[p, q] * (up[spin + p] @ down[spin + q]))
    for p, q, r, s in zip(*np.nonzero(np.abs(two_body) > _CUTOFF), strict=True):
        for first in (0, n):
            for second in (0, n):
                i, j, k, m = first + p, second + r, second + s, first + q
                if i == j or k == m:  # two electrons in one spin orbital
                    continue
                product = up[i] @ up[j] @ down[k] @ down[m]
                terms.append(0.5 * two_body[p, q, r, s] * product)
    return _real(SparsePauliOp.sum(terms).simplify(atol=_CUTOFF))


def number_operators(num_spatial: int, mapping: Mapping) -> tuple[SparsePauliOp, SparsePauliOp]:
    """The numbers of alpha and of beta electrons, each on ``2 * num_spatial`` qubits."""
    n = num_spatial
    counts = []
    for spin in (0, n):
        ops = [creation(spin + p, 2 * n, mapping) for p in range(n)]
        counts.append(_real(SparsePauliOp.sum([op @ op.adjoint() for op in ops]).simplify()))
    return counts[0], counts[1]


def two_qubit_reduced(operator: SparsePauliOp, num_alpha: int, num_beta: int) -> SparsePauliOp:
    """A parity-mapped operator that keeps both spin counts, less the two qubits holding
    their parities (``n - 1`` and ``2n - 1``), fixed to the values of the given counts.

    Raises:
        ValueError: the operator has an odd number of qubits, or changes a parity.
    """
    num_qubits = operator.num_qubits
    if num_qubits % 2:
        raise ValueError(f"operator: expected an even number of qubits, got {num_qubits}")
    alpha, total = num_qubits // 2 - 1, num_qubits - 1
    paulis = operator.paulis
    flips = paulis.x[:, [alpha, total]]
    if np.any(flips & (np.abs(operator.coeffs) > _CUTOFF)[:, None]):
        raise ValueError("operator: does not conserve the alpha and beta parities")
    signs = np.where(paulis.z[:, alpha], (-1.0) ** num_alpha, 1.0)
    signs *= np.where(paulis.z[:, total], (-1.0) ** (num_alpha + num_beta), 1.0)
    keep = [q for q in range(num_qubits) if q not in (alpha, total)]
    kept = PauliList.from_symplectic(paulis.z[:, keep], paulis.x[:, keep])
    return _real(SparsePauliOp(kept, operator.coeffs * signs).simplify(atol=_CUTOFF))


def sector_ground_energy(
    operator: SparsePauliOp,
    counts: tuple[SparsePauliOp, SparsePauliOp],
    num_alpha: int,
    num_beta: int,
) -> float:
    """The lowest eigenvalue of ``operator`` among states with the given electron counts.

    Args:
        operator: a Hamiltonian that conserves both counts.
        counts: the alpha and beta number operators in the same mapping (and reduction);
            both are diagonal in the computational basis in either mapping.
        num_alpha: alpha electrons.
        num_beta: beta electrons.
    """
    na, nb = (np.real(op.to_matrix(sparse=True).diagonal()) for op in counts)
    states = np.flatnonzero(np.isclose(na, num_alpha) & np.isclose(nb, num_beta))
    if states.size == 0:
        raise ValueError(f"no state has {num_alpha} alpha and {num_beta} beta electrons")
    block = operator.to_matrix(sparse=True)[states][:, states].toarray()
    return float(np.linalg.eigvalsh(block)[0])


def _real(operator: SparsePauliOp) -> SparsePauliOp:
    """The operator with real coefficients (a Hermitian one's imaginary parts are rounding)."""
    if np.max(np.abs(operator.coeffs.imag), initial=0.0) > 1e-10:
        raise ValueError("operator: expected real coefficients (a Hermitian operator)")
    return SparsePauliOp(operator.paulis, operator.coeffs.real)
