"""QUBO problems, their brute-force optimum, and QAOA on a cloud backend through ``SamplerV2``.

A QUBO minimises ``E(x) = x^T Q x + offset`` over bit vectors ``x``; bit ``i`` is
qubit ``i``, so in a counts key it is character ``-1 - i`` (Qiskit's order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit.circuit import ParameterVector, QuantumCircuit
from scipy.optimize import minimize

from openqpu.apps.common import Progress
from openqpu.qiskit import OpenQPUBackend, SamplerV2


@dataclass
class Qubo:
    """``E(x) = x^T Q x + offset`` over ``x`` in {0, 1}^n.

    Args:
        matrix: float array of shape (n, n); symmetrised on construction.
        offset: a constant added to every energy.
    """

    matrix: np.ndarray
    offset: float = 0.0

    def __post_init__(self) -> None:
        matrix = np.asarray(self.matrix, dtype=float)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"matrix: expected a square array, got shape {matrix.shape}")
        self.matrix = (matrix + matrix.T) / 2

    @property
    def num_qubits(self) -> int:
        """One qubit per binary variable."""
        return int(self.matrix.shape[0])

    def energies(self, bits: np.ndarray) -> np.ndarray:
        """Energies of bit vectors: ``bits`` is an int array of shape (m, n); returns shape (m,)."""
        bits = np.asarray(bits, dtype=float)
        return np.einsum("bi,ij,bj->b", bits, self.matrix, bits) + self.offset

    def all_bits(self) -> np.ndarray:
        """Every bit vector, shape (2^n, n); row ``b`` is the binary expansion of ``b``."""
        index = np.arange(2**self.num_qubits)[:, None]
        return (index >> np.arange(self.num_qubits)) & 1

    def ising(self) -> tuple[np.ndarray, np.ndarray, float]:
        """``(h, J, constant)`` with ``E = sum h_i z_i + sum_{i<j} J_ij z_i z_j + constant``,
        where ``x_i = (1 - z_i) / 2``; ``J`` is upper triangular."""
        linear = np.diag(self.matrix).copy()
        quadratic = np.triu(2 * self.matrix, k=1)
        h = -linear / 2 - (quadratic.sum(axis=1) + quadratic.sum(axis=0)) / 4
        constant = self.offset + linear.sum() / 2 + quadratic.sum() / 4
        return h, quadratic / 4, float(constant)


def key_bits(key: str, num_qubits: int) -> list[int]:
    """The bit vector of a counts key (bit 0 is the rightmost character)."""
    return [int(key[-1 - i]) for i in range(num_qubits)]


def bits_key(bits: np.ndarray) -> str:
    """The counts key of a bit vector."""
    return "".join(str(int(b)) for b in reversed(bits))


def qaoa_circuit(qubo: Qubo, layers: int) -> QuantumCircuit:
    """The QAOA circuit of ``qubo`` with ``layers`` (gamma, beta) pairs, measured.

    The Ising coefficients are divided by their largest magnitude, so the useful
    gammas lie in (0, pi) whatever the problem's scale. Parameters: ``g[k]``, ``b[k]``.
    """
    h, couplings, _ = qubo.ising()
    scale = max(np.abs(h).max(), np.abs(couplings).max(), 1e-12)
    gammas, betas = ParameterVector("g", layers), ParameterVector("b", layers)
    circuit = QuantumCircuit(qubo.num_qubits, name="qaoa")
    circuit.h(range(qubo.num_qubits))
    for k in range(layers):
        for i, j in zip(*np.nonzero(couplings), strict=True):
            circuit.rzz(2 * gammas[k] * couplings[i, j] / scale, int(i), int(j))
        for i, value in enumerate(h):
            if value:
                circuit.rz(2 * gammas[k] * value / scale, i)
        circuit.rx(2 * betas[k], range(qubo.num_qubits))
    circuit.measure_all()
    return circuit


@dataclass
class QaoaRun:
    """What one QAOA optimisation saw."""

    parameters: list[float]
    history: list[float] = field(default_factory=list)  # objective per optimiser call
    best_energy: float = float("inf")  # lowest energy of any sampled bit vector
    best_bits: list[int] = field(default_factory=list)
    final_counts: dict[str, int] = field(default_factory=dict)
    num_jobs: int = 0


def cvar(energies: np.ndarray, weights: np.ndarray, alpha: float) -> float:
    """The mean of the lowest ``alpha`` fraction of a weighted sample (Barkoutsos et al.,
    Quantum 4, 256 (2020)); ``alpha = 1`` is the plain expectation."""
    order = np.argsort(energies)
    energies, weights = energies[order], weights[order] / weights.sum()
    kept = np.minimum(weights, np.maximum(alpha - (np.cumsum(weights) - weights), 0.0))
    return float((energies * kept).sum() / kept.sum())


def solve_qaoa(
    qubo: Qubo,
    backend: OpenQPUBackend,
    *,
    layers: int = 1,
    shots: int = 1000,
    maxiter: int = 30,
    alpha: float = 0.25,
    grid: int = 8,
    seed: int = 7,
    progress: Progress | None = None,
) -> QaoaRun:
    """Minimise ``qubo`` with QAOA: a (gamma, beta) grid scan as one job, then COBYLA.

    Each optimiser call is one ``SamplerV2`` job of ``shots`` shots; the objective
    is the CVaR (``alpha``) of the sampled energies. The grid (``grid`` x ``grid``
    points of the one-layer landscape, one job) gives COBYLA its starting point.

    Returns:
        The optimised parameters, the objective history, the best bit vector
        sampled at any point, and the counts at the final parameters.
    """
    circuit = qaoa_circuit(qubo, layers)
    sampler = SamplerV2(backend, default_shots=shots, seed=seed)
    run = QaoaRun(parameters=[])

    def objective_of(counts: dict[str, int]) -> float:
        keys = list(counts)
        bits = np.array([key_bits(key, qubo.num_qubits) for key in keys])
        energies = qubo.energies(bits)
        lowest = int(np.argmin(energies))
        if energies[lowest] < run.best_energy:
            run.best_energy, run.best_bits = float(energies[lowest]), bits[lowest].tolist()
        return cvar(energies, np.array([counts[key] for key in keys], dtype=float), alpha)

    def sample(parameter_sets: np.ndarray) -> list[dict[str, int]]:
        data = sampler.run([(circuit, parameter_sets)]).result()[0].data.meas
        run.num_jobs += 1
        return [data.get_counts(i) for i in range(len(parameter_sets))]

    # Parameters are ordered as circuit.parameters: b[0..p-1] then g[0..p-1].
    def layout(gammas: np.ndarray, betas: np.ndarray) -> np.ndarray:
        return np.concatenate([betas, gammas])

    points = [
        (g, b) for g in np.linspace(0.1, np.pi - 0.1, grid) for b in np.linspace(0.1, 1.4, grid)
    ]
    ramp = (np.arange(layers) + 1) / layers
    sets = np.array([layout(g * ramp, b * ramp[::-1]) for g, b in points])
    values = [objective_of(counts) for counts in sample(sets)]
    start = sets[int(np.argmin(values))]

    def objective(parameters: np.ndarray) -> float:
        value = objective_of(sample(np.asarray([parameters]))[0])
        run.history.append(value)
        if progress is not None:
            progress.step(f"objective {value:.4f}")
        return value

    result = minimize(
        objective, start, method="COBYLA", options={"maxiter": maxiter, "rhobeg": 0.25}
    )
    run.parameters = [float(v) for v in result.x]
    run.final_counts = sample(np.asarray([result.x]))[0]
    objective_of(run.final_counts)
    return run


def counts_probability(counts: dict[str, int], accept: Callable[[list[int]], bool]) -> float:
    """The fraction of shots whose bit vector ``accept`` accepts."""
    total = sum(counts.values())
    width = len(next(iter(counts)))
    hits = sum(n for key, n in counts.items() if accept(key_bits(key, width)))
    return hits / total if total else 0.0


def top_outcomes(counts: dict[str, int], limit: int = 16) -> list[dict[str, Any]]:
    """The ``limit`` most frequent keys with their probabilities, most frequent first."""
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [{"bits": key, "probability": n / total} for key, n in ranked]
