"""Numba kernels over a statevector: the only hot loops of the engine.

Kernels take arrays and scalars, update the state in place and know nothing of
circuits. Index convention: bit ``q`` of a state index is qubit ``q`` (Qiskit's
order). Every kernel works for complex128 and complex64 states; the matrix or
diagonal passed in must have the state's dtype.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Work items per parallel chunk: large enough to amortise scheduling, small
# enough that both cores get work on the smallest states we parallelise.
_CHUNK = 1 << 11


@njit(cache=True, inline="always")
def _insert_zero_bit(index: int, bit: int) -> int:
    low = index & ((1 << bit) - 1)
    return ((index >> bit) << (bit + 1)) | low


@njit(parallel=True, cache=True, fastmath=True)
def apply_matrix_1q(state: np.ndarray, qubit: int, matrix: np.ndarray) -> None:
    """Apply a 2x2 ``matrix`` to ``qubit`` of ``state`` in place."""
    m00, m01, m10, m11 = matrix[0, 0], matrix[0, 1], matrix[1, 0], matrix[1, 1]
    half = state.size >> 1
    stride = 1 << qubit
    nchunks = (half + _CHUNK - 1) // _CHUNK
    for chunk in prange(nchunks):
        stop = min(half, (chunk + 1) * _CHUNK)
        for group in range(chunk * _CHUNK, stop):
            i0 = _insert_zero_bit(group, qubit)
            i1 = i0 | stride
            a0 = state[i0]
            a1 = state[i1]
            state[i0] = m00 * a0 + m01 * a1
            state[i1] = m10 * a0 + m11 * a1


@njit(parallel=True, cache=True, fastmath=True)
def apply_matrix_2q(state: np.ndarray, qubit0: int, qubit1: int, matrix: np.ndarray) -> None:
    """Apply a 4x4 ``matrix`` to ``(qubit0, qubit1)``; matrix index bit 0 is ``qubit0``."""
    low, high = min(qubit0, qubit1), max(qubit0, qubit1)
    s0 = 1 << qubit0
    s1 = 1 << qubit1
    m = matrix
    quarter = state.size >> 2
    nchunks = (quarter + _CHUNK - 1) // _CHUNK
    for chunk in prange(nchunks):
        stop = min(quarter, (chunk + 1) * _CHUNK)
        for group in range(chunk * _CHUNK, stop):
            i0 = _insert_zero_bit(_insert_zero_bit(group, low), high)
            i1 = i0 | s0
            i2 = i0 | s1
            i3 = i1 | s1
            a0 = state[i0]
            a1 = state[i1]
            a2 = state[i2]
            a3 = state[i3]
            state[i0] = m[0, 0] * a0 + m[0, 1] * a1 + m[0, 2] * a2 + m[0, 3] * a3
            state[i1] = m[1, 0] * a0 + m[1, 1] * a1 + m[1, 2] * a2 + m[1, 3] * a3
            state[i2] = m[2, 0] * a0 + m[2, 1] * a1 + m[2, 2] * a2 + m[2, 3] * a3
            state[i3] = m[3, 0] * a0 + m[3, 1] * a1 + m[3, 2] * a2 + m[3, 3] * a3


@njit(parallel=True, cache=True, fastmath=True)
def apply_matrix(
    state: np.ndarray,
    sorted_bits: np.ndarray,
    fixed_mask: int,
    offsets: np.ndarray,
    matrix: np.ndarray,
) -> None:
    """Apply a dense ``2^k x 2^k`` matrix, optionally only where control bits are set.

    Args:
        state: the statevector, updated in place.
        sorted_bits: every bit the operation involves (targets and controls), ascending.
        fixed_mask: bits that must be 1 for the matrix to act (controls in state 1).
        offsets: ``offsets[a]`` is the index offset of matrix basis state ``a``
            (int64, length ``2^k``).
        matrix: the matrix, same dtype as ``state``.
    """
    dim = offsets.size
    nbits = sorted_bits.size
    groups = state.size >> nbits
    nchunks = (groups + _CHUNK - 1) // _CHUNK
    for chunk in prange(nchunks):
        buffer = np.empty(dim, dtype=state.dtype)
        stop = min(groups, (chunk + 1) * _CHUNK)
        for group in range(chunk * _CHUNK, stop):
            base = group
            for b in range(nbits):
                base = _insert_zero_bit(base, sorted_bits[b])
            base |= fixed_mask
            for a in range(dim):
                buffer[a] = state[base + offsets[a]]
            for r in range(dim):
                acc = matrix[r, 0] * buffer[0]
                for a in range(1, dim):
                    acc += matrix[r, a] * buffer[a]
                state[base + offsets[r]] = acc


@njit(parallel=True, cache=True, fastmath=True)
def apply_diagonal(state: np.ndarray, qubits: np.ndarray, diagonal: np.ndarray) -> None:
    """Multiply each amplitude by ``diagonal[local]``, ``local`` gathered from ``qubits``.

    Bit ``j`` of ``local`` is the state index's bit ``qubits[j]``.
    """
    size = state.size
    width = qubits.size
    nchunks = (size + _CHUNK - 1) // _CHUNK
    for chunk in prange(nchunks):
        stop = min(size, (chunk + 1) * _CHUNK)
        for index in range(chunk * _CHUNK, stop):
            local = 0
            for j in range(width):
                local |= ((index >> qubits[j]) & 1) << j
            state[index] *= diagonal[local]


@njit(parallel=True, cache=True)
def probability_of_one(state: np.ndarray, qubit: int) -> float:
    """Return the probability that measuring ``qubit`` gives 1."""
    half = state.size >> 1
    stride = 1 << qubit
    total = 0.0
    for group in prange(half):
        amplitude = state[_insert_zero_bit(group, qubit) | stride]
        total += amplitude.real * amplitude.real + amplitude.imag * amplitude.imag
    return total


@njit(parallel=True, cache=True)
def collapse(state: np.ndarray, qubit: int, outcome: int, scale: float) -> None:
    """Project ``qubit`` onto ``outcome`` and multiply the survivors by ``scale``."""
    half = state.size >> 1
    stride = 1 << qubit
    for group in prange(half):
        i0 = _insert_zero_bit(group, qubit)
        keep = i0 | (stride * outcome)
        drop = i0 | (stride * (1 - outcome))
        state[keep] *= scale
        state[drop] = 0


@njit(parallel=True, cache=True)
def probabilities(state: np.ndarray, out: np.ndarray) -> None:
    """Write ``|state[i]|^2`` into the float64 array ``out``."""
    for index in prange(state.size):
        amplitude = state[index]
        out[index] = amplitude.real * amplitude.real + amplitude.imag * amplitude.imag


@njit(parallel=True, cache=True)
def pauli_expectation(state: np.ndarray, x_mask: int, z_mask: int) -> complex:
    """Return ``sum_i conj(state[i ^ x_mask]) * state[i] * (-1)^popcount(i & z_mask)``.

    This is ``<psi| X^x Z^z |psi>`` up to the factor ``i^(number of Y)`` the
    caller applies.
    """
    real = 0.0
    imag = 0.0
    for index in prange(state.size):
        value = state[index ^ x_mask].conjugate() * state[index]
        parity = index & z_mask
        odd = 0
        while parity:
            odd ^= 1
            parity &= parity - 1
        sign = 1.0 - 2.0 * odd
        real += sign * value.real
        imag += sign * value.imag
    return complex(real, imag)
