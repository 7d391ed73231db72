"""The backend API over real HTTP: sessions, users and secret keys."""

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from helpers import (
    PASSWORD,
    SECRET_KEY,
    RunningServer,
    ServerFactory,
    make_user,
    signed_in,
)
from lastseen.domain import ids
from lastseen.domain.clock import FrozenClock
from lastseen.domain.sessions import LIVE_STATUSES, SessionStatus
from lastseen.service.tokens import SecretKeys
from lastseen.store.engine import make_engine
from lastseen.store.sql import SQLStore
from lastseen.store.tables import secret_keys

LONDON = "81.2.69.142"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
# The reduced Chrome user agent always reports macOS 10.15.7, so the real version is in the hint.
MACOS_HINTS = {
    "Sec-CH-UA": '"Chromium";v="126", "Google Chrome";v="126", "Not.A/Brand";v="24"',
    "Sec-CH-UA-Mobile": "?0",
    "Sec-CH-UA-Platform": '"macOS"',
    "Sec-CH-UA-Platform-Version": '"14.5.0"',
}
LISTABLE = ["active", "revoked", "ended", "removed", "expired", "abandoned", "replaced"]


# Helpers


def assert_clerk_error(response: httpx.Response, status: int) -> None:
    body = response.json()
    error = body["errors"][0]
    assert response.status_code == status
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert isinstance(error["long_message"], str)


def first_error(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["errors"][0]
    return error


def error_code(response: httpx.Response) -> str | None:
    """Return the first Clerk error code of ``response``, or None when it has none."""
    try:
        code: str = response.json()["errors"][0]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return code


def admin(server: RunningServer, key: str = SECRET_KEY) -> httpx.Client:
    """Return a backend API client with ``key``, closed when the server stops."""
    http = httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=10)
    server.opened.append(http)
    return http


def server_secret_keys(server: RunningServer) -> SecretKeys:
    """Return the secret keys of the server's own store."""
    store = server.accounts.store
    assert isinstance(store, SQLStore)
    return SecretKeys(store)


def start_session(http: httpx.Client, user_id: str, **facts: object) -> str:
    response = http.post("/v1/sessions", json={"user_id": user_id, **facts})
    assert response.status_code == 200, response.text
    session_id: str = response.json()["id"]
    return session_id


def session_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["data"] if isinstance(body, dict) else body
    return [item["id"] for item in items]


@pytest.fixture
def database(engine: Engine) -> str:
    """The URL of an empty database: SQLite, and PostgreSQL when configured."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def clocked(serve: ServerFactory, clock: FrozenClock, database: str) -> RunningServer:
    """A server whose clock the test moves, on each database."""
    return serve(clock=clock, database_url=database)


# Listing sessions


@pytest.fixture
def every_status(clocked: RunningServer, clock: FrozenClock) -> dict[str, str]:
    """Create one session of ``ada@example.com`` in each listable status and return their ids."""
    server = clocked
    user_id = make_user(server, "ada@example.com")
    http = admin(server)
    created = {}

    created["abandoned"] = start_session(http, user_id)
    clock.advance(timedelta(days=24))
    created["expired"] = start_session(http, user_id)
    # 31 days after the first session, 7 days after the second: past abandon_at and expire_at.
    clock.advance(timedelta(days=7, seconds=1))

    for status in ("active", "revoked", "replaced"):
        created[status] = start_session(http, user_id)
    revoked = http.post(f"/v1/sessions/{created['revoked']}/revoke")
    assert revoked.status_code == 200, revoked.text
    # No request makes a session replaced, so the store sets it directly.
    changed = server.accounts.store.set_status(
        [created["replaced"]], SessionStatus.REPLACED, clock.now, LIVE_STATUSES
    )
    assert changed == 1

    for action, status in (("end", "ended"), ("remove", "removed")):
        browser = signed_in(server, "ada@example.com")
        response = browser.http.post(f"/v1/client/sessions/{browser.session_id}/{action}")
        assert response.status_code == 200, response.text
        created[status] = browser.session_id
    return created


def test_list_by_status(clocked: RunningServer, every_status: dict[str, str]) -> None:
    http = admin(clocked)
    found = {}
    statuses = {}
    for status in LISTABLE:
        response = http.get("/v1/sessions", params={"status": status, "limit": 50})
        found[status] = session_ids(response)
        statuses[status] = [session["status"] for session in response.json()]

    assert found == {status: [every_status[status]] for status in LISTABLE}
    assert statuses == {status: [status] for status in LISTABLE}


def test_list_without_status_has_all(clocked: RunningServer, every_status: dict[str, str]) -> None:
    response = admin(clocked).get("/v1/sessions", params={"limit": 50})

    assert sorted(session_ids(response)) == sorted(every_status.values())


@pytest.mark.parametrize(
    ("elapsed", "status", "other"),
    [
        (timedelta(days=7, seconds=1), "expired", "abandoned"),
        (timedelta(days=30), "abandoned", "expired"),
    ],
    ids=["expired", "abandoned"],
)
def test_clock_changes_listed_status(
    clocked: RunningServer,
    clock: FrozenClock,
    elapsed: timedelta,
    status: str,
    other: str,
) -> None:
    http = admin(clocked)
    session_id = start_session(http, make_user(clocked, "ada@example.com"))

    clock.advance(elapsed)
    as_active = http.get("/v1/sessions", params={"status": "active"})
    as_status = http.get("/v1/sessions", params={"status": status})
    as_other = http.get("/v1/sessions", params={"status": other})
    fetched = http.get(f"/v1/sessions/{session_id}")

    assert session_ids(as_active) == []
    assert session_ids(as_status) == [session_id]
    assert session_ids(as_other) == []
    assert fetched.json()["status"] == status


def test_list_by_user(server: RunningServer) -> None:
    http = admin(server)
    ada = make_user(server, "ada@example.com")
    bob = make_user(server, "bob@example.com")
    ada_sessions = [start_session(http, ada), start_session(http, ada)]
    start_session(http, bob)

    response = http.get("/v1/sessions", params={"user_id": ada})

    assert sorted(session_ids(response)) == sorted(ada_sessions)


def test_list_by_client(server: RunningServer) -> None:
    http = admin(server)
    make_user(server, "ada@example.com")
    bob = make_user(server, "bob@example.com")
    browser = signed_in(server, "ada@example.com")
    second = browser.http.post(
        "/v1/client/sign_ins", data={"identifier": "bob@example.com", "password": PASSWORD}
    )
    bob_session = second.json()["response"]["created_session_id"]
    signed_in(server, "bob@example.com")
    client_id = http.get(f"/v1/sessions/{browser.session_id}").json()["client_id"]

    by_client = http.get("/v1/sessions", params={"client_id": client_id})
    by_both = http.get("/v1/sessions", params={"client_id": client_id, "user_id": bob})

    assert second.status_code == 200, second.text
    assert sorted(session_ids(by_client)) == sorted([browser.session_id, bob_session])
    assert session_ids(by_both) == [bob_session]


def test_list_unknown_user_empty(server: RunningServer) -> None:
    http = admin(server)
    start_session(http, make_user(server, "ada@example.com"))

    response = http.get("/v1/sessions", params={"user_id": ids.new_id(ids.USER)})

    assert session_ids(response) == []


@pytest.fixture
def twelve_sessions(clocked: RunningServer, clock: FrozenClock) -> list[str]:
    """Create twelve sessions a second apart and return their ids, newest first."""
    http = admin(clocked)
    user_id = make_user(clocked, "ada@example.com")
    created = []
    for _ in range(12):
        created.append(start_session(http, user_id))
        clock.advance(timedelta(seconds=1))
    return created[::-1]


def test_list_default_page(clocked: RunningServer, twelve_sessions: list[str]) -> None:
    response = admin(clocked).get("/v1/sessions")

    assert isinstance(response.json(), list)
    assert session_ids(response) == twelve_sessions[:10]


def test_list_paginated_shape(clocked: RunningServer, twelve_sessions: list[str]) -> None:
    response = admin(clocked).get("/v1/sessions", params={"paginated": "true"})
    body = response.json()

    assert sorted(body) == ["data", "total_count"]
    assert body["total_count"] == 12
    assert session_ids(response) == twelve_sessions[:10]


# limit, offset, and the slice of the newest-first ids that the page holds.
PAGES = {
    "one": (1, 0, slice(0, 1)),
    "first-five": (5, 0, slice(0, 5)),
    "last-two": (5, 10, slice(10, 12)),
    "max-limit": (500, 0, slice(0, 12)),
    "past-end": (10, 12, slice(12, 12)),
}


def test_list_limit_offset(clocked: RunningServer, twelve_sessions: list[str]) -> None:
    http = admin(clocked)
    bare = {}
    paginated = {}
    totals = {}
    for name, (limit, offset, _page) in PAGES.items():
        params = {"limit": limit, "offset": offset}
        bare[name] = session_ids(http.get("/v1/sessions", params=params))
        response = http.get("/v1/sessions", params={**params, "paginated": "true"})
        paginated[name] = session_ids(response)
        totals[name] = response.json()["total_count"]
    expected = {name: twelve_sessions[page] for name, (_limit, _offset, page) in PAGES.items()}

    assert bare == expected
    assert paginated == expected
    assert totals == dict.fromkeys(PAGES, 12)


def test_total_count_follows_filters(clocked: RunningServer) -> None:
    http = admin(clocked)
    ada = make_user(clocked, "ada@example.com")
    bob = make_user(clocked, "bob@example.com")
    for _ in range(3):
        start_session(http, ada)
    start_session(http, bob)
    revoked = start_session(http, ada)
    http.post(f"/v1/sessions/{revoked}/revoke")

    response = http.get(
        "/v1/sessions",
        params={"user_id": ada, "status": "active", "limit": 2, "paginated": "true"},
    )

    assert len(session_ids(response)) == 2
    assert response.json()["total_count"] == 3


# Bad input


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"status": "pending"}, "status"),
        ({"status": "bogus"}, "status"),
        ({"paginated": "maybe"}, "paginated"),
    ],
    ids=["limit-0", "limit-501", "limit-abc", "offset-negative", "pending", "bogus", "maybe"],
)
def test_list_bad_query(server: RunningServer, params: dict[str, str], param: str) -> None:
    response = admin(server).get("/v1/sessions", params=params)

    assert_clerk_error(response, 422)
    assert first_error(response)["code"] == "form_param_value_invalid"
    assert first_error(response)["meta"]["param_name"] == param


# Replaced by the id of a real user before the request.
USER = object()


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({}, "form_param_missing", "user_id"),
        ({"user_id": 42}, "form_param_value_invalid", "user_id"),
        ({"user_id": ["user_x"]}, "form_param_value_invalid", "user_id"),
        ({"user_id": USER, "ip_address": "999.1.1.1"}, "form_param_value_invalid", "ip_address"),
        ({"user_id": USER, "ip_address": "london"}, "form_param_value_invalid", "ip_address"),
        ({"user_id": USER, "user_agent": "a" * 8193}, "form_param_value_invalid", "user_agent"),
        ({"user_id": USER, "client_hints": "?0"}, "form_param_value_invalid", "client_hints"),
    ],
    ids=[
        "missing",
        "number",
        "list",
        "bad-octet",
        "not-an-address",
        "long-user-agent",
        "hints-not-object",
    ],
)
def test_create_session_bad_body(
    server: RunningServer, body: dict[str, object], code: str, param: str
) -> None:
    user_id = make_user(server, "ada@example.com")
    sent = {key: user_id if value is USER else value for key, value in body.items()}

    response = admin(server).post("/v1/sessions", json=sent)

    assert_clerk_error(response, 422)
    assert first_error(response)["code"] == code
    assert first_error(response)["meta"]["param_name"] == param


def test_create_session_unknown_user(server: RunningServer) -> None:
    response = admin(server).post("/v1/sessions", json={"user_id": ids.new_id(ids.USER)})

    assert_clerk_error(response, 404)
    assert first_error(response)["code"] == "resource_not_found"


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"user_id": "user_x"', b"[1, 2, 3]", b'"user_x"', b"\xff\xfe"],
    ids=["broken", "truncated", "array", "string", "not-utf8"],
)
def test_create_session_unreadable_body(server: RunningServer, content: bytes) -> None:
    response = admin(server).post(
        "/v1/sessions", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code in (400, 422)
    assert isinstance(first_error(response)["code"], str)
    # A body that is not a JSON object is no single parameter's fault.
    assert first_error(response)["meta"].get("param_name", "body") == "body"


@pytest.mark.parametrize(
    "seconds",
    [29, 315_360_001, "abc", -1, 1.5],
    ids=["29", "315360001", "abc", "negative", "float"],
)
def test_token_bad_lifetime(server: RunningServer, seconds: object) -> None:
    http = admin(server)
    session_id = start_session(http, make_user(server, "ada@example.com"))

    response = http.post(f"/v1/sessions/{session_id}/tokens", json={"expires_in_seconds": seconds})

    assert_clerk_error(response, 422)
    assert first_error(response)["meta"]["param_name"] == "expires_in_seconds"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("POST", "/revoke"), ("POST", "/tokens")],
    ids=["get", "revoke", "tokens"],
)
def test_unknown_session_not_found(server: RunningServer, method: str, path: str) -> None:
    session_id = ids.new_id(ids.SESSION)

    response = admin(server).request(method, f"/v1/sessions/{session_id}{path}")

    assert_clerk_error(response, 404)
    assert first_error(response)["code"] == "resource_not_found"
    assert session_id in first_error(response)["long_message"]


@pytest.mark.parametrize(
    "path",
    ["/v1/sessions", "/v1/sessions/{id}/tokens", "/v1/users"],
    ids=["sessions", "tokens", "users"],
)
def test_oversized_body_rejected(server: RunningServer, path: str) -> None:
    http = admin(server)
    session_id = start_session(http, make_user(server, "ada@example.com"))

    response = http.post(path.format(id=session_id), json={"padding": "a" * 70_000})

    assert_clerk_error(response, 413)
    assert first_error(response)["code"] == "request_body_too_large"


BACKEND_ROUTES = [
    ("GET", "/v1/sessions"),
    ("POST", "/v1/sessions"),
    ("GET", "/v1/sessions/{session}"),
    ("POST", "/v1/sessions/{session}/revoke"),
    ("POST", "/v1/sessions/{session}/tokens"),
    ("GET", "/v1/jwks"),
    ("GET", "/v1/users"),
    ("POST", "/v1/users"),
    ("GET", "/v1/users/{user}"),
    ("DELETE", "/v1/users/{user}"),
]
# The revoked case gets a stored key that is revoked before the request.
REVOKED = "revoked"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "authorization_header_format_invalid"),
        ("Bearer", "authorization_header_format_invalid"),
        ("Basic YWRhOnNlY3JldA==", "authorization_header_format_invalid"),
        (f"Token {SECRET_KEY}", "authorization_header_format_invalid"),
        (SECRET_KEY, "authorization_header_format_invalid"),
        ("Bearer sk_test_wrong", "clerk_key_invalid"),
        (f"Bearer {SECRET_KEY}x", "clerk_key_invalid"),
        (f"Bearer {SECRET_KEY[:-1]}", "clerk_key_invalid"),
        (REVOKED, "clerk_key_invalid"),
    ],
    ids=[
        "missing",
        "bearer-alone",
        "basic",
        "other-scheme",
        "no-scheme",
        "wrong",
        "longer",
        "shorter",
        "revoked",
    ],
)
def test_backend_rejects_bad_authorization(
    server: RunningServer, header: str | None, code: str
) -> None:
    if header == REVOKED:
        keys = server_secret_keys(server)
        key, plain = keys.create("revoked before use")
        keys.revoke(key.id)
        header = f"Bearer {plain}"
    headers = {} if header is None else {"authorization": header}
    session_id, user_id = ids.new_id(ids.SESSION), ids.new_id(ids.USER)

    answers = {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
        for method, path in BACKEND_ROUTES:
            body = {"user_id": user_id} if method == "POST" else None
            response = http.request(
                method, path.format(session=session_id, user=user_id), json=body
            )
            answers[f"{method} {path}"] = (response.status_code, error_code(response))

    assert answers == dict.fromkeys(answers, (401, code))


def test_bad_authorization_checked_before_body(server: RunningServer) -> None:
    response = httpx.post(
        f"{server.url}/v1/sessions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )

    assert_clerk_error(response, 401)
    assert first_error(response)["code"] == "authorization_header_format_invalid"


def test_bad_authorization_leaves_data(server: RunningServer) -> None:
    user_id = make_user(server, "ada@example.com")
    session_id = start_session(admin(server), user_id)

    with httpx.Client(base_url=server.url, timeout=10) as http:
        revoke = http.post(f"/v1/sessions/{session_id}/revoke")
        delete = http.delete(f"/v1/users/{user_id}")
    fetched = admin(server).get(f"/v1/sessions/{session_id}")

    assert revoke.status_code == 401
    assert delete.status_code == 401
    assert fetched.json()["status"] == "active"


# Creating sessions


def test_create_session_records_facts(server: RunningServer) -> None:
    http = admin(server)
    user_id = make_user(server, "ada@example.com")

    created = http.post(
        "/v1/sessions",
        json={
            "user_id": user_id,
            "user_agent": CHROME_MAC,
            "ip_address": LONDON,
            "client_hints": MACOS_HINTS,
        },
    )
    fetched = http.get(f"/v1/sessions/{created.json()['id']}")
    activity = fetched.json()["latest_activity"]

    assert created.status_code == 200, created.text
    assert created.json()["latest_activity"] == activity
    assert activity["ip_address"] == LONDON
    assert activity["city"] == "London"
    assert activity["country"] == "United Kingdom"
    assert activity["country_code"] == "GB"
    assert activity["browser_name"] == "Chrome"
    assert activity["os_name"] == "macOS"
    assert activity["os_version"] == "14.5"
    assert activity["is_mobile"] is False


def test_create_session_shape(server: RunningServer) -> None:
    user_id = make_user(server, "ada@example.com")

    response = admin(server).post("/v1/sessions", json={"user_id": user_id})
    session = response.json()

    assert response.status_code == 200
    assert session["object"] == "session"
    assert session["id"].startswith("sess_")
    assert session["user_id"] == user_id
    assert session["client_id"].startswith("client_")
    assert session["status"] == "active"
    assert session["expire_at"] - session["created_at"] == 7 * 86_400_000
    assert session["abandon_at"] - session["created_at"] == 30 * 86_400_000


def test_create_session_ignores_caller_facts(server: RunningServer) -> None:
    user_id = make_user(server, "ada@example.com")

    response = admin(server).post(
        "/v1/sessions",
        json={"user_id": user_id},
        headers={"x-forwarded-for": LONDON, "user-agent": CHROME_MAC},
    )
    activity = response.json()["latest_activity"]

    assert "ip_address" not in activity
    assert "browser_name" not in activity
    assert "city" not in activity


def test_created_sessions_get_own_clients(server: RunningServer) -> None:
    http = admin(server)
    user_id = make_user(server, "ada@example.com")

    first = http.get(f"/v1/sessions/{start_session(http, user_id)}").json()
    second = http.get(f"/v1/sessions/{start_session(http, user_id)}").json()

    assert first["client_id"] != second["client_id"]


# Revoking sessions


def test_revoke_active_session(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    http = admin(server)

    revoked = http.post(f"/v1/sessions/{browser.session_id}/revoke")
    again = http.post(f"/v1/sessions/{browser.session_id}/revoke")
    fetched = http.get(f"/v1/sessions/{browser.session_id}")
    from_browser = browser.http.get("/v1/me/sessions/active")

    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert fetched.json()["status"] == "revoked"
    assert_clerk_error(again, 400)
    assert first_error(again)["code"] == "invalid_action_for_session"
    assert_clerk_error(from_browser, 401)


def test_revoke_keeps_other_sessions(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    revoked = signed_in(server, "ada@example.com")
    other = signed_in(server, "ada@example.com")

    admin(server).post(f"/v1/sessions/{revoked.session_id}/revoke")
    response = other.http.get("/v1/me/sessions/active")

    assert response.status_code == 200
    assert [session["id"] for session in response.json()] == [other.session_id]


@pytest.mark.parametrize("action", ["end", "remove"])
def test_revoke_signed_out_session_rejected(server: RunningServer, action: str) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    browser.http.post(f"/v1/client/sessions/{browser.session_id}/{action}")

    response = admin(server).post(f"/v1/sessions/{browser.session_id}/revoke")

    assert_clerk_error(response, 400)
    assert first_error(response)["code"] == "invalid_action_for_session"


# Users


USERS = {
    "ada": {"email_address": "ada@example.com", "username": "ada_l", "external_id": "host-1"},
    "bob": {"email_address": "bob@example.com", "username": "bobby", "external_id": "host-2"},
    "cy": {"email_address": "cy@example.com", "username": None, "external_id": None},
}


@pytest.fixture
def three_users(clocked: RunningServer, clock: FrozenClock) -> dict[str, str]:
    """Create ada, bob and cy a second apart and return their ids by name."""
    created = {}
    for name, fields in USERS.items():
        user = clocked.accounts.create_user(password=PASSWORD, **fields)  # type: ignore[arg-type]
        created[name] = user.id
        clock.advance(timedelta(seconds=1))
    return created


# Query parameters and the users listed, newest first. The user_id values are names in USERS.
USER_QUERIES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "all": ({}, ["cy", "bob", "ada"]),
    "by-id": ({"user_id": ["ada", "cy"]}, ["cy", "ada"]),
    "by-email-any-case": ({"email_address": "ADA@example.com"}, ["ada"]),
    "by-two-emails": ({"email_address": ["ada@example.com", "bob@example.com"]}, ["bob", "ada"]),
    "by-username": ({"username": "bobby"}, ["bob"]),
    "by-external-id": ({"external_id": "host-1"}, ["ada"]),
    "filters-combine": ({"email_address": "ada@example.com", "username": "bobby"}, []),
    "unknown-email": ({"email_address": "nobody@example.com"}, []),
    "limit": ({"limit": 1}, ["cy"]),
    "offset": ({"limit": 1, "offset": 1}, ["bob"]),
    "last-page": ({"limit": 2, "offset": 2}, ["ada"]),
    "past-end": ({"offset": 3}, []),
}


def test_list_users(clocked: RunningServer, three_users: dict[str, str]) -> None:
    http = admin(clocked)
    found = {}
    for name, (params, _expected) in USER_QUERIES.items():
        if "user_id" in params:
            params = {**params, "user_id": [three_users[user] for user in params["user_id"]]}
        response = http.get("/v1/users", params=params)
        assert response.status_code == 200, response.text
        found[name] = [user["id"] for user in response.json()]
    expected = {
        name: [three_users[user] for user in users]
        for name, (_params, users) in USER_QUERIES.items()
    }

    assert found == expected


@pytest.mark.parametrize(
    ("params", "param"),
    [({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"offset": "-1"}, "offset")],
    ids=["limit-0", "limit-501", "offset-negative"],
)
def test_list_users_bad_query(server: RunningServer, params: dict[str, str], param: str) -> None:
    response = admin(server).get("/v1/users", params=params)

    assert_clerk_error(response, 422)
    assert first_error(response)["meta"]["param_name"] == param


def test_get_user(server: RunningServer) -> None:
    user_id = make_user(server, "ada@example.com")

    response = admin(server).get(f"/v1/users/{user_id}")

    assert response.status_code == 200
    assert response.json()["id"] == user_id
    assert response.json()["email_addresses"][0]["email_address"] == "ada@example.com"


def test_get_unknown_user(server: RunningServer) -> None:
    response = admin(server).get(f"/v1/users/{ids.new_id(ids.USER)}")

    assert_clerk_error(response, 404)
    assert first_error(response)["code"] == "resource_not_found"


def test_delete_user(server: RunningServer) -> None:
    http = admin(server)
    user_id = make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    start_session(http, user_id)

    deleted = http.delete(f"/v1/users/{user_id}")
    from_browser = browser.http.get("/v1/me/sessions/active")
    fetched = http.get(f"/v1/users/{user_id}")
    sessions = http.get("/v1/sessions", params={"user_id": user_id})
    again = http.delete(f"/v1/users/{user_id}")

    assert deleted.status_code == 200
    assert deleted.json() == {"object": "user", "id": user_id, "deleted": True}
    assert_clerk_error(from_browser, 401)
    assert_clerk_error(fetched, 404)
    assert session_ids(sessions) == []
    assert_clerk_error(again, 404)


def test_delete_user_keeps_others(server: RunningServer) -> None:
    ada = make_user(server, "ada@example.com")
    make_user(server, "bob@example.com")
    bob_browser = signed_in(server, "bob@example.com")

    admin(server).delete(f"/v1/users/{ada}")
    response = bob_browser.http.get("/v1/me/sessions/active")

    assert response.status_code == 200
    assert [session["id"] for session in response.json()] == [bob_browser.session_id]


def test_deleted_user_signs_in_no_more(server: RunningServer) -> None:
    user_id = make_user(server, "ada@example.com")

    admin(server).delete(f"/v1/users/{user_id}")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.post(
            "/v1/client/sign_ins", data={"identifier": "ada@example.com", "password": PASSWORD}
        )

    assert_clerk_error(response, 422)
    assert first_error(response)["code"] == "form_password_incorrect"


# Secret keys


@pytest.fixture
def sql(server: RunningServer) -> Iterator[Engine]:
    """A second engine on the server's database, for reading tables directly."""
    engine = make_engine(server.settings.database_url)
    yield engine
    engine.dispose()


def test_stored_key_authenticates(server: RunningServer) -> None:
    _key, plain = server_secret_keys(server).create("deploy")

    response = admin(server, plain).get("/v1/sessions")

    assert plain.startswith("sk_live_")
    assert response.status_code == 200


def test_stored_key_without_bootstrap_key(serve: ServerFactory) -> None:
    server = serve(secret_key=None)
    _key, plain = server_secret_keys(server).create("deploy")

    stored = admin(server, plain).get("/v1/sessions")
    bootstrap = admin(server, SECRET_KEY).get("/v1/sessions")

    assert stored.status_code == 200
    assert_clerk_error(bootstrap, 401)
    assert first_error(bootstrap)["code"] == "clerk_key_invalid"


def test_revoked_key_rejected(server: RunningServer) -> None:
    keys = server_secret_keys(server)
    key, plain = keys.create("deploy")
    http = admin(server, plain)

    before = http.get("/v1/sessions")
    revoked = keys.revoke(key.id)
    after = http.get("/v1/sessions")

    assert before.status_code == 200
    assert revoked is True
    assert_clerk_error(after, 401)
    assert first_error(after)["code"] == "clerk_key_invalid"


def test_revoke_key_twice(server: RunningServer) -> None:
    keys = server_secret_keys(server)
    key, _plain = keys.create("deploy")

    first = keys.revoke(key.id)
    second = keys.revoke(key.id)

    assert first is True
    assert second is False


def test_two_keys_active(server: RunningServer) -> None:
    keys = server_secret_keys(server)
    old, old_plain = keys.create("old")
    _new, new_plain = keys.create("new")

    both = [
        admin(server, plain).get("/v1/sessions").status_code for plain in (old_plain, new_plain)
    ]
    keys.revoke(old.id)
    old_after = admin(server, old_plain).get("/v1/sessions")
    new_after = admin(server, new_plain).get("/v1/sessions")

    assert both == [200, 200]
    assert_clerk_error(old_after, 401)
    assert new_after.status_code == 200


def test_only_key_hash_stored(server: RunningServer, sql: Engine) -> None:
    key, plain = server_secret_keys(server).create("deploy")

    with sql.connect() as connection:
        rows = connection.execute(select(secret_keys)).all()
    values = [str(value) for row in rows for value in row]

    assert len(rows) == 1
    assert rows[0].id == key.id
    assert rows[0].key_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert all(plain not in value for value in values)
    assert all(plain.removeprefix("sk_live_") not in value for value in values)
    assert rows[0].label == "deploy"
