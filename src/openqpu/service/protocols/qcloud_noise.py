"""pyqpanda3's ``QCloudNoiseModel`` on the ideal simulator: every ``NOISE_MODEL`` kind
written into the circuit as an exact dilation, so the statevector device samples the
noisy distribution.

Parameter meaning is the SDK's (QPanda's noise definitions, the same as pyqpanda3's
local ``core.*_error``): after each single-qubit gate the ``single_gate`` channel acts
on its qubit; after each two-qubit gate the ``double_gate`` channel acts on each of
its qubits (QPanda's double-gate Kraus set is the single-qubit set tensored with
itself). Gates on three or more qubits take the ``double_gate`` channel on each
qubit. Measurements, resets and barriers take none.

- ``BITFLIP_KRAUS_OPERATOR`` p: X with probability p.
- ``BIT_PHASE_FLIP_OPERATOR`` p: Y with probability p (sent as ``BIT_PHASE_FLIP_OPRATOR``).
- ``DEPHASING_KRAUS_OPERATOR`` p: Z with probability p.
- ``DEPOLARIZING_KRAUS_OPERATOR`` p: rho -> (1 - p) rho + p I/2 (X, Y, Z with p/4 each).
- ``DAMPING_KRAUS_OPERATOR`` p: amplitude damping, |1> decays with probability p.
- ``PHASE_DAMPING_OPERATOR`` p: coherences shrink by sqrt(1 - p) (sent as
  ``PHASE_DAMPING_OPRATOR``).
- ``DECOHERENCE_KRAUS_OPERATOR`` [T1, T2, t]: amplitude damping 1 - exp(-t/T1), then
  dephasing so that coherences shrink by exp(-t/T2) (needs T2 <= 2 T1).

A channel with Kraus rank r uses ceil(log2 r) ancilla qubits (at most two, shared by
every channel): the ancillas are rotated into the superposition that selects the
Kraus operator, act on the qubit through controlled gates, and are reset. The reset
traces them out, so the counts over the circuit's classical bits are exact samples
of the noisy circuit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qiskit import QuantumCircuit, QuantumRegister

from openqpu.service.circuits import InvalidRequest

_PASSIVE = frozenset({"measure", "reset", "barrier", "delay"})


@dataclass(frozen=True)
class Channel:
    """One ``NOISE_MODEL`` kind with its parameters."""

    kind: str
    params: tuple[float, ...]

    def applied(self, circuit: QuantumCircuit, qubit: int, ancillas: Sequence[int]) -> None:
        """Append this channel on ``qubit`` to ``circuit`` (ancillas start and end in |0>)."""
        _BUILDERS[self.kind](circuit, qubit, ancillas, self.params)


def _angle(probability: float) -> float:
    """The RY angle that puts |1> at ``probability``."""
    return 2.0 * math.asin(math.sqrt(min(1.0, max(0.0, probability))))


def _pauli(gate: str) -> Callable[[QuantumCircuit, int, Sequence[int], tuple[float, ...]], None]:
    def build(
        circuit: QuantumCircuit, qubit: int, ancillas: Sequence[int], p: tuple[float, ...]
    ) -> None:
        if p[0] <= 0.0:
            return
        a = ancillas[0]
        circuit.ry(_angle(p[0]), a)
        getattr(circuit, gate)(a, qubit)
        circuit.reset(a)

    return build


def _depolarizing(
    circuit: QuantumCircuit, qubit: int, ancillas: Sequence[int], p: tuple[float, ...]
) -> None:
    # Ancillas (a0, a1) select X^a0 Z^a1: I with 1 - 3p/4, X, Z and XZ (Y up to a phase) with p/4.
    if p[0] <= 0.0:
        return
    a0, a1 = ancillas[0], ancillas[1]
    quarter = p[0] / 4
    circuit.ry(_angle(2 * quarter), a0)  # P(a0 = 1) = p/2
    circuit.x(a0)
    circuit.cry(
        _angle(quarter / (1.0 - 2 * quarter)), a0, a1
    )  # given a0 = 0: P(a1) = (p/4)/(1-p/2)
    circuit.x(a0)
    circuit.cry(_angle(0.5), a0, a1)  # given a0 = 1: Z half the time
    circuit.cz(a1, qubit)
    circuit.cx(a0, qubit)
    circuit.reset(a0)
    circuit.reset(a1)


def _damping(
    circuit: QuantumCircuit, qubit: int, ancillas: Sequence[int], p: tuple[float, ...]
) -> None:
    if p[0] <= 0.0:
        return
    a = ancillas[0]
    circuit.cry(_angle(p[0]), qubit, a)
    circuit.cx(a, qubit)
    circuit.reset(a)


def _phase_damping(
    circuit: QuantumCircuit, qubit: int, ancillas: Sequence[int], p: tuple[float, ...]
) -> None:
    # Phase damping lambda is, for one qubit, the same channel as Z with (1 - sqrt(1 - lambda)) / 2.
    _pauli("cz")(circuit, qubit, ancillas, ((1.0 - math.sqrt(1.0 - p[0])) / 2,))


def _decoherence(
    circuit: QuantumCircuit, qubit: int, ancillas: Sequence[int], p: tuple[float, ...]
) -> None:
    t1, t2, t = p
    _damping(circuit, qubit, ancillas, (-math.expm1(-t / t1),))
    dephasing = -math.expm1(-(t / t2 - t / (2 * t1))) / 2
    _pauli("cz")(circuit, qubit, ancillas, (dephasing,))


_BUILDERS: dict[str, Callable[[QuantumCircuit, int, Sequence[int], tuple[float, ...]], None]] = {
    "BITFLIP_KRAUS_OPERATOR": _pauli("cx"),
    "BIT_PHASE_FLIP_OPRATOR": _pauli("cy"),
    "DEPHASING_KRAUS_OPERATOR": _pauli("cz"),
    "DEPOLARIZING_KRAUS_OPERATOR": _depolarizing,
    "DAMPING_KRAUS_OPERATOR": _damping,
    "PHASE_DAMPING_OPRATOR": _phase_damping,
    "DECOHERENCE_KRAUS_OPERATOR": _decoherence,
}
# Ancillas each kind needs.
_ANCILLAS = {kind: 1 for kind in _BUILDERS} | {"DEPOLARIZING_KRAUS_OPERATOR": 2}
NOISE_KINDS = tuple(_BUILDERS)
# The SDK sends two kinds in QPanda's spelling; their enum members are spelt right.
_SPELLINGS = {"BIT_PHASE_FLIP_OPERATOR": "BIT_PHASE_FLIP_OPRATOR",
              "PHASE_DAMPING_OPERATOR": "PHASE_DAMPING_OPRATOR"}  # fmt: skip


def channel(spec: Any, field: str) -> Channel | None:
    """The channel of a ``noisemodel`` entry ``[kind, params...]``; None for no noise.

    Raises:
        InvalidRequest: an unknown kind or parameters out of range, naming ``field``.
    """
    if spec is None or spec == []:
        return None
    if not isinstance(spec, list) or not spec or not isinstance(spec[0], str):
        raise InvalidRequest(field, f"expected [NOISE_MODEL name, parameters...], got {spec!r}")
    kind, raw = _SPELLINGS.get(spec[0], spec[0]), spec[1:]
    if kind not in _BUILDERS:
        raise InvalidRequest(
            field, f"unknown noise model {kind!r} (known: {', '.join(NOISE_KINDS)})"
        )
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
        raise InvalidRequest(field, f"{kind} parameters must be numbers, got {raw!r}")
    params = tuple(float(v) for v in raw)
    if kind == "DECOHERENCE_KRAUS_OPERATOR":
        if len(params) != 3:
            raise InvalidRequest(field, f"{kind} takes [T1, T2, gate time], got {list(params)}")
        t1, t2, t = params
        if not (t1 > 0 and t2 > 0 and t >= 0):
            raise InvalidRequest(
                field, f"{kind}: T1 and T2 must be positive, the time not negative"
            )
        if t2 > 2 * t1:
            raise InvalidRequest(field, f"{kind}: T2 = {t2:g} is more than 2 T1 = {2 * t1:g}")
        return Channel(kind, params)
    if len(params) != 1:
        raise InvalidRequest(field, f"{kind} takes one probability, got {list(params)}")
    # rho -> (1 - p) rho + p I/2 is a channel up to p = 4/3 (sqrt(1 - 3p/4) >= 0).
    top, shown = (4 / 3, "4/3") if kind == "DEPOLARIZING_KRAUS_OPERATOR" else (1.0, "1")
    if not 0.0 <= params[0] <= top:
        raise InvalidRequest(field, f"{kind}: probability {params[0]:g} is not in [0, {shown}]")
    return Channel(kind, params)


def with_noise(
    circuit: QuantumCircuit, single: Channel | None, double: Channel | None
) -> QuantumCircuit:
    """``circuit`` with ``single`` after each one-qubit gate and ``double`` on each qubit
    after each gate on more qubits, written as dilations on added ancilla qubits.

    The ancillas come after the circuit's qubits in a register ``noise``; classical
    bits are unchanged, so counts keys are those of ``circuit``.
    """
    needed = max((_ANCILLAS[c.kind] for c in (single, double) if c is not None), default=0)
    if needed == 0 or circuit.size() == 0:
        return circuit
    ancillas = QuantumRegister(needed, "noise")
    noisy = circuit.copy_empty_like()
    noisy.add_register(ancillas)
    extra = [noisy.num_qubits - needed + i for i in range(needed)]
    for instruction in circuit.data:
        noisy.append(instruction)
        if instruction.operation.name in _PASSIVE or instruction.operation.num_qubits == 0:
            continue
        chosen = single if len(instruction.qubits) == 1 else double
        if chosen is None:
            continue
        for qubit in instruction.qubits:
            chosen.applied(noisy, circuit.find_bit(qubit).index, extra)
    return noisy
