"""Classical conditions of ``if_test`` / ``if_else`` blocks as functions of the clbits.

The classical state of one trajectory is a Python ``int`` whose bit ``i`` is
classical bit ``i`` of the circuit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from qiskit.circuit import ClassicalRegister, Clbit
from qiskit.circuit.classical import expr

from openqpu.errors import UnsupportedInstruction

Condition = Callable[[int], bool]


def _register_reader(bits: list[int]) -> Callable[[int], int]:
    def read(clbits: int) -> int:
        value = 0
        for position, bit in enumerate(bits):
            value |= ((clbits >> bit) & 1) << position
        return value

    return read


def compile_condition(condition: Any, bit_index: Mapping[Clbit, int]) -> Condition:
    """Turn a Qiskit condition into a predicate over the packed classical bits.

    Args:
        condition: ``(Clbit, value)``, ``(ClassicalRegister, value)`` or a
            ``qiskit.circuit.classical.expr.Expr``.
        bit_index: maps each ``Clbit`` object to its index in the top circuit.

    Raises:
        UnsupportedInstruction: the condition uses a construct the engine lacks.
    """
    if isinstance(condition, tuple):
        target, value = condition
        if isinstance(target, Clbit):
            bit, wanted = bit_index[target], int(bool(value))
            return lambda clbits: ((clbits >> bit) & 1) == wanted
        if isinstance(target, ClassicalRegister):
            read = _register_reader([bit_index[b] for b in target])
            wanted = int(value)
            return lambda clbits: read(clbits) == wanted
    if isinstance(condition, expr.Expr):
        evaluate = _compile_expr(condition, bit_index)
        return lambda clbits: bool(evaluate(clbits))
    raise UnsupportedInstruction("if_else", f"condition {condition!r} is not supported")


_BINARY: dict[Any, Callable[[int, int], int]] = {
    expr.Binary.Op.BIT_AND: lambda a, b: a & b,
    expr.Binary.Op.BIT_OR: lambda a, b: a | b,
    expr.Binary.Op.BIT_XOR: lambda a, b: a ^ b,
    expr.Binary.Op.LOGIC_AND: lambda a, b: int(bool(a) and bool(b)),
    expr.Binary.Op.LOGIC_OR: lambda a, b: int(bool(a) or bool(b)),
    expr.Binary.Op.EQUAL: lambda a, b: int(a == b),
    expr.Binary.Op.NOT_EQUAL: lambda a, b: int(a != b),
    expr.Binary.Op.LESS: lambda a, b: int(a < b),
    expr.Binary.Op.LESS_EQUAL: lambda a, b: int(a <= b),
    expr.Binary.Op.GREATER: lambda a, b: int(a > b),
    expr.Binary.Op.GREATER_EQUAL: lambda a, b: int(a >= b),
}


def _compile_expr(node: expr.Expr, bit_index: Mapping[Clbit, int]) -> Callable[[int], int]:
    if isinstance(node, expr.Value):
        constant = int(node.value)
        return lambda clbits: constant
    if isinstance(node, expr.Var):
        var = node.var
        if isinstance(var, Clbit):
            bit = bit_index[var]
            return lambda clbits: (clbits >> bit) & 1
        if isinstance(var, ClassicalRegister):
            return _register_reader([bit_index[b] for b in var])
        raise UnsupportedInstruction("if_else", f"classical variable {var!r} in a condition")
    if isinstance(node, expr.Cast):
        inner = _compile_expr(node.operand, bit_index)
        if node.type.kind is expr.types.Bool:
            return lambda clbits: int(bool(inner(clbits)))
        return inner
    if isinstance(node, expr.Unary):
        inner = _compile_expr(node.operand, bit_index)
        if node.op is expr.Unary.Op.LOGIC_NOT:
            return lambda clbits: int(not inner(clbits))
        width = getattr(node.type, "width", 1)
        mask = (1 << width) - 1
        return lambda clbits: ~inner(clbits) & mask
    if isinstance(node, expr.Binary) and node.op in _BINARY:
        left = _compile_expr(node.left, bit_index)
        right = _compile_expr(node.right, bit_index)
        op = _BINARY[node.op]
        return lambda clbits: op(left(clbits), right(clbits))
    if isinstance(node, expr.Index):
        target = _compile_expr(node.target, bit_index)
        index = _compile_expr(node.index, bit_index)
        return lambda clbits: (target(clbits) >> index(clbits)) & 1
    raise UnsupportedInstruction("if_else", f"classical expression {node!r} is not supported")
