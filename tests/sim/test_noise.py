"""Noisy sampling against qiskit-aer's exact density-matrix simulation.

Each circuit is run with openqpu's trajectories and compared with the exact
distribution: aer's density matrix under the equivalent ``NoiseModel``, then the
readout confusion applied. The distance allowed is a few times the total
variation distance that sampling alone produces on average.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Delay

from openqpu import sim
from openqpu.sim.noise import (
    Depolarizing,
    NoiseModel,
    Placed,
    ReadoutError,
    ThermalRelaxation,
)

aer = pytest.importorskip("qiskit_aer")
aer_noise = pytest.importorskip("qiskit_aer.noise")

SHOTS = 4_000
ONE_QUBIT = ("sx", "x", "h")
TWO_QUBIT = ("cz", "cx")
DURATION_NS = {"sx": 35.0, "x": 35.0, "h": 35.0, "cz": 60.0, "cx": 80.0}


def _calibration(num_qubits: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t1 = rng.uniform(10, 30, num_qubits)
    return {
        "t1": t1,
        "t2": np.minimum(rng.uniform(1, 20, num_qubits), 2 * t1),
        "e1": rng.uniform(0.001, 0.02, num_qubits),
        "e2": rng.uniform(0.01, 0.08, (num_qubits, num_qubits)),
        "r10": rng.uniform(0.01, 0.05, num_qubits),
        "r01": rng.uniform(0.03, 0.08, num_qubits),
    }


def _models(num_qubits: int, seed: int) -> tuple[NoiseModel, object]:
    """The same noise as an openqpu ``NoiseModel`` and as a qiskit-aer ``NoiseModel``."""
    cal = _calibration(num_qubits, seed)
    ours = NoiseModel()
    theirs = aer_noise.NoiseModel()

    def relax(q: int, ns: float) -> ThermalRelaxation:
        return ThermalRelaxation(float(cal["t1"][q]), float(cal["t2"][q]), ns)

    def aer_relax(q: int, ns: float):
        return aer_noise.thermal_relaxation_error(cal["t1"][q], cal["t2"][q], ns / 1e3)

    for q in range(num_qubits):
        ours.relaxation[q] = (float(cal["t1"][q]), float(cal["t2"][q]))
        ours.readout[q] = ReadoutError(float(cal["r10"][q]), float(cal["r01"][q]))
        for name in ONE_QUBIT:
            ns = DURATION_NS[name]
            depol = Depolarizing.from_error(float(cal["e1"][q]), 1)
            ours.gate_errors[(name, (q,))] = (
                Placed(depol, (q,)),
                Placed(relax(q, ns), (q,)),
            )
            error = aer_noise.depolarizing_error(depol.probability, 1).compose(aer_relax(q, ns))
            theirs.add_quantum_error(error, name, [q])
        for b in range(num_qubits):
            if b == q:
                continue
            for name in TWO_QUBIT:
                ns = DURATION_NS[name]
                depol = Depolarizing.from_error(float(cal["e2"][q, b]), 2)
                ours.gate_errors[(name, (q, b))] = (
                    Placed(depol, (q, b)),
                    Placed(relax(q, ns), (q,)),
                    Placed(relax(b, ns), (b,)),
                )
                # In an aer error, qubit 0 is the instruction's first qubit.
                thermal = aer_relax(b, ns).tensor(aer_relax(q, ns))
                error = aer_noise.depolarizing_error(depol.probability, 2).compose(thermal)
                theirs.add_quantum_error(error, name, [q, b])
    return ours, (theirs, cal)


def _random_circuit(num_qubits: int, depth: int, seed: int) -> QuantumCircuit:
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(num_qubits)
    for _ in range(depth):
        for q in range(num_qubits):
            roll = rng.random()
            if roll < 0.4:
                qc.append(Delay(float(rng.uniform(50, 400)), unit="ns"), [q])
            elif roll < 0.6:
                qc.rz(float(rng.uniform(0, 2 * math.pi)), q)
            else:
                getattr(qc, str(rng.choice(ONE_QUBIT)))(q)
        if num_qubits > 1:
            for _ in range(max(1, num_qubits // 2)):
                a, b = rng.choice(num_qubits, 2, replace=False)
                getattr(qc, str(rng.choice(TWO_QUBIT)))(int(a), int(b))
    return qc


def _exact_distribution(circuit: QuantumCircuit, aer_model: object) -> np.ndarray:
    """Aer's density-matrix probabilities of all qubits, then readout confusion."""
    theirs, cal = aer_model
    explicit = QuantumCircuit(circuit.num_qubits)
    for item in circuit.data:
        if item.operation.name == "delay":
            q = circuit.find_bit(item.qubits[0]).index
            ns = float(item.operation.duration)
            error = aer_noise.thermal_relaxation_error(cal["t1"][q], cal["t2"][q], ns / 1e3)
            explicit.append(error.to_instruction(), [q])
        else:
            explicit.append(item.operation, item.qubits)
    explicit.save_probabilities()
    backend = aer.AerSimulator(method="density_matrix", noise_model=theirs)
    probs = np.asarray(backend.run(explicit).result().data()["probabilities"])
    tensor = probs.reshape((2,) * circuit.num_qubits)
    for q in range(circuit.num_qubits):
        confusion = np.array(
            [[1 - cal["r10"][q], cal["r01"][q]], [cal["r10"][q], 1 - cal["r01"][q]]]
        )
        axis = circuit.num_qubits - 1 - q
        tensor = np.moveaxis(np.tensordot(confusion, tensor, axes=([1], [axis])), 0, axis)
    return tensor.reshape(-1)


def _tvd_bound(exact: np.ndarray, shots: int) -> float:
    """The distance sampling alone stays under: its mean plus five standard deviations.

    Each outcome's frequency is about normal with variance p (1 - p) / shots; the
    mean of |deviation| is sqrt(2 / pi) sigma and its variance (1 - 2 / pi) sigma^2.
    """
    sigma2 = exact * (1 - exact) / shots
    mean = 0.5 * np.sum(np.sqrt(2 * sigma2 / math.pi))
    std = 0.5 * np.sqrt(np.sum((1 - 2 / math.pi) * sigma2))
    return float(mean + 5 * std) + 1e-3


def _distribution(counts: dict[str, int], num_qubits: int) -> np.ndarray:
    out = np.zeros(1 << num_qubits)
    for key, count in counts.items():
        out[int(key, 2)] += count
    return out / out.sum()


@pytest.mark.parametrize("case", range(20))
def test_noisy_distribution_matches_aer_density_matrix(case: int) -> None:
    num_qubits = 1 + case % 8
    circuit = _random_circuit(num_qubits, depth=3 + case % 4, seed=100 + case)
    ours, theirs = _models(num_qubits, seed=case)
    exact = _exact_distribution(circuit, theirs)
    measured = circuit.copy()
    measured.measure_all()
    counts = sim.sample(measured, SHOTS, seed=case, noise=ours)
    distance = 0.5 * np.abs(_distribution(counts, num_qubits) - exact).sum()
    assert distance < _tvd_bound(exact, SHOTS), (distance, _tvd_bound(exact, SHOTS))


@pytest.mark.parametrize("drop", ["readout", "relaxation", "gate_errors"])
def test_the_comparison_detects_a_missing_part_of_the_model(drop: str) -> None:
    """The bound is tight enough to fail when one kind of noise is left out."""
    circuit = QuantumCircuit(4)
    circuit.h(0)
    for q in range(3):
        circuit.cx(q, q + 1)
        circuit.append(Delay(3000.0, unit="ns"), [q])
    ours, theirs = _models(4, seed=7)
    setattr(ours, drop, {})
    exact = _exact_distribution(circuit, theirs)
    measured = circuit.copy()
    measured.measure_all()
    counts = sim.sample(measured, SHOTS, seed=1, noise=ours)
    assert 0.5 * np.abs(_distribution(counts, 4) - exact).sum() > _tvd_bound(exact, SHOTS)


def test_amplitude_damping_decays_at_the_rate_of_t1() -> None:
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.append(Delay(20_000, unit="ns"), [0])
    qc.measure(0, 0)
    model = NoiseModel(relaxation={0: (20.0, 10.0)})
    counts = sim.sample(qc, 40_000, seed=3, noise=model)
    assert counts["1"] / 40_000 == pytest.approx(math.exp(-1), abs=0.01)


def test_readout_error_applies_to_mid_circuit_measurements_and_conditions() -> None:
    qc = QuantumCircuit(2, 2)
    qc.measure(0, 0)  # always 0, misread as 1 with probability 0.25
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    model = NoiseModel(readout={0: ReadoutError(0.25, 0.0)})
    counts = sim.sample(qc, 40_000, seed=5, noise=model)
    assert set(counts) == {"00", "11"}
    assert counts["11"] / 40_000 == pytest.approx(0.25, abs=0.01)


def test_readout_error_on_many_classical_bits() -> None:
    qc = QuantumCircuit(1, 70)
    qc.measure(0, 69)
    model = NoiseModel(readout={0: ReadoutError(0.5, 0.0)})
    counts = sim.sample(qc, 10_000, seed=2, noise=model)
    assert set(counts) == {"0" * 70, "1" + "0" * 69}
    assert counts["0" * 70] == pytest.approx(5_000, abs=250)


def test_same_seed_same_counts_and_noise_free_model_is_exact() -> None:
    qc = _random_circuit(3, depth=4, seed=11)
    qc.measure_all()
    ours, _ = _models(3, seed=11)
    assert sim.sample(qc, 500, seed=9, noise=ours) == sim.sample(qc, 500, seed=9, noise=ours)
    assert sim.sample(qc, 500, seed=9, noise=NoiseModel()) == sim.sample(qc, 500, seed=9)


def test_bad_channel_parameters_name_the_field() -> None:
    with pytest.raises(ValueError, match="t2_us"):
        ThermalRelaxation(10.0, 25.0, 30.0)
    with pytest.raises(ValueError, match="probability"):
        Depolarizing(2.0, 1)
    with pytest.raises(ValueError, match="readout_error_1to0"):
        ReadoutError(0.1, 1.5)
