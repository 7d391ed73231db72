"""The SQL store on SQLite and PostgreSQL: every method of the Store protocol."""

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from lastseen.domain import ids
from lastseen.domain.sessions import (
    LIVE_STATUSES,
    Activity,
    Lifetimes,
    Session,
    SessionStatus,
    new_session,
)
from lastseen.domain.store import IdentifierTaken
from lastseen.domain.users import Client, User
from lastseen.store.sql import SQLStore
from lastseen.store.tables import session_activities

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)

ACTIVE = SessionStatus.ACTIVE
ENDED = SessionStatus.ENDED
REVOKED = SessionStatus.REVOKED
EXPIRED = SessionStatus.EXPIRED
ABANDONED = SessionStatus.ABANDONED


def make_user(
    email: str | None = "ada@example.com",
    username: str | None = None,
    external_id: str | None = None,
) -> User:
    return User(
        id=ids.new_id(ids.USER),
        email_address=email,
        username=username,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        external_id=external_id,
        first_name="Ada",
        last_name="Lovelace",
        created_at=NOW,
        updated_at=NOW,
    )


def make_client(token_hash: str | None = None) -> Client:
    client_id = ids.new_id(ids.CLIENT)
    return Client(
        id=client_id,
        token_hash=token_hash or secrets.token_hex(32),
        created_at=NOW,
        updated_at=NOW,
    )


def make_activity(
    session_id: str, at: datetime, ip: str = "203.0.113.7", user_agent: str = "Mozilla/5.0"
) -> Activity:
    return Activity(
        id=ids.new_id(ids.ACTIVITY),
        session_id=session_id,
        ip_address=ip,
        user_agent=user_agent,
        browser_name="Firefox",
        browser_version="133.0",
        os_name="Linux",
        os_version=None,
        device_type="Linux",
        device_category="desktop",
        is_mobile=False,
        city="Berlin",
        country="Germany",
        country_code="DE",
        first_seen_at=at,
        last_seen_at=at,
    )


def add_session(
    store: SQLStore,
    user: User,
    client: Client,
    at: datetime = NOW,
    *,
    lifetimes: Lifetimes | None = None,
    status: SessionStatus = ACTIVE,
) -> Session:
    """Store a session created at ``at`` with one activity, and return it."""
    session = new_session(
        session_id=ids.new_id(ids.SESSION),
        user_id=user.id,
        client_id=client.id,
        lifetimes=lifetimes or Lifetimes(),
        now=at,
    )
    activity = make_activity(session.id, at)
    session = replace(session, status=status, latest_activity=activity)
    store.add_session(session, activity)
    return session


def stored_status(store: SQLStore, session_id: str) -> SessionStatus:
    session = store.get_session(session_id)
    assert session is not None
    return session.status


def activity_count(engine: Engine, session_id: str) -> int:
    query = (
        select(func.count())
        .select_from(session_activities)
        .where(session_activities.c.session_id == session_id)
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


# Users


def test_user_round_trip(store: SQLStore) -> None:
    user = make_user(username="ada_l", external_id="ext-42")

    store.add_user(user)

    assert store.get_user(user.id) == user


def test_user_unknown(store: SQLStore) -> None:
    assert store.get_user(ids.new_id(ids.USER)) is None


@pytest.mark.parametrize(
    ("identifier", "found"),
    [
        pytest.param("Ada.Lovelace@Example.com", True, id="email-exact"),
        pytest.param("ada.lovelace@example.com", True, id="email-lower"),
        pytest.param("ADA.LOVELACE@EXAMPLE.COM", True, id="email-upper"),
        pytest.param("  ada.lovelace@example.com \t", True, id="email-spaces"),
        pytest.param("ada_l", True, id="username"),
        pytest.param(" ada_l ", True, id="username-spaces"),
        pytest.param("ada@example.com", False, id="other-email"),
        pytest.param("ada", False, id="username-prefix"),
        pytest.param("", False, id="empty"),
    ],
)
def test_find_user(store: SQLStore, identifier: str, found: bool) -> None:
    user = make_user("Ada.Lovelace@Example.com", "ada_l")
    store.add_user(user)
    store.add_user(make_user("grace@example.com", "grace_h"))

    result = store.find_user(identifier)

    assert (result == user) is found
    if not found:
        assert result is None


@pytest.mark.parametrize(
    "identifier",
    ["Élodie.Martin@Exemple.fr", "Élodie.martin@exemple.fr", "ÉLODIE.MARTIN@EXEMPLE.FR"],
    ids=["exact", "lower-ascii", "upper-ascii"],
)
def test_find_user_non_ascii(store: SQLStore, identifier: str) -> None:
    # Only ASCII letters are compared case-insensitively on every database, because
    # SQLite's lower() leaves other letters alone. "É" is written the same way each time.
    user = make_user("Élodie.Martin@Exemple.fr")
    store.add_user(user)

    assert store.find_user(identifier) == user


def test_record_sign_in(store: SQLStore, user: User) -> None:
    store.record_sign_in(user.id, NOW + MINUTE)

    found = store.get_user(user.id)

    assert found is not None
    assert found.last_sign_in_at == NOW + MINUTE


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        pytest.param(
            {"email": "ada@example.com"}, {"email": "ada@example.com"}, "email_address", id="email"
        ),
        pytest.param(
            {"email": "ada@example.com"},
            {"email": "ADA@Example.com"},
            "email_address",
            id="email-case",
        ),
        pytest.param(
            {"email": None, "username": "ada_l"},
            {"email": None, "username": "ada_l"},
            "username",
            id="username",
        ),
        pytest.param(
            {"external_id": "ext-1"},
            {"email": "grace@example.com", "external_id": "ext-1"},
            "external_id",
            id="external-id",
        ),
    ],
)
def test_user_unique(
    store: SQLStore, first: dict[str, str | None], second: dict[str, str | None], field: str
) -> None:
    store.add_user(make_user(**first))

    with pytest.raises(IdentifierTaken) as caught:
        store.add_user(make_user(**second))

    assert caught.value.field == field


def test_user_unique_id(store: SQLStore, user: User) -> None:
    with pytest.raises(IntegrityError):
        store.add_user(replace(user, email_address="other@example.com"))


# Clients


def test_client_round_trip(store: SQLStore, client: Client) -> None:
    assert store.get_client(client.id) == client
    assert store.find_client(client.token_hash) == client


def test_client_unknown(store: SQLStore, client: Client) -> None:
    assert store.get_client(ids.new_id(ids.CLIENT)) is None
    assert store.find_client("0" * 64) is None
    assert store.find_client(client.token_hash.upper()) is None


def test_client_unique_token_hash(store: SQLStore, client: Client) -> None:
    with pytest.raises(IntegrityError):
        store.add_client(make_client(client.token_hash))


def test_find_client_session(store: SQLStore, user: User, client: Client) -> None:
    session = add_session(store, user, client)

    found = store.find_client_session(client.token_hash, session.id)

    assert found == (client, session)


def test_find_client_session_missing(store: SQLStore, user: User, client: Client) -> None:
    other_client = make_client()
    store.add_client(other_client)
    elsewhere = add_session(store, user, other_client)

    assert store.find_client_session(client.token_hash, elsewhere.id) == (client, None)
    assert store.find_client_session(client.token_hash, ids.new_id(ids.SESSION)) == (client, None)
    assert store.find_client_session("0" * 64, elsewhere.id) is None


def test_set_last_active_session(store: SQLStore, user: User, client: Client) -> None:
    session = add_session(store, user, client)

    store.set_last_active_session(client.id, session.id, NOW + MINUTE)
    updated = store.get_client(client.id)
    store.set_last_active_session(client.id, None, NOW + 2 * MINUTE)
    cleared = store.get_client(client.id)

    assert updated is not None
    assert updated.last_active_session_id == session.id
    assert updated.updated_at == NOW + MINUTE
    assert cleared is not None
    assert cleared.last_active_session_id is None
    assert cleared.updated_at == NOW + 2 * MINUTE


# Sessions


def test_session_round_trip(store: SQLStore, user: User, client: Client) -> None:
    lifetimes = Lifetimes(max_lifetime=DAY, inactivity_timeout=DAY / 2)
    session = add_session(store, user, client, lifetimes=lifetimes)

    found = store.get_session(session.id)

    assert found == session
    assert found is not None
    assert found.inactivity_timeout == DAY / 2
    assert found.latest_activity == session.latest_activity


def test_session_without_timeout(store: SQLStore, user: User, client: Client) -> None:
    session = add_session(store, user, client)

    found = store.get_session(session.id)

    assert found is not None
    assert found.inactivity_timeout is None


def test_session_unknown(store: SQLStore) -> None:
    assert store.get_session(ids.new_id(ids.SESSION)) is None


def test_list_user_sessions_order(store: SQLStore, user: User, client: Client) -> None:
    other = make_user("grace@example.com")
    store.add_user(other)
    first = add_session(store, user, client, NOW)
    second = add_session(store, user, client, NOW + MINUTE)
    third = add_session(store, user, client, NOW + 2 * MINUTE)
    add_session(store, other, client, NOW + 3 * MINUTE)

    before = [s.id for s in store.list_user_sessions(user.id)]
    assert first.latest_activity is not None
    store.touch(first.id, first.latest_activity.id, NOW + 4 * MINUTE)
    after = [s.id for s in store.list_user_sessions(user.id)]

    assert before == [third.id, second.id, first.id]
    assert after == [first.id, third.id, second.id]


def test_list_user_sessions_activity(store: SQLStore, user: User, client: Client) -> None:
    session = add_session(store, user, client)

    listed = store.list_user_sessions(user.id)

    assert len(listed) == 1
    assert listed[0].latest_activity == session.latest_activity


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        pytest.param(None, {"active", "ended", "revoked"}, id="all"),
        pytest.param([ACTIVE], {"active"}, id="active"),
        pytest.param(LIVE_STATUSES, {"active"}, id="live"),
        pytest.param([ENDED, REVOKED], {"ended", "revoked"}, id="two"),
        pytest.param([EXPIRED], set(), id="none-match"),
        pytest.param([], set(), id="empty-filter"),
    ],
)
def test_list_user_sessions_filter(
    store: SQLStore,
    user: User,
    client: Client,
    statuses: list[SessionStatus] | None,
    expected: set[str],
) -> None:
    for offset, status in enumerate([ACTIVE, ENDED, REVOKED]):
        add_session(store, user, client, NOW + offset * MINUTE, status=status)

    listed = store.list_user_sessions(user.id, statuses)

    assert {str(s.status) for s in listed} == expected
    assert len(listed) == len(expected)


def test_list_client_sessions(store: SQLStore, user: User, client: Client) -> None:
    other_user = make_user("grace@example.com")
    store.add_user(other_user)
    other_client = make_client()
    store.add_client(other_client)
    mine = add_session(store, user, client, NOW)
    theirs = add_session(store, other_user, client, NOW + MINUTE)
    add_session(store, user, other_client, NOW + 2 * MINUTE)

    listed = [s.id for s in store.list_client_sessions(client.id)]

    assert listed == [theirs.id, mine.id]


def test_set_status_only_from(store: SQLStore, user: User, client: Client) -> None:
    live = add_session(store, user, client)
    pending = add_session(store, user, client, status=SessionStatus.PENDING)
    ended = add_session(store, user, client, status=ENDED)
    session_ids = [live.id, pending.id, ended.id, ids.new_id(ids.SESSION)]

    count = store.set_status(session_ids, REVOKED, NOW + MINUTE, LIVE_STATUSES)

    assert count == 2
    assert stored_status(store, live.id) is REVOKED
    assert stored_status(store, pending.id) is REVOKED
    assert stored_status(store, ended.id) is ENDED
    revoked = store.get_session(live.id)
    assert revoked is not None
    assert revoked.updated_at == NOW + MINUTE
    untouched = store.get_session(ended.id)
    assert untouched is not None
    assert untouched.updated_at == NOW


def test_set_status_repeat(store: SQLStore, user: User, client: Client) -> None:
    session = add_session(store, user, client)

    first = store.set_status([session.id], REVOKED, NOW, LIVE_STATUSES)
    second = store.set_status([session.id], ENDED, NOW, LIVE_STATUSES)

    assert first == 1
    assert second == 0
    assert stored_status(store, session.id) is REVOKED


def test_set_status_no_ids(store: SQLStore, user: User, client: Client) -> None:
    session = add_session(store, user, client)

    assert store.set_status([], REVOKED, NOW, LIVE_STATUSES) == 0
    assert stored_status(store, session.id) is ACTIVE


# Activity


def test_touch(store: SQLStore, engine: Engine, user: User, client: Client) -> None:
    session = add_session(store, user, client)
    assert session.latest_activity is not None

    store.touch(session.id, session.latest_activity.id, NOW + 5 * MINUTE)
    found = store.get_session(session.id)

    assert found is not None
    assert found.last_active_at == NOW + 5 * MINUTE
    assert found.updated_at == NOW + 5 * MINUTE
    assert found.latest_activity == replace(session.latest_activity, last_seen_at=NOW + 5 * MINUTE)
    assert found.expire_at == session.expire_at
    assert activity_count(engine, session.id) == 1


def test_add_activity(store: SQLStore, engine: Engine, user: User, client: Client) -> None:
    session = add_session(store, user, client)
    activity = make_activity(session.id, NOW + 5 * MINUTE, ip="198.51.100.9")

    store.add_activity(activity)
    found = store.get_session(session.id)

    assert found is not None
    assert found.latest_activity == activity
    assert found.last_active_at == NOW + 5 * MINUTE
    assert found.expire_at == session.expire_at
    assert activity_count(engine, session.id) == 2


# Sweeping


def test_sweep(store: SQLStore, user: User, client: Client) -> None:
    idle = Lifetimes(max_lifetime=60 * DAY, inactivity_timeout=30 * DAY)
    now = NOW + 40 * DAY
    # Each session was created at the time given, so it reaches its deadlines at `now` or not.
    cases = {
        "live": (add_session(store, user, client, now - DAY), ACTIVE),
        "past-expire-at": (add_session(store, user, client, now - 8 * DAY), EXPIRED),
        "pending-past-expire-at": (
            add_session(store, user, client, now - 8 * DAY, status=SessionStatus.PENDING),
            EXPIRED,
        ),
        "idle": (add_session(store, user, client, now - 31 * DAY, lifetimes=idle), EXPIRED),
        "idle-not-yet": (
            add_session(store, user, client, now - 29 * DAY, lifetimes=idle),
            ACTIVE,
        ),
        "past-abandon-at": (add_session(store, user, client, now - 30 * DAY), ABANDONED),
        "stored-expired-past-abandon-at": (
            add_session(store, user, client, now - 31 * DAY, status=EXPIRED),
            ABANDONED,
        ),
        "stored-expired": (
            add_session(store, user, client, now - 8 * DAY, status=EXPIRED),
            EXPIRED,
        ),
        "ended": (add_session(store, user, client, now - 35 * DAY, status=ENDED), ENDED),
        "revoked": (add_session(store, user, client, now - 35 * DAY, status=REVOKED), REVOKED),
        "removed": (
            add_session(store, user, client, now - 8 * DAY, status=SessionStatus.REMOVED),
            SessionStatus.REMOVED,
        ),
    }

    changed = store.sweep(now, batch_size=100)
    again = store.sweep(now, batch_size=100)

    assert changed == 5
    assert again == 0
    for name, (session, expected) in cases.items():
        assert (name, stored_status(store, session.id)) == (name, expected)


def test_sweep_updated_at(store: SQLStore, user: User, client: Client) -> None:
    session = add_session(store, user, client)

    store.sweep(NOW + 7 * DAY, batch_size=10)
    found = store.get_session(session.id)

    assert found is not None
    assert found.updated_at == NOW + 7 * DAY
    assert found.last_active_at == NOW


def test_sweep_before_deadline(store: SQLStore, user: User, client: Client) -> None:
    session = add_session(store, user, client)

    assert store.sweep(NOW + 7 * DAY - timedelta(milliseconds=1), batch_size=10) == 0
    assert stored_status(store, session.id) is ACTIVE


def test_sweep_batches(store: SQLStore, user: User, client: Client) -> None:
    now = NOW + 40 * DAY
    abandoned = [add_session(store, user, client, now - 31 * DAY) for _ in range(3)]
    expired = [add_session(store, user, client, now - 8 * DAY) for _ in range(2)]

    counts = [store.sweep(now, batch_size=2) for _ in range(4)]

    assert counts == [2, 2, 1, 0]
    assert all(stored_status(store, s.id) is ABANDONED for s in abandoned)
    assert all(stored_status(store, s.id) is EXPIRED for s in expired)
