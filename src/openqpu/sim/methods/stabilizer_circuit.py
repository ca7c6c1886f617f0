"""Translation of a bound Clifford circuit and the engine's noise model into a Stim circuit.

Owns which instructions the stabilizer method accepts (the reasons it gives when it
does not) and how each noise channel becomes a Stim Pauli channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import stim
from qiskit import QuantumCircuit
from qiskit.circuit import ClassicalRegister, Clbit, ParameterExpression
from qiskit.circuit.classical import expr

from openqpu.sim.noise import Depolarizing, NoiseModel, Placed, ThermalRelaxation

# Fixed Clifford gates: Qiskit name -> Stim gate (None: the identity).
_FIXED: dict[str, str | None] = {
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
_PHASE_GATES = frozenset({"rz", "p", "u1"})
_QUARTER_TURNS: tuple[str | None, ...] = (None, "S", "Z", "S_DAG")
_PAULIS = frozenset({"X", "Y", "Z"})
_ANGLE_TOLERANCE = 1e-9

# A Stim instruction as text: its name with arguments (``DEPOLARIZE1(0.001)``) and targets.
Op = tuple[str, list[str]]


class Unsupported(Exception):
    """The circuit holds something the stabilizer method cannot run; the message says what."""


@dataclass
class StimProgram:
    """A circuit lowered to Stim, with what post-processing needs.

    Attributes:
        circuit: the Stim circuit; its measurement record holds every ``measure``
            in circuit order.
        num_clbits: classical bits of the source circuit.
        final_measurement: int64, shape (num_clbits,): index in the record of the
            last measurement written to each clbit, -1 when none is.
        measured_qubit: qubit of each measurement in the record.
        flipped_in_stim: measurement indices whose readout error Stim applies
            (those that feed an ``if_else``).
        twirled_channels: thermal-relaxation channels replaced by their Pauli twirl.
        asymmetric_feedback_readouts: measurements feeding ``if_else`` whose readout
            error was made symmetric.
        conditional_noisy_gates: gates inside ``if_else`` bodies whose noise is
            applied unconditionally.
    """

    circuit: stim.Circuit
    num_clbits: int
    final_measurement: np.ndarray
    measured_qubit: list[int] = field(default_factory=list)
    flipped_in_stim: set[int] = field(default_factory=set)
    twirled_channels: int = 0
    asymmetric_feedback_readouts: int = 0
    conditional_noisy_gates: int = 0


def _where(qubits: tuple[int, ...]) -> str:
    return f"qubit {qubits[0]}" if len(qubits) == 1 else f"qubits {qubits}"


def gate_to_stim(operation: Any, qubits: tuple[int, ...]) -> str | None:
    """The Stim gate equal to ``operation`` up to global phase (None for the identity).

    Raises:
        Unsupported: the gate is not a supported Clifford or has an unbound parameter.
    """
    name = operation.name
    if name in _FIXED:
        return _FIXED[name]
    if name in _PHASE_GATES:
        (theta,) = operation.params
        if isinstance(theta, ParameterExpression) and theta.parameters:
            names = ", ".join(sorted(p.name for p in theta.parameters))
            raise Unsupported(f"{name} on {_where(qubits)} has an unbound parameter ({names})")
        theta = float(theta)
        turns = round(theta / (math.pi / 2))
        if abs(theta - turns * math.pi / 2) > _ANGLE_TOLERANCE:
            raise Unsupported(f"{name}({theta:.6g}) on {_where(qubits)} is not a multiple of pi/2")
        return _QUARTER_TURNS[turns % 4]
    raise Unsupported(
        f"{name} on {_where(qubits)} is not a Clifford gate the stabilizer method runs"
    )


def _condition(condition: Any, clbit_index: dict[Clbit, int]) -> tuple[int, int]:
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


class Translator:
    """One pass over a circuit; with ``emit`` False it only checks (for ``why_not``)."""

    def __init__(self, circuit: QuantumCircuit, noise: NoiseModel | None, *, emit: bool) -> None:
        self.circuit = circuit
        self.noise = noise
        self.emit = emit
        self.qubit_index = {q: i for i, q in enumerate(circuit.qubits)}
        self.clbit_index = {c: i for i, c in enumerate(circuit.clbits)}
        self.ops: list[Op] = []
        self.last_writer: dict[int, int] = {}
        self.program = StimProgram(
            stim.Circuit(), circuit.num_clbits, np.full(circuit.num_clbits, -1, np.int64)
        )
        self._feedback: set[int] = set()
        self._noise_cache: dict[Any, tuple[list[Op], int]] = {}

    def run(self) -> StimProgram:
        """Translate (or check) the circuit.

        Raises:
            Unsupported: the first offending instruction.
        """
        if self.emit and self.noise is not None and self.noise.readout:
            self._feedback = self._feedback_measurements()
        for item in self.circuit.data:
            self._instruction(item)
        if self.emit:
            # Stim parses text far faster than it appends instruction by instruction.
            text = "\n".join(f"{head} {' '.join(targets)}" for head, targets in self.ops)
            self.program.circuit = stim.Circuit(text)
            for clbit, index in self.last_writer.items():
                self.program.final_measurement[clbit] = index
        return self.program

    def _add(self, head: str, targets: list[str]) -> None:
        # Consecutive operations with the same name and arguments become one Stim
        # instruction: a shorter circuit.
        if not self.emit:
            return
        ops = self.ops
        if ops and ops[-1][0] == head:
            ops[-1][1].extend(targets)
        else:
            ops.append((head, list(targets)))

    def _instruction(self, item: Any) -> None:
        operation = item.operation
        name = operation.name
        qubits = tuple(self.qubit_index[q] for q in item.qubits)
        if name == "measure":
            self._measure(qubits[0], self.clbit_index[item.clbits[0]])
        elif name == "reset":
            self._add("R", [str(qubits[0])])
        elif name == "barrier":
            self._gate_noise(name, qubits)
        elif name == "delay":
            self._delay(operation, qubits)
        elif name == "if_else":
            self._if_else(operation, item, qubits)
        else:
            stim_name = gate_to_stim(operation, qubits)
            if stim_name is not None:
                self._add(stim_name, [str(q) for q in qubits])
            self._gate_noise(name, qubits)

    def _measure(self, qubit: int, clbit: int) -> None:
        index = len(self.program.measured_qubit)
        self.program.measured_qubit.append(qubit)
        self.last_writer[clbit] = index
        if not self.emit:
            return
        head = "M"
        if index in self._feedback and self.noise is not None:
            error = self.noise.readout.get(qubit)
            if error is not None:
                # Stim flips a record symmetrically; the asymmetric error of a bit that
                # steers feedback must act inside Stim, so it becomes the mean flip.
                head = f"M({0.5 * (error.prob_1_given_0 + error.prob_0_given_1)!r})"
                self.program.flipped_in_stim.add(index)
                if error.prob_1_given_0 != error.prob_0_given_1:
                    self.program.asymmetric_feedback_readouts += 1
        self._add(head, [str(qubit)])

    def _delay(self, operation: Any, qubits: tuple[int, ...]) -> None:
        noise = self.noise
        if noise is None:
            return
        for qubit in qubits:
            key = ("delay", qubit, operation.duration, operation.unit)
            if key not in self._noise_cache:
                try:
                    placed = noise.idle(qubit, float(operation.duration), operation.unit)
                except ValueError as error:
                    raise Unsupported(f"delay on qubit {qubit}: {error}") from None
                self._noise_cache[key] = _channels_to_stim(() if placed is None else (placed,))
            self._apply_cached(key)

    def _gate_noise(self, name: str, qubits: tuple[int, ...]) -> bool:
        """Place the channels after gate ``name``; True when there are any."""
        noise = self.noise
        if noise is None:
            return False
        key = (name, qubits)
        if key not in self._noise_cache:
            self._noise_cache[key] = _channels_to_stim(noise.after_gate(name, qubits))
        return self._apply_cached(key)

    def _apply_cached(self, key: Any) -> bool:
        # Translated once per gate and qubits (or delay): the check pass of why_not
        # sees the same failures as a run, at one dictionary look-up per instruction.
        ops, twirled = self._noise_cache[key]
        for head, targets in ops:
            self._add(head, targets)
        if self.emit:
            self.program.twirled_channels += twirled
        return bool(ops)

    def _if_else(self, operation: Any, item: Any, qubits: tuple[int, ...]) -> None:
        clbit, wanted = _condition(operation.condition, self.clbit_index)
        bodies = [self._pauli_body(body, qubits) for body in operation.blocks]
        writer = self.last_writer.get(clbit)
        for taken, body in zip((wanted, 1 - wanted), bodies, strict=False):
            # The body runs when the bit equals ``taken``.
            for stim_name, qubit, gate_name in body:
                if taken == 0:  # P^(1 - m) is P then P^m; a never-written bit reads 0
                    self._add(stim_name, [str(qubit)])
                if writer is not None:
                    lookback = len(self.program.measured_qubit) - writer
                    self._add("C" + stim_name, [f"rec[-{lookback}]", str(qubit)])
                if self._gate_noise(gate_name, (qubit,)):
                    self.program.conditional_noisy_gates += 1

    def _pauli_body(
        self, body: QuantumCircuit, outer: tuple[int, ...]
    ) -> list[tuple[str, int, str]]:
        """``(Stim Pauli, qubit, gate name)`` of each gate of an ``if_else`` body."""
        mapping = dict(zip(body.qubits, outer, strict=True))
        paulis = []
        for inner in body.data:
            operation = inner.operation
            qubits = tuple(mapping[q] for q in inner.qubits)
            if operation.name in ("barrier", "delay"):
                continue
            stim_name = None
            if operation.name in _FIXED or operation.name in _PHASE_GATES:
                stim_name = gate_to_stim(operation, qubits)
                if stim_name is None:
                    continue
            if stim_name not in _PAULIS:
                shown = operation.name
                if operation.params:
                    shown += "(" + ", ".join(f"{float(p):.6g}" for p in operation.params) + ")"
                raise Unsupported(
                    f"{shown} on {_where(qubits)} inside if_else: bodies may hold only Pauli gates"
                )
            paulis.append((stim_name, qubits[0], operation.name))
        return paulis

    def _feedback_measurements(self) -> set[int]:
        """Record indices of the measurements an ``if_else`` condition reads."""
        count, writer, used = 0, {}, set()
        for item in self.circuit.data:
            name = item.operation.name
            if name == "measure":
                writer[self.clbit_index[item.clbits[0]]] = count
                count += 1
            elif name == "if_else":
                clbit, _ = _condition(item.operation.condition, self.clbit_index)
                if clbit in writer:
                    used.add(writer[clbit])
        return used


def _channels_to_stim(placed: tuple[Placed, ...]) -> tuple[list[Op], int]:
    """Stim operations for noise channels, and how many relaxations were twirled."""
    ops: list[Op] = []
    twirled = 0
    for item in placed:
        channel = item.channel
        targets = [str(q) for q in item.qubits]
        if isinstance(channel, Depolarizing):
            lam = channel.probability
            if lam == 0:
                continue
            # Every k-qubit Pauli, identity included, has probability lam / 4^k.
            if channel.num_qubits == 1:
                ops.append((f"DEPOLARIZE1({0.75 * lam!r})", targets))
            elif channel.num_qubits == 2:
                ops.append((f"DEPOLARIZE2({15 / 16 * lam!r})", targets))
            else:
                raise Unsupported(
                    f"{channel.num_qubits}-qubit depolarising on {_where(item.qubits)}: "
                    "Stim has one- and two-qubit depolarising only"
                )
        elif isinstance(channel, ThermalRelaxation):
            px, pz = twirled_relaxation(channel)
            if px > 0 or pz > 0:
                ops.append((f"PAULI_CHANNEL_1({px!r},{px!r},{pz!r})", targets))
                twirled += 1
    return ops, twirled


def twirled_relaxation(channel: ThermalRelaxation) -> tuple[float, float]:
    """``(p_x, p_z)`` of the Pauli twirl of a relaxation (p_y equals p_x).

    The twirl keeps the channel's Pauli-diagonal: X and Y decay by exp(-t / T2), Z by
    exp(-t / T1); its drift towards |0> is dropped.
    """
    px = channel.damping / 4
    pz = max(0.0, (1.0 - channel.coherence) / 2 - px)
    return px, pz
