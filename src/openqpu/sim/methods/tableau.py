"""The exact variant of the stabilizer method: one stabilizer tableau per shot.

Stim's Pauli-frame sampler cannot apply a reset that happens at random, so it must
twirl thermal relaxation. A tableau per shot can: where T2 <= T1 the relaxation of a
qubit is a state-independent mixture of nothing, Z and a reset to |0>
(``ThermalRelaxation.mixture``, qiskit-aer's form), whose outcome each shot draws. So
here depolarising noise, relaxation with T2 <= T1, measurement, reset, readout error
(asymmetric, also on bits that steer ``if_else``), and Pauli feedback on one bit
(with the noise of the bodies' gates only when their branch runs) are all exact. Only
relaxation with T2 > T1, which holds a state-dependent amplitude damping
(``ThermalRelaxation.rare_damping``), is still twirled; ``TableauProgram`` counts those
channels.

The circuit is lowered once to flat arrays (``tableau_kernels`` operation codes) and
the shots run in numba, in parallel, with no Python per shot or per gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from openqpu.sim.methods import tableau_kernels as tk
from openqpu.sim.methods.stabilizer_ops import (
    DIAGONAL,
    Unsupported,
    condition_bit,
    gate_to_stim,
    pauli_body,
    twirled_relaxation,
    where,
)
from openqpu.sim.noise import Depolarizing, NoiseModel, Placed, ThermalRelaxation
from openqpu.sim.threads import configured_threads

_CODES: dict[str, int] = {
    "H": tk.H,
    "S": tk.S,
    "S_DAG": tk.S_DAG,
    "SQRT_X": tk.SQRT_X,
    "SQRT_X_DAG": tk.SQRT_X_DAG,
    "X": tk.X,
    "Y": tk.Y,
    "Z": tk.Z,
    "CX": tk.CX,
    "CZ": tk.CZ,
    "SWAP": tk.SWAP,
}

# Cost model of ``lower`` and ``sample`` (thread-seconds per shot, shared by the threads):
#   seconds = A + B * operations
#             + shots * (C + D * operations + E * gates * words + F * measured * n * words)
#               / threads
# with ``operations`` everything lowered (noise channels included), ``words`` =
# ceil(2 n / 64) per tableau column, ``measured`` the measurements and resets (a random
# or deterministic measurement costs about n * words word operations). Fitted to
# GHZ-24/70 and rotated surface codes (d=3, 3 rounds; d=5, 10 rounds) transpiled for
# lattice72 with its noise, 1,000-10,000 shots, on 2 cores that other work shared
# (load 5-8): the measured times divided by the slowdown Stim's runs showed in the same
# session against their own fit (about 4x), so that both variants' estimates are of
# an idle machine. Within a factor 0.7-1.5 of those figures.
_A = 2e-3
_B = 3e-6
_C = 5e-6
_D = 6e-9
_E = 4e-9
_F = 3e-9


@dataclass
class TableauProgram:
    """A circuit lowered for ``tableau_kernels.run_shots``.

    Attributes:
        num_qubits: qubits of the circuit.
        num_clbits: classical bits.
        ops: int64 (k, 6): code, a, b, clbit, condition clbit (-1: none), its value.
        probs: float64 (k, 3): each operation's probabilities.
        twirled_channels: relaxations with T2 > T1 applied as their Pauli twirl.
        gates: Clifford gates among the operations.
        measurements: measurements and resets.
    """

    num_qubits: int
    num_clbits: int
    ops: np.ndarray
    probs: np.ndarray
    twirled_channels: int = 0
    gates: int = 0
    measurements: int = 0

    @property
    def words(self) -> int:
        """uint64 words per tableau column (2n rows)."""
        return (2 * max(self.num_qubits, 1) + 63) // 64


@dataclass
class _Lowering:
    circuit: QuantumCircuit
    noise: NoiseModel | None
    ops: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)
    probs: list[tuple[float, float, float]] = field(default_factory=list)
    twirled: int = 0
    gates: int = 0
    measurements: int = 0

    def __post_init__(self) -> None:
        self.qubit_index = {q: i for i, q in enumerate(self.circuit.qubits)}
        self.clbit_index = {c: i for i, c in enumerate(self.circuit.clbits)}
        # Qubits certainly in |0>: their relaxation is the identity and is not lowered
        # (the kernel also skips it for qubits it knows to be |0> at run time).
        self.zero: set[int] = set(range(self.circuit.num_qubits))
        self.written: set[int] = set()
        self._noise_cache: dict[Any, list[tuple[Placed, tuple[float, ...], int]]] = {}

    def run(self) -> TableauProgram:
        for item in self.circuit.data:
            self._instruction(item)
        ops = np.array(self.ops, dtype=np.int64).reshape(-1, 6)
        probs = np.array(self.probs, dtype=np.float64).reshape(-1, 3)
        return TableauProgram(
            self.circuit.num_qubits,
            self.circuit.num_clbits,
            ops,
            probs,
            self.twirled,
            self.gates,
            self.measurements,
        )

    def _emit(
        self,
        code: int,
        a: int,
        b: int = 0,
        clbit: int = 0,
        condition: tuple[int, int] = (-1, 0),
        probs: tuple[float, ...] = (),
    ) -> None:
        self.ops.append((code, a, b, clbit, *condition))
        padded = (*probs, 0.0, 0.0, 0.0)[:3]
        self.probs.append((padded[0], padded[1], padded[2]))

    def _instruction(self, item: Any) -> None:
        operation = item.operation
        name = operation.name
        qubits = tuple(self.qubit_index[q] for q in item.qubits)
        if name == "measure":
            clbit = self.clbit_index[item.clbits[0]]
            error = None if self.noise is None else self.noise.readout.get(qubits[0])
            flips = (
                (0.0, 0.0)
                if error is None
                else (error.readout_error_0to1, error.readout_error_1to0)
            )
            self._emit(tk.MEASURE, qubits[0], clbit=clbit, probs=flips)
            self.written.add(clbit)
            self.measurements += 1
        elif name == "reset":
            self._emit(tk.RESET, qubits[0])
            self.zero.add(qubits[0])
            self.measurements += 1
        elif name == "barrier":
            self._gate_noise(name, qubits, (-1, 0))
        elif name == "delay":
            self._delay(operation, qubits, (-1, 0))
        elif name == "if_else":
            self._if_else(operation, qubits)
        else:
            self._gate(gate_to_stim(operation, qubits), qubits, (-1, 0))
            if name not in DIAGONAL:
                self.zero.difference_update(qubits)
            self._gate_noise(name, qubits, (-1, 0))

    def _gate(
        self, stim_name: str | None, qubits: tuple[int, ...], condition: tuple[int, int]
    ) -> None:
        if stim_name is None:
            return
        if stim_name == "CY":  # S_dag on the target, CX, S on the target
            control, target = qubits
            self._emit(tk.S_DAG, target, condition=condition)
            self._emit(tk.CX, control, target, condition=condition)
            self._emit(tk.S, target, condition=condition)
            self.gates += 3
            return
        self._emit(_CODES[stim_name], qubits[0], qubits[-1], condition=condition)
        self.gates += 1

    def _if_else(self, operation: Any, qubits: tuple[int, ...]) -> None:
        clbit, wanted = condition_bit(operation.condition, self.clbit_index)
        bodies = [pauli_body(body, qubits) for body in operation.blocks]
        for taken, body in zip((wanted, 1 - wanted), bodies, strict=False):
            if clbit not in self.written and taken == 1:
                continue  # a bit never written reads 0
            condition = (-1, 0) if clbit not in self.written else (clbit, taken)
            for stim_name, qubit, inner in body:
                self._gate(stim_name, (qubit,), condition)
                if stim_name in ("X", "Y"):
                    self.zero.discard(qubit)
                if inner.name == "delay":
                    self._delay(inner, (qubit,), condition)
                else:
                    self._gate_noise(inner.name, (qubit,), condition)

    def _delay(self, operation: Any, qubits: tuple[int, ...], condition: tuple[int, int]) -> None:
        if self.noise is None:
            return
        for qubit in qubits:
            key = ("delay", qubit, operation.duration, operation.unit)
            if key not in self._noise_cache:
                try:
                    placed = self.noise.idle(qubit, float(operation.duration), operation.unit)
                except ValueError as error:
                    raise Unsupported(f"delay on qubit {qubit}: {error}") from None
                self._noise_cache[key] = _channels(() if placed is None else (placed,))
            self._place(self._noise_cache[key], condition)

    def _gate_noise(self, name: str, qubits: tuple[int, ...], condition: tuple[int, int]) -> None:
        if self.noise is None:
            return
        key = (name, qubits)
        if key not in self._noise_cache:
            self._noise_cache[key] = _channels(self.noise.after_gate(name, qubits))
        self._place(self._noise_cache[key], condition)

    def _place(
        self, channels: list[tuple[Placed, tuple[float, ...], int]], condition: tuple[int, int]
    ) -> None:
        for placed, probs, code in channels:
            qubits = placed.qubits
            if code == tk.RELAX or code == tk.PAULI1:
                if qubits[0] in self.zero:
                    continue  # relaxation of |0> is the identity
                if code == tk.PAULI1:
                    self.twirled += 1
            else:
                self.zero.difference_update(qubits)
            self._emit(code, qubits[0], qubits[-1], condition=condition, probs=probs)


def _channels(placed: tuple[Placed, ...]) -> list[tuple[Placed, tuple[float, ...], int]]:
    """Each noise channel as (placed, probabilities, operation code); none for no-ops."""
    out: list[tuple[Placed, tuple[float, ...], int]] = []
    for item in placed:
        channel = item.channel
        if isinstance(channel, Depolarizing):
            lam = channel.probability
            if lam == 0:
                continue
            if channel.num_qubits == 1:
                out.append((item, (0.75 * lam,), tk.DEPOLARIZE1))
            elif channel.num_qubits == 2:
                out.append((item, (15 / 16 * lam,), tk.DEPOLARIZE2))
            else:
                raise Unsupported(
                    f"{channel.num_qubits}-qubit depolarising on {where(item.qubits)}: "
                    "one- and two-qubit depolarising only"
                )
        elif isinstance(channel, ThermalRelaxation):
            mixture = channel.mixture()
            if mixture is not None:
                if mixture[0] > 0 or mixture[1] > 0:
                    out.append((item, mixture, tk.RELAX))
            else:
                px, pz = twirled_relaxation(channel)
                if px > 0 or pz > 0:
                    out.append((item, (px, px, pz), tk.PAULI1))
    return out


def lower(circuit: QuantumCircuit, noise: NoiseModel | None) -> TableauProgram:
    """Lower a bound Clifford circuit and its noise to flat arrays for the kernel.

    Raises:
        Unsupported: what the stabilizer method cannot run (as ``stabilizer.why_not``).
    """
    return _Lowering(circuit, noise).run()


def sample(program: TableauProgram, shots: int, seed: int) -> np.ndarray:
    """bool (shots, num_clbits): each shot's classical bits, readout errors included."""
    threads = configured_threads()
    chunks = max(1, min(int(shots), 8 * threads))
    bits = tk.run_shots(
        program.ops,
        program.probs,
        hazard(program),
        program.num_qubits,
        program.num_clbits,
        int(shots),
        int(seed),
        chunks,
    )
    return bits.astype(np.bool_)


def hazard(program: TableauProgram) -> np.ndarray:
    """Cumulative -log(1 - p) over the operations, p the chance a noise channel acts."""
    codes = program.ops[:, 0]
    fire = np.where(codes == tk.RELAX, program.probs[:, 0] + program.probs[:, 1], 0.0)
    fire = np.where(codes == tk.PAULI1, program.probs.sum(axis=1), fire)
    fire = np.where(
        (codes == tk.DEPOLARIZE1) | (codes == tk.DEPOLARIZE2), program.probs[:, 0], fire
    )
    # A channel that always acts gets the hazard of probability 1 - 1e-12.
    return np.cumsum(-np.log1p(-np.minimum(fire, 1.0 - 1e-12)))


def cost_seconds(program: TableauProgram, shots: int) -> float:
    """Estimated seconds of ``lower`` and ``sample`` on this machine (see the fit above)."""
    threads = max(1, configured_threads())
    ops = int(program.ops.shape[0])
    per_shot = (
        _C
        + _D * ops
        + _E * program.gates * program.words
        + _F * program.measurements * program.num_qubits * program.words
    )
    return _A + _B * ops + shots * per_shot / threads
