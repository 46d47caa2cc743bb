"""kept speaker enrollment recordings (encrypted files, one row each)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "speaker_samples",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("speaker_id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["speaker_id"], ["speakers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    with op.batch_alter_table("speaker_samples", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_speaker_samples_speaker_id"), ["speaker_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("speaker_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_speaker_samples_speaker_id"))
    op.drop_table("speaker_samples")
