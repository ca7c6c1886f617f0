"""Circuits compiled for a chip, simulated with the chip's noise, against qiskit-aer.

The aer model is written here from the calibration snapshot alone (aer's own
``depolarizing_error``, ``thermal_relaxation_error`` and ``ReadoutError``), so
the test checks the whole path: compilation, schedule (delays in ``dt``), the
device's noise model and the engine's trajectories.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from qiskit import QuantumCircuit

from openqpu import sim
from openqpu.device import generate_snapshot, load_device_specs
from openqpu.transpile import noise_model_for, transpile_for_device
from tests.conftest import aer_chip_noise, small_chip_circuits, tvd_bound, with_explicit_idling

aer = pytest.importorskip("qiskit_aer")

SHOTS = 4_000


@pytest.mark.parametrize("device", ["lattice12", "lattice72"])
@pytest.mark.parametrize("case", range(5))
def test_device_noise_matches_aer_density_matrix(device: str, case: int) -> None:
    spec = load_device_specs()[device]
    snapshot = generate_snapshot(spec, seed=40 + case, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    circuit = list(small_chip_circuits().values())[case]
    circuit.measure_all()
    compiled = transpile_for_device(circuit, spec, snapshot, seed=case)
    counts = sim.sample(
        compiled.circuit, SHOTS, seed=case, noise=noise_model_for(compiled, spec, snapshot)
    )
    model, thermal = aer_chip_noise(compiled, spec, snapshot)
    reference = with_explicit_idling(compiled.circuit, thermal, spec.dt_ns)
    exact = _exact(reference, model)
    keys = set(exact) | set(counts)
    distance = 0.5 * sum(abs(counts.get(k, 0) / SHOTS - exact.get(k, 0.0)) for k in keys)
    assert distance < tvd_bound(exact, SHOTS), (distance, tvd_bound(exact, SHOTS))


def _exact(circuit: QuantumCircuit, model) -> dict[str, float]:
    """aer's density-matrix distribution over the classical bits (readout error included).

    The density-matrix method samples shots from the exact final state, so a large
    number of shots stands in for the exact distribution.
    """
    backend = aer.AerSimulator(method="density_matrix", noise_model=model, seed_simulator=11)
    shots = 400_000
    counts = backend.run(circuit, shots=shots).result().get_counts()
    return {key.replace(" ", ""): count / shots for key, count in counts.items()}
