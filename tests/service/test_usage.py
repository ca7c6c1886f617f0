"""The daily shots quota's counter: kept by submits and cancellations, backfilled by
the migration, and a submit's check that costs the same after thousands of jobs."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from openqpu.device import default_catalog
from openqpu.service import admission
from openqpu.service.clock import utcnow
from openqpu.service.schemas import JobCreate
from openqpu.service.settings import Settings
from openqpu.service.store import jobs, usage
from openqpu.service.store.accounts import Principal
from openqpu.service.store.database import Database
from openqpu.service.store.export import delete_user
from openqpu.service.store.jobs import QuotaExceeded
from tests.service.conftest import BELL, engine_at_revision, principal


def _submit(db: Database, who: Principal, shots: int, circuits: int = 1) -> str:
    request = JobCreate(device="statevector", circuits=[BELL] * circuits, shots=shots)
    job, _ = admission.submit(db, who, request, default_catalog(), Settings())
    return str(job["id"])


def _summed_today(db: Database) -> dict[int, int]:
    """What the counter must say, the slow way: today's jobs that were not cancelled."""
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = select(jobs.JOBS.c.owner_id, func.sum(jobs.JOBS.c.shots * jobs.JOBS.c.num_circuits))
    rows = rows.where(jobs.JOBS.c.created_at >= midnight, jobs.JOBS.c.status != "cancelled")
    with db.connect() as conn:
        return {o: int(n) for o, n in conn.execute(rows.group_by(jobs.JOBS.c.owner_id)) if n}


def test_usage_counts_submits_and_gives_back_cancelled_shots(db: Database) -> None:
    alice, bob = principal(db, "alice"), principal(db, "bob")
    first = _submit(db, alice, 100)
    _submit(db, alice, 250, circuits=2)
    _submit(db, bob, 40)
    with db.transaction() as conn:
        jobs.cancel(conn, alice, first)
    today = utcnow().date()
    with db.connect() as conn:
        counted = usage.shots_by_user(conn, today)
        assert counted == _summed_today(db) == {alice.user_id: 500, bob.user_id: 40}
        assert jobs.usage_by_user(conn, today)[alice.user_id] == (1, 500)
    delete_user(db, "bob")
    with db.connect() as conn:
        assert usage.shots_by_user(conn, today) == {alice.user_id: 500}


def test_usage_quota_reads_the_counter(db: Database) -> None:
    alice = principal(db, "alice")
    with db.transaction() as conn:  # shots counted earlier today by another process
        usage.add_shots(conn, alice.user_id, utcnow().date(), 1_400)
    settings = Settings(max_shots_per_day=1_500)
    request = JobCreate(device="statevector", circuits=[BELL], shots=200)
    with pytest.raises(QuotaExceeded, match="1400 of 1500 shots used today; this job needs 200"):
        admission.submit(db, alice, request, default_catalog(), settings)
    small = JobCreate(device="statevector", circuits=[BELL], shots=100)
    admission.submit(db, alice, small, default_catalog(), settings)


def test_usage_submit_check_costs_the_same_after_thousands_of_jobs_today(
    tmp_path: Path,
) -> None:
    """SQLite's virtual-machine steps for a submit's one read (idempotency key, active
    jobs, shots today, queue place), with 10 and with 5,000 of the user's jobs today."""
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.migrate()
    alice = principal(db, "alice")
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    parameters = {"owner_id": alice.user_id, "key": None, "day": midnight.date(),
                  "device": "statevector", "priority": 0}  # fmt: skip

    def steps() -> int:
        counted = [0]

        def tick() -> int:
            counted[0] += 1
            return 0

        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert isinstance(raw, sqlite3.Connection)
            raw.set_progress_handler(tick, 1)
            conn.execute(jobs._BEFORE_SUBMIT, parameters).one()
            raw.set_progress_handler(None, 1)
        return counted[0]

    def add_done_jobs(n: int, first: int) -> None:
        rows = [
            {"id": f"job-{first + i:06}", "owner_id": alice.user_id, "device": "lattice12",
             "kind": "sample", "status": "done", "priority": 0, "fair_seq": 0, "shots": 10,
             "num_circuits": 1, "num_qubits": 2, "payload": "{}", "attempts": 1,
             "created_at": midnight + timedelta(seconds=1 + (first + i) * 0.01)}
            for i in range(n)
        ]  # fmt: skip
        with db.transaction() as conn:
            conn.execute(insert(jobs.JOBS), rows)

    add_done_jobs(10, 0)
    few = steps()
    add_done_jobs(5_000, 10)
    many = steps()
    db.dispose()
    assert few > 0
    assert many <= few + 5, f"{few} steps with 10 jobs today, {many} with 5,010"


def test_usage_migration_backfills_today(database_url: str) -> None:
    """A database at revision 0004 with jobs today (one cancelled) and yesterday."""
    engine = engine_at_revision(database_url, "0004")
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users VALUES (1, 'u1', 'CN', 'user', :t)"), {"t": now})
        for n, (status, created, shots, circuits) in enumerate((
            ("done", midnight + timedelta(seconds=5), 100, 2),
            ("queued", now, 30, 1),
            ("cancelled", now, 1_000, 1),
            ("done", midnight - timedelta(hours=1), 7_000, 1),
        )):  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO jobs (id, owner_id, device, kind, status, priority, fair_seq, "
                    "shots, num_circuits, num_qubits, payload, created_at, attempts) "
                    "VALUES (:id, 1, 'statevector', 'sample', :s, 0, 0, :shots, :k, 2, '{}', "
                    ":c, 1)"
                ),
                {"id": f"job-{n}", "s": status, "shots": shots, "k": circuits, "c": created},
            )
    engine.dispose()
    db = Database(database_url)
    try:
        db.migrate()
        with db.connect() as conn:
            assert usage.shots_by_user(conn, now.date()) == {1: 230}
    finally:
        db.dispose()
