"""The density_matrix method against qiskit-aer's density matrix, the engine's
trajectories and exact channel algebra.

The chip snapshots are edited so that half the qubits have T1 < T2 <= 2 T1 and
half T2 <= T1: both forms of thermal relaxation are exercised on every circuit.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import efficient_su2
from qiskit.quantum_info import DensityMatrix, Operator, SuperOp

from openqpu import sim
from openqpu.device import generate_snapshot, load_device_specs
from openqpu.sim.methods import density, density_superops
from openqpu.sim.methods.base import DENSITY_MATRIX, MethodUnsupported
from openqpu.sim.noise import (
    Depolarizing,
    NoiseModel,
    Placed,
    ReadoutError,
    ThermalRelaxation,
)
from openqpu.transpile import noise_model_for, transpile_for_device
from tests.conftest import aer_chip_noise, small_chip_circuits, tvd_bound, with_explicit_idling

aer = pytest.importorskip("qiskit_aer")
aer_noise = pytest.importorskip("qiskit_aer.noise")

# Both sides are exact in float64; ~200 channels accumulate rounding of ~1e-15 each.
EXACT = 1e-9


def _circuits() -> dict[str, QuantumCircuit]:
    reset = QuantumCircuit(3)
    reset.h(0)
    reset.cx(0, 1)
    reset.reset(0)
    reset.h(0)
    reset.cx(0, 2)
    circuits = small_chip_circuits()
    circuits["reset"] = reset
    for circuit in circuits.values():
        circuit.measure_all()
    return circuits


def _snapshot(device: str, seed: int):  # type: ignore[no-untyped-def]
    """A generated snapshot with T2 = 1.7 T1 on even chip qubits and T2 = 0.6 T1 on odd."""
    spec = load_device_specs()[device]
    snapshot = generate_snapshot(spec, seed=seed, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    t2 = tuple((1.7 if q % 2 == 0 else 0.6) * t1 for q, t1 in enumerate(snapshot.t1_us))
    return spec, dataclasses.replace(snapshot, t2_us=t2)


def _compiled(device: str, name: str, seed: int = 3):  # type: ignore[no-untyped-def]
    spec, snapshot = _snapshot(device, seed)
    compiled = transpile_for_device(_circuits()[name], spec, snapshot, seed=seed)
    return spec, snapshot, compiled, noise_model_for(compiled, spec, snapshot)


def _aer_probabilities(circuit: QuantumCircuit, model, readout: dict[int, tuple[float, float]]):  # type: ignore[no-untyped-def]
    """aer's exact final density matrix, then measurement and readout confusion written
    out here (aer applies readout error only to sampled counts)."""
    body = circuit.copy_empty_like()
    measured: dict[int, int] = {}
    for item in circuit.data:
        if item.operation.name == "measure":
            clbit = circuit.find_bit(item.clbits[0]).index
            measured[clbit] = circuit.find_bit(item.qubits[0]).index
        else:
            body.append(item)
    body.save_density_matrix()
    backend = aer.AerSimulator(method="density_matrix", noise_model=model)
    rho = np.asarray(backend.run(body).result().data()["density_matrix"])
    out = np.zeros(1 << circuit.num_clbits)
    for x, weight in enumerate(np.real(np.diag(rho))):
        dist = np.ones(1)
        for clbit in range(circuit.num_clbits):
            if clbit in measured:
                q = measured[clbit]
                e10, e01 = readout.get(q, (0.0, 0.0))
                column = [1 - e10, e10] if (x >> q) & 1 == 0 else [e01, 1 - e01]
            else:
                column = [1.0, 0.0]
            dist = np.kron(np.array(column), dist)
        out += weight * dist
    return out


def _aer_chip(spec, snapshot, compiled):  # type: ignore[no-untyped-def]
    model, thermal = aer_chip_noise(compiled, spec, snapshot)
    reference = with_explicit_idling(compiled.circuit, thermal, spec.dt_ns)
    chip = compiled.physical_qubits
    readout = {
        q: (snapshot.readout_error_0to1[c], snapshot.readout_error_1to0[c])
        for q, c in enumerate(chip)
    }
    return _aer_probabilities(reference, model, readout)


@pytest.mark.parametrize("device", ["lattice12", "lattice72"])
@pytest.mark.parametrize("name", ["bell", "ghz5", "qft4", "su2", "wide8", "reset"])
def test_density_probabilities_match_aer_density_matrix(device: str, name: str) -> None:
    spec, snapshot, compiled, noise = _compiled(device, name)
    t1 = [snapshot.t1_us[c] for c in compiled.physical_qubits]
    t2 = [snapshot.t2_us[c] for c in compiled.physical_qubits]
    assert any(b > a for a, b in zip(t1, t2, strict=True)) or len(t1) == 1
    ours = density.probabilities(compiled.circuit, noise)
    np.testing.assert_allclose(ours, _aer_chip(spec, snapshot, compiled), rtol=0, atol=EXACT)
    assert ours.sum() == pytest.approx(1.0, abs=1e-12)


def _without(noise: NoiseModel, component: str) -> NoiseModel:
    """``noise`` with one kind of component removed."""
    if component == "readout":
        return dataclasses.replace(noise, readout={})
    if component == "idling":
        return dataclasses.replace(noise, relaxation={})
    kind = Depolarizing if component.startswith("depolarizing") else ThermalRelaxation
    width = 2 if component.endswith("2q") else 1
    errors = {
        key: tuple(p for p in placed if not (isinstance(p.channel, kind) and len(key[1]) == width))
        for key, placed in noise.gate_errors.items()
    }
    return dataclasses.replace(noise, gate_errors=errors)


@pytest.mark.parametrize(
    "component",
    ["readout", "idling", "depolarizing 1q", "depolarizing 2q", "thermal 1q", "thermal 2q"],
)
def test_density_every_noise_component_counts(component: str) -> None:
    # The aer comparison above holds to 1e-9; dropping any one component moves the
    # distribution by far more, so a silently ignored channel fails it.
    spec, snapshot, compiled, noise = _compiled("lattice12", "ghz5")
    reference = _aer_chip(spec, snapshot, compiled)
    full = density.probabilities(compiled.circuit, noise)
    assert np.max(np.abs(full - reference)) < EXACT
    dropped = density.probabilities(compiled.circuit, _without(noise, component))
    assert np.max(np.abs(dropped - reference)) > 1e-5


@pytest.mark.parametrize(
    ("t1_us", "t2_us"), [(30.0, 12.0), (30.0, 30.0), (30.0, 45.0), (30.0, 60.0), (5.0, 9.5)]
)
@pytest.mark.parametrize("duration_ns", [35.0, 660.0, 9000.0])
def test_density_thermal_superoperator_equals_aer(
    t1_us: float, t2_us: float, duration_ns: float
) -> None:
    ours = density_superops.thermal(ThermalRelaxation(t1_us, t2_us, duration_ns))
    error = aer_noise.thermal_relaxation_error(t1_us, t2_us, duration_ns / 1e3)
    np.testing.assert_allclose(ours, SuperOp(error).data, atol=1e-13)


@pytest.mark.parametrize("num_qubits", [1, 2])
def test_density_depolarizing_superoperator_equals_aer(num_qubits: int) -> None:
    channel = Depolarizing(0.037, num_qubits)
    expected = SuperOp(aer_noise.depolarizing_error(0.037, num_qubits)).data
    np.testing.assert_allclose(density_superops.depolarizing(channel), expected, atol=1e-13)


def test_density_plain_gates_match_aer_with_custom_noise() -> None:
    # Gates beyond the chip's: dense 3q (ccx), diagonal 2q (cp), non-Clifford 2q with
    # a depolarising channel (crx), Clifford 2q with one (cx), wide controlled (mcx).
    qc = QuantumCircuit(6, 6)
    qc.h(range(6))
    qc.t(2)
    qc.cx(0, 1)
    qc.crx(0.8, 1, 2)
    qc.ccx(2, 3, 4)
    qc.cp(0.4, 4, 5)
    qc.mcx([0, 1, 2, 3], 5)
    qc.ry(0.3, 3)
    qc.swap(0, 5)
    qc.measure(range(6), range(6))
    noise = NoiseModel(readout={2: ReadoutError(0.03, 0.08)})
    errors = {}
    for name, qubits, p in [("cx", (0, 1), 0.05), ("crx", (1, 2), 0.08)]:
        noise.gate_errors[(name, qubits)] = (
            Placed(Depolarizing(p, 2), qubits),
            Placed(ThermalRelaxation(20.0, 35.0, 400.0), (qubits[1],)),
        )
        errors[(name, qubits)] = [
            (aer_noise.depolarizing_error(p, 2), list(qubits)),
            (aer_noise.thermal_relaxation_error(20.0, 35.0, 0.4), [qubits[1]]),
        ]
    noise.gate_errors[("h", (3,))] = (Placed(Depolarizing(0.1, 1), (3,)),)
    errors[("h", (3,))] = [(aer_noise.depolarizing_error(0.1, 1), [3])]
    # aer's density_matrix method lacks crx and mcx: give it every gate as a unitary
    # and every channel as an explicit instruction.
    reference = qc.copy_empty_like()
    for item in qc.data:
        qubits = tuple(qc.find_bit(q).index for q in item.qubits)
        if item.operation.name == "measure":
            reference.append(item)
            continue
        reference.unitary(Operator(item.operation).data, list(qubits))
        for error, where in errors.get((item.operation.name, qubits), []):
            reference.append(error.to_instruction(), where)
    expected = _aer_probabilities(reference, None, {2: (0.03, 0.08)})
    np.testing.assert_allclose(density.probabilities(qc, noise), expected, atol=EXACT)


def test_density_noiseless_equals_quantum_info() -> None:
    qc = efficient_su2(5, reps=2).assign_parameters(np.linspace(0.2, 3.0, 30))
    expected = DensityMatrix(qc).probabilities()
    qc.measure_all()
    np.testing.assert_allclose(density.probabilities(qc, None), expected, atol=1e-12)


@pytest.mark.parametrize(("device", "name"), [("lattice72", "ghz5"), ("lattice12", "wide8")])
def test_density_counts_overlap_engine_trajectories(device: str, name: str) -> None:
    shots = 4_000
    _, _, compiled, noise = _compiled(device, name)
    exact = density.probabilities(compiled.circuit, noise)
    width = compiled.circuit.num_clbits
    table = {format(i, f"0{width}b"): float(p) for i, p in enumerate(exact) if p > 0}
    for counts in (
        sim.sample(compiled.circuit, shots, seed=5, noise=noise),
        density.run(compiled.circuit, noise, shots, seed=5).counts,
    ):
        keys = set(table) | set(counts)
        tvd = 0.5 * sum(abs(counts.get(k, 0) / shots - table.get(k, 0.0)) for k in keys)
        assert tvd < tvd_bound(table, shots)


@pytest.mark.slow
def test_density_ten_qubits_matches_aer_and_trajectories() -> None:
    spec, snapshot = _snapshot("lattice72", 9)
    circuit = efficient_su2(10, reps=2, entanglement="linear")
    circuit = circuit.assign_parameters(np.linspace(0.1, 2.0, circuit.num_parameters))
    circuit.measure_all()
    compiled = transpile_for_device(circuit, spec, snapshot, seed=9)
    noise = noise_model_for(compiled, spec, snapshot)
    ours = density.probabilities(compiled.circuit, noise)
    np.testing.assert_allclose(ours, _aer_chip(spec, snapshot, compiled), atol=EXACT)
    shots = 20_000
    counts = sim.sample(compiled.circuit, shots, seed=2, noise=noise)
    table = {format(i, "010b"): float(p) for i, p in enumerate(ours) if p > 0}
    keys = set(table) | set(counts)
    tvd = 0.5 * sum(abs(counts.get(k, 0) / shots - table.get(k, 0.0)) for k in keys)
    assert tvd < tvd_bound(table, shots)


def test_density_run_counts_format_and_seed() -> None:
    qc = QuantumCircuit(3, 5)
    qc.x(0)
    qc.h(2)
    qc.measure(0, 4)
    qc.measure(2, 1)
    qc.measure(2, 2)  # one qubit into two clbits: always equal without readout error
    qc.measure(1, 3)
    qc.measure(0, 3)  # clbit 3 written twice: keeps qubit 0's outcome
    first = density.run(qc, None, 1000, seed=7)
    assert first == density.run(qc, None, 1000, seed=7)
    assert first.method == DENSITY_MATRIX
    assert first.approximations == ()
    assert first.figures["num_qubits"] == 3
    assert set(first.counts) == {"11000", "11110"}
    assert sum(first.counts.values()) == 1000
    probs = density.probabilities(qc, None)
    assert probs[0b11000] == pytest.approx(0.5) and probs[0b11110] == pytest.approx(0.5)
    assert density.run(qc, None, 1000, seed=8).counts != first.counts


def test_density_readout_confusion_per_bit() -> None:
    qc = QuantumCircuit(2, 2)
    qc.x(1)
    qc.measure([0, 1], [0, 1])
    noise = NoiseModel(readout={0: ReadoutError(0.1, 0.0), 1: ReadoutError(0.0, 0.25)})
    probs = density.probabilities(qc, noise)
    np.testing.assert_allclose(probs, [0.25 * 0.9, 0.25 * 0.1, 0.75 * 0.9, 0.75 * 0.1], atol=1e-15)


def test_density_why_not_reasons() -> None:
    mid = QuantumCircuit(2, 2)
    mid.h(0)
    mid.measure(0, 0)
    mid.cx(0, 1)
    mid.measure(1, 1)
    assert "qubit 0 is measured and then acted on by a gate" in density.why_not(mid, None)
    with pytest.raises(MethodUnsupported, match="only terminal measurements"):
        density.run(mid, None, 10)
    assert density.why_not(QuantumCircuit(13), None) == "the circuit has 13 qubits, more than 12"
    assert density.why_not(QuantumCircuit(13), None, max_qubits=13) is None
    conditional = QuantumCircuit(1, 1)
    conditional.measure(0, 0)
    with conditional.if_test((conditional.clbits[0], 1)):
        conditional.x(0)
    assert "if_else" in density.why_not(conditional, None)
    theta = Parameter("theta")
    unbound = QuantumCircuit(1)
    unbound.rx(theta, 0)
    assert density.why_not(unbound, None) == "the circuit has unbound parameters (theta)"
    reset_later = QuantumCircuit(1, 1)
    reset_later.measure(0, 0)
    reset_later.reset(0)
    assert "measured and then acted on by reset" in density.why_not(reset_later, None)
    twice = QuantumCircuit(1, 2)
    twice.x(0)
    twice.measure(0, 0)
    twice.delay(1000, 0, unit="ns")
    twice.measure(0, 1)
    relaxing = NoiseModel(relaxation={0: (1.0, 1.0)})
    assert "measured again after noise" in density.why_not(twice, relaxing)
    assert density.why_not(twice, None) is None


def test_density_allows_idling_after_measurement_and_resets_anywhere() -> None:
    _, _, compiled, noise = _compiled("lattice12", "reset")
    assert density.why_not(compiled.circuit, noise) is None
    qc = QuantumCircuit(2, 2)
    qc.x(0)
    qc.measure(0, 0)
    qc.delay(100, 0, unit="ns")
    qc.h(1)
    qc.measure(1, 1)
    noise = NoiseModel(relaxation={0: (10.0, 5.0)})
    assert density.why_not(qc, noise) is None
    np.testing.assert_allclose(density.probabilities(qc, noise), [0, 0.5, 0, 0.5], atol=1e-15)


def test_density_cost() -> None:
    _, _, compiled, noise = _compiled("lattice12", "ghz5")
    small = density.cost(compiled.circuit, noise, 1000)
    assert small.memory_bytes == 16 * 4**compiled.circuit.num_qubits
    assert 0 < small.seconds < 1.0
    big = density.cost(QuantumCircuit(12), None, 1000)
    assert big.memory_bytes == 16 * 4**12 and big.seconds > small.seconds
