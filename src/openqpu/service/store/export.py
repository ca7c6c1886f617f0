"""Data ownership: everything the service keeps, as JSON Lines; a user's data removed.

One record per line, each with a ``"type"``: ``user``, ``job`` (with its status
changes), ``result`` and ``calibration``. Key hashes are never exported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import Connection, delete, select

from openqpu.service.clock import aware, utcnow
from openqpu.service.store import aggregates, usage
from openqpu.service.store.accounts import NotFound
from openqpu.service.store.calibrations import CALIBRATIONS
from openqpu.service.store.database import Database
from openqpu.service.store.jobs import EVENTS, JOBS, RESULTS, USERS
from openqpu.service.store.models import ApiKey, JobStatus

KEYS = ApiKey.__table__


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def job_record(job: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The export record of a job row with its events (also the archive's)."""
    record = {key: _plain(value) for key, value in job.items()}
    record["payload"] = json.loads(record["payload"])
    plain_events = [
        {key: _plain(value) for key, value in event.items() if key != "job_id"} for event in events
    ]
    return {"type": "job", **record, "events": plain_events}


def result_record(result: dict[str, Any]) -> dict[str, Any]:
    """The export record of a result row (also the archive's)."""
    record = {key: _plain(value) for key, value in result.items()}
    record["data"] = json.loads(record["data"])
    return {"type": "result", **record}


def _rows(conn: Connection, statement: Any) -> Iterator[dict[str, Any]]:
    for row in conn.execution_options(stream_results=True, yield_per=500).execute(statement):
        yield {key: _plain(value) for key, value in row._mapping.items()}


def export_records(db: Database) -> Iterator[dict[str, Any]]:
    """Every user, job (with events), result and calibration snapshot, in that order."""
    with db.engine.connect() as conn:
        for user in _rows(conn, select(USERS).order_by(USERS.c.id)):
            yield {"type": "user", **user}
        events: dict[str, list[dict[str, Any]]] = {}
        for event in _rows(conn, select(EVENTS).order_by(EVENTS.c.id)):
            events.setdefault(event.pop("job_id"), []).append(event)
        for job in _rows(conn, select(JOBS).order_by(JOBS.c.created_at)):
            yield job_record(job, events.pop(job["id"], []))
        for result in _rows(conn, select(RESULTS).order_by(RESULTS.c.created_at)):
            yield result_record(result)
        for snapshot in _rows(conn, select(CALIBRATIONS).order_by(CALIBRATIONS.c.taken_at)):
            snapshot["data"] = json.loads(snapshot["data"])
            yield {"type": "calibration", **snapshot}


def write_jsonl(db: Database, out: TextIO) -> dict[str, int]:
    """Write :func:`export_records` to ``out``, one JSON object per line; return counts."""
    counts: dict[str, int] = {}
    for record in export_records(db):
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
        counts[record["type"]] = counts.get(record["type"], 0) + 1
    return counts


def delete_user(db: Database, name: str) -> dict[str, int]:
    """Remove a user with their keys, jobs, job events and results; return what went.

    Raises:
        NotFound: there is no such user.
    """
    with db.transaction() as conn:
        user_id = conn.execute(select(USERS.c.id).where(USERS.c.name == name)).scalar()
        if user_id is None:
            raise NotFound(f"no user {name!r}")
        jobs = select(JOBS.c.id).where(JOBS.c.owner_id == user_id)
        _uncount(conn, user_id)
        usage.forget_user(conn, user_id)
        removed = {
            "results": conn.execute(delete(RESULTS).where(RESULTS.c.job_id.in_(jobs))).rowcount,
            "events": conn.execute(delete(EVENTS).where(EVENTS.c.job_id.in_(jobs))).rowcount,
            "jobs": conn.execute(delete(JOBS).where(JOBS.c.owner_id == user_id)).rowcount,
            "keys": conn.execute(delete(KEYS).where(KEYS.c.user_id == user_id)).rowcount,
        }
        country = conn.execute(select(USERS.c.country).where(USERS.c.id == user_id)).scalar_one()
        aggregates.count_account(conn, country, utcnow().date(), -1)
        conn.execute(delete(USERS).where(USERS.c.id == user_id))
    return removed


def _uncount(conn: Connection, user_id: int) -> None:
    """Take the user's jobs out of the aggregates (they mirror the rows of ``jobs``)."""
    rows = conn.execute(
        select(JOBS.c.device, JOBS.c.status, JOBS.c.finished_at, JOBS.c.run_seconds)
        .where(JOBS.c.owner_id == user_id)
        .execution_options(yield_per=1000)
    )
    aggregates.tally(
        conn,
        (
            aggregates.Change(
                user_id,
                device,
                status,
                -1,
                aware(finished_at).date() if finished_at is not None else None,
                run_seconds if status == JobStatus.DONE.value else None,
            )
            for device, status, finished_at, run_seconds in rows
        ),
    )
