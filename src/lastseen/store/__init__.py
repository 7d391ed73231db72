"""Storage: SQLAlchemy Core tables, Alembic migrations and the SQL store."""
