"""The service's fast paths: long polls, group commit, streamed body limits."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, select

from openqpu.service.clock import utcnow
from openqpu.service.store.accounts import add_user
from openqpu.service.store.batcher import WriteBatcher
from openqpu.service.store.database import Database
from openqpu.service.store.models import User
from tests.service.conftest import BELL, Server, new_user, start_server

USERS = User.__table__


def test_long_poll_answers_when_the_job_finishes(shared_server: Server) -> None:
    with shared_server.client(new_user(shared_server)) as client:
        job = client.post("/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]})
        started = time.monotonic()
        answer = client.get(f"/api/v1/jobs/{job.json()['id']}", params={"wait": 25})
        assert answer.status_code == 200 and answer.json()["status"] == "done"
        assert time.monotonic() - started < 20  # woken by the job, not by the time limit
        too_long = client.get(f"/api/v1/jobs/{job.json()['id']}", params={"wait": 31})
        assert too_long.status_code == 422 and too_long.json()["field"] == "query.wait"


def test_long_poll_gives_up_after_the_wait(database_url: str, tmp_path: Path) -> None:
    server = start_server(database_url, tmp_path / "server.log", workers=0)
    try:
        with server.client() as client:
            job = client.post("/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]})
            started = time.monotonic()
            answer = client.get(f"/api/v1/jobs/{job.json()['id']}", params={"wait": 0.6})
            held = time.monotonic() - started
            assert answer.json()["status"] == "queued" and answer.json()["queue_position"] == 0
            assert 0.5 <= held < 5
    finally:
        server.stop()


def test_streamed_body_over_the_limit_is_413(shared_server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(60):
            yield b" " * 100_000  # 6 MB in all, no Content-Length: chunked encoding

    with shared_server.client() as client:
        response = client.post(
            "/api/v1/jobs", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413 and "over the limit" in response.json()["detail"]


def _insert_user(name: str) -> Callable[[Connection], str]:
    def write(conn: Connection) -> str:
        row = {"name": name, "country": "CN", "role": "user", "created_at": utcnow()}
        conn.execute(insert(USERS), row)
        return name

    return write


def test_batcher_commits_together_and_one_failure_stays_alone(db: Database) -> None:
    with db.write() as session:
        add_user(session, "taken", "CN")
    batcher = WriteBatcher(db)

    async def scenario() -> list[object]:
        writes = [_insert_user("a"), _insert_user("taken"), _insert_user("b")]
        return await asyncio.gather(*(batcher.run(w) for w in writes), return_exceptions=True)

    outcomes = asyncio.run(scenario())
    batcher.close()
    assert outcomes[0] == "a" and outcomes[2] == "b"
    assert isinstance(outcomes[1], Exception)  # the unique name: only this write failed
    with db.connect() as conn:
        names = set(conn.execute(select(USERS.c.name)).scalars())
    assert names == {"taken", "a", "b"}


def test_batcher_waits_for_sqlite_lock_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    batcher = WriteBatcher(db)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock

    async def scenario() -> tuple[int, str]:
        write = asyncio.create_task(batcher.run(_insert_user("late")))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the write waits
            await asyncio.sleep(0.005)
            ticks += 1
        assert not write.done()
        other.execute("COMMIT")
        return ticks, await asyncio.wait_for(write, 5)

    ticks, name = asyncio.run(scenario())
    batcher.close()
    other.close()
    assert ticks == 20 and name == "late"
    with db.connect() as conn:
        assert conn.execute(select(USERS.c.name)).scalar() == "late"
    db.dispose()


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def _listeners(port: int) -> int:
    """How many sockets listen on the loopback ``port`` (one per API process)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, _remote, state = line.split()[1:4]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                count += 1
    return count


@pytest.mark.slow
def test_several_api_processes_share_the_port(tmp_path: Path) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        tmp_path / "server.log",
        workers=1,
        extra_env={"OPENQPU_API_PROCESSES": "3"},
    )
    try:
        deadline = time.monotonic() + 60
        while len(_group_members(server.process.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)  # the main process, one worker, two more API processes
        assert len(_group_members(server.process.pid)) >= 4
        # The extra API processes listen once their imports are done; from then on the
        # kernel spreads new connections over all three (one still starting answers late).
        while _listeners(server.port) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _listeners(server.port) == 3
        ids = []
        for _ in range(12):  # a new connection each time: the kernel spreads them
            with server.client() as client:
                job = client.post(
                    "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL]}
                )
                assert job.status_code == 201, job.text
                ids.append(job.json()["id"])
        with server.client() as client:
            for job_id in ids:
                done = client.get(f"/api/v1/jobs/{job_id}", params={"wait": 20}).json()
                assert done["status"] == "done"
        assert "startup failed" not in server.log()  # no API process died and came back
    finally:
        server.stop()
    deadline = time.monotonic() + 15
    while _group_members(server.process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _group_members(server.process.pid) == []  # every process stopped with the server
