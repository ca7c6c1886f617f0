"""Data ownership: ``openqpu export`` writes everything as JSON Lines, and
``openqpu user delete`` removes a user's data and nothing else's."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from tests.service.conftest import BELL, Server, add_user, wait_done


def _cli(server: Server, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openqpu.cli", *argv, "--db", server.database_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_export_and_delete_user(server: Server, tmp_path) -> None:
    keys = {name: add_user(server, name) for name in ("ada", "bob")}
    ids = {}
    for name, key in keys.items():
        with server.client(key) as client:
            job = client.post(
                "/api/v1/jobs", json={"device": "lattice12", "circuits": [BELL], "shots": 50}
            ).json()
            assert wait_done(client, job["id"])["status"] == "done"
            ids[name] = job["id"]
    out = tmp_path / "export.jsonl"
    exported = _cli(server, "export", "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = {r["type"] for r in records}
    assert kinds == {"user", "job", "result", "calibration"}
    jobs = {r["id"]: r for r in records if r["type"] == "job"}
    assert set(ids.values()) <= set(jobs)
    assert [e["status"] for e in jobs[ids["ada"]]["events"]] == ["queued", "running", "done"]
    results = {r["job_id"]: r for r in records if r["type"] == "result"}
    assert results[ids["ada"]]["data"]["results"][0]["calibration_id"].startswith("lattice12")
    assert not any("secret" in line for line in out.read_text().splitlines())

    deleted = _cli(server, "user", "delete", "ada")
    assert deleted.returncode == 0, deleted.stderr
    assert "1 jobs" in deleted.stdout and "1 results" in deleted.stdout
    with server.client(keys["ada"]) as client:
        assert client.get("/api/v1/devices").status_code == 401  # the key went too
    with server.client(keys["bob"]) as client:
        assert client.get(f"/api/v1/jobs/{ids['bob']}/result").status_code == 200
    with server.client() as admin:
        assert admin.get(f"/api/v1/jobs/{ids['ada']}").status_code == 404
    again = _cli(server, "user", "delete", "ada")
    assert again.returncode == 1 and "no user 'ada'" in again.stderr
    assert "Traceback" not in again.stderr

    # Retention: `openqpu maintenance` moves bob's finished job out; its result is 410,
    # saying where it went, and the counts keep it.
    folder = tmp_path / "archive"
    upkeep = _cli(
        server, "maintenance", "--retention-days", "0.000001", "--archive-dir", str(folder)
    )
    assert upkeep.returncode == 0, upkeep.stderr
    assert "1 results and 3 events of 1 jobs to " in upkeep.stdout
    with server.client(keys["bob"]) as client:
        gone = client.get(f"/api/v1/jobs/{ids['bob']}/result")
        assert gone.status_code == 410 and "an administrator can retrieve" in gone.json()["detail"]
        assert client.get(f"/api/v1/jobs/{ids['bob']}").json()["status"] == "done"
    with server.client() as admin:
        assert str(folder) in admin.get(f"/api/v1/jobs/{ids['bob']}/result").json()["detail"]
    archived = [json.loads(line) for p in folder.iterdir() for line in p.read_text().splitlines()]
    assert [(r["type"], r.get("id") or r["job_id"]) for r in archived] == [
        ("job", ids["bob"]), ("result", ids["bob"]),
    ]  # fmt: skip
    stats = httpx.get(f"{server.url}/api/v1/stats").json()
    assert stats["tasks_completed_per_device"]["lattice12"] == 1  # bob's; ada's left with her
