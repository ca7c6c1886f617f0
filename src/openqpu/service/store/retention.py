"""Retention and upkeep: old results and status histories leave the hot tables.

Jobs finished more than ``result_retention_days`` ago lose their result and events
to a JSON Lines archive (the records of ``openqpu export``: a ``job`` with its
``events``, then its ``result``), or lose them outright when deletion is asked for.
The job row stays, marked ``archived_at`` with the archive's path, so its counts in
the aggregates remain and a request for its result is answered 410 saying where it
went. The work goes in small batches, each its own short transaction with a pause
after it, so that submits never wait behind it for long.

:func:`maintain` is what ``openqpu maintenance`` runs: the statistics' rollup,
retention, old visitor rows, and SQLite's upkeep (``PRAGMA optimize`` and
incremental vacuum). PostgreSQL's upkeep is autovacuum's (see the README).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from openqpu.service.clock import utcnow
from openqpu.service.settings import Settings
from openqpu.service.store import aggregates
from openqpu.service.store.database import Database
from openqpu.service.store.export import job_record, result_record
from openqpu.service.store.jobs import EVENTS, JOBS, RESULTS
from openqpu.service.store.models import Visit

VISITS = Visit.__table__
BATCH_JOBS = 200
PAUSE_SECONDS = 0.05
# SQLite frees at most this many pages (4 KiB each) per step of incremental vacuum.
VACUUM_PAGES = 256
# Rows per index that SQLite's ANALYZE samples (PRAGMA analysis_limit).
ANALYSIS_ROWS = 1_000

_DUE = (
    select(JOBS)
    .where(
        JOBS.c.archived_at.is_(None),
        JOBS.c.finished_at.is_not(None),
        JOBS.c.finished_at < bindparam("cutoff"),
    )
    .order_by(JOBS.c.finished_at)
    .limit(bindparam("batch"))
)
_IDS: Any = bindparam("ids", expanding=True)
_EVENTS_OF = select(EVENTS).where(EVENTS.c.job_id.in_(_IDS)).order_by(EVENTS.c.id)
_RESULTS_OF = select(RESULTS).where(RESULTS.c.job_id.in_(_IDS))
_DELETE_RESULTS = delete(RESULTS).where(RESULTS.c.job_id.in_(_IDS))
_DELETE_EVENTS = delete(EVENTS).where(EVENTS.c.job_id.in_(_IDS))
_MARK_ARCHIVED = (
    update(JOBS)
    .where(JOBS.c.id.in_(_IDS), JOBS.c.archived_at.is_(None))
    .values(archived_at=bindparam("at"), archive=bindparam("archive"))
)


@dataclass
class RetentionReport:
    """What one retention run moved (or deleted), and where to."""

    jobs: int = 0
    results: int = 0
    events: int = 0
    archive: str | None = None
    batches: int = 0
    seconds: float = 0.0


def archive_folder(settings: Settings) -> Path:
    """Where archives go: ``retention_archive_dir``, else ``<data dir>/archive``."""
    if settings.retention_archive_dir:
        return Path(settings.retention_archive_dir)
    from openqpu.service.store.bootstrap import data_directory

    return data_directory(settings) / "archive"


def run_retention(
    db: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    batch: int = BATCH_JOBS,
    pause_seconds: float = PAUSE_SECONDS,
    max_batches: int | None = None,
) -> RetentionReport:
    """Archive (or delete) the results and events of jobs finished before the retention
    period; nothing when ``result_retention_days`` is 0.

    Each batch of ``batch`` jobs is read, written to the archive and flushed to disk
    without a write lock; a short transaction then removes the rows. A crash in
    between leaves a record twice in the archive (at the next run), never lost.
    """
    report = RetentionReport()
    if settings.result_retention_days <= 0:
        return report
    started = time.monotonic()
    now = now or utcnow()
    cutoff = now - timedelta(days=settings.result_retention_days)
    path: Path | None = None
    if not settings.retention_delete:
        folder = archive_folder(settings)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"openqpu-archive-{now.date().isoformat()}.jsonl"
        report.archive = str(path)
    while max_batches is None or report.batches < max_batches:
        moved = _archive_batch(db, cutoff, batch, path, now, report)
        if not moved:
            break
        report.batches += 1
        if moved < batch:
            break
        time.sleep(pause_seconds)  # let submits and workers have the write lock
    report.seconds = time.monotonic() - started
    return report


def _archive_batch(
    db: Database,
    cutoff: datetime,
    batch: int,
    path: Path | None,
    now: datetime,
    report: RetentionReport,
) -> int:
    """One batch: read and archive outside any write lock, then delete in one short
    transaction (jobs archived meanwhile by another run are left alone)."""
    with db.connect() as conn:
        due = conn.execute(_DUE, {"cutoff": cutoff, "batch": batch}).mappings()
        jobs = [dict(row) for row in due]
        if not jobs:
            return 0
        ids = [job["id"] for job in jobs]
        events: dict[str, list[dict[str, Any]]] = {}
        for event in conn.execute(_EVENTS_OF, {"ids": ids}).mappings():
            events.setdefault(event["job_id"], []).append(dict(event))
        found = conn.execute(_RESULTS_OF, {"ids": ids}).mappings()
        results = {row["job_id"]: dict(row) for row in found}
    if path is not None:
        with path.open("a", encoding="utf-8") as out:
            for job in jobs:
                out.write(_line(job_record(job, events.get(job["id"], []))))
                if job["id"] in results:
                    out.write(_line(result_record(results[job["id"]])))
            out.flush()
            os.fsync(out.fileno())
    gone = {"ids": ids}
    with db.transaction() as conn:
        marked = conn.execute(
            _MARK_ARCHIVED, {**gone, "at": now, "archive": str(path) if path else None}
        ).rowcount
        report.results += conn.execute(_DELETE_RESULTS, gone).rowcount
        report.events += conn.execute(_DELETE_EVENTS, gone).rowcount
    report.jobs += marked
    return len(jobs)


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":")) + "\n"


@dataclass
class MaintenanceReport:
    """What :func:`maintain` did."""

    deltas_folded: int = 0
    retention: RetentionReport = field(default_factory=RetentionReport)
    visits_pruned: int = 0
    sqlite_pages_freed: int = 0
    notes: list[str] = field(default_factory=list)


def maintain(db: Database, settings: Settings, *, vacuum: bool = True) -> MaintenanceReport:
    """Fold the statistics' deltas, apply retention, drop visitor rows older than the
    retention period (their counts are kept per day), and on SQLite run ``PRAGMA
    optimize`` and free pages by incremental vacuum in small steps."""
    report = MaintenanceReport()
    report.deltas_folded = aggregates.rollup_all(db)
    report.retention = run_retention(db, settings)
    if settings.result_retention_days > 0:
        oldest = (utcnow() - timedelta(days=settings.result_retention_days)).date()
        with db.transaction() as conn:
            report.visits_pruned = conn.execute(
                delete(VISITS).where(VISITS.c.day < oldest)
            ).rowcount
    if db.dialect == "sqlite":
        # In a write transaction (BEGIN IMMEDIATE): it may write statistics, and a read
        # transaction that wants to write fails at once while a submit holds the lock.
        with db.transaction() as conn:
            # Statistics from a sample of each index: ANALYZE of a whole table holds the
            # write lock for seconds at millions of rows.
            conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_ROWS}")
            conn.exec_driver_sql("PRAGMA optimize")
            mode = conn.exec_driver_sql("PRAGMA auto_vacuum").scalar()
        if mode == 2 and vacuum:
            report.sqlite_pages_freed = _incremental_vacuum(db)
        elif mode != 2:
            report.notes.append(
                "this SQLite file was made without incremental vacuum: freed pages are reused "
                "but the file does not shrink (VACUUM, run while the server is stopped, "
                "shrinks it once)"
            )
    else:
        report.notes.append("PostgreSQL: autovacuum reclaims the space (see the README)")
    return report


def _incremental_vacuum(db: Database) -> int:
    """Free SQLite's unused pages a few thousand at a time, pausing between steps."""
    freed = 0
    while True:
        with db.transaction() as conn:
            before = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
            if before == 0:
                return freed
            # Python's sqlite3 steps the pragma once, and each step frees one page.
            for _ in range(min(before, VACUUM_PAGES)):
                conn.exec_driver_sql("PRAGMA incremental_vacuum")
            after = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
        freed += before - after
        if after == 0 or after >= before:
            return freed
        time.sleep(PAUSE_SECONDS)
