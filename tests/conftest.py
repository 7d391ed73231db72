"""Shared fixtures: a clock, databases (SQLite always, PostgreSQL when configured), servers."""

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import mmdb_writer
import pytest
from netaddr import IPSet
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from helpers import ENCRYPTION_KEY, SECRET_KEY, RunningServer, ServerFactory, start_server
from lastseen.domain.clock import FrozenClock
from lastseen.enrich.client_ip import TrustedProxies
from lastseen.enrich.geoip import GeoIP
from lastseen.service.accounts import Accounts
from lastseen.service.activity import Enricher
from lastseen.service.sessions import Sessions
from lastseen.settings import Settings
from lastseen.store.engine import make_engine
from lastseen.store.schema import migrate
from lastseen.store.sql import SQLStore
from lastseen.store.tables import metadata

POSTGRES_URL = os.environ.get("LASTSEEN_TEST_POSTGRES_URL")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))


# Databases


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lastseen.db'}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need LASTSEEN_TEST_POSTGRES_URL (set by .ci/run)")

    name = f"lastseen_test_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url

    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(url: str) -> Engine:
    engine = make_engine(url)
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} CASCADE"))
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Engine]:
    """A migrated, empty database: every store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(sqlite_url)
        migrate(engine)
    else:
        engine = _empty_postgres(request.getfixturevalue("postgres_database"))
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> SQLStore:
    return SQLStore(engine)


@pytest.fixture
def sessions(store: SQLStore, clock: FrozenClock) -> Sessions:
    return Sessions(store, Enricher(), clock=clock)


@pytest.fixture
def accounts(sessions: Sessions) -> Accounts:
    return Accounts(sessions)


# GeoIP


# City records for the test servers: public networks with English and German names.
CITY_RECORDS = {
    "81.2.69.0/24": ("London", "United Kingdom", "Vereinigtes Königreich", "GB"),
    "89.160.20.0/24": ("Linköping", "Sweden", "Schweden", "SE"),
}


@pytest.fixture(scope="session")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small City ``.mmdb`` built with mmdb-writer, so servers need no outside files."""
    writer = mmdb_writer.MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type="Lastseen-Test-City", languages=["en"]
    )
    for network, (city, country, country_de, code) in CITY_RECORDS.items():
        record = {
            "city": {"names": {"en": city}},
            "country": {"iso_code": code, "names": {"en": country, "de": country_de}},
        }
        writer.insert_network(IPSet([network]), record)

    path = tmp_path_factory.mktemp("geoip") / "city.mmdb"
    writer.to_db_file(str(path))
    return path


# Servers


@pytest.fixture
def serve(sqlite_url: str, city_db: Path) -> Iterator[ServerFactory]:
    """Start lastseen on loopback with SQLite and a small City database.

    Keyword arguments override settings; ``clock=`` injects a FrozenClock.
    """
    stack = ExitStack()

    def start(clock: FrozenClock | None = None, **overrides: object) -> RunningServer:
        fields: dict[str, object] = {
            "database_url": sqlite_url,
            "secret_key": SECRET_KEY,
            "geoip_db": str(city_db),
            "encryption_key": ENCRYPTION_KEY,
            **overrides,
        }
        settings = Settings(**fields)  # type: ignore[arg-type]
        geoip = GeoIP(settings.geoip_db) if settings.geoip_db else None
        thread, running = start_server(settings, geoip=geoip, clock=clock)
        stack.enter_context(thread)
        stack.callback(running.close_clients)
        return running

    with stack:
        yield start


@pytest.fixture
def server(serve: ServerFactory) -> RunningServer:
    """lastseen with default settings but for 127.0.0.1 as a trusted proxy.

    Trusting the loopback proxy lets tests choose a client address with X-Forwarded-For.
    """
    return serve(trusted_proxies=TrustedProxies.parse("127.0.0.1"))
