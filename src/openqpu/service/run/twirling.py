"""Pauli twirling of a compiled circuit's CZ gates and of its measurements.

A twirled CZ is ``P' . CZ . P`` with ``P`` a random two-qubit Pauli and ``P' = CZ P CZ``,
the same operation up to global phase: averaged over randomizations, the gate's noise
becomes a Pauli channel. A twirled measurement flips the qubit (``x``) before
measuring it at random and flips the read bit back: readout errors become symmetric,
so each parity is scaled by a factor a calibration measures (TREX).

Paulis are written in the chip's native gates: ``X`` is ``x``, ``Z`` the virtual
``rz(pi)``, ``Y`` is ``rz(pi)`` then ``x``.
"""

from __future__ import annotations

import math

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Qubit
from qiskit.circuit.library import RZGate, XGate
from qiskit.transpiler import PassManager
from qiskit.transpiler.passes import Optimize1qGatesDecomposition

PAULIS = "IXYZ"


def _conjugated(first: str, second: str) -> tuple[str, str]:
    """``CZ (first (x) second) CZ`` up to phase: X or Y on one qubit adds Z to the other."""

    def times_z(letter: str) -> str:
        return {"I": "Z", "X": "Y", "Y": "X", "Z": "I"}[letter]

    return (
        times_z(first) if second in "XY" else first,
        times_z(second) if first in "XY" else second,
    )


def _append_pauli(circuit: QuantumCircuit, letter: str, qubit: Qubit) -> None:
    if letter in "ZY":
        circuit.append(RZGate(math.pi), [qubit])
    if letter in "XY":
        circuit.append(XGate(), [qubit])


def twirled_gates(
    circuit: QuantumCircuit, rng: np.random.Generator
) -> tuple[QuantumCircuit, list[tuple[str, str]]]:
    """``circuit`` with every ``cz`` between random Paulis and their conjugates.

    Returns:
        The twirled circuit (delays kept as they were: schedule it again) and the
        Pauli drawn before each CZ, in order (the recorded frame).
    """
    out = circuit.copy_empty_like()
    frame: list[tuple[str, str]] = []
    for item in circuit.data:
        if item.operation.name != "cz":
            out.append(item)
            continue
        a, b = item.qubits
        first, second = (PAULIS[int(i)] for i in rng.integers(4, size=2))
        frame.append((first, second))
        _append_pauli(out, first, a)
        _append_pauli(out, second, b)
        out.append(item)
        after = _conjugated(first, second)
        _append_pauli(out, after[0], a)
        _append_pauli(out, after[1], b)
    return out, frame


def merged_single_qubit_gates(circuit: QuantumCircuit) -> QuantumCircuit:
    """``circuit`` without delays, each run of one-qubit gates resynthesised in the
    chip's ``rz``, ``sx``, ``x`` (as hardware merges twirling Paulis into the gates
    around them; a run that resynthesises to a different ``sx`` pattern may still gain
    an ``x`` pulse: an 8-qubit chain's 10 ``x`` became 20-27 per randomization, its
    157 ``sx`` stayed); schedule it again."""
    bare = circuit.copy_empty_like()
    for item in circuit.data:
        if item.operation.name != "delay":
            bare.append(item)
    return PassManager([Optimize1qGatesDecomposition(basis=["rz", "sx", "x"])]).run(bare)


def twirled_measurements(
    circuit: QuantumCircuit, rng: np.random.Generator, *, complement_of: int | None = None
) -> tuple[QuantumCircuit, int]:
    """``circuit`` with an ``x`` before each measurement at random (probability 1/2), or,
    with ``complement_of``, exactly before those whose bits that mask leaves out
    (randomizations in such pairs flip each qubit for half their shots, so a readout
    error's asymmetry cancels exactly however few the pairs).

    Returns:
        The circuit and the mask of classical bits whose reading is flipped: XOR the
        measured bitstrings with it to undo the flips.
    """
    out = circuit.copy_empty_like()
    mask = 0
    for item in circuit.data:
        if item.operation.name == "measure":
            bit = 1 << circuit.find_bit(item.clbits[0]).index
            flip = rng.integers(2) if complement_of is None else not complement_of & bit
            if flip:
                out.append(XGate(), item.qubits)
                mask |= bit
        out.append(item)
    return out, mask


def measurements_only(circuit: QuantumCircuit) -> QuantumCircuit:
    """A calibration circuit: ``circuit``'s measurements alone, every qubit in ``|0>``
    (the same chip qubits and classical bits, so the same readout)."""
    out = circuit.copy_empty_like()
    for item in circuit.data:
        if item.operation.name == "measure":
            out.append(item)
    return out
