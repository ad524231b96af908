"""Alembic environment: runs on the connection tripp hands over (see tripp.db.migrate)."""

from __future__ import annotations

from alembic import context

import tripp.webhooks.tables  # noqa: F401  (registers its tables on the metadata)
from tripp.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
