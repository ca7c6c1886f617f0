"""Faults beyond test_reliability's: a job that kills its worker every time, the run-time
limit striking inside a batch of jobs, and SQLite killed while submits are in flight.

The long campaign (random faults for many rounds, PostgreSQL restarts) is
``bench/chaos.py``; these tests each take seconds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from qiskit import QuantumCircuit, qasm2
from sqlalchemy import text

from openqpu.service.store import queue
from openqpu.service.store.database import Database
from tests.service.conftest import (
    BELL,
    FAST_LEASES,
    Server,
    new_user,
    slow_circuit,
    start_server,
    wait_done,
)

NO_LIMITS = {
    "OPENQPU_RATE_LIMIT_PER_SECOND": "0",
    "OPENQPU_MAX_QUEUED_JOBS_PER_USER": "1000000",
}


def _job_row(db: Database, job_id: str) -> dict:  # type: ignore[type-arg]
    with db.connect() as conn:
        row = conn.execute(
            text("SELECT status, attempts, worker_id, error FROM jobs WHERE id = :id"),
            {"id": job_id},
        ).mappings().first()  # fmt: skip
    assert row is not None, f"job {job_id} is not in the database"
    return dict(row)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found |= {int(word) for word in path.read_text().split()}
        except OSError:
            continue
    return found


def _submit(client: httpx.Client, circuit: str, **options: object) -> str:
    response = client.post(
        "/api/v1/jobs", json={"device": "statevector", "circuits": [circuit], **options}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.slow
def test_faults_poison_job_fails_after_max_attempts_and_others_complete(
    database_url: str, tmp_path: Path
) -> None:
    # Every time the poison job starts, the test kills the worker that runs it, as a
    # segfault in the engine would: its lease runs out, and the second loss fails it.
    env = {**FAST_LEASES, "OPENQPU_LEASE_SECONDS": "1", "OPENQPU_MAX_ATTEMPTS": "2"}
    server = start_server(database_url, tmp_path / "server.log", workers=2, extra_env=env)
    db = Database(database_url)
    try:
        with server.client() as client:
            poison = _submit(client, slow_circuit(), shots=10)  # 20 qubits: claimed alone
            others = [_submit(client, BELL, seed=n) for n in range(4)]
            killed: list[int] = []
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                row = _job_row(db, poison)
                if row["status"] not in ("queued", "running"):
                    break
                if row["status"] == "running" and row["attempts"] > len(killed):
                    pid = int(row["worker_id"].rsplit("-", 2)[1])
                    assert pid in _children(server.process.pid), "not one of our workers"
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.02)
            job = wait_done(client, poison, timeout=30)
            assert job["status"] == "failed", job
            assert job["error"] == (
                "the job stopped its worker 2 times (limit 2 attempts); it is not retried"
            )
            assert job["attempts"] == 2 and len(killed) == 2
            statuses = [event["status"] for event in job["events"]]
            assert statuses == ["queued", "running", "queued", "running", "failed"]
            for job_id in others:
                other = wait_done(client, job_id, timeout=60)
                assert other["status"] == "done", other
                assert other["attempts"] == 1  # never claimed together with the poison job
            # A reaper pass (run here rather than waited for) leaves the failed job failed.
            queue.reap_expired(db, max_attempts=2)
            assert _job_row(db, poison)["status"] == "failed"
            assert client.get(f"/api/v1/jobs/{poison}/result").status_code == 409
    finally:
        db.dispose()
        server.stop()


def dynamic_circuit(num_qubits: int = 12, layers: int = 20) -> str:
    """A small (12-qubit) circuit with mid-circuit measurements: simulated shot by shot,
    so that 2,000 shots take seconds."""
    circuit = QuantumCircuit(num_qubits, num_qubits)
    for layer in range(layers):
        for q in range(num_qubits):
            circuit.ry(0.3 + 0.01 * (layer + q), q)
        for q in range(num_qubits - 1):
            circuit.cx(q, q + 1)
        circuit.measure(layer % num_qubits, layer % num_qubits)
    circuit.measure(range(num_qubits), range(num_qubits))
    return qasm2.dumps(circuit)


@pytest.mark.slow
def test_faults_run_time_limit_inside_a_batch_keeps_the_batch_jobs(
    database_url: str, tmp_path: Path
) -> None:
    # Five small jobs wait before a worker starts, so its first claim takes them all as
    # one batch; the third runs past the limit. The two before it are stored (not run
    # again), the slow one fails naming the limit and is not retried, and the two after
    # it, never started, are given back to the queue at once, their attempt uncharged.
    server = start_server(database_url, tmp_path / "api.log", workers=0)
    env = {**os.environ, **FAST_LEASES, "OPENQPU_MAX_RUN_SECONDS": "1"}
    try:
        with server.client() as client:
            first = [_submit(client, BELL, seed=n) for n in range(2)]
            slow = _submit(client, dynamic_circuit(), shots=100_000)  # far past the 1 s limit
            after = [_submit(client, BELL, seed=10 + n, shots=1000) for n in range(2)]
            with (tmp_path / "worker.log").open("w") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "openqpu.cli", "worker", "--db", database_url],
                    stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                )  # fmt: skip
            try:
                failed = wait_done(client, slow, timeout=120)
                assert failed["status"] == "failed", failed
                assert failed["error"] == (
                    "run time limit exceeded: the job ran longer than 1 s (max_run_seconds)"
                )
                assert [e["status"] for e in failed["events"]] == ["queued", "running", "failed"]
                assert failed["attempts"] == 1
                batch_worker = failed["events"][1]["detail"]
                for job_id in first:
                    job = wait_done(client, job_id, timeout=60)
                    assert job["status"] == "done" and job["attempts"] == 1, job
                    assert job["events"][1]["detail"] == batch_worker
                for job_id in after:
                    job = wait_done(client, job_id, timeout=120)
                    assert job["status"] == "done", job
                    assert [e["status"] for e in job["events"]] == [
                        "queued", "running", "queued", "running", "done",
                    ]  # fmt: skip
                    assert job["events"][1]["detail"] == batch_worker
                    assert job["events"][2]["detail"] == "returned unstarted: its worker stopped"
                    assert job["attempts"] == 1
                    result = client.get(f"/api/v1/jobs/{job_id}/result").json()
                    assert sum(result["results"][0]["counts"].values()) == 1000
            finally:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
    finally:
        server.stop()


def _submit_until_killed(
    server: Server, key: str, acknowledged: list[str], stop: threading.Event
) -> None:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as client:
        while not stop.is_set():
            body = {
                "device": "statevector",
                "circuits": [BELL],
                "shots": 100,
                "idempotency_key": uuid.uuid4().hex,
            }
            try:
                response = client.post("/api/v1/jobs", json=body)
            except httpx.HTTPError:
                return  # the server is gone
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])


@pytest.mark.slow
def test_faults_sqlite_kill_during_submits_loses_no_acknowledged_job(tmp_path: Path) -> None:
    # kill -9 of the whole server (API and worker) while eight clients submit, at a
    # random moment, three times. A kill keeps the OS page cache, so this checks that a
    # 201 comes only after the commit, not the disk's own flush (synchronous=FULL).
    url = f"sqlite:///{tmp_path / 'openqpu.db'}"
    env = {**FAST_LEASES, **NO_LIMITS}
    moments = random.Random(7)
    acknowledged: list[str] = []
    key = ""
    for kill in range(3):
        server = start_server(url, tmp_path / f"server-{kill}.log", extra_env=env)
        key = key or new_user(server)
        stop = threading.Event()
        threads = [
            threading.Thread(target=_submit_until_killed, args=(server, key, acknowledged, stop))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        before = len(acknowledged)
        deadline = time.monotonic() + 60
        while len(acknowledged) == before and time.monotonic() < deadline:
            time.sleep(0.01)  # the kill comes once a submit was answered, at a random moment
        time.sleep(moments.uniform(0.0, 1.0))
        server.stop(signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert len(acknowledged) > before, "no submit was answered before the kill"
    final = start_server(url, tmp_path / "final.log", extra_env=env)
    db = Database(url)
    try:
        with db.connect() as conn:
            stored = {row[0] for row in conn.execute(text("SELECT id FROM jobs"))}
        missing = set(acknowledged) - stored
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged jobs lost"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.connect() as conn:
                statuses = dict(conn.execute(text("SELECT id, status FROM jobs")).all())
            if all(statuses[job_id] == "done" for job_id in acknowledged):
                break
            time.sleep(0.2)
        not_done = {j: statuses[j] for j in acknowledged if statuses[j] != "done"}
        assert not not_done, f"acknowledged jobs not done: {list(not_done.items())[:5]}"
        with db.connect() as conn:
            results = conn.execute(text("SELECT count(*) FROM results")).scalar()
        assert results == sum(1 for status in statuses.values() if status == "done")
    finally:
        db.dispose()
        final.stop()


@pytest.fixture(autouse=True)
def _linux_only() -> None:
    if not Path("/proc/self/task").is_dir():
        pytest.skip("reads worker processes from /proc")
