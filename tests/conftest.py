"""Shared test helpers."""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector


def fidelity(state: np.ndarray, reference: np.ndarray) -> float:
    """|<reference|state>|^2 for normalised states."""
    return float(abs(np.vdot(reference, state)) ** 2)


def reference_state(circuit: QuantumCircuit) -> np.ndarray:
    """The exact statevector from qiskit.quantum_info (an independent implementation)."""
    return Statevector(circuit).data


def total_variation(counts: dict[str, int], probabilities: dict[str, float]) -> float:
    """Total variation distance between empirical counts and a distribution."""
    shots = sum(counts.values())
    keys = set(counts) | set(probabilities)
    return 0.5 * sum(abs(counts.get(k, 0) / shots - probabilities.get(k, 0.0)) for k in keys)
