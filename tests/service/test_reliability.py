"""Crashes and restarts: no accepted job is lost, and results are stored once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.service.conftest import BELL, FAST_LEASES, slow_circuit, start_server, wait_done

pytestmark = pytest.mark.slow  # each test starts servers and waits for crashes: 10-20 s


def _wait_running(client, job_id: str, timeout: float = 60) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] == "running":
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never started")


def test_reliability_killed_worker_job_completes_once_elsewhere(
    database_url: str, tmp_path: Path
) -> None:
    server = start_server(database_url, tmp_path / "server.log", extra_env=FAST_LEASES)
    try:
        with server.client() as client:
            job_id = client.post(
                "/api/v1/jobs",
                json={"device": "statevector", "circuits": [slow_circuit()], "shots": 10},
            ).json()["id"]
            running = _wait_running(client, job_id)
            worker = running["events"][-1]["detail"]
            pid = int(worker.rsplit("-", 2)[1])
            os.kill(pid, signal.SIGKILL)
            job = wait_done(client, job_id, timeout=240)
            assert job["status"] == "done", job
            assert job["attempts"] == 2
            statuses = [e["status"] for e in job["events"]]
            assert statuses == ["queued", "running", "queued", "running", "done"]
            assert job["events"][2]["detail"] == "lease expired"
            assert job["events"][3]["detail"] != worker  # another worker finished it
            result = client.get(f"/api/v1/jobs/{job_id}/result")
            assert result.status_code == 200
            assert sum(result.json()["results"][0]["counts"].values()) == 10
    finally:
        server.stop()


def test_reliability_restart_with_queued_jobs_completes_them_all(
    database_url: str, tmp_path: Path
) -> None:
    idle = start_server(database_url, tmp_path / "idle.log", workers=0)
    with idle.client() as client:
        ids = [
            client.post(
                "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL], "seed": n}
            ).json()["id"]
            for n in range(6)
        ]
    admin_key = idle.admin_key
    idle.stop(signal.SIGKILL)
    restarted = start_server(database_url, tmp_path / "restarted.log", extra_env=FAST_LEASES)
    restarted.admin_key = admin_key
    try:
        with restarted.client() as client:
            for job_id in ids:
                assert wait_done(client, job_id)["status"] == "done"
    finally:
        restarted.stop()


def test_reliability_run_time_limit_fails_the_job_and_the_worker_recovers(
    database_url: str, tmp_path: Path
) -> None:
    env = {**FAST_LEASES, "OPENQPU_MAX_RUN_SECONDS": "0.5"}
    server = start_server(database_url, tmp_path / "server.log", extra_env=env)
    try:
        with server.client() as client:
            # 22 qubits: seconds of work on any machine, far past the 0.5 s limit (20
            # qubits finished inside it on a quiet machine).
            slow = client.post(
                "/api/v1/jobs", json={"device": "statevector", "circuits": [slow_circuit(22)]}
            ).json()["id"]
            failed = wait_done(client, slow, timeout=120)
            assert failed["status"] == "failed"
            assert "run time limit exceeded" in failed["error"]
            assert "0.5 s (max_run_seconds)" in failed["error"]
            quick = client.post(
                "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]}
            ).json()["id"]
            assert wait_done(client, quick, timeout=120)["status"] == "done"
    finally:
        server.stop()


def test_reliability_standalone_worker_process_runs_the_queue(
    database_url: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    server = start_server(database_url, tmp_path / "api.log", workers=0)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "openqpu.cli", "worker", "--db", database_url],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **FAST_LEASES},
        start_new_session=True,
    )
    try:
        with server.client() as client:
            job_id = client.post(
                "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]}
            ).json()["id"]
            assert wait_done(client, job_id, timeout=120)["status"] == "done"
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        server.stop()


def test_reliability_stopping_the_server_stops_its_workers(tmp_path: Path) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "s.log", workers=2)
    group = server.process.pid
    server.process.send_signal(signal.SIGTERM)  # only the server process, as systemd would
    assert server.process.wait(timeout=30) == 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(group, signal.SIGKILL)
    raise AssertionError("worker processes outlived the server")
