"""Alembic migrations on empty SQLite and PostgreSQL databases, and the startup schema check."""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from lastseen.domain.clock import to_millis
from lastseen.errors import ConfigurationError
from lastseen.store.engine import make_engine
from lastseen.store.schema import current_revision, head_revision, migrate, require_current
from lastseen.store.sql import SQLStore
from lastseen.store.tables import metadata, session_activities

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


def test_upgrade_copies_latest_activity(blank_engine: Engine) -> None:
    # Sessions stored before revision 0004 get the copy of their latest activity's facts.
    migrate(blank_engine, "0003")
    rows = {
        "users": {"id": "user_1", "created_at": 0, "updated_at": 0},
        "clients": {"id": "client_1", "token_hash": "0" * 64, "created_at": 0, "updated_at": 0},
        "sessions": {
            "id": "sess_1",
            "user_id": "user_1",
            "client_id": "client_1",
            "status": "active",
            "created_at": 1000,
            "updated_at": 5000,
            "last_active_at": 5000,
            "expire_at": 10**13,
            "abandon_at": 10**13,
            "latest_activity_id": "sess_activity_2",
        },
    }
    activities = [
        {"id": "sess_activity_1", "ip": "192.0.2.1", "city": None, "first": 1000, "last": 2000},
        {
            "id": "sess_activity_2",
            "ip": "198.51.100.7",
            "city": "Paris",
            "first": 3000,
            "last": 5000,
        },
    ]
    # Core inserts name only the columns given, all of which exist at revision 0003.
    with blank_engine.begin() as connection:
        for table, values in rows.items():
            connection.execute(insert(metadata.tables[table]).values(values))
        for activity in activities:
            connection.execute(
                insert(session_activities).values(
                    id=activity["id"],
                    session_id="sess_1",
                    ip_address=activity["ip"],
                    user_agent="Mozilla/5.0",
                    browser_name="Firefox",
                    device_category="desktop",
                    is_mobile=False,
                    city=activity["city"],
                    first_seen_at=activity["first"],
                    last_seen_at=activity["last"],
                )
            )

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
