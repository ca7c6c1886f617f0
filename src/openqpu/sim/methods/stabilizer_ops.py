"""What each instruction and noise channel becomes in Stim, for the stabilizer method.

Owns the accepted gates (Clifford up to global phase), single-bit conditions, and the
Pauli channels that stand for the engine's depolarising and (twirled) relaxation.
"""

from __future__ import annotations

import math
from typing import Any

from qiskit.circuit import ClassicalRegister, Clbit, ParameterExpression
from qiskit.circuit.classical import expr

from openqpu.sim.noise import Depolarizing, Placed, ThermalRelaxation

# Fixed Clifford gates: Qiskit name -> Stim gate (None: the identity).
FIXED: dict[str, str | None] = {
    "id": None,
    "i": None,
    "x": "X",
    "y": "Y",
    "z": "Z",
    "h": "H",
    "s": "S",
    "sdg": "S_DAG",
    "sx": "SQRT_X",
    "sxdg": "SQRT_X_DAG",
    "cx": "CX",
    "cz": "CZ",
    "cy": "CY",
    "swap": "SWAP",
}
# Diagonal phase gates, Clifford at multiples of pi/2: quarter turns -> Stim gate.
PHASE_GATES = frozenset({"rz", "p", "u1"})
_QUARTER_TURNS: tuple[str | None, ...] = (None, "S", "Z", "S_DAG")
PAULIS = frozenset({"X", "Y", "Z"})
# Gates diagonal in the computational basis: they leave |0> as it is (up to a phase).
DIAGONAL = frozenset({"id", "i", "z", "s", "sdg", "cz"}) | PHASE_GATES
_ANGLE_TOLERANCE = 1e-9

# A Stim instruction as text: its name with arguments (``DEPOLARIZE1(0.001)``) and targets.
Op = tuple[str, list[str]]


class Unsupported(Exception):
    """The circuit holds something the stabilizer method cannot run; the message says what."""


def where(qubits: tuple[int, ...]) -> str:
    """``qubit 4`` or ``qubits (3, 4)``, for reasons."""
    return f"qubit {qubits[0]}" if len(qubits) == 1 else f"qubits {qubits}"


def shown(operation: Any) -> str:
    """An instruction as reasons name it: ``rz(0.3)``, ``h``."""
    if not operation.params:
        return operation.name
    values = []
    for param in operation.params:
        try:
            values.append(f"{float(param):.6g}")
        except (TypeError, ValueError):
            values.append(str(param))
    return f"{operation.name}({', '.join(values)})"


def gate_to_stim(operation: Any, qubits: tuple[int, ...]) -> str | None:
    """The Stim gate equal to ``operation`` up to global phase (None for the identity).

    Raises:
        Unsupported: the gate is not a supported Clifford or has an unbound parameter.
    """
    name = operation.name
    if name in FIXED:
        return FIXED[name]
    if name in PHASE_GATES:
        (theta,) = operation.params
        if isinstance(theta, ParameterExpression) and theta.parameters:
            names = ", ".join(sorted(p.name for p in theta.parameters))
            raise Unsupported(f"{name} on {where(qubits)} has an unbound parameter ({names})")
        theta = float(theta)
        turns = round(theta / (math.pi / 2))
        if abs(theta - turns * math.pi / 2) > _ANGLE_TOLERANCE:
            raise Unsupported(f"{name}({theta:.6g}) on {where(qubits)} is not a multiple of pi/2")
        return _QUARTER_TURNS[turns % 4]
    raise Unsupported(
        f"{name} on {where(qubits)} is not a Clifford gate the stabilizer method runs"
    )


def condition_bit(condition: Any, clbit_index: dict[Clbit, int]) -> tuple[int, int]:
    """``(clbit, wanted value)`` of a single-bit condition."""
    bit, wanted = None, 1
    if isinstance(condition, tuple):
        target, value = condition
        if isinstance(target, ClassicalRegister) and len(target) == 1 and int(value) in (0, 1):
            bit, wanted = target[0], int(value)
        elif isinstance(target, Clbit):
            bit, wanted = target, int(bool(value))
    elif isinstance(condition, expr.Var) and isinstance(condition.var, Clbit):
        bit = condition.var
    elif (
        isinstance(condition, expr.Unary)
        and condition.op in (expr.Unary.Op.LOGIC_NOT, expr.Unary.Op.BIT_NOT)
        and isinstance(condition.operand, expr.Var)
        and isinstance(condition.operand.var, Clbit)
    ):
        bit, wanted = condition.operand.var, 0
    if bit is None or bit not in clbit_index:
        raise Unsupported(
            f"if_else condition {condition!r} is not a single classical bit equal to 0 or 1"
        )
    return clbit_index[bit], wanted


def pauli_body(body: Any, outer: tuple[int, ...]) -> list[tuple[Any, ...]]:
    """``(Stim Pauli or None, qubit, operation)`` of each gate and delay of an if_else body.

    Raises:
        Unsupported: the body holds something other than Paulis, the identity, phase
            gates of no turn, delays and barriers.
    """
    mapping = dict(zip(body.qubits, outer, strict=True))
    items: list[tuple[str | None, int, Any]] = []
    for inner in body.data:
        operation = inner.operation
        qubits = tuple(mapping[q] for q in inner.qubits)
        if operation.name == "barrier":
            continue
        if operation.name == "delay":
            items.extend((None, q, operation) for q in qubits)
            continue
        stim_name = None
        if operation.name in FIXED or operation.name in PHASE_GATES:
            stim_name = gate_to_stim(operation, qubits)
            if stim_name is None:
                items.append((None, qubits[0], operation))
                continue
        if stim_name not in PAULIS:
            raise Unsupported(
                f"{shown(operation)} on {where(qubits)} inside if_else: bodies may hold "
                "only Pauli gates"
            )
        items.append((stim_name, qubits[0], operation))
    return items


def channels_to_stim(
    placed: tuple[Placed, ...], zero: frozenset[int] = frozenset()
) -> tuple[list[Op], int, frozenset[int]]:
    """Stim operations for noise channels, how many relaxations were twirled, and which
    qubits of ``zero`` (qubits certainly in |0> before the channels) may leave |0>.

    At zero temperature relaxation leaves |0> as it is, so a relaxation of a qubit in
    ``zero`` is dropped: exactly, and its twirl would flip the bit.
    """
    ops: list[Op] = []
    twirled = 0
    zero_now = set(zero)
    for item in placed:
        channel = item.channel
        targets = [str(q) for q in item.qubits]
        if isinstance(channel, Depolarizing):
            lam = channel.probability
            if lam == 0:
                continue
            zero_now.difference_update(item.qubits)
            # Every k-qubit Pauli, identity included, has probability lam / 4^k.
            if channel.num_qubits == 1:
                ops.append((f"DEPOLARIZE1({0.75 * lam!r})", targets))
            elif channel.num_qubits == 2:
                ops.append((f"DEPOLARIZE2({15 / 16 * lam!r})", targets))
            else:
                raise Unsupported(
                    f"{channel.num_qubits}-qubit depolarising on {where(item.qubits)}: "
                    "Stim has one- and two-qubit depolarising only"
                )
        elif isinstance(channel, ThermalRelaxation):
            if item.qubits[0] in zero_now:
                continue
            px, pz = twirled_relaxation(channel)
            if px > 0 or pz > 0:
                ops.append((f"PAULI_CHANNEL_1({px!r},{px!r},{pz!r})", targets))
                twirled += 1
    return ops, twirled, frozenset(zero) - zero_now


def twirled_relaxation(channel: ThermalRelaxation) -> tuple[float, float]:
    """``(p_x, p_z)`` of the Pauli twirl of a relaxation (p_y equals p_x).

    The twirl keeps the channel's Pauli-diagonal: X and Y decay by exp(-t / T2), Z by
    exp(-t / T1); its drift towards |0> is dropped.
    """
    px = channel.damping / 4
    pz = max(0.0, (1.0 - channel.coherence) / 2 - px)
    return px, pz
