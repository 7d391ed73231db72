"""Buffered activity writes on SQLite and PostgreSQL: batching, reads and shutdown."""

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, select
from test_sql_store import MINUTE, NOW, add_session, make_activity, make_client, make_user

from lastseen.domain.clock import to_millis
from lastseen.domain.sessions import Session
from lastseen.domain.users import Client, User
from lastseen.store.activity_buffer import MAX_ATTEMPTS, Batch
from lastseen.store.sql import SQLStore
from lastseen.store.tables import session_activities
from lastseen.store.tables import sessions as sessions_table

# The columns of sessions that copy the latest activity's facts, by activity column name.
COPIED_FACTS = [
    column.name.removeprefix("latest_")
    for column in sessions_table.c
    if column.name.startswith("latest_") and column.name != "latest_activity_id"
]

# Long enough that the background thread never flushes during a test that does not wait.
NEVER = 3600.0


@pytest.fixture
def buffered(engine: Engine) -> Iterator[SQLStore]:
    store = SQLStore(engine, activity_flush_interval=NEVER)
    yield store
    store.close()


def stored_session(engine: Engine, session_id: str) -> Any:
    """Read the session row straight from the database, past the store and its buffer."""
    query = select(sessions_table).where(sessions_table.c.id == session_id)
    with engine.connect() as connection:
        return connection.execute(query).one()


def stored_activities(engine: Engine, session_id: str) -> list[Any]:
    query = (
        select(session_activities)
        .where(session_activities.c.session_id == session_id)
        .order_by(session_activities.c.first_seen_at)
    )
    with engine.connect() as connection:
        return list(connection.execute(query))


def test_write_waits_for_flush(
    buffered: SQLStore, engine: Engine, user: User, client: Client
) -> None:
    session = add_session(buffered, user, client)
    activity = make_activity(session.id, NOW + MINUTE, ip="198.51.100.9")

    buffered.add_activity(activity)
    before = stored_session(engine, session.id)
    buffered.flush()
    after = stored_session(engine, session.id)

    assert before.latest_activity_id == session.latest_activity.id  # type: ignore[union-attr]
    assert after.latest_activity_id == activity.id
    assert after.last_active_at == to_millis(NOW + MINUTE)


def test_read_sees_pending_write(buffered: SQLStore, user: User, client: Client) -> None:
    session = add_session(buffered, user, client)
    activity = make_activity(session.id, NOW + MINUTE, ip="198.51.100.9")

    buffered.add_activity(activity)
    by_id = buffered.get_session(session.id)
    listed = buffered.list_user_sessions(user.id)

    assert by_id is not None
    assert by_id.latest_activity == activity
    assert [found.latest_activity for found in listed] == [activity]


def test_client_read_sees_pending_write(buffered: SQLStore, user: User, client: Client) -> None:
    session = add_session(buffered, user, client)
    activity = make_activity(session.id, NOW + MINUTE, ip="198.51.100.9")

    buffered.add_activity(activity)
    found = buffered.find_client_session(client.token_hash, session.id)

    assert found is not None
    assert found[1] is not None
    assert found[1].latest_activity == activity


def test_writes_to_one_session_collapse(
    buffered: SQLStore, engine: Engine, user: User, client: Client
) -> None:
    session = add_session(buffered, user, client)
    first = make_activity(session.id, NOW + MINUTE, ip="198.51.100.1")
    second = make_activity(session.id, NOW + 3 * MINUTE, ip="198.51.100.2")

    buffered.add_activity(first)
    buffered.touch(session.id, first.id, NOW + 2 * MINUTE)
    buffered.add_activity(second)
    buffered.touch(session.id, second.id, NOW + 4 * MINUTE)
    buffered.flush()

    rows = stored_activities(engine, session.id)
    stored = stored_session(engine, session.id)
    assert [row.ip_address for row in rows] == ["203.0.113.7", "198.51.100.1", "198.51.100.2"]
    assert rows[1].last_seen_at == to_millis(NOW + 2 * MINUTE)
    assert rows[2].last_seen_at == to_millis(NOW + 4 * MINUTE)
    assert stored.latest_activity_id == second.id
    assert stored.last_active_at == to_millis(NOW + 4 * MINUTE)


def test_touch_of_stored_activity(
    buffered: SQLStore, engine: Engine, user: User, client: Client
) -> None:
    session = add_session(buffered, user, client)
    assert session.latest_activity is not None

    buffered.touch(session.id, session.latest_activity.id, NOW + MINUTE)
    buffered.flush()

    rows = stored_activities(engine, session.id)
    stored = stored_session(engine, session.id)
    assert [row.last_seen_at for row in rows] == [to_millis(NOW + MINUTE)]
    assert stored.last_active_at == to_millis(NOW + MINUTE)
    assert stored.latest_activity_id == session.latest_activity.id


def test_close_writes_pending(engine: Engine) -> None:
    store = SQLStore(engine, activity_flush_interval=NEVER)
    user, client = make_user(), make_client()
    store.add_user(user)
    store.add_client(client)
    session = add_session(store, user, client)
    activity = make_activity(session.id, NOW + MINUTE, ip="198.51.100.9")

    store.add_activity(activity)
    store.close()

    assert stored_session(engine, session.id).latest_activity_id == activity.id


def test_deleted_session_dropped_from_batch(
    buffered: SQLStore, engine: Engine, user: User, client: Client
) -> None:
    # Another process deletes a user while this one buffers activity of the user's session.
    other_user = make_user("grace@example.com")
    buffered.add_user(other_user)
    doomed = add_session(buffered, other_user, client)
    surviving = add_session(buffered, user, client)
    doomed_activity = make_activity(doomed.id, NOW + MINUTE, ip="198.51.100.1")
    surviving_activity = make_activity(surviving.id, NOW + MINUTE, ip="198.51.100.2")

    buffered.add_activity(doomed_activity)
    buffered.add_activity(surviving_activity)
    assert SQLStore(engine).delete_user(other_user.id)
    buffered.flush()

    assert stored_session(engine, surviving.id).latest_activity_id == surviving_activity.id
    assert stored_session(engine, surviving.id).latest_ip_address == "198.51.100.2"
    assert buffered.get_session(surviving.id).latest_activity == surviving_activity  # type: ignore[union-attr]
    assert [row.ip_address for row in stored_activities(engine, doomed.id)] == []


def test_older_flush_does_not_win(engine: Engine, user: User, client: Client) -> None:
    # Two processes buffer activity of one session and flush in the opposite order.
    first = SQLStore(engine, activity_flush_interval=NEVER)
    second = SQLStore(engine, activity_flush_interval=NEVER)
    session = add_session(first, user, client)
    older = make_activity(session.id, NOW + MINUTE, ip="198.51.100.1")
    newer = make_activity(session.id, NOW + 2 * MINUTE, ip="198.51.100.2")

    first.add_activity(older)
    second.add_activity(newer)
    second.close()
    first.touch(session.id, older.id, NOW + MINUTE)
    first.close()
    found = SQLStore(engine).get_session(session.id)

    assert found is not None
    assert found.last_active_at == NOW + 2 * MINUTE
    assert found.latest_activity == newer
    assert [row.ip_address for row in stored_activities(engine, session.id)] == [
        "203.0.113.7",
        "198.51.100.1",
        "198.51.100.2",
    ]


def test_older_touch_does_not_win(engine: Engine, user: User, client: Client) -> None:
    first = SQLStore(engine, activity_flush_interval=NEVER)
    second = SQLStore(engine, activity_flush_interval=NEVER)
    session = add_session(first, user, client)
    activity_id = session.latest_activity.id  # type: ignore[union-attr]

    first.touch(session.id, activity_id, NOW + MINUTE)
    second.touch(session.id, activity_id, NOW + 2 * MINUTE)
    second.close()
    first.close()

    assert stored_session(engine, session.id).last_active_at == to_millis(NOW + 2 * MINUTE)
    assert stored_activities(engine, session.id)[0].last_seen_at == to_millis(NOW + 2 * MINUTE)


@pytest.mark.parametrize("flushes", ["one batch", "two batches", "unbuffered"])
def test_touch_of_older_activity(engine: Engine, user: User, client: Client, flushes: str) -> None:
    # A request that read the session before its activity changed touches the older one.
    interval = None if flushes == "unbuffered" else NEVER
    store = SQLStore(engine, activity_flush_interval=interval)
    session = add_session(store, user, client)
    older = session.latest_activity
    newer = make_activity(session.id, NOW + MINUTE, ip="198.51.100.1")

    store.add_activity(newer)
    if flushes == "two batches":
        store.flush()
    store.touch(session.id, older.id, NOW + 2 * MINUTE)  # type: ignore[union-attr]
    found = store.get_session(session.id)
    store.close()

    assert found is not None
    assert found.last_active_at == NOW + 2 * MINUTE
    assert found.latest_activity == newer
    assert [row.last_seen_at for row in stored_activities(engine, session.id)] == [
        to_millis(NOW + 2 * MINUTE),
        to_millis(NOW + MINUTE),
    ]


def test_session_copies_latest_activity(
    buffered: SQLStore, engine: Engine, user: User, client: Client
) -> None:
    # Sessions carry a copy of their latest activity's facts. After any mix of new
    # activities and touches in one batch, the copy matches the activity's own row.
    sessions = [add_session(buffered, user, client) for _ in range(3)]
    first, second, third = sessions
    newer = make_activity(first.id, NOW + MINUTE, ip="198.51.100.1", user_agent="curl/8.5.0")
    newest = make_activity(first.id, NOW + 2 * MINUTE, ip="198.51.100.2")
    other = make_activity(second.id, NOW + MINUTE, ip="2001:db8::5")

    buffered.add_activity(newer)
    buffered.add_activity(other)
    buffered.touch(third.id, third.latest_activity.id, NOW + MINUTE)  # type: ignore[union-attr]
    buffered.add_activity(newest)
    buffered.touch(second.id, other.id, NOW + 3 * MINUTE)
    buffered.flush()

    for session in sessions:
        row = stored_session(engine, session.id)
        latest = next(
            a for a in stored_activities(engine, session.id) if a.id == row.latest_activity_id
        )
        copied = {name: row._mapping[f"latest_{name}"] for name in COPIED_FACTS}
        assert copied == {name: latest._mapping[name] for name in COPIED_FACTS}
        assert row.last_active_at == latest.last_seen_at
    assert stored_session(engine, first.id).latest_activity_id == newest.id
    assert stored_session(engine, second.id).latest_ip_address == "2001:db8::5"


def test_full_buffer_flushes(engine: Engine, user: User, client: Client) -> None:
    store = SQLStore(engine, activity_flush_interval=NEVER)
    store._buffer.max_pending = 3  # type: ignore[union-attr]
    sessions: list[Session] = [add_session(store, user, client) for _ in range(3)]

    for session in sessions[:2]:
        store.add_activity(make_activity(session.id, NOW + MINUTE, ip="198.51.100.1"))
    pending = [stored_session(engine, s.id).last_active_at for s in sessions[:2]]
    store.add_activity(make_activity(sessions[2].id, NOW + MINUTE, ip="198.51.100.1"))
    written = [stored_session(engine, s.id).last_active_at for s in sessions]
    store.close()

    assert pending == [to_millis(NOW)] * 2
    assert written == [to_millis(NOW + MINUTE)] * 3


def test_background_flush(engine: Engine, user: User, client: Client) -> None:
    store = SQLStore(engine, activity_flush_interval=0.05)
    session = add_session(store, user, client)
    activity = make_activity(session.id, NOW + MINUTE, ip="198.51.100.9")

    store.add_activity(activity)
    # Wait for the thread, with a generous limit for a loaded machine.
    deadline = time.monotonic() + 10
    while stored_session(engine, session.id).latest_activity_id != activity.id:
        assert time.monotonic() < deadline, "the background thread did not flush"
        time.sleep(0.02)
    store.close()


def test_read_waits_for_flush_in_progress(
    buffered: SQLStore, user: User, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = add_session(buffered, user, client)
    activity = make_activity(session.id, NOW + MINUTE, ip="198.51.100.9")
    buffered.add_activity(activity)

    # Hold the flush after it took the batch out of the buffer, before it writes.
    buffer = buffered._buffer
    assert buffer is not None
    batch_taken, release = threading.Event(), threading.Event()
    write = buffer._write

    def held_write(batch: Batch) -> None:
        batch_taken.set()
        release.wait(10)
        write(batch)

    monkeypatch.setattr(buffer, "_write", held_write)
    flusher = threading.Thread(target=buffered.flush)
    flusher.start()
    assert batch_taken.wait(10)

    read: list[Session | None] = []
    reader = threading.Thread(target=lambda: read.append(buffered.get_session(session.id)))
    reader.start()
    # A reader that does not wait finishes here with the old activity.
    reader.join(0.5)
    release.set()
    flusher.join()
    reader.join()

    assert read[0] is not None
    assert read[0].latest_activity == activity


def test_failed_flush_retried(
    buffered: SQLStore, engine: Engine, user: User, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = add_session(buffered, user, client)
    first = make_activity(session.id, NOW + MINUTE, ip="198.51.100.1")
    buffer = buffered._buffer
    assert buffer is not None
    write = buffer._write
    failures = [RuntimeError("database is locked")]

    def failing_once(batch: Batch) -> None:
        if failures:
            raise failures.pop()
        write(batch)

    monkeypatch.setattr(buffer, "_write", failing_once)
    buffered.add_activity(first)
    buffered.flush()
    after_failure = stored_session(engine, session.id).latest_activity_id
    # A touch queued after the failure lands on top of the retried batch.
    buffered.touch(session.id, first.id, NOW + 2 * MINUTE)
    buffered.flush()

    stored = stored_session(engine, session.id)
    assert after_failure == session.latest_activity.id  # type: ignore[union-attr]
    assert stored.latest_activity_id == first.id
    assert stored.last_active_at == to_millis(NOW + 2 * MINUTE)
    assert stored_activities(engine, session.id)[-1].last_seen_at == to_millis(NOW + 2 * MINUTE)


def test_retry_after_partial_fallback(
    buffered: SQLStore,
    engine: Engine,
    user: User,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The fallback for a deleted session commits each new row, then fails on its last step,
    # so the retried batch contains rows that are already written.
    other_user = make_user("grace@example.com")
    buffered.add_user(other_user)
    doomed = add_session(buffered, other_user, client)
    surviving = add_session(buffered, user, client)
    activity = make_activity(surviving.id, NOW + MINUTE, ip="198.51.100.2")
    write_activity = buffered._write_activity
    failures = [RuntimeError("database is locked")]

    def failing_last_step(connection: Any, batch: Batch, *, insert_new: bool = True) -> None:
        if not insert_new and failures:
            raise failures.pop()
        write_activity(connection, batch, insert_new=insert_new)

    monkeypatch.setattr(buffered, "_write_activity", failing_last_step)
    buffered.add_activity(make_activity(doomed.id, NOW + MINUTE, ip="198.51.100.1"))
    buffered.add_activity(activity)
    assert SQLStore(engine).delete_user(other_user.id)
    buffered.flush()
    buffered.touch(surviving.id, activity.id, NOW + 2 * MINUTE)
    with caplog.at_level("INFO", logger="lastseen.store"):
        buffered.flush()

    assert stored_activities(engine, surviving.id)[-1].last_seen_at == to_millis(NOW + 2 * MINUTE)
    assert stored_session(engine, surviving.id).last_active_at == to_millis(NOW + 2 * MINUTE)
    assert buffered.get_session(surviving.id).latest_activity == replace(  # type: ignore[union-attr]
        activity, last_seen_at=NOW + 2 * MINUTE
    )
    messages = [record.getMessage() for record in caplog.records]
    dropped = [message for message in messages if "activity dropped" in message]
    assert dropped == [f"activity dropped: session not found session_id={doomed.id}"]


def test_failing_flush_dropped_eventually(
    buffered: SQLStore, engine: Engine, user: User, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = add_session(buffered, user, client)
    buffer = buffered._buffer
    assert buffer is not None

    def always_failing(_batch: Batch) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(buffer, "_write", always_failing)
    buffered.add_activity(make_activity(session.id, NOW + MINUTE, ip="198.51.100.1"))
    for _ in range(MAX_ATTEMPTS):
        buffered.flush()

    assert len(buffer) == 0
