"""Explicit SIMD for small dense gates: LLVM vector code emitted as numba intrinsics.

numba's loop vectoriser handles a dense gate well only when its lowest target bit
leaves long runs of consecutive amplitudes; below that, and on every short run, the
loops stay scalar (2-5 ns an amplitude against ~0.4 here, measured with
``bench/fusion_costs.py``-style loops on a cache-resident sub-state). So these
kernels write the vector code themselves: one 256-bit vector holds ``LANES``
amplitudes (4 in complex64, 2 in complex128) as interleaved real and imaginary
parts, and a gate updates one vector from each of the ``2^k`` (or fewer) runs it
reads. Target bits inside a vector (bit 0 or 1 of the amplitude index) are handled
with lane shuffles and per-lane coefficients; bits outside it with separate loads.

Each chunk function updates the amplitudes of one vector-sized chunk of groups; the
matrix entries it needs are marked invariant so LLVM keeps them in registers across
the caller's loop. On machines without 256-bit vectors LLVM splits the vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

VECTOR_BYTES = 32
_FAST = ("fast",)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def lanes_of(itemsize: int) -> int:
    """Amplitudes of ``itemsize`` bytes in one vector."""
    return VECTOR_BYTES // itemsize


def _vector_bits(lanes: int) -> int:
    return lanes.bit_length() - 1


def _emit_chunk(
    context: Any,
    builder: ir.IRBuilder,
    signature: Any,
    args: list[Any],
    num_targets: int,
    inside: tuple[int, ...],
) -> None:
    """Emit the update of one chunk (see ``chunk_kernel``)."""
    state_type = signature.args[0]
    itemsize = 8 if state_type.dtype == types.complex64 else 16
    lanes = lanes_of(itemsize)
    if any(position >= _vector_bits(lanes) for position in inside):
        # Not a layout this dtype has: callers never take this branch.
        trap = ir.FunctionType(ir.VoidType(), [])
        builder.call(builder.module.declare_intrinsic("llvm.trap", fnty=trap), [])
        return
    real = ir.FloatType() if itemsize == 8 else ir.DoubleType()
    width = 2 * lanes
    vector = ir.VectorType(real, width)
    mask_type = ir.VectorType(_I32, width)
    state = context.make_array(state_type)(context, builder, args[0])
    matrix = context.make_array(signature.args[4])(context, builder, args[4])
    index, strides = args[1], (args[2], args[3])
    dim = 1 << num_targets
    invariant = builder.module.add_metadata([])
    matrix_reals = builder.bitcast(matrix.data, real.as_pointer())
    entries: dict[int, Any] = {}

    def entry(flat: int) -> Any:
        if flat not in entries:
            load = builder.load(builder.gep(matrix_reals, [ir.Constant(_I64, flat)]))
            load.set_metadata("invariant.load", invariant)
            entries[flat] = load
        return entries[flat]

    def lane_vector(parts: list[Any]) -> Any:
        out = ir.Constant(vector, ir.Undefined)
        for j, part in enumerate(parts):
            out = builder.insert_element(out, part, ir.Constant(_I32, j))
        return out

    # One pointer and one load per assignment of the target bits outside the vector.
    num_outside = num_targets - len(inside)
    state_reals = builder.bitcast(state.data, real.as_pointer())
    pointers, values = [], []
    for outside in range(1 << num_outside):
        offset = index
        for j in range(num_outside):
            if (outside >> j) & 1:
                offset = builder.add(offset, strides[j])
        address = builder.gep(state_reals, [builder.mul(offset, ir.Constant(_I64, 2))])
        pointer = builder.bitcast(address, vector.as_pointer())
        pointers.append(pointer)
        values.append(builder.load(pointer, align=itemsize // 2))

    def target_bits(lane: int, outside: int) -> int:
        bits = 0
        for t, position in enumerate(inside):
            bits |= ((lane >> position) & 1) << t
        return bits | (outside << len(inside))

    for out_index, pointer in enumerate(pointers):
        total = None
        for in_index, value in enumerate(values):
            for flip in range(1 << len(inside)):
                lane_xor = sum(1 << inside[t] for t in range(len(inside)) if (flip >> t) & 1)
                sources = [lane ^ lane_xor for lane in range(lanes)]
                moved = [2 * sources[lane] + part for lane in range(lanes) for part in (0, 1)]
                crossed = [2 * sources[lane] + 1 - part for lane in range(lanes) for part in (0, 1)]
                straight = builder.shuffle_vector(value, value, ir.Constant(mask_type, moved))
                swapped = builder.shuffle_vector(value, value, ir.Constant(mask_type, crossed))
                re_parts, im_parts = [], []
                for lane in range(lanes):
                    row = target_bits(lane, out_index)
                    column = target_bits(sources[lane], in_index)
                    flat = 2 * (row * dim + column)
                    re_parts += [entry(flat), entry(flat)]
                    imag = entry(flat + 1)
                    im_parts += [builder.fneg(imag, flags=_FAST), imag]
                term = builder.fadd(
                    builder.fmul(lane_vector(re_parts), straight, flags=_FAST),
                    builder.fmul(lane_vector(im_parts), swapped, flags=_FAST),
                    flags=_FAST,
                )
                total = term if total is None else builder.fadd(total, term, flags=_FAST)
        builder.store(total, pointer, align=itemsize // 2)


def chunk_kernel(num_targets: int, inside: tuple[int, ...]) -> Callable[..., None]:
    """A numba intrinsic ``f(state, index, stride_a, stride_b, matrix)`` for one layout.

    It applies the ``2^k x 2^k`` ``matrix`` (complex, C-contiguous, the state's
    dtype; index bit ``t`` is target ``t``) to the amplitudes of one vector-sized
    chunk, in place. Targets ``0 .. len(inside)-1`` are the bits ``inside`` of the
    amplitude index, inside the vector (so the matrix must list the lowest targets
    first); the other targets are outside it, at distances ``stride_a`` and
    ``stride_b`` (amplitudes). ``index`` is the chunk's first amplitude with every
    outside target 0; it must be a multiple of ``LANES``.
    """

    @intrinsic
    def chunk(typingctx: Any, state: Any, index: Any, stride_a: Any, stride_b: Any, matrix: Any):  # type: ignore[no-untyped-def]
        for array in (state, matrix):
            # The code reads both through their data pointers: contiguous complex only.
            if not isinstance(array, types.Array) or array.layout != "C":
                return None
            if array.dtype not in (types.complex64, types.complex128):
                return None
        if matrix.dtype != state.dtype:
            return None
        signature = types.void(state, types.int64, types.int64, types.int64, matrix)

        def codegen(context: Any, builder: ir.IRBuilder, sig: Any, args: list[Any]) -> Any:
            _emit_chunk(context, builder, sig, args, num_targets, inside)
            return context.get_dummy_value()

        return signature, codegen

    return chunk


# Two-qubit gates (matrix lowest target first): both targets outside the vector, the
# lower one at vector bit 0 or 1, or both inside (complex64's bits 0 and 1).
dense2_outside = chunk_kernel(2, ())
dense2_low_at0 = chunk_kernel(2, (0,))
dense2_low_at1 = chunk_kernel(2, (1,))
dense2_inside = chunk_kernel(2, (0, 1))
# One-qubit gates: outside the vector, or at vector bit 0 or 1.
dense1_outside = chunk_kernel(1, ())
dense1_at0 = chunk_kernel(1, (0,))
dense1_at1 = chunk_kernel(1, (1,))


@njit(cache=True, inline="always")
def _insert_zero_bit(index: int, bit: int) -> int:
    low = index & ((1 << bit) - 1)
    return ((index >> bit) << (bit + 1)) | low


@njit(cache=True)
def dense2_chunks(
    state: np.ndarray, low: int, high: int, matrix: np.ndarray, start: int, stop: int
) -> bool:
    """Apply a 4x4 ``matrix`` (index bit 0 on qubit ``low`` < ``high``) to the groups
    ``[start, stop)`` (group ``g`` is the index ``g`` with zeros inserted at ``low``
    and ``high``); False, leaving the state as it was, when the range does not split
    into whole vectors (tiny states)."""
    lanes = VECTOR_BYTES // state.itemsize
    vector_bits = 2 if lanes == 4 else 1
    if low >= vector_bits:
        per_chunk = lanes
    elif high >= vector_bits:
        per_chunk = lanes >> 1
    else:
        per_chunk = 1
    if start % per_chunk or stop % per_chunk or state.size < lanes:
        return False
    s_low = 1 << low
    s_high = 1 << high
    for group in range(start, stop, per_chunk):
        index = _insert_zero_bit(_insert_zero_bit(group, low), high)
        if low >= vector_bits:
            dense2_outside(state, index, s_low, s_high, matrix)
        elif high < vector_bits:
            dense2_inside(state, index, 0, 0, matrix)
        elif low == 0:
            dense2_low_at0(state, index, s_high, 0, matrix)
        else:
            dense2_low_at1(state, index, s_high, 0, matrix)
    return True


@njit(cache=True)
def dense1_chunks(state: np.ndarray, qubit: int, matrix: np.ndarray, start: int, stop: int) -> bool:
    """Apply a 2x2 ``matrix`` to ``qubit`` for the groups ``[start, stop)``; False
    when the range does not split into whole vectors."""
    lanes = VECTOR_BYTES // state.itemsize
    vector_bits = 2 if lanes == 4 else 1
    per_chunk = lanes if qubit >= vector_bits else lanes >> 1
    if start % per_chunk or stop % per_chunk or state.size < lanes:
        return False
    stride = 1 << qubit
    for group in range(start, stop, per_chunk):
        index = _insert_zero_bit(group, qubit)
        if qubit >= vector_bits:
            dense1_outside(state, index, stride, 0, matrix)
        elif qubit == 0:
            dense1_at0(state, index, 0, 0, matrix)
        else:
            dense1_at1(state, index, 0, 0, matrix)
    return True
