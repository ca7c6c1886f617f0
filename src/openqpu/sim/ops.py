"""Executable operations: fused blocks with their matrices bound, ready for the kernels.

Each op picks the serial or the parallel kernel driver from the state's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openqpu.sim import kernels
from openqpu.sim.threads import SERIAL_BELOW_QUBITS


def _offsets(qubits: tuple[int, ...]) -> np.ndarray:
    """``offsets[a]``: the state-index offset of local basis state ``a`` on ``qubits``."""
    local = np.arange(1 << len(qubits), dtype=np.int64)
    offsets = np.zeros_like(local)
    for j, q in enumerate(qubits):
        offsets |= ((local >> j) & 1) << q
    return offsets


def _is_small(state: np.ndarray) -> bool:
    return state.size < (1 << SERIAL_BELOW_QUBITS)


@dataclass
class DenseOp:
    """A dense matrix on ``qubits`` (matrix index bit j is qubits[j])."""

    qubits: tuple[int, ...]
    matrix: np.ndarray

    def __post_init__(self) -> None:
        self._bits = np.array(sorted(self.qubits), dtype=np.int64)
        self._offsets = _offsets(self.qubits)

    def apply(self, state: np.ndarray) -> None:
        """Apply in place."""
        small = _is_small(state)
        if len(self.qubits) == 1:
            driver = kernels.dense1_serial if small else kernels.dense1_parallel
            driver(state, self.qubits[0], self.matrix)
        elif len(self.qubits) == 2:
            driver = kernels.dense2_serial if small else kernels.dense2_parallel
            driver(state, self.qubits[0], self.qubits[1], self.matrix)
        else:
            driver = kernels.dense_serial if small else kernels.dense_parallel
            driver(state, self._bits, 0, self._offsets, self.matrix)


@dataclass
class DiagonalOp:
    """Multiply by a diagonal over ``qubits`` (index bit j is qubits[j])."""

    qubits: tuple[int, ...]
    diagonal: np.ndarray

    def __post_init__(self) -> None:
        self._qubits = np.array(self.qubits, dtype=np.int64)

    def apply(self, state: np.ndarray) -> None:
        """Apply in place."""
        driver = kernels.diagonal_serial if _is_small(state) else kernels.diagonal_parallel
        driver(state, self._qubits, self.diagonal)


@dataclass
class ControlledOp:
    """``matrix`` on ``targets`` where ``controls`` hold ``ctrl_state`` (bit j: controls[j])."""

    controls: tuple[int, ...]
    ctrl_state: int
    targets: tuple[int, ...]
    matrix: np.ndarray

    def __post_init__(self) -> None:
        self.qubits = self.controls + self.targets
        self._bits = np.array(sorted(self.qubits), dtype=np.int64)
        self._offsets = _offsets(self.targets)
        self._fixed = sum(1 << q for j, q in enumerate(self.controls) if self.ctrl_state >> j & 1)

    def apply(self, state: np.ndarray) -> None:
        """Apply in place."""
        driver = kernels.dense_serial if _is_small(state) else kernels.dense_parallel
        driver(state, self._bits, self._fixed, self._offsets, self.matrix)


@dataclass
class GroupOp:
    """Several one- and two-qubit or diagonal ops applied per cache-sized sub-state."""

    block_bits: np.ndarray
    run_bits: int
    members: list[DenseOp | DiagonalOp]

    def __post_init__(self) -> None:
        position = {int(bit): j for j, bit in enumerate(self.block_bits)}
        count = len(self.members)
        widest = max(len(op.qubits) for op in self.members)
        self._codes = np.empty(count, dtype=np.int64)
        self._qubits = np.zeros((count, widest), dtype=np.int64)
        self._widths = np.empty(count, dtype=np.int64)
        self._starts = np.empty(count, dtype=np.int64)
        pieces = []
        start = 0
        for i, op in enumerate(self.members):
            if isinstance(op, DiagonalOp):
                self._codes[i] = kernels.OP_DIAGONAL
                data = op.diagonal
            else:
                self._codes[i] = kernels.OP_DENSE1 if len(op.qubits) == 1 else kernels.OP_DENSE2
                data = op.matrix.ravel()
            self._qubits[i, : len(op.qubits)] = [position[q] for q in op.qubits]
            self._widths[i] = len(op.qubits)
            self._starts[i] = start
            pieces.append(data)
            start += data.size
        self._data = np.ascontiguousarray(np.concatenate(pieces))

    @property
    def qubits(self) -> tuple[int, ...]:
        """Every state bit of the sub-state."""
        return tuple(int(b) for b in self.block_bits)

    def apply(self, state: np.ndarray) -> None:
        """Apply every member in place, one pass over the state."""
        kernels.apply_group(
            state,
            self.block_bits,
            self.run_bits,
            self._codes,
            self._qubits,
            self._widths,
            self._starts,
            self._data,
        )


GateOp = DenseOp | DiagonalOp | ControlledOp | GroupOp
