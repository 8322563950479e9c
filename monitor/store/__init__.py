"""Storage: SQLAlchemy 2.0 models, engine/session factory, repositories, Alembic migrations."""
