"""Alembic environment: runs on the connection otahub hands over (see unit_of_work.upgrade_schema)."""

from alembic import context

from otahub.storage.sql.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
