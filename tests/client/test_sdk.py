"""The Python SDK against a real server: sign-in, listing, revoking and signing out."""

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import lastseen.client
from helpers import RunningServer
from lastseen.client import (
    APIError,
    AsyncClient,
    Client,
    SessionActivity,
    SessionWithActivities,
)

PASSWORD = "correct horse battery"

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
# In the GeoLite2 test database; the server fixture trusts X-Forwarded-For from loopback.
LONDON = "81.2.69.142"


@pytest.fixture
def clients(server: RunningServer) -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def make_user(server: RunningServer, email: str = "ada@example.com") -> str:
    return server.accounts.create_user(email_address=email, password=PASSWORD).id


def signed_in(
    server: RunningServer,
    clients: ExitStack,
    user_agent: str,
    *,
    email: str = "ada@example.com",
    headers: dict[str, str] | None = None,
) -> Client:
    client = Client(server.url, headers={"User-Agent": user_agent, **(headers or {})})
    clients.enter_context(client)
    client.sign_in(email, PASSWORD)
    return client


def by_id(sessions: list[SessionWithActivities]) -> dict[str, SessionWithActivities]:
    return {session.id: session for session in sessions}


def latest(session: SessionWithActivities) -> SessionActivity:
    assert session.latest_activity is not None
    return session.latest_activity


# Sign-in


def test_sign_in_stores_token_and_session(server: RunningServer) -> None:
    user_id = make_user(server)

    with Client(server.url) as client:
        result = client.sign_in("ada@example.com", PASSWORD)

        assert result.user_id == user_id
        assert result.session_id.startswith("sess_")
        assert client.session_id == result.session_id
        assert client.client_token
        assert not client.client_token.startswith("Bearer ")


def test_sign_in_again_keeps_client_token(server: RunningServer) -> None:
    make_user(server)
    make_user(server, "grace@example.com")

    with Client(server.url) as client:
        first = client.sign_in("ada@example.com", PASSWORD)
        token = client.client_token
        second = client.sign_in("grace@example.com", PASSWORD)

        assert client.client_token == token
        assert client.session_id == second.session_id
        assert second.session_id != first.session_id


def test_sign_in_twice_same_user(server: RunningServer) -> None:
    make_user(server)

    with Client(server.url) as client:
        first = client.sign_in("ada@example.com", PASSWORD)
        with pytest.raises(APIError) as caught:
            client.sign_in("ada@example.com", PASSWORD)

        assert caught.value.status_code == 400
        assert caught.value.code == "session_exists"
        assert client.session_id == first.session_id


@pytest.mark.parametrize(
    ("identifier", "password"),
    [
        pytest.param("ada@example.com", "wrong password", id="wrong-password"),
        pytest.param("nobody@example.com", PASSWORD, id="unknown-identifier"),
    ],
)
def test_sign_in_rejects_bad_credentials(
    server: RunningServer, identifier: str, password: str
) -> None:
    make_user(server)

    with Client(server.url) as client, pytest.raises(APIError) as caught:
        client.sign_in(identifier, password)

    assert caught.value.status_code == 422
    assert caught.value.code == "form_password_incorrect"
    assert caught.value.long_message
    assert caught.value.errors[0]["meta"] == {"param_name": "password"}
    assert client.session_id is None
    assert client.client_token is None


def test_cleared_token_is_not_sent_as_cookie(server: RunningServer) -> None:
    make_user(server)

    with Client(server.url) as client:
        client.sign_in("ada@example.com", PASSWORD)
        client.client_token = None

        with pytest.raises(APIError) as caught:
            client.user.get_sessions()

    assert caught.value.code == "authentication_invalid"


def test_signed_out_client_gets_401(server: RunningServer) -> None:
    with Client(server.url) as client, pytest.raises(APIError) as caught:
        client.user.get_sessions()

    assert caught.value.status_code == 401
    assert caught.value.code == "authentication_invalid"


# Listing


def test_get_sessions_lists_every_client(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    chrome = signed_in(server, clients, CHROME_WINDOWS)
    firefox = signed_in(server, clients, FIREFOX_MAC)
    safari = signed_in(server, clients, SAFARI_IPHONE)

    sessions = by_id(chrome.user.get_sessions())

    assert set(sessions) == {chrome.session_id, firefox.session_id, safari.session_id}
    assert all(session.status == "active" for session in sessions.values())


@pytest.mark.parametrize(
    ("user_agent", "browser_name", "browser_version", "device_type", "is_mobile"),
    [
        pytest.param(CHROME_WINDOWS, "Chrome", "126", "Windows", False, id="chrome-windows"),
        pytest.param(FIREFOX_MAC, "Firefox", "128.0", "Macintosh", False, id="firefox-mac"),
        pytest.param(SAFARI_IPHONE, "Safari", "17.5", "iPhone", True, id="safari-iphone"),
    ],
)
def test_latest_activity_describes_user_agent(
    server: RunningServer,
    clients: ExitStack,
    user_agent: str,
    browser_name: str,
    browser_version: str,
    device_type: str,
    is_mobile: bool,
) -> None:
    make_user(server)
    client = signed_in(server, clients, user_agent)

    activity = latest(client.user.get_sessions()[0])

    assert activity.browser_name == browser_name
    assert activity.browser_version == browser_version
    assert activity.device_type == device_type
    assert activity.is_mobile is is_mobile
    # Every request of the test comes from loopback and the geo database has no entry for it.
    assert activity.ip_address == "127.0.0.1"
    assert activity.city is None
    assert activity.country is None


def test_latest_activity_has_location(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    client = signed_in(server, clients, FIREFOX_MAC, headers={"X-Forwarded-For": LONDON})

    activity = latest(client.user.get_sessions()[0])

    assert activity.ip_address == LONDON
    assert activity.city == "London"
    assert activity.country == "United Kingdom"
    assert activity.country_code == "GB"
    assert activity.os_name == "macOS"
    assert activity.device_category == "desktop"


def test_session_times_are_aware_utc(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    client = signed_in(server, clients, FIREFOX_MAC)
    now = datetime.now(UTC)

    session = client.user.get_sessions()[0]
    activity = latest(session)

    for moment in (session.last_active_at, session.abandon_at, session.expire_at):
        assert moment.utcoffset() == timedelta(0)
    assert abs(session.last_active_at - now) < timedelta(minutes=1)
    assert session.expire_at > now
    assert session.abandon_at > now
    assert activity.last_seen_at is not None
    assert activity.last_seen_at.utcoffset() == timedelta(0)


def test_session_times_match_wire_millis(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    client = signed_in(server, clients, FIREFOX_MAC)

    session = client.user.get_sessions()[0]
    raw = httpx.get(
        f"{server.url}/v1/me/sessions/active",
        params={"_clerk_session_id": client.session_id or ""},
        headers={"Authorization": client.client_token or "", "User-Agent": FIREFOX_MAC},
    ).json()[0]

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert session.expire_at == epoch + timedelta(milliseconds=raw["expire_at"])
    assert session.abandon_at == epoch + timedelta(milliseconds=raw["abandon_at"])


def test_stored_token_restores_sign_in(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    original = signed_in(server, clients, FIREFOX_MAC)

    with Client(
        server.url,
        client_token=original.client_token,
        session_id=original.session_id,
        headers={"User-Agent": FIREFOX_MAC},
    ) as restored:
        sessions = restored.user.get_sessions()

    assert [session.id for session in sessions] == [original.session_id]


# Revoking


def test_revoke_other_session(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    chrome = signed_in(server, clients, CHROME_WINDOWS)
    safari = signed_in(server, clients, SAFARI_IPHONE)
    target = by_id(chrome.user.get_sessions())[safari.session_id or ""]

    revoked = target.revoke()

    assert revoked.id == safari.session_id
    assert revoked.status == "revoked"
    assert latest(revoked).browser_name == "Safari"
    assert [session.id for session in chrome.user.get_sessions()] == [chrome.session_id]
    with pytest.raises(APIError) as caught:
        safari.user.get_sessions()
    assert caught.value.status_code == 401
    assert caught.value.code == "authentication_invalid"


def test_revoke_current_session_rejected(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    client = signed_in(server, clients, CHROME_WINDOWS)
    current = client.user.get_sessions()[0]

    with pytest.raises(APIError) as caught:
        current.revoke()

    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_action_for_session"
    assert caught.value.message == "Invalid action for user session"


def test_revoke_revoked_session_rejected(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    chrome = signed_in(server, clients, CHROME_WINDOWS)
    safari = signed_in(server, clients, SAFARI_IPHONE)
    target = by_id(chrome.user.get_sessions())[safari.session_id or ""]
    target.revoke()

    with pytest.raises(APIError) as caught:
        target.revoke()

    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_action_for_session"


@pytest.mark.parametrize("owner", ["nobody", "other-user"])
def test_revoke_session_not_owned(server: RunningServer, clients: ExitStack, owner: str) -> None:
    make_user(server)
    make_user(server, "grace@example.com")
    client = signed_in(server, clients, CHROME_WINDOWS)
    other = signed_in(server, clients, FIREFOX_MAC, email="grace@example.com")
    session_id = "sess_2qYcXbW1k9aLmN3oPq5rSt7uVwX" if owner == "nobody" else other.session_id

    with pytest.raises(APIError) as caught:
        client.user.revoke_session(session_id or "")

    assert caught.value.status_code == 401
    assert caught.value.code == "action_for_session_not_authorized"
    assert [session.status for session in other.user.get_sessions()] == ["active"]


def test_revoke_other_sessions_keeps_current(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    chrome = signed_in(server, clients, CHROME_WINDOWS)
    signed_in(server, clients, FIREFOX_MAC)
    signed_in(server, clients, SAFARI_IPHONE)

    count = chrome.user.revoke_other_sessions()

    assert count == 2
    assert [session.id for session in chrome.user.get_sessions()] == [chrome.session_id]
    assert chrome.user.revoke_other_sessions() == 0


# Signing out


def test_sign_out_then_401(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    chrome = signed_in(server, clients, CHROME_WINDOWS)
    firefox = signed_in(server, clients, FIREFOX_MAC)
    session_id = chrome.session_id

    chrome.sign_out()

    assert chrome.session_id is None
    assert chrome.client_token is not None
    with pytest.raises(APIError) as caught:
        chrome.user.get_sessions()
    assert caught.value.status_code == 401
    assert caught.value.code == "authentication_invalid"
    assert session_id not in by_id(firefox.user.get_sessions())


def test_sign_out_without_session_removes_all(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    make_user(server, "grace@example.com")
    client = signed_in(server, clients, CHROME_WINDOWS)
    client.sign_in("grace@example.com", PASSWORD)
    client.session_id = None

    client.sign_out()

    with pytest.raises(APIError) as caught:
        client.user.get_sessions()
    assert caught.value.code == "authentication_invalid"


def test_sign_out_after_revoke_forgets_session(server: RunningServer, clients: ExitStack) -> None:
    make_user(server)
    chrome = signed_in(server, clients, CHROME_WINDOWS)
    safari = signed_in(server, clients, SAFARI_IPHONE)
    chrome.user.revoke_session(safari.session_id or "")

    with pytest.raises(APIError) as caught:
        safari.sign_out()

    assert caught.value.code == "invalid_action_for_session"
    assert safari.session_id is None


def test_sign_out_when_never_signed_in(server: RunningServer) -> None:
    with Client(server.url) as client:
        client.sign_out()

        assert client.session_id is None


# Async


def test_async_flow(server: RunningServer) -> None:
    make_user(server)

    async def flow() -> None:
        async with (
            AsyncClient(server.url, headers={"User-Agent": CHROME_WINDOWS}) as chrome,
            AsyncClient(server.url, headers={"User-Agent": SAFARI_IPHONE}) as safari,
            AsyncClient(server.url, headers={"User-Agent": FIREFOX_MAC}) as firefox,
        ):
            for client in (chrome, safari, firefox):
                result = await client.sign_in("ada@example.com", PASSWORD)
                assert client.session_id == result.session_id

            sessions = {s.id: s for s in await chrome.user.get_sessions()}
            assert set(sessions) == {chrome.session_id, safari.session_id, firefox.session_id}
            phone = sessions[safari.session_id or ""]
            assert phone.latest_activity is not None
            assert phone.latest_activity.browser_name == "Safari"
            assert phone.latest_activity.device_type == "iPhone"
            assert phone.last_active_at.utcoffset() == timedelta(0)

            revoked = await phone.revoke()
            assert revoked.status == "revoked"
            with pytest.raises(APIError) as caught:
                await safari.user.get_sessions()
            assert caught.value.status_code == 401
            assert caught.value.code == "authentication_invalid"

            with pytest.raises(APIError) as caught:
                await sessions[chrome.session_id or ""].revoke()
            assert caught.value.code == "invalid_action_for_session"

            assert await chrome.user.revoke_other_sessions() == 1
            remaining = await chrome.user.get_sessions()
            assert [s.id for s in remaining] == [chrome.session_id]

            await chrome.sign_out()
            with pytest.raises(APIError) as caught:
                await chrome.user.get_sessions()
            assert caught.value.code == "authentication_invalid"

    asyncio.run(flow())


def test_async_errors(server: RunningServer) -> None:
    make_user(server)

    async def flow() -> None:
        async with AsyncClient(server.url) as client:
            with pytest.raises(APIError) as caught:
                await client.sign_in("ada@example.com", "wrong password")
            assert caught.value.status_code == 422
            assert caught.value.code == "form_password_incorrect"

            await client.sign_in("ada@example.com", PASSWORD)
            with pytest.raises(APIError) as caught:
                await client.user.revoke_session("sess_2qYcXbW1k9aLmN3oPq5rSt7uVwX")
            assert caught.value.status_code == 401
            assert caught.value.code == "action_for_session_not_authorized"

    asyncio.run(flow())


# Responses outside the contract, served by httpx's MockTransport in place of a server.


def mock_client(response: httpx.Response, seen: list[httpx.Request] | None = None) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return response

    return Client(
        "http://127.0.0.1:9/",
        client_token="token",
        session_id="sess_1",
        transport=httpx.MockTransport(handler),
    )


def session_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": "sess_1",
        "status": "active",
        "last_active_at": 1767225600123,
        "abandon_at": 1769212800000,
        "expire_at": 1767830400000,
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(httpx.Response(502, text="<html>Bad gateway</html>"), id="html-error"),
        pytest.param(httpx.Response(500, json={"detail": "boom"}), id="json-without-errors"),
        pytest.param(httpx.Response(401, json={"errors": []}), id="empty-errors"),
        pytest.param(httpx.Response(200, text="not json"), id="success-not-json"),
        pytest.param(httpx.Response(200, json={"sessions": []}), id="object-for-array"),
        pytest.param(httpx.Response(200, json=[session_body(expire_at=None)]), id="no-expire"),
        pytest.param(
            httpx.Response(200, json=[session_body(last_active_at="yesterday")]),
            id="time-not-millis",
        ),
        pytest.param(
            httpx.Response(200, json=[session_body(expire_at=10**20)]), id="time-out-of-range"
        ),
        pytest.param(
            httpx.Response(200, json=[session_body(latest_activity={"id": "sess_activity_1"})]),
            id="activity-without-is-mobile",
        ),
    ],
)
def test_unexpected_response_raises_api_error(response: httpx.Response) -> None:
    status_code = response.status_code

    with mock_client(response) as client, pytest.raises(APIError) as caught:
        client.user.get_sessions()

    assert caught.value.status_code == status_code
    assert caught.value.code == "unexpected_response"
    assert "/v1/me/sessions/active" in caught.value.long_message


def test_unknown_keys_ignored() -> None:
    body = session_body(
        status="pending",
        tasks=[{"key": "choose-organization"}],
        latest_activity={"id": "sess_activity_1", "is_mobile": False, "gpu": "?"},
    )
    with mock_client(httpx.Response(200, json=[body])) as client:
        [session] = client.user.get_sessions()

    assert session.status == "pending"
    assert session.last_active_at == datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    assert session.latest_activity == SessionActivity(
        id="sess_activity_1",
        browser_name=None,
        browser_version=None,
        device_type=None,
        ip_address=None,
        city=None,
        country=None,
        is_mobile=False,
    )


def test_first_error_is_raised() -> None:
    errors = [
        {"code": "form_param_missing", "message": "is missing", "long_message": "a"},
        {"code": "form_param_value_invalid", "message": "is invalid", "long_message": "b"},
    ]
    response = httpx.Response(422, json={"errors": errors})
    with mock_client(response) as client, pytest.raises(APIError) as caught:
        client.user.revoke_other_sessions()

    assert caught.value.code == "form_param_missing"
    assert caught.value.message == "is missing"
    assert caught.value.long_message == "a"
    assert caught.value.errors == errors


def test_requests_carry_token_and_session() -> None:
    seen: list[httpx.Request] = []

    with mock_client(httpx.Response(200, json={"revoked_count": 0}), seen) as client:
        client.user.revoke_other_sessions()

    assert seen[0].url == "http://127.0.0.1:9/v1/me/sessions/revoke_others?_clerk_session_id=sess_1"
    assert seen[0].headers["authorization"] == "token"
    assert "origin" not in seen[0].headers
    assert "cookie" not in seen[0].headers


def test_revoke_session_quotes_id() -> None:
    seen: list[httpx.Request] = []
    response = httpx.Response(200, json={"response": session_body(status="revoked")})

    with mock_client(response, seen) as client:
        client.user.revoke_session("../revoke_others")

    assert (
        seen[0].url.raw_path
        == b"/v1/me/sessions/..%2Frevoke_others/revoke?_clerk_session_id=sess_1"
    )


def test_injected_http_client_left_open(server: RunningServer) -> None:
    make_user(server)

    with httpx.Client() as http:
        with Client(server.url, http_client=http) as client:
            client.sign_in("ada@example.com", PASSWORD)

        assert not http.is_closed


def test_transport_and_http_client_conflict() -> None:
    with httpx.Client() as http, pytest.raises(ValueError, match="not both"):
        Client(
            "http://127.0.0.1:9",
            http_client=http,
            transport=httpx.MockTransport(lambda _: httpx.Response(200)),
        )


def test_public_names() -> None:
    assert sorted(lastseen.client.__all__) == [
        "APIError",
        "AsyncClient",
        "AsyncCurrentUser",
        "AsyncSessionWithActivities",
        "Client",
        "CurrentUser",
        "SessionActivity",
        "SessionWithActivities",
        "SignInResult",
    ]
    for name in lastseen.client.__all__:
        assert getattr(lastseen.client, name).__module__.startswith("lastseen.")
