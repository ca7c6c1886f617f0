"""Noise channels on one trajectory: the probability of each outcome, and its effect.

A channel is sampled like a measurement: every outcome has a probability (for
thermal relaxation it depends on the state), and the shots of a branch are
shared among the outcomes by one multinomial draw.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from openqpu.sim.lowering import Noise
from openqpu.sim.noise import Depolarizing, ThermalRelaxation
from openqpu.sim.ops import DenseOp, DiagonalOp, probability_of_one

_PAULI = (
    np.eye(2),
    np.array([[0, 1], [1, 0]]),
    np.array([[0, -1j], [1j, 0]]),
    np.diag([1, -1]),
)


@functools.lru_cache(maxsize=64)
def pauli_matrix(index: int, num_qubits: int) -> np.ndarray:
    """The Pauli whose base-4 digit j (I, X, Y, Z) acts on qubit j of the matrix."""
    matrix: np.ndarray = np.ones((1, 1), dtype=np.complex128)
    for qubit in range(num_qubits):
        digit = (index >> (2 * qubit)) & 3
        matrix = np.kron(_PAULI[digit], matrix)
    return matrix


def probabilities(step: Noise, state: np.ndarray) -> np.ndarray:
    """The probability of each outcome of ``step`` on ``state``.

    Depolarising: one outcome per Pauli (0 is the identity). Thermal relaxation:
    outcome 2 * decayed + dephased.
    """
    channel = step.channel
    if isinstance(channel, Depolarizing):
        return channel.pauli_probabilities()
    p1 = probability_of_one(state, step.qubits[0])
    jump = channel.damping * p1
    flip = channel.dephasing
    return np.array([(1 - jump) * (1 - flip), (1 - jump) * flip, jump * (1 - flip), jump * flip])


def settle(step: Noise, state: np.ndarray, outcome: int, probs: np.ndarray) -> None:
    """Apply the effect of ``outcome`` to ``state`` and renormalise it."""
    channel = step.channel
    dtype = state.dtype
    if isinstance(channel, Depolarizing):
        if outcome:
            matrix = pauli_matrix(outcome, len(step.qubits)).astype(dtype)
            DenseOp(step.qubits, matrix).apply(state)
        return
    assert isinstance(channel, ThermalRelaxation)
    jump = probs[2] + probs[3]
    if outcome >> 1:
        # Decay: the |1> amplitudes move to |0>, scaled back to norm 1.
        p1 = jump / channel.damping
        lowering = np.array([[0, 1 / math.sqrt(p1)], [0, 0]], dtype=dtype)
        DenseOp(step.qubits, lowering).apply(state)
    else:
        # No decay still tells something: |1> becomes less likely.
        keep = np.array([1, math.sqrt(1 - channel.damping)]) / math.sqrt(1 - jump)
        DiagonalOp(step.qubits, keep.astype(dtype)).apply(state)
    if outcome & 1:
        DiagonalOp(step.qubits, np.array([1, -1], dtype=dtype)).apply(state)
