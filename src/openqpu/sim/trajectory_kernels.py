"""Numba kernel running noisy shots as solo trajectories over a flat program.

A program is a list of operations given by codes and tables (see ``solo.py``,
which builds them): gates reuse the range bodies of ``kernels``; noise channels,
measurements and resets draw their outcomes from uniforms drawn beforehand, so
the result depends only on those numbers. Each shot runs on its own copy of the
state its job starts from; shots run in parallel over numba's threads.
"""

from __future__ import annotations

import math

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

# Operation codes. Draws per operation are fixed by ``solo.DRAWS``.
DENSE1 = 0  # qubits[0]; 2x2 matrix
DENSE2 = 1  # qubits[0:2]; 4x4 matrix
DENSE = 2  # ints: sorted bits (count in qubit table), fixed mask, offsets; matrix
DIAGONAL = 3  # qubits; diagonal; ints: low table
MONOMIAL = 4  # qubits (sorted); phases; ints: sources then targets
DEPOLARIZING = 5  # qubits; floats: cumulative probability of each Pauli
THERMAL_MIXTURE = 6  # qubit; floats: p_reset, p_z (T2 <= T1: reset, Z or nothing)
THERMAL_KRAUS = 7  # qubit; floats: damping, dephasing (T2 > T1: state-dependent jump)
MEASURE = 8  # qubit, clbit; floats: P(1|0), P(0|1)
RESET = 9  # qubit


@njit(cache=True)
def _pauli(state, qubit, which):  # type: ignore[no-untyped-def]
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
def _scale_pair(state, qubit, f0, f1):  # type: ignore[no-untyped-def]
    """Multiply the |0> amplitudes of ``qubit`` by ``f0`` and the |1> ones by ``f1``."""
    stride = 1 << qubit
    for group in range(state.size >> 1):
        i0 = _insert_zero_bit(group, qubit)
        state[i0] *= f0
        state[i0 | stride] *= f1


@njit(cache=True)
def _decay(state, qubit, scale):  # type: ignore[no-untyped-def]
    """Move each |1> amplitude of ``qubit`` to |0>, times ``scale``."""
    stride = 1 << qubit
    for group in range(state.size >> 1):
        i0 = _insert_zero_bit(group, qubit)
        state[i0] = state[i0 | stride] * scale
        state[i0 | stride] = 0


@njit(cache=True)
def _measure(state, qubit, u):  # type: ignore[no-untyped-def]
    """Collapse ``qubit`` by the uniform ``u``; return the value seen."""
    p1 = min(1.0, max(0.0, probability_of_one(state, qubit)))
    value = 1 if u < p1 else 0
    kept = p1 if value else 1.0 - p1
    collapse(state, qubit, value, 1.0 / math.sqrt(kept))
    return value


@njit(cache=True)
def _sample_index(state, u):  # type: ignore[no-untyped-def]
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
    state,
    first,
    clbits,
    draws,
    codes,
    qstart,
    qtab,
    cstart,
    cdata,
    istart,
    idata,
    fstart,
    fdata,
    dstart,
):  # type: ignore[no-untyped-def]
    """Run operations ``first ..`` on ``state``; return the classical bits after."""
    for op in range(first, codes.size):
        code = codes[op]
        q = qstart[op]
        width = qstart[op + 1] - q
        c = cstart[op]
        i = istart[op]
        f = fstart[op]
        d = dstart[op]
        if code == DENSE1:
            _dense1_range(state, qtab[q], cdata[c : c + 4].reshape((2, 2)), 0, state.size >> 1)
        elif code == DENSE2:
            m = cdata[c : c + 16].reshape((4, 4))
            _dense2_range(state, qtab[q], qtab[q + 1], m, 0, state.size >> 2)
        elif code == DENSE:
            dim = istart[op + 1] - i - 1
            m = cdata[c : c + dim * dim].reshape((dim, dim))
            bits = qtab[q : q + width]
            offsets = idata[i + 1 : i + 1 + dim]
            _dense_range(state, bits, idata[i], offsets, m, 0, state.size >> width)
        elif code == DIAGONAL:
            table = idata[i : istart[op + 1]]
            diagonal = cdata[c : c + (1 << width)]
            _diagonal_range(state, qtab[q : q + width], diagonal, table, 0, state.size)
        elif code == MONOMIAL:
            dim = 1 << width
            sources = idata[i : i + dim]
            targets = idata[i + dim : i + 2 * dim]
            phases = cdata[c : c + dim]
            _monomial_range(
                state, qtab[q : q + width], sources, targets, phases, 0, state.size >> width
            )
        elif code == DEPOLARIZING:
            pauli = 0
            while pauli < (1 << (2 * width)) - 1 and draws[d] >= fdata[f + pauli]:
                pauli += 1
            for j in range(width):
                digit = (pauli >> (2 * j)) & 3
                if digit:
                    _pauli(state, qtab[q + j], digit)
        elif code == THERMAL_MIXTURE:
            u = draws[d]
            if u < fdata[f]:
                if _measure(state, qtab[q], draws[d + 1]):
                    _pauli(state, qtab[q], 1)
            elif u < fdata[f] + fdata[f + 1]:
                _pauli(state, qtab[q], 3)
        elif code == THERMAL_KRAUS:
            damping = fdata[f]
            p1 = min(1.0, max(0.0, probability_of_one(state, qtab[q])))
            jump = damping * p1
            if draws[d] < jump:
                _decay(state, qtab[q], 1.0 / math.sqrt(p1))
            else:
                f0 = 1.0 / math.sqrt(1.0 - jump)
                _scale_pair(state, qtab[q], f0, f0 * math.sqrt(1.0 - damping))
            if draws[d + 1] < fdata[f + 1]:
                _pauli(state, qtab[q], 3)
        elif code == MEASURE:
            value = _measure(state, qtab[q], draws[d])
            if draws[d + 1] < fdata[f + value]:
                value ^= 1
            clbits = (clbits & ~(1 << qtab[q + 1])) | (value << qtab[q + 1])
        else:  # RESET
            if _measure(state, qtab[q], draws[d]):
                _pauli(state, qtab[q], 1)
    return clbits


@njit(parallel=True, cache=True)
def run_solo(
    starts,
    job_first,
    job_clbits,
    shot_job,
    draws,
    codes,
    qstart,
    qtab,
    cstart,
    cdata,
    istart,
    idata,
    fstart,
    fdata,
    dstart,
    final_qubits,
    final_clbits,
    out,
):  # type: ignore[no-untyped-def]
    """Run every shot alone from its job's state; write its classical bits into ``out``.

    Args:
        starts: ``(jobs, 2^n)`` states the jobs start from (left unchanged).
        job_first: first operation of each job; job_clbits: its classical bits then.
        shot_job: the job of each shot.
        draws: ``(shots, k)`` uniforms in [0, 1); column ``dstart[op]`` onwards belongs
            to operation ``op`` and the last column to the final sampling.
        codes .. dstart: the program (operation ``op`` uses ``qtab[qstart[op]:
            qstart[op + 1]]``, and likewise ``cdata``, ``idata``, ``fdata`` from their
            starts; the start arrays have one entry more than ``codes``).
        final_qubits, final_clbits: measurements sampled from the final state.
        out: int64 per shot, the packed classical bits.
    """
    for shot in prange(shot_job.size):
        job = shot_job[shot]
        state = starts[job].copy()
        row = draws[shot]
        clbits = _run_ops(
            state,
            job_first[job],
            job_clbits[job],
            row,
            codes,
            qstart,
            qtab,
            cstart,
            cdata,
            istart,
            idata,
            fstart,
            fdata,
            dstart,
        )
        if final_qubits.size:
            index = _sample_index(state, row[row.size - 1])
            for j in range(final_qubits.size):
                bit = (index >> final_qubits[j]) & 1
                clbits = (clbits & ~(1 << final_clbits[j])) | (bit << final_clbits[j])
        out[shot] = clbits
