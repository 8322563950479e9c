"""The application object the CLI and daemon share: config, engine and sessions, built lazily.

It is created once by the CLI from ``--config`` and handed down; nothing below the CLI reads
it as a global (STYLE.md 5). Building the engine lazily keeps ``deliverwatch parse`` and
``deliverwatch --help`` free of database imports and connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from monitor.config import Config

__all__ = ["App"]


@dataclass
class App:
    config_path: str | None = None
    _config: Config | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)
    _factory: sessionmaker[Session] | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Config) -> App:
        return cls(config_path=str(config.source) if config.source else None, _config=config)

    @property
    def config(self) -> Config:
        if self._config is None:
            from monitor.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from monitor.store.db import make_engine

            db = self.config.database
            self._engine = make_engine(
                db.url.reveal(),
                echo=db.echo,
                busy_timeout_ms=round(db.busy_timeout_seconds * 1000),
            )
        return self._engine

    def sessions(self, *, require_schema: bool = True) -> sessionmaker[Session]:
        """The session factory; by default refuses a database that is not migrated to head."""
        if self._factory is None:
            from monitor.store.db import (
                current_revision,
                head_revision,
                make_session_factory,
                schema_is_current,
            )

            if require_schema and not schema_is_current(self.engine):
                current, head = current_revision(self.engine), head_revision()
                if current is None:
                    raise StoreError(
                        "the database has no schema yet: run `deliverwatch db upgrade`"
                    )
                if current != head:
                    raise StoreError(
                        f"the database schema is at {current}, this version needs {head}: "
                        "run `deliverwatch db upgrade`"
                    )
            self._factory = make_session_factory(self.engine)
        return self._factory

    def database_label(self) -> str | None:
        """Where the database is, password hidden (for error lines); None when the config
        cannot be read."""
        from monitor.config import mask_database_url
        from monitor.errors import MonitorError

        try:
            return mask_database_url(self.config.database.url.reveal())
        except MonitorError:
            return None

    def now(self) -> datetime:
        """The application clock (one place to fake in tests)."""
        return datetime.now(UTC)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._factory = None
