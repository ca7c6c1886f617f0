"""Lowering: a ``QuantumCircuit`` becomes a flat list of engine instructions.

Gates become ``GateLeaf`` items (a matrix on qubits, or a wide controlled
gate); composite gates are decomposed through their definitions; ``if_else``
blocks become conditional jumps so that the executor runs a flat program.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import (
    Clbit,
    ControlFlowOp,
    ControlledGate,
    Gate,
    IfElseOp,
    ParameterExpression,
    Qubit,
)

from openqpu.errors import UnsupportedInstruction
from openqpu.sim.conditions import Condition, compile_condition
from openqpu.sim.noise import Channel, NoiseModel, ReadoutError
from openqpu.sim.structure import ZERO, Structure, classify, monomial_parts

# Gates on more qubits than this are applied as "controls + small target"
# instead of a dense matrix over all their qubits.
MAX_DENSE_LEAF_QUBITS = 4

_IGNORED = frozenset({"barrier", "delay", "id", "i"})


@dataclass
class GateLeaf:
    """One gate to apply: ``matrix`` acts on ``qubits`` (matrix index bit j = qubits[j]).

    ``controls`` (with ``ctrl_state``, bit j for controls[j]) restrict it to the
    subspace where the controls hold that value. A parameterised leaf has no
    ``matrix`` until bound; ``template`` is the gate whose parameters are bound.
    """

    qubits: tuple[int, ...]
    matrix: np.ndarray | None
    structure: Structure
    template: Gate | None = None
    controls: tuple[int, ...] = ()
    ctrl_state: int = 0
    # Forms of a fixed matrix derived once (diagonal, monomial parts); may be shared by
    # the leaves of one standard gate.
    parts: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def matrix_for(self, values: Mapping[Any, float]) -> np.ndarray:
        """The matrix with the circuit's parameters set to ``values``."""
        if self.matrix is not None:
            return self.matrix
        assert self.template is not None
        return _bound_matrix(self.template, values)

    def diagonal_for(self, values: Mapping[Any, float]) -> np.ndarray:
        """The diagonal of a diagonal leaf's matrix at ``values``."""
        if self.matrix is None:
            return np.ascontiguousarray(np.diagonal(self.matrix_for(values)))
        diagonal = self.parts.get("diagonal")
        if diagonal is None:
            diagonal = self.parts["diagonal"] = np.ascontiguousarray(np.diagonal(self.matrix))
        return diagonal

    def monomial_for(self, values: Mapping[Any, float]) -> tuple[np.ndarray, np.ndarray | None]:
        """``(rows, phases)`` of a monomial leaf at ``values``; phases None when all are 1."""
        if self.matrix is None:
            return _monomial_form(self.matrix_for(values))
        form = self.parts.get("monomial")
        if form is None:
            form = self.parts["monomial"] = _monomial_form(self.matrix)
        return form


def _monomial_form(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    rows, phases = monomial_parts(matrix)
    return rows, None if np.all(phases == 1) else phases


@dataclass
class Measure:
    """Measure ``qubit`` into classical bit ``clbit``; ``readout`` may misreport it."""

    qubit: int
    clbit: int
    readout: ReadoutError | None = None


@dataclass
class Reset:
    """Reset ``qubit`` to |0>."""

    qubit: int


@dataclass
class Noise:
    """A noise channel on ``qubits``, sampled per trajectory."""

    channel: Channel
    qubits: tuple[int, ...]


@dataclass
class JumpUnless:
    """Continue at ``target`` unless ``condition(clbits)`` holds."""

    condition: Condition
    target: int = -1


@dataclass
class Jump:
    """Continue at ``target``."""

    target: int = -1


Instruction = GateLeaf | Measure | Reset | Noise | JumpUnless | Jump


@dataclass
class LoweredCircuit:
    """A flat program plus the global phase terms (floats or parameter expressions)."""

    num_qubits: int
    num_clbits: int
    instructions: list[Instruction] = field(default_factory=list)
    phases: list[float | ParameterExpression] = field(default_factory=list)
    noise: NoiseModel | None = None

    def add_noise(self, name: str, qubits: tuple[int, ...], operation: Any) -> None:
        """Place the channels the noise model attaches to this instruction."""
        if self.noise is None:
            return
        if name == "delay":
            for qubit in qubits:
                placed = self.noise.idle(qubit, float(operation.duration), operation.unit)
                if placed is not None:
                    self.instructions.append(Noise(placed.channel, placed.qubits))
            return
        for placed in self.noise.after_gate(name, qubits):
            self.instructions.append(Noise(placed.channel, placed.qubits))


def lower(circuit: QuantumCircuit, noise: NoiseModel | None = None) -> LoweredCircuit:
    """Lower ``circuit`` into a flat instruction list, with ``noise`` channels placed.

    Raises:
        UnsupportedInstruction: an instruction is not a gate with a known matrix
            or definition, measure, reset, barrier, delay, ``if_else`` or ``box``.
    """
    lowered = LoweredCircuit(circuit.num_qubits, circuit.num_clbits, noise=noise)
    clbit_index = {bit: i for i, bit in enumerate(circuit.clbits)}
    qubit_index = {bit: i for i, bit in enumerate(circuit.qubits)}
    _lower_into(lowered, circuit, qubit_index, clbit_index, clbit_index)
    return lowered


def _lower_into(
    out: LoweredCircuit,
    circuit: QuantumCircuit,
    qubit_map: Mapping[Qubit, int],
    clbit_map: Mapping[Clbit, int],
    top_clbits: Mapping[Clbit, int],
) -> None:
    out.phases.append(circuit.global_phase)
    for item in circuit.data:
        name = item.name
        if (
            item.is_standard_gate()
            and name not in _IGNORED
            and name != "global_phase"
            and not item.is_parameterized()
        ):
            # The common case, without building the Python gate object.
            qubits = tuple(qubit_map[q] for q in item.qubits)
            out.instructions.append(_standard_leaf(item, name, qubits))
            if out.noise is not None:
                out.add_noise(name, qubits, None)
            continue
        operation = item.operation
        qubits = tuple(qubit_map[q] for q in item.qubits)
        if name in _IGNORED:
            out.add_noise(name, qubits, operation)
            continue
        if name == "measure":
            readout = out.noise.readout.get(qubits[0]) if out.noise else None
            out.instructions.append(Measure(qubits[0], clbit_map[item.clbits[0]], readout))
        elif name == "reset":
            out.instructions.append(Reset(qubits[0]))
        elif name == "global_phase":
            out.phases.append(operation.params[0])
        elif isinstance(operation, IfElseOp):
            _lower_if_else(out, operation, item, qubit_map, clbit_map, top_clbits)
        elif name == "box":
            # A box only scopes its body (for timing and annotations); run the body.
            _lower_block(out, operation.blocks[0], item, qubit_map, clbit_map, top_clbits)
        elif isinstance(operation, Gate):
            _lower_gate(out, operation, qubits)
            out.add_noise(name, qubits, operation)
        elif _has_plain_definition(operation):
            # A composite instruction (initialize, a custom sub-circuit with
            # measurements): run its definition on the mapped bits.
            definition = operation.definition
            inner_qubits = dict(zip(definition.qubits, qubits, strict=True))
            inner_clbits = {
                b: clbit_map[o] for b, o in zip(definition.clbits, item.clbits, strict=True)
            }
            _lower_into(out, definition, inner_qubits, inner_clbits, top_clbits)
        else:
            raise UnsupportedInstruction(
                name, "the engine runs gates, measure, reset, if_else and box"
            )


def _lower_if_else(
    out: LoweredCircuit,
    operation: IfElseOp,
    item: Any,
    qubit_map: Mapping[Qubit, int],
    clbit_map: Mapping[Clbit, int],
    top_clbits: Mapping[Clbit, int],
) -> None:
    # Registers in conditions hold the top circuit's Clbit objects; bare bits may be
    # the block's own, so resolve through this level's mapping first.
    resolve = dict(top_clbits)
    resolve.update(clbit_map)
    condition = compile_condition(operation.condition, resolve)
    true_body = operation.blocks[0]
    false_body = operation.blocks[1] if len(operation.blocks) > 1 else None
    branch = JumpUnless(condition)
    out.instructions.append(branch)
    _lower_block(out, true_body, item, qubit_map, clbit_map, top_clbits)
    if false_body is None:
        branch.target = len(out.instructions)
        return
    skip_else = Jump()
    out.instructions.append(skip_else)
    branch.target = len(out.instructions)
    _lower_block(out, false_body, item, qubit_map, clbit_map, top_clbits)
    skip_else.target = len(out.instructions)


def _lower_block(
    out: LoweredCircuit,
    body: QuantumCircuit,
    item: Any,
    qubit_map: Mapping[Qubit, int],
    clbit_map: Mapping[Clbit, int],
    top_clbits: Mapping[Clbit, int],
) -> None:
    inner_qubits = {b: qubit_map[o] for b, o in zip(body.qubits, item.qubits, strict=True)}
    inner_clbits = {b: clbit_map[o] for b, o in zip(body.clbits, item.clbits, strict=True)}
    before = len(out.phases)
    _lower_into(out, body, inner_qubits, inner_clbits, top_clbits)
    # A phase inside a conditional block is only global on that branch: keep it as a gate.
    conditional_phases = out.phases[before:]
    del out.phases[before:]
    for phase in conditional_phases:
        if isinstance(phase, ParameterExpression) or phase != 0:
            _append_phase_gate(out, phase, next(iter(inner_qubits.values()), 0))


def _append_phase_gate(out: LoweredCircuit, phase: Any, qubit: int) -> None:
    if out.num_qubits == 0:
        return
    # A phase on one branch is the gate e^{i phase} * I, on any qubit.
    if isinstance(phase, ParameterExpression):
        raise UnsupportedInstruction("global_phase", "a parameterised phase inside if_else")
    factor = np.exp(1j * float(phase))
    out.instructions.append(GateLeaf((qubit,), np.diag([factor, factor]), Structure.DIAGONAL))


def _lower_gate(out: LoweredCircuit, gate: Gate, qubits: tuple[int, ...]) -> None:
    if isinstance(gate, ControlledGate) and gate.num_qubits > MAX_DENSE_LEAF_QUBITS:
        controls = qubits[: gate.num_ctrl_qubits]
        targets = qubits[gate.num_ctrl_qubits :]
        base = _matrix_leaf(gate.base_gate, targets)
        if base is not None:
            base.controls = controls
            base.ctrl_state = gate.ctrl_state
            out.instructions.append(base)
            return
    if gate.num_qubits <= MAX_DENSE_LEAF_QUBITS or _has_direct_matrix(gate):
        leaf = _matrix_leaf(gate, qubits)
        if leaf is not None:
            out.instructions.append(leaf)
            return
    definition = gate.definition
    if definition is None:
        raise UnsupportedInstruction(gate.name, "it has neither a matrix nor a definition")
    inner = dict(zip(definition.qubits, qubits, strict=True))
    _lower_into(out, definition, inner, {}, {})


def _has_plain_definition(operation: Any) -> bool:
    if isinstance(operation, ControlFlowOp):
        return False
    try:
        return operation.definition is not None
    except Exception:
        return False


def _has_direct_matrix(gate: Gate) -> bool:
    return gate.name == "unitary"


# Standard gates whose matrix is diagonal for every parameter value.
_DIAGONAL_GATES = frozenset(
    {"rz", "p", "u1", "cp", "cu1", "crz", "rzz", "cz", "z", "s", "sdg", "t", "tdg", "ccz"}
    | {"cs", "csdg", "id"}
)

# Matrices (read-only) and derived forms of parameterless standard gates, by name.
_FIXED: dict[str, tuple[np.ndarray, Structure, dict[str, Any]]] = {}


def _rz(theta: float) -> tuple[np.ndarray, Structure]:
    half = cmath.exp(0.5j * theta)
    return np.array([[half.conjugate(), 0], [0, half]], dtype=np.complex128), Structure.DIAGONAL


def _p(lam: float) -> tuple[np.ndarray, Structure]:
    return np.array([[1, 0], [0, cmath.exp(1j * lam)]], dtype=np.complex128), Structure.DIAGONAL


def _cp(lam: float) -> tuple[np.ndarray, Structure]:
    diagonal = np.array([1, 1, 1, cmath.exp(1j * lam)], dtype=np.complex128)
    return np.diag(diagonal), Structure.DIAGONAL


def _rzz(theta: float) -> tuple[np.ndarray, Structure]:
    half = cmath.exp(0.5j * theta)
    low = half.conjugate()
    return np.diag(np.array([low, half, half, low], dtype=np.complex128)), Structure.DIAGONAL


def _one_qubit(a: complex, b: complex, c: complex, d: complex) -> tuple[np.ndarray, Structure]:
    """The matrix [[a, b], [c, d]] and its structure, classified on the scalars."""
    matrix = np.array([[a, b], [c, d]], dtype=np.complex128)
    if abs(b) <= ZERO and abs(c) <= ZERO:
        return matrix, Structure.DIAGONAL
    if abs(a) <= ZERO and abs(d) <= ZERO:
        return matrix, Structure.MONOMIAL
    return matrix, Structure.DENSE


def _rx(theta: float) -> tuple[np.ndarray, Structure]:
    cos, sin = math.cos(theta / 2), math.sin(theta / 2)
    return _one_qubit(cos, -1j * sin, -1j * sin, cos)


def _ry(theta: float) -> tuple[np.ndarray, Structure]:
    cos, sin = math.cos(theta / 2), math.sin(theta / 2)
    return _one_qubit(cos, -sin, sin, cos)


def _u(theta: float, phi: float, lam: float) -> tuple[np.ndarray, Structure]:
    cos, sin = math.cos(theta / 2), math.sin(theta / 2)
    return _one_qubit(
        cos,
        -cmath.exp(1j * lam) * sin,
        cmath.exp(1j * phi) * sin,
        cmath.exp(1j * (phi + lam)) * cos,
    )


# Matrices (and structures) of common rotations, straight from their angles.
_ROTATIONS: dict[str, Callable[..., tuple[np.ndarray, Structure]]] = {
    "rz": _rz,
    "p": _p,
    "u1": _p,
    "cp": _cp,
    "cu1": _cp,
    "rx": _rx,
    "ry": _ry,
    "rzz": _rzz,
    "u": _u,
    "u3": _u,
}


def _standard_leaf(item: Any, name: str, qubits: tuple[int, ...]) -> GateLeaf:
    """The leaf of a bound standard gate (a ``CircuitInstruction``)."""
    params = item.params
    if not params:
        fixed = _FIXED.get(name)
        if fixed is None:
            matrix = np.asarray(item.matrix, dtype=np.complex128)
            matrix.flags.writeable = False
            fixed = _FIXED[name] = (matrix, classify(matrix), {})
        matrix, structure, parts = fixed
        return GateLeaf(qubits, matrix, structure, parts=parts)
    rotation = _ROTATIONS.get(name)
    if rotation is not None:
        matrix, structure = rotation(*(float(p) for p in params))
        return GateLeaf(qubits, matrix, structure)
    matrix = np.asarray(item.matrix, dtype=np.complex128)
    return GateLeaf(
        qubits, matrix, Structure.DIAGONAL if name in _DIAGONAL_GATES else classify(matrix)
    )


def _matrix_leaf(gate: Gate, qubits: tuple[int, ...]) -> GateLeaf | None:
    """A leaf with the gate's matrix, or None when the gate only has a definition."""
    if gate.is_parameterized():
        if getattr(gate, "_standard_gate", None) is None:
            return None
        probe = _bound_matrix(gate, _random_values(gate))
        return GateLeaf(qubits, None, classify(probe), template=gate)
    try:
        matrix = np.asarray(gate.to_matrix(), dtype=np.complex128)
    except Exception:
        return None
    return GateLeaf(qubits, matrix, classify(matrix))


def _random_values(gate: Gate) -> dict[Any, float]:
    rng = np.random.default_rng(12345)
    names = set()
    for param in gate.params:
        if isinstance(param, ParameterExpression):
            names.update(param.parameters)
    return {p: float(rng.uniform(0.1, 3.0)) for p in names}


def _bound_matrix(template: Gate, values: Mapping[Any, float]) -> np.ndarray:
    gate = template.copy()
    gate.params = [evaluate_parameter(p, values) for p in template.params]
    return np.asarray(gate.to_matrix(), dtype=np.complex128)


def evaluate_parameter(param: Any, values: Mapping[Any, float]) -> float:
    """Evaluate a gate parameter (number or ``ParameterExpression``) at ``values``."""
    if isinstance(param, ParameterExpression):
        return float(param.bind({p: values[p] for p in param.parameters}))
    return float(param)
