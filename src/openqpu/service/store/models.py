"""Database tables of the service (SQLAlchemy 2 ORM).

Schema changes go through Alembic migrations in ``migrations/``; a test checks
that the migrated schema equals these models.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# A 64-bit key that SQLite still treats as its rowid (INTEGER PRIMARY KEY).
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of every table."""

    if TYPE_CHECKING:
        # Every model maps one Table (SQLAlchemy types it as any FromClause).
        __table__: ClassVar[Table]


class Role(StrEnum):
    """What an account may do."""

    ADMIN = "admin"  # sees and manages every user and job
    USER = "user"  # sees and manages their own jobs


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"  # accepted, waiting for a worker
    RUNNING = "running"  # claimed by a worker that holds a lease on it
    DONE = "done"  # finished; its result is stored
    FAILED = "failed"  # finished with an error message
    CANCELLED = "cancelled"  # cancelled by its owner or an admin


# The only status changes a job may make; every change is recorded as a JobEvent.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.DONE, JobStatus.FAILED, JobStatus.QUEUED, JobStatus.CANCELLED}
    ),
    JobStatus.DONE: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

FINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


class User(Base):
    """An account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    role: Mapped[str] = mapped_column(String(16), default=Role.USER.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """An API key: the public ``key_id`` and a hash of the secret part."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Job(Base):
    """A submitted task: circuits, options, status and lease."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner_id", "idempotency_key", name="uq_jobs_owner_idempotency"),
        Index(
            "ix_jobs_queue",
            "device",
            "priority",
            "fair_seq",
            "created_at",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
        # The job list pages by (created_at, id), newest first, under each filter.
        Index("ix_jobs_owner_created", "owner_id", "created_at", "id"),
        Index("ix_jobs_owner_status", "owner_id", "status", "created_at", "id"),
        Index("ix_jobs_created", "created_at", "id"),
        Index("ix_jobs_status_created", "status", "created_at", "id"),
        Index("ix_jobs_device_created", "device", "created_at", "id"),
        Index("ix_jobs_status_lease", "status", "lease_expires_at"),
        # A device's newest finished jobs (the ETA of a dry run).
        Index(
            "ix_jobs_done_finished",
            "device",
            "finished_at",
            postgresql_where=text("status = 'done'"),
            sqlite_where=text("status = 'done'"),
        ),
        # Retention walks finished jobs oldest first; archived_at marks those done with.
        Index(
            "ix_jobs_unarchived_finished",
            "finished_at",
            postgresql_where=text("archived_at IS NULL AND finished_at IS NOT NULL"),
            sqlite_where=text("archived_at IS NULL AND finished_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    fair_seq: Mapped[int] = mapped_column(Integer, default=0)
    shots: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    num_circuits: Mapped[int] = mapped_column(Integer)
    num_qubits: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    run_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Set when retention moved the job's result and events out (``archive`` says where).
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    archive: Mapped[str | None] = mapped_column(String(255), nullable=True)


# The order workers claim in: priority first (highest first), then fair share, then age.
Index(
    "ix_jobs_claim",
    Job.priority.desc(),
    Job.fair_seq,
    Job.created_at,
    postgresql_where=text("status = 'queued'"),
    sqlite_where=text("status = 'queued'"),
)


class JobEvent(Base):
    """One status change of a job, with its time."""

    __tablename__ = "job_events"

    # 64-bit on PostgreSQL: at the target rate a 32-bit id runs out within months.
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class Result(Base):
    """The result of a finished job, stored exactly once (one row per job)."""

    __tablename__ = "results"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Visit(Base):
    """A visitor (API key or address, hashed) seen on a day."""

    __tablename__ = "visits"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visitor: Mapped[str] = mapped_column(String(64), primary_key=True)


class Calibration(Base):
    """A chip's calibration snapshot, kept as history (``CalibrationSnapshot.to_dict``)."""

    __tablename__ = "calibrations"

    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    device: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("device", "epoch", name="uq_calibrations_device_epoch"),)


# Aggregates: what the statistics and /metrics read instead of scanning the jobs.
# Every status change of a job adds rows to ``stat_deltas`` in the same transaction
# (inserts only: concurrent writers never wait on a shared counter row); a rollup
# (``openqpu.service.store.aggregates.rollup``) folds them into the totals below and
# deletes them. Readers add the few deltas not folded yet, so figures are exact.


class StatDelta(Base):
    """A change to the job aggregates, not yet folded into them."""

    __tablename__ = "stat_deltas"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(Integer)
    # For a final status: the day the job finished (UTC), and for a done job its
    # run-time bucket (index into aggregates.RUN_BUCKETS; len() is +Inf) and seconds.
    day: Mapped[date | None] = mapped_column(Date, nullable=True)
    bucket: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class JobTotal(Base):
    """How many jobs of a device are in each status (the rows of ``jobs``)."""

    __tablename__ = "job_totals"

    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    run_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class OwnerTotal(Base):
    """How many jobs of a user are on each device in each status."""

    __tablename__ = "owner_totals"

    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class JobDaily(Base):
    """Jobs that reached a final status on a day (UTC), per device and status."""

    __tablename__ = "job_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    run_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class RunBucket(Base):
    """Done jobs of a device whose run time fell in a bucket (not cumulative)."""

    __tablename__ = "run_buckets"

    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class UserGrowth(Base):
    """Accounts and countries added (or removed: negative) on a day."""

    __tablename__ = "user_growth"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    users: Mapped[int] = mapped_column(Integer, default=0)
    countries: Mapped[int] = mapped_column(Integer, default=0)


class CountryUsers(Base):
    """How many accounts each country has."""

    __tablename__ = "country_users"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    users: Mapped[int] = mapped_column(Integer, default=0)


class VisitDaily(Base):
    """Distinct visitors per day (the rows of ``visits``, counted as they are added)."""

    __tablename__ = "visit_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class OwnerDaily(Base):
    """Shots a user submitted on a day (UTC), cancelled jobs taken out: what the daily
    shots quota reads. Kept in the transactions that submit and cancel, so a submit's
    quota check is one row, however many jobs the user sent that day."""

    __tablename__ = "owner_daily"

    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shots: Mapped[int] = mapped_column(BigInteger, default=0)
