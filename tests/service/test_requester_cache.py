"""The cache of recent requesters: expiry, dropping by id, and its size bound."""

from datetime import UTC, datetime, timedelta

from lastseen.domain.sessions import Session, SessionStatus
from lastseen.domain.users import Client, User
from lastseen.service.requesters import Requester, RequesterCache

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_requester(number: int) -> Requester:
    client = Client(f"client_{number}", f"hash{number}", NOW, NOW)
    user = User(f"user_{number}", None, f"user{number}", None, None, None, None, NOW, NOW)
    session = Session(
        f"sess_{number}",
        user.id,
        client.id,
        SessionStatus.ACTIVE,
        NOW,
        NOW,
        NOW,
        NOW + timedelta(days=7),
        NOW + timedelta(days=30),
    )
    return Requester(client=client, session=session, user=user)


def key_of(requester: Requester) -> tuple[str, str | None]:
    return (requester.client.token_hash, None)


def test_cache_hit_within_ttl() -> None:
    clock = FakeMonotonic()
    cache = RequesterCache(ttl=1.0, monotonic=clock)
    ada = make_requester(1)
    cache.put(key_of(ada), ada, since=cache.generation())

    clock.now += 0.9

    assert cache.get(key_of(ada)) == ada


def test_cache_miss_after_ttl() -> None:
    clock = FakeMonotonic()
    cache = RequesterCache(ttl=1.0, monotonic=clock)
    ada = make_requester(1)
    cache.put(key_of(ada), ada, since=cache.generation())

    clock.now += 1.0

    assert cache.get(key_of(ada)) is None
    assert len(cache) == 0


def test_cache_zero_ttl_keeps_nothing() -> None:
    cache = RequesterCache(ttl=0)
    ada = make_requester(1)

    cache.put(key_of(ada), ada, since=cache.generation())

    assert cache.get(key_of(ada)) is None


def test_cache_drop_by_each_id() -> None:
    for pick in (
        lambda requester: requester.client.id,
        lambda requester: requester.session.id,
        lambda requester: requester.user.id,
    ):
        cache = RequesterCache()
        ada, grace = make_requester(1), make_requester(2)
        cache.put(key_of(ada), ada, since=cache.generation())
        cache.put(key_of(grace), grace, since=cache.generation())

        cache.drop([pick(ada)])

        assert cache.get(key_of(ada)) is None
        assert cache.get(key_of(grace)) == grace


def test_cache_drop_every_key_of_a_session() -> None:
    cache = RequesterCache()
    ada = make_requester(1)
    named = (ada.client.token_hash, ada.session.id)
    cache.put(key_of(ada), ada, since=cache.generation())
    cache.put(named, ada, since=cache.generation())

    cache.drop([ada.session.id])

    assert cache.get(key_of(ada)) is None
    assert cache.get(named) is None
    assert len(cache) == 0


def test_cache_evicts_oldest_when_full() -> None:
    cache = RequesterCache(max_entries=2)
    first, second, third = make_requester(1), make_requester(2), make_requester(3)

    for requester in (first, second, third):
        cache.put(key_of(requester), requester, since=cache.generation())

    assert cache.get(key_of(first)) is None
    assert cache.get(key_of(second)) == second
    assert cache.get(key_of(third)) == third
    assert len(cache) == 2


def test_cache_replaced_entry_drops_old_ids() -> None:
    cache = RequesterCache()
    ada = make_requester(1)
    grace = make_requester(2)
    cache.put(key_of(ada), ada, since=cache.generation())

    # The same key now resolves to another session, as after a sign-in on the client.
    cache.put(key_of(ada), grace, since=cache.generation())
    cache.drop([ada.session.id])

    assert cache.get(key_of(ada)) == grace


def test_cache_ignores_put_after_drop() -> None:
    cache = RequesterCache()
    ada = make_requester(1)
    # A read began, then the session was dropped before the read's result was put.
    since = cache.generation()
    cache.drop([ada.session.id])

    cache.put(key_of(ada), ada, since=since)

    assert cache.get(key_of(ada)) is None
