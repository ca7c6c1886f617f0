"""Shared helpers of the noisy-method tests: Clifford circuits of the kinds chips run
(GHZ, random Clifford layers, a repetition code with mid-circuit measure and reset,
feedback) and a comparison of two samples by marginals and parities."""

from __future__ import annotations

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

# How many standard deviations two samples' statistics may differ by.
SIGMAS = 5.0


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def random_clifford_layers(n: int, layers: int, seed: int) -> QuantumCircuit:
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    singles = ("h", "s", "sdg", "x", "sx", "y", "z")
    for _ in range(layers):
        for q in range(n):
            getattr(qc, singles[rng.integers(len(singles))])(q)
        order = rng.permutation(n)
        for a, b in zip(order[::2], order[1::2], strict=False):
            qc.cz(int(a), int(b)) if rng.random() < 0.5 else qc.cx(int(a), int(b))
    qc.measure_all()
    return qc


def repetition_code(n: int, rounds: int) -> QuantumCircuit:
    """Bit-flip code on ``n`` data qubits with ``n - 1`` parity ancillas measured and reset
    each round, then the data measured."""
    data, ancillas = QuantumRegister(n, "d"), QuantumRegister(n - 1, "a")
    syndromes = [ClassicalRegister(n - 1, f"s{r}") for r in range(rounds)]
    final = ClassicalRegister(n, "final")
    qc = QuantumCircuit(data, ancillas, *syndromes, final)
    qc.x(data[::3])
    for syndrome in syndromes:
        for i in range(n - 1):
            qc.cx(data[i], ancillas[i])
            qc.cx(data[i + 1], ancillas[i])
        qc.measure(ancillas, syndrome)
        qc.reset(ancillas)
    qc.measure(data, final)
    return qc


def feedback(n: int) -> QuantumCircuit:
    """Teleport-like feedback: measure a GHZ's first qubit and undo its value on the rest."""
    qc = QuantumCircuit(n, n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)) as otherwise:
        for q in range(1, n):
            qc.x(q)
    with otherwise:
        qc.z(1)
    qc.measure(range(1, n), range(1, n))
    return qc


def statistics(counts: dict[str, int]) -> np.ndarray:
    """Frequency of 1 of each clbit, of each neighbouring pair's parity and of all."""
    keys = list(counts)
    rows = np.array([[c == "1" for c in reversed(key)] for key in keys], dtype=bool)
    weights = np.array([counts[k] for k in keys], dtype=float)
    columns = [rows, rows[:, 1:] ^ rows[:, :-1], np.bitwise_xor.reduce(rows, axis=1)[:, None]]
    return weights @ np.concatenate(columns, axis=1) / weights.sum()


def assert_statistics_agree(ours: dict[str, int], theirs: dict[str, int]) -> None:
    """Marginals and parities of two independent samples agree within SIGMAS deviations."""
    n1, n2 = sum(ours.values()), sum(theirs.values())
    p1, p2 = statistics(ours), statistics(theirs)
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    # A floor of a quarter count keeps rare features from a zero deviation.
    sigma = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) + 0.25 / min(n1, n2)
    worst = int(np.argmax(np.abs(p1 - p2) / sigma))
    assert np.all(np.abs(p1 - p2) < SIGMAS * sigma), (worst, p1[worst], p2[worst], sigma[worst])
