"""pyquafu, the Quafu cloud's SDK, unchanged against a real openqpu server.

The client lives in its own virtual environment (pyquafu 0.4.5 needs numpy < 2,
which Qiskit 2.x does not allow), built once under ``var/compat/`` and driven
through ``pyquafu_client.py`` with HOME pointing at a folder holding ``.quafu/api``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.conftest import PYQUAFU_VERSION
from tests.service.conftest import Server, new_user

CLIENT = Path(__file__).with_name("pyquafu_client.py")
SHOTS = 1000


def _home(folder: Path, server: Server, token: str) -> Path:
    """A HOME with the Quafu account file pointing at ``server``."""
    (folder / ".quafu").mkdir(parents=True, exist_ok=True)
    (folder / ".quafu" / "api").write_text(json.dumps({"token": token, "url": server.url + "/"}))
    return folder


def quafu(python: Path, home: Path, **request: Any) -> dict[str, Any]:
    """Run one request with the real pyquafu client; its answer (or its exception)."""
    env = {**os.environ, "HOME": str(home), "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(python), str(CLIENT), json.dumps(request)],
        capture_output=True, text=True, env=env, timeout=180, cwd=home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def home(tmp_path: Path, server: Server) -> Path:
    """A new user's HOME for ``server``."""
    return _home(tmp_path, server, new_user(server))


def test_pyquafu_lists_every_device_as_a_backend(
    quafu_python: Path, home: Path, server: Server
) -> None:
    answer = quafu(quafu_python, home, action="backends")
    assert answer["version"] == PYQUAFU_VERSION
    backends = answer["backends"]
    devices = server.client().get("/api/v1/devices").json()
    # Every device, and the reference chip's names for lattice72 (its aliases).
    assert set(backends) == {device["name"] for device in devices} | {"origin_wukong", "72"}
    for alias in ("origin_wukong", "72"):
        assert {k: v for k, v in backends[alias].items() if k != "system_id"} == {
            k: v for k, v in backends["lattice72"].items() if k != "system_id"
        }
    for device in devices:
        backend = backends[device["name"]]
        assert backend["qubits"] == device["num_qubits"]
        assert (
            backend["status"]
            == {"online": "Online", "maintenance": "Maintenance"}[device["status"]]
        )
        assert backend["queued"] == device["queue_length"]
    assert len({backend["system_id"] for backend in backends.values()}) == len(backends)
    assert set(backends["lattice72"]["valid_gates"]) >= {"rz", "sx", "x", "cz"}
    assert "h" not in backends["lattice72"]["valid_gates"]
    assert {"h", "cx", "rx", "ccx"} <= set(backends["statevector"]["valid_gates"])


def test_pyquafu_runs_on_an_alias_of_lattice72(
    quafu_python: Path, home: Path, server: Server
) -> None:
    answer = quafu(quafu_python, home, action="run", backend="origin_wukong", circuit="x0",
                   shots=100)  # fmt: skip
    assert answer["status"] == "Completed" and sum(answer["counts"].values()) == 100
    token = json.loads((home / ".quafu" / "api").read_text())["token"]
    with server.client(token) as client:
        job = client.get(f"/api/v1/jobs/{answer['task_id']}").json()
    assert job["device"] == "lattice72"
    info = quafu(quafu_python, home, action="chip_info", backend="72")
    assert info["num_couplers"] > 100  # lattice72's working couplers


def test_pyquafu_bell_on_statevector_waits_for_its_counts(quafu_python: Path, home: Path) -> None:
    answer = quafu(quafu_python, home, action="run", backend="statevector", circuit="bell",
                   shots=SHOTS, name="bell")  # fmt: skip
    assert answer["status"] == "Completed"
    assert answer["task_name"] == "bell"
    counts = answer["counts"]
    assert set(counts) == {"00", "11"}
    assert sum(counts.values()) == SHOTS
    # Binomial(1000, 1/2): sd 15.8; 6 sd keeps a correct server from failing.
    assert abs(counts["00"] - SHOTS / 2) < 95
    assert answer["measures"] == {"0": 0, "1": 1}


def test_pyquafu_keys_put_classical_bit_0_leftmost(quafu_python: Path, home: Path) -> None:
    answer = quafu(quafu_python, home, action="run", backend="statevector", circuit="x0",
                   shots=100)  # fmt: skip
    assert answer["counts"] == {"100": 100}


def test_pyquafu_bell_on_lattice72_is_noisy_but_dominant(quafu_python: Path, home: Path) -> None:
    answer = quafu(quafu_python, home, action="run", backend="lattice72", circuit="bell",
                   shots=SHOTS)  # fmt: skip
    assert answer["status"] == "Completed"
    counts = answer["counts"]
    assert sum(counts.values()) == SHOTS
    assert set(counts) <= {"00", "01", "10", "11"}
    correct = counts.get("00", 0) + counts.get("11", 0)
    # Readout fidelity 0.92-0.97 and CZ fidelity 0.95-0.99: mostly right, never all.
    assert 0.7 * SHOTS < correct < SHOTS
    flipped = quafu(quafu_python, home, action="run", backend="lattice72", circuit="x0",
                    shots=SHOTS)["counts"]  # fmt: skip
    assert max(flipped, key=flipped.__getitem__) == "100"


def test_pyquafu_submit_measures_observables_basis_by_basis(quafu_python: Path, home: Path) -> None:
    observables = [["ZZ", [0, 1]], ["XX", [0, 1]], ["Z", [0]]]
    answer = quafu(quafu_python, home, action="observables", backend="statevector",
                   circuit="bell", shots=SHOTS, observables=observables)  # fmt: skip
    zz, xx, z = answer["values"]
    assert zz == xx == 1.0  # exact on the ideal simulator
    assert abs(z) < 0.2  # mean of 1000 +-1 outcomes: sd 0.032


def test_pyquafu_async_send_then_retrieve(quafu_python: Path, home: Path) -> None:
    sent = quafu(quafu_python, home, action="send", backend="statevector", circuit="x0",
                 shots=50, name="later")  # fmt: skip
    assert sent["status"] in ("In Queue", "Running", "Completed")
    deadline = time.monotonic() + 60
    while True:
        got = quafu(quafu_python, home, action="retrieve", task_id=sent["task_id"])
        if got["status"] == "Completed" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert got["status"] == "Completed"
    assert got["task_id"] == sent["task_id"]
    assert got["task_name"] == "later"
    assert got["counts"] == {"100": 50}


def test_pyquafu_sees_a_queued_task_and_its_cancellation(
    quafu_python: Path, tmp_path: Path, idle_server: Server
) -> None:
    key = new_user(idle_server)
    home = _home(tmp_path, idle_server, key)
    sent = quafu(quafu_python, home, action="send", backend="lattice12", circuit="bell",
                 shots=10)  # fmt: skip
    assert sent["status"] == "In Queue"
    assert sent["counts"] == {}
    assert quafu(quafu_python, home, action="retrieve", task_id=sent["task_id"])["status"] == (
        "In Queue"
    )
    with idle_server.client(key) as client:
        job = client.get(f"/api/v1/jobs/{sent['task_id']}").json()
        assert (job["status"], job["device"], job["shots"]) == ("queued", "lattice12", 10)
        client.post(f"/api/v1/jobs/{sent['task_id']}/cancel").raise_for_status()
    cancelled = quafu(quafu_python, home, action="retrieve", task_id=sent["task_id"])
    assert cancelled["status"] == "Canceled"


def test_pyquafu_bad_circuit_gets_the_protocols_circuit_error(
    quafu_python: Path, home: Path
) -> None:
    answer = quafu(quafu_python, home, action="run", backend="statevector", circuit="mcx")
    assert answer["error"] == "CircuitError"
    assert answer["message"].startswith("qtasm: ")
    assert "'mcx' is not defined" in answer["message"]
    assert "Traceback" not in answer["message"]


def test_pyquafu_iswap_it_writes_undeclared_runs(quafu_python: Path, home: Path) -> None:
    answer = quafu(quafu_python, home, action="run", backend="statevector", circuit="iswap")
    # X on q0 then iSWAP moves the excitation to q1: "01" with bit 0 leftmost.
    assert answer.get("counts") == {"01": 1000}, answer


def test_pyquafu_wrong_token_is_refused(quafu_python: Path, tmp_path: Path, server: Server) -> None:
    key = new_user(server)
    wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    answer = quafu(quafu_python, _home(tmp_path, server, wrong), action="backends")
    assert answer == {"error": "UserError", "message": "invalid or revoked API key"}


def test_pyquafu_chip_info_has_the_working_couplers(
    quafu_python: Path, home: Path, server: Server
) -> None:
    answer = quafu(quafu_python, home, action="chip_info", backend="lattice12")
    calibration = server.client().get("/api/v1/devices/lattice12").json()["calibration"]
    assert answer["num_couplers"] == calibration["num_couplers_working"]
    assert answer["num_qubits_mapped"] <= calibration["num_qubits_working"]
    assert {"topological_structure", "qubits_info", "calibration"} <= set(answer["keys"])


def test_quafu_protocol_over_http(server: Server) -> None:
    """What pyquafu does not show: the raw documents and their error envelope."""
    key = new_user(server)
    headers = {"api_token": key}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        backends = http.post("/qbackend/get_backends/", headers=headers).json()
        system_id = {b["system_name"]: b["system_id"] for b in backends["data"]}["statevector"]
        form = {
            "qtasm": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg meas[2];\n'
            "x q[1];\nmeasure q[1] -> meas[0];\n",
            "shots": "20",
            "selected_server": str(system_id),
            "task_name": "{'a': __import__('os')}",
        }
        task = http.post("/qbackend/scq_kit/", headers=headers, data=form).json()
        assert task["status"] == 2
        assert json.loads(task["res"]) == {"1": 20}  # only measured bits, bit 0 first
        assert task["measure"] == "{1: 0}"
        assert task["task_name"] == form["task_name"]  # echoed, never in ``res``
        for path, data, code, text in [
            ("/qbackend/scq_task_recall/", {"task_id": "nope"}, 400, "no job 'nope'"),
            ("/qbackend/scq_kit/", {**form, "selected_server": "7"}, 400, "selected_server"),
            ("/qbackend/scq_kit/", {**form, "shots": "many"}, 400, "shots: expected an int"),
            ("/qbackend/scq_kit/", {**form, "shots": "0"}, 400, "shots: Input should be"),
            ("/qbackend/scq_kit/", {**form, "tomo": "1"}, 400, "tomo: tomography"),
            ("/qbackend/scq_kit/", {**form, "qtasm": "OPENQASM 2.0;\nfoo"}, 5001, "qtasm: "),
        ]:
            reply = http.post(path, headers=headers, data=data)
            assert reply.status_code == 200
            assert reply.json()["status"] == code, reply.json()
            assert text in reply.json()["message"]
        reply = http.post("/qbackend/get_backends/")
        assert reply.json()["status"] == 400
        assert "api_token" in reply.json()["message"]
