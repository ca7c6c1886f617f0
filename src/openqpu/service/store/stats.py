"""Usage statistics like the reference cloud publishes, and visit counting.

Every figure comes from the aggregates (``openqpu.service.store.aggregates``): a call
costs the same whatever the number of jobs, users or visits ever stored.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from openqpu.service.clock import utcnow
from openqpu.service.store import aggregates
from openqpu.service.store.database import Database
from openqpu.service.store.models import JobStatus, Visit


def _digest(visitor: str) -> str:
    return hashlib.sha256(visitor.encode()).hexdigest()[:32]


class VisitCounter:
    """Counts each visitor once per day; remembers in memory whom it already stored."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: set[tuple[date, str]] = set()

    def is_new(self, visitor: str) -> bool:
        """False when this process already stored ``visitor`` today (no database access)."""
        return (utcnow().date(), _digest(visitor)) not in self.seen

    def record(self, visitor: str) -> None:
        """Store ``visitor`` (a key id or an address) for today, once."""
        today = utcnow().date()
        digest = _digest(visitor)
        if (today, digest) in self.seen:
            return
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        statement = (
            insert(Visit)
            .values(day=today, visitor=digest)
            .on_conflict_do_nothing()
            .returning(Visit.day)
        )
        with self.db.transaction() as conn:
            if conn.execute(statement).first() is not None:  # new today: count it too
                aggregates.count_visit(conn, today)
        if len(self.seen) > 100_000:
            self.seen.clear()
        self.seen.add((today, digest))


def public_stats(conn: Connection, devices: list[str], days: int = 30) -> dict[str, Any]:
    """Tasks completed, visits, users and countries, and queue lengths.

    Per-day figures cover the last ``days`` days (UTC); users and countries are
    given at the end of each day accounts changed.
    """
    since = (utcnow() - timedelta(days=days)).date()
    totals = aggregates.job_totals(conn)
    done = aggregates.by_device(totals, JobStatus.DONE.value)
    queued = aggregates.by_device(totals, JobStatus.QUEUED.value)
    growth = aggregates.growth(conn)
    all_visits, visits_per_day = aggregates.visits(conn, since)
    return {
        "users_per_day": [
            {"day": str(day), "users": users, "countries": countries}
            for day, users, countries in growth
            if day >= since
        ],
        "tasks_completed": sum(done.values()),
        "tasks_completed_per_device": {name: done.get(name, 0) for name in devices},
        "tasks_completed_per_day": [
            {"day": str(day), "tasks": n}
            for day, n in aggregates.per_day(conn, JobStatus.DONE.value, since)
        ],
        "visits": all_visits,
        "visits_per_day": [{"day": str(day), "visits": n} for day, n in visits_per_day],
        "users": growth[-1][1] if growth else 0,
        "countries": growth[-1][2] if growth else 0,
        "queue_lengths": {name: queued.get(name, 0) for name in devices},
    }


class Cached:
    """A value computed at most once per ``seconds``, the same for every caller.

    While one thread computes a fresh value, the others get the previous one (or
    wait for the first): a burst of requests makes one computation, not one each.
    """

    def __init__(self, compute: Callable[[], dict[str, Any]], seconds: float) -> None:
        self.compute, self.seconds = compute, seconds
        self._value: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self) -> dict[str, Any]:
        """The cached value, computed again when older than ``seconds``."""
        value = self._value
        if value is not None and time.monotonic() - self._at < self.seconds:
            return value
        if value is not None and not self._lock.acquire(blocking=False):
            return value  # someone else is computing it
        if value is None:
            self._lock.acquire()
        try:
            if self._value is None or time.monotonic() - self._at >= self.seconds:
                self._value = self.compute()
                self._at = time.monotonic()
            return self._value
        finally:
            self._lock.release()
