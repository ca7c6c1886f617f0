"""Lowering for the MPS method: a circuit and its noise become flat operation tables
on MPS sites, with runs of one-qubit gates fused and distant gates brought together
by swaps: swapped back to their sites after each gate, or left where they met when
the circuit's structure says that is cheaper (the program records the final order).

The engine's own lowering places the noise and flattens ``if_else``; this module
turns its instructions into the arrays the numba kernels run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Gate, IfElseOp
from qiskit.circuit.classical import expr

from openqpu.errors import UnsupportedInstruction
from openqpu.sim.lowering import (
    GateLeaf,
    Instruction,
    JumpUnless,
    LoweredCircuit,
    Noise,
    lower,
)
from openqpu.sim.methods.mps_builder import OpsBuilder
from openqpu.sim.methods.mps_order import site_order, structural_work
from openqpu.sim.noise import Depolarizing, NoiseModel

# Conditions are tabulated over the bits they read; more would make the table huge.
MAX_CONDITION_BITS = 20


@dataclass
class MpsProgram:
    """A circuit lowered for the kernels (see ``mps_kernels`` for the operation kinds).

    Attributes:
        order: qubit on each site.
        ops_int: int64[ops, 4]: kind, site a, site b or jump target, matrix/clbit/condition.
        ops_real: float64[ops, 2]: the operation's probabilities.
        mats1, mats2: complex128[m, 2, 2] and [m, 4, 4] (index 2 * left + right).
        conds: (bits int64[c, w], widths int64[c], offsets int64[c], table uint8[...]).
        terminal: int64[t, 2]: (site, clbit) of measurements sampled from the final state.
        terminal_real: float64[t, 2]: their readout P(1|0), P(0|1).
        gates: (low site, high site, log2 Schmidt rank) of each two-qubit gate where it
            is met (a gate on distant sites counts one more for the qubit it moves).
        final_order: qubit on each site at the end.
        swap_back: whether distant qubits are swapped back to their sites after each
            gate (else they stay where they met).
    """

    num_clbits: int
    order: list[int]
    ops_int: np.ndarray
    ops_real: np.ndarray
    mats1: np.ndarray
    mats2: np.ndarray
    conds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    terminal: np.ndarray
    terminal_real: np.ndarray
    gates: list[tuple[int, int, int]]
    final_order: list[int]
    swap_back: bool = True

    @property
    def num_sites(self) -> int:
        """Number of sites (the circuit's qubits)."""
        return len(self.order)


def expanded(circuit: QuantumCircuit) -> QuantumCircuit:
    """``circuit`` with gates on three or more qubits replaced by their definitions."""
    if not any(_wide(item.operation) for item in circuit.data):
        return circuit
    out = circuit.copy_empty_like()
    for item in circuit.data:
        if _wide(item.operation):
            out.compose(expanded(item.operation.definition), item.qubits, inplace=True)
        else:
            out.append(item)
    return out


def _wide(operation: object) -> bool:
    return (
        isinstance(operation, Gate)
        and operation.num_qubits >= 3
        and operation.definition is not None
    )


def lowered_for_mps(circuit: QuantumCircuit, noise: NoiseModel | None) -> LoweredCircuit:
    """The engine's lowering, checked for what the MPS kernels run.

    Raises:
        UnsupportedInstruction: with the reason the MPS method cannot run it.
    """
    if circuit.parameters:
        names = ", ".join(sorted(p.name for p in circuit.parameters))
        raise UnsupportedInstruction("parameters", f"unbound parameters: {names}")
    lowered = lower(expanded(circuit), noise)
    for item in lowered.instructions:
        if isinstance(item, GateLeaf):
            width = len(item.qubits) + len(item.controls)
            if width > 2:
                raise UnsupportedInstruction(
                    "gate", f"a gate on {width} qubits without a definition"
                )
            if item.matrix is None:
                raise UnsupportedInstruction("gate", "a gate with unbound parameters")
        elif isinstance(item, Noise) and isinstance(item.channel, Depolarizing):
            if item.channel.num_qubits > 2:
                raise UnsupportedInstruction("noise", "depolarising noise on more than 2 qubits")
    return lowered


def build_program(circuit: QuantumCircuit, noise: NoiseModel | None, max_bond: int) -> MpsProgram:
    """Lower ``circuit`` with ``noise`` into an ``MpsProgram``.

    Raises:
        UnsupportedInstruction: the MPS method cannot run the circuit.
    """
    lowered = lowered_for_mps(circuit, noise)
    items = lowered.instructions
    ranks = {
        i: _log2_rank(item.matrix)
        for i, item in enumerate(items)
        if isinstance(item, GateLeaf) and len(item.qubits) == 2 and item.matrix is not None
    }
    leaves = {i: item for i, item in enumerate(items) if isinstance(item, GateLeaf)}
    pairs = [(leaves[i].qubits[0], leaves[i].qubits[1], r) for i, r in ranks.items()]
    order = site_order(lowered.num_qubits, pairs, max_bond)
    conditions = _conditions(expanded(circuit), sum(isinstance(i, JumpUnless) for i in items))
    builder = _routed(order, items, ranks, max_bond)
    num_ops = len(builder.ints)
    terminal = builder.terminal
    return MpsProgram(
        num_clbits=lowered.num_clbits,
        order=order,
        ops_int=np.array(builder.ints, dtype=np.int64).reshape(num_ops, 4),
        ops_real=np.array(builder.reals, dtype=np.float64).reshape(num_ops, 2),
        mats1=np.array(builder.mats1, dtype=np.complex128),
        mats2=np.array(builder.mats2, dtype=np.complex128),
        conds=_packed(conditions),
        terminal=np.array([t[:2] for t in terminal], dtype=np.int64).reshape(len(terminal), 2),
        terminal_real=np.array([t[2:] for t in terminal], dtype=np.float64).reshape(
            len(terminal), 2
        ),
        gates=builder.gates,
        final_order=list(builder.order),
        swap_back=builder.swap_back,
    )


def _routed(
    order: list[int], items: list[Instruction], ranks: dict[int, int], max_bond: int
) -> OpsBuilder:
    """The operation table with distant qubits swapped back after each gate, or left
    where they met when that bounds less work.

    Staying saves half the swaps (QFT-24 on lattice72: 1,341 two-site steps instead of
    2,689, a third of the time) but a qubit that drifts away from its neighbours can
    entangle far more (QAOA on the 10x6 grid: bond 256 instead of 32, 90 times the
    time). ``structural_work`` of the two tables, where a moved qubit counts one more
    Schmidt rank on every cut it crossed, tells the two apart on the benchmark's
    circuits; the estimate and the run build the same table.
    """
    back = OpsBuilder(order)
    back.build(items, ranks)
    num_sites = len(order)
    if all(hi == lo + 1 for lo, hi, _ in back.gates):
        return back
    stay = OpsBuilder(order, swap_back=False)
    stay.build(items, ranks)
    back_work = structural_work(num_sites, back.gates, max_bond, swap_back=True)[0]
    stay_work = structural_work(num_sites, stay.gates, max_bond, swap_back=False)[0]
    return stay if stay_work < back_work else back


def _packed(
    conditions: list[tuple[list[int], np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Conditions as arrays: bits [c, w], widths [c], table offsets [c], tables."""
    width = max((len(bits) for bits, _ in conditions), default=0)
    bits = np.zeros((max(len(conditions), 1), max(width, 1)), dtype=np.int64)
    widths = np.zeros(max(len(conditions), 1), dtype=np.int64)
    offsets = np.zeros(max(len(conditions), 1), dtype=np.int64)
    tables = [np.zeros(1, dtype=np.uint8)]
    offset = 1
    for c, (read, table) in enumerate(conditions):
        bits[c, : len(read)] = read
        widths[c] = len(read)
        offsets[c] = offset
        tables.append(table)
        offset += len(table)
    return bits, widths, offsets, np.concatenate(tables)


def _log2_rank(matrix: np.ndarray) -> int:
    """log2 of the operator Schmidt rank of a two-qubit matrix, rounded up."""
    split = matrix.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    rank = int(np.sum(np.linalg.svd(split, compute_uv=False) > 1e-9))
    return int(np.ceil(np.log2(max(rank, 1))))


def _conditions(circuit: QuantumCircuit, count: int) -> list[tuple[list[int], np.ndarray]]:
    """(bits read, truth table over them) of each ``if_else``, in lowering order."""
    found: list[tuple[list[int], np.ndarray]] = []
    index = {bit: i for i, bit in enumerate(circuit.clbits)}

    def walk(body: QuantumCircuit, clbit_map: dict) -> None:
        for item in body.data:
            operation = item.operation
            if isinstance(operation, IfElseOp):
                found.append(_tabulate(operation.condition, {**index, **clbit_map}))
            for block in getattr(operation, "blocks", ()):
                inner = {
                    b: clbit_map.get(o, index.get(o))
                    for b, o in zip(block.clbits, item.clbits, strict=False)
                }
                walk(block, {**clbit_map, **inner})

    walk(circuit, {})
    if len(found) != count:
        raise UnsupportedInstruction("if_else", "if_else inside a composite instruction")
    return found


def _tabulate(condition: object, index: dict) -> tuple[list[int], np.ndarray]:
    from openqpu.sim.conditions import compile_condition

    if isinstance(condition, tuple):
        target = condition[0]
        bits = [index[target]] if not hasattr(target, "__len__") else [index[b] for b in target]
    else:
        bits = []
        for var in expr.iter_vars(condition):
            target = var.var
            bits.extend(
                [index[target]] if not hasattr(target, "__len__") else [index[b] for b in target]
            )
    bits = sorted(set(bits))
    if len(bits) > MAX_CONDITION_BITS:
        raise UnsupportedInstruction(
            "if_else", f"a condition on more than {MAX_CONDITION_BITS} bits"
        )
    test = compile_condition(condition, index)
    table = np.zeros(1 << len(bits), dtype=np.uint8)
    for value in range(1 << len(bits)):
        packed = sum(((value >> m) & 1) << bit for m, bit in enumerate(bits))
        table[value] = bool(test(packed))
    return bits, table
