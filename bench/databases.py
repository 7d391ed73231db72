"""Benchmark databases: migrated SQLite files and throw-away PostgreSQL databases."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from lastseen.domain import ids
from lastseen.domain.users import User
from lastseen.store.engine import make_engine
from lastseen.store.schema import migrate
from lastseen.store.sql import SQLStore


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def migrated_sqlite(path: Path) -> Engine:
    """Create a fresh SQLite file at ``path`` with lastseen's schema."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(sqlite_url(path))
    migrate(engine)
    return engine


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """Create an empty PostgreSQL database with lastseen's schema; drop it on exit.

    ``admin_url`` names any database on the server that the user may connect to. The
    new database's URL is yielded.
    """
    name = f"lastseen_bench_{secrets.token_hex(4)}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available(admin_url: str | None) -> str | None:
    """Return the reason PostgreSQL is unusable, or None when ``admin_url`` accepts a query."""
    if not admin_url:
        return (
            "no PostgreSQL URL: set LASTSEEN_BENCH_POSTGRES_URL or pass --postgres-url "
            "(for example postgresql://postgres@127.0.0.1:5432/test)"
        )
    engine = make_engine(admin_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any driver or network error means "not available"
        return f"PostgreSQL at {make_url(admin_url).render_as_string()} did not answer: {error}"
    finally:
        engine.dispose()
    return None


def add_user(store: SQLStore, email: str) -> User:
    """Insert a user without a password, so that no argon2 hash is computed."""
    now = datetime.now(UTC)
    user = User(
        id=ids.new_id(ids.USER),
        email_address=email,
        username=None,
        password_hash=None,
        external_id=None,
        first_name="Bench",
        last_name="User",
        created_at=now,
        updated_at=now,
    )
    store.add_user(user)
    return user
