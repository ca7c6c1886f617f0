"""Translation of a bound Clifford circuit and the engine's noise model into a Stim circuit.

One pass over the circuit; ``why_not`` runs the same pass without emitting, so it
refuses exactly what a run would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import stim
from qiskit import QuantumCircuit

from openqpu.sim.methods.stabilizer_ops import (
    DIAGONAL,
    Op,
    Unsupported,
    channels_to_stim,
    condition_bit,
    gate_to_stim,
    pauli_body,
)
from openqpu.sim.noise import NoiseModel


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
        twirled_channels: thermal-relaxation channels replaced by their Pauli twirl
            (those on a qubit certainly in |0> are the identity and are dropped).
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
        self._noise_cache: dict[Any, tuple[list[Op], int, frozenset[int]]] = {}
        # Qubits certainly in |0>: from the start until a gate that can move them (or a
        # depolarising channel), and again after a reset. Relaxation leaves them alone.
        self.zero: set[int] = set(range(circuit.num_qubits))

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
            self.zero.add(qubits[0])
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
            if name not in DIAGONAL:
                self.zero.difference_update(qubits)
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
                head = f"M({0.5 * (error.readout_error_0to1 + error.readout_error_1to0)!r})"
                self.program.flipped_in_stim.add(index)
                if error.readout_error_0to1 != error.readout_error_1to0:
                    self.program.asymmetric_feedback_readouts += 1
        self._add(head, [str(qubit)])

    def _delay(self, operation: Any, qubits: tuple[int, ...]) -> bool:
        """Place the relaxation of each qubit during a delay; True when there is any."""
        noise = self.noise
        if noise is None:
            return False
        noisy = False
        for qubit in qubits:
            zero = qubit in self.zero
            key = ("delay", qubit, operation.duration, operation.unit, zero)
            if key not in self._noise_cache:
                try:
                    placed = noise.idle(qubit, float(operation.duration), operation.unit)
                except ValueError as error:
                    raise Unsupported(f"delay on qubit {qubit}: {error}") from None
                self._noise_cache[key] = channels_to_stim(
                    () if placed is None else (placed,), frozenset({qubit} if zero else ())
                )
            noisy = self._apply_cached(key) or noisy
        return noisy

    def _gate_noise(self, name: str, qubits: tuple[int, ...]) -> bool:
        """Place the channels after gate ``name``; True when there are any."""
        noise = self.noise
        if noise is None:
            return False
        zero = frozenset(q for q in qubits if q in self.zero)
        key = (name, qubits, zero)
        if key not in self._noise_cache:
            self._noise_cache[key] = channels_to_stim(noise.after_gate(name, qubits), zero)
        return self._apply_cached(key)

    def _apply_cached(self, key: Any) -> bool:
        # Translated once per gate and qubits (or delay): the check pass of why_not
        # sees the same failures as a run, at one dictionary look-up per instruction.
        ops, twirled, moved = self._noise_cache[key]
        self.zero.difference_update(moved)
        for head, targets in ops:
            self._add(head, targets)
        if self.emit:
            self.program.twirled_channels += twirled
        return bool(ops)

    def _if_else(self, operation: Any, item: Any, qubits: tuple[int, ...]) -> None:
        clbit, wanted = condition_bit(operation.condition, self.clbit_index)
        bodies = [pauli_body(body, qubits) for body in operation.blocks]
        writer = self.last_writer.get(clbit)
        for taken, body in zip((wanted, 1 - wanted), bodies, strict=False):
            # The body runs when the bit equals ``taken``. A bit never written reads 0,
            # so its branches are decided here and their noise is exact.
            if writer is None and taken == 1:
                continue
            for stim_name, qubit, inner in body:
                if stim_name in ("X", "Y"):
                    self.zero.discard(qubit)
                if stim_name is not None:
                    if taken == 0:  # P^(1 - m) is P then P^m
                        self._add(stim_name, [str(qubit)])
                    if writer is not None:
                        lookback = len(self.program.measured_qubit) - writer
                        self._add("C" + stim_name, [f"rec[-{lookback}]", str(qubit)])
                if inner.name == "delay":
                    noisy = self._delay(inner, (qubit,))
                else:
                    noisy = self._gate_noise(inner.name, (qubit,))
                if noisy and writer is not None and self.emit:
                    self.program.conditional_noisy_gates += 1

    def _feedback_measurements(self) -> set[int]:
        """Record indices of the measurements an ``if_else`` condition reads."""
        count, writer, used = 0, {}, set()
        for item in self.circuit.data:
            name = item.operation.name
            if name == "measure":
                writer[self.clbit_index[item.clbits[0]]] = count
                count += 1
            elif name == "if_else":
                clbit, _ = condition_bit(item.operation.condition, self.clbit_index)
                if clbit in writer:
                    used.add(writer[clbit])
        return used
