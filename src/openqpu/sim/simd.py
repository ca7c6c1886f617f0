"""Explicit SIMD for small dense gates: LLVM vector code emitted as numba intrinsics.

numba's loop vectoriser handles a dense gate well only when its lowest target bit
leaves long runs of consecutive amplitudes; below that, and on every short run, its
loops stay scalar (2-5 ns an amplitude against 0.3-0.5 here, on a cache-resident
sub-state in complex64). So these kernels write the vector code themselves: one
256-bit vector holds 4 complex64 or 2 complex128 amplitudes as interleaved real and
imaginary parts, and a gate on ``k`` targets updates, per step, one vector from each
of the runs it reads. Targets inside a vector (bit 0 or 1 of the amplitude index)
are handled with lane shuffles and per-lane coefficients, targets outside it with
separate loads.

Each layout (number of targets, which of them lie inside a vector) is one intrinsic
that emits the whole loop: the matrix's coefficient vectors are built once before
it. On machines without 256-bit vectors LLVM splits the vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

VECTOR_BYTES = 32
_FAST = ("fast",)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def _emit_loop(
    context: Any,
    builder: ir.IRBuilder,
    signature: Any,
    args: list[Any],
    num_targets: int,
    inside: tuple[int, ...],
) -> None:
    """Emit ``loop(state, bits, matrix, start, stop)`` for one layout (see ``layout_loop``)."""
    state_type, bits_type, matrix_type = signature.args[:3]
    itemsize = 8 if state_type.dtype == types.complex64 else 16
    lanes = VECTOR_BYTES // itemsize
    if any(1 << position >= lanes for position in inside):
        # Not a layout this dtype has: the dispatcher never takes this branch.
        trap = ir.FunctionType(ir.VoidType(), [])
        builder.call(builder.module.declare_intrinsic("llvm.trap", fnty=trap), [])
        return
    real = ir.FloatType() if itemsize == 8 else ir.DoubleType()
    width = 2 * lanes
    vector = ir.VectorType(real, width)
    mask_type = ir.VectorType(_I32, width)
    state = context.make_array(state_type)(context, builder, args[0])
    bits_array = context.make_array(bits_type)(context, builder, args[1])
    matrix = context.make_array(matrix_type)(context, builder, args[2])
    start, stop = args[3], args[4]
    dim = 1 << num_targets
    num_inside = len(inside)
    num_outside = num_targets - num_inside

    # Before the loop: the target bits, the outside targets' strides, and for every
    # term of the product its coefficient vectors (real parts; imaginary parts with
    # the sign of the cross term).
    bits = [
        builder.load(builder.gep(bits_array.data, [ir.Constant(_I64, j)]))
        for j in range(num_targets)
    ]
    one = ir.Constant(_I64, 1)
    strides = [builder.shl(one, bits[num_inside + j]) for j in range(num_outside)]
    matrix_reals = builder.bitcast(matrix.data, real.as_pointer())
    entries: dict[int, Any] = {}

    def entry(flat: int) -> Any:
        if flat not in entries:
            entries[flat] = builder.load(builder.gep(matrix_reals, [ir.Constant(_I64, flat)]))
        return entries[flat]

    def lane_vector(parts: list[Any]) -> Any:
        out = ir.Constant(vector, ir.Undefined)
        for j, part in enumerate(parts):
            out = builder.insert_element(out, part, ir.Constant(_I32, j))
        return out

    def target_bits(lane: int, outside: int) -> int:
        value = 0
        for t, position in enumerate(inside):
            value |= ((lane >> position) & 1) << t
        return value | (outside << num_inside)

    # terms[out][n] = (input run, straight mask, crossed mask, re vector, im vector)
    terms: list[list[tuple[int, Any, Any, Any, Any]]] = []
    for out_run in range(1 << num_outside):
        row_terms = []
        for in_run in range(1 << num_outside):
            for flip in range(1 << num_inside):
                lane_xor = sum(1 << inside[t] for t in range(num_inside) if (flip >> t) & 1)
                sources = [lane ^ lane_xor for lane in range(lanes)]
                straight = [2 * sources[lane] + part for lane in range(lanes) for part in (0, 1)]
                crossed = [2 * sources[lane] + 1 - part for lane in range(lanes) for part in (0, 1)]
                re_parts, im_parts = [], []
                for lane in range(lanes):
                    row = target_bits(lane, out_run)
                    column = target_bits(sources[lane], in_run)
                    flat = 2 * (row * dim + column)
                    re_parts += [entry(flat), entry(flat)]
                    imag = entry(flat + 1)
                    im_parts += [builder.fneg(imag, flags=_FAST), imag]
                row_terms.append(
                    (
                        in_run,
                        ir.Constant(mask_type, straight),
                        ir.Constant(mask_type, crossed),
                        lane_vector(re_parts),
                        lane_vector(im_parts),
                    )
                )
        terms.append(row_terms)

    state_reals = builder.bitcast(state.data, real.as_pointer())
    per_chunk = ir.Constant(_I64, lanes >> num_inside)
    with cgutils.for_range_slice(builder, start, stop, per_chunk) as (group, _):
        # The chunk's first amplitude: the group number with a zero at every target bit.
        index = group
        for b in bits:
            low = builder.and_(index, builder.sub(builder.shl(one, b), one))
            high = builder.shl(builder.lshr(index, b), builder.add(b, one))
            index = builder.or_(high, low)
        pointers, values = [], []
        for run in range(1 << num_outside):
            offset = index
            for j in range(num_outside):
                if (run >> j) & 1:
                    offset = builder.add(offset, strides[j])
            address = builder.gep(state_reals, [builder.shl(offset, one)])
            pointer = builder.bitcast(address, vector.as_pointer())
            pointers.append(pointer)
            values.append(builder.load(pointer, align=itemsize // 2))
        for pointer, row_terms in zip(pointers, terms, strict=True):
            total = None
            for in_run, straight, crossed, re_vector, im_vector in row_terms:
                value = values[in_run]
                moved = builder.shuffle_vector(value, value, straight)
                swapped = builder.shuffle_vector(value, value, crossed)
                term = builder.fadd(
                    builder.fmul(re_vector, moved, flags=_FAST),
                    builder.fmul(im_vector, swapped, flags=_FAST),
                    flags=_FAST,
                )
                total = term if total is None else builder.fadd(total, term, flags=_FAST)
            builder.store(total, pointer, align=itemsize // 2)


def layout_loop(num_targets: int, inside: tuple[int, ...]) -> Callable[..., None]:
    """A numba intrinsic ``loop(state, bits, matrix, start, stop)`` for one layout.

    It applies the ``2^k x 2^k`` ``matrix`` (complex, C-contiguous, the state's
    dtype; index bit ``t`` is target ``bits[t]``) in place to the groups
    ``[start, stop)`` of ``state`` (group ``g`` is the index ``g`` with a zero
    inserted at every target bit), one vector of each run per step. ``bits``
    (int64, ascending) are the ``k`` target bits; the lowest ``len(inside)`` must be
    the bits ``inside`` of a vector, the others outside it. ``start`` and ``stop``
    must be multiples of the groups a step covers.
    """

    @intrinsic
    def loop(typingctx: Any, state: Any, bits: Any, matrix: Any, start: Any, stop: Any):  # type: ignore[no-untyped-def]
        for array in (state, matrix):
            # The code reads both through their data pointers: contiguous complex only.
            if not isinstance(array, types.Array) or array.layout != "C":
                return None
            if array.dtype not in (types.complex64, types.complex128):
                return None
        if matrix.dtype != state.dtype or not isinstance(bits, types.Array):
            return None
        if bits.dtype != types.int64 or bits.layout != "C":
            return None
        signature = types.void(state, bits, matrix, types.int64, types.int64)

        def codegen(context: Any, builder: ir.IRBuilder, sig: Any, args: list[Any]) -> Any:
            _emit_loop(context, builder, sig, args, num_targets, inside)
            return context.get_dummy_value()

        return signature, codegen

    return loop


# One loop per number of targets and layout: every target outside the vector, the
# lowest at vector bit 0 or at bit 1, or the lowest two at bits 0 and 1 (complex64).
dense1_outside = layout_loop(1, ())
dense1_at0 = layout_loop(1, (0,))
dense1_at1 = layout_loop(1, (1,))
dense2_outside = layout_loop(2, ())
dense2_at0 = layout_loop(2, (0,))
dense2_at1 = layout_loop(2, (1,))
dense2_inside = layout_loop(2, (0, 1))
dense3_outside = layout_loop(3, ())
dense3_at0 = layout_loop(3, (0,))
dense3_at1 = layout_loop(3, (1,))
dense3_inside = layout_loop(3, (0, 1))
dense4_outside = layout_loop(4, ())
dense4_at0 = layout_loop(4, (0,))
dense4_at1 = layout_loop(4, (1,))
dense4_inside = layout_loop(4, (0, 1))


@njit(cache=True)
def dense_chunks(
    state: np.ndarray, bits: np.ndarray, matrix: np.ndarray, start: int, stop: int
) -> bool:
    """Apply a dense ``matrix`` on the ascending target ``bits`` (1 to 4, int64; matrix
    index bit ``t`` is ``bits[t]``) to the groups ``[start, stop)`` (group ``g`` is
    the index ``g`` with zeros inserted at ``bits``), vector by vector; False, leaving
    the state as it was, when the range does not split into whole vectors."""
    lanes = VECTOR_BYTES // state.itemsize
    vector_bits = 2 if lanes == 4 else 1
    k = bits.size
    inside = 0
    while inside < k and bits[inside] < vector_bits:
        inside += 1
    per_chunk = lanes >> inside
    if state.size < lanes or start % per_chunk or stop % per_chunk:
        return False
    layout = 4 * k + (0 if inside == 0 else 3 if inside == 2 else 1 + bits[0])
    if layout == 4:
        dense1_outside(state, bits, matrix, start, stop)
    elif layout == 5:
        dense1_at0(state, bits, matrix, start, stop)
    elif layout == 6:
        dense1_at1(state, bits, matrix, start, stop)
    elif layout == 8:
        dense2_outside(state, bits, matrix, start, stop)
    elif layout == 9:
        dense2_at0(state, bits, matrix, start, stop)
    elif layout == 10:
        dense2_at1(state, bits, matrix, start, stop)
    elif layout == 11:
        dense2_inside(state, bits, matrix, start, stop)
    elif layout == 12:
        dense3_outside(state, bits, matrix, start, stop)
    elif layout == 13:
        dense3_at0(state, bits, matrix, start, stop)
    elif layout == 14:
        dense3_at1(state, bits, matrix, start, stop)
    elif layout == 15:
        dense3_inside(state, bits, matrix, start, stop)
    elif layout == 16:
        dense4_outside(state, bits, matrix, start, stop)
    elif layout == 17:
        dense4_at0(state, bits, matrix, start, stop)
    elif layout == 18:
        dense4_at1(state, bits, matrix, start, stop)
    else:
        dense4_inside(state, bits, matrix, start, stop)
    return True
