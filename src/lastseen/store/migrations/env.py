"""Alembic environment: runs lastseen's migrations on the connection the caller passes."""

from alembic import context
from sqlalchemy import Connection

from lastseen.store.tables import metadata

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
