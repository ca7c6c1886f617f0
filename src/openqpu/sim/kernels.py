"""Numba kernels over a statevector: the hot loops of statevector simulation.

(The other methods keep their own kernels beside them: ``methods/mps_kernels.py``,
the trajectory kernels in ``trajectory_kernels.py``.)

Kernels take arrays and scalars, update the state in place and know nothing of
circuits. Index convention: bit ``q`` of a state index is qubit ``q`` (Qiskit's
order). Every kernel works for complex128 and complex64 states; the matrix or
diagonal passed in must have the state's dtype.

Each gate kernel has a *range body* (``_*_range``) that updates the groups
``[start, stop)``, and two drivers: ``*_serial`` for small states (no thread
start-up) and ``*_parallel`` that splits the groups into chunks over threads.
The blocked kernel ``apply_group`` runs a whole list of gates on one cache-sized
sub-state at a time, reusing the same range bodies on a local buffer. Dense one- and
two-qubit bodies hand whole vectors to the explicit SIMD chunks of ``simd``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from openqpu.sim.simd import dense_chunks

# Work items per parallel chunk: large enough to amortise scheduling, small
# enough that both cores get work on the smallest states we parallelise.
_CHUNK = 1 << 11

# Operation codes of a blocked group (see ``apply_group``).
OP_DENSE = 0
OP_DIAGONAL = 2
OP_MONOMIAL = 3
# Amplitudes a monomial's runs gather at once (64 KiB in complex128: in L1/L2).
_MONOMIAL_BUFFER = 4096
# Shorter runs than this move one amplitude at a time (measured: runs of 4 lose).
_MONOMIAL_MIN_RUN = 8


@njit(cache=True, inline="always")
def _insert_zero_bit(index: int, bit: int) -> int:
    low = index & ((1 << bit) - 1)
    return ((index >> bit) << (bit + 1)) | low


@njit(cache=True, fastmath=True)
def _dense1_range(state: np.ndarray, qubit: int, matrix: np.ndarray, start: int, stop: int) -> None:
    _dense_sorted_range(state, np.array([qubit]), matrix, start, stop)


@njit(cache=True, inline="always")
def _aligned(start: int, stop: int) -> tuple[int, int]:
    """The widest sub-range of ``[start, stop)`` with ends on multiples of 4 groups
    (every vector layout's chunk divides 4 groups; none has more targets inside a
    vector than bits 0 and 1); empty when there is none."""
    first = min((start + 3) & ~3, stop)
    last = max(first, stop & ~3)
    return first, last


@njit(cache=True)
def _low_first(m: np.ndarray, qubit0: int, qubit1: int) -> np.ndarray:
    """``m`` with its index bit 0 on the lower of the two qubits."""
    if qubit0 < qubit1:
        return m
    order = np.array([0, 2, 1, 3])
    out = np.empty_like(m)
    for r in range(4):
        for c in range(4):
            out[r, c] = m[order[r], order[c]]
    return out


@njit(cache=True, fastmath=True)
def _dense2_range(
    state: np.ndarray, qubit0: int, qubit1: int, m: np.ndarray, start: int, stop: int
) -> None:
    low, high = min(qubit0, qubit1), max(qubit0, qubit1)
    _dense_sorted_range(state, np.array([low, high]), _low_first(m, qubit0, qubit1), start, stop)


@njit(cache=True, fastmath=True)
def _dense_range(
    state: np.ndarray,
    sorted_bits: np.ndarray,
    fixed_mask: int,
    offsets: np.ndarray,
    matrix: np.ndarray,
    start: int,
    stop: int,
) -> None:
    dim = offsets.size
    buffer = np.empty(dim, dtype=state.dtype)
    for group in range(start, stop):
        base = _spread(group, sorted_bits) | fixed_mask
        for a in range(dim):
            buffer[a] = state[base + offsets[a]]
        for r in range(dim):
            acc = matrix[r, 0] * buffer[0]
            for a in range(1, dim):
                acc += matrix[r, a] * buffer[a]
            state[base + offsets[r]] = acc


@njit(cache=True, fastmath=True)
def _dense_sorted_range(
    state: np.ndarray, bits: np.ndarray, matrix: np.ndarray, start: int, stop: int
) -> None:
    # ``bits`` ascending, matrix index bit t on bits[t]: whole vectors in the middle; a
    # range cut mid-vector (or a state smaller than a vector) has its ends done one
    # group at a time by the generic loop.
    first, last = _aligned(start, stop)
    if not dense_chunks(state, bits, matrix, first, last):
        first = last = start
    if first == start and last == stop:
        return
    dim = 1 << bits.size
    offsets = np.zeros(dim, dtype=np.int64)
    for a in range(dim):
        for j in range(bits.size):
            if (a >> j) & 1:
                offsets[a] |= 1 << bits[j]
    _dense_range(state, bits, 0, offsets, matrix, start, first)
    _dense_range(state, bits, 0, offsets, matrix, last, stop)


@njit(cache=True, fastmath=True)
def _diagonal_range(
    state: np.ndarray,
    qubits: np.ndarray,
    diagonal: np.ndarray,
    low_table: np.ndarray,
    start: int,
    stop: int,
) -> None:
    width = qubits.size
    lowest = qubits[0]
    for j in range(width):
        lowest = min(lowest, qubits[j])
    if lowest >= 2:
        # Runs of 2^lowest consecutive amplitudes share one factor.
        run_mask = (1 << lowest) - 1
        index = start
        while index < stop:
            local = 0
            for j in range(width):
                local |= ((index >> qubits[j]) & 1) << j
            factor = diagonal[local]
            end = min(stop, (index | run_mask) + 1)
            for i in range(index, end):
                state[i] *= factor
            index = end
        return
    # ``low_table[i & mask]`` holds the diagonal-index bits that come from the low
    # index bits; the high ones are constant over each aligned run and gathered once.
    mask = low_table.size - 1
    low_bits = 0
    while (1 << low_bits) < low_table.size:
        low_bits += 1
    index = start
    while index < stop:
        high = 0
        for j in range(width):
            if qubits[j] >= low_bits:
                high |= ((index >> qubits[j]) & 1) << j
        end = min(stop, (index | mask) + 1)
        for i in range(index, end):
            state[i] *= diagonal[high | low_table[i & mask]]
        index = end


@njit(cache=True, fastmath=True)
def _monomial_range(
    state: np.ndarray,
    sorted_bits: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    phases: np.ndarray,
    start: int,
    stop: int,
) -> None:
    # A monomial matrix sends basis state a to targets[a] with factor phases[a]:
    # a permutation with phases (x, cx, swap, ccx, ... and their products).
    # Consecutive groups below the op's lowest bit have consecutive bases, so they move
    # together: each of the ``dim`` amplitudes of a group becomes a run of ``width``
    # contiguous ones (copied as such), instead of ``dim`` loads a power-of-two stride
    # apart that fall in one cache set when the op sits on high bits.
    dim = sources.size
    width = min(1 << sorted_bits[0], max(1, _MONOMIAL_BUFFER // dim))
    buffer = np.empty(dim * width, dtype=state.dtype)
    # Pure permutations (cx, swap, ccx chains) move amplitudes without arithmetic.
    unit = True
    for a in range(dim):
        if phases[a] != 1:
            unit = False
    if width < _MONOMIAL_MIN_RUN:  # runs too short to pay for their loops
        for group in range(start, stop):
            base = _spread(group, sorted_bits)
            for a in range(dim):
                buffer[a] = state[base + sources[a]]
            if unit:
                for a in range(dim):
                    state[base + targets[a]] = buffer[a]
            else:
                for a in range(dim):
                    state[base + targets[a]] = phases[a] * buffer[a]
        return
    group = start
    while group < stop:
        # A run stays inside one aligned block of ``width`` groups (one shared high part).
        count = min(width - (group & (width - 1)), stop - group)
        base = _spread(group, sorted_bits)
        for a in range(dim):
            source = base + sources[a]
            for k in range(count):
                buffer[a * width + k] = state[source + k]
        for a in range(dim):
            target = base + targets[a]
            if unit:
                for k in range(count):
                    state[target + k] = buffer[a * width + k]
            else:
                factor = phases[a]
                for k in range(count):
                    state[target + k] = factor * buffer[a * width + k]
        group += count


@njit(cache=True)
def _spread(group: int, sorted_bits: np.ndarray) -> int:
    """The state index of ``group`` with a zero inserted at each of ``sorted_bits``."""
    # prange indices may be unsigned; keep bit arithmetic signed.
    index: int = np.int64(group)  # type: ignore[assignment]  # numba's int is np.int64
    for b in range(sorted_bits.size):
        index = _insert_zero_bit(index, sorted_bits[b])
    return index


# --- drivers -----------------------------------------------------------------


@njit(cache=True)
def dense1_serial(state: np.ndarray, qubit: int, matrix: np.ndarray) -> None:
    """Apply a 2x2 ``matrix`` to ``qubit`` in place, on the calling thread."""
    _dense1_range(state, qubit, matrix, 0, state.size >> 1)


@njit(parallel=True, cache=True)
def dense1_parallel(state: np.ndarray, qubit: int, matrix: np.ndarray) -> None:
    """Apply a 2x2 ``matrix`` to ``qubit`` in place, over numba's threads."""
    groups = state.size >> 1
    for chunk in prange((groups + _CHUNK - 1) // _CHUNK):
        _dense1_range(state, qubit, matrix, chunk * _CHUNK, min(groups, (chunk + 1) * _CHUNK))


@njit(cache=True)
def dense2_serial(state: np.ndarray, qubit0: int, qubit1: int, matrix: np.ndarray) -> None:
    """Apply a 4x4 ``matrix`` to ``(qubit0, qubit1)``; matrix index bit 0 is ``qubit0``."""
    _dense2_range(state, qubit0, qubit1, matrix, 0, state.size >> 2)


@njit(parallel=True, cache=True)
def dense2_parallel(state: np.ndarray, qubit0: int, qubit1: int, matrix: np.ndarray) -> None:
    """Parallel ``dense2_serial``."""
    groups = state.size >> 2
    for chunk in prange((groups + _CHUNK - 1) // _CHUNK):
        stop = min(groups, (chunk + 1) * _CHUNK)
        _dense2_range(state, qubit0, qubit1, matrix, chunk * _CHUNK, stop)


@njit(cache=True)
def dense_sorted_serial(state: np.ndarray, bits: np.ndarray, matrix: np.ndarray) -> None:
    """Apply ``matrix`` to the ascending ``bits`` (1 to 4; matrix index bit t is
    ``bits[t]``) in place, on the calling thread."""
    _dense_sorted_range(state, bits, matrix, 0, state.size >> bits.size)


@njit(parallel=True, cache=True)
def dense_sorted_parallel(state: np.ndarray, bits: np.ndarray, matrix: np.ndarray) -> None:
    """Parallel ``dense_sorted_serial``."""
    groups = state.size >> bits.size
    for chunk in prange((groups + _CHUNK - 1) // _CHUNK):
        stop = min(groups, (chunk + 1) * _CHUNK)
        _dense_sorted_range(state, bits, matrix, chunk * _CHUNK, stop)


@njit(cache=True)
def dense_serial(
    state: np.ndarray,
    sorted_bits: np.ndarray,
    fixed_mask: int,
    offsets: np.ndarray,
    matrix: np.ndarray,
) -> None:
    """Apply a dense ``2^k x 2^k`` matrix, only where the fixed (control) bits are 1.

    Args:
        state: the statevector, updated in place.
        sorted_bits: every bit the operation involves (targets and controls), ascending.
        fixed_mask: bits that must be 1 for the matrix to act (controls in state 1).
        offsets: ``offsets[a]`` is the index offset of matrix basis state ``a`` (int64).
        matrix: the matrix, same dtype as ``state``.
    """
    _dense_range(state, sorted_bits, fixed_mask, offsets, matrix, 0, state.size >> sorted_bits.size)


@njit(parallel=True, cache=True)
def dense_parallel(
    state: np.ndarray,
    sorted_bits: np.ndarray,
    fixed_mask: int,
    offsets: np.ndarray,
    matrix: np.ndarray,
) -> None:
    """Parallel ``dense_serial``."""
    groups = state.size >> sorted_bits.size
    for chunk in prange((groups + _CHUNK - 1) // _CHUNK):
        stop = min(groups, (chunk + 1) * _CHUNK)
        _dense_range(state, sorted_bits, fixed_mask, offsets, matrix, chunk * _CHUNK, stop)


@njit(cache=True)
def diagonal_serial(
    state: np.ndarray, qubits: np.ndarray, diagonal: np.ndarray, low_table: np.ndarray
) -> None:
    """Multiply each amplitude by ``diagonal[local]``; bit j of ``local`` is bit ``qubits[j]``.

    ``low_table`` (int64, a power of two long) maps the low index bits to their
    contribution to ``local`` (see ``diagonal_low_table``).
    """
    _diagonal_range(state, qubits, diagonal, low_table, 0, state.size)


@njit(parallel=True, cache=True)
def diagonal_parallel(
    state: np.ndarray, qubits: np.ndarray, diagonal: np.ndarray, low_table: np.ndarray
) -> None:
    """Parallel ``diagonal_serial``."""
    size = state.size
    for chunk in prange((size + _CHUNK - 1) // _CHUNK):
        stop = min(size, (chunk + 1) * _CHUNK)
        _diagonal_range(state, qubits, diagonal, low_table, chunk * _CHUNK, stop)


def diagonal_low_table(qubits: np.ndarray, size: int) -> np.ndarray:
    """The lookup table of ``_diagonal_range`` for states of ``size`` amplitudes."""
    bits = min(_CHUNK.bit_length() - 1, size.bit_length() - 1)
    index = np.arange(1 << bits, dtype=np.int64)
    table = np.zeros_like(index)
    for j, q in enumerate(qubits):
        if q < bits:
            table |= ((index >> q) & 1) << j
    return table


@njit(cache=True)
def monomial_serial(
    state: np.ndarray,
    sorted_bits: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    phases: np.ndarray,
) -> None:
    """Move amplitude ``base + sources[a]`` to ``base + targets[a]`` times ``phases[a]``."""
    _monomial_range(state, sorted_bits, sources, targets, phases, 0, state.size >> sorted_bits.size)


@njit(parallel=True, cache=True)
def monomial_parallel(
    state: np.ndarray,
    sorted_bits: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    phases: np.ndarray,
) -> None:
    """Parallel ``monomial_serial``."""
    groups = state.size >> sorted_bits.size
    for chunk in prange((groups + _CHUNK - 1) // _CHUNK):
        stop = min(groups, (chunk + 1) * _CHUNK)
        _monomial_range(state, sorted_bits, sources, targets, phases, chunk * _CHUNK, stop)


@njit(parallel=True, cache=True, fastmath=True)
def apply_group(
    state: np.ndarray,
    block_bits: np.ndarray,
    run_bits: int,
    codes: np.ndarray,
    op_qubits: np.ndarray,
    op_widths: np.ndarray,
    data_start: np.ndarray,
    data: np.ndarray,
    index_start: np.ndarray,
    index_data: np.ndarray,
    only_groups: np.ndarray,
) -> None:
    """Apply several gates to every sub-state spanned by ``block_bits``, one at a time.

    The sub-state (``2^len(block_bits)`` amplitudes, sized to stay in cache) is
    gathered into a buffer, every operation runs on it, and it is written back: a
    whole group of gates costs one pass over the state.

    Args:
        state: the statevector, updated in place.
        block_bits: ascending state bits of the sub-state; its first ``run_bits``
            entries are ``0 .. run_bits-1`` so that gathers copy contiguous runs.
        run_bits: number of lowest bits included.
        codes: per operation one of ``OP_DENSE`` (1 to 4 qubits),
            ``OP_DIAGONAL``, ``OP_MONOMIAL``.
        op_qubits: ``(num_ops, max_width)`` positions in ``block_bits`` each op acts
            on (sorted for dense ops, whose matrix index bits follow that order, and
            for monomials).
        op_widths: number of qubits of each op.
        data_start: start of each op's complex data in ``data``: the matrix
            (row-major), the diagonal, or the monomial's phases.
        data: every op's complex entries, in the state's dtype.
        index_start: start of each op's integer data in ``index_data``: the
            diagonal's low table, or the monomial's sources then targets.
        index_data: every op's integer entries.
        only_groups: the sub-states to visit (their group numbers), or empty for all:
            a sub-state known to hold only zeros is left as it is.
    """
    width = block_bits.size
    size = 1 << width
    run = 1 << run_bits
    runs = size >> run_bits
    run_offsets = np.zeros(runs, dtype=np.int64)
    for r in range(runs):
        local = r << run_bits
        offset = 0
        for j in range(run_bits, width):
            offset |= ((local >> j) & 1) << block_bits[j]
        run_offsets[r] = offset
    listed = only_groups.size > 0
    groups = only_groups.size if listed else state.size >> width
    contiguous = run_bits == width
    for visit in prange(groups):
        group = only_groups[visit] if listed else visit
        base = _spread(group, block_bits)
        if contiguous:
            # The sub-state is one slice of the state: work on it in place.
            buffer = state[base : base + size]
        else:
            buffer = np.empty(size, dtype=state.dtype)
            for r in range(runs):
                source = base + run_offsets[r]
                for k in range(run):
                    buffer[(r << run_bits) + k] = state[source + k]
        for op in range(codes.size):
            start = data_start[op]
            count = op_widths[op]
            code = codes[op]
            if code == OP_DENSE:
                dim = 1 << count
                matrix = data[start : start + dim * dim].reshape((dim, dim))
                _dense_sorted_range(buffer, op_qubits[op, :count], matrix, 0, size >> count)
            elif code == OP_DIAGONAL:
                diagonal = data[start : start + (1 << count)]
                first = index_start[op]
                table = index_data[first : first + min(size, _CHUNK)]
                _diagonal_range(buffer, op_qubits[op, :count], diagonal, table, 0, size)
            else:
                dim = 1 << count
                phases = data[start : start + dim]
                first = index_start[op]
                sources = index_data[first : first + dim]
                targets = index_data[first + dim : first + 2 * dim]
                _monomial_range(
                    buffer, op_qubits[op, :count], sources, targets, phases, 0, size >> count
                )
        if not contiguous:
            for r in range(runs):
                target = base + run_offsets[r]
                for k in range(run):
                    state[target + k] = buffer[(r << run_bits) + k]


@njit(cache=True)
def probability_of_one(state: np.ndarray, qubit: int) -> float:
    """Return the probability that measuring ``qubit`` gives 1."""
    half = state.size >> 1
    stride = 1 << qubit
    total = 0.0
    for group in range(half):
        amplitude = state[_insert_zero_bit(group, qubit) | stride]
        total += amplitude.real * amplitude.real + amplitude.imag * amplitude.imag
    return total


@njit(cache=True)
def collapse(state: np.ndarray, qubit: int, outcome: int, scale: float) -> None:
    """Project ``qubit`` onto ``outcome`` and multiply the survivors by ``scale``."""
    half = state.size >> 1
    stride = 1 << qubit
    for group in range(half):
        i0 = _insert_zero_bit(group, qubit)
        keep = i0 | (stride * outcome)
        drop = i0 | (stride * (1 - outcome))
        state[keep] *= scale
        state[drop] = 0


@njit(parallel=True, cache=True)
def probability_of_one_parallel(state: np.ndarray, qubit: int) -> float:
    """Parallel ``probability_of_one`` (for large states: a pass over memory)."""
    half = state.size >> 1
    stride = 1 << qubit
    chunks = (half + _CHUNK - 1) // _CHUNK
    totals = np.zeros(chunks)
    for chunk in prange(chunks):
        total = 0.0
        for group in range(chunk * _CHUNK, min(half, (chunk + 1) * _CHUNK)):
            amplitude = state[_insert_zero_bit(group, qubit) | stride]
            total += amplitude.real * amplitude.real + amplitude.imag * amplitude.imag
        totals[chunk] = total
    return totals.sum()


@njit(parallel=True, cache=True)
def collapse_parallel(
    state: np.ndarray, qubit: int, outcome: int, scale: float, to_zero: bool
) -> None:
    """Parallel ``collapse``; with ``to_zero`` the survivors then move to ``qubit`` = 0
    (a reset in the same pass)."""
    half = state.size >> 1
    stride = 1 << qubit
    chunks = (half + _CHUNK - 1) // _CHUNK
    move = to_zero and outcome == 1
    for chunk in prange(chunks):
        for group in range(chunk * _CHUNK, min(half, (chunk + 1) * _CHUNK)):
            i0 = _insert_zero_bit(group, qubit)
            i1 = i0 | stride
            if move:
                state[i0] = state[i1] * scale
                state[i1] = 0
            elif outcome:
                state[i1] *= scale
                state[i0] = 0
            else:
                state[i0] *= scale
                state[i1] = 0


@njit(cache=True)
def probabilities(state: np.ndarray, out: np.ndarray) -> None:
    """Write ``|state[i]|^2`` into the float64 array ``out`` (same length)."""
    for index in range(state.size):
        amplitude = state[index]
        out[index] = amplitude.real * amplitude.real + amplitude.imag * amplitude.imag


@njit(parallel=True, cache=True)
def chunk_probabilities(state: np.ndarray, chunk: int, out: np.ndarray) -> None:
    """Write the total probability of each run of ``chunk`` amplitudes into ``out``."""
    for c in prange(out.size):
        total = 0.0
        for index in range(c * chunk, min(state.size, (c + 1) * chunk)):
            amplitude = state[index]
            total += amplitude.real * amplitude.real + amplitude.imag * amplitude.imag
        out[c] = total


@njit(cache=True, inline="always")
def _parity(value: int) -> int:
    """Parity of the set bits of a non-negative ``value``, without branches."""
    value ^= value >> 32
    value ^= value >> 16
    value ^= value >> 8
    value ^= value >> 4
    value ^= value >> 2
    value ^= value >> 1
    return value & 1


@njit(parallel=True, cache=True, fastmath=True)
def pauli_expectation(state: np.ndarray, x_mask: int, z_mask: int) -> complex:
    """Return ``sum_i conj(state[i ^ x_mask]) * state[i] * (-1)^popcount(i & z_mask)``.

    This is ``<psi| X^x Z^z |psi>`` up to the factor ``i^(number of Y)`` the
    caller applies.
    """
    real = 0.0
    imag = 0.0
    if x_mask == 0:
        # Z strings: signed probabilities, a loop LLVM vectorises (5x the general one).
        for index in prange(state.size):
            amplitude = state[index]
            sign = 1.0 - 2.0 * _parity(index & z_mask)
            real += sign * (amplitude.real * amplitude.real + amplitude.imag * amplitude.imag)
        return complex(real, 0.0)
    for index in prange(state.size):
        value = state[index ^ x_mask].conjugate() * state[index]
        sign = 1.0 - 2.0 * _parity(index & z_mask)
        real += sign * value.real
        imag += sign * value.imag
    return complex(real, imag)


@njit(parallel=True, cache=True)
def affine_permute(state: np.ndarray, tables: np.ndarray, constant: int) -> None:
    """Move amplitude ``i`` to ``constant ^ XOR_b tables[b, byte b of i]``.

    ``tables`` (int64, ``(bytes, 256)``) describe a linear map of index bits over
    GF(2); the permutation goes through one temporary copy of the state.
    """
    moved = np.empty_like(state)
    count = tables.shape[0]
    for i in prange(state.size):
        target = constant
        for b in range(count):
            target ^= tables[b, (i >> (8 * b)) & 255]
        moved[target] = state[i]
    for i in prange(state.size):
        state[i] = moved[i]
