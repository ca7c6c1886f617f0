"""Executable operations: fused blocks with their matrices bound, ready for the kernels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openqpu.sim import kernels


def _offsets(qubits: tuple[int, ...]) -> np.ndarray:
    """``offsets[a]``: the state-index offset of local basis state ``a`` on ``qubits``."""
    local = np.arange(1 << len(qubits), dtype=np.int64)
    offsets = np.zeros_like(local)
    for j, q in enumerate(qubits):
        offsets |= ((local >> j) & 1) << q
    return offsets


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
        if len(self.qubits) == 1:
            kernels.apply_matrix_1q(state, self.qubits[0], self.matrix)
        elif len(self.qubits) == 2:
            kernels.apply_matrix_2q(state, self.qubits[0], self.qubits[1], self.matrix)
        else:
            kernels.apply_matrix(state, self._bits, 0, self._offsets, self.matrix)


@dataclass
class DiagonalOp:
    """Multiply by a diagonal over ``qubits`` (index bit j is qubits[j])."""

    qubits: tuple[int, ...]
    diagonal: np.ndarray

    def __post_init__(self) -> None:
        self._qubits = np.array(self.qubits, dtype=np.int64)

    def apply(self, state: np.ndarray) -> None:
        """Apply in place."""
        kernels.apply_diagonal(state, self._qubits, self.diagonal)


@dataclass
class ControlledOp:
    """``matrix`` on ``targets`` where ``controls`` hold ``ctrl_state`` (bit j: controls[j])."""

    controls: tuple[int, ...]
    ctrl_state: int
    targets: tuple[int, ...]
    matrix: np.ndarray

    def __post_init__(self) -> None:
        self._bits = np.array(sorted(self.controls + self.targets), dtype=np.int64)
        self._offsets = _offsets(self.targets)
        self._fixed = sum(1 << q for j, q in enumerate(self.controls) if self.ctrl_state >> j & 1)

    def apply(self, state: np.ndarray) -> None:
        """Apply in place."""
        kernels.apply_matrix(state, self._bits, self._fixed, self._offsets, self.matrix)


GateOp = DenseOp | DiagonalOp | ControlledOp
