"""Indexes for the hot queries: the claim order, and a user's active jobs.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    op.create_index(
        "ix_jobs_claim",
        "jobs",
        [sa.text("priority DESC"), "fair_seq", "created_at"],
        postgresql_where=_QUEUED,
        sqlite_where=_QUEUED,
    )
    op.create_index("ix_jobs_owner_status", "jobs", ["owner_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_jobs_owner_status", table_name="jobs")
    op.drop_index("ix_jobs_claim", table_name="jobs")
