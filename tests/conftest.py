"""Shared test helpers."""

from __future__ import annotations

import math

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector


def fidelity(state: np.ndarray, reference: np.ndarray) -> float:
    """|<reference|state>|^2 for normalised states."""
    return float(abs(np.vdot(reference, state)) ** 2)


def reference_state(circuit: QuantumCircuit) -> np.ndarray:
    """The exact statevector from qiskit.quantum_info (an independent implementation)."""
    return Statevector(circuit).data


def total_variation(counts: dict[str, int], probabilities: dict[str, float]) -> float:
    """Total variation distance between empirical counts and a distribution."""
    shots = sum(counts.values())
    keys = set(counts) | set(probabilities)
    return 0.5 * sum(abs(counts.get(k, 0) / shots - probabilities.get(k, 0.0)) for k in keys)


def aer_chip_noise(compiled, spec, snapshot, relaxation=None):
    """qiskit-aer's NoiseModel for a compiled (compacted) chip circuit, written from the
    calibration snapshot alone with aer's own channels, and the thermal-relaxation
    builder ``thermal(q, ns)`` it used (for delays, see ``with_explicit_idling``).

    ``relaxation(t1_us, t2_us, ns)`` replaces aer's ``thermal_relaxation_error`` (e.g. by
    its Pauli twirl) when given."""
    from qiskit_aer import noise as aer_noise

    chip = compiled.physical_qubits
    model = aer_noise.NoiseModel()

    def thermal(q: int, ns: float):
        t1, t2 = snapshot.t1_us[chip[q]], snapshot.t2_us[chip[q]]
        if relaxation is not None:
            return relaxation(t1, t2, ns)
        return aer_noise.thermal_relaxation_error(t1, t2, ns / 1e3)

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


def with_explicit_idling(circuit: QuantumCircuit, thermal, dt_ns: float) -> QuantumCircuit:
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


def tvd_bound(exact: dict[str, float], shots: int) -> float:
    """A bound that the total variation distance of ``shots`` samples from ``exact``
    stays under except with negligible probability (mean plus five deviations)."""
    p = np.array(list(exact.values()))
    sigma2 = p * (1 - p) / shots
    mean = 0.5 * np.sum(np.sqrt(2 * sigma2 / math.pi))
    return float(mean + 5 * 0.5 * np.sqrt(np.sum((1 - 2 / math.pi) * sigma2))) + 1e-3


def small_chip_circuits() -> dict[str, QuantumCircuit]:
    """Small circuits a chip runs, unmeasured: Bell, GHZ(5), QFT(4) of a basis state,
    an EfficientSU2 ansatz on 4 qubits and an 8-qubit layer of CZs and rotations."""
    from qiskit.circuit.library import QFTGate, efficient_su2

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
    ansatz = efficient_su2(4, reps=1)
    ansatz = ansatz.assign_parameters(np.linspace(0.1, 2.0, ansatz.num_parameters))
    wide = QuantumCircuit(8)
    wide.h(range(8))
    for q in range(0, 7, 2):
        wide.cz(q, q + 1)
    wide.rx(0.7, range(8))
    return {"bell": bell, "ghz5": ghz, "qft4": qft, "su2": ansatz, "wide8": wide}
