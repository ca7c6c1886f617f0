"""Numba kernel running noisy shots as solo trajectories over a flat program.

A program is a list of operations given by codes and tables, a
``trajectory_program.TrajectoryProgram`` (its docstring lays the tables out; its
builder is the only one that fills them). Gates reuse the range bodies of
``kernels`` (and through them the vector loops of ``simd``); noise channels,
measurements and resets draw their outcomes from uniforms drawn beforehand, so the
result depends only on those numbers. Each shot runs on its own copy of the state its
job starts from; shots run in parallel over numba's threads.

numba's on-disk cache keys this kernel by this file alone, yet holds the range bodies
of ``kernels`` compiled into it: a change there must come with a change here (this
paragraph was last edited for the monomial range's runs on high bits), or an upgraded
install runs the old bodies from its cache.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from openqpu.sim.kernels import (
    _dense1_range,
    _dense2_range,
    _dense_range,
    _diagonal_range,
    _insert_zero_bit,
    _monomial_range,
    collapse,
    probability_of_one,
)

if TYPE_CHECKING:
    from openqpu.sim.trajectory_program import TrajectoryProgram

# Operation codes and what each one's slices of the program's tables hold (qubit
# table; matrix data; index data; probability data). Draws per operation are fixed by
# ``trajectory_program.DRAWS``.
DENSE1 = 0  # qubit; 2x2 matrix
DENSE2 = 1  # 2 qubits; 4x4 matrix
DENSE = 2  # sorted qubits; matrix; mask of the controls that are 1, target offsets
DIAGONAL = 3  # qubits; diagonal; the low table
MONOMIAL = 4  # sorted qubits; phases; source offsets, then target offsets
DEPOLARIZING = 5  # qubits; probabilities: cumulative, of each Pauli
THERMAL_MIXTURE = 6  # qubit; probabilities: p_reset, p_z (T2 <= T1: reset, Z or nothing)
THERMAL_KRAUS = 7  # qubit; probabilities: damping, dephasing (T2 > T1: state-dependent)
MEASURE = 8  # qubit, clbit; probabilities: P(1|0), P(0|1)
RESET = 9  # qubit


@njit(cache=True)
def _pauli(state: np.ndarray, qubit: int, which: int) -> None:
    """Apply X (1), Y (2) or Z (3) to ``qubit``."""
    stride = 1 << qubit
    for group in range(state.size >> 1):
        i0 = _insert_zero_bit(group, qubit)
        i1 = i0 | stride
        a0 = state[i0]
        a1 = state[i1]
        if which == 1:
            state[i0] = a1
            state[i1] = a0
        elif which == 2:
            state[i0] = -1j * a1
            state[i1] = 1j * a0
        else:
            state[i1] = -a1


@njit(cache=True)
def _scale_pair(state: np.ndarray, qubit: int, f0: float, f1: float) -> None:
    """Multiply the |0> amplitudes of ``qubit`` by ``f0`` and the |1> ones by ``f1``."""
    stride = 1 << qubit
    for group in range(state.size >> 1):
        i0 = _insert_zero_bit(group, qubit)
        state[i0] *= f0
        state[i0 | stride] *= f1


@njit(cache=True)
def _decay(state: np.ndarray, qubit: int, scale: float) -> None:
    """Move each |1> amplitude of ``qubit`` to |0>, times ``scale``."""
    stride = 1 << qubit
    for group in range(state.size >> 1):
        i0 = _insert_zero_bit(group, qubit)
        state[i0] = state[i0 | stride] * scale
        state[i0 | stride] = 0


@njit(cache=True)
def _measure(state: np.ndarray, qubit: int, u: float) -> int:
    """Collapse ``qubit`` by the uniform ``u``; return the value seen."""
    p1 = min(1.0, max(0.0, probability_of_one(state, qubit)))
    value = 1 if u < p1 else 0
    kept = p1 if value else 1.0 - p1
    collapse(state, qubit, value, 1.0 / math.sqrt(kept))
    return value


@njit(cache=True)
def _sample_index(state: np.ndarray, u: float) -> int:
    """The basis state whose cumulative probability first exceeds ``u``."""
    total = 0.0
    last = 0
    for index in range(state.size):
        a = state[index]
        weight = a.real * a.real + a.imag * a.imag
        if weight > 0:
            last = index
            total += weight
            if total > u:
                return index
    return last  # u beyond a total rounded below 1


@njit(cache=True)
def _run_ops(
    state: np.ndarray, first: int, clbits: int, draws: np.ndarray, program: TrajectoryProgram
) -> int:
    """Run operations ``first ..`` of ``program`` on ``state``; return the classical bits after.

    ``draws`` is the shot's row of uniforms; ``clbits`` its classical bits before.
    """
    qubits = program.qubit_table
    matrices = program.matrix_data
    indices = program.index_data
    probs = program.probability_data
    for op in range(first, program.op_codes.size):
        code = program.op_codes[op]
        q = program.qubit_start[op]
        width = program.qubit_start[op + 1] - q
        c = program.matrix_start[op]
        i = program.index_start[op]
        i_end = program.index_start[op + 1]
        p = program.probability_start[op]
        d = program.draw_start[op]
        if code == DENSE1:
            m = matrices[c : c + 4].reshape((2, 2))
            _dense1_range(state, qubits[q], m, 0, state.size >> 1)
        elif code == DENSE2:
            m = matrices[c : c + 16].reshape((4, 4))
            _dense2_range(state, qubits[q], qubits[q + 1], m, 0, state.size >> 2)
        elif code == DENSE:
            dim = i_end - i - 1
            m = matrices[c : c + dim * dim].reshape((dim, dim))
            bits = qubits[q : q + width]
            offsets = indices[i + 1 : i + 1 + dim]
            _dense_range(state, bits, indices[i], offsets, m, 0, state.size >> width)
        elif code == DIAGONAL:
            table = indices[i:i_end]
            diagonal = matrices[c : c + (1 << width)]
            _diagonal_range(state, qubits[q : q + width], diagonal, table, 0, state.size)
        elif code == MONOMIAL:
            dim = 1 << width
            sources = indices[i : i + dim]
            targets = indices[i + dim : i + 2 * dim]
            phases = matrices[c : c + dim]
            _monomial_range(
                state, qubits[q : q + width], sources, targets, phases, 0, state.size >> width
            )
        elif code == DEPOLARIZING:
            pauli = 0
            while pauli < (1 << (2 * width)) - 1 and draws[d] >= probs[p + pauli]:
                pauli += 1
            for j in range(width):
                digit = (pauli >> (2 * j)) & 3
                if digit:
                    _pauli(state, qubits[q + j], digit)
        elif code == THERMAL_MIXTURE:
            u = draws[d]
            if u < probs[p]:
                if _measure(state, qubits[q], draws[d + 1]):
                    _pauli(state, qubits[q], 1)
            elif u < probs[p] + probs[p + 1]:
                _pauli(state, qubits[q], 3)
        elif code == THERMAL_KRAUS:
            damping = probs[p]
            p1 = min(1.0, max(0.0, probability_of_one(state, qubits[q])))
            jump = damping * p1
            if draws[d] < jump:
                _decay(state, qubits[q], 1.0 / math.sqrt(p1))
            else:
                f0 = 1.0 / math.sqrt(1.0 - jump)
                _scale_pair(state, qubits[q], f0, f0 * math.sqrt(1.0 - damping))
            if draws[d + 1] < probs[p + 1]:
                _pauli(state, qubits[q], 3)
        elif code == MEASURE:
            value = _measure(state, qubits[q], draws[d])
            if draws[d + 1] < probs[p + value]:
                value ^= 1
            clbit = qubits[q + 1]
            clbits = (clbits & ~(1 << clbit)) | (value << clbit)
        else:  # RESET
            if _measure(state, qubits[q], draws[d]):
                _pauli(state, qubits[q], 1)
    return clbits


@njit(parallel=True, cache=True)
def run_solo(
    starts: np.ndarray,
    job_first: np.ndarray,
    job_clbits: np.ndarray,
    shot_job: np.ndarray,
    draws: np.ndarray,
    program: TrajectoryProgram,
    out: np.ndarray,
) -> None:
    """Run every shot alone from its job's state; write its classical bits into ``out``.

    Args:
        starts: ``(jobs, 2^n)`` states the jobs start from (left unchanged).
        job_first: int64 per job, the first operation it runs.
        job_clbits: int64 per job, its packed classical bits before that operation.
        shot_job: int64 per shot, the job it belongs to.
        draws: ``(shots, program.num_draws)`` float64 uniforms in [0, 1): columns
            ``program.draw_start[op]`` onwards belong to operation ``op``, the last one
            to the final sampling.
        program: a ``trajectory_program.TrajectoryProgram`` (operations, then the
            measurements sampled from the final state).
        out: int64 per shot, written: its packed classical bits.
    """
    final_qubits = program.final_qubits
    final_clbits = program.final_clbits
    for shot in prange(shot_job.size):
        job = shot_job[shot]
        state = starts[job].copy()
        row = draws[shot]
        clbits = _run_ops(state, job_first[job], job_clbits[job], row, program)
        if final_qubits.size:
            index = _sample_index(state, row[row.size - 1])
            for j in range(final_qubits.size):
                bit = (index >> final_qubits[j]) & 1
                clbits = (clbits & ~(1 << final_clbits[j])) | (bit << final_clbits[j])
        out[shot] = clbits
