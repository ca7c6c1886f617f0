"""The emulated chips through the REST API: calibration, maintenance, noisy jobs.

Servers here recalibrate every few seconds so that maintenance windows and the
calibration history can be watched within a test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit

from tests.service.conftest import BELL, FAST_LEASES, Server, new_user, start_server, wait_done

PERIOD_S = 6.0
MAINTENANCE_S = 2.5
CHIP_ENV = {
    **FAST_LEASES,
    "OPENQPU_CALIBRATION_PERIOD_S": str(PERIOD_S),
    "OPENQPU_MAINTENANCE_S": str(MAINTENANCE_S),
}


@pytest.fixture(scope="module")
def chip_server(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server whose chips recalibrate every few seconds."""
    log = tmp_path_factory.mktemp("chip") / "server.log"
    running = start_server(module_database_url, log, extra_env=CHIP_ENV)
    try:
        yield running
    finally:
        running.stop()


def _when(client: httpx.Client, up: bool, deadline_s: float = 3 * PERIOD_S) -> dict[str, Any]:
    """Wait until lattice12 is up (or in maintenance); return the device document."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        device = client.get("/api/v1/devices/lattice12").json()
        if (device["status"] == "online") == up:
            return device
        time.sleep(0.1)
    raise AssertionError(f"lattice12 never became {'online' if up else 'maintenance'}")


def test_chips_are_listed_with_topology_calibration_and_calendar(chip_server: Server) -> None:
    with chip_server.client(new_user(chip_server)) as client:
        devices = {d["name"]: d for d in client.get("/api/v1/devices").json()}
        chip = devices["lattice72"]
        assert chip["num_qubits"] == 72 and not chip["simulator"]
        assert {"rz", "sx", "x", "cz", "measure"} <= set(chip["native_gates"])
        assert chip["topology"]["rows"] * chip["topology"]["cols"] == 72
        assert len(chip["topology"]["couplers"]) == 126
        summary = chip["calibration"]
        assert 10 <= summary["median_t1_us"] <= 30
        assert 0.95 <= summary["median_cz_fidelity"] <= 0.99
        assert summary["num_qubits_disabled"] >= 1
        window = chip["next_maintenance"]
        assert window["start"] < window["end"]
        assert devices["statevector"]["calibration"] is None
        assert client.get("/api/v1/devices/statevector/calibration").status_code == 404


def _passed_over_in_maintenance(
    client: httpx.Client,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Submit a lattice12 job in a maintenance window, then a statevector job, and wait
    for the later job: the worker has looked at the queue since the chip job came.

    Returns the calibration in force before the window and the chip job, which must
    still be queued, when the same window lasted until that was read; None when the
    window ended first (a slow machine), so that the caller tries the next one.
    """
    _when(client, up=True)
    first = client.get("/api/v1/devices/lattice12/calibration").json()
    down = _when(client, up=False)
    assert down["maintenance_until"] is not None
    # During maintenance the old snapshot is still the one in force.
    assert client.get("/api/v1/devices/lattice12/calibration").json()["id"] == first["id"]
    chip_job = client.post(
        "/api/v1/jobs", json={"device": "lattice12", "circuits": [BELL], "shots": 100}
    ).json()
    later = client.post("/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]})
    assert wait_done(client, later.json()["id"])["status"] == "done"
    status = client.get(f"/api/v1/jobs/{chip_job['id']}").json()["status"]
    still = client.get("/api/v1/devices/lattice12").json()
    if still["maintenance_until"] != down["maintenance_until"]:
        return None
    assert status == "queued", "a worker ran a chip job during the chip's maintenance"
    return first, chip_job


def test_calibration_history_and_maintenance(chip_server: Server) -> None:
    with chip_server.client(new_user(chip_server)) as client:
        for _ in range(4):
            passed = _passed_over_in_maintenance(client)
            if passed is not None:
                break
        else:
            pytest.fail("no maintenance window lasted for one statevector job")
        first, submitted = passed
        assert len(first["t1_us"]) == 12 and first["device"] == "lattice12"
        _when(client, up=True)
        second = client.get("/api/v1/devices/lattice12/calibration").json()
        assert second["id"] != first["id"]
        assert second["t1_us"] != first["t1_us"]  # drifted
        job = wait_done(client, submitted["id"])
        assert job["status"] == "done"
        result = client.get(f"/api/v1/jobs/{submitted['id']}/result").json()
        assert result["results"][0]["calibration_id"] == second["id"]
        # History: the snapshot in force at a time before the change is the first.
        taken = datetime.fromisoformat(second["taken_at"])
        before = (taken - timedelta(seconds=MAINTENANCE_S + 0.5)).isoformat()
        old = client.get("/api/v1/devices/lattice12/calibration", params={"at": before})
        assert old.status_code == 200 and old.json()["id"] == first["id"]
        timeline = client.get("/api/v1/devices/lattice12/calibrations").json()
        ids = [s["id"] for s in timeline]  # newest first; more may have come since
        newer = ids.index(second["id"])
        assert ids[newer + 1] == first["id"]
        assert timeline[newer]["median_t1_us"] != timeline[newer + 1]["median_t1_us"]
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        refused = client.get("/api/v1/devices/lattice12/calibration", params={"at": future})
        assert refused.status_code == 400 and "future" in refused.json()["detail"]


def test_bell_on_the_chip_is_noisy_and_records_how_it_ran(chip_server: Server) -> None:
    with chip_server.client(new_user(chip_server)) as client:
        _when(client, up=True)
        created = client.post(
            "/api/v1/jobs",
            json={
                "device": "lattice72",
                "circuits": [BELL],
                "shots": 4000,
                "seed": 7,
                "mitigation": "readout",
            },
        )
        assert created.status_code == 201, created.text
        assert wait_done(client, created.json()["id"])["status"] == "done"
        entry = client.get(f"/api/v1/jobs/{created.json()['id']}/result").json()["results"][0]
    counts = entry["counts"]
    assert sum(counts.values()) == 4000
    correlated = (counts.get("00", 0) + counts.get("11", 0)) / 4000
    assert 0.75 < correlated < 0.995  # noisy, but a Bell state
    compiled = entry["compiled"]
    assert compiled["num_two_qubit_gates"] >= 1
    assert "cz" in compiled["qasm3"] and "cx" not in compiled["qasm3"]
    assert len(compiled["initial_layout"]) == 2
    assert 0.5 < entry["estimated_success_probability"] < 1
    assert entry["calibration_id"].startswith("lattice72-")
    mitigated = entry["mitigated_probabilities"]
    assert sum(mitigated.values()) == pytest.approx(1)
    assert mitigated.get("00", 0) + mitigated.get("11", 0) > correlated


def _wide(num_qubits: int) -> str:
    return f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{num_qubits}];\nh q;\n'


def test_what_cannot_run_on_a_chip_is_refused_at_submit(chip_server: Server) -> None:
    with chip_server.client(new_user(chip_server)) as client:

        def submit(**fields: Any) -> httpx.Response:
            return client.post("/api/v1/jobs", json={"device": "lattice72", **fields})

        # lattice72 always has disabled qubits, so all 72 never form one block.
        blocked = submit(circuits=[_wide(72)])
        over = submit(circuits=[_wide(73)])
        level = submit(circuits=[BELL], optimization_level=5)
    assert blocked.status_code == 400
    assert "largest connected block of working qubits" in blocked.json()["detail"]
    assert over.status_code == 400 and "73 qubits" in over.json()["detail"]
    assert level.status_code == 422


def test_operator_device_file_adds_a_chip(module_database_url: str, tmp_path: Path) -> None:
    from importlib import resources

    source = resources.files("openqpu.device") / "data" / "lattice12.toml"
    text = source.read_text().replace('name = "lattice12"', 'name = "lab9"')
    assert 'name = "lab9"' in text
    (tmp_path / "lab9.toml").write_text(text)
    running = start_server(
        module_database_url,
        tmp_path / "server.log",
        extra_env={**CHIP_ENV, "OPENQPU_DEVICE_DIR": str(tmp_path)},
    )
    try:
        with running.client(new_user(running)) as client:
            names = [d["name"] for d in client.get("/api/v1/devices").json()]
            assert "lab9" in names and "lattice72" in names
    finally:
        running.stop()


BELL_UNMEASURED = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\n'


@pytest.mark.parametrize("mitigation", [None, "readout"])
def test_estimate_on_the_chip_measures_in_each_basis(
    chip_server: Server, mitigation: str | None
) -> None:
    observables = [{"ZZ": 1.0}, {"XX": 1.0}, {"YY": 1.0}, [["ZI", 0.5], ["II", 2.0]]]
    with chip_server.client(new_user(chip_server)) as client:
        _when(client, up=True)
        created = client.post(
            "/api/v1/jobs",
            json={
                "device": "lattice72",
                "circuits": [BELL_UNMEASURED],
                "kind": "estimate",
                "observables": observables,
                "shots": 4000,
                "seed": 3,
                "mitigation": mitigation,
            },
        )
        assert created.status_code == 201, created.text
        job = wait_done(client, created.json()["id"])
        assert job["status"] == "done", job
        entry = client.get(f"/api/v1/jobs/{job['id']}/result").json()["results"][0]
    zz, xx, yy, shifted = entry["expectation_values"]
    # The Bell state: <ZZ> = <XX> = 1, <YY> = -1, <Z0> = 0; noise shrinks them.
    assert 0.6 < zz <= 1.0 and 0.5 < xx <= 1.0 and -1.0 <= yy < -0.5
    assert shifted == pytest.approx(2.0, abs=0.1)
    assert entry["measurement_bases"] == 3  # ZZ and ZI share a basis
    if mitigation:
        assert zz > 0.9  # readout errors dominate ZZ's loss on a short circuit


@pytest.mark.parametrize("declared_clbits", [0, 2, 3])
def test_basis_bits_come_first_whatever_bits_the_circuit_declares(declared_clbits: int) -> None:
    """An estimator circuit often declares classical bits it never measures: the
    parities must still be read from the basis measurements (a Bell pair: XX = ZZ = 1,
    YY = -1, IZ = XI = 0)."""
    from openqpu import sim
    from openqpu.service.run.chip import measured_in_basis, parity_masks

    bell = QuantumCircuit(2, declared_clbits) if declared_clbits else QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    expected = {"XX": 1.0, "YY": -1.0, "ZZ": 1.0, "IZ": 0.0, "XI": 0.0}
    for basis, labels in (("XX", ["XX", "XI"]), ("YY", ["YY"]), ("ZZ", ["ZZ", "IZ"])):
        counts = sim.sample(measured_in_basis(bell, basis), 4000, seed=7)
        for label, mask in parity_masks(basis, labels).items():
            value = sum(
                n * (-1 if (int(key, 2) & mask).bit_count() % 2 else 1) for key, n in counts.items()
            )
            assert value / 4000 == pytest.approx(expected[label], abs=0.05), (basis, label)
