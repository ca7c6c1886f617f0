"""Executable operations: fused blocks with their matrices bound, ready for the kernels.

Each op picks the serial or the parallel kernel driver from the state's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from openqpu.sim import small
from openqpu.sim.threads import SERIAL_BELOW_QUBITS

if TYPE_CHECKING:
    from openqpu.sim.affine import AffinePermutationOp


_X = np.array([[0, 1], [1, 0]])


# The widest dense op the vector kernels (``simd``) take; wider ones (rare: fusion stops
# at 4) run the generic loop.
MAX_VECTOR_DENSE = 4
# Diagonal and monomial ops up to this width run as dense ones: the vector kernels do
# a dense 1- or 2-qubit matrix in 0.25-0.5 ns an amplitude, the diagonal and monomial
# loops take 0.8-1.1 and 1.6-3.5 (bench/fusion_costs.py, in cache, one thread).
AS_DENSE_UP_TO = 2


def kernels() -> ModuleType:
    """The numba kernels, imported on first use (small states never need them)."""
    from openqpu.sim import kernels as module

    return module


def state_kernels(state: np.ndarray) -> ModuleType:
    """The module whose measurement kernels suit ``state``: NumPy when small, else numba."""
    return small if small.is_small(state) else kernels()


def probability_of_one(state: np.ndarray, qubit: int) -> float:
    """The probability that measuring ``qubit`` gives 1, clipped to [0, 1]."""
    if small.is_small(state):
        p1 = small.probability_of_one(state, qubit)
    elif state.size < 1 << SERIAL_BELOW_QUBITS:
        p1 = kernels().probability_of_one(state, qubit)
    else:
        p1 = kernels().probability_of_one_parallel(state, qubit)
    return min(1.0, max(0.0, float(p1)))


def collapse(
    state: np.ndarray, qubit: int, outcome: int, scale: float, *, to_zero: bool = False
) -> None:
    """Project ``qubit`` onto ``outcome``, scale the survivors, and with ``to_zero`` move
    them to ``qubit`` = 0 (a reset)."""
    if state.size >= 1 << SERIAL_BELOW_QUBITS:
        kernels().collapse_parallel(state, qubit, outcome, scale, to_zero)
        return
    state_kernels(state).collapse(state, qubit, outcome, scale)
    if to_zero and outcome:
        DenseOp((qubit,), _X.astype(state.dtype)).apply(state)


def index_offsets(qubits: tuple[int, ...]) -> np.ndarray:
    """``offsets[a]``: the state-index offset of local basis state ``a`` on ``qubits``.

    Bit j of ``a`` is qubit ``qubits[j]``: an int64 array of ``2 ** len(qubits)`` entries,
    shared between callers (cached): never modify it. (It stays writeable: numba
    compiles its kernels again for read-only arrays.)

    >>> index_offsets((2, 0)).tolist()
    [0, 4, 1, 5]
    """
    return _index_offsets(tuple(int(q) for q in qubits))


def sorted_matrix(matrix: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
    """``matrix`` (index bit j on ``qubits[j]``) with its index bits in ascending qubit
    order, C-contiguous.

    >>> cx = np.eye(4)[[0, 3, 2, 1]]  # control qubit 0 (bit 0), target 1
    >>> bool((sorted_matrix(cx, (0, 1)) == cx).all())
    True
    """
    k = len(qubits)
    order = sorted(range(k), key=lambda j: qubits[j])
    if order == list(range(k)):
        return np.ascontiguousarray(matrix)
    # Tensor axis a holds index bit k-1-a; new bit t is old bit order[t].
    axes = [k - 1 - order[k - 1 - a] for a in range(k)]
    tensor = matrix.reshape((2,) * (2 * k)).transpose(axes + [k + a for a in axes])
    return np.ascontiguousarray(tensor.reshape(1 << k, 1 << k))


@lru_cache(maxsize=4096)
def _index_offsets(qubits: tuple[int, ...]) -> np.ndarray:
    local = np.arange(1 << len(qubits), dtype=np.int64)
    offsets = np.zeros_like(local)
    for j, q in enumerate(qubits):
        offsets |= ((local >> j) & 1) << q
    return offsets


@lru_cache(maxsize=4096)
def _low_table(qubits: tuple[int, ...], size: int) -> np.ndarray:
    return kernels().diagonal_low_table(np.array(qubits, dtype=np.int64), size)


def _is_small(state: np.ndarray) -> bool:
    """True when the serial kernel drivers are the better choice."""
    return state.size < (1 << SERIAL_BELOW_QUBITS)


@dataclass
class DenseOp:
    """A dense matrix on ``qubits`` (matrix index bit j is qubits[j])."""

    qubits: tuple[int, ...]
    matrix: np.ndarray

    # Kernel arguments, made on first use: an op taken into a group never needs them.
    @cached_property
    def _bits(self) -> np.ndarray:
        return np.array(sorted(self.qubits), dtype=np.int64)

    @cached_property
    def _offsets(self) -> np.ndarray:
        return index_offsets(self.qubits)

    @cached_property
    def _sorted_matrix(self) -> np.ndarray:
        return sorted_matrix(self.matrix, self.qubits)

    def apply(self, state: np.ndarray) -> None:
        """Apply in place."""
        if small.is_small(state):
            small.apply_dense(state, self.qubits, self.matrix)
            return
        k = kernels()
        serial = _is_small(state)
        if len(self.qubits) == 1:
            driver = k.dense1_serial if serial else k.dense1_parallel
            driver(state, self.qubits[0], self.matrix)
        elif len(self.qubits) == 2:
            driver = k.dense2_serial if serial else k.dense2_parallel
            driver(state, self.qubits[0], self.qubits[1], self.matrix)
        elif len(self.qubits) <= MAX_VECTOR_DENSE:
            driver = k.dense_sorted_serial if serial else k.dense_sorted_parallel
            driver(state, self._bits, self._sorted_matrix)
        else:
            driver = k.dense_serial if serial else k.dense_parallel
            driver(state, self._bits, 0, self._offsets, self.matrix)


@dataclass
class DiagonalOp:
    """Multiply by a diagonal over ``qubits`` (index bit j is qubits[j])."""

    qubits: tuple[int, ...]
    diagonal: np.ndarray

    @cached_property
    def _qubits(self) -> np.ndarray:
        return np.array(self.qubits, dtype=np.int64)

    def low_table(self, size: int, qubits: np.ndarray | None = None) -> np.ndarray:
        """The kernel's lookup table for a state (or buffer) of ``size`` amplitudes
        (shared between ops: never modify it)."""
        key = self.qubits if qubits is None else tuple(int(q) for q in qubits)
        return _low_table(key, size)

    def as_dense(self) -> DenseOp:
        """The same op as a dense matrix."""
        return DenseOp(self.qubits, np.diag(self.diagonal))

    @cached_property
    def runs_as(self) -> DenseOp | None:
        """The dense op the kernels apply instead (up to ``AS_DENSE_UP_TO`` qubits)."""
        return self.as_dense() if len(self.qubits) <= AS_DENSE_UP_TO else None

    def apply(self, state: np.ndarray) -> None:
        """Apply in place."""
        if small.is_small(state):
            small.apply_diagonal(state, self.qubits, self.diagonal)
            return
        if self.runs_as is not None:
            self.runs_as.apply(state)
            return
        table = self.low_table(state.size)
        k = kernels()
        driver = k.diagonal_serial if _is_small(state) else k.diagonal_parallel
        driver(state, self._qubits, self.diagonal, table)


@dataclass
class MonomialOp:
    """A permutation with phases on ``qubits``: basis state a goes to ``rows[a]``.

    Index bit j of ``a`` and ``rows[a]`` is qubits[j]; ``phases[a]`` multiplies it.
    """

    qubits: tuple[int, ...]
    rows: np.ndarray
    phases: np.ndarray

    @cached_property
    def _bits(self) -> np.ndarray:
        return np.array(sorted(self.qubits), dtype=np.int64)

    @cached_property
    def _moves(self) -> tuple[np.ndarray, np.ndarray]:
        return self.offsets(self.qubits)

    @property
    def sources(self) -> np.ndarray:
        """Index offset of each local basis state."""
        return self._moves[0]

    @property
    def targets(self) -> np.ndarray:
        """Index offset of each local basis state's image."""
        return self._moves[1]

    def offsets(self, positions: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Source and target index offsets when qubit j sits at bit ``positions[j]``."""
        sources = index_offsets(positions)
        return sources, sources[self.rows]

    def as_dense(self) -> DenseOp:
        """The same op as a dense matrix."""
        matrix = np.zeros((self.rows.size, self.rows.size), dtype=self.phases.dtype)
        matrix[self.rows, np.arange(self.rows.size)] = self.phases
        return DenseOp(self.qubits, matrix)

    @cached_property
    def runs_as(self) -> DenseOp | None:
        """The dense op the kernels apply instead (up to ``AS_DENSE_UP_TO`` qubits)."""
        return self.as_dense() if len(self.qubits) <= AS_DENSE_UP_TO else None

    def apply(self, state: np.ndarray) -> None:
        """Apply in place."""
        if small.is_small(state):
            small.apply_monomial(state, self.qubits, self.rows, self.phases)
            return
        if self.runs_as is not None:
            self.runs_as.apply(state)
            return
        k = kernels()
        driver = k.monomial_serial if _is_small(state) else k.monomial_parallel
        driver(state, self._bits, self.sources, self.targets, self.phases)


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
        self._offsets = index_offsets(self.targets)
        self._fixed = sum(1 << q for j, q in enumerate(self.controls) if self.ctrl_state >> j & 1)

    def apply(self, state: np.ndarray) -> None:
        """Apply in place."""
        if small.is_small(state):
            small.apply_controlled(state, self.controls, self.ctrl_state, self.targets, self.matrix)
            return
        k = kernels()
        driver = k.dense_serial if _is_small(state) else k.dense_parallel
        driver(state, self._bits, self._fixed, self._offsets, self.matrix)


GroupMember = DenseOp | DiagonalOp | MonomialOp


@dataclass
class GroupOp:
    """Small dense, diagonal and monomial ops applied per cache-sized sub-state."""

    block_bits: np.ndarray
    run_bits: int
    members: list[GroupMember]

    def __post_init__(self) -> None:
        codes = kernels()
        position = {int(bit): j for j, bit in enumerate(self.block_bits)}
        size = 1 << len(self.block_bits)
        count = len(self.members)
        widest = max(len(op.qubits) for op in self.members)
        code_list: list[int] = []
        widths: list[int] = []
        data_start: list[int] = []
        index_start: list[int] = []
        self._qubits = np.zeros((count, widest), dtype=np.int64)
        data: list[np.ndarray] = []
        indices: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        data_used = index_used = 0
        for i, member in enumerate(self.members):
            op = member
            if isinstance(op, DiagonalOp | MonomialOp) and op.runs_as is not None:
                op = op.runs_as
            local = tuple([position[q] for q in op.qubits])
            if isinstance(op, DiagonalOp):
                code, values = codes.OP_DIAGONAL, op.diagonal
                extra = _low_table(local, size)
            elif isinstance(op, MonomialOp):
                code, values = codes.OP_MONOMIAL, op.phases
                extra = np.concatenate(op.offsets(local))
                local = tuple(sorted(local))
            else:
                # Sorted local positions with the matrix reordered to match.
                code, values = codes.OP_DENSE, sorted_matrix(op.matrix, local).ravel()
                local = tuple(sorted(local))
                extra = None
            code_list.append(code)
            self._qubits[i, : len(local)] = local
            widths.append(len(local))
            data_start.append(data_used)
            index_start.append(index_used)
            data.append(values)
            data_used += values.size
            if extra is not None:
                indices.append(extra)
                index_used += extra.size
        self._codes = np.array(code_list, dtype=np.int64)
        self._widths = np.array(widths, dtype=np.int64)
        self._data_start = np.array(data_start, dtype=np.int64)
        self._index_start = np.array(index_start, dtype=np.int64)
        self._data = np.ascontiguousarray(np.concatenate(data))
        self._indices = np.ascontiguousarray(np.concatenate(indices))

    @property
    def qubits(self) -> tuple[int, ...]:
        """Every state bit of the sub-state."""
        return tuple(int(b) for b in self.block_bits)

    def apply(self, state: np.ndarray, only_groups: np.ndarray | None = None) -> None:
        """Apply every member in place, one pass over the state.

        ``only_groups`` limits the work to those sub-states (see ``groups_touching``).
        """
        kernels().apply_group(
            state,
            self.block_bits,
            self.run_bits,
            self._codes,
            self._qubits,
            self._widths,
            self._data_start,
            self._data,
            self._index_start,
            self._indices,
            _ALL_GROUPS if only_groups is None else only_groups,
        )

    def groups_touching(self, num_qubits: int, nonzero: set[int]) -> np.ndarray | None:
        """Sub-states that can hold non-zero amplitudes when every qubit outside
        ``nonzero`` is |0>; None when that is all of them."""
        inside = {int(b) for b in self.block_bits}
        spectators = [q for q in range(num_qubits) if q not in inside]
        free = [k for k, q in enumerate(spectators) if q in nonzero]
        if len(free) == len(spectators):
            return None
        groups = np.zeros(1 << len(free), dtype=np.int64)
        count = np.arange(groups.size, dtype=np.int64)
        for j, k in enumerate(free):
            groups |= ((count >> j) & 1) << k
        return groups


_ALL_GROUPS = np.zeros(0, dtype=np.int64)

# A string: AffinePermutationOp's module imports this one.
GateOp: TypeAlias = (
    "DenseOp | DiagonalOp | MonomialOp | ControlledOp | GroupOp | AffinePermutationOp"
)
