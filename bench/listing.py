"""Row 6: `Sessions.list_active_sessions` with a small and a large sessions table.

The same user count per list (10 sessions) is read from a table of 1,000 sessions and
from one of 1,000,000 (20,000 under ``--quick``), on SQLite and PostgreSQL. The target
is that the large table costs at most 1.2 times the small one, that is, the query stays
an index lookup whatever the table size.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import Engine

from bench import bulk, databases
from bench.context import RunContext
from bench.measure import Case, interleave
from bench.results import Check, Figure, Goal, RowResult
from lastseen.service.activity import Enricher
from lastseen.service.sessions import Sessions
from lastseen.store import sql
from lastseen.store.engine import make_engine
from lastseen.store.sql import SQLStore

SMALL = 1_000


def run(ctx: RunContext) -> RowResult:
    row = RowResult("6", "Listing a user's sessions, small and large table")
    large = ctx.scaled(1_000_000, 20_000)
    unavailable = databases.postgres_available(ctx.postgres_url)

    backends = ["SQLite"]
    if unavailable is None:
        backends.append("PostgreSQL")
    else:
        row.notes.append(f"PostgreSQL skipped: {unavailable}.")

    for backend in backends:
        with ExitStack() as stack:
            engines = {}
            for size in (SMALL, large):
                engine = stack.enter_context(_database(ctx, backend, size))
                seconds = bulk.load(engine, size)
                row.notes.append(f"{backend}: loaded {size:,} sessions in {seconds:.1f} s.")
                engines[size] = engine

            lists = ctx.scaled(2000, 500) if backend == "SQLite" else ctx.scaled(1000, 300)
            samples = interleave(
                {
                    f"{backend}: {size:,} sessions": _list_case(engine, size, lists)
                    for size, engine in engines.items()
                },
                ctx.repetitions,
            )
        small_figure, large_figure = (Figure(label, sample) for label, sample in samples.items())
        row.figures += [small_figure, large_figure]
        row.checks.append(
            Check(
                f"{backend}: {large:,} vs {SMALL:,} sessions",
                large_figure,
                Goal.MAX_COST_RATIO,
                1.2,
                floor=small_figure,
            )
        )

    row.notes += [
        "Each list reads the 10 active sessions of a random user (seeded) with their latest "
        "activity, through `Sessions.list_active_sessions` on lastseen's engine "
        "(`make_engine`), so the time includes the connection pool, the query and the "
        "building of Session objects. lastseen's cache of Session objects by row is "
        "emptied before every list, so both tables build every object from its row.",
        "A list reads the sessions table only: each session row carries a copy of its "
        "latest activity's facts (migration 0004), so no join with session_activities.",
        "Rows were bulk-loaded with raw SQL: each user's 10 sessions are scattered through "
        "the table. PostgreSQL was vacuumed and analyzed after the load; SQLite was not "
        "analyzed, because lastseen does not run ANALYZE.",
    ]
    return row


@contextmanager
def _database(ctx: RunContext, backend: str, size: int) -> Iterator[Engine]:
    if backend == "SQLite":
        engine = databases.migrated_sqlite(ctx.scratch("listing") / f"sessions-{size}.db")
        try:
            yield engine
        finally:
            engine.dispose()
        return

    assert ctx.postgres_url is not None
    with databases.postgres_database(ctx.postgres_url) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _list_case(engine: Engine, size: int, count: int) -> Case:
    service = Sessions(SQLStore(engine), Enricher())
    rng = random.Random(size)
    users = [bulk.user_id(rng.randrange(size // bulk.SESSIONS_PER_USER)) for _ in range(count)]

    def loop() -> int:
        list_active = service.list_active_sessions
        forget_sessions = sql._session_from_tuple.cache_clear
        for user in users:
            # The small table's sessions all fit in lastseen's cache of Session objects and
            # the large one's do not, so with the cache this row would compare hits with
            # misses rather than table sizes.
            forget_sessions()
            if len(list_active(user)) != bulk.SESSIONS_PER_USER:
                raise RuntimeError(f"user {user} does not have {bulk.SESSIONS_PER_USER} sessions")
        return len(users)

    return Case(loop)
