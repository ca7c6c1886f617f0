"""Shared by the noisy-path tests of tests/sim: a dynamic circuit and a distance bound."""

from __future__ import annotations

import math

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Delay


def dynamic_circuit() -> QuantumCircuit:
    """Mid-circuit measurement, reset, a wide controlled gate and delays, then measure all."""
    qc = QuantumCircuit(5, 6)
    qc.h(0)
    qc.h(4)
    qc.cx(0, 1)
    qc.append(Delay(2_000.0, unit="ns"), [0])
    qc.append(Delay(3_000.0, unit="ns"), [1])
    qc.measure(1, 5)
    qc.reset(1)
    qc.h(1)
    qc.cx(1, 2)
    qc.mcx([0, 1, 2, 4], 3)  # wider than a dense leaf: a controlled op
    qc.append(Delay(1_500.0, unit="ns"), [2])
    qc.h(2)
    qc.measure(range(5), range(5))
    return qc


def distance_and_bound(a: dict[str, int], b: dict[str, int]) -> tuple[float, float]:
    """TVD of two samples, and what sampling alone stays under (mean + 5 sigma)."""
    keys = sorted(set(a) | set(b))
    shots_a, shots_b = sum(a.values()), sum(b.values())
    pa = np.array([a.get(k, 0) for k in keys], dtype=float) / shots_a
    pb = np.array([b.get(k, 0) for k in keys], dtype=float) / shots_b
    pooled = (pa + pb) / 2
    # Difference of two independent frequencies: variance p (1 - p) (1/na + 1/nb).
    sigma2 = pooled * (1 - pooled) * (1 / shots_a + 1 / shots_b)
    mean = 0.5 * np.sum(np.sqrt(2 * sigma2 / math.pi))
    std = 0.5 * np.sqrt(np.sum((1 - 2 / math.pi) * sigma2))
    return 0.5 * float(np.abs(pa - pb).sum()), float(mean + 5 * std)
