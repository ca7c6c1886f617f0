"""The flat program the trajectory kernels run: its arrays, and the one builder of them.

``TrajectoryProgram`` is a named tuple of arrays, so numba takes it whole in
nopython mode (and caches the kernels compiled for it); ``TrajectoryProgramBuilder``
appends bound gates and noise events to it one operation at a time.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from openqpu.sim import trajectory_kernels as tk
from openqpu.sim.lowering import Measure, Noise, Reset
from openqpu.sim.noise import Depolarizing, ThermalRelaxation
from openqpu.sim.ops import ControlledOp, DenseOp, DiagonalOp, MonomialOp, index_offsets

# Uniforms each operation code consumes (gates consume none).
DRAWS = {tk.DEPOLARIZING: 1, tk.THERMAL_MIXTURE: 2, tk.THERMAL_KRAUS: 2, tk.MEASURE: 2, tk.RESET: 1}

# A gate the builder encodes: group members and single ops, not groups themselves.
EncodedGate = DenseOp | DiagonalOp | MonomialOp | ControlledOp


class TrajectoryProgram(NamedTuple):
    """A list of ``ops`` operations as flat arrays, for ``trajectory_kernels.run_solo``.

    Each operation owns a slice of four tables, given by a start array with one
    entry more than ``op_codes``: operation ``op`` reads
    ``qubit_table[qubit_start[op] : qubit_start[op + 1]]``, and likewise for the
    matrix, index and probability tables. What a slice holds depends on the code:

    Attributes:
        op_codes: int64, shape ``(ops,)``: each operation's code
            (``trajectory_kernels.DENSE1`` .. ``RESET``).
        qubit_start: int64, shape ``(ops + 1,)``: start of each operation's qubits.
        qubit_table: int64: the qubits each operation acts on, in matrix-index order
            (sorted for DENSE and MONOMIAL); MEASURE holds its qubit then its clbit.
        matrix_start: int64, shape ``(ops + 1,)``: start of each operation's entries.
        matrix_data: the state's complex dtype: DENSE1, DENSE2 and DENSE a row-major
            matrix, DIAGONAL its diagonal, MONOMIAL the phase of each basis state;
            noise events none.
        index_start: int64, shape ``(ops + 1,)``: start of each operation's indices.
        index_data: int64: DENSE the mask of the controls that must be 1, then the
            state-index offset of each target basis state; DIAGONAL the kernel's low
            table; MONOMIAL the source offsets, then the target offsets.
        probability_start: int64, shape ``(ops + 1,)``: start of each one's numbers.
        probability_data: float64: DEPOLARIZING the cumulative probability of each
            Pauli; THERMAL_MIXTURE the probabilities of reset and of Z; THERMAL_KRAUS
            the damping and dephasing probabilities; MEASURE the readout error
            probabilities P(1 | 0) and P(0 | 1).
        draw_start: int64, shape ``(ops + 1,)``: column of a shot's uniforms where
            each operation's draws (``DRAWS``) begin; the last entry is their total.
        final_qubits: int64, shape ``(m,)``: qubits sampled from the final state.
        final_clbits: int64, shape ``(m,)``: the clbit each of them is written to.
    """

    op_codes: np.ndarray
    qubit_start: np.ndarray
    qubit_table: np.ndarray
    matrix_start: np.ndarray
    matrix_data: np.ndarray
    index_start: np.ndarray
    index_data: np.ndarray
    probability_start: np.ndarray
    probability_data: np.ndarray
    draw_start: np.ndarray
    final_qubits: np.ndarray
    final_clbits: np.ndarray

    @property
    def num_ops(self) -> int:
        """The number of operations."""
        return int(self.op_codes.size)

    @property
    def num_draws(self) -> int:
        """Uniforms one shot consumes: the operations' draws and one final sample."""
        return int(self.draw_start[-1]) + 1


def _starts(parts: list[np.ndarray]) -> np.ndarray:
    return np.cumsum([0, *(p.size for p in parts)]).astype(np.int64)


def _flat(parts: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate([np.zeros(0, dtype=dtype), *parts]).astype(dtype))


class TrajectoryProgramBuilder:
    """Appends operations one at a time; ``build`` returns the ``TrajectoryProgram``.

    >>> builder = TrajectoryProgramBuilder(num_qubits=1, dtype=np.dtype(np.complex128))
    >>> builder.event(Reset(0))
    >>> builder.build([(0, 0)]).num_draws
    2
    """

    def __init__(self, num_qubits: int, dtype: np.dtype) -> None:
        self.size = 1 << num_qubits
        self.dtype = dtype
        self.codes: list[int] = []
        self.qubits: list[np.ndarray] = []
        self.matrices: list[np.ndarray] = []
        self.indices: list[np.ndarray] = []
        self.probabilities: list[np.ndarray] = []
        self.draw_start: list[int] = []
        self.num_draws = 0

    @property
    def num_ops(self) -> int:
        """The number of operations appended so far."""
        return len(self.codes)

    def add(
        self,
        code: int,
        qubits: ArrayLike = (),
        matrix: ArrayLike = (),
        indices: ArrayLike = (),
        probabilities: ArrayLike = (),
    ) -> None:
        """Append one operation with its slices of the four tables (see ``TrajectoryProgram``)."""
        self.codes.append(code)
        self.qubits.append(np.asarray(qubits, dtype=np.int64))
        self.matrices.append(np.asarray(matrix, dtype=self.dtype).ravel())
        self.indices.append(np.asarray(indices, dtype=np.int64))
        self.probabilities.append(np.asarray(probabilities, dtype=np.float64))
        self.draw_start.append(self.num_draws)
        self.num_draws += DRAWS.get(code, 0)

    def gate(self, op: EncodedGate) -> None:
        """Append a dense, controlled, diagonal or monomial gate."""
        if isinstance(op, DenseOp) and len(op.qubits) <= 2:
            self.add(tk.DENSE1 if len(op.qubits) == 1 else tk.DENSE2, op.qubits, op.matrix)
        elif isinstance(op, DenseOp):
            self.add(tk.DENSE, sorted(op.qubits), op.matrix, [0, *index_offsets(op.qubits)])
        elif isinstance(op, ControlledOp):
            fixed = sum(1 << q for j, q in enumerate(op.controls) if op.ctrl_state >> j & 1)
            offsets = index_offsets(op.targets)
            self.add(tk.DENSE, sorted(op.qubits), op.matrix, [fixed, *offsets])
        elif isinstance(op, DiagonalOp):
            qubits = np.array(op.qubits, dtype=np.int64)
            self.add(tk.DIAGONAL, qubits, op.diagonal, op.low_table(self.size, qubits))
        else:
            assert isinstance(op, MonomialOp)
            sources, targets = op.offsets(op.qubits)
            self.add(tk.MONOMIAL, sorted(op.qubits), op.phases, np.concatenate([sources, targets]))

    def event(self, step: Measure | Reset | Noise) -> None:
        """Append a measurement, a reset or a noise channel."""
        if isinstance(step, Measure):
            error = step.readout
            flips = (
                (0.0, 0.0)
                if error is None
                else (error.readout_error_0to1, error.readout_error_1to0)
            )
            self.add(tk.MEASURE, (step.qubit, step.clbit), probabilities=flips)
        elif isinstance(step, Reset):
            self.add(tk.RESET, (step.qubit,))
        elif isinstance(step.channel, Depolarizing):
            cumulative = np.cumsum(step.channel.pauli_probabilities())
            self.add(tk.DEPOLARIZING, step.qubits, probabilities=cumulative)
        else:
            self._relaxation(step.channel, step.qubits)

    def _relaxation(self, channel: ThermalRelaxation, qubits: tuple[int, ...]) -> None:
        # With T2 <= T1 the channel is a state-independent mixture of reset to |0>, Z
        # and nothing (qiskit-aer's decomposition): no pass over the state mostly.
        mixture = channel.mixture()
        if mixture is not None:
            self.add(tk.THERMAL_MIXTURE, qubits, probabilities=mixture)
        else:
            parameters = (channel.damping, channel.dephasing)
            self.add(tk.THERMAL_KRAUS, qubits, probabilities=parameters)

    def build(self, final_measures: list[tuple[int, int]]) -> TrajectoryProgram:
        """The program of the operations appended, then ``final_measures`` (qubit, clbit)."""
        finals = np.array(final_measures, dtype=np.int64).reshape(-1, 2)
        int64 = np.dtype(np.int64)
        return TrajectoryProgram(
            op_codes=np.array(self.codes, dtype=np.int64),
            qubit_start=_starts(self.qubits),
            qubit_table=_flat(self.qubits, int64),
            matrix_start=_starts(self.matrices),
            matrix_data=_flat(self.matrices, self.dtype),
            index_start=_starts(self.indices),
            index_data=_flat(self.indices, int64),
            probability_start=_starts(self.probabilities),
            probability_data=_flat(self.probabilities, np.dtype(np.float64)),
            draw_start=np.array([*self.draw_start, self.num_draws], dtype=np.int64),
            final_qubits=finals[:, 0].copy(),
            final_clbits=finals[:, 1].copy(),
        )
