"""Session use-cases on SQLite and PostgreSQL, with a frozen clock that tests move."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import ip_address
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select

from lastseen.domain import ids
from lastseen.domain.clock import FrozenClock, to_millis
from lastseen.domain.sessions import Lifetimes, Session, SessionStatus
from lastseen.domain.users import Client, User
from lastseen.enrich.useragent import ClientHints
from lastseen.errors import ServiceError
from lastseen.service import passwords
from lastseen.service.accounts import Accounts
from lastseen.service.activity import Enricher, RequestFacts
from lastseen.service.requesters import Requester
from lastseen.service.sessions import Sessions
from lastseen.store.sql import SQLStore
from lastseen.store.tables import session_activities
from lastseen.store.tables import sessions as sessions_table

PASSWORD = "correct horse battery staple"
ADA = "ada@example.com"
GRACE = "grace@example.com"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FACTS = RequestFacts(ip_address=ip_address("203.0.113.7"), user_agent=FIREFOX)

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash passwords with low argon2id costs, because these tests are about sessions."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@dataclass(frozen=True)
class Device:
    """A browser after a sign-in: its client token, client and new session."""

    token: str
    client: Client
    session: Session


def sign_up(accounts: Accounts, email: str) -> User:
    return accounts.create_user(email_address=email, password=PASSWORD)


def sign_in(
    accounts: Accounts, email: str, token: str | None = None, facts: RequestFacts = FACTS
) -> Device:
    result = accounts.sign_in(identifier=email, password=PASSWORD, client_token=token, facts=facts)
    client_token = result.client_token or token
    assert client_token is not None
    return Device(client_token, result.client, result.session)


def requester(sessions: Sessions, device: Device) -> Requester:
    return sessions.authenticate(device.token, device.session.id, FACTS)


def service_error(call: Callable[[], object]) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


def status_of(store: SQLStore, session_id: str) -> SessionStatus:
    session = store.get_session(session_id)
    assert session is not None
    return session.status


def session_row(engine: Engine, session_id: str) -> Any:
    query = select(sessions_table).where(sessions_table.c.id == session_id)
    with engine.connect() as connection:
        return connection.execute(query).one()


def activity_rows(engine: Engine, session_id: str) -> list[Any]:
    query = (
        select(session_activities)
        .where(session_activities.c.session_id == session_id)
        .order_by(session_activities.c.first_seen_at)
    )
    with engine.connect() as connection:
        return list(connection.execute(query))


def activity_count(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(session_activities)
        return int(connection.execute(query).scalar_one())


# Authenticating


def test_authenticate_requested_session(accounts: Accounts, sessions: Sessions) -> None:
    ada, grace = sign_up(accounts, ADA), sign_up(accounts, GRACE)
    first = sign_in(accounts, ADA)
    second = sign_in(accounts, GRACE, first.token)

    chosen = sessions.authenticate(first.token, first.session.id, FACTS)

    assert chosen.session.id == first.session.id
    assert chosen.user.id == ada.id
    assert chosen.client.id == first.client.id
    assert second.session.user_id == grace.id


def test_authenticate_last_active(accounts: Accounts, sessions: Sessions) -> None:
    sign_up(accounts, ADA)
    grace = sign_up(accounts, GRACE)
    first = sign_in(accounts, ADA)
    second = sign_in(accounts, GRACE, first.token)

    chosen = sessions.authenticate(first.token, None, FACTS)

    assert chosen.session.id == second.session.id
    assert chosen.user.id == grace.id


@pytest.mark.parametrize(
    "token", [None, "", "not-a-client-token"], ids=["none", "empty", "unknown"]
)
def test_authenticate_bad_token(accounts: Accounts, sessions: Sessions, token: str | None) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)

    error = service_error(lambda: sessions.authenticate(token, device.session.id, FACTS))

    assert error.status_code == 401
    assert error.code == "authentication_invalid"


def test_authenticate_other_client(accounts: Accounts, sessions: Sessions) -> None:
    sign_up(accounts, ADA)
    laptop = sign_in(accounts, ADA)
    phone = sign_in(accounts, ADA)

    error = service_error(lambda: sessions.authenticate(laptop.token, phone.session.id, FACTS))

    assert error.status_code == 401
    assert error.code == "authentication_invalid"


def test_authenticate_unknown_session(accounts: Accounts, sessions: Sessions) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    unknown = ids.new_id(ids.SESSION)

    error = service_error(lambda: sessions.authenticate(device.token, unknown, FACTS))

    assert error.status_code == 401
    assert error.code == "authentication_invalid"


def test_authenticate_expire_at(accounts: Accounts, sessions: Sessions, clock: FrozenClock) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)

    clock.advance(7 * DAY - SECOND)
    before = sessions.authenticate(device.token, None, FACTS)
    clock.advance(SECOND)
    error = service_error(lambda: sessions.authenticate(device.token, None, FACTS))

    assert before.session.id == device.session.id
    assert error.status_code == 401
    assert error.code == "authentication_invalid"


@pytest.mark.parametrize(
    ("advance", "requested"),
    [
        pytest.param(7 * DAY, True, id="expired-requested"),
        pytest.param(7 * DAY, False, id="expired-default"),
        pytest.param(30 * DAY, True, id="abandoned-requested"),
        pytest.param(30 * DAY, False, id="abandoned-default"),
    ],
)
def test_authenticate_dead_session(
    accounts: Accounts,
    sessions: Sessions,
    clock: FrozenClock,
    advance: timedelta,
    requested: bool,
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    session_id = device.session.id if requested else None
    clock.advance(advance)

    error = service_error(lambda: sessions.authenticate(device.token, session_id, FACTS))

    assert error.status_code == 401
    assert error.code == "authentication_invalid"


def test_authenticate_inactivity(store: SQLStore, clock: FrozenClock) -> None:
    lifetimes = Lifetimes(inactivity_timeout=HOUR)
    sessions = Sessions(store, Enricher(), lifetimes=lifetimes, clock=clock)
    accounts = Accounts(sessions)
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)

    clock.advance(HOUR - SECOND)
    used = sessions.authenticate(device.token, None, FACTS)
    clock.advance(HOUR - SECOND)
    still = sessions.authenticate(device.token, None, FACTS)
    clock.advance(HOUR)
    error = service_error(lambda: sessions.authenticate(device.token, None, FACTS))

    assert used.session.status is SessionStatus.ACTIVE
    assert still.session.status is SessionStatus.ACTIVE
    assert error.code == "authentication_invalid"


# Recording activity


def test_activity_throttled(
    accounts: Accounts, sessions: Sessions, engine: Engine, clock: FrozenClock
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    signed_in_at = to_millis(clock.now)

    clock.advance(59 * SECOND)
    result = sessions.authenticate(device.token, None, FACTS)
    row = session_row(engine, device.session.id)
    activities = activity_rows(engine, device.session.id)

    assert row.last_active_at == signed_in_at
    assert row.updated_at == signed_in_at
    assert len(activities) == 1
    assert activities[0].last_seen_at == signed_in_at
    assert result.session.last_active_at == device.session.last_active_at


def test_activity_after_interval(
    accounts: Accounts, sessions: Sessions, engine: Engine, clock: FrozenClock
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)

    clock.advance(60 * SECOND)
    touched_at = clock.now
    result = sessions.authenticate(device.token, None, FACTS)
    clock.advance(30 * SECOND)
    sessions.authenticate(device.token, None, FACTS)
    row = session_row(engine, device.session.id)
    activities = activity_rows(engine, device.session.id)

    assert result.session.last_active_at == touched_at
    assert row.last_active_at == to_millis(touched_at)
    assert len(activities) == 1
    assert activities[0].id == row.latest_activity_id
    assert activities[0].last_seen_at == to_millis(touched_at)
    assert activities[0].first_seen_at == to_millis(device.session.created_at)


@pytest.mark.parametrize(
    "facts",
    [
        pytest.param(RequestFacts(ip_address("198.51.100.9"), FIREFOX), id="ip"),
        pytest.param(RequestFacts(ip_address("2001:db8::1"), FIREFOX), id="ipv6"),
        pytest.param(RequestFacts(ip_address("203.0.113.7"), SAFARI), id="user-agent"),
        pytest.param(RequestFacts(None, FIREFOX), id="no-ip"),
        pytest.param(RequestFacts(ip_address("203.0.113.7"), None), id="no-user-agent"),
    ],
)
def test_activity_new_row(
    accounts: Accounts,
    sessions: Sessions,
    engine: Engine,
    clock: FrozenClock,
    facts: RequestFacts,
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)

    clock.advance(SECOND)
    result = sessions.authenticate(device.token, None, facts)
    row = session_row(engine, device.session.id)
    activities = activity_rows(engine, device.session.id)

    assert len(activities) == 2
    first, latest = activities
    assert row.latest_activity_id == latest.id
    assert row.last_active_at == to_millis(clock.now)
    assert first.ip_address == "203.0.113.7"
    assert first.user_agent == FIREFOX
    assert latest.ip_address == (None if facts.ip_address is None else str(facts.ip_address))
    assert latest.user_agent == facts.user_agent
    assert latest.first_seen_at == to_millis(clock.now)
    assert result.session.latest_activity is not None
    assert result.session.latest_activity.id == latest.id


def test_activity_back_and_forth(
    accounts: Accounts, sessions: Sessions, engine: Engine, clock: FrozenClock
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    phone = RequestFacts(ip_address("198.51.100.9"), SAFARI)

    for facts in [phone, FACTS, phone]:
        clock.advance(SECOND)
        sessions.authenticate(device.token, None, facts)

    assert len(activity_rows(engine, device.session.id)) == 4


def test_activity_long_user_agent(
    accounts: Accounts, sessions: Sessions, engine: Engine, clock: FrozenClock
) -> None:
    long_agent = FIREFOX + " Extension/1.0" * 60
    facts = RequestFacts(ip_address("203.0.113.7"), long_agent)
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA, facts=facts)

    clock.advance(SECOND)
    sessions.authenticate(device.token, None, facts)
    activities = activity_rows(engine, device.session.id)

    assert len(activities) == 1
    assert activities[0].user_agent == long_agent[:512]


def test_activity_force(
    accounts: Accounts, sessions: Sessions, store: SQLStore, engine: Engine, clock: FrozenClock
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    session = store.get_session(device.session.id)
    assert session is not None

    clock.advance(SECOND)
    result = sessions.record_activity(session, FACTS, force=True)
    row = session_row(engine, device.session.id)

    assert row.last_active_at == to_millis(clock.now)
    assert result.last_active_at == clock.now
    assert len(activity_rows(engine, device.session.id)) == 1


def test_activity_interval_zero(store: SQLStore, engine: Engine, clock: FrozenClock) -> None:
    sessions = Sessions(store, Enricher(), touch_interval=timedelta(0), clock=clock)
    accounts = Accounts(sessions)
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)

    clock.advance(timedelta(milliseconds=1))
    sessions.authenticate(device.token, None, FACTS)

    assert session_row(engine, device.session.id).last_active_at == to_millis(clock.now)


# Listing


def test_list_sessions(
    accounts: Accounts, sessions: Sessions, store: SQLStore, clock: FrozenClock
) -> None:
    ada = sign_up(accounts, ADA)
    sign_up(accounts, GRACE)
    old = sign_in(accounts, ADA)
    clock.advance(6 * DAY)
    laptop = sign_in(accounts, ADA)
    phone = sign_in(accounts, ADA)
    ended = sign_in(accounts, ADA)
    sign_in(accounts, GRACE, laptop.token)
    sessions.end(ended.client, ended.session.id)
    clock.advance(DAY)

    active = sessions.list_active_sessions(ada.id)
    listed = {s.id: s.status for s in sessions.list_sessions(ada.id)}

    assert {s.id for s in active} == {laptop.session.id, phone.session.id}
    assert all(s.user_id == ada.id for s in active)
    assert listed == {
        old.session.id: SessionStatus.EXPIRED,
        laptop.session.id: SessionStatus.ACTIVE,
        phone.session.id: SessionStatus.ACTIVE,
        ended.session.id: SessionStatus.ENDED,
    }
    assert status_of(store, old.session.id) is SessionStatus.ACTIVE


def test_list_client_sessions(accounts: Accounts, sessions: Sessions) -> None:
    sign_up(accounts, ADA)
    sign_up(accounts, GRACE)
    sign_up(accounts, "alan@example.com")
    first = sign_in(accounts, ADA)
    second = sign_in(accounts, GRACE, first.token)
    third = sign_in(accounts, "alan@example.com", first.token)
    sessions.end(first.client, first.session.id)
    sessions.remove(first.client, second.session.id)

    listed = {s.id: s.status for s in sessions.list_client_sessions(first.client.id)}

    assert listed == {
        first.session.id: SessionStatus.ENDED,
        third.session.id: SessionStatus.ACTIVE,
    }


# Revoking


def test_revoke_current(accounts: Accounts, sessions: Sessions, store: SQLStore) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    caller = requester(sessions, device)

    error = service_error(lambda: sessions.revoke_session(caller, device.session.id))

    assert error.status_code == 400
    assert error.code == "invalid_action_for_session"
    assert status_of(store, device.session.id) is SessionStatus.ACTIVE


@pytest.mark.parametrize("target", ["other-user", "unknown", "malformed"])
def test_revoke_not_authorized(
    accounts: Accounts, sessions: Sessions, store: SQLStore, target: str
) -> None:
    sign_up(accounts, ADA)
    sign_up(accounts, GRACE)
    device = sign_in(accounts, ADA)
    other = sign_in(accounts, GRACE)
    session_id = {
        "other-user": other.session.id,
        "unknown": ids.new_id(ids.SESSION),
        "malformed": "sess_nope",
    }[target]

    error = service_error(lambda: sessions.revoke_session(requester(sessions, device), session_id))

    assert error.status_code == 401
    assert error.code == "action_for_session_not_authorized"
    assert error.meta == {"session_id": session_id}
    assert status_of(store, other.session.id) is SessionStatus.ACTIVE


def _revoke(sessions: Sessions, current: Device, target: Device) -> None:
    sessions.revoke_session(requester(sessions, current), target.session.id)


def _end(sessions: Sessions, current: Device, target: Device) -> None:
    sessions.end(target.client, target.session.id)


def _remove(sessions: Sessions, current: Device, target: Device) -> None:
    sessions.remove(target.client, target.session.id)


@pytest.mark.parametrize(
    ("finish", "status"),
    [
        pytest.param(_revoke, SessionStatus.REVOKED, id="revoked"),
        pytest.param(_end, SessionStatus.ENDED, id="ended"),
        pytest.param(_remove, SessionStatus.REMOVED, id="removed"),
    ],
)
def test_revoke_finished(
    accounts: Accounts,
    sessions: Sessions,
    store: SQLStore,
    finish: Callable[[Sessions, Device, Device], None],
    status: SessionStatus,
) -> None:
    sign_up(accounts, ADA)
    laptop = sign_in(accounts, ADA)
    phone = sign_in(accounts, ADA)
    finish(sessions, laptop, phone)

    error = service_error(lambda: _revoke(sessions, laptop, phone))

    assert error.status_code == 400
    assert error.code == "invalid_action_for_session"
    assert status_of(store, phone.session.id) is status


def test_revoke_expired(accounts: Accounts, sessions: Sessions, clock: FrozenClock) -> None:
    sign_up(accounts, ADA)
    old = sign_in(accounts, ADA)
    clock.advance(6 * DAY)
    laptop = sign_in(accounts, ADA)
    clock.advance(DAY)

    error = service_error(lambda: _revoke(sessions, laptop, old))

    assert error.status_code == 400
    assert error.code == "invalid_action_for_session"


def test_revoke_other_own(accounts: Accounts, sessions: Sessions, store: SQLStore) -> None:
    sign_up(accounts, ADA)
    laptop = sign_in(accounts, ADA)
    phone = sign_in(accounts, ADA)

    revoked = sessions.revoke_session(requester(sessions, laptop), phone.session.id)
    by_id = service_error(lambda: sessions.authenticate(phone.token, phone.session.id, FACTS))
    by_client = service_error(lambda: sessions.authenticate(phone.token, None, FACTS))

    assert revoked.id == phone.session.id
    assert revoked.status is SessionStatus.REVOKED
    assert status_of(store, phone.session.id) is SessionStatus.REVOKED
    assert by_id.code == "authentication_invalid"
    assert by_client.code == "authentication_invalid"
    assert requester(sessions, laptop).session.id == laptop.session.id


def test_revoke_others(accounts: Accounts, sessions: Sessions, store: SQLStore) -> None:
    ada = sign_up(accounts, ADA)
    grace = sign_up(accounts, GRACE)
    first = sign_in(accounts, ADA)
    second = sign_in(accounts, ADA)
    third = sign_in(accounts, ADA)
    ended = sign_in(accounts, ADA)
    sessions.end(ended.client, ended.session.id)
    theirs = sign_in(accounts, GRACE)

    count = sessions.revoke_other_sessions(requester(sessions, first))
    again = sessions.revoke_other_sessions(requester(sessions, first))

    assert count == 2
    assert again == 0
    assert [s.id for s in sessions.list_active_sessions(ada.id)] == [first.session.id]
    assert [s.id for s in sessions.list_active_sessions(grace.id)] == [theirs.session.id]
    assert status_of(store, second.session.id) is SessionStatus.REVOKED
    assert status_of(store, third.session.id) is SessionStatus.REVOKED
    assert status_of(store, ended.session.id) is SessionStatus.ENDED
    for device in (second, third):
        error = service_error(lambda device=device: requester(sessions, device))
        assert error.code == "authentication_invalid"


def test_revoke_self_keeps_first(accounts: Accounts, sessions: Sessions) -> None:
    ada = sign_up(accounts, ADA)
    first = sign_in(accounts, ADA)
    second = sign_in(accounts, ADA)

    error = service_error(
        lambda: sessions.revoke_session(requester(sessions, second), second.session.id)
    )
    active = {s.id for s in sessions.list_active_sessions(ada.id)}

    assert error.status_code == 400
    assert error.code == "invalid_action_for_session"
    assert active == {first.session.id, second.session.id}
    assert requester(sessions, first).session.id == first.session.id


def test_revoke_by_admin(accounts: Accounts, sessions: Sessions, store: SQLStore) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)

    revoked = sessions.revoke_by_admin(device.session.id)
    again = service_error(lambda: sessions.revoke_by_admin(device.session.id))
    unknown = service_error(lambda: sessions.revoke_by_admin(ids.new_id(ids.SESSION)))

    assert revoked.status is SessionStatus.REVOKED
    assert status_of(store, device.session.id) is SessionStatus.REVOKED
    assert again.status_code == 400
    assert again.code == "invalid_action_for_session"
    assert unknown.status_code == 404
    assert unknown.code == "resource_not_found"


# Signing out on a client


def shared_client(accounts: Accounts) -> tuple[Device, Device]:
    """Sign Ada and then Grace in on one client, so that Grace's session is the current one."""
    sign_up(accounts, ADA)
    sign_up(accounts, GRACE)
    first = sign_in(accounts, ADA)
    second = sign_in(accounts, GRACE, first.token)
    return first, second


@pytest.mark.parametrize(
    ("action", "status", "listed"),
    [
        pytest.param("end", SessionStatus.ENDED, True, id="end"),
        pytest.param("remove", SessionStatus.REMOVED, False, id="remove"),
    ],
)
def test_sign_out_current(
    accounts: Accounts,
    sessions: Sessions,
    store: SQLStore,
    action: str,
    status: SessionStatus,
    listed: bool,
) -> None:
    first, second = shared_client(accounts)

    result = getattr(sessions, action)(second.client, second.session.id)
    client = store.get_client(second.client.id)
    on_client = {s.id for s in sessions.list_client_sessions(second.client.id)}

    assert result.status is status
    assert status_of(store, second.session.id) is status
    assert client is not None
    assert client.last_active_session_id == first.session.id
    assert (second.session.id in on_client) is listed
    assert first.session.id in on_client
    assert sessions.authenticate(second.token, None, FACTS).session.id == first.session.id


@pytest.mark.parametrize("action", ["end", "remove"])
def test_sign_out_other(
    accounts: Accounts, sessions: Sessions, store: SQLStore, action: str
) -> None:
    first, second = shared_client(accounts)

    getattr(sessions, action)(first.client, first.session.id)
    client = store.get_client(first.client.id)

    assert client is not None
    assert client.last_active_session_id == second.session.id


@pytest.mark.parametrize("action", ["end", "remove"])
def test_sign_out_last(
    accounts: Accounts, sessions: Sessions, store: SQLStore, action: str
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)

    getattr(sessions, action)(device.client, device.session.id)
    client = store.get_client(device.client.id)
    replay = service_error(lambda: sessions.authenticate(device.token, None, FACTS))
    replay_by_id = service_error(
        lambda: sessions.authenticate(device.token, device.session.id, FACTS)
    )

    assert client is not None
    assert client.last_active_session_id is None
    assert replay.status_code == 401
    assert replay.code == "authentication_invalid"
    assert replay_by_id.status_code == 401
    assert replay_by_id.code == "authentication_invalid"


@pytest.mark.parametrize("action", ["end", "remove", "touch"])
def test_client_action_other_client(
    accounts: Accounts, sessions: Sessions, store: SQLStore, action: str
) -> None:
    sign_up(accounts, ADA)
    laptop = sign_in(accounts, ADA)
    phone = sign_in(accounts, ADA)
    args = (FACTS,) if action == "touch" else ()

    error = service_error(lambda: getattr(sessions, action)(laptop.client, phone.session.id, *args))

    assert error.status_code == 404
    assert error.code == "resource_not_found"
    assert status_of(store, phone.session.id) is SessionStatus.ACTIVE


@pytest.mark.parametrize(
    ("first_action", "second_action"),
    [
        pytest.param("end", "end", id="end-ended"),
        pytest.param("end", "remove", id="remove-ended"),
        pytest.param("remove", "end", id="end-removed"),
        pytest.param("remove", "remove", id="remove-removed"),
    ],
)
def test_client_action_not_live(
    accounts: Accounts, sessions: Sessions, first_action: str, second_action: str
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    getattr(sessions, first_action)(device.client, device.session.id)

    error = service_error(
        lambda: getattr(sessions, second_action)(device.client, device.session.id)
    )

    assert error.status_code == 400
    assert error.code == "invalid_action_for_session"


def test_client_action_revoked(accounts: Accounts, sessions: Sessions) -> None:
    sign_up(accounts, ADA)
    laptop = sign_in(accounts, ADA)
    phone = sign_in(accounts, ADA)
    _revoke(sessions, laptop, phone)

    error = service_error(lambda: sessions.end(phone.client, phone.session.id))

    assert error.status_code == 400
    assert error.code == "invalid_action_for_session"


def test_client_action_expired(accounts: Accounts, sessions: Sessions, clock: FrozenClock) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    clock.advance(7 * DAY)

    error = service_error(lambda: sessions.end(device.client, device.session.id))

    assert error.status_code == 400
    assert error.code == "invalid_action_for_session"


@pytest.mark.parametrize(
    "finish",
    [
        pytest.param(lambda s, d, c: s.end(d.client, d.session.id), id="ended"),
        pytest.param(lambda s, d, c: s.remove(d.client, d.session.id), id="removed"),
        pytest.param(lambda s, d, c: c.advance(7 * DAY), id="expired"),
    ],
)
def test_touch_not_live(
    accounts: Accounts,
    sessions: Sessions,
    clock: FrozenClock,
    finish: Callable[[Sessions, Device, FrozenClock], object],
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    finish(sessions, device, clock)

    error = service_error(lambda: sessions.touch(device.client, device.session.id, FACTS))

    assert error.status_code == 401
    assert error.code == "signed_out"


def test_touch_abandoned(accounts: Accounts, sessions: Sessions, clock: FrozenClock) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    clock.advance(30 * DAY)

    error = service_error(lambda: sessions.touch(device.client, device.session.id, FACTS))

    assert error.status_code == 404
    assert error.code == "resource_not_found"


def test_touch(
    accounts: Accounts, sessions: Sessions, store: SQLStore, engine: Engine, clock: FrozenClock
) -> None:
    first, second = shared_client(accounts)

    clock.advance(SECOND)
    touched = sessions.touch(first.client, first.session.id, FACTS)
    client = store.get_client(first.client.id)

    assert touched.last_active_at == clock.now
    assert session_row(engine, first.session.id).last_active_at == to_millis(clock.now)
    assert client is not None
    assert client.last_active_session_id == first.session.id
    assert sessions.authenticate(first.token, None, FACTS).session.id == first.session.id
    assert status_of(store, second.session.id) is SessionStatus.ACTIVE


def test_remove_all(accounts: Accounts, sessions: Sessions, store: SQLStore) -> None:
    first, second = shared_client(accounts)
    sessions.end(first.client, first.session.id)

    count = sessions.remove_all(first.client)
    client = store.get_client(first.client.id)
    replay = service_error(lambda: sessions.authenticate(first.token, None, FACTS))

    assert count == 1
    assert status_of(store, first.session.id) is SessionStatus.ENDED
    assert status_of(store, second.session.id) is SessionStatus.REMOVED
    assert client is not None
    assert client.last_active_session_id is None
    assert replay.code == "authentication_invalid"


# Sweeping


def test_sweep(accounts: Accounts, sessions: Sessions, store: SQLStore, clock: FrozenClock) -> None:
    user = sign_up(accounts, ADA)
    early = [sessions.create_session(user, accounts.new_client()[0], FACTS) for _ in range(5)]
    clock.advance(2 * DAY)
    late = sessions.create_session(user, accounts.new_client()[0], FACTS)
    ended_client, _ = accounts.new_client()
    ended = sessions.create_session(user, ended_client, FACTS)
    sessions.end(ended_client, ended.id)

    # Day 8: the early sessions are past expire_at, the late one is not.
    clock.advance(6 * DAY)
    first_count = sessions.sweep(batch_size=2)
    early_statuses = {status_of(store, s.id) for s in early}
    late_status = status_of(store, late.id)
    # Day 30: the early sessions are past abandon_at, and the late one past expire_at.
    clock.advance(22 * DAY)
    second_count = sessions.sweep(batch_size=2)
    # Day 32: the late session is past abandon_at.
    clock.advance(2 * DAY)
    third_count = sessions.sweep(batch_size=2)

    assert first_count == 5
    assert early_statuses == {SessionStatus.EXPIRED}
    assert late_status is SessionStatus.ACTIVE
    assert second_count == 6
    assert all(status_of(store, s.id) is SessionStatus.ABANDONED for s in early)
    assert third_count == 1
    assert status_of(store, late.id) is SessionStatus.ABANDONED
    assert status_of(store, ended.id) is SessionStatus.ENDED


def test_sweep_nothing(accounts: Accounts, sessions: Sessions, store: SQLStore) -> None:
    user = sign_up(accounts, ADA)
    session = sessions.create_session(user, accounts.new_client()[0], FACTS)

    assert sessions.sweep() == 0
    assert status_of(store, session.id) is SessionStatus.ACTIVE


CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
CHROME_HINTS = ClientHints(
    ua='"Chromium";v="126", "Google Chrome";v="126", "Not.A/Brand";v="24"',
    full_version_list='"Chromium";v="126.0.6478.127", "Google Chrome";v="126.0.6478.127"',
    platform='"Windows"',
    platform_version='"15.0.0"',
)


def test_activity_refined_by_later_hints(
    accounts: Accounts, sessions: Sessions, engine: Engine, clock: FrozenClock
) -> None:
    sign_up(accounts, ADA)
    plain = RequestFacts(ip_address("203.0.113.7"), CHROME)
    device = sign_in(accounts, ADA, facts=plain)

    clock.advance(SECOND)
    hinted = RequestFacts(ip_address("203.0.113.7"), CHROME, CHROME_HINTS)
    sessions.authenticate(device.token, None, hinted)
    sessions.authenticate(device.token, None, hinted)
    sessions.authenticate(device.token, None, plain)
    activities = activity_rows(engine, device.session.id)

    assert len(activities) == 2
    assert activities[0].browser_version == "126"
    assert activities[0].os_version == "10"
    assert activities[1].browser_version == "126.0.6478.127"
    assert activities[1].os_version == "11"


# The cache of recent requesters


def test_cached_read_skips_database(
    accounts: Accounts, sessions: Sessions, store: SQLStore
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    sessions.authenticate(device.token, None, FACTS, cached=True)

    # Another process revokes it: this process learns only when the entry expires.
    store.set_status(
        [device.session.id], SessionStatus.REVOKED, sessions.clock(), {SessionStatus.ACTIVE}
    )
    cached = sessions.authenticate(device.token, None, FACTS, cached=True)
    error = service_error(lambda: sessions.authenticate(device.token, None, FACTS))

    assert cached.session.id == device.session.id
    assert error.code == "authentication_invalid"


def test_cached_read_sees_revoke_at_once(accounts: Accounts, sessions: Sessions) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    sessions.authenticate(device.token, None, FACTS, cached=True)

    sessions.revoke_by_admin(device.session.id)
    error = service_error(lambda: sessions.authenticate(device.token, None, FACTS, cached=True))

    assert error.code == "authentication_invalid"


def test_cached_read_follows_new_sign_in(accounts: Accounts, sessions: Sessions) -> None:
    sign_up(accounts, ADA)
    grace = sign_up(accounts, GRACE)
    first = sign_in(accounts, ADA)
    sessions.authenticate(first.token, None, FACTS, cached=True)

    second = sign_in(accounts, GRACE, first.token)
    chosen = sessions.authenticate(first.token, None, FACTS, cached=True)

    assert chosen.session.id == second.session.id
    assert chosen.user.id == grace.id


def test_cached_read_after_user_deleted(accounts: Accounts, sessions: Sessions) -> None:
    ada = sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    sessions.authenticate(device.token, device.session.id, FACTS, cached=True)

    accounts.delete_user(ada.id)
    error = service_error(
        lambda: sessions.authenticate(device.token, device.session.id, FACTS, cached=True)
    )

    assert error.code == "authentication_invalid"


def test_cached_read_expires_by_clock(
    accounts: Accounts, sessions: Sessions, clock: FrozenClock
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    sessions.authenticate(device.token, None, FACTS, cached=True)

    clock.advance(sessions.lifetimes.max_lifetime)
    error = service_error(lambda: sessions.authenticate(device.token, None, FACTS, cached=True))

    assert error.code == "authentication_invalid"


def test_cached_read_records_activity(
    accounts: Accounts, sessions: Sessions, engine: Engine
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    sessions.authenticate(device.token, None, FACTS, cached=True)
    moved = RequestFacts(ip_address=ip_address("198.51.100.20"), user_agent=FIREFOX)

    first = sessions.authenticate(device.token, None, moved, cached=True)
    again = sessions.authenticate(device.token, None, moved, cached=True)

    assert first.session.latest_activity is not None
    assert first.session.latest_activity.ip_address == "198.51.100.20"
    assert again.session.latest_activity == first.session.latest_activity
    assert len(activity_rows(engine, device.session.id)) == 2


def test_cached_read_racing_revoke(
    accounts: Accounts, sessions: Sessions, store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_up(accounts, ADA)
    device = sign_in(accounts, ADA)
    get_user = store.get_user

    def get_user_then_revoke(user_id: str) -> User | None:
        # The revoke lands after this read found the session live, before it is cached.
        user = get_user(user_id)
        sessions.revoke_by_admin(device.session.id)
        return user

    monkeypatch.setattr(store, "get_user", get_user_then_revoke)
    sessions.authenticate(device.token, None, FACTS, cached=True)
    monkeypatch.undo()
    error = service_error(lambda: sessions.authenticate(device.token, None, FACTS, cached=True))

    assert error.code == "authentication_invalid"
