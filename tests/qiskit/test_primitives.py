"""SamplerV2 and EstimatorV2 on openqpu backends, against Qiskit's reference primitives."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.circuit.library import efficient_su2
from qiskit.primitives import BitArray, StatevectorEstimator
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from openqpu.client import JobFailed
from openqpu.qiskit import EstimatorV2, OpenQPUProvider, SamplerV2

# An H2-like Hamiltonian on 2 qubits (Qiskit order: rightmost letter on qubit 0).
H2 = SparsePauliOp(["II", "ZI", "IZ", "ZZ", "XX"], [-1.05, 0.39, -0.39, -0.01, 0.18])


def rotated_bell() -> QuantumCircuit:
    theta = Parameter("theta")
    circuit = QuantumCircuit(2)
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def test_sampler_two_parameter_sets_on_statevector(provider: OpenQPUProvider) -> None:
    sampler = SamplerV2(provider.backend("statevector"), seed=1)
    job = sampler.run([(rotated_bell(), [[0.0], [np.pi]])], shots=300)
    result = job.result()
    meas = result[0].data.meas
    assert isinstance(meas, BitArray)
    assert meas.shape == (2,) and meas.num_shots == 300 and meas.num_bits == 2
    assert meas.get_counts(0) == {"00": 300}
    assert meas.get_counts(1) == {"11": 300}
    assert result[0].metadata["shots"] == 300
    assert len(job.remotes) == 1  # one server job for the PUB


def test_sampler_on_lattice12_dominant_outcome_per_parameter_set(
    provider: OpenQPUProvider,
) -> None:
    sampler = SamplerV2(provider.backend("lattice12"), seed=2)
    meas = sampler.run([(rotated_bell(), [[0.0], [np.pi]])], shots=500).result()[0].data.meas
    assert meas.shape == (2,)
    # Readout errors of 3-11% per qubit leave > 80% on the ideal outcome.
    assert meas.get_counts(0)["00"] > 0.8 * 500
    assert meas.get_counts(1)["11"] > 0.75 * 500


def test_sampler_registers_and_broadcast_shape(provider: OpenQPUProvider) -> None:
    a, b = Parameter("a"), Parameter("b")
    qr, low, high = QuantumRegister(3), ClassicalRegister(1, "low"), ClassicalRegister(2, "high")
    circuit = QuantumCircuit(qr, low, high)
    circuit.rx(a, 0)
    circuit.rx(b, 2)
    circuit.x(1)
    circuit.measure(0, low[0])
    circuit.measure([1, 2], high)
    # Shape (2, 3): a in {0, pi} down the rows, b in {0, pi, 0} across.
    values = np.array([[[x, y] for y in (0.0, np.pi, 0.0)] for x in (0.0, np.pi)])
    pubs = [(circuit, values, 50), (circuit, values[0, 1])]
    result = SamplerV2(provider.backend("statevector")).run(pubs, shots=20).result()
    first, second = result[0].data, result[1].data
    assert first.low.shape == first.high.shape == (2, 3)
    assert first.low.num_shots == 50 and second.low.num_shots == 20
    assert first.low.get_counts((1, 0)) == {"1": 50}
    assert first.high.get_counts((0, 1)) == {"11": 50}
    assert first.high.get_counts((1, 2)) == {"01": 50}
    assert second.high.get_counts() == {"11": 20}


def test_sampler_needs_a_classical_register(provider: OpenQPUProvider) -> None:
    circuit = QuantumCircuit(1, name="silent")
    circuit.h(0)
    with pytest.raises(ValueError, match="circuit silent has no classical register"):
        SamplerV2(provider.backend("statevector")).run([circuit])


def vqe_pub() -> tuple[QuantumCircuit, np.ndarray]:
    """The ansatz and, for one parameter-shift gradient step, the points to evaluate."""
    ansatz = efficient_su2(2, reps=1)
    theta = np.linspace(0.1, 1.4, ansatz.num_parameters)
    shifts = np.eye(ansatz.num_parameters) * np.pi / 2
    points = np.vstack([theta, theta + shifts, theta - shifts])
    return ansatz, points


def test_estimator_vqe_step_on_statevector_equals_statevector_estimator(
    provider: OpenQPUProvider,
) -> None:
    ansatz, points = vqe_pub()
    estimator = EstimatorV2(provider.backend("statevector"))
    job = estimator.run([(ansatz, H2, points)])
    data = job.result()[0].data
    reference = StatevectorEstimator().run([(ansatz, H2, points)]).result()[0].data.evs
    assert data.evs.shape == (len(points),)
    np.testing.assert_allclose(data.evs, reference, atol=1e-6)
    assert np.all(data.stds == 0)  # exact
    assert len(job.remotes) == 1
    # The step: gradient from the shifted points; the energy goes down.
    p = ansatz.num_parameters
    gradient = (data.evs[1 : 1 + p] - data.evs[1 + p :]) / 2
    step = points[0] - 0.5 * gradient
    after = estimator.run([(ansatz, H2, step)]).result()[0].data.evs
    assert after < data.evs[0] - 1e-3


def test_estimator_broadcasts_observables_against_parameter_sets(
    provider: OpenQPUProvider,
) -> None:
    ansatz, points = vqe_pub()
    # A projector too: 2 |0><0| x Z = Z x Z + I x Z, which StatevectorEstimator cannot take.
    observables = [[H2], [SparsePauliOp("ZZ")], [{"XI": 0.5, "0Z": 2.0}]]  # shape (3, 1)
    paulis = [[H2], [SparsePauliOp("ZZ")], [SparsePauliOp(["XI", "ZZ", "IZ"], [0.5, 1, 1])]]
    pub = (ansatz, observables, points[:4])  # (3, 1) x (4,) -> (3, 4)
    evs = EstimatorV2(provider.backend("statevector")).run([pub]).result()[0].data.evs
    reference = StatevectorEstimator().run([(ansatz, paulis, points[:4])]).result()[0].data.evs
    assert evs.shape == (3, 4)
    np.testing.assert_allclose(evs, reference, atol=1e-6)


def test_estimator_on_lattice12_within_noise(provider: OpenQPUProvider) -> None:
    ansatz, points = vqe_pub()
    estimator = EstimatorV2(provider.backend("lattice12"), seed=3)
    result = estimator.run([(ansatz, H2, points[:3])], precision=0.02).result()[0]
    reference = StatevectorEstimator().run([(ansatz, H2, points[:3])]).result()[0].data.evs
    # Shot noise (~0.01) plus gate and readout errors on 1-2 CZ; the bound is the task's.
    np.testing.assert_allclose(result.data.evs, reference, atol=0.15)
    assert result.metadata["shots"] == 2500
    assert np.all((result.data.stds > 0) & (result.data.stds < 0.05))


def test_estimator_with_a_circuit_transpiled_for_lattice12(provider: OpenQPUProvider) -> None:
    backend = provider.backend("lattice12")
    ansatz, points = vqe_pub()
    isa = generate_preset_pass_manager(optimization_level=1, backend=backend, seed_transpiler=4)
    circuit = isa.run(ansatz)
    observable = H2.apply_layout(circuit.layout)
    evs = EstimatorV2(backend, seed=5).run([(circuit, observable, points[0])]).result()[0].data.evs
    reference = StatevectorEstimator().run([(ansatz, H2, points[0])]).result()[0].data.evs
    assert circuit.num_qubits == 12
    assert abs(evs - reference) < 0.15


def test_estimator_identity_only_needs_no_job(provider: OpenQPUProvider) -> None:
    ansatz, points = vqe_pub()
    job = EstimatorV2(provider.backend("lattice12")).run([(ansatz, {"II": -1.05}, points[0])])
    assert job.remotes == []
    assert job.result()[0].data.evs == pytest.approx(-1.05)


def test_primitive_job_cancel_while_queued(idle_provider: OpenQPUProvider) -> None:

    job = SamplerV2(idle_provider.backend("statevector")).run(
        [rotated_bell().assign_parameters([1.0])]
    )
    assert job.status() is JobStatus.QUEUED and not job.in_final_state()
    assert job.cancel() is True
    assert job.cancelled() and job.in_final_state()
    with pytest.raises(JobFailed, match="was cancelled"):
        job.result(timeout=5)


def test_primitives_pass_the_method_and_report_it_per_parameter_set(
    provider: OpenQPUProvider,
) -> None:
    backend = provider.backend("lattice12")
    sampler = SamplerV2(backend, seed=2, method="statevector")
    sampled = sampler.run([(rotated_bell(), [[0.0], [np.pi]])], shots=100).result()[0]
    assert [s["method"] for s in sampled.metadata["simulation"]] == ["statevector"] * 2
    ansatz, points = vqe_pub()
    estimator = EstimatorV2(backend, seed=3, method="density_matrix")
    estimated = estimator.run([(ansatz, H2, points[0])], precision=0.1).result()[0]
    simulation = estimated.metadata["simulation"]
    assert [s["method"] for s in simulation] == ["density_matrix"]
    assert simulation[0]["approximations"] == []
    exact = SamplerV2(provider.backend("statevector")).run([(rotated_bell(), [0.0])], shots=10)
    assert "simulation" not in exact.result()[0].metadata  # ideal: nothing to say


def test_estimator_options_shaped_like_qiskit_runtime_reach_the_server(
    provider: OpenQPUProvider,
) -> None:
    import dataclasses

    from openqpu.qiskit import EstimatorOptions

    @dataclasses.dataclass
    class Twirling:  # another library's options object, set by attributes
        num_randomizations: int | None = 4
        enable_gates: bool | None = None

    @dataclasses.dataclass
    class Foreign:
        resilience_level: int = 2
        twirling: Twirling = dataclasses.field(default_factory=Twirling)
        default_shots: int = 20_000
        seed_estimator: int = 3

    estimator = EstimatorV2(provider.backend("lattice12"), seed=5, options=Foreign())
    assert estimator.options.twirling.num_randomizations == 4
    estimator.options.resilience.zne.extrapolator = "linear"
    with pytest.raises(AttributeError, match=r"twirling\.enable_gate: no such option"):
        estimator.options.twirling.enable_gate = True
    with pytest.raises(ValueError, match=r"resilience\.pec_mitigation: no such option"):
        EstimatorV2(provider.backend("lattice12"), options={"resilience": {"pec_mitigation": 1}})
    circuit = rotated_bell().remove_final_measurements(inplace=False)
    pub = (circuit, [H2, SparsePauliOp("ZZ")], [[0.4]])
    result = estimator.run([pub]).result()[0]
    assert result.metadata["shots"] == 20_000
    resilience = result.metadata["resilience"]
    assert resilience["options"]["resilience_level"] == 2
    assert resilience["options"]["twirling"]["num_randomizations"] == 4
    assert resilience["zne"]["extrapolator"] == ["linear"]
    assert result.data.evs_noise_factors.shape == (2, 3)
    # Standard errors from the server: larger than the unmitigated binomial ones.
    assert np.all(result.data.stds > 1 / np.sqrt(20_000) * 0.1)
    exact = StatevectorEstimator().run([pub]).result()[0].data.evs
    plain = EstimatorV2(provider.backend("lattice12"), seed=5, default_precision=1 / 141)
    raw = plain.run([pub]).result()[0].data.evs
    assert abs(result.data.evs[0] - exact[0]) < abs(raw[0] - exact[0])
    assert EstimatorOptions(resilience_level=1).to_dict() == {"resilience_level": 1}
