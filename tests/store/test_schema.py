"""Alembic migrations on empty SQLite and PostgreSQL databases, and the startup schema check."""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from lastseen.domain.clock import to_millis
from lastseen.errors import ConfigurationError
from lastseen.store.engine import make_engine
from lastseen.store.schema import (
    current_revision,
    downgrade,
    head_revision,
    migrate,
    require_current,
)
from lastseen.store.sql import SQLStore
from lastseen.store.tables import clients, metadata, session_activities, sessions, users

POSTGRES_URL = os.environ.get("LASTSEEN_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables at all."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
        yield engine
        engine.dispose()
        return

    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need LASTSEEN_TEST_POSTGRES_URL (set by .ci/run)")
    name = f"lastseen_schema_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_head_revision() -> None:
    assert head_revision() is not None


def test_migrate_reaches_head(blank_engine: Engine) -> None:
    before = current_revision(blank_engine)

    migrate(blank_engine)

    assert before is None
    assert current_revision(blank_engine) == head_revision()
    require_current(blank_engine)


def test_migrate_twice(blank_engine: Engine) -> None:
    migrate(blank_engine)
    migrate(blank_engine)

    assert current_revision(blank_engine) == head_revision()


def test_migrate_creates_tables(blank_engine: Engine) -> None:
    migrate(blank_engine)

    tables = set(inspect(blank_engine).get_table_names())

    assert tables == {*metadata.tables, "alembic_version"}


def test_require_current_unmigrated(blank_engine: Engine) -> None:
    with pytest.raises(ConfigurationError, match="run `lastseen migrate`") as caught:
        require_current(blank_engine)

    assert "revision none" in str(caught.value)
    assert str(head_revision()) in str(caught.value)


# SQLAlchemy cannot reflect SQLite's expression indexes and warns; the index on
# lower(email_address) is checked by test_email_index_is_unique_ignoring_case instead.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_schema_matches_tables(blank_engine: Engine) -> None:
    migrate(blank_engine)

    with blank_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)

    assert differences == []


def test_email_index_is_unique_ignoring_case(blank_engine: Engine) -> None:
    migrate(blank_engine)
    insert = text(
        "INSERT INTO users (id, email_address, created_at, updated_at) VALUES (:id, :email, 0, 0)"
    )

    with blank_engine.begin() as connection:
        connection.execute(insert, {"id": "user_1", "email": "Ada@Example.com"})
    with pytest.raises(IntegrityError), blank_engine.begin() as connection:
        connection.execute(insert, {"id": "user_2", "email": "ada@example.COM"})


def store_sessions_before_copies(engine: Engine) -> None:
    """Store three sessions at revision 0003: with two activities, a lost one, and none."""
    migrate(engine, "0003")
    session = {
        "user_id": "user_1",
        "client_id": "client_1",
        "status": "active",
        "created_at": 1000,
        "updated_at": 6000,
        "last_active_at": 6000,
        "expire_at": 10**13,
        "abandon_at": 10**13,
    }
    rows = [
        (users, {"id": "user_1", "created_at": 0, "updated_at": 0}),
        (clients, {"id": "client_1", "token_hash": "0" * 64, "created_at": 0, "updated_at": 0}),
        (sessions, {**session, "id": "sess_1", "latest_activity_id": "sess_activity_2"}),
        (sessions, {**session, "id": "sess_lost", "latest_activity_id": "sess_activity_gone"}),
        (sessions, {**session, "id": "sess_none", "latest_activity_id": None}),
    ]
    for number, ip, city, first, last in [
        (1, "192.0.2.1", None, 1000, 2000),
        (2, "198.51.100.7", "Paris", 3000, 5000),
    ]:
        activity = {
            "id": f"sess_activity_{number}",
            "session_id": "sess_1",
            "ip_address": ip,
            "user_agent": "Mozilla/5.0",
            "browser_name": "Firefox",
            "device_category": "desktop",
            "is_mobile": False,
            "city": city,
            "first_seen_at": first,
            "last_seen_at": last,
        }
        rows.append((session_activities, activity))

    # Core inserts name only the columns given, all of which exist at revision 0003.
    with engine.begin() as connection:
        for table, values in rows:
            connection.execute(insert(table).values(values))


def test_upgrade_copies_latest_activity(blank_engine: Engine) -> None:
    store_sessions_before_copies(blank_engine)

    migrate(blank_engine)
    session = SQLStore(blank_engine).get_session("sess_1")

    assert session is not None
    assert session.latest_activity is not None
    assert session.latest_activity.id == "sess_activity_2"
    assert session.latest_activity.ip_address == "198.51.100.7"
    assert session.latest_activity.city == "Paris"
    assert session.latest_activity.browser_name == "Firefox"
    assert session.latest_activity.is_mobile is False
    assert to_millis(session.latest_activity.first_seen_at) == 3000
    assert to_millis(session.latest_activity.last_seen_at) == 5000


def test_upgrade_without_activity(blank_engine: Engine) -> None:
    # A session whose latest activity row is gone reads as having none, as the join did.
    store_sessions_before_copies(blank_engine)

    migrate(blank_engine)
    store = SQLStore(blank_engine)
    listed = {session.id: session.latest_activity for session in store.list_user_sessions("user_1")}

    assert listed["sess_1"] is not None
    assert listed["sess_lost"] is None
    assert listed["sess_none"] is None
    assert store.get_session("sess_lost") is not None


def test_downgrade_keeps_activities(blank_engine: Engine) -> None:
    # On SQLite, rebuilding the sessions table would cascade to every activity.
    store_sessions_before_copies(blank_engine)
    migrate(blank_engine)

    downgrade(blank_engine, "0002")
    with blank_engine.connect() as connection:
        activities = connection.execute(select(func.count()).select_from(session_activities))
        columns = {column["name"] for column in inspect(connection).get_columns("sessions")}

    assert activities.scalar_one() == 2
    assert "ended_at" not in columns
    assert "latest_ip_address" not in columns
    assert current_revision(blank_engine) == "0002"
