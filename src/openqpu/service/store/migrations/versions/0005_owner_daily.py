"""Shots per user and day (the daily quota's counter), backfilled for today.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    daily = op.create_table(
        "owner_daily",
        sa.Column("owner_id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("shots", sa.BigInteger(), nullable=False),
    )
    # Only today's count is ever read (the quota resets at midnight UTC): earlier days
    # start empty, and the counters grow from here on.
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    jobs = sa.table(
        "jobs",
        sa.column("owner_id", sa.Integer()),
        sa.column("shots", sa.Integer()),
        sa.column("num_circuits", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    today = (
        sa.select(
            jobs.c.owner_id,
            sa.literal(now.date(), sa.Date()),
            sa.func.sum(jobs.c.shots * jobs.c.num_circuits),
        )
        .where(jobs.c.created_at >= midnight, jobs.c.status != "cancelled")
        .group_by(jobs.c.owner_id)
    )
    op.execute(daily.insert().from_select(["owner_id", "day", "shots"], today))


def downgrade() -> None:
    op.drop_table("owner_daily")
