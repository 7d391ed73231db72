"""Bad input gets a 4xx in Clerk's error format, or a clean empty fact; never a 500."""

import json
import socket

import httpx
import pytest

from helpers import SECRET_KEY, RunningServer, make_user, signed_in


def assert_clerk_error(response: httpx.Response, status: int) -> None:
    body = response.json()
    error = body["errors"][0]
    assert response.status_code == status
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert isinstance(error["long_message"], str)


def raw_request(server: RunningServer, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes, for requests that httpx refuses to build."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status = int(response.split(b" ", 2)[1])
    return status, response.partition(b"\r\n\r\n")[2]


def test_unknown_route_not_found(server: RunningServer) -> None:
    response = httpx.get(f"{server.url}/v1/nothing-here")

    assert_clerk_error(response, 404)


def test_wrong_method_not_allowed(server: RunningServer) -> None:
    response = httpx.put(f"{server.url}/v1/me/sessions/active")

    assert_clerk_error(response, 405)


def test_oversized_body_rejected(server: RunningServer) -> None:
    response = httpx.post(
        f"{server.url}/v1/client/sign_ins",
        content=b"identifier=" + b"a" * 100_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert_clerk_error(response, 413)
    assert response.json()["errors"][0]["code"] == "request_body_too_large"


def test_oversized_chunked_body_rejected(server: RunningServer) -> None:
    def chunks() -> object:
        for _ in range(100):
            yield b"a" * 4096

    response = httpx.post(
        f"{server.url}/v1/client/sign_ins",
        content=chunks(),  # type: ignore[arg-type]
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert_clerk_error(response, 413)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"[1, 2, 3]"),
        ("application/json", b"{not json"),
        ("application/x-www-form-urlencoded", b"identifier=\xff\xfe&password=x"),
    ],
    ids=["json-array", "json-broken", "form-not-utf8"],
)
def test_unreadable_body_rejected(server: RunningServer, content_type: str, body: bytes) -> None:
    response = httpx.post(
        f"{server.url}/v1/client/sign_ins", content=body, headers={"content-type": content_type}
    )

    assert_clerk_error(response, 400)


def test_sign_in_accepts_json(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    response = httpx.post(
        f"{server.url}/v1/client/sign_ins",
        content=json.dumps({"identifier": "ada@example.com", "password": "correct horse battery"}),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 200


def test_huge_user_agent_is_truncated(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    user_agent = "Mozilla/5.0 (Windows NT 10.0; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0" + (
        " OWASMIME/4.0500" * 700
    )
    browser = signed_in(server, "ada@example.com", user_agent=user_agent)

    activity = browser.http.get("/v1/me/sessions/active").json()[0]["latest_activity"]
    stored = server.accounts.store.get_session(browser.session_id)

    assert len(user_agent) > 10_000
    assert activity["browser_name"] == "Firefox"
    assert activity["browser_version"].split(".")[0] == "40"
    assert stored is not None
    assert stored.latest_activity is not None
    assert len(stored.latest_activity.user_agent or "") == 512


def test_missing_user_agent_gives_empty_facts(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    body = b"identifier=ada%40example.com&password=correct+horse+battery"
    status, _ = raw_request(
        server,
        b"POST /v1/client/sign_ins HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
    )
    user = server.accounts.store.find_user("ada@example.com")
    assert user is not None
    session = server.accounts.sessions.list_active_sessions(user.id)[0]

    assert status == 200
    assert session.latest_activity is not None
    assert session.latest_activity.browser_name is None
    assert session.latest_activity.device_category == "unknown"
    assert session.latest_activity.is_mobile is False


@pytest.mark.parametrize(
    "forwarded",
    [
        "unknown",
        "garbage, , ,",
        "999.1.1.1",
        "81.2.69.142:abc, ::::",
        "1.2.3.4" + ", 5.6.7.8" * 2000,
        "\u00e9\u00e8",
    ],
    ids=["unknown", "empty-items", "bad-octet", "bad-port", "huge", "latin1"],
)
def test_invalid_forwarded_header_no_500(server: RunningServer, forwarded: str) -> None:
    make_user(server, "ada@example.com")
    with httpx.Client(base_url=server.url) as http:
        response = http.post(
            "/v1/client/sign_ins",
            data={"identifier": "ada@example.com", "password": "correct horse battery"},
            headers={"x-forwarded-for": forwarded.encode("latin-1")},  # type: ignore[dict-item]
        )

    assert response.status_code == 200


def test_non_utf8_header_bytes(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    body = b"identifier=ada%40example.com&password=correct+horse+battery"
    status, _ = raw_request(
        server,
        b"POST /v1/client/sign_ins HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"User-Agent: Mozilla/5.0 \xff\xfe\x80 (Windows NT 10.0)\r\n"
        b'Sec-CH-UA: "\xffBrand";v="1"\r\n'
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
    )

    assert status == 200


@pytest.mark.parametrize(
    "cookie",
    ["", "x" * 4000, "\u00ff\u00fe", "; ; ;"],
    ids=["empty", "long", "latin1", "separators"],
)
def test_garbage_client_cookie(server: RunningServer, cookie: str) -> None:
    response = httpx.get(
        f"{server.url}/v1/me/sessions/active",
        headers={"cookie": f"__client={cookie}".encode("latin-1")},  # type: ignore[dict-item]
    )

    assert_clerk_error(response, 401)


def test_cross_origin_write_rejected(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    response = browser.http.post(
        "/v1/me/sessions/revoke_others", headers={"origin": "https://evil.example"}
    )

    assert_clerk_error(response, 400)
    assert response.json()["errors"][0]["code"] == "origin_invalid"


def test_same_origin_write_allowed(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    response = browser.http.post("/v1/me/sessions/revoke_others", headers={"origin": server.url})

    assert response.status_code == 200


def test_origin_with_authorization_conflict(server: RunningServer) -> None:
    response = httpx.post(
        f"{server.url}/v1/me/sessions/revoke_others",
        headers={"origin": server.url, "authorization": "some-token"},
    )

    assert_clerk_error(response, 400)
    assert response.json()["errors"][0]["code"] == "origin_authorization_headers_conflict"


# Backend API


def backend(server: RunningServer, key: str | None = SECRET_KEY) -> httpx.Client:
    headers = {} if key is None else {"authorization": f"Bearer {key}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "authorization_header_format_invalid"),
        ("Bearer", "authorization_header_format_invalid"),
        ("Basic abc", "authorization_header_format_invalid"),
        ("Bearer sk_test_wrong", "clerk_key_invalid"),
        ("Bearer " + "\u00e9" * 10, "clerk_key_invalid"),
    ],
    ids=["missing", "empty", "basic", "wrong-key", "latin1"],
)
def test_backend_key_checked(server: RunningServer, header: str | None, code: str) -> None:
    headers = {} if header is None else {"authorization": header.encode("latin-1")}
    response = httpx.post(
        f"{server.url}/v1/users",
        json={"email_address": ["ada@example.com"], "password": "correct horse battery"},
        headers=headers,  # type: ignore[arg-type]
    )

    assert_clerk_error(response, 401)
    assert response.json()["errors"][0]["code"] == code


def test_backend_creates_user(server: RunningServer) -> None:
    with backend(server) as http:
        response = http.post(
            "/v1/users",
            json={
                "email_address": ["ada@example.com"],
                "password": "correct horse battery",
                "external_id": "host-42",
                "first_name": "Ada",
            },
        )
    user = response.json()

    assert response.status_code == 200
    assert user["object"] == "user"
    assert user["id"].startswith("user_")
    assert user["external_id"] == "host-42"
    assert user["password_enabled"] is True
    assert user["email_addresses"][0]["email_address"] == "ada@example.com"
    assert user["primary_email_address_id"] == user["email_addresses"][0]["id"]


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"password": "correct horse battery"}, 422, "email_address"),
        (
            {"email_address": ["not-an-email"], "password": "correct horse battery"},
            422,
            "email_address",
        ),
        ({"email_address": "ada@example.com", "password": "x"}, 422, "email_address"),
        ({"email_address": ["ada@example.com"], "password": "short"}, 422, "password"),
        ({"email_address": ["ada@example.com"]}, 422, "password"),
        ({"username": "a b", "password": "correct horse battery"}, 422, "username"),
        ({"username": 12345, "password": "correct horse battery"}, 422, "username"),
        ({"username": "ada", "password": "p" * 300}, 422, "password"),
    ],
    ids=[
        "no-identifier",
        "bad-email",
        "email-not-list",
        "short-password",
        "no-password",
        "bad-username",
        "username-type",
        "long-password",
    ],
)
def test_backend_user_validation(
    server: RunningServer, body: dict[str, object], status: int, param: str
) -> None:
    with backend(server) as http:
        response = http.post("/v1/users", json=body)

    assert_clerk_error(response, status)
    assert response.json()["errors"][0]["meta"]["param_name"] == param


def test_backend_duplicate_user(server: RunningServer) -> None:
    body = {"email_address": ["ada@example.com"], "password": "correct horse battery"}
    with backend(server) as http:
        http.post("/v1/users", json=body)
        again = http.post("/v1/users", json={**body, "email_address": ["ADA@example.com"]})

    assert_clerk_error(again, 422)
    assert again.json()["errors"][0]["code"] == "form_identifier_exists"


def test_backend_body_not_object(server: RunningServer) -> None:
    with backend(server) as http:
        response = http.post(
            "/v1/users", content=b"[]", headers={"content-type": "application/json"}
        )

    assert_clerk_error(response, 422)


def test_oversized_headers_rejected(server: RunningServer) -> None:
    response = httpx.get(f"{server.url}/v1/client", headers={"x-padding": "a" * 40_000})

    assert_clerk_error(response, 431)
    assert response.json()["errors"][0]["code"] == "request_header_fields_too_large"


def test_openapi_document_lists_routes(server: RunningServer) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]

    assert "/v1/me/sessions/active" in paths
    assert "/v1/me/sessions/{session_id}/revoke" in paths
    assert "/v1/users" in paths


def test_no_docs_pages_with_outside_scripts(server: RunningServer) -> None:
    assert httpx.get(f"{server.url}/docs").status_code == 404
    assert httpx.get(f"{server.url}/redoc").status_code == 404
