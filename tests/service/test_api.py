"""The REST API end to end through real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from qiskit import qasm2

from openqpu import sim
from openqpu.formats import loads
from tests.service.conftest import BELL, GHZ3, Server, add_user, new_user, wait_done


def test_api_submit_wait_result_equals_engine(shared_server: Server) -> None:
    server = shared_server
    with server.client(new_user(server)) as client:
        created = client.post(
            "/api/v1/jobs",
            json={"device": "statevector", "circuits": [BELL, GHZ3], "shots": 500, "seed": 42},
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["status"] == "queued" and body["num_circuits"] == 2
        assert created.headers["location"] == f"/api/v1/jobs/{body['id']}"
        job = wait_done(client, body["id"])
        assert job["status"] == "done", job
        assert [e["status"] for e in job["events"]] == ["queued", "running", "done"]
        result = client.get(f"/api/v1/jobs/{body['id']}/result").json()
    assert result["seed"] == 42
    for index, source in enumerate([BELL, GHZ3]):
        expected = sim.sample(loads(source), 500, seed=42 + index)
        assert result["results"][index]["counts"] == expected


def test_api_estimate_job(shared_server: Server) -> None:
    server = shared_server
    with server.client() as client:
        created = client.post(
            "/api/v1/jobs",
            json={
                "device": "statevector",
                "kind": "estimate",
                "circuits": [BELL],
                "observables": [{"ZZ": 1.0}, {"XX": 0.5, "ZI": 2.0}],
            },
        )
        assert created.status_code == 201, created.text
        wait_done(client, created.json()["id"])
        result = client.get(f"/api/v1/jobs/{created.json()['id']}/result").json()
    assert result["results"][0]["expectation_values"] == pytest.approx([1.0, 0.5])


def test_api_idempotent_submit_returns_the_same_job(shared_server: Server) -> None:
    server = shared_server
    request = {"device": "statevector", "circuits": [BELL], "idempotency_key": "retry-1"}
    with server.client(new_user(server)) as client:
        first = client.post("/api/v1/jobs", json=request)
        second = client.post("/api/v1/jobs", json=request)
        listed = client.get("/api/v1/jobs").json()
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert listed["count"] == 1
    assert [e["status"] for e in first.json()["events"]] == ["queued"]
    with server.client(new_user(server)) as client:
        client.post("/api/v1/jobs", json=request)
        changed = client.post("/api/v1/jobs", json={**request, "shots": 7})
    assert changed.status_code == 409
    assert "was used for a different request" in changed.json()["detail"]


def test_api_users_see_only_their_own_jobs(shared_server: Server) -> None:
    server = shared_server
    alice, bob = new_user(server), new_user(server, country="FR")
    with server.client(alice) as as_alice, server.client(bob) as as_bob:
        job_id = as_alice.post(
            "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]}
        ).json()["id"]
        for method, path in [
            ("GET", f"/api/v1/jobs/{job_id}"),
            ("GET", f"/api/v1/jobs/{job_id}/result"),
            ("GET", f"/api/v1/jobs/{job_id}/circuits"),
            ("POST", f"/api/v1/jobs/{job_id}/cancel"),
        ]:
            response = as_bob.request(method, path)
            assert response.status_code == 404, (method, path, response.text)
            assert job_id in response.json()["detail"]
        assert as_bob.get("/api/v1/jobs").json()["count"] == 0
        assert as_alice.get("/api/v1/jobs").json()["count"] == 1
        submitted = as_alice.get(f"/api/v1/jobs/{job_id}/circuits").json()
        assert submitted["circuits"] == [BELL] and submitted["format"] == "auto"
        drawn = as_alice.get(f"/api/v1/jobs/{job_id}/circuits", params={"drawn": True}).json()
        assert "┤ H ├" in drawn["drawings"][0]
        assert as_bob.get("/api/v1/users").status_code == 403
    with server.client() as admin:
        assert admin.get(f"/api/v1/jobs/{job_id}").status_code == 200
        users = admin.get("/api/v1/users").json()
        assert len(users) >= 3
        assert any(u["shots_today"] >= 1024 for u in users)  # alice's job, at least
        assert all(u["max_shots_per_day"] > 0 and u["max_active_jobs"] > 0 for u in users)


@pytest.mark.slow
def test_api_cancel_queued_job_and_conflict_when_final(tmp_path: Any, database_url: str) -> None:
    from tests.service.conftest import start_server

    idle = start_server(database_url, tmp_path / "idle.log", workers=0)
    try:
        with idle.client() as client:
            job_id = client.post(
                "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]}
            ).json()["id"]
            assert client.get(f"/api/v1/jobs/{job_id}").json()["queue_position"] == 0
            cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel")
            assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
            again = client.post(f"/api/v1/jobs/{job_id}/cancel")
            assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
            no_result = client.get(f"/api/v1/jobs/{job_id}/result")
            assert no_result.status_code == 409
        # The position a submit answers with is the one the job then shows.
        ada, bob = new_user(idle), new_user(idle)
        plan = [(ada, 0), (ada, 0), (bob, 0), (ada, 5), (bob, 0), (ada, 0), (bob, 5)]
        positions = []
        for key, priority in plan:
            with idle.client(key) as client:
                body = {"device": "statevector", "circuits": [BELL], "priority": priority}
                answer = client.post("/api/v1/jobs", json=body).json()
                shown = client.get(f"/api/v1/jobs/{answer['id']}").json()["queue_position"]
                assert answer["queue_position"] == shown, (key, priority, answer, shown)
                positions.append(shown)
        assert positions == [0, 1, 1, 0, 4, 5, 1]
    finally:
        idle.stop()


@pytest.mark.parametrize(
    ("request_body", "status", "field", "message"),
    [
        ({"device": "nope", "circuits": [BELL]}, 400, "device", "no device 'nope'"),
        (
            {"device": "statevector", "circuits": [BELL.replace("h q[0];", "h q[0]")]},
            400,
            "circuits[0]",
            "circuits[0]: 6:1:",
        ),
        ({"device": "statevector", "circuits": [BELL], "shots": 10**9}, 400, "shots", "limit"),
        ({"device": "statevector", "circuits": [BELL], "shots": "many"}, 422, "shots", "shots"),
        ({"device": "statevector", "circuits": []}, 422, "circuits", "circuits"),
        ({"device": "statevector", "circuits": [BELL], "colour": 1}, 422, "colour", "colour"),
        (
            {"device": "statevector", "circuits": ["OPENQASM 2.0;\nqreg q[40];\n"]},
            400,
            "circuits[0]",
            "40 qubits is more than device statevector has",
        ),
        (
            {
                "device": "statevector",
                "circuits": ["OPENQASM 2.0;\nqreg q[1];\n" + "U(0,0,0) q[0];\n" * 20_001],
            },
            400,
            "circuits[0]",
            "20001 instructions is over the limit of 20000",
        ),
        (
            {"device": "statevector", "kind": "estimate", "circuits": [BELL]},
            400,
            "observables",
            "needs at least one observable",
        ),
        (
            {
                "device": "statevector",
                "kind": "estimate",
                "circuits": [BELL],
                "observables": [{"ZZZ": 1.0}],
            },
            400,
            "observables[0][0]",
            "has 3 letters, the circuit has 2 qubits",
        ),
    ],
)
def test_api_bad_input_is_a_4xx_naming_the_field(
    shared_server: Server, request_body: dict[str, Any], status: int, field: str, message: str
) -> None:
    with shared_server.client(new_user(shared_server)) as client:
        response = client.post("/api/v1/jobs", json=request_body)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["field"] == field
        assert message in body["detail"]
        assert client.get("/api/v1/jobs").json()["count"] == 0  # nothing entered the queue


def test_api_syntax_error_carries_line_and_column(shared_server: Server) -> None:
    server = shared_server
    broken = BELL.replace("cx q[0],q[1];", "cx q[0] q[1];")
    with server.client() as client:
        body = client.post(
            "/api/v1/jobs", json={"device": "statevector", "circuits": [broken]}
        ).json()
    # Qiskit's OpenQASM 2 reader points at the statement; the line is exact.
    assert body["line"] == 6 and body["column"] >= 1
    assert body["detail"].startswith(f"circuits[0]: 6:{body['column']}: ")


def test_api_malformed_json_and_huge_bodies_are_refused(shared_server: Server) -> None:
    server = shared_server
    with server.client() as client:
        response = client.post(
            "/api/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422 and response.json()["field"] == "body"
        huge = client.post(
            "/api/v1/jobs",
            content=b"x" * 6_000_000,
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413 and "over the limit" in huge.json()["detail"]


def test_api_keys_are_required_checked_and_revocable(shared_server: Server) -> None:
    server = shared_server
    import subprocess
    import sys

    assert httpx.get(f"{server.url}/api/v1/devices").status_code == 401
    with server.client("oqk_nope_nope") as client:
        assert client.get("/api/v1/devices").status_code == 401
    key = add_user(server, "carol-" + str(time.monotonic_ns()))
    with server.client(key) as client:
        assert client.get("/api/v1/devices").status_code == 200
        subprocess.run(
            [sys.executable, "-m", "openqpu.cli", "key", "revoke", key, "--db",
             server.database_url],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        revoked = client.get("/api/v1/devices")
        assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_api_devices_stats_and_metrics(server: Server) -> None:
    with server.client() as client:
        devices = client.get("/api/v1/devices").json()
        assert [d["name"] for d in devices] == ["statevector", "lattice12", "lattice72"]
        assert devices[0]["status"] == "online" and devices[0]["num_qubits"] >= 20
        assert client.get("/api/v1/devices/statevector").json()["queue_length"] == 0
        assert client.get("/api/v1/devices/missing").status_code == 404
        job_id = client.post(
            "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]}
        ).json()["id"]
        wait_done(client, job_id)
    stats = httpx.get(f"{server.url}/api/v1/stats").json()
    assert stats["tasks_completed"] == 1
    assert stats["tasks_completed_per_device"] == {"statevector": 1, "lattice12": 0, "lattice72": 0}
    assert stats["users"] == 1 and stats["countries"] == 1
    assert stats["device_status"] == {
        "statevector": "online", "lattice12": "online", "lattice72": "online",
    }  # fmt: skip
    assert stats["users_per_day"][-1]["users"] == 1
    assert stats["users_per_day"][-1]["countries"] == 1
    assert stats["visits"] >= 1
    # prometheus_client writes labels in name order: compare parsed samples, not text.
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(httpx.get(f"{server.url}/metrics").text)
        for sample in family.samples
    }
    assert samples[("openqpu_jobs", (("device", "statevector"), ("status", "done")))] == 1
    assert samples[("openqpu_job_run_seconds_count", ())] == 1
    # Counted in the worker process, served by the API process (multiprocess mode).
    assert samples[("openqpu_worker_busy_seconds_total", ())] > 0
    assert samples[("openqpu_jobs_submitted_total", (("device", "statevector"),))] == 1


def test_api_openapi_schema_is_served(shared_server: Server) -> None:
    server = shared_server
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert "/api/v1/jobs" in schema["paths"]
    home = httpx.get(f"{server.url}/", follow_redirects=True)
    assert home.status_code == 200 and str(home.url).endswith("/web/")
    assert "<html" in home.text.lower()


def test_api_qasm2_round_trip_of_published_file(shared_server: Server) -> None:
    server = shared_server
    from pathlib import Path

    source = (Path(__file__).parents[1] / "data" / "qasm2" / "qft5_cu1.qasm").read_text()
    with server.client() as client:
        job_id = client.post(
            "/api/v1/jobs",
            json={"device": "statevector", "circuits": [source], "shots": 300, "seed": 1},
        ).json()["id"]
        assert wait_done(client, job_id)["status"] == "done"
        counts = client.get(f"/api/v1/jobs/{job_id}/result").json()["results"][0]["counts"]
    circuit = qasm2.loads(source, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert counts == sim.sample(circuit, 300, seed=1)


def test_api_quota_is_429_with_retry_after(database_url: str, tmp_path: Any) -> None:
    from tests.service.conftest import start_server

    limited = start_server(
        database_url,
        tmp_path / "limited.log",
        workers=0,
        extra_env={
            "OPENQPU_MAX_QUEUED_JOBS_PER_USER": "1",
            "OPENQPU_RATE_LIMIT_PER_SECOND": "0.5",
            "OPENQPU_RATE_LIMIT_BURST": "3",
        },
    )
    try:
        with limited.client() as client:
            body = {"device": "statevector", "circuits": [BELL]}
            assert client.post("/api/v1/jobs", json=body).status_code == 201
            refused = client.post("/api/v1/jobs", json=body)
            assert refused.status_code == 429
            assert "queued job limit reached: 1 of 1" in refused.json()["detail"]
            assert int(refused.headers["retry-after"]) > 0
        # A key that sends faster than its rate gets 429 too; other keys are not slowed.
        with limited.client(new_user(limited)) as fast:
            answers = [fast.get("/api/v1/devices") for _ in range(4)]
            assert [a.status_code for a in answers] == [200, 200, 200, 429]
            assert "rate limit of 0.5 requests/s" in answers[-1].json()["detail"]
            assert int(answers[-1].headers["retry-after"]) >= 1
        with limited.client(new_user(limited)) as other:
            assert other.get("/api/v1/devices").status_code == 200
    finally:
        limited.stop()


def test_api_list_is_paginated_and_filtered(shared_server: Server) -> None:
    with shared_server.client(new_user(shared_server)) as client:
        ids = [
            client.post(
                "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL], "seed": n}
            ).json()["id"]
            for n in range(3)
        ]
        for job_id in ids:
            wait_done(client, job_id)
        first = client.get("/api/v1/jobs", params={"limit": 2}).json()
        second = client.get("/api/v1/jobs", params={"limit": 2, "offset": 2}).json()
        assert first["count"] == second["count"] == 3
        assert [j["id"] for j in first["data"] + second["data"]] == ids[::-1]
        # The cursor pages the same jobs, at a cost independent of the depth.
        assert first["next"] and second["next"] is None
        after = client.get("/api/v1/jobs", params={"limit": 2, "before": first["next"]}).json()
        assert after["data"] == second["data"] and after["next"] is None
        bad = client.get("/api/v1/jobs", params={"before": "not-a-cursor"})
        assert bad.status_code == 400 and bad.json()["field"] == "before"
        assert client.get("/api/v1/jobs", params={"status": "done"}).json()["count"] == 3
        assert client.get("/api/v1/jobs", params={"status": "queued"}).json()["count"] == 0
        assert client.get("/api/v1/jobs", params={"device": "other"}).json()["count"] == 0
        assert client.get("/api/v1/jobs", params={"status": "bogus"}).status_code == 422
        huge = client.get("/api/v1/jobs", params={"offset": 2**63})  # found by the fuzz test
        assert huge.status_code == 422 and "offset" in huge.json()["detail"]


def test_api_accepts_base64_qpy(shared_server: Server) -> None:
    import base64
    import io

    from qiskit import QuantumCircuit, qpy

    circuit = QuantumCircuit(3, 3)
    circuit.x(2)
    circuit.measure(range(3), range(3))
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    with shared_server.client(new_user(shared_server)) as client:
        job_id = client.post(
            "/api/v1/jobs",
            json={"device": "statevector", "circuits": [encoded], "format": "qpy", "shots": 7},
        ).json()["id"]
        assert wait_done(client, job_id)["status"] == "done"
        result = client.get(f"/api/v1/jobs/{job_id}/result").json()
    assert result["results"][0]["counts"] == {"100": 7}
    with shared_server.client() as client:
        bad = client.post(
            "/api/v1/jobs",
            json={"device": "statevector", "circuits": ["bm9wZQ=="], "format": "qpy"},
        )
    assert bad.status_code == 400 and "not valid base64-encoded QPY" in bad.json()["detail"]


def test_api_user_list_command(shared_server: Server) -> None:
    import subprocess
    import sys

    listing = subprocess.run(
        [sys.executable, "-m", "openqpu.cli", "user", "list", "--db", shared_server.database_url],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert "admin" in listing.stdout and "ZZ" in listing.stdout


ORIGINIR_BELL = "// Bell pair in OriginIR\nQINIT 2\nCREG 2\nH q[0]\nCNOT q[0],q[1]\nMEASURE q,c\n"


@pytest.mark.parametrize("fmt", ["originir", "auto"])
def test_api_accepts_originir(shared_server: Server, fmt: str) -> None:
    with shared_server.client(new_user(shared_server)) as client:
        created = client.post(
            "/api/v1/jobs",
            json={
                "device": "statevector",
                "circuits": [ORIGINIR_BELL],
                "format": fmt,
                "shots": 300,
                "seed": 9,
            },
        )
        assert created.status_code == 201, created.text
        assert wait_done(client, created.json()["id"])["status"] == "done"
        result = client.get(f"/api/v1/jobs/{created.json()['id']}/result").json()
    counts = result["results"][0]["counts"]
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 300


def test_api_originir_syntax_error_names_the_line(shared_server: Server) -> None:
    broken = ORIGINIR_BELL.replace("CNOT q[0],q[1]", "CNOT q[0],q[5]")
    with shared_server.client() as client:
        response = client.post("/api/v1/jobs", json={"device": "statevector", "circuits": [broken]})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == "circuits[0]" and body["line"] == 5 and body["column"] == 13
    assert body["detail"] == ("circuits[0]: 5:13: index q[5] is out of range for a register of 2")


def test_api_other_protocols_do_not_show_another_users_job(shared_server: Server) -> None:
    """pyqpanda3's and pyquafu's endpoints check ownership like the REST API does."""
    server = shared_server
    alice, bob = new_user(server), new_user(server)
    with server.client(alice) as as_alice:
        job_id = as_alice.post(
            "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]}
        ).json()["id"]
        wait_done(as_alice, job_id)
    with httpx.Client(base_url=server.url, timeout=30) as raw:
        as_bob = {"Authorization": f"oqcs_auth={bob}"}
        for path in ("/oqcs/task/origin/taskDetail.json", "/oqcs/task/cancelTask.json"):
            answer = raw.post(path, json={"taskId": job_id}, headers=as_bob).json()
            assert (answer["success"], answer["code"]) == (False, 404), (path, answer)
        recall = raw.post(
            "/qbackend/scq_task_recall/", data={"task_id": job_id}, headers={"api_token": bob}
        ).json()
        assert "res" not in recall and f"no job '{job_id}'" in json.dumps(recall), recall
        mine = raw.post(
            "/qbackend/scq_task_recall/", data={"task_id": job_id}, headers={"api_token": alice}
        ).json()
        assert sum(json.loads(mine["res"]).values()) == 1024


def test_api_mitigation_options_are_checked_by_name_and_reported(
    shared_server: Server,
) -> None:
    job = {"device": "lattice12", "kind": "estimate", "circuits": [BELL], "shots": 2000}
    job["observables"] = [{"ZZ": 1.0}]
    refused = [
        ({"twirling": {"enable_gate": True}}, "options.twirling.enable_gate"),
        ({"resilience": {"zne": {"noise_factors": [0.5, 1]}}}, "options.resilience.zne"),
        ({"dynamical_decoupling": {"sequence_type": "XZ"}}, "options.dynamical_decoupling"),
    ]
    with shared_server.client(new_user(shared_server)) as client:
        for options, field in refused:
            response = client.post("/api/v1/jobs", json={**job, "options": options})
            assert response.status_code == 422, response.text
            assert response.json()["field"].startswith(field), response.json()
        sample = {**job, "kind": "sample", "options": {"resilience_level": 1}}
        response = client.post("/api/v1/jobs", json=sample)
        assert response.status_code == 400 and response.json()["field"] == "options"
        both = {**job, "mitigation": "readout", "options": {}}
        assert client.post("/api/v1/jobs", json=both).json()["field"] == "mitigation"
        options = {"resilience_level": 1, "default_shots": 3000, "seed_estimator": 4}
        created = client.post("/api/v1/jobs", json={**job, "options": options})
        assert created.status_code == 201, created.text
        assert created.json()["shots"] == 3000  # default_shots sets the shots per basis
        wait_done(client, created.json()["id"])
        result = client.get(f"/api/v1/jobs/{created.json()['id']}/result").json()
    entry = result["results"][0]
    assert entry["resilience"]["options"]["seed_estimator"] == 4
    assert entry["resilience"]["measure_mitigation"]["calibration_shots"] >= 3000
    assert entry["standard_errors"][0] > 0
