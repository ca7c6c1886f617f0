"""pyqpanda3.qcloud, the reference cloud's SDK, unchanged against a real openqpu server.

The client lives in its own virtual environment under ``var/compat/`` (built once,
reused after) and runs each test's script in a subprocess that prints JSON. It
needs the system libraries libcurl4 and libgomp1 (``make test`` installs them).
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import Server, new_user

# Run before each script: the service, as a user of the reference cloud writes it,
# with openqpu's URL and an openqpu key, and a Bell program and an X on qubit 0.
PRELUDE = """
import json, sys
from pyqpanda3 import core, qcloud

service = qcloud.QCloudService(sys.argv[2], sys.argv[1])
bell = core.QProg()
bell << core.H(0) << core.CNOT(0, 1) << core.measure([0, 1], [0, 1])
x0 = core.QProg()
x0 << core.X(0) << core.measure([0, 1], [0, 1])

def show(value):
    print(json.dumps(value))
"""


def run_client(python: Path, server: Server, key: str, script: str) -> Any:
    """Run ``script`` (after PRELUDE) with the SDK; return what its last line printed."""
    done = subprocess.run(
        [str(python), "-c", PRELUDE + textwrap.dedent(script), server.url, key],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_pyqpanda3_lists_every_device_as_a_backend(qpanda_python: Path, server: Server) -> None:
    backends = run_client(
        qpanda_python,
        server,
        new_user(server),
        "show([service.backends(), service.backend('lattice72').name()])",
    )
    listed, name = backends
    assert {"statevector": True, "lattice72": True, "lattice12": True}.items() <= listed.items()
    assert name == "lattice72"


def test_pyqpanda3_bell_on_statevector_is_an_openqpu_job(
    qpanda_python: Path, server: Server
) -> None:
    key = new_user(server)
    got = run_client(
        qpanda_python,
        server,
        key,
        """
        job = service.backend("statevector").run(bell, 1000, qcloud.QCloudOptions())
        result = job.result()
        show([job.job_id(), str(job.status()), result.get_counts(), result.get_probs()])
        """,
    )
    job_id, status, counts, probs = got
    assert status == "JobStatus.FINISHED"
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 1000
    assert probs == {key: value / 1000 for key, value in counts.items()}
    with server.client(key) as client:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        result = client.get(f"/api/v1/jobs/{job_id}/result").json()
    assert (job["device"], job["shots"], job["num_circuits"]) == ("statevector", 1000, 1)
    assert result["results"][0]["counts"] == counts


def test_pyqpanda3_bell_on_lattice72_is_noisy_and_amend_mitigates_readout(
    qpanda_python: Path, server: Server
) -> None:
    key = new_user(server)
    raw, amended = run_client(
        qpanda_python,
        server,
        key,
        """
        backend = service.backend("lattice72")
        runs = []
        for amend in (0, 1):
            job = backend.run(bell, 4000, qcloud.QCloudOptions(amend, False, False, False))
            result = job.result()
            runs.append([job.job_id(), result.get_counts(), result.get_probs()])
        show(runs)
        """,
    )
    for _, counts, _ in (raw, amended):
        assert sum(counts.values()) == 4000
        assert counts["00"] + counts["11"] > 0.8 * 4000  # Bell correlations dominate
        assert counts.get("01", 0) + counts.get("10", 0) > 0  # but the chip is noisy
    _, raw_counts, raw_probs = raw
    assert raw_probs == pytest.approx({k: v / 4000 for k, v in raw_counts.items()})
    # amendFlag: get_counts stays the measured counts, get_probs is readout-corrected,
    # which moves the same job's distribution towards the ideal 00/11.
    amended_id, amended_counts, amended_probs = amended
    measured_error = 1 - (amended_counts["00"] + amended_counts["11"]) / 4000
    corrected_error = 1 - (amended_probs.get("00", 0) + amended_probs.get("11", 0))
    assert corrected_error < measured_error
    assert sum(amended_probs.values()) == pytest.approx(1)
    with server.client(key) as client:
        result = client.get(f"/api/v1/jobs/{amended_id}/result").json()["results"][0]
    assert result["mitigated_probabilities"] == pytest.approx(amended_probs)
    assert result["compiled"]["optimization_level"] == 0  # mapping and optimization off


def test_pyqpanda3_batch_is_one_job_with_bit_zero_rightmost(
    qpanda_python: Path, server: Server
) -> None:
    key = new_user(server)
    job_id, counts, probs = run_client(
        qpanda_python,
        server,
        key,
        """
        job = service.backend("statevector").run([bell, x0], 500, qcloud.QCloudOptions())
        result = job.result()
        show([job.job_id(), result.get_counts_list(), result.get_probs_list()])
        """,
    )
    assert set(counts[0]) == {"00", "11"}
    assert counts[1] == {"01": 500} and probs[1] == {"01": 1.0}  # X on qubit 0 sets bit 0
    with server.client(key) as client:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        result = client.get(f"/api/v1/jobs/{job_id}/result").json()
    assert job["num_circuits"] == 2
    assert [entry["counts"] for entry in result["results"]] == counts


def test_pyqpanda3_full_amplitude_backend_runs_on_statevector(
    qpanda_python: Path, server: Server
) -> None:
    key = new_user(server)
    job_id, counts = run_client(
        qpanda_python,
        server,
        key,
        """
        job = service.backend("full_amplitude").run(bell, 200)
        show([job.job_id(), job.result().get_counts()])
        """,
    )
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 200
    with server.client(key) as client:
        assert client.get(f"/api/v1/jobs/{job_id}").json()["device"] == "statevector"


def test_pyqpanda3_status_while_queued_then_cancel(
    qpanda_python: Path, idle_server: Server
) -> None:
    key = new_user(idle_server)
    got = run_client(
        qpanda_python,
        idle_server,
        key,
        """
        job = service.backend("lattice12").run(bell, 100, qcloud.QCloudOptions())
        queued = str(job.status())
        cancelled = job.cancel()
        again = qcloud.QCloudJob(job.job_id())  # as a later session finds it
        result = again.result()
        show([job.job_id(), queued, cancelled, str(again.status()),
              result.error_message(), again.cancel()])
        """,
    )
    job_id, queued, cancelled, status, message, cancelled_twice = got
    assert queued == "JobStatus.QUEUING"
    assert cancelled is True and status == "JobStatus.FAILED"
    assert "cancelled" in message
    assert cancelled_twice is False  # a finished task cannot be cancelled
    with idle_server.client(key) as client:
        assert client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_pyqpanda3_program_openqpu_cannot_read_is_refused_with_its_line(
    qpanda_python: Path, server: Server
) -> None:
    message = run_client(
        qpanda_python,
        server,
        new_user(server),
        """
        echo = core.QProg()
        echo << core.H(0) << core.ECHO(0) << core.measure([0, 1], [0, 1])
        try:
            service.backend("statevector").run(echo, 100, qcloud.QCloudOptions())
            show("accepted")
        except RuntimeError as exc:
            show(str(exc))
        """,
    )
    # openqpu's OriginIR reader does not know ECHO (line 4, after QINIT, CREG and H).
    assert message == "QProg[0]: line 4, column 1: unknown statement 'ECHO'"


def test_qcloud_refusals_use_the_protocol_envelope(server: Server) -> None:
    key = new_user(server)
    submit = {
        "QProg": ["QINIT 2\nCREG 2\nH q[0]\nCNOT q[0]\n"],
        "QMachineType": "5",
        "ChipID": "statevector",
        "Configuration": {"shot": 100, "amendFlag": 0, "mappingFlag": True},
    }
    auth = {"Authorization": f"oqcs_auth={key}"}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        bad = client.post("/oqcs/task/origin/submit.json", json=submit, headers=auth)
        missing = client.post(
            "/oqcs/task/origin/taskDetail.json", json={"taskId": "x"}, headers=auth
        )
        wrong_key = client.post(
            "/oqcs/task/origin/submit.json", json=submit, headers={"Authorization": "oqcs_auth=x"}
        )
        no_json = client.post("/oqcs/task/cancelTask.json", content=b"{", headers=auth)
        listing = client.get("/oqcs/task/getResourceList.json")
    assert bad.status_code == 200
    body = bad.json()
    assert (body["success"], body["code"], body["obj"]) == (False, 400, None)
    assert body["message"].startswith("QProg[0]: line 4, column ")
    assert missing.json() == {
        "success": False, "code": 404, "message": "no job 'x'", "obj": None,
    }  # fmt: skip
    assert wrong_key.json()["code"] == 401
    assert no_json.json()["code"] == 400 and "not valid JSON" in no_json.json()["message"]
    # The resource list is a bare array when it succeeds, so a refusal keeps its status.
    assert listing.status_code == 401 and listing.json()["success"] is False
