"""Sampling from the final state: distribution, bit order and reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit.library import QFTGate
from qiskit.quantum_info import Statevector

from openqpu import sim
from tests.conftest import total_variation


def _exact_distribution(circuit: QuantumCircuit) -> dict[str, float]:
    unmeasured = circuit.remove_final_measurements(inplace=False)
    probabilities = Statevector(unmeasured).probabilities_dict()
    return {k: v for k, v in probabilities.items() if v > 1e-15}


def _tvd_bound(support: int, shots: int) -> float:
    # E[TVD] <= 0.5 * sqrt(support / shots); 4x that keeps the fixed-seed test far from
    # its edge while a wrong distribution (TVD >= 0.1 here) still fails it.
    return 2.0 * math.sqrt(support / shots)


def test_sample_matches_exact_probabilities() -> None:
    circuit = QuantumCircuit(5)
    circuit.append(QFTGate(5), range(5))
    circuit.ry(0.4, 2)
    circuit.cx(2, 4)
    circuit.measure_all()
    shots = 20_000
    counts = sim.sample(circuit, shots, seed=11)
    exact = _exact_distribution(circuit)
    assert sum(counts.values()) == shots
    assert total_variation(counts, exact) < _tvd_bound(len(exact), shots)


def test_sample_same_seed_same_counts() -> None:
    circuit = QuantumCircuit(4, 4)
    circuit.h(range(4))
    circuit.measure(range(4), range(4))
    assert sim.sample(circuit, 1000, seed=5) == sim.sample(circuit, 1000, seed=5)
    assert sim.sample(circuit, 1000, seed=5) != sim.sample(circuit, 1000, seed=6)


def test_sample_bit_order_clbit0_rightmost() -> None:
    circuit = QuantumCircuit(3, 4)
    circuit.x(0)
    circuit.measure(0, 2)  # qubit 0 (in |1>) lands in clbit 2
    circuit.measure(1, 0)
    assert sim.sample(circuit, 10, seed=1) == {"0100": 10}


def test_sample_keys_span_all_registers_without_spaces() -> None:
    qr = QuantumRegister(2)
    first, second = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    circuit = QuantumCircuit(qr, first, second)
    circuit.x(1)
    circuit.measure(1, first[0])
    circuit.measure(0, second[1])
    assert sim.sample(circuit, 8, seed=0) == {"001": 8}


def test_sample_partial_measurement_marginalises() -> None:
    circuit = QuantumCircuit(3, 1)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.ry(1.1, 2)
    circuit.measure(2, 0)
    counts = sim.sample(circuit, 40_000, seed=3)
    p1 = math.sin(0.55) ** 2
    assert abs(counts["1"] / 40_000 - p1) < 5 * math.sqrt(p1 * (1 - p1) / 40_000)


def test_sample_rejects_bad_shots() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    for shots in (0, -3, 1.5, True):
        with pytest.raises(ValueError, match="shots must be a positive integer"):
            sim.sample(circuit, shots)  # type: ignore[arg-type]


def test_sample_many_shots_are_fast_from_one_state() -> None:
    circuit = QuantumCircuit(16)
    circuit.h(range(16))
    circuit.measure_all()
    counts = sim.sample(circuit, 200_000, seed=2)
    assert sum(counts.values()) == 200_000
    assert len(counts) > 40_000
    assert all(len(k) == 16 for k in counts)
    assert np.isclose(np.mean([len(counts)]), len(counts))


def test_sample_large_state_is_sampled_chunk_by_chunk() -> None:
    # 18 qubits span several sampling chunks; the outcome set and weights are exact.
    circuit = QuantumCircuit(18, 3)
    circuit.h(0)
    circuit.ry(2 * math.asin(math.sqrt(0.2)), 17)
    circuit.x(9)
    circuit.measure([0, 9, 17], [0, 1, 2])
    shots = 40_000
    counts = sim.sample(circuit, shots, seed=8)
    exact = {"010": 0.4, "011": 0.4, "110": 0.1, "111": 0.1}
    assert set(counts) == set(exact)
    assert total_variation(counts, exact) < _tvd_bound(len(exact), shots)
