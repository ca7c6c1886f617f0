"""A year of traffic: aggregates that mirror the job rows, the migration that backfills
them, keyset paging and retention, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from openqpu.device import default_catalog
from openqpu.service import admission
from openqpu.service.circuits import InvalidRequest
from openqpu.service.schemas import JobCreate
from openqpu.service.settings import Settings
from openqpu.service.store import aggregates, jobs, listing, queue, retention
from openqpu.service.store.accounts import Principal
from openqpu.service.store.database import Database, migrate
from openqpu.service.store.export import delete_user
from openqpu.service.store.models import Job, JobStatus
from openqpu.service.store.stats import public_stats
from tests.service.conftest import BELL, engine_at_revision, principal

DEVICES = ["statevector", "lattice12", "lattice72"]


def _submit(db: Database, who: Principal) -> str:
    request = JobCreate(device="statevector", circuits=[BELL], shots=10)
    job, _ = admission.submit(db, who, request, default_catalog(), Settings())
    return str(job["id"])


def _scanned(db: Database) -> dict[str, object]:
    """What the aggregates must say, computed the slow way from the rows."""
    with db.connect() as conn:
        rows = conn.execute(
            select(Job.device, Job.status, Job.owner_id, Job.finished_at, Job.run_seconds)
        ).all()
    totals = Counter((d, s) for d, s, _, _, _ in rows)
    owners = Counter((o, s) for _, s, o, _, _ in rows)
    daily = Counter(str(f.date()) for _, s, _, f, _ in rows if s == "done")
    buckets = Counter(
        aggregates.bucket_of(x) for _, s, _, _, x in rows if s == "done" and x is not None
    )
    return {"totals": totals, "owners": owners, "daily": daily, "buckets": buckets}


def _aggregated(db: Database, owner_ids: list[int]) -> dict[str, object]:
    since = (datetime.now(UTC) - timedelta(days=2)).date()
    with db.connect() as conn:
        totals = Counter({k: n for k, (n, _) in aggregates.job_totals(conn).items() if n})
        owners = Counter()
        for owner in owner_ids:
            for status in JobStatus:
                n = aggregates.count_jobs(conn, owner, status=status.value, device=None)
                if n:
                    owners[(owner, status.value)] = n
        daily = Counter({str(d): n for d, n in aggregates.per_day(conn, "done", since)})
        histogram = aggregates.run_histogram(conn)
    buckets = Counter({i: n for i, n in enumerate(histogram) if n})
    return {"totals": totals, "owners": owners, "daily": daily, "buckets": buckets}


def test_history_aggregates_mirror_the_rows_before_and_after_rollup(db: Database) -> None:
    alice, bob = principal(db, "alice", "CN"), principal(db, "bob", "FR")
    ids = [_submit(db, alice) for _ in range(6)] + [_submit(db, bob) for _ in range(3)]
    claimed = queue.claim_many(db, "w", 30, limit=8)
    outcomes = [queue.Outcome(c.id, {"results": []}, run_seconds=0.02 * i) for i, c in
                enumerate(claimed[:5])]  # fmt: skip
    outcomes.append(queue.Outcome(claimed[5].id, error="boom"))
    queue.finish_many(db, "w", outcomes)
    waiting = set(ids) - {c.id for c in claimed}
    admin = Principal(0, "root", "admin", "k")
    with db.transaction() as conn:
        jobs.cancel(conn, admin, claimed[6].id)  # running -> cancelled
        jobs.cancel(conn, admin, waiting.pop())  # queued -> cancelled
    # A lease that runs out puts the job back in the queue.
    _submit(db, alice)
    assert queue.claim(db, "dead", 0.01) is not None
    time.sleep(0.05)
    assert queue.reap_expired(db, max_attempts=3) == 1
    owners = [alice.user_id, bob.user_id]
    assert _aggregated(db, owners) == _scanned(db)
    assert aggregates.rollup_all(db) > 0
    with db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM stat_deltas")).scalar() == 0
    assert _aggregated(db, owners) == _scanned(db)
    with db.connect() as conn:
        figures = public_stats(conn, DEVICES)
    assert figures["tasks_completed"] == 5
    assert figures["queue_lengths"] == {"statevector": 1, "lattice12": 0, "lattice72": 0}
    assert figures["users"] == 2 and figures["countries"] == 2
    # Deleting a user takes their jobs out of the figures, and their country with them.
    delete_user(db, "bob")
    assert _aggregated(db, owners) == _scanned(db)
    with db.connect() as conn:
        figures = public_stats(conn, DEVICES)
    assert figures["users"] == 1 and figures["countries"] == 1
    assert figures["users_per_day"][-1] == {
        "day": str(datetime.now(UTC).date()), "users": 1, "countries": 1,
    }  # fmt: skip


def test_history_job_list_pages_by_cursor(db: Database) -> None:
    alice = principal(db, "alice")
    ids = [_submit(db, alice) for _ in range(7)]
    admin = Principal(0, "root", "admin", "k")
    for who in (alice, admin):
        seen, cursor = [], None
        with db.connect() as conn:
            while True:
                page, count, cursor = listing.list_jobs(
                    conn, who, status=None, device=None, limit=3, before=cursor
                )
                seen += [job["id"] for job in page]
                if cursor is None:
                    break
        assert seen == ids[::-1] and count == 7
    with db.connect() as conn:
        page, count, cursor = listing.list_jobs(
            conn, alice, status="queued", device="statevector", limit=7
        )
        assert len(page) == count == 7 and cursor is None
        with pytest.raises(InvalidRequest, match="before: not a cursor of this server"):
            listing.list_jobs(conn, alice, status=None, device=None, limit=3, before="bm9wZQ")


def test_history_migration_backfills_a_wave1_database(database_url: str) -> None:
    """A database made by revisions 0001-0003, with jobs in it, upgrades to the aggregates."""
    engine = engine_at_revision(database_url, "0003")
    day = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with engine.begin() as conn:
        for user_id, country in ((1, "CN"), (2, "CN"), (3, "DE")):
            conn.execute(
                text("INSERT INTO users VALUES (:i, :n, :c, 'user', :t)"),
                {"i": user_id, "n": f"u{user_id}", "c": country, "t": day},
            )
        for n in range(20):
            status = ("done", "done", "failed", "queued")[n % 4]
            finished = day + timedelta(days=n % 3) if status != "queued" else None
            conn.execute(
                text(
                    "INSERT INTO jobs (id, owner_id, device, kind, status, priority, fair_seq, "
                    "shots, num_circuits, num_qubits, payload, created_at, finished_at, "
                    "attempts, run_seconds) VALUES (:id, :o, :d, 'sample', :s, 0, 0, 10, 1, 2, "
                    "'{}', :c, :f, 1, :r)"
                ),
                {"id": f"job-{n:03}", "o": 1 + n % 3, "d": DEVICES[n % 2], "s": status,
                 "c": day, "f": finished, "r": 0.03 * n if status == "done" else None},
            )  # fmt: skip
        conn.execute(text("INSERT INTO visits VALUES (:d, 'a'), (:d, 'b')"), {"d": day.date()})
    engine.dispose()
    db = Database(database_url)
    try:
        db.migrate()
        assert _aggregated(db, [1, 2, 3]) | {"daily": None} == _scanned(db) | {"daily": None}
        with db.connect() as conn:
            per_day = dict(aggregates.per_day(conn, "done", day.date()))
            assert sum(per_day.values()) == 10
            figures = public_stats(conn, DEVICES)
        assert figures["users"] == 3 and figures["countries"] == 2 and figures["visits"] == 2
        assert figures["queue_lengths"] == {"statevector": 0, "lattice12": 5, "lattice72": 0}
    finally:
        db.dispose()
    migrate(Database(database_url).engine)  # a second upgrade is a no-op


def test_history_retention_archives_in_export_format(db: Database, tmp_path: Path) -> None:
    alice = principal(db, "alice")
    ids = [_submit(db, alice) for _ in range(5)]
    claimed = queue.claim_many(db, "w", 30, limit=8)
    queue.finish_many(db, "w", [queue.Outcome(c.id, {"results": [7]}, run_seconds=0.1)
                                for c in claimed[:4]])  # fmt: skip
    settings = Settings(
        database_url=db.url, result_retention_days=1, retention_archive_dir=str(tmp_path)
    )
    with db.connect() as conn:
        before = aggregates.job_totals(conn)
    later = datetime.now(UTC) + timedelta(days=2)
    report = retention.run_retention(db, settings, now=later, batch=3, pause_seconds=0)
    assert (report.jobs, report.results, report.events, report.batches) == (4, 4, 12, 2)
    lines = [json.loads(line) for line in Path(str(report.archive)).read_text().splitlines()]
    archived_jobs = [r for r in lines if r["type"] == "job"]
    assert sorted(r["id"] for r in archived_jobs) == sorted(ids[:4])
    assert [e["status"] for e in archived_jobs[0]["events"]] == ["queued", "running", "done"]
    assert all(r["data"] == {"results": [7]} for r in lines if r["type"] == "result")
    with db.connect() as conn:
        assert aggregates.job_totals(conn) == before  # counters remain
        admin = Principal(0, "root", "admin", "k")
        with pytest.raises(jobs.Archived, match=f"they are in {report.archive}"):
            jobs.result_of(conn, admin, ids[0])
        with pytest.raises(jobs.Archived, match="an administrator can retrieve them"):
            jobs.result_of(conn, alice, ids[0])
        assert conn.execute(select(func.count()).select_from(text("job_events"))).scalar() == 2
    again = retention.run_retention(db, settings, now=later, pause_seconds=0)
    assert again.jobs == 0  # nothing is archived twice
    upkeep = retention.maintain(db, settings)
    if db.dialect == "sqlite":  # a new file gives freed pages back step by step
        assert upkeep.notes == []
    else:
        assert "autovacuum" in upkeep.notes[0]


def test_history_sqlite_upkeep_gives_freed_pages_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.migrate()
    with db.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE filler (x TEXT)")
        for _ in range(600):
            conn.exec_driver_sql("INSERT INTO filler VALUES (?)", ("x" * 4000,))
    with db.transaction() as conn:
        conn.exec_driver_sql("DELETE FROM filler")
    with db.connect() as conn:
        free = conn.exec_driver_sql("PRAGMA freelist_count").scalar()
    assert free and free > retention.VACUUM_PAGES  # more than one step's worth
    report = retention.maintain(db, Settings(database_url=db.url))
    assert report.sqlite_pages_freed == free and report.notes == []
    with db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar() == 0
    db.dispose()
