"""Storage: SQLAlchemy models, sessions, read queries and Alembic migrations."""
