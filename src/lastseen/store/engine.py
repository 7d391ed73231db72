"""Engines for SQLite (the embedded default) and PostgreSQL."""

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL mode and foreign keys."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")

    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)

    # The server calls the store from its event loop and from worker threads.
    engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL lets readers run beside the one writer; NORMAL sync is safe with WAL and
    # avoids an fsync per commit.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A user's sessions are scattered over a large table. Memory-mapped reads keep listing
    # them fast at a million rows, in file-backed pages that every process shares. A larger
    # page cache would do the same, but in private memory that grows with use.
    cursor.execute("PRAGMA mmap_size=1073741824")  # 1 GiB
    cursor.close()
