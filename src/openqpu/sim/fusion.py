"""Gate fusion: group neighbouring gates into dense or diagonal blocks.

The plan (which gates go into which block) depends only on the circuit's
structure, so it is made once per compiled program; the block matrices are
multiplied out whenever parameters are bound. A merge is taken when the merged
block is cheaper to apply than the two parts, with costs in passes over the
state measured by ``bench/fusion_costs.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# Time of one application in passes over the state (n = 24, 2 threads; see
# bench/fusion_costs.py). Index = number of qubits.
DENSE_COST = {
    np.dtype(np.complex128): (0.0, 0.75, 1.3, 5.1, 10.5),
    np.dtype(np.complex64): (0.0, 1.2, 2.4, 8.0, 10.2),
}
# Diagonal blocks cost base + per_qubit * width passes.
DIAGONAL_COST = {
    np.dtype(np.complex128): (1.0, 0.17),
    np.dtype(np.complex64): (1.6, 0.35),
}
MAX_DIAGONAL_QUBITS = 14


@dataclass
class Block:
    """Leaves (indices into the segment's gate list) fused into one operation."""

    qubits: list[int]
    leaves: list[int] = field(default_factory=list)
    diagonal: bool = True
    standalone: bool = False


@dataclass(frozen=True)
class LeafShape:
    """What fusion needs to know of a gate."""

    qubits: tuple[int, ...]
    diagonal: bool
    fusable: bool = True


class CostModel:
    """Cost in passes of dense and diagonal blocks for one dtype."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dense = DENSE_COST[np.dtype(dtype)]
        self.diagonal_base, self.diagonal_per_qubit = DIAGONAL_COST[np.dtype(dtype)]

    def cost(self, num_qubits: int, diagonal: bool) -> float:
        """Passes to apply one block; ``inf`` when such a block is not allowed."""
        if diagonal:
            if num_qubits > MAX_DIAGONAL_QUBITS:
                return float("inf")
            return self.diagonal_base + self.diagonal_per_qubit * num_qubits
        if num_qubits >= len(self.dense):
            return float("inf")
        return self.dense[num_qubits]


def plan_fusion(shapes: Sequence[LeafShape], model: CostModel) -> list[Block]:
    """Group gates (in program order) into blocks; applying the blocks in order is exact.

    Single-qubit gates wait on their qubit and join the next gate that touches it
    (they commute with everything else in between).
    """
    blocks: list[Block] = []
    last: dict[int, int] = {}
    pending: dict[int, list[int]] = {}

    def place(qubits: list[int], leaves: list[int], diagonal: bool) -> None:
        candidate = max((last.get(q, -1) for q in qubits), default=-1)
        if candidate >= 0 and not blocks[candidate].standalone:
            block = blocks[candidate]
            union = block.qubits + [q for q in qubits if q not in block.qubits]
            merged_diagonal = block.diagonal and diagonal
            merged = model.cost(len(union), merged_diagonal)
            apart = model.cost(len(block.qubits), block.diagonal) + model.cost(
                len(qubits), diagonal
            )
            if merged <= apart:
                block.qubits = union
                block.leaves.extend(leaves)
                block.diagonal = merged_diagonal
                for q in qubits:
                    last[q] = candidate
                return
        blocks.append(Block(list(qubits), list(leaves), diagonal))
        for q in qubits:
            last[q] = len(blocks) - 1

    def take_pending(qubits: Sequence[int]) -> tuple[list[int], bool]:
        leaves: list[int] = []
        diagonal = True
        for q in qubits:
            for index in pending.pop(q, []):
                leaves.append(index)
                diagonal = diagonal and shapes[index].diagonal
        return leaves, diagonal

    for index, shape in enumerate(shapes):
        if not shape.fusable:
            for q in shape.qubits:
                leaves, diagonal = take_pending([q])
                if leaves:
                    place([q], leaves, diagonal)
            blocks.append(Block(list(shape.qubits), [index], shape.diagonal, standalone=True))
            for q in shape.qubits:
                last[q] = len(blocks) - 1
        elif len(shape.qubits) == 1:
            pending.setdefault(shape.qubits[0], []).append(index)
        else:
            leaves, diagonal = take_pending(shape.qubits)
            place(list(shape.qubits), [*leaves, index], diagonal and shape.diagonal)
    for q in sorted(pending):
        leaves, diagonal = take_pending([q])
        place([q], leaves, diagonal)
    return blocks


def embed_matrix(
    matrix: np.ndarray, qubits: Sequence[int], block_qubits: Sequence[int]
) -> np.ndarray:
    """Extend a gate's matrix on ``qubits`` to the (larger) ordered set ``block_qubits``."""
    k, m = len(block_qubits), len(qubits)
    if list(qubits) == list(block_qubits):
        return matrix
    others = [q for q in block_qubits if q not in qubits]
    full = np.kron(np.eye(1 << (k - m), dtype=matrix.dtype), matrix)
    source_order = list(qubits) + others  # bit j of ``full`` is source_order[j]
    row_axes = [k - 1 - source_order.index(block_qubits[k - 1 - a]) for a in range(k)]
    axes = row_axes + [k + axis for axis in row_axes]
    return full.reshape((2,) * (2 * k)).transpose(axes).reshape(1 << k, 1 << k)


def embed_diagonal(
    diagonal: np.ndarray, qubits: Sequence[int], block_qubits: Sequence[int]
) -> np.ndarray:
    """Extend a gate's diagonal on ``qubits`` to the ordered set ``block_qubits``."""
    if list(qubits) == list(block_qubits):
        return diagonal
    local = np.arange(1 << len(block_qubits))
    sub = np.zeros_like(local)
    for j, q in enumerate(qubits):
        sub |= ((local >> block_qubits.index(q)) & 1) << j
    return diagonal[sub]
