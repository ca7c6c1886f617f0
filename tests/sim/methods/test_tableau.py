"""The exact (tableau) variant of the stabilizer method against the engine's exact
statevector trajectories, qiskit-aer's stabilizer method, Statevector and exact
formulas.

The chip snapshot is edited so that every qubit has T2 = 0.7 T1: thermal relaxation is
then a mixture of nothing, Z and a reset to |0> everywhere (as qiskit-aer's
``thermal_relaxation_error`` builds it), and the variant must match with no allowance.
A second snapshot gives even qubits T2 = 1.6 T1: those channels are twirled and the
result must say so.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from functools import cache

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.quantum_info import Statevector, random_clifford

from openqpu import sim
from openqpu.device import generate_snapshot, load_device_specs
from openqpu.sim.methods import stabilizer, tableau
from openqpu.sim.noise import Depolarizing, NoiseModel, Placed, ReadoutError, ThermalRelaxation
from openqpu.transpile import noise_model_for, transpile_for_device
from tests.conftest import aer_chip_noise, total_variation, tvd_bound, with_explicit_idling
from tests.sim.methods.conftest import (
    assert_statistics_agree,
    feedback,
    ghz,
    random_clifford_layers,
    repetition_code,
)

SIGMAS = 5.0
_SPEC = load_device_specs()["lattice72"]


_MAKERS = {
    "ghz8": lambda: ghz(8),
    "clifford8": lambda: random_clifford_layers(8, 3, seed=5),
    "repetition7": lambda: repetition_code(4, 2),
    "feedback6": lambda: feedback(6),
    "ghz24": lambda: ghz(24),
    "clifford20": lambda: random_clifford_layers(20, 3, seed=3),
    "repetition21": lambda: repetition_code(11, 2),
}


@cache
def _snapshot(kind: str):  # type: ignore[no-untyped-def]
    """lattice72's snapshot with T2 = 0.7 T1 everywhere ("mixture"), or T2 = 1.6 T1 on
    even chip qubits ("mixed")."""
    snapshot = generate_snapshot(_SPEC, seed=7, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    factors = [0.7 if kind == "mixture" or q % 2 else 1.6 for q in range(len(snapshot.t1_us))]
    t2 = tuple(f * t1 for f, t1 in zip(factors, snapshot.t1_us, strict=True))
    return dataclasses.replace(snapshot, t2_us=t2)


@cache
def _compiled(name: str, kind: str = "mixture"):  # type: ignore[no-untyped-def]
    circuit = _MAKERS[name]()
    return transpile_for_device(circuit, _SPEC, _snapshot(kind), seed=1, optimization_level=1)


def _noise(name: str, kind: str = "mixture") -> NoiseModel:
    return noise_model_for(_compiled(name, kind), _SPEC, _snapshot(kind))


# Against the engine's exact trajectories ---------------------------------------------


def _distance_to_engine(
    circuit: QuantumCircuit, noise: NoiseModel, variant: str, shots: int = 100_000
) -> tuple[float, float]:
    engine = sim.sample(circuit, 4_000, seed=3, noise=noise)
    ours = stabilizer.run(circuit, noise, shots, seed=4, variant=variant).counts
    distribution = {key: count / shots for key, count in ours.items()}
    bound = tvd_bound(distribution, 4_000) + tvd_bound(distribution, shots)
    return total_variation(engine, distribution), bound


@pytest.mark.parametrize("name", ["ghz8", "clifford8", "repetition7", "feedback6"])
def test_exact_variant_matches_engine_with_relaxation_everywhere(name: str) -> None:
    """T2 <= T1 on every qubit: the whole chip model is exact, no allowance."""
    compiled, noise = _compiled(name), _noise(name)
    result = stabilizer.run(compiled.circuit, noise, 10, seed=0)
    assert result.figures == {"variant": "exact", "relaxation": "exact", "twirled_channels": 0}
    assert result.approximations == ()
    distance, bound = _distance_to_engine(compiled.circuit, noise, "exact")
    assert distance < bound, (distance, bound)


def test_twirled_variant_is_told_apart_where_exact_is_not() -> None:
    """The distance has the power to see the twirl: |1> held long decays only one way.

    Three independent qubits (two in |1>, one in |+> rotated back), so the exact
    distribution is a product of closed forms, readout error included.
    """
    shots = 100_000
    t1_us, t2_us, delay_ns, p10, p01 = 20.0, 12.0, 8_000.0, 0.02, 0.06
    qc = QuantumCircuit(3, 3)
    qc.x([0, 1])
    qc.h(2)
    qc.delay(delay_ns, range(3), unit="ns")
    qc.h(2)
    qc.measure(range(3), range(3))
    noise = NoiseModel(
        relaxation={q: (t1_us, t2_us) for q in range(3)},
        readout={q: ReadoutError(p10, p01) for q in range(3)},
    )
    gamma = 1 - math.exp(-delay_ns / 1e3 / t1_us)
    dephased = (1 - math.exp(-delay_ns / 1e3 / t2_us)) / 2
    one = [1 - gamma, 1 - gamma, dephased]  # P(qubit in |1>) before readout
    read = [p * (1 - p01) + (1 - p) * p10 for p in one]
    exact = {}
    for value in range(8):
        bits = [(value >> q) & 1 for q in range(3)]
        key = "".join(str(b) for b in reversed(bits))
        exact[key] = math.prod(r if b else 1 - r for r, b in zip(read, bits, strict=True))
    bound = tvd_bound(exact, shots)
    distances = {}
    for variant in ("exact", "twirled"):
        counts = stabilizer.run(qc, noise, shots, seed=5, variant=variant).counts
        distances[variant] = total_variation(counts, exact)
    assert distances["exact"] < bound < distances["twirled"], (distances, bound)


def test_exact_relaxation_rates_are_the_formulas() -> None:
    """|1> decays with 1 - exp(-t/T1) and |0> never rises; |+> dephases as exp(-t/T2)."""
    shots = 100_000
    t1_us, t2_us, delay_ns = 20.0, 15.0, 4_000.0
    qc = QuantumCircuit(4, 4)
    qc.x(0)
    qc.h(2)
    qc.x(3)
    qc.x(3)  # |0>, not known statically: the kernel's tracking leaves it alone
    qc.delay(delay_ns, range(4), unit="ns")
    qc.h(2)
    qc.measure(range(4), range(4))
    noise = NoiseModel(relaxation={q: (t1_us, t2_us) for q in range(4)})
    result = stabilizer.run(qc, noise, shots, seed=11)
    assert result.figures == {"variant": "exact", "relaxation": "exact", "twirled_channels": 0}
    keys = list(result.counts)
    rows = np.array([[c == "1" for c in reversed(k)] for k in keys])
    ones = np.array([result.counts[k] for k in keys]) @ rows / shots
    gamma = 1 - math.exp(-delay_ns / 1e3 / t1_us)
    # |+> keeps <X> = exp(-t/T2): P(1) after H is (1 - exp(-t/T2)) / 2.
    dephased = (1 - math.exp(-delay_ns / 1e3 / t2_us)) / 2
    assert ones[1] == 0 and ones[3] == 0
    measured = np.array([1 - ones[0], ones[2]])
    expected = np.array([gamma, dephased])
    sigma = np.sqrt(expected * (1 - expected) / shots)
    assert np.all(np.abs(measured - expected) < SIGMAS * sigma), (measured, expected)


def test_exact_feedback_with_asymmetric_readout_and_body_noise_matches_engine() -> None:
    """Readout that feeds if_else is exact (asymmetric), so is noise of body gates."""
    compiled = _compiled("feedback6")
    noise = _noise("feedback6")
    noise.readout = {q: ReadoutError(0.02, 0.15) for q in noise.readout}
    result = stabilizer.run(compiled.circuit, noise, 10, seed=0)
    assert result.approximations == ()
    twirled = stabilizer.run(compiled.circuit, noise, 10, seed=0, variant="twirled")
    assert any("symmetric flip" in sentence for sentence in twirled.approximations)
    distance, bound = _distance_to_engine(compiled.circuit, noise, "exact")
    assert distance < bound, (distance, bound)


def test_mixed_t2_reports_the_twirled_channels() -> None:
    """T2 > T1 on even chip qubits: those relaxations are twirled, and said to be."""
    compiled = _compiled("ghz8", "mixed")
    noise = _noise("ghz8", "mixed")
    result = stabilizer.run(compiled.circuit, noise, 1_000, seed=0)
    assert result.figures["variant"] == "exact"
    assert result.figures["relaxation"] == "partly twirled"
    twirled = result.figures["twirled_channels"]
    assert twirled > 0
    assert result.approximations == (
        f"thermal relaxation with T2 > T1 (not a mixture of Paulis and resets) applied as "
        f"its Pauli twirl on {twirled} channels: decay towards |0> becomes symmetric bit "
        "and phase flips",
    )
    # Fewer channels twirled than by Stim, which twirls every relaxation.
    stim = stabilizer.run(compiled.circuit, noise, 10, seed=0, variant="twirled")
    assert stim.figures["twirled_channels"] > twirled


# Against qiskit-aer's stabilizer method ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "aer_shots"),
    [
        ("ghz24", 1_000),
        ("clifford20", 1_000),
        ("repetition21", 1_000),
        pytest.param("ghz24", 8_000, marks=pytest.mark.slow),
        pytest.param("clifford20", 8_000, marks=pytest.mark.slow),
        pytest.param("repetition21", 8_000, marks=pytest.mark.slow),
    ],
)
def test_exact_variant_matches_aer_stabilizer_with_chip_noise(name: str, aer_shots: int) -> None:
    """aer's thermal_relaxation_error is the reset mixture when T2 <= T1: same model."""
    aer = pytest.importorskip("qiskit_aer")
    compiled, noise = _compiled(name), _noise(name)
    assert 20 <= compiled.num_qubits <= 30
    result = stabilizer.run(compiled.circuit, noise, 40_000, seed=2, variant="exact")
    assert result.approximations == ()
    model, thermal = aer_chip_noise(compiled, _SPEC, _snapshot("mixture"))
    reference = with_explicit_idling(compiled.circuit, thermal, _SPEC.dt_ns)
    backend = aer.AerSimulator(
        method="stabilizer", noise_model=model, seed_simulator=5, max_parallel_threads=1
    )
    counts = backend.run(reference, shots=aer_shots).result().get_counts()
    theirs = {key.replace(" ", ""): count for key, count in counts.items()}
    assert_statistics_agree(result.counts, theirs)


# Noiseless, against Statevector -------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_noiseless_tableau_matches_statevector(seed: int) -> None:
    shots = 20_000
    n = 4 + seed
    qc = QuantumCircuit(n)
    qc.compose(random_clifford(n, seed=seed).to_circuit(), inplace=True)
    qc.y(0)
    qc.sx(1)
    qc.sxdg(2)
    qc.cy(0, 1)
    qc.swap(2, 3)
    qc.s(3)
    qc.sdg(0)
    qc.cz(1, 3)
    qc.h(range(n))
    qc.compose(random_clifford(n, seed=100 + seed).to_circuit(), inplace=True)
    exact = Statevector(qc).probabilities_dict()
    qc.measure_all()
    result = stabilizer.run(qc, None, shots, seed=seed, variant="exact")
    assert result.figures["variant"] == "exact"
    assert total_variation(result.counts, exact) < tvd_bound(exact, shots)


def test_wide_noiseless_ghz_uses_several_words_per_column() -> None:
    """100 qubits: 200 tableau rows, four 64-bit words per column."""
    qc = ghz(100)
    program = tableau.lower(qc, None)
    assert program.words == 4
    counts = stabilizer.run(qc, None, 2_000, seed=1, variant="exact").counts
    assert set(counts) == {"0" * 100, "1" * 100}
    assert abs(counts["0" * 100] - 1_000) < 5 * math.sqrt(500)


def test_mid_circuit_measure_reset_and_unwritten_bits() -> None:
    a, b = ClassicalRegister(2, "a"), ClassicalRegister(3, "b")
    qc = QuantumCircuit(QuantumRegister(3), a, b)
    qc.x(0)
    qc.measure(0, a[0])
    qc.measure(1, b[2])
    qc.x(0)
    qc.x(1)
    qc.measure(0, a[0])
    qc.measure(1, b[0])
    qc.h(2)
    qc.reset(2)
    qc.measure(2, b[1])
    assert stabilizer.run(qc, None, 50, seed=0, variant="exact").counts == {"00100": 50}


# Policy, cost, seeds ------------------------------------------------------------------


def test_policy_falls_back_to_the_twirl_over_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, noise = _compiled("ghz8"), _noise("ghz8")
    shots = 1_000
    exact_cost = stabilizer.cost(compiled.circuit, noise, shots, variant="exact")
    twirled_cost = stabilizer.cost(compiled.circuit, noise, shots, variant="twirled")
    assert stabilizer.cost(compiled.circuit, noise, shots) == exact_cost
    assert stabilizer.run(compiled.circuit, noise, 10, seed=0).figures["variant"] == "exact"
    monkeypatch.setattr(stabilizer, "EXACT_BUDGET_SECONDS", 0.0)
    monkeypatch.setattr(stabilizer, "EXACT_BUDGET_FACTOR", 0.0)
    assert stabilizer.cost(compiled.circuit, noise, shots) == twirled_cost
    result = stabilizer.run(compiled.circuit, noise, 10, seed=0)
    assert result.figures["variant"] == "twirled"
    assert result.approximations and "Pauli twirl" in result.approximations[0]


def test_policy_uses_stim_when_nothing_would_be_approximated() -> None:
    compiled = _compiled("ghz8")
    noise = dataclasses.replace(_noise("ghz8"), relaxation={})
    noise.gate_errors = {
        key: tuple(p for p in placed if not isinstance(p.channel, ThermalRelaxation))
        for key, placed in noise.gate_errors.items()
    }
    result = stabilizer.run(compiled.circuit, noise, 10, seed=0)
    assert result.figures == {"variant": "twirled", "relaxation": "none", "twirled_channels": 0}
    assert result.approximations == ()


def test_exact_variant_same_seed_same_counts_and_rejects_unknown_variant() -> None:
    compiled, noise = _compiled("repetition7"), _noise("repetition7")
    first = stabilizer.run(compiled.circuit, noise, 3_000, seed=21, variant="exact")
    assert stabilizer.run(compiled.circuit, noise, 3_000, seed=21, variant="exact") == first
    again = stabilizer.run(compiled.circuit, noise, 3_000, seed=22, variant="exact")
    assert again.counts != first.counts
    with pytest.raises(ValueError, match="variant"):
        stabilizer.run(compiled.circuit, noise, 10, variant="fast")


def test_depolarising_channels_flip_their_paulis_exactly() -> None:
    shots = 100_000
    qc = QuantumCircuit(3, 3)
    qc.x(0)
    qc.cz(1, 2)
    qc.measure(range(3), range(3))
    noise = NoiseModel(
        gate_errors={
            ("x", (0,)): (Placed(Depolarizing(0.2), (0,)),),
            ("cz", (1, 2)): (Placed(Depolarizing(0.4, 2), (1, 2)),),
        },
        relaxation={0: (50.0, 40.0)},  # no delay: only makes the policy pick the tableau
    )
    result = stabilizer.run(qc, noise, shots, seed=10)
    assert result.figures["variant"] == "exact"
    keys = list(result.counts)
    rows = np.array([[c == "1" for c in reversed(k)] for k in keys])
    weights = np.array([result.counts[k] for k in keys])
    ones = weights @ rows / shots
    both = weights @ (rows[:, 1] & rows[:, 2]) / shots
    measured = np.array([1 - ones[0], ones[1], ones[2], both])
    expected = np.array([0.1, 0.2, 0.2, 0.1])
    sigma = np.sqrt(expected * (1 - expected) / shots)
    assert np.all(np.abs(measured - expected) < SIGMAS * sigma), (measured, expected)
