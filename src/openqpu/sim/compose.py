"""Building a fused block from its gates, in time linear in the block's size per gate.

A block on ``k`` qubits is built gate by gate, never as a product of embedded
``2^k x 2^k`` matrices:

- diagonal blocks keep a vector of ``2^k`` factors: one gather and one multiply
  per gate;
- monomial blocks (permutations with phases: x, cx, swap, ccx, cz, ...) keep the
  image of every basis state and its phase: an index map, ``O(2^k)`` per gate;
- dense blocks apply each gate to the ``2^k`` columns of the block matrix as to a
  batch of ``k``-qubit states: ``O(4^k 2^m)`` for a gate on ``m`` qubits.

Conventions as everywhere in the engine: bit ``j`` of a block's local index is
``block_qubits[j]``; a gate's index bit ``j`` is its ``qubits[j]``; a monomial
sends basis state ``a`` to ``rows[a]`` with factor ``phases[a]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def _local(k: int) -> np.ndarray:
    index = np.arange(1 << k, dtype=np.int64)
    index.flags.writeable = False
    return index


@lru_cache(maxsize=8192)
def _tables(k: int, positions: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, int]:
    """For a gate on block bits ``positions``: ``(sub, deposit, mask)``.

    ``sub[a]`` is the gate's index of block basis state ``a``; ``deposit[g]`` is the
    block index with only the gate's bits set as in ``g``; ``mask`` has the gate's bits.
    """
    local = _local(k)
    sub = np.zeros(1 << k, dtype=np.int64)
    gate_index = _local(len(positions))
    deposit = np.zeros(1 << len(positions), dtype=np.int64)
    mask = 0
    for j, p in enumerate(positions):
        sub |= ((local >> p) & 1) << j
        deposit |= ((gate_index >> j) & 1) << p
        mask |= 1 << p
    sub.flags.writeable = False
    deposit.flags.writeable = False
    return sub, deposit, mask


@lru_cache(maxsize=4096)
def _rows_index(k: int, positions: tuple[int, ...]) -> np.ndarray:
    """``(2^(k-m), 2^m)`` block indices: row r holds the 2^m indices sharing the other bits."""
    _, deposit, mask = _tables(k, positions)
    rest = _local(k)[(_local(k) & mask) == 0]
    index = rest[:, None] | deposit[None, :]
    index.flags.writeable = False
    return index


def positions_in(qubits: Sequence[int], block_qubits: Sequence[int]) -> tuple[int, ...]:
    """Where each of ``qubits`` sits in ``block_qubits``."""
    where = {q: j for j, q in enumerate(block_qubits)}
    return tuple(where[q] for q in qubits)


def diagonal_parts(matrix: np.ndarray) -> np.ndarray:
    """The diagonal of a diagonal matrix."""
    return np.ascontiguousarray(np.diagonal(matrix))


def monomial_of(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, phases)`` of a monomial matrix: column a has its entry in row rows[a]."""
    rows = np.argmax(np.abs(matrix), axis=0).astype(np.int64)
    return rows, matrix[rows, _local(rows.size.bit_length() - 1)]


# Index order of a two-qubit matrix with its qubits exchanged.
_SWAP_ORDER = np.array([0, 2, 1, 3])


class DiagonalBuilder:
    """The product of diagonal gates on a block of ``k`` qubits."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.diagonal: np.ndarray | None = None

    def diagonal_gate(self, positions: tuple[int, ...], diagonal: np.ndarray) -> None:
        """Multiply by a gate's diagonal on block bits ``positions``."""
        if len(positions) == self.k and positions == tuple(range(self.k)):
            factors = diagonal
        else:
            factors = diagonal[_tables(self.k, positions)[0]]
        if self.diagonal is None:
            self.diagonal = np.array(factors, dtype=np.complex128)
        else:
            self.diagonal *= factors

    def result(self) -> np.ndarray:
        """The block's diagonal (all ones when no gate was added)."""
        if self.diagonal is None:
            return np.ones(1 << self.k, dtype=np.complex128)
        return self.diagonal


class MonomialBuilder:
    """The product of monomial gates on a block of ``k`` qubits, as an index map."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.rows = np.arange(1 << k, dtype=np.int64)
        self.phases: np.ndarray | None = None  # None: all ones

    def diagonal_gate(self, positions: tuple[int, ...], diagonal: np.ndarray) -> None:
        """Multiply by a diagonal gate: the phase of each image's basis state."""
        factors = diagonal[_tables(self.k, positions)[0][self.rows]]
        self.phases = (
            factors.astype(np.complex128) if self.phases is None else self.phases * factors
        )

    def monomial_gate(
        self, positions: tuple[int, ...], rows: np.ndarray, phases: np.ndarray | None
    ) -> None:
        """Follow with a gate sending its basis state g to ``rows[g]`` times ``phases[g]``."""
        sub, deposit, mask = _tables(self.k, positions)
        gate_index = sub[self.rows]
        if phases is not None:
            factors = phases[gate_index]
            self.phases = (
                factors.astype(np.complex128) if self.phases is None else self.phases * factors
            )
        moved = deposit[rows][gate_index]  # the gate's image bits, in place in the block
        self.rows &= ~mask
        self.rows |= moved

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, phases)`` of the block."""
        phases = np.ones(1 << self.k, dtype=np.complex128) if self.phases is None else self.phases
        return self.rows, phases


class DenseBuilder:
    """The product of gates on a block of ``k`` qubits as a dense matrix."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.matrix = np.eye(1 << k, dtype=np.complex128)
        self.identity = True  # nothing applied yet

    def dense_gate(self, positions: tuple[int, ...], matrix: np.ndarray) -> None:
        """Apply a gate's matrix to the rows of the block matrix."""
        if self.identity and positions == tuple(range(self.k)):
            self.matrix = np.array(matrix, dtype=np.complex128)  # the first gate, as it is
            self.identity = False
            return
        self.identity = False
        m = len(positions)
        low = min(positions)
        if m == 2 and positions == (low + 1, low):
            # The gate's two qubits in the other order: exchange them in its matrix.
            matrix = matrix[_SWAP_ORDER][:, _SWAP_ORDER]
            positions = (low, low + 1)
        if positions == tuple(range(low, low + m)):
            # Adjacent bits: the rows, as (higher bits, gate bits, lower bits x columns),
            # are a batch of gate-sized slices: one product, no gather.
            dim = 1 << self.k
            view = self.matrix.reshape(1 << (self.k - low - m), 1 << m, (1 << low) * dim)
            self.matrix = (matrix @ view).reshape(dim, dim)
            return
        index = _rows_index(self.k, positions)
        # (groups, 2^m, columns): each group is one gate-sized slice of every column.
        self.matrix[index] = np.matmul(matrix, self.matrix[index])

    def diagonal_gate(self, positions: tuple[int, ...], diagonal: np.ndarray) -> None:
        """Multiply the rows by a diagonal gate's factors."""
        self.identity = False
        self.matrix *= diagonal[_tables(self.k, positions)[0]][:, None]

    def monomial_gate(
        self, positions: tuple[int, ...], rows: np.ndarray, phases: np.ndarray | None
    ) -> None:
        """Move each row to its image (times its phase)."""
        self.identity = False
        sub, deposit, mask = _tables(self.k, positions)
        local = _local(self.k)
        target = (local & ~mask) | deposit[rows[sub]]
        moved = np.empty_like(self.matrix)
        if phases is None:
            moved[target] = self.matrix
        else:
            moved[target] = self.matrix * phases[sub][:, None]
        self.matrix = moved

    def result(self) -> np.ndarray:
        """The block's matrix."""
        return self.matrix
