"""Compiled programs: lower and fuse a circuit once, then bind and run it many times."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from openqpu.sim.affine import merge_permutations
from openqpu.sim.blocking import plan_groups
from openqpu.sim.compose import DenseBuilder, DiagonalBuilder, MonomialBuilder
from openqpu.sim.fusion import Block, CostModel, LeafShape, plan_fusion
from openqpu.sim.lowering import (
    GateLeaf,
    Jump,
    JumpUnless,
    LoweredCircuit,
    Measure,
    Noise,
    Reset,
    evaluate_parameter,
    lower,
)
from openqpu.sim.noise import NoiseModel, ReadoutError
from openqpu.sim.ops import ControlledOp, DenseOp, DiagonalOp, GateOp, MonomialOp
from openqpu.sim.structure import Structure

ParameterValues = Mapping[Parameter, float] | Sequence[float] | None


@dataclass
class Segment:
    """A run of gates between control instructions, with its fusion plan per dtype."""

    leaves: list[GateLeaf]
    plans: dict[np.dtype, list[Block]]


Step = Segment | Measure | Reset | Noise | JumpUnless | Jump
BoundStep = list[GateOp] | Measure | Reset | Noise | JumpUnless | Jump


class Program:
    """A circuit lowered and fused for the engine; bind parameters and run many times.

    Attributes:
        num_qubits: qubits of the circuit.
        num_clbits: classical bits; counts keys have this many characters.
        parameters: the circuit's free parameters, in Qiskit's order.
        final_measures: ``(qubit, clbit)`` measurements deferred to the end, sampled
            from the final state.
        final_readout: ``(clbit, ReadoutError)`` for deferred measurements whose
            qubit has a readout error in the noise model.
        is_dynamic: True when mid-circuit measurement, reset, classical control or
            noise remain, so shots run as trajectories.
        is_noisy: True when the noise model placed any channel or readout error.
    """

    def __init__(self, circuit: QuantumCircuit, noise: NoiseModel | None = None) -> None:
        lowered = lower(circuit, noise)
        self.num_qubits = circuit.num_qubits
        self.num_clbits = circuit.num_clbits
        self.parameters: list[Parameter] = list(circuit.parameters)
        self._phases = lowered.phases
        self._bound_cache: dict[np.dtype, tuple[list[BoundStep], complex]] = {}
        if all(type(ins) is GateLeaf for ins in lowered.instructions):
            # Gates only (the common case): one segment, nothing deferred or dynamic.
            self.final_measures: list[tuple[int, int]] = []
            self.final_readout: list[tuple[int, ReadoutError]] = []
            self.is_noisy = False
            leaves = [ins for ins in lowered.instructions if isinstance(ins, GateLeaf)]
            self._steps: list[Step] = [Segment(leaves, {})] if leaves else []
            self.is_dynamic = False
            return
        _drop_trailing_noise(lowered)
        deferred = _deferrable_measures(lowered)
        finals = [
            ins
            for i, ins in enumerate(lowered.instructions)
            if i in deferred and isinstance(ins, Measure)
        ]
        self.final_measures = [(ins.qubit, ins.clbit) for ins in finals]
        self.final_readout = [(ins.clbit, ins.readout) for ins in finals if ins.readout is not None]
        self.is_noisy = bool(self.final_readout) or any(
            isinstance(ins, Noise) or (isinstance(ins, Measure) and ins.readout is not None)
            for ins in lowered.instructions
        )
        self._steps = _segment(lowered, deferred | _idle_resets(lowered))
        self.is_dynamic = any(not isinstance(step, Segment) for step in self._steps)

    @property
    def steps(self) -> list[Step]:
        """The unbound steps: gate segments, events and jumps (jump targets are indices)."""
        return self._steps

    def bind(self, values: ParameterValues, dtype: np.dtype) -> tuple[list[BoundStep], complex]:
        """Matrices of every step for these parameter values, and the global phase factor."""
        dtype = np.dtype(dtype)
        if not self.parameters and dtype in self._bound_cache:
            return self._bound_cache[dtype]
        mapping = self.parameter_mapping(values)
        steps: list[BoundStep] = []
        for step in self._steps:
            if isinstance(step, Segment):
                steps.append(bind_segment(step, mapping, dtype, self.num_qubits))
            else:
                steps.append(step)
        phase = sum(evaluate_parameter(p, mapping) for p in self._phases)
        result = (steps, complex(np.exp(1j * phase)))
        if not self.parameters:
            self._bound_cache[dtype] = result
        return result

    def parameter_mapping(self, values: ParameterValues) -> dict[Parameter, float]:
        """``values`` as a mapping from each parameter to its value (checked)."""
        if not self.parameters:
            return {}
        if values is None:
            names = ", ".join(p.name for p in self.parameters)
            raise ValueError(f"the circuit has unbound parameters ({names}); pass their values")
        if isinstance(values, Mapping):
            missing = [p.name for p in self.parameters if p not in values]
            if missing:
                raise ValueError(f"no value given for parameters: {', '.join(missing)}")
            return {p: float(values[p]) for p in self.parameters}
        flat = list(np.asarray(values, dtype=float).ravel())
        if len(flat) != len(self.parameters):
            raise ValueError(f"expected {len(self.parameters)} parameter values, got {len(flat)}")
        return dict(zip(self.parameters, flat, strict=True))


def _drop_trailing_noise(lowered: LoweredCircuit) -> None:
    """Remove channels on qubits that nothing uses afterwards: they change no outcome.

    Idle relaxation after a qubit's last measurement is common in scheduled
    circuits; keeping it would turn that measurement into a mid-circuit one.
    """
    used_later: set[int] = set()
    keep: list[bool] = []
    control_later = False
    for ins in reversed(lowered.instructions):
        keep.append(True)
        if isinstance(ins, GateLeaf):
            used_later.update(ins.qubits)
            used_later.update(ins.controls)
        elif isinstance(ins, Measure | Reset):
            used_later.add(ins.qubit)
        elif isinstance(ins, JumpUnless | Jump):
            control_later = True
        elif isinstance(ins, Noise) and not control_later:
            keep[-1] = not used_later.isdisjoint(ins.qubits)
    keep.reverse()
    if all(keep):
        return
    # Jump targets are instruction indices: renumber them past the removed ones.
    new_index = list(itertools.accumulate(keep, initial=0))
    kept = [ins for ins, k in zip(lowered.instructions, keep, strict=True) if k]
    for ins in kept:
        if isinstance(ins, JumpUnless | Jump):
            ins.target = new_index[ins.target]
    lowered.instructions = kept


def _deferrable_measures(lowered: LoweredCircuit) -> set[int]:
    """Indices of measurements that can be sampled from the final state."""
    instructions = lowered.instructions
    conditional = [False] * len(instructions)
    reach = -1
    for i, ins in enumerate(instructions):
        conditional[i] = i < reach
        if isinstance(ins, JumpUnless | Jump):
            reach = max(reach, ins.target)
    deferred: set[int] = set()
    touched: set[int] = set()
    written: set[int] = set()
    control_later = False
    for i in range(len(instructions) - 1, -1, -1):
        ins = instructions[i]
        if isinstance(ins, GateLeaf):
            touched.update(ins.qubits)
            touched.update(ins.controls)
        elif isinstance(ins, Noise):
            touched.update(ins.qubits)
        elif isinstance(ins, Reset):
            touched.add(ins.qubit)
        elif isinstance(ins, JumpUnless | Jump):
            control_later = True
        elif isinstance(ins, Measure):
            if not (
                control_later or conditional[i] or ins.qubit in touched or ins.clbit in written
            ):
                deferred.add(i)
            else:
                touched.add(ins.qubit)
            written.add(ins.clbit)
    return deferred


def _idle_resets(lowered: LoweredCircuit) -> set[int]:
    """Indices of resets of qubits nothing has touched yet: no-ops on |0>."""
    touched: set[int] = set()
    idle: set[int] = set()
    for i, ins in enumerate(lowered.instructions):
        if isinstance(ins, GateLeaf):
            touched.update(ins.qubits)
            touched.update(ins.controls)
        elif isinstance(ins, Noise):
            touched.update(ins.qubits)
        elif isinstance(ins, Measure):
            touched.add(ins.qubit)
        elif isinstance(ins, Reset) and ins.qubit not in touched:
            idle.add(i)
    return idle


def _segment(lowered: LoweredCircuit, skipped: set[int]) -> list[Step]:
    """Group gate runs into segments and renumber jump targets to step indices.

    A run of gates is cut at every jump target so that a jump lands on a step.
    Instructions in ``skipped`` (deferred measurements, idle resets) are left out.
    """
    instructions = lowered.instructions
    targets = {ins.target for ins in instructions if isinstance(ins, JumpUnless | Jump)}
    steps: list[Step] = []
    step_of: dict[int, int] = {}
    run: list[GateLeaf] = []
    for i, ins in enumerate(instructions):
        if run and (i in targets or not isinstance(ins, GateLeaf)):
            steps.append(Segment(run, {}))
            run = []
        step_of[i] = len(steps)
        if isinstance(ins, GateLeaf):
            run.append(ins)
        elif i not in skipped:
            steps.append(ins)
    if run:
        steps.append(Segment(run, {}))
    for step in steps:
        if isinstance(step, JumpUnless | Jump):
            step.target = step_of.get(step.target, len(steps))
    return steps


def bind_segment(
    segment: Segment,
    values: Mapping[Any, float],
    dtype: np.dtype,
    num_qubits: int,
    blocks: dict[tuple, GateOp] | None = None,
) -> list[GateOp]:
    """The segment's fused, cache-blocked ops for these parameter values (plan cached).

    ``blocks``: ops already bound for the same values and dtype, by the identity of
    their leaves (which the caller keeps alive); found ones are reused, new ones added
    while it holds fewer than ``MAX_SHARED_BLOCKS``. Noisy shots drawn before
    simulation share most of their blocks (they differ where their noise differs).
    """
    plan = segment.plans.get(dtype)
    if plan is None:
        shapes = [
            LeafShape(leaf.controls + leaf.qubits, leaf.structure, fusable=not leaf.controls)
            for leaf in segment.leaves
        ]
        plan = plan_fusion(shapes, CostModel(dtype, num_qubits))
        segment.plans[dtype] = plan
    if blocks is None:
        ops = [_bind_block(block, segment.leaves, values, dtype) for block in plan]
    else:
        ops = [_shared_block(block, segment.leaves, values, dtype, blocks) for block in plan]
    return plan_groups(merge_permutations(ops, num_qubits, dtype), num_qubits, dtype)


MAX_SHARED_BLOCKS = 1 << 14


def _shared_block(
    block: Block,
    leaves: list[GateLeaf],
    values: Mapping[Any, float],
    dtype: np.dtype,
    blocks: dict[tuple, GateOp],
) -> GateOp:
    key = (*block.qubits, block.structure, block.standalone, *[id(leaves[i]) for i in block.leaves])
    op = blocks.get(key)
    if op is None:
        op = _bind_block(block, leaves, values, dtype)
        if len(blocks) < MAX_SHARED_BLOCKS:
            blocks[key] = op
    return op


def _bind_block(
    block: Block, leaves: list[GateLeaf], values: Mapping[Any, float], dtype: np.dtype
) -> GateOp:
    """One block's op: its gates composed by the structure of the block (``compose.py``)."""
    qubits = tuple(block.qubits)
    if block.standalone:
        leaf = leaves[block.leaves[0]]
        matrix = leaf.matrix_for(values).astype(dtype)
        return ControlledOp(leaf.controls, leaf.ctrl_state, leaf.qubits, matrix)
    if len(block.leaves) == 1 and leaves[block.leaves[0]].qubits == qubits:
        return _single_leaf_op(leaves[block.leaves[0]], block.structure, values, dtype)
    k = len(qubits)
    where = {q: j for j, q in enumerate(qubits)}
    if block.structure is Structure.DIAGONAL:
        diagonal = DiagonalBuilder(k)
        for index in block.leaves:
            leaf = leaves[index]
            positions = tuple([where[q] for q in leaf.qubits])
            diagonal.diagonal_gate(positions, leaf.diagonal_for(values))
        return DiagonalOp(qubits, diagonal.result().astype(dtype))
    builder = MonomialBuilder(k) if block.structure is Structure.MONOMIAL else DenseBuilder(k)
    for index in block.leaves:
        leaf = leaves[index]
        positions = tuple([where[q] for q in leaf.qubits])
        if leaf.structure is Structure.DIAGONAL:
            builder.diagonal_gate(positions, leaf.diagonal_for(values))
        elif leaf.structure is Structure.MONOMIAL:
            builder.monomial_gate(positions, *leaf.monomial_for(values))
        else:
            assert isinstance(builder, DenseBuilder)  # a dense leaf makes the block dense
            builder.dense_gate(positions, leaf.matrix_for(values))
    if isinstance(builder, MonomialBuilder):
        rows, phases = builder.result()
        return MonomialOp(qubits, rows, phases.astype(dtype))
    return DenseOp(qubits, np.ascontiguousarray(builder.result(), dtype=dtype))


def _single_leaf_op(
    leaf: GateLeaf, structure: Structure, values: Mapping[Any, float], dtype: np.dtype
) -> GateOp:
    """A block of one gate on exactly its qubits: the gate's own matrix, diagonal or map."""
    if structure is Structure.DIAGONAL:
        return DiagonalOp(leaf.qubits, leaf.diagonal_for(values).astype(dtype))
    if structure is Structure.MONOMIAL:
        rows, phases = leaf.monomial_for(values)
        if phases is None:
            phases = np.ones(rows.size, dtype=dtype)
        return MonomialOp(leaf.qubits, rows, phases.astype(dtype))
    # A copy: a leaf's matrix may be shared (and read-only) between leaves.
    return DenseOp(leaf.qubits, np.array(leaf.matrix_for(values), dtype=dtype, order="C"))
