"""The trajectory program: its builder lays the tables out as documented, the kernel runs it."""

from __future__ import annotations

import numpy as np

from openqpu.sim import trajectory_kernels as tk
from openqpu.sim.lowering import Measure, Noise, Reset
from openqpu.sim.noise import Depolarizing, ReadoutError
from openqpu.sim.ops import ControlledOp, DenseOp, index_offsets
from openqpu.sim.trajectory_program import TrajectoryProgram, TrajectoryProgramBuilder

_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)


def _slice(program: TrajectoryProgram, table: str, op: int) -> np.ndarray:
    start = getattr(program, f"{table}_start")
    data = program.qubit_table if table == "qubit" else getattr(program, f"{table}_data")
    return data[start[op] : start[op + 1]]


def test_index_offsets_put_bit_j_at_qubit_j() -> None:
    assert index_offsets((2, 0)).tolist() == [0, 4, 1, 5]
    assert index_offsets(()).tolist() == [0]


def test_trajectory_program_builder_lays_out_each_operation() -> None:
    builder = TrajectoryProgramBuilder(3, np.dtype(np.complex64))
    builder.gate(DenseOp((1,), _X))
    builder.gate(ControlledOp((2,), 1, (0,), _X))
    builder.event(Noise(Depolarizing(0.3, 1), (1,)))
    builder.event(Measure(1, 4, ReadoutError(0.02, 0.05)))
    builder.event(Reset(0))
    program = builder.build([(0, 2), (2, 3)])

    assert program.op_codes.tolist() == [tk.DENSE1, tk.DENSE, tk.DEPOLARIZING, tk.MEASURE, tk.RESET]
    assert program.num_ops == 5
    assert _slice(program, "qubit", 0).tolist() == [1]
    assert _slice(program, "matrix", 0).tolist() == _X.ravel().tolist()
    # DENSE: sorted qubits; the mask of the controls that must be 1, then target offsets.
    assert _slice(program, "qubit", 1).tolist() == [0, 2]
    assert _slice(program, "index", 1).tolist() == [0b100, 0, 1]
    cumulative = np.cumsum(Depolarizing(0.3, 1).pauli_probabilities())
    assert _slice(program, "probability", 2).tolist() == cumulative.tolist()
    assert _slice(program, "qubit", 3).tolist() == [1, 4]  # MEASURE: qubit, then clbit
    assert _slice(program, "probability", 3).tolist() == [0.02, 0.05]
    assert _slice(program, "qubit", 4).tolist() == [0]
    # Gates draw nothing; depolarising 1, measurement 2, reset 1; one more to sample.
    assert program.draw_start.tolist() == [0, 0, 0, 1, 3, 4]
    assert program.num_draws == 5
    assert program.final_qubits.tolist() == [0, 2]
    assert program.final_clbits.tolist() == [2, 3]
    assert program.matrix_data.dtype == np.complex64
    for name, array in program._asdict().items():
        assert array.flags.c_contiguous, name
        if name != "matrix_data":
            assert array.dtype in (np.int64, np.float64), name


def test_run_solo_runs_a_built_program() -> None:
    """X on qubit 1, CX(1 -> 0), measure qubit 1 into clbit 2; qubit 0 sampled at the end."""
    builder = TrajectoryProgramBuilder(2, np.dtype(np.complex128))
    builder.gate(DenseOp((1,), _X))
    builder.gate(ControlledOp((1,), 1, (0,), _X))
    builder.event(Measure(1, 2))
    program = builder.build([(0, 0)])
    shots = 50
    start = np.zeros((1, 4), dtype=np.complex128)
    start[0, 0] = 1
    draws = np.random.default_rng(1).random((shots, program.num_draws))
    out = np.full(shots, -1, dtype=np.int64)
    first = np.zeros(1, dtype=np.int64)
    clbits = np.array([0b10], dtype=np.int64)  # clbit 1 set before and kept
    tk.run_solo(start, first, clbits, np.zeros(shots, dtype=np.int64), draws, program, out)
    assert out.tolist() == [0b111] * shots
