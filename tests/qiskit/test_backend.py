"""Textbook Qiskit programs on openqpu backends: only the line that picks the backend changes."""

from __future__ import annotations

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.providers import BackendV2, JobStatus
from qiskit.providers.exceptions import QiskitBackendNotFoundError
from qiskit_aer import AerSimulator

from openqpu.client import InvalidRequest, JobFailed
from openqpu.qiskit import OpenQPUBackend, OpenQPUProvider

CHIPS = ["lattice12", "lattice72"]
SHOTS = 1000


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure_all()
    return circuit


def grover(marked: str, iterations: int) -> QuantumCircuit:
    """Grover search over 3 qubits for ``marked`` (Qiskit order)."""
    n = len(marked)
    circuit = QuantumCircuit(n, n)
    circuit.h(range(n))
    for _ in range(iterations):
        # Oracle: phase flip on |marked>.
        zeros = [q for q in range(n) if marked[n - 1 - q] == "0"]
        circuit.x(zeros)
        circuit.h(n - 1)
        circuit.ccx(0, 1, n - 1)
        circuit.h(n - 1)
        circuit.x(zeros)
        # Diffuser.
        circuit.h(range(n))
        circuit.x(range(n))
        circuit.h(n - 1)
        circuit.ccx(0, 1, n - 1)
        circuit.h(n - 1)
        circuit.x(range(n))
        circuit.h(range(n))
    circuit.measure(range(n), range(n))
    return circuit


def bernstein_vazirani(secret: str) -> QuantumCircuit:
    n = len(secret)
    circuit = QuantumCircuit(n + 1, n)
    circuit.x(n)
    circuit.h(range(n + 1))
    for q, bit in enumerate(reversed(secret)):
        if bit == "1":
            circuit.cx(q, n)
    circuit.h(range(n))
    circuit.measure(range(n), range(n))
    return circuit


def dominant(counts: dict[str, int]) -> str:
    return max(counts, key=counts.__getitem__)


def test_provider_lists_the_devices_as_backends(provider: OpenQPUProvider) -> None:
    backends = provider.backends()
    assert [b.name for b in backends] == ["statevector", "lattice12", "lattice72"]
    assert all(isinstance(b, BackendV2) for b in backends)
    assert [b.name for b in provider.backends(simulator=False)] == CHIPS


def test_provider_unknown_backend_names_the_ones_there_are(provider: OpenQPUProvider) -> None:
    with pytest.raises(
        QiskitBackendNotFoundError,
        match=r"no backend 'lattice9000' on http://127\.0\.0\.1:\d+; it has: statevector, "
        "lattice12, lattice72",
    ):
        provider.backend("lattice9000")


def test_bell_on_statevector_only_00_and_11(provider: OpenQPUProvider) -> None:
    backend = provider.backend("statevector")
    counts = backend.run(transpile(bell(), backend), shots=SHOTS, seed_simulator=1).result()
    assert set(counts.get_counts()) == {"00", "11"}
    assert sum(counts.get_counts().values()) == SHOTS


@pytest.mark.parametrize("name", CHIPS)
def test_ghz_on_a_chip_mostly_all_zeros_or_all_ones(provider: OpenQPUProvider, name: str) -> None:
    backend = provider.backend(name)
    counts = backend.run(ghz(3), shots=SHOTS, seed_simulator=2).result().get_counts()
    # CZ errors of 1-5% and readout errors of 3-8% per qubit leave ~80% here.
    assert counts["000"] + counts["111"] > 0.7 * SHOTS
    assert len(counts) > 2  # noise shows


def test_counts_keys_spaced_by_register_as_aer_gives_them(provider: OpenQPUProvider) -> None:
    qr, a, b = QuantumRegister(3), ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    circuit = QuantumCircuit(qr, a, b, name="registers")
    circuit.x([0, 2])
    circuit.measure(0, a[0])
    circuit.measure([1, 2], b)
    job = provider.backend("statevector").run([circuit, ghz(2)], shots=10, seed_simulator=3)
    result = job.result()
    expected = AerSimulator().run([circuit, ghz(2)], shots=10).result()
    assert result.get_counts(circuit) == expected.get_counts(circuit) == {"10 1": 10}
    assert set(result.get_counts(1)) == set(expected.get_counts(1)) == {"00", "11"}


def test_grover_finds_the_marked_state_on_statevector(provider: OpenQPUProvider) -> None:
    backend = provider.backend("statevector")
    job = backend.run(transpile(grover("101", 2), backend), shots=SHOTS, seed_simulator=4)
    counts = job.result().get_counts()
    assert dominant(counts) == "101"
    assert counts["101"] > 0.9 * SHOTS  # sin^2(5 asin(1/sqrt 8)) = 94.5%


def test_grover_finds_the_marked_state_on_lattice12(provider: OpenQPUProvider) -> None:
    backend = provider.backend("lattice12")
    # One iteration (78% ideally, ~19 CZ once routed): two iterations' ~39 CZ and
    # 5.5 us on T2 of a few us leave the chip's output close to uniform.
    circuit = transpile(grover("101", 1), backend, seed_transpiler=7)
    job = backend.run(circuit, shots=SHOTS, seed_simulator=4)
    counts = job.result().get_counts()
    first, second = sorted(counts.values(), reverse=True)[:2]
    assert dominant(counts) == "101"
    # Seen from 235 against 169 to 240 against 129, with other layouts and seeds.
    assert first > 1.2 * second


def test_bernstein_vazirani_recovers_the_secret(provider: OpenQPUProvider) -> None:
    secret = "1011"
    exact = provider.backend("statevector").run(bernstein_vazirani(secret), shots=100)
    assert exact.result().get_counts() == {secret: 100}
    chip = provider.backend("lattice12")
    noisy = chip.run(bernstein_vazirani(secret), shots=SHOTS, seed_simulator=5).result()
    assert dominant(noisy.get_counts()) == secret


def test_transpile_for_lattice72_respects_couplers_and_avoids_disabled_qubits(
    provider: OpenQPUProvider,
) -> None:
    backend = provider.backend("lattice72")
    calibration = backend.calibration
    assert calibration is not None and calibration["disabled_qubits"]
    compiled = transpile(ghz(8), backend, seed_transpiler=7, optimization_level=2)
    assert compiled.num_qubits == 72
    assert set(compiled.count_ops()) <= {"rz", "sx", "x", "cz", "measure", "barrier"}
    couplers = {tuple(c) for c in backend.coupling_map.get_edges()}
    disabled_couplers = {tuple(sorted(c)) for c in calibration["disabled_couplers"]}
    used = set()
    for item in compiled.data:
        qubits = tuple(compiled.find_bit(q).index for q in item.qubits)
        if item.operation.name != "barrier":
            used.update(qubits)
        if item.operation.name == "cz":
            assert qubits in couplers
            assert tuple(sorted(qubits)) not in disabled_couplers
    assert len(used) == 8
    assert not used & set(calibration["disabled_qubits"])


def test_circuit_transpiled_for_lattice72_runs_on_the_qubits_it_chose(
    provider: OpenQPUProvider,
) -> None:
    backend = provider.backend("lattice72")
    compiled = transpile(ghz(3), backend, seed_transpiler=8)
    chosen = compiled.layout.initial_index_layout()[:3]
    result = backend.run(compiled, shots=SHOTS, seed_simulator=9).result()
    counts = result.get_counts()
    assert counts["000"] + counts["111"] > 0.7 * SHOTS
    # The server keeps a layout that already fits the chip (idle qubits are not counted).
    assert sorted(result.results[0].compiled["physical_qubits"]) == sorted(chosen)


def test_run_options_and_unbound_parameters_are_checked(provider: OpenQPUProvider) -> None:
    backend = provider.backend("statevector")
    with pytest.raises(ValueError, match=r"unknown run option\(s\) \['shotz'\]"):
        backend.run(bell(), shotz=10)
    from qiskit.circuit import Parameter

    circuit = QuantumCircuit(1, 1)
    circuit.rx(Parameter("theta"), 0)
    circuit.measure(0, 0)
    with pytest.raises(ValueError, match="unbound parameters theta"):
        backend.run(circuit)


def test_job_status_done_and_result_metadata(provider: OpenQPUProvider) -> None:
    backend = provider.backend("lattice12")
    job = backend.run(bell(), shots=100, seed_simulator=6)
    result = job.result(timeout=60)
    assert job.status() is JobStatus.DONE and job.done()
    assert result.job_id == job.job_id()
    assert result.results[0].calibration_id == backend.calibration["id"]
    assert isinstance(job.backend(), OpenQPUBackend)


def test_job_cancel_while_queued(idle_provider: OpenQPUProvider) -> None:
    job = idle_provider.backend("statevector").run(bell(), shots=10)
    assert job.status() is JobStatus.QUEUED
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED
    assert job.cancel() is False  # already final
    with pytest.raises(JobFailed, match="was cancelled"):
        job.result(timeout=5)


def test_method_option_reaches_the_server_and_comes_back_per_experiment(
    provider: OpenQPUProvider,
) -> None:
    backend = provider.backend("lattice12")
    assert backend.options.method is None  # the server's default, auto
    chosen = backend.run(bell(), shots=100, seed_simulator=6).result(timeout=60)
    assert chosen.results[0].method == "density_matrix"  # auto's pick for 2 qubits
    assert chosen.results[0].approximations == []
    backend.set_options(method="statevector")
    forced = backend.run(bell(), shots=100, seed_simulator=6).result(timeout=60)
    assert forced.results[0].method == "statevector"
    again = backend.run(bell(), shots=100, method="stabilizer").result(timeout=60)
    assert again.results[0].method == "stabilizer"  # a run option beats the backend's
    assert isinstance(again.results[0].method_figures, dict)
    with pytest.raises(InvalidRequest, match="ideal simulator") as refused:
        provider.backend("statevector").run(bell(), shots=10, method="mps")
    assert refused.value.field == "method"
