"""Idle workers wake on PostgreSQL's LISTEN/NOTIFY instead of waiting for their next poll."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from openqpu.service.run.worker import IDLE_FIRST_SECONDS
from tests.service.conftest import BELL, Server, new_user, start_server

# An idle worker waits IDLE_FIRST_SECONDS, then twice as long each time (the poll here
# is long enough not to cap it): the wait that starts about 16 s after the worker does
# lasts about 16 s. Submitting 20 s after the worker started lands in that wait with at
# least 12 s of it left, unless the worker's queries took 3.6 s in all before it.
SUBMIT_AFTER_S = 20.0
LONG_WAIT_S = 2 * IDLE_FIRST_SECONDS * 2**13  # the end of the wait of about 16 s
MARGIN_S = 6.0  # half of the least time a worker sleeping through would still take


def _worker_started(server: Server, timeout: float = 120) -> float:
    """Wait for the worker's start line in the server's log; when it was seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if " started on " in server.log():
            return time.monotonic()
        time.sleep(0.02)
    raise AssertionError(f"the worker did not start:\n{server.log()}")


@pytest.mark.slow
def test_an_idle_worker_wakes_on_notify_not_on_its_slow_poll(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite workers poll")
    server = start_server(
        database_url, tmp_path / "server.log", extra_env={"OPENQPU_POLL_SECONDS": "600"}
    )
    try:
        started_at = _worker_started(server)
        with server.client(new_user(server)) as client:
            time.sleep(max(0.0, started_at + SUBMIT_AFTER_S - time.monotonic()))
            started = time.monotonic()
            left = started_at + LONG_WAIT_S - started  # of the worker's wait, at least
            job = client.post("/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]})
            done = client.get(f"/api/v1/jobs/{job.json()['id']}", params={"wait": 30}).json()
            elapsed = time.monotonic() - started
        assert done["status"] == "done"
        assert elapsed < MARGIN_S, (
            f"took {elapsed:.2f} s of the {left:.1f} s the worker would still have slept: "
            "it slept through the NOTIFY"
        )
    finally:
        server.stop()
