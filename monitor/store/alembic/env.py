"""Alembic environment: the engine is handed in by ``monitor.store.db`` (never from an ini)."""

from __future__ import annotations

from alembic import context

from monitor.store.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",  # SQLite ALTER needs batch mode
        compare_type=True,
    )
    context.run_migrations()
