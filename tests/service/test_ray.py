"""Jobs fanned out over a Ray cluster: the same results as in-process, run by Ray workers.

The test starts its own single-node cluster (``ray start --head --num-cpus 2``) in its
own process group and ends that group afterwards; ``ray stop`` is not used, as it
stops every Ray process of the machine. Without the ``ray`` package (the ``scale``
extra), or where the cluster cannot start, the tests skip and say why.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import (
    BELL,
    FAST_LEASES,
    GHZ3,
    Server,
    free_port,
    new_user,
    start_server,
    wait_done,
    without_timings,
)

CHUNK_SHOTS = 500
ROTATION = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] theta;\nqubit[2] q;\nbit[2] c;\n'
    "rx(theta) q[0];\ncx q[0], q[1];\nc = measure q;\n"
)


def _ray_executable() -> Path:
    return Path(sys.executable).with_name("ray")


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a fresh two-CPU Ray cluster on this machine."""
    try:
        import ray  # noqa: F401
    except ImportError:
        pytest.skip("ray is not installed (pip install 'openqpu[scale]')")
    port = free_port()
    log = tmp_path_factory.mktemp("ray") / "ray.log"
    head = subprocess.Popen(
        [
            str(_ray_executable()), "start", "--head", "--block", "--num-cpus", "2",
            "--port", str(port), "--node-ip-address", "127.0.0.1",
            "--include-dashboard", "false", "--disable-usage-stats",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if head.poll() is not None:
                pytest.skip(f"the Ray cluster could not start: {log.read_text()[-2000:]}")
            status = subprocess.run(
                [str(_ray_executable()), "status", "--address", address],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if status.returncode == 0 and "CPU" in status.stdout:
                break
            if time.monotonic() > deadline:
                pytest.skip(f"the Ray cluster did not come up in 60 s: {status.stderr[-2000:]}")
            time.sleep(1)
        yield address
    finally:
        _end_group(head)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the Ray head and every process it started (they share its group)."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    try:  # the head is gone; its raylet and workers may still be ending
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def ray_server(ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``openqpu serve`` on SQLite whose worker fans jobs out to the cluster."""
    folder = tmp_path_factory.mktemp("ray-server")
    env = {
        **FAST_LEASES,
        "OPENQPU_RAY_ADDRESS": ray_address,
        "OPENQPU_RAY_CHUNK_SHOTS": str(CHUNK_SHOTS),
    }
    running = start_server(
        f"sqlite:///{folder / 'openqpu.db'}", folder / "server.log", extra_env=env
    )
    try:
        yield running
    finally:
        running.stop()


def _run(server: Server, key: str, job: dict[str, Any]) -> dict[str, Any]:
    with server.client(key) as client:
        created = client.post("/api/v1/jobs", json=job)
        assert created.status_code == 201, created.text
        done = wait_done(client, created.json()["id"], timeout=180)
        assert done["status"] == "done", done
        return client.get(f"/api/v1/jobs/{done['id']}/result").json()


@pytest.mark.slow
def test_ray_circuits_and_parameter_sets_fan_out_with_the_local_result(ray_server: Server) -> None:
    from openqpu.service.run.runner import run_payload

    job = {
        "device": "statevector",
        "circuits": [BELL, GHZ3, ROTATION, ROTATION],
        "parameter_values": [[], [], [0.4], [2.6]],
        "shots": 400,
        "seed": 123,
    }
    result = _run(ray_server, new_user(ray_server), job)
    fanout = result.pop("fanout")
    del result["job_id"]
    assert fanout["backend"] == "ray" and fanout["tasks"] == 4
    assert 1 <= len(fanout["workers"]) <= 4  # Ray worker ids
    payload = {"kind": "sample", **job}
    local = run_payload(payload, 123)  # in this process, the path without Ray
    assert without_timings(result) == without_timings(local)
    assert result["results"][2]["counts"] != result["results"][3]["counts"]


@pytest.mark.slow
def test_ray_chip_shots_fan_out_as_chunks_deterministically(ray_server: Server) -> None:
    from openqpu.device import default_catalog
    from openqpu.service.run.chip import ChipRun, run_on_chip
    from openqpu.service.run.fanout import LocalFanout
    from openqpu.service.settings import Settings
    from openqpu.service.store.calibrations import calibrations_for
    from openqpu.service.store.database import Database

    key = new_user(ray_server)
    job = {"device": "lattice12", "circuits": [BELL, GHZ3], "shots": 1200, "seed": 5}
    first, second = _run(ray_server, key, job), _run(ray_server, key, job)
    assert first.pop("fanout")["tasks"] == 2 * 3  # 500 + 500 + 200 shots per circuit
    second.pop("fanout")
    for document in (first, second):
        del document["job_id"]
    for entry in first["results"]:
        assert sum(entry["counts"].values()) == entry["shots"] == 1200
    if first["calibration_id"] != second["calibration_id"]:
        pytest.skip("the chip recalibrated between the two jobs")
    assert without_timings(first) == without_timings(second)
    # The same chunks run in this process give the same counts.
    db = Database(ray_server.database_url)
    try:
        settings = Settings(database_url=ray_server.database_url)
        calibrations = calibrations_for(db, default_catalog(None), settings)
        snapshot = next(
            s for s in calibrations.history("lattice12", 50) if s.id == first["calibration_id"]
        )
        chip = ChipRun(calibrations.specs["lattice12"], snapshot)
    finally:
        db.dispose()
    payload = {"kind": "sample", **job}
    local = run_on_chip(payload, 5, chip, LocalFanout(chunk_shots=CHUNK_SHOTS))
    assert without_timings(first) == without_timings(local)
