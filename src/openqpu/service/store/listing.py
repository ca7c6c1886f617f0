"""Job lists: the caller's jobs newest first, paged by keyset with an opaque cursor.

A page starts where the previous one ended, at a point of an index on
``(created_at, id)`` (with the owner, status or device in front): the same cost at any
depth, where an offset walks every row it skips. The count of matching jobs comes from
the aggregates.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, tuple_

from openqpu.service.circuits import InvalidRequest
from openqpu.service.clock import aware
from openqpu.service.store import aggregates
from openqpu.service.store.accounts import Principal
from openqpu.service.store.jobs import JOB_VIEW, JOBS, job_document


def list_jobs(
    conn: Connection,
    principal: Principal,
    *,
    status: str | None,
    device: str | None,
    limit: int,
    offset: int = 0,
    before: str | None = None,
) -> tuple[list[dict[str, Any]], int, str | None]:
    """The caller's jobs (all jobs for an admin), newest first; how many match; and the
    cursor of the next (older) page, None on the last page.

    Pages by keyset: ``before`` is the cursor a previous page returned, and the query
    starts at that point of an index whatever the depth. ``offset`` skips jobs first
    (kept for small offsets). The count comes from the aggregates, not a scan.
    """
    owner = None if principal.is_admin else principal.user_id
    conditions = [] if owner is None else [JOBS.c.owner_id == owner]
    if status:
        conditions.append(JOBS.c.status == status)
    if device:
        conditions.append(JOBS.c.device == device)
    if before:
        created_at, job_id = decode_cursor(before)
        conditions.append(tuple_(JOBS.c.created_at, JOBS.c.id) < tuple_(created_at, job_id))
    count = aggregates.count_jobs(conn, owner, status=status, device=device)
    rows = (
        conn.execute(
            JOB_VIEW.where(*conditions)
            .order_by(JOBS.c.created_at.desc(), JOBS.c.id.desc())
            .limit(limit + 1)
            .offset(offset)
        )
        .mappings()
        .all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return [job_document(conn, row, with_events=False) for row in rows], count, cursor


_JOB_ID = re.compile(r"[0-9a-f-]{1,36}")


def encode_cursor(created_at: datetime, job_id: str) -> str:
    """The opaque cursor of a job list position: after the job (``created_at``, ``job_id``)."""
    raw = f"{aware(created_at).isoformat()}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position an :func:`encode_cursor` cursor names.

    Raises:
        InvalidRequest: the cursor was not made by this server.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, job_id = raw.split("|", 1)
        created_at = datetime.fromisoformat(moment).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidRequest(
            "before", "not a cursor of this server; use the 'next' value of a previous page"
        ) from None
    if not _JOB_ID.fullmatch(job_id):
        raise InvalidRequest("before", "not a cursor of this server (a changed position)")
    return created_at, job_id
