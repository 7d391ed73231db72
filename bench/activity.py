"""Row 4: activity recording (`Sessions.record_activity`), per process, SQLite and PostgreSQL.

Two paths are measured. In the *write* path every request comes from a new IP address,
so lastseen stores a new activity. In the *throttled* path the IP address and User-Agent
repeat within the touch interval, so nothing is written. The floors are the building
blocks alone: ua-parser's cached parse, maxminddb's ``get`` and, for writes, one raw
``UPDATE`` in autocommit mode through the stdlib ``sqlite3`` module or psycopg.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import maxminddb
import ua_parser
from sqlalchemy import Engine

from bench import corpus, databases
from bench.context import RunContext
from bench.measure import Case, interleave
from bench.results import Check, Figure, Goal, RowResult
from lastseen.domain.clock import Clock, FrozenClock, system_clock, to_millis
from lastseen.domain.sessions import Session
from lastseen.enrich.client_ip import IPAddress
from lastseen.enrich.geoip import GeoIP, bundled_geolite2_path
from lastseen.service.accounts import Accounts
from lastseen.service.activity import Enricher, RequestFacts
from lastseen.service.sessions import Sessions
from lastseen.settings import Settings
from lastseen.store.engine import make_engine
from lastseen.store.sql import SQLStore

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SESSION_COUNT = 50
# The server's default: activity writes wait this long in memory and go out in batches.
FLUSH_INTERVAL = Settings().activity_flush_interval.total_seconds()

_UPDATE_SQLITE = "UPDATE sessions SET last_active_at = ?, updated_at = ? WHERE id = ?"
_UPDATE_POSTGRES = "UPDATE sessions SET last_active_at = %s, updated_at = %s WHERE id = %s"


@dataclass
class Backend:
    """One database with lastseen's schema, the sessions to record on and a raw UPDATE."""

    name: str
    url: str
    # Runs the floor's UPDATE for one session id, committing it.
    raw_update: Callable[[str], None]


def run(ctx: RunContext) -> RowResult:
    row = RowResult("4", "Activity recording, per process")
    path = bundled_geolite2_path()
    if path is None:
        row.skipped = "maxminddb-geolite2 is not installed: pip install -e '.[geoip]'"
        return row

    with ExitStack() as stack:
        geoip = stack.enter_context(GeoIP(path))
        reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
        stack.callback(reader.close)

        backends = [stack.enter_context(_sqlite_backend(ctx.scratch("activity") / "a.db"))]
        unavailable = databases.postgres_available(ctx.postgres_url)
        if unavailable is None:
            assert ctx.postgres_url is not None
            backends.append(stack.enter_context(_postgres_backend(ctx.postgres_url)))
        else:
            row.notes.append(f"PostgreSQL skipped: {unavailable}.")

        for backend in backends:
            _measure(ctx, row, backend, geoip, reader)

    row.notes += [
        f"{SESSION_COUNT} sessions of one user, each with one Chrome User-Agent. The write "
        "path alternates every session between two random public IPv4 addresses, so each "
        "call stores a new activity (INSERT into session_activities and UPDATE of sessions).",
        f"lastseen's store buffers activity as the server does (LASTSEEN_ACTIVITY_FLUSH_MS, "
        f"{FLUSH_INTERVAL * 1000:.0f} ms by default) and writes what is pending in one "
        "transaction. Each repetition of the write path ends with a flush, so every write "
        "it made is in its time.",
        "The throttled path repeats the stored address and User-Agent under a frozen clock, "
        "so `record_activity` parses, locates and returns without a write.",
        "Floors: `ua_parser.parse` (cache hit) + maxminddb `.get()` + one autocommit UPDATE "
        "of last_active_at (SQLite: WAL, synchronous=NORMAL, like lastseen's engine; "
        "PostgreSQL: psycopg, server defaults, so each commit waits for the WAL flush). "
        "The no-write floor omits the UPDATE.",
        "The PostgreSQL server is the machine's own service, not pinned to a CPU.",
    ]
    return row


def _measure(
    ctx: RunContext, row: RowResult, backend: Backend, geoip: GeoIP, reader: maxminddb.Reader
) -> None:
    addresses = corpus.public_ipv4(2 * SESSION_COUNT, seed=corpus.SEED + 4)
    frozen = FrozenClock(datetime.now(UTC))
    engine = make_engine(backend.url)
    opened: list[_Prepared] = []
    try:
        writer = _prepared(engine, geoip, system_clock, addresses, "writer")
        opened.append(writer)
        throttled = _prepared(engine, geoip, frozen, addresses, "throttled")
        opened.append(throttled)
        writes = ctx.scaled(2000, 200) if backend.name == "SQLite" else ctx.scaled(1000, 100)
        reads = ctx.scaled(20_000, 3_000)
        name = backend.name

        samples = interleave(
            {
                f"{name}: record_activity, new IP (writes)": _writes(writer, writes),
                f"{name}: floor, UA + GeoIP + raw UPDATE": _floor(
                    reader, writer, writes, backend.raw_update
                ),
                f"{name}: record_activity, throttled (no write)": _throttled(throttled, reads),
                f"{name}: floor, UA + GeoIP": _floor(reader, throttled, reads, None),
            },
            ctx.repetitions,
        )
    finally:
        for prepared in opened:
            prepared.store.close()
        engine.dispose()

    figures = [Figure(label, sample) for label, sample in samples.items()]
    row.figures += figures
    row.checks += [
        Check(f"{name}: write path vs floor", figures[0], Goal.MIN_RATE_RATIO, 0.5, figures[1]),
        Check(f"{name}: throttled vs floor", figures[2], Goal.MIN_RATE_RATIO, 0.5, figures[3]),
    ]


@dataclass
class _Prepared:
    """Sessions to record on, with the facts of their two addresses."""

    store: SQLStore
    service: Sessions
    sessions: list[Session]
    # facts[i] is the pair of request facts that session i alternates between.
    facts: list[tuple[RequestFacts, RequestFacts]]


def _prepared(
    engine: Engine,
    geoip: GeoIP,
    clock: Clock,
    addresses: list[ipaddress.IPv4Address],
    name: str,
) -> _Prepared:
    store = SQLStore(engine, activity_flush_interval=FLUSH_INTERVAL)
    service = Sessions(store, Enricher(geoip), clock=clock)
    accounts = Accounts(service)
    user = databases.add_user(store, f"{name}@example.com")

    sessions, facts = [], []
    for index in range(SESSION_COUNT):
        pair = (
            RequestFacts(ip_address=addresses[2 * index], user_agent=USER_AGENT),
            RequestFacts(ip_address=addresses[2 * index + 1], user_agent=USER_AGENT),
        )
        client, _token = accounts.new_client()
        sessions.append(service.create_session(user, client, pair[0]))
        facts.append(pair)
    return _Prepared(store, service, sessions, facts)


def _writes(prepared: _Prepared, count: int) -> Case:
    # Each call switches the session to its other address, so every call writes.
    flips = [1] * SESSION_COUNT

    def loop() -> int:
        record = prepared.service.record_activity
        sessions = prepared.sessions
        for step in range(count):
            index = step % SESSION_COUNT
            sessions[index] = record(sessions[index], prepared.facts[index][flips[index]])
            flips[index] ^= 1
        prepared.store.flush()
        return count

    return Case(loop)


def _throttled(prepared: _Prepared, count: int) -> Case:
    def loop() -> int:
        record = prepared.service.record_activity
        sessions = prepared.sessions
        for step in range(count):
            index = step % SESSION_COUNT
            session = sessions[index]
            if record(session, prepared.facts[index][0]) is not session:
                raise RuntimeError("the throttled path wrote: the frozen clock did not hold")
        return count

    return Case(loop)


def _floor(
    reader: maxminddb.Reader,
    prepared: _Prepared,
    count: int,
    raw_update: Callable[[str], None] | None,
) -> Case:
    ids = [session.id for session in prepared.sessions]
    addresses = [(_address(first), _address(second)) for first, second in prepared.facts]
    # The write floor alternates addresses like `_writes`; the no-write floor repeats the
    # stored one like `_throttled`.
    flips = [1 if raw_update is not None else 0] * SESSION_COUNT

    def loop() -> int:
        parse = ua_parser.parse
        get = reader.get
        for step in range(count):
            index = step % SESSION_COUNT
            parse(USER_AGENT)
            get(addresses[index][flips[index]])
            if raw_update is not None:
                flips[index] ^= 1
                raw_update(ids[index])
        return count

    return Case(loop)


def _address(facts: RequestFacts) -> IPAddress:
    if facts.ip_address is None:
        raise ValueError("the benchmark's request facts always carry an address")
    return facts.ip_address


@contextmanager
def _sqlite_backend(path: Path) -> Iterator[Backend]:
    databases.migrated_sqlite(path).dispose()
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # The same settings as lastseen's engine, so that both pay the same commit cost.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")

    def update(session_id: str) -> None:
        millis = to_millis(datetime.now(UTC))
        connection.execute(_UPDATE_SQLITE, (millis, millis, session_id))

    try:
        yield Backend("SQLite", databases.sqlite_url(path), update)
    finally:
        connection.close()


@contextmanager
def _postgres_backend(admin_url: str) -> Iterator[Backend]:
    import psycopg

    with databases.postgres_database(admin_url) as url:
        connection = psycopg.connect(url, autocommit=True)

        def update(session_id: str) -> None:
            millis = to_millis(datetime.now(UTC))
            connection.execute(_UPDATE_POSTGRES, (millis, millis, session_id))

        try:
            yield Backend("PostgreSQL", url, update)
        finally:
            connection.close()
