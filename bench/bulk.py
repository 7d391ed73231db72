"""Bulk-load users, clients, sessions and activities into a migrated database with raw SQL.

Rows are generated inside the database (a recursive CTE on SQLite, ``generate_series`` on
PostgreSQL), with the secondary indexes dropped during the load and recreated from their
own definitions afterwards, so the schema ends up exactly as the migrations made it.

Every user has 10 sessions, on one client. A user's sessions are scattered through the
table: session ``i`` belongs to user ``((i * 7919) mod n) / 10``, where 7919 is prime and
so permutes the ``n`` session numbers. Listing a user therefore reads rows from 10
different places, as it does once sessions are created over months.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

from lastseen.domain.clock import to_millis

SESSIONS_PER_USER = 10
SCATTER = 7919

USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Safari/605.1.15"
)

_TABLES = ("users", "clients", "sessions", "session_activities")


def user_id(number: int) -> str:
    return f"user_{number:027d}"


def load(engine: Engine, session_count: int) -> float:
    """Insert ``session_count`` sessions with their users, clients and activities.

    Returns the seconds the load took.

    ``session_count`` must be a multiple of 10 and not divisible by 7919.
    """
    if session_count % SESSIONS_PER_USER or session_count % SCATTER == 0:
        raise ValueError(
            f"invalid session count {session_count}: must be a multiple of "
            f"{SESSIONS_PER_USER} and not of {SCATTER}"
        )

    start = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    now = to_millis(datetime.now(UTC))
    parameters = {
        "n": session_count,
        "users": session_count // SESSIONS_PER_USER,
        "now": now,
        "week": 7 * 86_400_000,
        "month": 30 * 86_400_000,
        "ua": USER_AGENT,
    }
    with engine.begin() as connection:
        indexes = _secondary_indexes(connection, postgres)
        for name, _definition in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))

        for statement in _POSTGRES if postgres else _SQLITE:
            connection.execute(text(statement), parameters)

        for _name, definition in indexes:
            connection.execute(text(definition))

    # PostgreSQL's autovacuum would analyze the new rows soon after a real load.
    if postgres:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - start


def _secondary_indexes(connection: Connection, postgres: bool) -> list[tuple[str, str]]:
    tables = ", ".join(f"'{table}'" for table in _TABLES)
    if postgres:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes "
            f"WHERE tablename IN ({tables}) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
    else:
        # Indexes that back a PRIMARY KEY or UNIQUE constraint have no SQL and stay.
        query = (
            "SELECT name, sql FROM sqlite_master "
            f"WHERE type = 'index' AND tbl_name IN ({tables}) AND sql IS NOT NULL"
        )
    rows = connection.execute(text(query))
    return [(row[0], row[1]) for row in rows]


# Session i (0-based): user ((i * 7919) % n) / 10, last active up to a week ago.
_SQLITE = (
    """
    WITH RECURSIVE u(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM u WHERE k + 1 < :users)
    INSERT INTO users (id, email_address, first_name, last_name, created_at, updated_at)
    SELECT 'user_' || printf('%027d', k), 'user' || k || '@example.com', 'Bench', 'User',
           :now - :month, :now - :month
    FROM u
    """,
    """
    WITH RECURSIVE u(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM u WHERE k + 1 < :users)
    INSERT INTO clients (id, token_hash, created_at, updated_at)
    SELECT 'client_' || printf('%027d', k), printf('%064d', k), :now - :month, :now
    FROM u
    """,
    """
    WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n)
    INSERT INTO sessions (id, user_id, client_id, status, created_at, updated_at,
                          last_active_at, expire_at, abandon_at, latest_activity_id,
                          latest_ip_address, latest_user_agent, latest_browser_name,
                          latest_browser_version, latest_os_name, latest_os_version,
                          latest_device_type, latest_device_category, latest_is_mobile,
                          latest_city, latest_country, latest_country_code,
                          latest_first_seen_at, latest_last_seen_at)
    SELECT 'sess_' || printf('%027d', i),
           'user_' || printf('%027d', ((i * 7919) % :n) / 10),
           'client_' || printf('%027d', ((i * 7919) % :n) / 10),
           'active',
           :now - (i * 37) % :week - 3600000,
           :now - (i * 37) % :week,
           :now - (i * 37) % :week,
           :now + :week,
           :now + :month,
           'sess_activity_' || printf('%027d', i),
           '81.2.69.' || (i % 250), :ua, 'Safari', '18.1', 'macOS', NULL, 'Macintosh',
           'desktop', 0, 'London', 'United Kingdom', 'GB',
           :now - (i * 37) % :week - 3600000, :now - (i * 37) % :week
    FROM s
    """,
    """
    WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n)
    INSERT INTO session_activities (id, session_id, ip_address, user_agent, browser_name,
        browser_version, os_name, os_version, device_type, device_category, is_mobile,
        city, country, country_code, first_seen_at, last_seen_at)
    SELECT 'sess_activity_' || printf('%027d', i), 'sess_' || printf('%027d', i),
           '81.2.69.' || (i % 250), :ua, 'Safari', '18.1', 'macOS', NULL, 'Macintosh',
           'desktop', 0, 'London', 'United Kingdom', 'GB',
           :now - (i * 37) % :week - 3600000, :now - (i * 37) % :week
    FROM s
    """,
)

_POSTGRES = (
    """
    INSERT INTO users (id, email_address, first_name, last_name, created_at, updated_at)
    SELECT 'user_' || lpad(k::text, 27, '0'), 'user' || k || '@example.com', 'Bench', 'User',
           :now - :month, :now - :month
    FROM generate_series(0, :users - 1) AS k
    """,
    """
    INSERT INTO clients (id, token_hash, created_at, updated_at)
    SELECT 'client_' || lpad(k::text, 27, '0'), lpad(k::text, 64, '0'), :now - :month, :now
    FROM generate_series(0, :users - 1) AS k
    """,
    """
    INSERT INTO sessions (id, user_id, client_id, status, created_at, updated_at,
                          last_active_at, expire_at, abandon_at, latest_activity_id,
                          latest_ip_address, latest_user_agent, latest_browser_name,
                          latest_browser_version, latest_os_name, latest_os_version,
                          latest_device_type, latest_device_category, latest_is_mobile,
                          latest_city, latest_country, latest_country_code,
                          latest_first_seen_at, latest_last_seen_at)
    SELECT 'sess_' || lpad(i::text, 27, '0'),
           'user_' || lpad((((i * 7919) % :n) / 10)::text, 27, '0'),
           'client_' || lpad((((i * 7919) % :n) / 10)::text, 27, '0'),
           'active',
           :now - (i * 37) % :week - 3600000,
           :now - (i * 37) % :week,
           :now - (i * 37) % :week,
           :now + :week,
           :now + :month,
           'sess_activity_' || lpad(i::text, 27, '0'),
           '81.2.69.' || (i % 250), :ua, 'Safari', '18.1', 'macOS', NULL, 'Macintosh',
           'desktop', false, 'London', 'United Kingdom', 'GB',
           :now - (i * 37) % :week - 3600000, :now - (i * 37) % :week
    FROM generate_series(0::bigint, :n - 1) AS i
    """,
    """
    INSERT INTO session_activities (id, session_id, ip_address, user_agent, browser_name,
        browser_version, os_name, os_version, device_type, device_category, is_mobile,
        city, country, country_code, first_seen_at, last_seen_at)
    SELECT 'sess_activity_' || lpad(i::text, 27, '0'), 'sess_' || lpad(i::text, 27, '0'),
           '81.2.69.' || (i % 250), :ua, 'Safari', '18.1', 'macOS', NULL, 'Macintosh',
           'desktop', false, 'London', 'United Kingdom', 'GB',
           :now - (i * 37) % :week - 3600000, :now - (i * 37) % :week
    FROM generate_series(0::bigint, :n - 1) AS i
    """,
)
