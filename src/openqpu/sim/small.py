"""NumPy versions of the kernels for small states.

Below ``NUMPY_BELOW_QUBITS`` qubits a gate costs microseconds either way, while
the first call of any numba kernel initialises the JIT (about half a second):
small circuits, like a five-qubit file given to ``openqpu run``, never pay it.
Same conventions as ``kernels``: bit ``q`` of an index is qubit ``q``; matrix
index bit ``j`` is ``qubits[j]``; every function updates ``state`` in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NUMPY_BELOW_QUBITS = 11


def is_small(state: np.ndarray) -> bool:
    """True when ``state`` is handled here rather than by the numba kernels."""
    return state.size < (1 << NUMPY_BELOW_QUBITS)


def _num_qubits(state: np.ndarray) -> int:
    return state.size.bit_length() - 1


def apply_dense(state: np.ndarray, qubits: Sequence[int], matrix: np.ndarray) -> None:
    """Apply a ``2^k x 2^k`` matrix to ``qubits``."""
    n, k = _num_qubits(state), len(qubits)
    tensor = state.reshape((2,) * n)
    # Row-major reshapes put the most significant bit first: qubits[k-1] ... qubits[0].
    axes = [n - 1 - q for q in reversed(qubits)]
    gate = matrix.reshape((2,) * (2 * k))
    moved = np.tensordot(gate, tensor, axes=(list(range(k, 2 * k)), axes))
    state[:] = np.moveaxis(moved, list(range(k)), axes).reshape(-1)


def local_index(size: int, qubits: Sequence[int]) -> np.ndarray:
    """For every state index, the index over ``qubits`` (bit j from qubit qubits[j])."""
    index = np.arange(size, dtype=np.int64)
    local = np.zeros(size, dtype=np.int64)
    for j, q in enumerate(qubits):
        local |= ((index >> q) & 1) << j
    return local


def apply_diagonal(state: np.ndarray, qubits: Sequence[int], diagonal: np.ndarray) -> None:
    """Multiply each amplitude by ``diagonal[local index]``."""
    state *= diagonal[local_index(state.size, qubits)]


def apply_monomial(
    state: np.ndarray, qubits: Sequence[int], rows: np.ndarray, phases: np.ndarray
) -> None:
    """Send local basis state ``a`` to ``rows[a]`` times ``phases[a]``."""
    index = np.arange(state.size, dtype=np.int64)
    local = local_index(state.size, qubits)
    mask = sum(1 << q for q in qubits)
    moved = rows[local]
    target = index & ~mask
    for j, q in enumerate(qubits):
        target |= ((moved >> j) & 1) << q
    result = np.empty_like(state)
    result[target] = state * phases[local]
    state[:] = result


def apply_controlled(
    state: np.ndarray,
    controls: Sequence[int],
    ctrl_state: int,
    targets: Sequence[int],
    matrix: np.ndarray,
) -> None:
    """Apply ``matrix`` to ``targets`` where ``controls`` hold ``ctrl_state``."""
    index = np.arange(state.size, dtype=np.int64)
    wanted = local_index(state.size, controls) == ctrl_state
    chosen = index[wanted]
    # Inside the chosen amplitudes, the remaining bits keep their order.
    remaining = [q for q in range(_num_qubits(state)) if q not in controls]
    position = {q: i for i, q in enumerate(remaining)}
    sub = state[chosen]
    apply_dense(sub, [position[q] for q in targets], matrix)
    state[chosen] = sub


def probability_of_one(state: np.ndarray, qubit: int) -> float:
    """Probability that measuring ``qubit`` gives 1."""
    ones = state.reshape(-1, 2, 1 << qubit)[:, 1, :]
    return float(np.sum(ones.real**2 + ones.imag**2))


def collapse(state: np.ndarray, qubit: int, outcome: int, scale: float) -> None:
    """Project ``qubit`` onto ``outcome`` and multiply the survivors by ``scale``."""
    view = state.reshape(-1, 2, 1 << qubit)
    view[:, 1 - outcome, :] = 0
    view[:, outcome, :] *= scale


def probabilities(state: np.ndarray, out: np.ndarray) -> None:
    """``|state[i]|^2`` into ``out``."""
    np.add(state.real**2, state.imag**2, out=out)


def pauli_expectation(state: np.ndarray, x_mask: int, z_mask: int) -> complex:
    """``sum_i conj(state[i ^ x_mask]) * state[i] * (-1)^popcount(i & z_mask)``."""
    index = np.arange(state.size, dtype=np.int64)
    parity = np.zeros(state.size, dtype=np.int64)
    masked = index & z_mask
    while np.any(masked):
        parity ^= masked & 1
        masked >>= 1
    signs = 1.0 - 2.0 * parity
    return complex(np.sum(np.conj(state[index ^ x_mask]) * state * signs))
