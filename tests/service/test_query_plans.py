"""Every statement a request or a worker runs uses an index on the big tables.

The request paths (HTTP routes, in process) and the worker's claim, finish and reap run
against a database holding thousands of finished jobs; every statement they send is
recorded and explained (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN`` after
``ANALYZE``, as autovacuum keeps statistics). A full scan of ``jobs``, ``results`` or
``job_events`` fails the test; maintenance (export, retention, user deletion) is not a
request path and is not checked.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert

from openqpu.device import default_catalog
from openqpu.service import admission
from openqpu.service.api.app import create_app
from openqpu.service.schemas import JobCreate
from openqpu.service.settings import Settings
from openqpu.service.store import accounts, aggregates, jobs, queue
from openqpu.service.store.database import Database
from openqpu.service.store.jobs import EVENTS, JOBS, RESULTS
from tests.service.conftest import BELL

FINISHED_JOBS = 6_000
BIG_TABLES = ("jobs", "results", "job_events")
# Partial indexes over queued jobs only: their size is the queue's, not the history's.
QUEUE_INDEXES = ("ix_jobs_queue", "ix_jobs_claim")


def _fill(db: Database, owner_ids: list[int]) -> None:
    """Finished jobs with events and results, inserted in bulk (not through the API)."""
    start = datetime.now(UTC) - timedelta(days=300)
    jobs, events, results = [], [], []
    for n in range(FINISHED_JOBS):
        job_id = str(uuid.UUID(int=n))
        created = start + timedelta(minutes=n)
        jobs.append({
            "id": job_id, "owner_id": owner_ids[n % len(owner_ids)],
            "device": ("statevector", "lattice12", "lattice72")[n % 3], "kind": "sample",
            "status": "done" if n % 10 else "failed", "priority": 0, "fair_seq": 0,
            "shots": 100, "seed": n, "num_circuits": 1, "num_qubits": 2, "payload": "{}",
            "created_at": created, "started_at": created, "finished_at": created,
            "attempts": 1, "run_seconds": 0.01,
        })  # fmt: skip
        for status in ("queued", "running", "done"):
            events.append({"job_id": job_id, "status": status, "at": created})
        results.append({"job_id": job_id, "data": '{"results": []}', "created_at": created})
    with db.transaction() as conn:
        conn.execute(insert(JOBS), jobs)
        conn.execute(insert(EVENTS), events)
        conn.execute(insert(RESULTS), results)
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


@pytest.fixture
def recorded(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent to ``db`` while the fixture is open."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if (
            isinstance(parameters, list | tuple)
            and parameters
            and isinstance(parameters[0], dict | list | tuple)
        ):
            parameters = parameters[0]  # executemany: one set explains the statement
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _request_paths(db: Database, tmp_path: Path) -> None:
    """Every route that reads jobs, as an admin and as a user, and the worker's loop."""
    settings = Settings(database_url=db.url, data_dir=str(tmp_path))
    with db.write() as session:
        user = accounts.add_user(session, "plan-user", "CN")
        token = accounts.issue_key(session, user)
        admin = accounts.add_user(session, "plan-admin", "DE", admin=True)
        admin_token = accounts.issue_key(session, admin)
    with db.read() as session:
        principal = accounts.authenticate(session, token)
    _fill(db, [user.id, admin.id])
    submitted = [
        admission.submit(db, principal, JobCreate(device="statevector", circuits=[BELL]),
                         default_catalog(), settings)[0]["id"]
        for _ in range(3)
    ]  # fmt: skip
    old_job = str(uuid.UUID(int=7))
    app = create_app(settings, db=db)

    async def ask() -> None:
        transport = httpx.ASGITransport(app=app)
        for key in (token, admin_token):
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=headers
            ) as client:
                for params in ({}, {"status": "done"}, {"device": "lattice12"},
                               {"status": "done", "device": "lattice72"}):  # fmt: skip
                    first = (await client.get("/api/v1/jobs", params=params)).json()
                    assert first["next"], first
                    deep = await client.get(
                        "/api/v1/jobs", params={**params, "before": first["next"]}
                    )
                    assert deep.status_code == 200, deep.text
                for path in (
                    f"/api/v1/jobs/{submitted[0]}", f"/api/v1/jobs/{old_job}",
                    f"/api/v1/jobs/{old_job}/result", f"/api/v1/jobs/{old_job}/circuits",
                    "/api/v1/devices", "/api/v1/devices/statevector", "/api/v1/stats",
                    "/metrics",
                ):  # fmt: skip
                    answer = await client.get(path)
                    assert answer.status_code in (200, 404), (path, answer.text)
                await client.post(f"/api/v1/jobs/{submitted[2]}/cancel")
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://test",
            headers={"Authorization": f"Bearer {admin_token}"},
        ) as client:
            assert (await client.get("/api/v1/users")).status_code == 200

    asyncio.run(ask())
    with db.connect() as conn:  # a dry run's place in the queue and recent run times
        jobs.queue_preview(conn, user.id, "lattice12", 0)
    claimed = queue.claim_many(db, "w", 0.01, limit=8)
    queue.finish_many(db, "w", [queue.Outcome(claimed[0].id, {"results": []}, run_seconds=0.1)])
    queue.reap_expired(db, 3)
    with db.transaction() as conn:
        aggregates.rollup(conn)


def _full_scans(db: Database, statement: str, parameters: Any) -> list[str]:
    """The plan lines of ``statement`` that read a big table whole."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.dialect == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters or ())
            plan = [str(row[-1]) for row in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN " + statement, parameters or None)
            plan = [str(row[0]) for row in cursor.fetchall()]
        cursor.close()
    finally:
        raw.close()
    bad = []
    for line in plan:
        for table in BIG_TABLES:
            if db.dialect == "postgresql":
                if re.search(rf"Seq Scan on {table}\b", line):
                    bad.append(line)
                continue
            match = re.search(rf"\bSCAN {table}\b(.*)", line)
            if match is None:
                continue
            rest = match.group(1)
            if any(index in rest for index in QUEUE_INDEXES):
                continue  # a walk over queued jobs only
            if "INDEX" in rest and re.search(r"\bLIMIT\b", statement, re.I):
                if not any("TEMP B-TREE" in other for other in plan):
                    continue  # an index walk in order that stops at the limit
            bad.append(line)
    return bad


def test_query_plans_never_scan_the_history(
    db: Database, recorded: list[tuple[str, Any]], tmp_path: Path
) -> None:
    _request_paths(db, tmp_path)
    checked, failures = 0, []
    seen: set[str] = set()
    for statement, parameters in recorded:
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head not in ("SELECT", "UPDATE", "DELETE", "WITH") or statement in seen:
            continue
        if not any(re.search(rf"\b{table}\b", statement) for table in BIG_TABLES):
            continue
        seen.add(statement)
        checked += 1
        if statement.lstrip().upper().startswith(("INSERT",)):
            continue
        bad = _full_scans(db, statement, parameters)
        if bad:
            failures.append(f"{' '.join(statement.split())[:300]}\n    -> {bad}")
    assert checked >= 20, f"only {checked} statements recorded: the paths did not run"
    assert not failures, "full scans in request paths:\n" + "\n".join(failures)
