"""Gate fusion: group neighbouring gates into dense, monomial or diagonal blocks.

The plan (which gates go into which block) depends only on the circuit's
structure, so it is made once per compiled program; the blocks are built
(``compose.py``) whenever parameters are bound. A merge is taken when the merged
block costs less than the two parts, counting for each the time to apply it to
the state (measured per amplitude by ``bench/fusion_costs.py``, plus a fixed cost
per operation) and the time to build it from its gates, which a user pays on
every new circuit: linear in the block's size per gate for diagonal and monomial
blocks, ``4^k 2^m`` for a gate on ``m`` qubits in a dense block of ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from openqpu.sim.small import NUMPY_BELOW_QUBITS
from openqpu.sim.structure import Structure

# Nanoseconds per amplitude to apply one block, by structure and then by width (index =
# number of qubits), on an in-cache state with one thread: measured by
# ``bench/fusion_costs.py``. Large states are cache-blocked, so compute is what a
# block costs there too. A width past the end of a table is not allowed: ten qubits
# is the widest block that still fits a cache block beside its contiguous low bits.
# Dense widths 1-4 run the vector kernels of ``simd.py`` (whatever the qubits' positions).
# Diagonal and monomial blocks of 1-2 qubits run as dense ones too (``ops.AS_DENSE_UP_TO``)
# but keep here what their own loops cost: merging is greedy, pair by pair, and only
# these costs lead it from a chain of cx or cp gates to the wide monomial or diagonal
# block that replaces the chain (a 10-qubit block costs ~2 ns, ten 2-qubit ones ~5).
# Quiet machine, the mean of two runs, 2026-12-06.
COSTS: dict[np.dtype, dict[Structure, tuple[float, ...]]] = {
    np.dtype(np.complex128): {
        Structure.DENSE: (0.0, 0.37, 0.51, 1.74, 4.67),
        Structure.DIAGONAL: (0.0, 0.95, 1.0, 1.03, 1.06, 1.0, 1.2, 1.3, 1.5, 1.3, 1.4),
        Structure.MONOMIAL: (0.0, 2.8, 2.1, 2.4, 2.05, 1.95, 1.9, 2.05, 2.05, 2.1, 2.2),
    },
    np.dtype(np.complex64): {
        Structure.DENSE: (0.0, 0.32, 0.39, 0.99, 2.56),
        Structure.DIAGONAL: (0.0, 0.9, 0.95, 1.0, 1.05, 1.1, 1.55, 1.65, 1.4, 1.5, 1.55),
        Structure.MONOMIAL: (0.0, 3.05, 2.0, 2.05, 1.8, 1.7, 1.6, 1.7, 1.7, 1.8, 1.8),
    },
}


# Nanoseconds of Python and kernel dispatch around applying one op, whatever its size:
# NumPy's kernels for small states, numba's above.
OP_NS_NUMPY = 20_000.0
OP_NS = 5_000.0
# Nanoseconds to build a block, per gate and entry of the block's table (compose.py):
# diagonal and monomial blocks touch 2^k entries per gate, a dense block 4^k 2^m.
BUILD_NS: dict[Structure, float] = {
    Structure.DIAGONAL: 2.0,
    Structure.MONOMIAL: 6.0,
    Structure.DENSE: 2.0,
}


@dataclass
class Block:
    """Leaves (indices into the segment's gate list) fused into one operation.

    ``span`` is the sum of ``2^m`` over its leaves (``m``: a leaf's qubits), what
    building a dense block costs per ``4^k``.
    """

    qubits: list[int]
    leaves: list[int] = field(default_factory=list)
    structure: Structure = Structure.DIAGONAL
    standalone: bool = False
    span: int = 0


class LeafShape(NamedTuple):
    """What fusion needs to know of a gate."""

    qubits: tuple[int, ...]
    structure: Structure
    fusable: bool = True


class CostModel:
    """Cost of dense, monomial and diagonal blocks for one dtype and state size.

    Without ``num_qubits`` only the per-amplitude cost of applying a block counts
    (a state so large that building and dispatch are free).
    """

    def __init__(self, dtype: np.dtype, num_qubits: int | None = None) -> None:
        self.tables_key = np.dtype(dtype)
        self.tables = COSTS[self.tables_key]
        self.amplitudes = None if num_qubits is None else float(1 << num_qubits)
        small = num_qubits is not None and num_qubits < NUMPY_BELOW_QUBITS
        self.op_ns = OP_NS_NUMPY if small else OP_NS

    def cost(self, num_qubits: int, structure: Structure) -> float:
        """Nanoseconds per amplitude of one block; ``inf`` when it is not allowed."""
        table = self.tables[structure]
        return table[num_qubits] if num_qubits < len(table) else float("inf")

    def apply(self, num_qubits: int, structure: Structure) -> float:
        """Nanoseconds to apply a block of ``num_qubits`` to the state."""
        per_amplitude = self.cost(num_qubits, structure)
        if self.amplitudes is None:
            return per_amplitude
        return self.op_ns + per_amplitude * self.amplitudes

    def build(self, num_qubits: int, structure: Structure, leaves: int, span: int) -> float:
        """Nanoseconds to build a block of ``leaves`` gates (``span``: their sum of 2^m)."""
        if self.amplitudes is None:
            return 0.0
        if structure is Structure.DENSE:
            return BUILD_NS[structure] * float(1 << (2 * num_qubits)) * span
        return BUILD_NS[structure] * float(1 << num_qubits) * leaves

    def plan_tables(self) -> tuple[list[list[float]], list[list[float]]]:
        """Per structure (by value) and width: the cost to apply a block, and to build it
        per gate (per ``2^m`` of the gates for dense blocks); widths up to one past the
        widest allowed, whose cost is ``inf``."""
        return _plan_tables(self.tables_key, self.amplitudes, self.op_ns)

    def total(self, num_qubits: int, structure: Structure, leaves: int, span: int) -> float:
        """Building plus applying."""
        return self.apply(num_qubits, structure) + self.build(num_qubits, structure, leaves, span)


@lru_cache(maxsize=256)
def _plan_tables(
    dtype: np.dtype, amplitudes: float | None, op_ns: float
) -> tuple[list[list[float]], list[list[float]]]:
    model = CostModel(dtype)
    model.amplitudes, model.op_ns = amplitudes, op_ns
    widest = max(len(table) for table in model.tables.values())
    apply_cost = [[model.apply(k, structure) for k in range(widest + 1)] for structure in Structure]
    build_cost = [
        [model.build(k, structure, 1, 1) if k < widest else 0.0 for k in range(widest + 1)]
        for structure in Structure
    ]
    return apply_cost, build_cost


class _Open:
    """A block while it is planned (structure as an int, for speed)."""

    __slots__ = ("count", "leaves", "qubits", "span", "standalone", "structure", "width")

    def __init__(
        self, qubits: list[int], leaves: list[int], structure: int, span: int, standalone: bool
    ) -> None:
        self.qubits = qubits
        self.width = len(qubits)
        self.leaves = leaves
        self.count = len(leaves)
        self.structure = structure
        self.span = span
        self.standalone = standalone


def plan_fusion(shapes: Sequence[LeafShape], model: CostModel) -> list[Block]:
    """Group gates (in program order) into blocks; applying the blocks in order is exact.

    Single-qubit gates wait on their qubit and join the next gate that touches it
    (they commute with everything else in between). Linear in the number of gates,
    a few microseconds each.
    """
    inf = float("inf")
    dense = int(Structure.DENSE)
    apply_cost, build_cost = model.plan_tables()
    widest = len(apply_cost[0]) - 2

    def total(k: int, structure: int, leaves: int, span: int) -> float:
        if k > widest:
            return inf
        per = span if structure == dense else leaves
        return apply_cost[structure][k] + build_cost[structure][k] * per

    blocks: list[_Open] = []
    last: dict[int, int] = {}
    pending: dict[int, list[Any]] = {}  # qubit -> [leaves, structure]

    def place(qubits: Sequence[int], leaves: list[int], structure: int, span: int) -> None:
        candidate = -1
        for q in qubits:
            found = last.get(q, -1)
            if found > candidate:
                candidate = found
        if candidate >= 0:
            block = blocks[candidate]
            if not block.standalone:
                inside = block.qubits
                extra = [q for q in qubits if q not in inside]
                width = block.width + len(extra)
                merged_structure = block.structure if block.structure > structure else structure
                added = len(leaves)
                merged = total(width, merged_structure, block.count + added, block.span + span)
                if merged != inf:
                    apart = total(block.width, block.structure, block.count, block.span) + total(
                        len(qubits), structure, added, span
                    )
                    if merged <= apart:
                        inside.extend(extra)
                        block.width = width
                        block.leaves.extend(leaves)
                        block.count += added
                        block.structure = merged_structure
                        block.span += span
                        for q in qubits:
                            last[q] = candidate
                        return
        blocks.append(_Open(list(qubits), leaves, structure, span, False))
        position = len(blocks) - 1
        for q in qubits:
            last[q] = position

    def flush(q: int) -> None:
        leaves, structure = pending.pop(q)
        place((q,), leaves, structure, 2 * len(leaves))

    for index, shape in enumerate(shapes):
        qubits = shape.qubits
        structure = int(shape.structure)
        width = len(qubits)
        if not shape.fusable:
            for q in qubits:
                if q in pending:
                    flush(q)
            blocks.append(_Open(list(qubits), [index], structure, 1 << width, True))
            for q in qubits:
                last[q] = len(blocks) - 1
            continue
        if width == 1:
            entry = pending.get(qubits[0])
            if entry is None:
                pending[qubits[0]] = [[index], structure]
            else:
                entry[0].append(index)
                if structure > entry[1]:
                    entry[1] = structure
            continue
        waiting = [q for q in qubits if q in pending]
        if waiting:
            # Waiting one-qubit gates join this gate when that is cheaper than applying
            # them on their own (a dense 1-qubit gate makes a cx dense, for one).
            compound = structure
            joined = 0
            apart = total(width, structure, 1, 1 << width)
            for q in waiting:
                leaves, own = pending[q]
                compound = max(compound, own)
                joined += len(leaves)
                apart += total(1, own, len(leaves), 2 * len(leaves))
            together = total(width, compound, 1 + joined, (1 << width) + 2 * joined)
            if together <= apart:
                gathered = [leaf for q in waiting for leaf in pending.pop(q)[0]]
                gathered.append(index)
                place(qubits, gathered, compound, (1 << width) + 2 * joined)
                continue
            for q in waiting:
                flush(q)
        place(qubits, [index], structure, 1 << width)
    for q in sorted(pending):
        flush(q)
    return [
        Block(block.qubits, block.leaves, Structure(block.structure), block.standalone, block.span)
        for block in blocks
    ]
