"""Accounts on SQLite and PostgreSQL: creating users and signing in with a password."""

import hashlib
from dataclasses import replace
from ipaddress import ip_address
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, Select, select

from lastseen.domain import ids
from lastseen.domain.clock import FrozenClock
from lastseen.domain.sessions import SessionStatus
from lastseen.errors import ServiceError
from lastseen.service.accounts import Accounts
from lastseen.service.activity import RequestFacts
from lastseen.service.sessions import Sessions
from lastseen.store.sql import SQLStore
from lastseen.store.tables import clients, users

PASSWORD = "correct horse battery staple"
FACTS = RequestFacts(
    ip_address=ip_address("203.0.113.7"),
    user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
)


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the hash passed to every argon2 verification, and still verify."""
    calls: list[str] = []
    original = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(str(hash))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    return calls


def rows(engine: Engine, query: Select[Any]) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


# Creating users


def test_create_user_stores_argon2id(accounts: Accounts, engine: Engine) -> None:
    user = accounts.create_user(email_address="ada@example.com", password=PASSWORD)

    stored = rows(engine, select(users.c.password_hash).where(users.c.id == user.id))

    assert len(stored) == 1
    password_hash = str(stored[0][0])
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert PasswordHasher().verify(password_hash, PASSWORD)


def test_create_user_fields(accounts: Accounts, store: SQLStore, clock: FrozenClock) -> None:
    user = accounts.create_user(
        email_address="  ada@example.com ",
        username="ada_l",
        password=PASSWORD,
        external_id="ext-1",
        first_name="Ada",
        last_name="Lovelace",
    )

    assert store.get_user(user.id) == user
    assert user.email_address == "ada@example.com"
    assert user.username == "ada_l"
    assert user.external_id == "ext-1"
    assert user.created_at == clock.now


@pytest.mark.parametrize(
    ("existing", "duplicate", "param_name"),
    [
        pytest.param(
            {"email_address": "ada@example.com"},
            {"email_address": "ada@example.com"},
            "email_address",
            id="email",
        ),
        pytest.param(
            {"email_address": "ada@example.com"},
            {"email_address": "Ada@Example.COM"},
            "email_address",
            id="email-other-case",
        ),
        pytest.param(
            {"username": "ada_l"},
            {"username": "ada_l"},
            "username",
            id="username",
        ),
        pytest.param(
            {"email_address": "ada@example.com", "username": "ada_l"},
            {"email_address": "grace@example.com", "username": "ada_l"},
            "username",
            id="username-with-new-email",
        ),
        pytest.param(
            {"email_address": "ada@example.com", "external_id": "ext-1"},
            {"email_address": "grace@example.com", "external_id": "ext-1"},
            "external_id",
            id="external-id",
        ),
    ],
)
def test_create_user_duplicate(
    accounts: Accounts,
    existing: dict[str, str],
    duplicate: dict[str, str],
    param_name: str,
) -> None:
    accounts.create_user(password=PASSWORD, **existing)

    with pytest.raises(ServiceError) as caught:
        accounts.create_user(password=PASSWORD, **duplicate)

    assert caught.value.status_code == 422
    assert caught.value.code == "form_identifier_exists"
    assert caught.value.meta == {"param_name": param_name}


def test_create_user_race(
    accounts: Accounts, store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another request inserts the same email address between the lookup and the insert.
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)
    monkeypatch.setattr(store, "find_user", lambda identifier: None)

    with pytest.raises(ServiceError) as caught:
        accounts.create_user(email_address="ada@example.com", password=PASSWORD)

    assert caught.value.status_code == 422
    assert caught.value.code == "form_identifier_exists"


@pytest.mark.parametrize(
    ("kwargs", "code", "param_name"),
    [
        pytest.param({"password": PASSWORD}, "form_param_missing", "email_address", id="none"),
        pytest.param(
            {"email_address": "ada", "password": PASSWORD},
            "form_param_value_invalid",
            "email_address",
            id="bad-email",
        ),
        pytest.param(
            {"username": "a b", "password": PASSWORD},
            "form_param_value_invalid",
            "username",
            id="bad-username",
        ),
        pytest.param(
            {"email_address": "ada@example.com", "password": None},
            "form_param_missing",
            "password",
            id="no-password",
        ),
        pytest.param(
            {"email_address": "ada@example.com", "password": "short"},
            "form_password_length_too_short",
            "password",
            id="short-password",
        ),
        pytest.param(
            {"email_address": "ada@example.com", "password": "x" * 257},
            "form_password_length_too_long",
            "password",
            id="long-password",
        ),
    ],
)
def test_create_user_invalid(
    accounts: Accounts, store: SQLStore, kwargs: dict[str, str | None], code: str, param_name: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        accounts.create_user(**kwargs)

    assert caught.value.status_code == 422
    assert caught.value.code == code
    assert caught.value.meta == {"param_name": param_name}
    assert store.find_user("ada@example.com") is None


# Signing in


def test_sign_in_creates_client(accounts: Accounts, store: SQLStore, engine: Engine) -> None:
    user = accounts.create_user(email_address="ada@example.com", password=PASSWORD)

    signed_in = accounts.sign_in(
        identifier="ada@example.com", password=PASSWORD, client_token=None, facts=FACTS
    )

    token = signed_in.client_token
    assert token is not None
    assert len(token) >= 43
    assert signed_in.user.id == user.id
    assert signed_in.session.status is SessionStatus.ACTIVE
    assert signed_in.session.client_id == signed_in.client.id
    assert signed_in.client.last_active_session_id == signed_in.session.id
    stored = store.find_client(hashlib.sha256(token.encode()).hexdigest())
    assert stored is not None
    assert stored.id == signed_in.client.id


def test_sign_in_stores_no_token(accounts: Accounts, engine: Engine) -> None:
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)
    signed_in = accounts.sign_in(
        identifier="ada@example.com", password=PASSWORD, client_token=None, facts=FACTS
    )
    token = signed_in.client_token
    assert token is not None

    stored = rows(engine, select(clients))

    assert len(stored) == 1
    assert all(token not in str(value) for value in stored[0])
    assert hashlib.sha256(token.encode()).hexdigest() in stored[0]


def test_sign_in_records_time(accounts: Accounts, store: SQLStore, clock: FrozenClock) -> None:
    user = accounts.create_user(email_address="ada@example.com", password=PASSWORD)

    accounts.sign_in(
        identifier="ada@example.com", password=PASSWORD, client_token=None, facts=FACTS
    )
    found = store.get_user(user.id)

    assert found is not None
    assert found.last_sign_in_at == clock.now


@pytest.mark.parametrize(
    "identifier",
    ["ada@example.com", "ADA@example.com", " ada@example.com ", "ada_l"],
    ids=["email", "email-other-case", "email-spaces", "username"],
)
def test_sign_in_identifiers(accounts: Accounts, identifier: str) -> None:
    user = accounts.create_user(
        email_address="ada@example.com", username="ada_l", password=PASSWORD
    )

    signed_in = accounts.sign_in(
        identifier=identifier, password=PASSWORD, client_token=None, facts=FACTS
    )

    assert signed_in.user.id == user.id


def test_sign_in_twice_same_client(accounts: Accounts, store: SQLStore) -> None:
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)
    first = accounts.sign_in(
        identifier="ada@example.com", password=PASSWORD, client_token=None, facts=FACTS
    )

    with pytest.raises(ServiceError) as caught:
        accounts.sign_in(
            identifier="ada@example.com",
            password=PASSWORD,
            client_token=first.client_token,
            facts=FACTS,
        )

    assert caught.value.status_code == 400
    assert caught.value.code == "session_exists"
    assert caught.value.meta == {"session_id": first.session.id}
    assert len(store.list_client_sessions(first.client.id)) == 1


def test_sign_in_second_user(accounts: Accounts, store: SQLStore) -> None:
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)
    accounts.create_user(email_address="grace@example.com", password=PASSWORD)
    first = accounts.sign_in(
        identifier="ada@example.com", password=PASSWORD, client_token=None, facts=FACTS
    )

    second = accounts.sign_in(
        identifier="grace@example.com",
        password=PASSWORD,
        client_token=first.client_token,
        facts=FACTS,
    )

    assert second.client_token is None
    assert second.client.id == first.client.id
    assert second.session.id != first.session.id
    assert second.client.last_active_session_id == second.session.id
    listed = {s.id for s in store.list_client_sessions(first.client.id)}
    assert listed == {first.session.id, second.session.id}


def test_sign_in_after_sign_out(accounts: Accounts, sessions: Sessions) -> None:
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)
    first = accounts.sign_in(
        identifier="ada@example.com", password=PASSWORD, client_token=None, facts=FACTS
    )
    sessions.end(first.client, first.session.id)

    again = accounts.sign_in(
        identifier="ada@example.com",
        password=PASSWORD,
        client_token=first.client_token,
        facts=FACTS,
    )

    assert again.client.id == first.client.id
    assert again.session.id != first.session.id


def test_sign_in_unknown_client_token(accounts: Accounts) -> None:
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)

    signed_in = accounts.sign_in(
        identifier="ada@example.com",
        password=PASSWORD,
        client_token="not-a-token-this-server-issued",
        facts=FACTS,
    )

    assert signed_in.client_token is not None
    assert signed_in.client_token != "not-a-token-this-server-issued"


def sign_in_error(accounts: Accounts, identifier: str, password: str) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        accounts.sign_in(identifier=identifier, password=password, client_token=None, facts=FACTS)
    return caught.value


def test_sign_in_failures_match(accounts: Accounts) -> None:
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)

    wrong = sign_in_error(accounts, "ada@example.com", "wrong password")
    unknown = sign_in_error(accounts, "nobody@example.com", PASSWORD)

    assert wrong.status_code == 422
    assert wrong.code == "form_password_incorrect"
    assert unknown.status_code == wrong.status_code
    assert unknown.code == wrong.code
    assert unknown.message == wrong.message
    assert unknown.long_message == wrong.long_message
    assert unknown.meta == wrong.meta


@pytest.mark.parametrize(
    ("identifier", "password"),
    [
        pytest.param("ada@example.com", "wrong password", id="wrong-password"),
        pytest.param("nobody@example.com", PASSWORD, id="unknown-identifier"),
        pytest.param("", PASSWORD, id="empty-identifier"),
        pytest.param("ada@example.com", "", id="empty-password"),
    ],
)
def test_sign_in_failure_verifies(
    accounts: Accounts, verify_calls: list[str], identifier: str, password: str
) -> None:
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)

    error = sign_in_error(accounts, identifier, password)

    assert error.code == "form_password_incorrect"
    assert len(verify_calls) == 1
    assert verify_calls[0].startswith("$argon2id$")


def test_sign_in_without_password_hash(
    accounts: Accounts, store: SQLStore, verify_calls: list[str]
) -> None:
    user = accounts.create_user(email_address="ada@example.com", password=PASSWORD)
    store.add_user(
        replace(user, id=ids.new_id(ids.USER), email_address="sso@example.com", password_hash=None)
    )

    # A user without a password hash is checked against the dummy hash, and the dummy
    # hash's own password must not sign that user in.
    error = sign_in_error(accounts, "sso@example.com", "lastseen dummy password for timing")

    assert error.code == "form_password_incorrect"
    assert len(verify_calls) == 1


def test_sign_in_success_verifies(accounts: Accounts, verify_calls: list[str]) -> None:
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)

    accounts.sign_in(
        identifier="ada@example.com", password=PASSWORD, client_token=None, facts=FACTS
    )

    assert len(verify_calls) == 1


def test_sign_in_failure_no_client(accounts: Accounts, engine: Engine) -> None:
    accounts.create_user(email_address="ada@example.com", password=PASSWORD)

    sign_in_error(accounts, "ada@example.com", "wrong password")

    assert rows(engine, select(clients)) == []
