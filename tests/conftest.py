"""Shared fixtures: a clock, databases (SQLite always, PostgreSQL when configured), servers."""

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from lastseen.domain.clock import FrozenClock
from lastseen.enrich.geoip import GeoIP
from lastseen.http.app import create_app
from lastseen.service.accounts import Accounts
from lastseen.service.activity import Enricher
from lastseen.service.sessions import Sessions
from lastseen.settings import Settings
from lastseen.store.engine import make_engine
from lastseen.store.schema import migrate
from lastseen.store.sql import SQLStore
from lastseen.store.tables import metadata

POSTGRES_URL = os.environ.get("LASTSEEN_TEST_POSTGRES_URL")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


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


@pytest.fixture(scope="session")
def geolite_test_db() -> Path:
    path = SHARED / "geo-testdata" / "GeoLite2-City-Test.mmdb"
    if not path.exists():
        pytest.skip(f"MaxMind test databases not found at {path.parent}")
    return path


# Servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    url: str
    settings: Settings
    clock: FrozenClock | None
    accounts: Accounts


class ServerThread:
    """A real uvicorn server on loopback, in a thread of the test process."""

    def __init__(self, app: object, port: int) -> None:
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=port,
            proxy_headers=False,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(
    settings: Settings, *, geoip: GeoIP | None = None, clock: FrozenClock | None = None
) -> tuple[ServerThread, RunningServer]:
    engine = make_engine(settings.database_url)
    migrate(engine)
    if clock is None:
        app = create_app(settings, engine=engine, geoip=geoip)
    else:
        app = create_app(settings, engine=engine, geoip=geoip, clock=clock)
    port = free_port()
    accounts: Accounts = app.state.runtime.accounts
    running = RunningServer(f"http://127.0.0.1:{port}", settings, clock, accounts)
    return ServerThread(app, port), running


SECRET_KEY = "sk_test_" + "k" * 40


@pytest.fixture
def server(sqlite_url: str, geolite_test_db: Path) -> Iterator[RunningServer]:
    """lastseen on loopback with SQLite, the GeoLite2 test database and the real clock."""
    settings = Settings(database_url=sqlite_url, secret_key=SECRET_KEY, geoip_db=str(geolite_test_db))
    thread, running = start_server(settings, geoip=GeoIP(geolite_test_db))
    with thread:
        yield running
