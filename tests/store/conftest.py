"""Fixtures of the store tests: a user and a client stored in the test database."""

import pytest
from test_sql_store import make_client, make_user

from lastseen.domain.users import Client, User
from lastseen.store.sql import SQLStore


@pytest.fixture
def user(store: SQLStore) -> User:
    user = make_user()
    store.add_user(user)
    return user


@pytest.fixture
def client(store: SQLStore) -> Client:
    client = make_client()
    store.add_client(client)
    return client
