"""Cache blocking: gather runs of small gates into groups applied per sub-state.

A group's gates (dense on one or two qubits, diagonal, monomial) all act inside
one set of at most ``block_qubits`` state bits (always including the lowest
``RUN_BITS`` so gathers copy contiguous runs). The
kernel walks the state sub-state by sub-state and applies every gate of the
group while the sub-state sits in cache, so a group costs one pass over memory
instead of one pass per gate. Gates may join a group out of order when they
commute with every gate they overtake (no shared qubit).
"""

from __future__ import annotations

from typing import TypeGuard

import numpy as np

from openqpu.sim.ops import (
    MAX_VECTOR_DENSE,
    DenseOp,
    DiagonalOp,
    GateOp,
    GroupMember,
    GroupOp,
    MonomialOp,
)

RUN_BITS = 4
# Sub-state of 2^14 amplitudes: 256 KiB in complex128, inside a core's L2.
BLOCK_BYTES = 1 << 18
# Only states much larger than a sub-state are worth the gather.
MIN_EXTRA_QUBITS = 2


def block_qubits_for(dtype: np.dtype) -> int:
    """Bits of a sub-state of ``BLOCK_BYTES`` in ``dtype``."""
    return int(np.log2(BLOCK_BYTES // np.dtype(dtype).itemsize))


def _groupable(op: GateOp, capacity: int) -> TypeGuard[GroupMember]:
    if isinstance(op, DenseOp):
        return len(op.qubits) <= MAX_VECTOR_DENSE
    return isinstance(op, DiagonalOp | MonomialOp) and len(op.qubits) <= capacity - RUN_BITS


def _group(members: list[GroupMember], bits: set[int], num_qubits: int, capacity: int) -> GroupOp:
    # Spare room in the sub-state goes to the lowest free bits: longer contiguous
    # runs make the gather and scatter cheaper.
    filler = (b for b in range(num_qubits) if b not in bits)
    while len(bits) < capacity:
        bits.add(next(filler))
    block_bits = np.array(sorted(bits), dtype=np.int64)
    run_bits = 0
    while run_bits < len(block_bits) and block_bits[run_bits] == run_bits:
        run_bits += 1
    return GroupOp(block_bits, run_bits, members)


def plan_groups(ops: list[GateOp], num_qubits: int, dtype: np.dtype) -> list[GateOp]:
    """Return ``ops`` with runs of groupable gates replaced by ``GroupOp``s."""
    capacity = block_qubits_for(dtype)
    if num_qubits < capacity + MIN_EXTRA_QUBITS or len(ops) < 2:
        return ops
    result: list[GateOp] = []
    remaining = list(ops)
    while remaining:
        first = remaining[0]
        if not _groupable(first, capacity):
            result.append(first)
            remaining.pop(0)
            continue
        bits = set(range(RUN_BITS)) | set(first.qubits)
        members: list[GroupMember] = [first]
        blocked: set[int] = set()
        rest: list[GateOp] = []
        for position in range(1, len(remaining)):
            op = remaining[position]
            qubits = set(op.qubits)
            if _groupable(op, capacity) and not qubits & blocked and len(bits | qubits) <= capacity:
                members.append(op)
                bits |= qubits
            else:
                rest.append(op)
                blocked |= qubits
                if len(blocked) == num_qubits:
                    rest.extend(remaining[position + 1 :])
                    break
        remaining = rest
        if len(members) == 1 and not isinstance(first, MonomialOp):
            # A lone streaming op gains nothing from a gather; a monomial does: on its
            # own it would jump across the whole state for every group.
            result.append(first)
        else:
            result.append(_group(members, bits, num_qubits, capacity))
    return result
