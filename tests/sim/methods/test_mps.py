"""The MPS method against qiskit.quantum_info (noiseless, exact amplitudes), qiskit-aer
(density matrix and MPS, with the chip's noise) and the engine's own trajectories.

Chip snapshots are edited so that some qubits have T1 < T2 <= 2 T1 (relaxation as
rare amplitude-damping jumps) and the rest T2 <= T1 (a reset / Z mixture).
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import QFTGate
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Statevector

from openqpu import sim
from openqpu.device import generate_snapshot, load_device_specs
from openqpu.sim.methods import mps
from openqpu.sim.methods.base import MPS, MethodUnsupported
from openqpu.sim.methods.mps_program import build_program
from openqpu.sim.methods.mps_trajectories import evolve
from openqpu.sim.noise import Depolarizing, NoiseModel, Placed, ThermalRelaxation
from openqpu.transpile import noise_model_for, transpile_for_device
from tests.conftest import aer_chip_noise, tvd_bound, with_explicit_idling

aer = pytest.importorskip("qiskit_aer")


def _mps_state(circuit: QuantumCircuit) -> np.ndarray:
    """The MPS of a noiseless circuit contracted to a statevector (bit q = qubit q)."""
    program = build_program(circuit, None, 1024)
    tensors = evolve(
        program.num_sites, program.ops_int, program.ops_real, program.mats1, program.mats2,
        program.conds, np.zeros(1, np.uint8), 1024, 0.0, np.zeros(5),
    )  # fmt: skip
    state = tensors[0].reshape(2, -1)
    for tensor in tensors[1:]:
        left = tensor.shape[0]
        state = (state.reshape(-1, left) @ tensor.reshape(left, -1)).reshape(-1, tensor.shape[2])
    n = len(tensors)
    # Axis s of the contracted array is site s; order the axes as qubits n-1 ... 0.
    position = np.argsort(program.final_order)
    axes = [int(position[q]) for q in range(n - 1, -1, -1)]
    return state.reshape([2] * n).transpose(axes).reshape(-1)


def _fidelity(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(np.vdot(a, b)) ** 2)


@pytest.mark.parametrize("seed", range(8))
def test_noiseless_state_matches_statevector(seed: int) -> None:
    n = 3 + seed % 8
    circuit = random_circuit(n, 8, max_operands=2, seed=seed)
    assert _fidelity(_mps_state(circuit), Statevector(circuit).data) == pytest.approx(1, abs=1e-9)


def test_noiseless_distant_gates_match_statevector() -> None:
    rng = np.random.default_rng(5)
    circuit = QuantumCircuit(10)
    for _ in range(40):
        a, b = rng.choice(10, 2, replace=False)
        circuit.u(*rng.uniform(0, 3, 3), int(a))
        circuit.rzz(float(rng.uniform(0, 3)), int(a), int(b))
        circuit.cx(int(b), int(a))
    circuit.ccx(0, 5, 9)  # decomposed into one- and two-qubit gates
    assert _fidelity(_mps_state(circuit), Statevector(circuit).data) == pytest.approx(1, abs=1e-9)


@pytest.mark.parametrize("swap_back", [True, False], ids=["swap-back", "stay"])
def test_both_routings_of_distant_gates_match_statevector(
    monkeypatch: pytest.MonkeyPatch, swap_back: bool
) -> None:
    """Qubits swapped back after each pair's gates, or left where they met: same state."""
    from openqpu.sim.methods import mps_program
    from openqpu.sim.methods.mps_builder import OpsBuilder

    def routed(order: list[int], items: list, ranks: dict, max_bond: int) -> OpsBuilder:
        builder = OpsBuilder(order, swap_back=swap_back)
        builder.build(items, ranks)
        return builder

    monkeypatch.setattr(mps_program, "_routed", routed)
    rng = np.random.default_rng(11)
    circuit = QuantumCircuit(9)
    for _ in range(30):
        a, b = (int(x) for x in rng.choice(9, 2, replace=False))
        circuit.cz(a, b)
        circuit.u(*rng.uniform(0, 3, 3), b)  # between two gates on the same pair
        circuit.cz(a, b)
        circuit.rx(float(rng.uniform(0, 3)), a)
    assert build_program(circuit, None, 1024).swap_back is swap_back
    assert _fidelity(_mps_state(circuit), Statevector(circuit).data) == pytest.approx(1, abs=1e-9)


def test_chain_order_is_recovered() -> None:
    order = [3, 7, 0, 5, 1, 6, 2, 4]
    circuit = QuantumCircuit(8)
    for a, b in itertools.pairwise(order):
        circuit.cz(a, b)
    program = build_program(circuit, None, 256)
    assert program.order in (order, order[::-1])
    assert all(hi == lo + 1 for lo, hi, _ in program.gates)


def test_sampled_counts_match_statevector_probabilities() -> None:
    circuit = random_circuit(6, 6, max_operands=2, seed=11)
    circuit.add_register(ClassicalRegister(7))
    circuit.measure(range(6), range(1, 7))  # clbit 0 never written: always 0
    probs = Statevector(circuit.remove_final_measurements(inplace=False)).probabilities_dict()
    exact = {key + "0": p for key, p in probs.items() if p > 1e-12}
    run = mps.run(circuit, None, 4000, seed=3)
    assert run.method == MPS and all(len(key) == 7 for key in run.counts)
    assert _tvd(run.counts, exact) < tvd_bound(exact, 4000)


def _tvd(counts: dict[str, int], exact: dict[str, float]) -> float:
    shots = sum(counts.values())
    keys = set(counts) | set(exact)
    return 0.5 * sum(abs(counts.get(k, 0) / shots - exact.get(k, 0.0)) for k in keys)


def _chip(seed: int, jump_qubits_every: int = 2):
    """lattice72 and a snapshot whose every other qubit has T1 < T2 <= 2 T1."""
    spec = load_device_specs()["lattice72"]
    snapshot = generate_snapshot(spec, seed=seed, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    t2 = [
        1.6 * t1 if q % jump_qubits_every == 0 else min(t2, 0.8 * t1)
        for q, (t1, t2) in enumerate(zip(snapshot.t1_us, snapshot.t2_us, strict=True))
    ]
    return spec, dataclasses.replace(snapshot, t2_us=tuple(t2))


def _compiled(circuit: QuantumCircuit, seed: int):
    spec, snapshot = _chip(seed)
    compiled = transpile_for_device(circuit, spec, snapshot, seed=seed)
    return compiled, spec, snapshot, noise_model_for(compiled, spec, snapshot)


def _aer_exact(compiled, spec, snapshot, shots: int = 200_000) -> dict[str, float]:
    model, thermal = aer_chip_noise(compiled, spec, snapshot)
    reference = with_explicit_idling(compiled.circuit, thermal, spec.dt_ns)
    backend = aer.AerSimulator(method="density_matrix", noise_model=model, seed_simulator=7)
    counts = backend.run(reference, shots=shots).result().get_counts()
    return {key.replace(" ", ""): c / shots for key, c in counts.items()}


def _ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure_all()
    return circuit


def _qft(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.x([0, 2])
    circuit.h(1)
    circuit.append(QFTGate(n), range(n))
    circuit.measure_all()
    return circuit


@pytest.mark.parametrize("case", ["ghz5", "qft4", "ansatz6"])
def test_chip_noise_matches_aer_density_matrix(case: str) -> None:
    if case == "ghz5":
        circuit = _ghz(5)
    elif case == "qft4":
        circuit = _qft(4)
    else:
        circuit = QuantumCircuit(6)
        circuit.h(range(6))
        for q in range(5):
            circuit.cz(q, q + 1)
        circuit.rx(0.7, range(6))
        circuit.cx(0, 5)
        circuit.measure_all()
    compiled, spec, snapshot, noise = _compiled(circuit, 3)
    assert compiled.num_qubits <= 8
    shots = 3000
    run = mps.run(compiled.circuit, noise, shots, seed=1)
    exact = _aer_exact(compiled, spec, snapshot)
    assert _tvd(run.counts, exact) < tvd_bound(exact, shots) + 0.01  # aer's own sampling


def test_mid_circuit_measure_reset_and_feedback_match_engine() -> None:
    circuit = QuantumCircuit(4, 4)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure(1, 0)
    circuit.reset(1)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(2)
    circuit.h(1)
    circuit.cx(1, 3)
    circuit.cx(2, 3)
    circuit.measure([0, 1, 2, 3], [0, 1, 2, 3])
    compiled, _, _, noise = _compiled(circuit, 5)
    shots = 4000
    run = mps.run(compiled.circuit, noise, shots, seed=2)
    reference = sim.sample(compiled.circuit, 100_000, seed=3, noise=noise)
    exact = {k: c / 100_000 for k, c in reference.items()}
    assert _tvd(run.counts, exact) < tvd_bound(exact, shots) + 0.01


@pytest.mark.parametrize("width", [16, 8])
def test_chip_noise_matches_engine_trajectories(width: int) -> None:
    circuit = _ghz(width) if width == 16 else _qft(width)
    compiled, _, _, noise = _compiled(circuit, 8)
    shots = 1500
    run = mps.run(compiled.circuit, noise, shots, seed=4)
    reference = sim.sample(compiled.circuit, shots, seed=5, noise=noise)
    for q in range(width):  # marginals: each within 5 sigma of the pair's difference
        p_mps = sum(c for k, c in run.counts.items() if k[-1 - q] == "1") / shots
        p_ref = sum(c for k, c in reference.items() if k[-1 - q] == "1") / shots
        sigma = np.sqrt(2 * max(p_ref * (1 - p_ref), 1e-3) / shots)
        assert abs(p_mps - p_ref) < 5 * sigma, (q, p_mps, p_ref)
    parity = [
        sum(c * (-1) ** k.count("1") for k, c in counts.items()) / shots
        for counts in (run.counts, reference)
    ]
    assert abs(parity[0] - parity[1]) < 5 * np.sqrt(2 / shots)


def test_wide_noisy_ghz_matches_aer_mps() -> None:
    width = 48
    compiled, spec, snapshot, noise = _compiled(_ghz(width), 9)
    shots = 300
    run = mps.run(compiled.circuit, noise, shots, seed=6)
    model, thermal = aer_chip_noise(compiled, spec, snapshot)
    reference = with_explicit_idling(compiled.circuit, thermal, spec.dt_ns)
    backend = aer.AerSimulator(method="matrix_product_state", noise_model=model, seed_simulator=8)
    aer_counts = backend.run(reference, shots=shots).result().get_counts()
    aer_counts = {k.replace(" ", ""): c for k, c in aer_counts.items()}
    assert run.figures["max_bond_dimension"] <= 4
    for counts in (run.counts, aer_counts):
        assert sum(counts.values()) == shots
    ones = [
        np.array([sum(c for k, c in counts.items() if k[-1 - q] == "1") for q in range(width)])
        / shots
        for counts in (run.counts, aer_counts)
    ]
    # Mean marginal over 48 qubits: strongly averaged, both near 1/2.
    assert abs(ones[0].mean() - ones[1].mean()) < 0.05
    # Neighbouring pairs agree (GHZ correlations decay with the noise along the chain).
    agree = [
        np.mean(
            [
                sum(c for k, c in counts.items() if k[-1 - q] == k[-2 - q]) / shots
                for q in range(width - 1)
            ]
        )
        for counts in (run.counts, aer_counts)
    ]
    assert abs(agree[0] - agree[1]) < 0.03


def _scaled(noise: NoiseModel, factor: float) -> NoiseModel:
    """``noise`` with T1 and T2 divided by ``factor``, 1q errors x10 and 2q errors x3."""

    def placed(item: Placed) -> Placed:
        c = item.channel
        if isinstance(c, ThermalRelaxation):
            return Placed(
                ThermalRelaxation(c.t1_us / factor, c.t2_us / factor, c.duration_ns), item.qubits
            )
        return Placed(
            Depolarizing(c.probability * (10 if c.num_qubits == 1 else 3), c.num_qubits),
            item.qubits,
        )

    return dataclasses.replace(
        noise,
        gate_errors={k: tuple(placed(p) for p in v) for k, v in noise.gate_errors.items()},
        relaxation={q: (t1 / factor, t2 / factor) for q, (t1, t2) in noise.relaxation.items()},
    )


def _without(noise: NoiseModel, kind: str) -> NoiseModel:
    if kind == "readout":
        return dataclasses.replace(noise, readout={})
    if kind == "idle":
        return dataclasses.replace(noise, relaxation={})

    def keep(item: Placed) -> bool:
        c = item.channel
        if kind == "gate relaxation":
            return not isinstance(c, ThermalRelaxation)
        return not (isinstance(c, Depolarizing) and c.num_qubits == int(kind[0]))

    return dataclasses.replace(
        noise,
        gate_errors={k: tuple(p for p in v if keep(p)) for k, v in noise.gate_errors.items()},
    )


@pytest.mark.parametrize(
    "component", ["readout", "idle", "gate relaxation", "1q depolarising", "2q depolarising"]
)
def test_dropping_a_noise_component_is_detected(component: str) -> None:
    compiled, _, _, noise = _compiled(_ghz(6), 3)
    noise = _scaled(noise, 20)  # every component as visible as the readout error
    shots = 10_000
    good = _ghz_fraction(mps.run(compiled.circuit, noise, shots, seed=1).counts, shots)
    other = mps.run(compiled.circuit, _without(noise, component), shots, seed=2).counts
    # The difference of the two fractions has a deviation of ~0.006; each component
    # lowers the GHZ fraction by 0.035 to 0.09.
    assert _ghz_fraction(other, shots) - good > 0.02, (_ghz_fraction(other, shots), good)


def _ghz_fraction(counts: dict[str, int], shots: int) -> float:
    return sum(c for k, c in counts.items() if len(set(k)) == 1) / shots


def test_amplitude_damping_jump_matches_exact_decay() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.x(0)
    circuit.h(1)
    circuit.delay(100, 0, unit="ns")
    circuit.delay(100, 1, unit="ns")
    circuit.h(1)
    circuit.measure([0, 1], [0, 1])
    noise = NoiseModel(relaxation={0: (0.1, 0.19), 1: (0.1, 0.19)})
    channel = ThermalRelaxation(0.1, 0.19, 100)
    assert channel.mixture() is None
    shots = 20_000
    counts = mps.run(circuit, noise, shots, seed=3).counts
    p_excited = sum(c for k, c in counts.items() if k[-1] == "1") / shots
    p_plus = sum(c for k, c in counts.items() if k[-2] == "0") / shots
    assert abs(p_excited - np.exp(-1)) < 5 * np.sqrt(0.25 / shots)
    assert abs(p_plus - (1 + channel.coherence) / 2) < 5 * np.sqrt(0.25 / shots)


def test_truncation_is_reported() -> None:
    circuit = random_circuit(10, 12, max_operands=2, seed=4)
    circuit.measure_all()
    run = mps.run(circuit, None, 50, seed=1, max_bond=2)
    assert run.figures["max_bond_dimension"] == 2
    assert run.figures["truncation_fidelity"] < 1
    assert any("bond dimension capped at 2" in note for note in run.approximations)
    exact = mps.run(circuit, None, 50, seed=1)
    assert exact.figures["truncation_fidelity"] > 1 - 1e-6 and not exact.approximations


def test_seed_reproduces_counts() -> None:
    compiled, _, _, noise = _compiled(_ghz(6), 3)
    first = mps.run(compiled.circuit, noise, 500, seed=9)
    assert first.counts == mps.run(compiled.circuit, noise, 500, seed=9).counts
    assert first.counts != mps.run(compiled.circuit, noise, 500, seed=10).counts


def test_shots_per_trajectory_says_shots_are_correlated() -> None:
    run = mps.run(_ghz(4), None, 100, seed=1, shots_per_trajectory=10)
    assert sum(run.counts.values()) == 100 and run.figures["trajectories"] == 10
    assert any("correlated" in note for note in run.approximations)


def test_why_not_reasons() -> None:
    assert mps.why_not(_ghz(4), None) is None
    theta = Parameter("theta")
    unbound = QuantumCircuit(2)
    unbound.rx(theta, 0)
    assert "unbound parameters: theta" in (mps.why_not(unbound, None) or "")
    with pytest.raises(MethodUnsupported, match="unbound parameters"):
        mps.run(unbound, None, 10)
    wide = QuantumCircuit(3)
    wide.unitary(np.eye(8), [0, 1, 2])  # a matrix without a finite definition
    reason = mps.why_not(wide, None)
    assert reason is None or "3 qubits" in reason


def test_cost_grows_with_entanglement_and_shots() -> None:
    chain = mps.cost(_ghz(30), None, 1000)
    dense = mps.cost(random_circuit(30, 20, max_operands=2, seed=1), None, 1000)
    assert chain.seconds < 1 and dense.seconds > 10 * chain.seconds
    assert mps.cost(_ghz(30), None, 10_000).seconds > chain.seconds
    assert dense.memory_bytes > chain.memory_bytes


def test_cost_probe_extrapolates_a_stopped_trajectory(monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe trajectory stopped by its work limit is extrapolated from the fraction of
    operations it ran, to within a small factor of the work of a whole one."""
    program = build_program(random_circuit(12, 12, max_operands=2, seed=3), None, 256)
    whole = mps._probe(program, 256, 1e-10)
    assert whole.complete and whole.work > 0
    quarter = whole.work * mps._WORK_S * mps._PROBE_TRAJECTORIES / 4
    monkeypatch.setattr(mps, "_PROBE_LIMIT_S", quarter)
    stopped = mps._probe(program, 256, 1e-10)
    assert not stopped.complete
    assert 0.3 * whole.work < stopped.work < 3 * whole.work
