"""Idle workers wake on PostgreSQL's LISTEN/NOTIFY instead of waiting for their next poll."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.service.conftest import BELL, new_user, start_server


def test_an_idle_worker_wakes_on_notify_not_on_its_slow_poll(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite workers poll")
    server = start_server(
        database_url, tmp_path / "server.log", extra_env={"OPENQPU_POLL_SECONDS": "8"}
    )
    try:
        with server.client(new_user(server)) as client:
            time.sleep(9)  # the worker's idle wait has grown to its 8 s poll
            started = time.monotonic()
            job = client.post("/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]})
            done = client.get(f"/api/v1/jobs/{job.json()['id']}", params={"wait": 10}).json()
            elapsed = time.monotonic() - started
        assert done["status"] == "done"
        assert elapsed < 2.0, f"took {elapsed:.2f} s: the worker slept through the NOTIFY"
    finally:
        server.stop()
