"""Alembic environment: always run with a connection handed in by ``voxguard.store.db``."""

from __future__ import annotations

from alembic import context

from voxguard.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through voxguard.store.db.migrate()")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
