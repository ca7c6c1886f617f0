"""Usage statistics like the reference cloud publishes, and visit counting."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from openqpu.service.clock import aware, utcnow
from openqpu.service.store.database import Database
from openqpu.service.store.jobs import queue_lengths
from openqpu.service.store.models import Job, JobStatus, User, Visit


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
        statement = insert(Visit).values(day=today, visitor=digest).on_conflict_do_nothing()
        with self.db.write() as session:
            session.execute(statement)
        if len(self.seen) > 100_000:
            self.seen.clear()
        self.seen.add((today, digest))


def _growth(session: Session, since: datetime) -> list[dict[str, Any]]:
    """Users and countries so far, at the end of each day accounts were made since ``since``."""
    rows = session.execute(select(User.created_at, User.country).order_by(User.created_at)).all()
    users, countries, growth = 0, set(), {}
    for created_at, country in rows:
        users += 1
        countries.add(country)
        if aware(created_at) >= since:
            growth[str(created_at.date())] = {"users": users, "countries": len(countries)}
    return [{"day": day, **figures} for day, figures in growth.items()]


def public_stats(session: Session, devices: list[str], days: int = 30) -> dict[str, Any]:
    """Tasks completed, visits, users and countries, and queue lengths."""
    done = JobStatus.DONE.value
    per_device = dict(
        session.execute(
            select(Job.device, func.count(Job.id)).where(Job.status == done).group_by(Job.device)
        ).all()
    )
    since = utcnow() - timedelta(days=days)
    day = func.date(Job.finished_at)
    per_day = [
        {"day": str(d), "tasks": int(n)}
        for d, n in session.execute(
            select(day, func.count(Job.id))
            .where(Job.status == done, Job.finished_at >= since)
            .group_by(day)
            .order_by(day)
        ).all()
    ]
    queues = queue_lengths(session)
    visits_per_day = [
        {"day": str(d), "visits": int(n)}
        for d, n in session.execute(
            select(Visit.day, func.count())
            .where(Visit.day >= since.date())
            .group_by(Visit.day)
            .order_by(Visit.day)
        ).all()
    ]
    return {
        "users_per_day": _growth(session, since),
        "tasks_completed": int(sum(per_device.values())),
        "tasks_completed_per_device": {name: int(per_device.get(name, 0)) for name in devices},
        "tasks_completed_per_day": per_day,
        "visits": int(session.scalar(select(func.count()).select_from(Visit)) or 0),
        "visits_per_day": visits_per_day,
        "users": int(session.scalar(select(func.count(User.id))) or 0),
        "countries": int(session.scalar(select(func.count(func.distinct(User.country)))) or 0),
        "queue_lengths": {name: int(queues.get(name, 0)) for name in devices},
    }
