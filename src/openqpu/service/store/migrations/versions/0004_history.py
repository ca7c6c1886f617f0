"""History at scale: aggregate tables (backfilled from the rows), keyset-paging
indexes, archived jobs, 64-bit event ids on PostgreSQL.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The run-time histogram's bucket bounds (seconds) when this revision was written.
_RUN_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0)
_KEYSET_INDEXES = {
    "ix_jobs_created": ["created_at", "id"],
    "ix_jobs_status_created": ["status", "created_at", "id"],
    "ix_jobs_device_created": ["device", "created_at", "id"],
}


def _tables() -> None:
    op.create_table(
        "stat_deltas",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("bucket", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    op.create_table(
        "job_totals",
        sa.Column("device", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("run_seconds", sa.Float(), nullable=False),
    )
    op.create_table(
        "owner_totals",
        sa.Column("owner_id", sa.Integer(), primary_key=True),
        sa.Column("device", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "job_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("device", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("run_seconds", sa.Float(), nullable=False),
    )
    op.create_table(
        "run_buckets",
        sa.Column("device", sa.String(64), primary_key=True),
        sa.Column("bucket", sa.Integer(), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "user_growth",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("countries", sa.Integer(), nullable=False),
    )
    op.create_table(
        "country_users",
        sa.Column("country", sa.String(2), primary_key=True),
        sa.Column("users", sa.Integer(), nullable=False),
    )
    op.create_table(
        "visit_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )


def _indexes() -> None:
    op.add_column("jobs", sa.Column("archived_at", _TS, nullable=True))
    op.add_column("jobs", sa.Column("archive", sa.String(255), nullable=True))
    op.drop_index("ix_jobs_owner_created", table_name="jobs")
    op.drop_index("ix_jobs_owner_status", table_name="jobs")
    op.create_index("ix_jobs_owner_created", "jobs", ["owner_id", "created_at", "id"])
    op.create_index("ix_jobs_owner_status", "jobs", ["owner_id", "status", "created_at", "id"])
    for name, columns in _KEYSET_INDEXES.items():
        op.create_index(name, "jobs", columns)
    done = sa.text("status = 'done'")
    op.create_index(
        "ix_jobs_done_finished",
        "jobs",
        ["device", "finished_at"],
        postgresql_where=done,
        sqlite_where=done,
    )
    unarchived = sa.text("archived_at IS NULL AND finished_at IS NOT NULL")
    op.create_index(
        "ix_jobs_unarchived_finished",
        "jobs",
        ["finished_at"],
        postgresql_where=unarchived,
        sqlite_where=unarchived,
    )


def _backfill(bind: sa.Connection) -> None:
    """The aggregates of the rows already stored (one pass over each table)."""
    postgres = bind.dialect.name == "postgresql"
    day = "CAST(finished_at AT TIME ZONE 'UTC' AS DATE)" if postgres else "date(finished_at)"
    done_seconds = "COALESCE(SUM(CASE WHEN status = 'done' THEN run_seconds END), 0)"
    bind.exec_driver_sql(
        "INSERT INTO job_totals (device, status, n, run_seconds) "
        f"SELECT device, status, COUNT(*), {done_seconds} FROM jobs GROUP BY device, status"
    )
    bind.exec_driver_sql(
        "INSERT INTO owner_totals (owner_id, device, status, n) "
        "SELECT owner_id, device, status, COUNT(*) FROM jobs GROUP BY owner_id, device, status"
    )
    bind.exec_driver_sql(
        "INSERT INTO job_daily (day, device, status, n, run_seconds) "
        f"SELECT {day}, device, status, COUNT(*), {done_seconds} FROM jobs "
        "WHERE status IN ('done', 'failed', 'cancelled') AND finished_at IS NOT NULL "
        f"GROUP BY {day}, device, status"
    )
    bucket = " + ".join(
        f"CASE WHEN run_seconds > {bound} THEN 1 ELSE 0 END" for bound in _RUN_BUCKETS
    )
    bind.exec_driver_sql(
        "INSERT INTO run_buckets (device, bucket, n) "
        f"SELECT device, b, COUNT(*) FROM (SELECT device, ({bucket}) AS b FROM jobs "
        "WHERE status = 'done' AND run_seconds IS NOT NULL) AS done GROUP BY device, b"
    )
    bind.exec_driver_sql(
        "INSERT INTO visit_daily (day, n) SELECT day, COUNT(*) FROM visits GROUP BY day"
    )
    users: dict[date, int] = defaultdict(int)
    first_of_country: dict[str, date] = {}
    per_country: dict[str, int] = defaultdict(int)
    for country, created_at in bind.execute(
        sa.text("SELECT country, created_at FROM users ORDER BY created_at")
    ):
        made = (
            created_at if isinstance(created_at, datetime) else datetime.fromisoformat(created_at)
        )
        users[made.date()] += 1
        first_of_country.setdefault(country, made.date())
        per_country[country] += 1
    countries: dict[date, int] = defaultdict(int)
    for first in first_of_country.values():
        countries[first] += 1
    growth = sa.table(
        "user_growth", sa.column("day", sa.Date), sa.column("users"), sa.column("countries")
    )
    if users:
        op.bulk_insert(
            growth, [{"day": d, "users": n, "countries": countries[d]} for d, n in users.items()]
        )
    if per_country:
        country_users = sa.table("country_users", sa.column("country"), sa.column("users"))
        op.bulk_insert(country_users, [{"country": c, "users": n} for c, n in per_country.items()])


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Three events per job at 170 jobs/s pass 2**31 ids in about fifty days.
        op.alter_column("job_events", "id", type_=sa.BigInteger())
        op.execute("ALTER SEQUENCE IF EXISTS job_events_id_seq AS BIGINT")
    _tables()
    _indexes()
    _backfill(bind)


def downgrade() -> None:
    for table in (
        "visit_daily", "country_users", "user_growth", "run_buckets", "job_daily",
        "owner_totals", "job_totals", "stat_deltas",
    ):  # fmt: skip
        op.drop_table(table)
    for name in ("ix_jobs_unarchived_finished", "ix_jobs_done_finished", *_KEYSET_INDEXES):
        op.drop_index(name, table_name="jobs")
    op.drop_index("ix_jobs_owner_status", table_name="jobs")
    op.drop_index("ix_jobs_owner_created", table_name="jobs")
    op.create_index("ix_jobs_owner_created", "jobs", ["owner_id", "created_at"])
    op.create_index("ix_jobs_owner_status", "jobs", ["owner_id", "status"])
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("archive")
        batch.drop_column("archived_at")
