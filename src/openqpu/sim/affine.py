"""Affine permutations: networks of x, cx and swap as one pass over a small state.

A pure permutation of basis states whose index map is affine over GF(2),
``j = A i + c`` (every cx, x and swap network is), is applied by computing each
target index from byte tables -- a few lookups per amplitude -- instead of one
pass per gate. GHZ-style cx chains become a single pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from openqpu.sim.blocking import MIN_EXTRA_QUBITS, block_qubits_for
from openqpu.sim.ops import GateOp, MonomialOp

# Out of place, so it needs a second state; kept to states that sit in cache.
MAX_QUBITS = 18


def affine_form(rows: np.ndarray) -> tuple[list[int], int] | None:
    """``(columns, constant)`` when ``a -> rows[a]`` is affine over GF(2), else None.

    ``columns[j]`` is the image of local basis bit j: rows[a] = constant ^ XOR of
    columns[j] over the bits j set in a.
    """
    form = _affine_form(np.ascontiguousarray(rows, dtype=np.int64).tobytes())
    return None if form is None else (list(form[0]), form[1])


@lru_cache(maxsize=4096)
def _affine_form(packed: bytes) -> tuple[tuple[int, ...], int] | None:
    # Keyed by the map's bytes: the same gates and blocks recur within and across circuits.
    rows = np.frombuffer(packed, dtype=np.int64)
    constant = int(rows[0])
    width = int(rows.size).bit_length() - 1
    columns = [int(rows[1 << j]) ^ constant for j in range(width)]
    local = np.arange(rows.size, dtype=np.int64)
    image = np.full(rows.size, constant, dtype=np.int64)
    for j, column in enumerate(columns):
        image ^= ((local >> j) & 1) * column
    return (tuple(columns), constant) if np.array_equal(image, rows) else None


@dataclass
class AffinePermutationOp:
    """A permutation ``i -> L(i) ^ constant`` of the whole state, from byte tables."""

    num_qubits: int
    tables: np.ndarray  # (bytes, 256) int64: contribution of each byte of i to L(i)
    constant: int

    @property
    def qubits(self) -> tuple[int, ...]:
        """Every qubit (the op is applied to the whole state)."""
        return tuple(range(self.num_qubits))

    @classmethod
    def from_monomials(
        cls, num_qubits: int, parts: Sequence[tuple[tuple[int, ...], list[int], int]]
    ) -> AffinePermutationOp:
        """Compose affine maps ``(qubits, columns, constant)`` applied in order."""
        # Track the images of every state bit and of zero through the sequence.
        images = [1 << q for q in range(num_qubits)]
        shift = 0
        for qubits, columns, constant in parts:
            images = [_apply(v, qubits, columns, 0) for v in images]
            shift = _apply(shift, qubits, columns, constant)
        count = (num_qubits + 7) // 8
        tables = np.zeros((count, 256), dtype=np.int64)
        byte = np.arange(256, dtype=np.int64)
        for b in range(count):
            for bit in range(8):
                q = 8 * b + bit
                if q < num_qubits:
                    tables[b] ^= ((byte >> bit) & 1) * images[q]
        return cls(num_qubits, tables, shift)

    def apply(self, state: np.ndarray) -> None:
        """Apply in place (through one temporary state)."""
        from openqpu.sim.ops import kernels

        if state.size < (1 << 11):
            target = np.full(state.size, self.constant, dtype=np.int64)
            index = np.arange(state.size, dtype=np.int64)
            for b in range(self.tables.shape[0]):
                target ^= self.tables[b][(index >> (8 * b)) & 255]
            moved = np.empty_like(state)
            moved[target] = state
            state[:] = moved
            return
        kernels().affine_permute(state, self.tables, self.constant)


def _apply(value: int, qubits: Sequence[int], columns: Sequence[int], constant: int) -> int:
    """The image of state index ``value`` under a local affine map on ``qubits``."""
    local = 0
    for j, q in enumerate(qubits):
        local |= ((value >> q) & 1) << j
    image = constant
    for j, column in enumerate(columns):
        if (local >> j) & 1:
            image ^= column
    result = value
    for j, q in enumerate(qubits):
        result = (result & ~(1 << q)) | (((image >> j) & 1) << q)
    return result


def merge_permutations(
    ops: list[GateOp], num_qubits: int, dtype: np.dtype | None = None
) -> list[GateOp]:
    """Replace each run of two or more consecutive pure affine permutations by one op.

    With ``dtype``, only below the size where cache blocking starts: there the blocked
    groups take permutation runs in their one pass per group, while the out-of-place
    permutation pays a second state that no longer sits in cache (GHZ-16, complex128:
    1.0 ms against 0.67 ms, and more to bind).
    """
    limit = MAX_QUBITS
    if dtype is not None:
        limit = min(limit, block_qubits_for(dtype) + MIN_EXTRA_QUBITS - 1)
    if num_qubits > limit:
        return ops
    result: list[GateOp] = []
    run: list[tuple[MonomialOp, list[int], int]] = []

    def flush() -> None:
        if len(run) >= 2:
            parts = [(op.qubits, columns, constant) for op, columns, constant in run]
            result.append(AffinePermutationOp.from_monomials(num_qubits, parts))
        else:
            result.extend(op for op, _, _ in run)
        run.clear()

    for op in ops:
        if (
            isinstance(op, MonomialOp)
            and np.all(op.phases == 1)
            and (form := affine_form(op.rows)) is not None
        ):
            run.append((op, *form))
        else:
            flush()
            result.append(op)
    flush()
    return result
