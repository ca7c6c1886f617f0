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

from openqpu.sim.structure import Structure

# Nanoseconds per amplitude to apply one block, by structure and then by width (index =
# number of qubits), on an in-cache state with one thread: measured by
# ``bench/fusion_costs.py``. Large states are cache-blocked, so compute is what a
# block costs there too. A width past the end of a table is not allowed: ten qubits
# is the widest block that still fits a cache block beside its contiguous low bits.
COSTS: dict[np.dtype, dict[Structure, tuple[float, ...]]] = {
    np.dtype(np.complex128): {
        Structure.DENSE: (0.0, 1.35, 2.8, 18.0, 40.0),
        Structure.DIAGONAL: (0.0, 1.2, 1.2, 1.25, 1.55, 1.6, 2.1, 2.2, 2.2, 2.3, 2.4),
        Structure.MONOMIAL: (0.0, 2.2, 2.0, 3.6, 3.6, 3.6, 3.8, 3.9, 3.9, 4.1, 4.2),
    },
    np.dtype(np.complex64): {
        Structure.DENSE: (0.0, 1.3, 2.7, 15.0, 19.0),
        Structure.DIAGONAL: (0.0, 1.1, 1.1, 1.2, 1.5, 1.55, 1.95, 2.0, 2.15, 2.2, 2.3),
        Structure.MONOMIAL: (0.0, 1.8, 1.75, 3.2, 3.2, 3.2, 3.4, 3.5, 3.5, 3.7, 3.8),
    },
}


@dataclass
class Block:
    """Leaves (indices into the segment's gate list) fused into one operation."""

    qubits: list[int]
    leaves: list[int] = field(default_factory=list)
    structure: Structure = Structure.DIAGONAL
    standalone: bool = False


@dataclass(frozen=True)
class LeafShape:
    """What fusion needs to know of a gate."""

    qubits: tuple[int, ...]
    structure: Structure
    fusable: bool = True


class CostModel:
    """Cost of dense, monomial and diagonal blocks for one dtype."""

    def __init__(self, dtype: np.dtype) -> None:
        self.tables = COSTS[np.dtype(dtype)]

    def cost(self, num_qubits: int, structure: Structure) -> float:
        """Nanoseconds per amplitude of one block; ``inf`` when it is not allowed."""
        table = self.tables[structure]
        return table[num_qubits] if num_qubits < len(table) else float("inf")


def plan_fusion(shapes: Sequence[LeafShape], model: CostModel) -> list[Block]:
    """Group gates (in program order) into blocks; applying the blocks in order is exact.

    Single-qubit gates wait on their qubit and join the next gate that touches it
    (they commute with everything else in between).
    """
    blocks: list[Block] = []
    last: dict[int, int] = {}
    pending: dict[int, list[int]] = {}

    def place(qubits: list[int], leaves: list[int], structure: Structure) -> None:
        candidate = max((last.get(q, -1) for q in qubits), default=-1)
        if candidate >= 0 and not blocks[candidate].standalone:
            block = blocks[candidate]
            union = block.qubits + [q for q in qubits if q not in block.qubits]
            merged_structure = max(block.structure, structure)
            merged = model.cost(len(union), merged_structure)
            apart = model.cost(len(block.qubits), block.structure) + model.cost(
                len(qubits), structure
            )
            if merged != float("inf") and merged <= apart:
                block.qubits = union
                block.leaves.extend(leaves)
                block.structure = merged_structure
                for q in qubits:
                    last[q] = candidate
                return
        blocks.append(Block(list(qubits), list(leaves), structure))
        for q in qubits:
            last[q] = len(blocks) - 1

    def take_pending(qubits: Sequence[int]) -> tuple[list[int], Structure]:
        leaves: list[int] = []
        structure = Structure.DIAGONAL
        for q in qubits:
            for index in pending.pop(q, []):
                leaves.append(index)
                structure = max(structure, shapes[index].structure)
        return leaves, structure

    def place_with_pending(shape: LeafShape, index: int) -> None:
        # Waiting one-qubit gates join this gate when that is cheaper than applying
        # them on their own (a dense 1-qubit gate makes a cx dense, for one).
        waiting = {q: take_pending([q]) for q in shape.qubits}
        waiting = {q: parts for q, parts in waiting.items() if parts[0]}
        compound_structure = max(
            [shape.structure, *(structure for _, structure in waiting.values())]
        )
        together = model.cost(len(shape.qubits), compound_structure)
        apart = model.cost(len(shape.qubits), shape.structure) + sum(
            model.cost(1, structure) for _, structure in waiting.values()
        )
        if together <= apart:
            leaves = [leaf for leaves, _ in waiting.values() for leaf in leaves]
            place(list(shape.qubits), [*leaves, index], compound_structure)
            return
        for q, (leaves, structure) in waiting.items():
            place([q], leaves, structure)
        place(list(shape.qubits), [index], shape.structure)

    for index, shape in enumerate(shapes):
        if not shape.fusable:
            for q in shape.qubits:
                leaves, structure = take_pending([q])
                if leaves:
                    place([q], leaves, structure)
            blocks.append(Block(list(shape.qubits), [index], shape.structure, standalone=True))
            for q in shape.qubits:
                last[q] = len(blocks) - 1
        elif len(shape.qubits) == 1:
            pending.setdefault(shape.qubits[0], []).append(index)
        else:
            place_with_pending(shape, index)
    for q in sorted(pending):
        leaves, structure = take_pending([q])
        place([q], leaves, structure)
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
