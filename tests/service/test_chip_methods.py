"""Chip jobs at full width through the REST API: the method chosen per circuit, the
estimate at submit (refusals and dry runs), and what results say about the method."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from qiskit import QuantumCircuit, qasm2

from tests.service.conftest import FAST_LEASES, Server, new_user, start_server, wait_done

# A run-time limit that a 10,000-shot statevector run of 18 noisy qubits cannot meet.
MAX_RUN_SECONDS = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server on SQLite (the method logic does not depend on the database)."""
    folder = tmp_path_factory.mktemp("methods")
    env = {**FAST_LEASES, "OPENQPU_MAX_RUN_SECONDS": str(MAX_RUN_SECONDS)}
    running = start_server(f"sqlite:///{folder / 'openqpu.db'}", folder / "log", extra_env=env)
    try:
        yield running
    finally:
        running.stop()


def _ghz(num_qubits: int) -> str:
    circuit = QuantumCircuit(num_qubits, num_qubits)
    circuit.h(0)
    for q in range(num_qubits - 1):
        circuit.cx(q, q + 1)
    circuit.measure(range(num_qubits), range(num_qubits))
    return qasm2.dumps(circuit)


def _rotations(num_qubits: int) -> str:
    """A non-Clifford circuit: a ring of CX with T-like rotations."""
    circuit = QuantumCircuit(num_qubits)
    circuit.h(range(num_qubits))
    for q in range(num_qubits):
        circuit.rz(0.1 + 0.2 * q, q)
        circuit.cx(q, (q + 1) % num_qubits)
    circuit.measure_all()
    return qasm2.dumps(circuit)


def test_chip_wide_ghz_runs_on_the_stabilizer_method_with_the_parity_it_should(
    server: Server,
) -> None:
    with server.client(new_user(server)) as client:
        created = client.post(
            "/api/v1/jobs",
            json={"device": "lattice72", "circuits": [_ghz(40)], "shots": 1000, "seed": 3},
        )
        assert created.status_code == 201, created.text
        assert wait_done(client, created.json()["id"], timeout=120)["status"] == "done"
        entry = client.get(f"/api/v1/jobs/{created.json()['id']}/result").json()["results"][0]
    assert entry["method"] == "stabilizer"
    assert any("Pauli twirl" in sentence for sentence in entry["approximations"])
    assert entry["method_figures"]["twirled_channels"] > 0
    assert sum(entry["counts"].values()) == 1000
    # A noisy GHZ state along a chain: an error flips the rest of the chain, so a shot
    # shows few domain walls (neighbours that disagree); a mixed product state shows
    # about half of its 39 pairs disagreeing (readout errors alone give ~4 walls).
    walls = sum(
        count * sum(key[i] != key[i + 1] for i in range(len(key) - 1))
        for key, count in entry["counts"].items()
    )
    assert walls / 1000 < 13, walls / 1000


def test_chip_small_circuit_runs_exactly_on_the_density_matrix(server: Server) -> None:
    with server.client(new_user(server)) as client:
        created = client.post(
            "/api/v1/jobs", json={"device": "lattice12", "circuits": [_rotations(4)], "shots": 500}
        )
        assert created.status_code == 201, created.text
        assert wait_done(client, created.json()["id"])["status"] == "done"
        entry = client.get(f"/api/v1/jobs/{created.json()['id']}/result").json()["results"][0]
    assert entry["method"] == "density_matrix"
    assert entry["approximations"] == []


def test_chip_dry_run_estimates_without_queueing(server: Server) -> None:
    with server.client(new_user(server)) as client:
        body = {"device": "lattice72", "circuits": [_ghz(40), _rotations(5)], "shots": 1000}
        answer = client.post("/api/v1/jobs", json={**body, "dry_run": True})
        assert answer.status_code == 200, answer.text
        assert client.get("/api/v1/jobs").json()["count"] == 0
    estimate = answer.json()
    assert estimate["dry_run"] is True and estimate["queue_position"] == 0
    wide, small = estimate["circuits"]
    assert wide["method"] == "stabilizer" and small["method"] == "density_matrix"
    assert len(wide["physical_qubits"]) == 40 and wide["num_two_qubit_gates"] >= 39
    assert 0 < wide["estimated_success_probability"] < small["estimated_success_probability"]
    assert estimate["estimated_seconds"] == pytest.approx(
        wide["estimated_seconds"] + small["estimated_seconds"], abs=0.01
    )
    assert estimate["eta_seconds"] >= estimate["estimated_seconds"]


def test_chip_job_over_the_run_time_limit_is_refused_at_submit(server: Server) -> None:
    body = {"device": "lattice72", "circuits": [_rotations(18)], "shots": 10_000}
    with server.client(new_user(server)) as client:
        refused = client.post("/api/v1/jobs", json={**body, "method": "statevector"})
        assert client.get("/api/v1/jobs").json()["count"] == 0
    assert refused.status_code == 400, refused.text
    detail = refused.json()["detail"]
    assert "circuits[0]" in detail and "method statevector" in detail
    assert f"run-time limit of {MAX_RUN_SECONDS} s" in detail and "fewer shots" in detail


@pytest.mark.parametrize(
    ("device", "source", "method", "reason"),
    [
        ("lattice72", _rotations(6), "stabilizer", "not a multiple of pi/2"),
        ("lattice72", _ghz(20), "density_matrix", "more than 12"),
        ("statevector", _ghz(3), "mps", "ideal simulator"),
    ],
)
def test_chip_forced_method_that_cannot_run_is_refused_naming_why(
    server: Server, device: str, source: str, method: str, reason: str
) -> None:
    body = {"device": device, "circuits": [source], "shots": 100, "method": method}
    with server.client(new_user(server)) as client:
        refused = client.post("/api/v1/jobs", json=body)
    assert refused.status_code == 400, refused.text
    assert "method" in refused.json()["detail"] and reason in refused.json()["detail"]


def test_chip_method_refusal_crosses_the_sandbox_intact() -> None:
    """Estimates run in sandbox processes: the refusal is rebuilt with its fields."""
    import pickle

    from openqpu.sim.methods.base import MethodUnsupported

    again = pickle.loads(pickle.dumps(MethodUnsupported("mps", "a reason")))
    assert (again.method, again.reason) == ("mps", "a reason")
    assert str(again) == "method 'mps' cannot run this circuit: a reason"


def test_chip_worker_takes_the_planned_method_only_under_the_same_calibration() -> None:
    """Admission stores the method it planned; a recalibration makes the worker choose."""
    from types import SimpleNamespace

    from openqpu.service.run.chip import _method_for

    chip: Any = SimpleNamespace(snapshot=SimpleNamespace(id="cal-1"))
    planned = {"calibration_id": "cal-1", "methods": ["stabilizer", "mps"]}
    payload = {"method": "auto", "planned": planned}
    assert _method_for(payload, 1, chip, "") == "mps"
    assert _method_for(payload, 1, chip, "XZ") == "auto"  # measured in another basis
    assert _method_for({**payload, "method": "statevector"}, 1, chip, "") == "statevector"
    chip.snapshot.id = "cal-2"
    assert _method_for(payload, 1, chip, "") == "auto"
