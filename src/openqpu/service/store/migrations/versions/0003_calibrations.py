"""Calibration snapshots of the emulated chips, kept as history.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calibrations",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.UniqueConstraint("device", "epoch", name="uq_calibrations_device_epoch"),
    )


def downgrade() -> None:
    op.drop_table("calibrations")
