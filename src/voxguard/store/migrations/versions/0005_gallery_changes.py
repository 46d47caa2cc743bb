"""gallery version and change log (1:N index kept in step across workers)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gallery_changes",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("speaker_id", sa.String(length=32), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.bulk_insert(
        meta,
        [
            {"key": "gallery_version", "value": "0"},
            # Tells this database's versions from another's (a restored or a new database under
            # the same data directory): a persisted index is only replayed onto its own.
            {"key": "gallery_epoch", "value": uuid.uuid4().hex},
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM meta WHERE key IN ('gallery_version', 'gallery_epoch')")
    op.drop_table("gallery_changes")
