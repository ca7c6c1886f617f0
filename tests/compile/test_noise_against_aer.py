"""Circuits compiled for a chip, simulated with the chip's noise, against qiskit-aer.

The aer model is written here from the calibration snapshot alone (aer's own
``depolarizing_error``, ``thermal_relaxation_error`` and ``ReadoutError``), so
the test checks the whole path: compilation, schedule (delays in ``dt``), the
device's noise model and the engine's trajectories.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import QFTGate, efficient_su2

from openqpu import sim
from openqpu.compile import compile_for_device, noise_model_for
from openqpu.device import generate_snapshot, load_device_specs

aer = pytest.importorskip("qiskit_aer")
aer_noise = pytest.importorskip("qiskit_aer.noise")

SHOTS = 4_000


def _circuits() -> list[QuantumCircuit]:
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    ghz = QuantumCircuit(5)
    ghz.h(0)
    for q in range(4):
        ghz.cx(q, q + 1)
    qft = QuantumCircuit(4)
    qft.x([0, 2])
    qft.append(QFTGate(4), range(4))
    ansatz = efficient_su2(3, reps=1)
    ansatz = ansatz.assign_parameters(np.linspace(0.1, 2.0, ansatz.num_parameters))
    wide = QuantumCircuit(8)
    wide.h(range(8))
    for q in range(0, 7, 2):
        wide.cz(q, q + 1)
    wide.rx(0.7, range(8))
    return [bell, ghz, qft, ansatz, wide]


def _aer_model(compiled, spec, snapshot):
    """aer's NoiseModel for the compacted circuit, from the snapshot's figures."""
    chip = compiled.physical_qubits
    model = aer_noise.NoiseModel()

    def thermal(q: int, ns: float):
        return aer_noise.thermal_relaxation_error(
            snapshot.t1_us[chip[q]], snapshot.t2_us[chip[q]], ns / 1e3
        )

    for q in range(len(chip)):
        p = 2 * snapshot.gate_error_1q[chip[q]]  # depolarising parameter of a 1q error
        one = aer_noise.depolarizing_error(p, 1).compose(
            thermal(q, snapshot.gate_duration_1q_ns[chip[q]])
        )
        model.add_quantum_error(one, ["sx", "x"], [q])
        e10, e01 = snapshot.readout_error_0to1[chip[q]], snapshot.readout_error_1to0[chip[q]]
        model.add_readout_error(aer_noise.ReadoutError([[1 - e10, e10], [e01, 1 - e01]]), [q])
    for k, (a, b) in enumerate(snapshot.couplers):
        if a in chip and b in chip:
            qa, qb = chip.index(a), chip.index(b)
            ns = snapshot.cz_duration_ns[k]
            depol = aer_noise.depolarizing_error(4 / 3 * snapshot.cz_error[k], 2)
            for first, second in ((qa, qb), (qb, qa)):
                error = depol.compose(thermal(second, ns).tensor(thermal(first, ns)))
                model.add_quantum_error(error, "cz", [first, second])
    return model, thermal


def _with_explicit_idling(circuit: QuantumCircuit, thermal, dt_ns: float) -> QuantumCircuit:
    """Each delay replaced by aer's thermal relaxation for its duration."""
    out = circuit.copy_empty_like()
    for item in circuit.data:
        if item.operation.name == "delay":
            q = circuit.find_bit(item.qubits[0]).index
            duration = float(item.operation.duration)
            ns = duration * dt_ns if item.operation.unit == "dt" else duration * 1e9
            out.append(thermal(q, ns).to_instruction(), item.qubits)
        else:
            out.append(item)
    return out


def _tvd_bound(exact: dict[str, float], shots: int) -> float:
    p = np.array(list(exact.values()))
    sigma2 = p * (1 - p) / shots
    mean = 0.5 * np.sum(np.sqrt(2 * sigma2 / math.pi))
    return float(mean + 5 * 0.5 * np.sqrt(np.sum((1 - 2 / math.pi) * sigma2))) + 1e-3


@pytest.mark.parametrize("device", ["lattice12", "lattice72"])
@pytest.mark.parametrize("case", range(5))
def test_device_noise_matches_aer_density_matrix(device: str, case: int) -> None:
    spec = load_device_specs()[device]
    snapshot = generate_snapshot(spec, seed=40 + case, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    circuit = _circuits()[case]
    circuit.measure_all()
    compiled = compile_for_device(circuit, spec, snapshot, seed=case)
    counts = sim.sample(
        compiled.circuit, SHOTS, seed=case, noise=noise_model_for(compiled, spec, snapshot)
    )
    model, thermal = _aer_model(compiled, spec, snapshot)
    reference = _with_explicit_idling(compiled.circuit, thermal, spec.dt_ns)
    exact = _exact(reference, model)
    keys = set(exact) | set(counts)
    distance = 0.5 * sum(abs(counts.get(k, 0) / SHOTS - exact.get(k, 0.0)) for k in keys)
    assert distance < _tvd_bound(exact, SHOTS), (distance, _tvd_bound(exact, SHOTS))


def _exact(circuit: QuantumCircuit, model) -> dict[str, float]:
    """aer's density-matrix distribution over the classical bits (readout error included).

    The density-matrix method samples shots from the exact final state, so a large
    number of shots stands in for the exact distribution.
    """
    backend = aer.AerSimulator(method="density_matrix", noise_model=model, seed_simulator=11)
    shots = 400_000
    counts = backend.run(circuit, shots=shots).result().get_counts()
    return {key.replace(" ", ""): count / shots for key, count in counts.items()}
