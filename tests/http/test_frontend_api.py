"""The frontend API over real HTTP: sign-in, listing, revoking, the client's sessions."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from helpers import PASSWORD, Browser, RunningServer, ServerFactory, make_user, signed_in
from lastseen.domain.clock import FrozenClock
from lastseen.enrich.client_ip import TrustedProxies

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
LONDON = "81.2.69.142"
LINKOPING = "89.160.20.112"


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["code"]
    return code


def active(browser: Browser) -> httpx.Response:
    return browser.http.get("/v1/me/sessions/active")


# Sign-in


def test_sign_in_sets_client_cookie(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    with httpx.Client(base_url=server.url) as http:
        response = http.post(
            "/v1/client/sign_ins",
            data={"identifier": "ada@example.com", "password": PASSWORD, "strategy": "password"},
        )

    cookie = response.headers["set-cookie"]
    assert response.status_code == 200
    assert cookie.startswith("__client=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    # Plain HTTP on loopback: a Secure cookie would be dropped by the browser.
    assert "Secure" not in cookie


def test_sign_in_answers_response_and_client(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    with httpx.Client(base_url=server.url) as http:
        body = http.post(
            "/v1/client/sign_ins", data={"identifier": "ada@example.com", "password": PASSWORD}
        ).json()

    attempt, client = body["response"], body["client"]
    assert attempt["object"] == "sign_in_attempt"
    assert attempt["status"] == "complete"
    assert client["object"] == "client"
    assert client["last_active_session_id"] == attempt["created_session_id"]
    assert [s["id"] for s in client["sessions"]] == [attempt["created_session_id"]]
    assert client["sessions"][0]["user"]["email_addresses"][0]["email_address"] == "ada@example.com"


def test_sign_in_native_returns_token_header(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    with httpx.Client(base_url=server.url) as http:
        response = http.post(
            "/v1/client/sign_ins?_is_native=1",
            data={"identifier": "ada@example.com", "password": PASSWORD},
        )
    token = response.headers["authorization"]

    with httpx.Client(base_url=server.url, headers={"authorization": token}) as native:
        listed = native.get("/v1/me/sessions/active")

    assert listed.status_code == 200
    assert len(listed.json()) == 1


def test_sign_in_failures_are_identical(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    with httpx.Client(base_url=server.url) as http:
        wrong = http.post(
            "/v1/client/sign_ins", data={"identifier": "ada@example.com", "password": "nope-nope"}
        )
        unknown = http.post(
            "/v1/client/sign_ins", data={"identifier": "bob@example.com", "password": "nope-nope"}
        )

    assert wrong.status_code == 422
    assert unknown.status_code == wrong.status_code
    assert unknown.json()["errors"] == wrong.json()["errors"]
    assert "set-cookie" not in wrong.headers


@pytest.mark.parametrize(
    ("form", "param"),
    [
        ({"password": PASSWORD}, "identifier"),
        ({"identifier": "ada@example.com"}, "password"),
        (
            {"identifier": "ada@example.com", "password": PASSWORD, "strategy": "email_code"},
            "strategy",
        ),
    ],
    ids=["no-identifier", "no-password", "other-strategy"],
)
def test_sign_in_bad_form(server: RunningServer, form: dict[str, str], param: str) -> None:
    with httpx.Client(base_url=server.url) as http:
        response = http.post("/v1/client/sign_ins", data=form)

    assert response.status_code == 422
    assert response.json()["errors"][0]["meta"]["param_name"] == param


def test_sign_in_twice_on_one_client(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    again = browser.http.post(
        "/v1/client/sign_ins", data={"identifier": "ada@example.com", "password": PASSWORD}
    )

    assert again.status_code == 400
    assert error_code(again) == "session_exists"


# Listing with activity


def test_active_sessions_carry_activity(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    laptop = signed_in(
        server, "ada@example.com", user_agent=CHROME_WINDOWS, headers={"x-forwarded-for": LONDON}
    )
    signed_in(
        server, "ada@example.com", user_agent=SAFARI_IPHONE, headers={"x-forwarded-for": LINKOPING}
    )

    response = active(laptop)
    by_city = {item["latest_activity"]["city"]: item["latest_activity"] for item in response.json()}

    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert set(by_city) == {"London", "Linköping"}
    assert by_city["London"]["browser_name"] == "Chrome"
    assert by_city["London"]["browser_version"].split(".")[0] == "131"
    assert by_city["London"]["device_type"] == "Windows"
    assert by_city["London"]["is_mobile"] is False
    assert by_city["London"]["ip_address"] == LONDON
    assert by_city["London"]["country"] == "United Kingdom"
    assert by_city["Linköping"]["browser_name"] == "Safari"
    assert by_city["Linköping"]["device_type"] == "iPhone"
    assert by_city["Linköping"]["is_mobile"] is True
    assert by_city["Linköping"]["country"] == "Sweden"


def test_active_session_shape(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com", headers={"x-forwarded-for": LONDON})

    item = active(browser).json()[0]

    assert item["object"] == "session"
    assert item["id"] == browser.session_id
    assert item["status"] == "active"
    assert item["user"] is None
    assert item["public_user_data"] is None
    assert item["latest_activity"]["object"] == "session_activity"
    assert item["latest_activity"]["id"].startswith("sess_activity_")
    # Unix milliseconds: thirteen digits.
    assert len(str(item["expire_at"])) == 13
    assert item["abandon_at"] - item["expire_at"] == (30 - 7) * 86_400_000


def test_forwarded_header_ignored_without_trusted_proxy(serve: ServerFactory) -> None:
    server = serve()
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com", headers={"x-forwarded-for": LONDON})

    activity = active(browser).json()[0]["latest_activity"]

    assert activity["ip_address"] == "127.0.0.1"
    assert "city" not in activity


def test_list_all_sessions_includes_ended(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    phone = signed_in(server, "ada@example.com")
    laptop = signed_in(server, "ada@example.com")
    phone.http.post(f"/v1/client/sessions/{phone.session_id}/end")

    listed = {s["id"]: s for s in laptop.http.get("/v1/me/sessions").json()}

    assert listed[phone.session_id]["status"] == "ended"
    assert listed[laptop.session_id]["status"] == "active"
    assert listed[laptop.session_id]["user"]["object"] == "user"


def test_activity_throttled_until_ip_changes(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com", headers={"x-forwarded-for": LONDON})
    first = active(browser).json()[0]
    second = active(browser).json()[0]
    moved = browser.http.get(
        "/v1/me/sessions/active", headers={"x-forwarded-for": LINKOPING}
    ).json()[0]

    assert second["last_active_at"] == first["last_active_at"]
    assert second["latest_activity"]["id"] == first["latest_activity"]["id"]
    assert moved["latest_activity"]["id"] != first["latest_activity"]["id"]
    assert moved["latest_activity"]["city"] == "Linköping"


# Revoking


@pytest.fixture
def three_devices(server: RunningServer) -> tuple[Browser, Browser, Browser]:
    make_user(server, "ada@example.com")
    return (
        signed_in(server, "ada@example.com", user_agent=CHROME_WINDOWS),
        signed_in(server, "ada@example.com", user_agent=SAFARI_IPHONE),
        signed_in(server, "ada@example.com"),
    )


def test_revoke_other_session(three_devices: tuple[Browser, Browser, Browser]) -> None:
    laptop, phone, _ = three_devices

    response = laptop.http.post(f"/v1/me/sessions/{phone.session_id}/revoke")
    body = response.json()

    assert response.status_code == 200
    assert body["response"]["id"] == phone.session_id
    assert body["response"]["status"] == "revoked"
    assert body["response"]["latest_activity"]["device_type"] == "iPhone"
    assert body["client"]["id"] != ""
    assert phone.session_id not in {s["id"] for s in active(laptop).json()}


def test_revoked_client_gets_401(three_devices: tuple[Browser, Browser, Browser]) -> None:
    laptop, phone, _ = three_devices
    laptop.http.post(f"/v1/me/sessions/{phone.session_id}/revoke")

    response = active(phone)

    assert response.status_code == 401
    assert error_code(response) == "authentication_invalid"


def test_revoke_current_session_refused(three_devices: tuple[Browser, Browser, Browser]) -> None:
    laptop, _, _ = three_devices

    response = laptop.http.post(f"/v1/me/sessions/{laptop.session_id}/revoke")

    assert response.status_code == 400
    assert error_code(response) == "invalid_action_for_session"
    assert active(laptop).status_code == 200


def test_revoke_twice_refused(three_devices: tuple[Browser, Browser, Browser]) -> None:
    laptop, phone, _ = three_devices
    laptop.http.post(f"/v1/me/sessions/{phone.session_id}/revoke")

    again = laptop.http.post(f"/v1/me/sessions/{phone.session_id}/revoke")

    assert again.status_code == 400
    assert error_code(again) == "invalid_action_for_session"


@pytest.mark.parametrize(
    "session_id",
    ["sess_3N1aiT2FEE76lxEQh1oYLvTaCK2", "not-an-id", "x" * 300, "sess_%00"],
    ids=["unknown", "malformed", "long", "nul"],
)
def test_revoke_unknown_id_unauthorized(
    three_devices: tuple[Browser, Browser, Browser], session_id: str
) -> None:
    laptop, _, _ = three_devices

    response = laptop.http.post(f"/v1/me/sessions/{session_id}/revoke")

    assert response.status_code == 401
    assert error_code(response) == "action_for_session_not_authorized"


def test_revoke_other_users_session_unauthorized(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    make_user(server, "bob@example.com")
    ada = signed_in(server, "ada@example.com")
    bob = signed_in(server, "bob@example.com")

    response = ada.http.post(f"/v1/me/sessions/{bob.session_id}/revoke")

    assert response.status_code == 401
    assert error_code(response) == "action_for_session_not_authorized"
    assert active(bob).status_code == 200


def test_revoke_others_keeps_current(three_devices: tuple[Browser, Browser, Browser]) -> None:
    laptop, phone, tablet = three_devices
    # These reads leave the phone and the tablet in the server's cache of recent requesters,
    # which the revoke must drop at once.
    phone_before = active(phone)
    tablet_before = active(tablet)

    response = laptop.http.post("/v1/me/sessions/revoke_others")

    assert phone_before.status_code == 200
    assert tablet_before.status_code == 200
    assert response.status_code == 200
    assert response.json()["revoked_count"] == 2
    assert [s["id"] for s in active(laptop).json()] == [laptop.session_id]
    assert active(phone).status_code == 401
    assert active(tablet).status_code == 401


def test_revoke_unauthenticated(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        response = http.post("/v1/me/sessions/sess_x/revoke")

    assert response.status_code == 401
    assert error_code(response) == "authentication_invalid"


# The client and its sessions


def test_get_client_without_cookie(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        body = http.get("/v1/client").json()

    assert body == {"response": None, "client": None}


def test_get_client_lists_its_sessions(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    body = browser.http.get("/v1/client").json()

    assert body["response"]["object"] == "client"
    assert [s["id"] for s in body["response"]["sessions"]] == [browser.session_id]
    assert body["response"]["cookie_expires_at"] > 0


def test_end_signs_out_and_stays_on_client(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    ended = browser.http.post(f"/v1/client/sessions/{browser.session_id}/end")
    client = browser.http.get("/v1/client").json()["response"]

    assert ended.json()["response"]["status"] == "ended"
    assert active(browser).status_code == 401
    assert [s["status"] for s in client["sessions"]] == ["ended"]
    assert client["last_active_session_id"] is None


def test_removed_cookie_replay_refused(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    cookie = browser.http.cookies["__client"]

    removed = browser.http.post(f"/v1/client/sessions/{browser.session_id}/remove")
    with httpx.Client(base_url=server.url, cookies={"__client": cookie}) as replay:
        replayed = replay.get("/v1/me/sessions/active")
        client = replay.get("/v1/client").json()["response"]

    assert removed.json()["response"]["status"] == "removed"
    assert replayed.status_code == 401
    assert client["sessions"] == []


def test_end_twice_refused(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    browser.http.post(f"/v1/client/sessions/{browser.session_id}/end")

    again = browser.http.post(f"/v1/client/sessions/{browser.session_id}/end")

    assert again.status_code == 400
    assert error_code(again) == "invalid_action_for_session"


def test_other_clients_session_not_found(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    laptop = signed_in(server, "ada@example.com")
    phone = signed_in(server, "ada@example.com")

    for action in ("touch", "end", "remove"):
        response = laptop.http.post(f"/v1/client/sessions/{phone.session_id}/{action}")
        assert response.status_code == 404, action
        assert error_code(response) == "resource_not_found", action


def test_client_routes_need_client(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        response = http.post("/v1/client/sessions/sess_x/touch")

    assert response.status_code == 401
    assert error_code(response) == "signed_out"


def test_touch_records_activity(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    response = browser.http.post(
        f"/v1/client/sessions/{browser.session_id}/touch",
        data={"intent": "focus"},
        headers={"x-forwarded-for": LONDON},
    )

    assert response.status_code == 200
    assert response.json()["response"]["latest_activity"]["city"] == "London"


def test_touch_ended_session_signed_out(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    browser.http.post(f"/v1/client/sessions/{browser.session_id}/end")

    response = browser.http.post(f"/v1/client/sessions/{browser.session_id}/touch")

    assert response.status_code == 401
    assert error_code(response) == "signed_out"


@pytest.mark.parametrize("method_override", [False, True], ids=["delete", "post-override"])
def test_remove_all_client_sessions(server: RunningServer, method_override: bool) -> None:
    make_user(server, "ada@example.com")
    make_user(server, "bob@example.com")
    browser = signed_in(server, "ada@example.com")
    browser.http.post(
        "/v1/client/sign_ins", data={"identifier": "bob@example.com", "password": PASSWORD}
    )

    if method_override:
        response = browser.http.post("/v1/client/sessions?_method=DELETE")
    else:
        response = browser.http.delete("/v1/client/sessions")

    assert response.status_code == 200
    assert response.json()["client"] is None
    assert response.json()["response"]["sessions"] == []
    assert active(browser).status_code == 401


# Choosing the current session on a multi-session client


def test_session_chosen_by_header_and_query(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    make_user(server, "bob@example.com")
    browser = signed_in(server, "ada@example.com")
    bob = browser.http.post(
        "/v1/client/sign_ins", data={"identifier": "bob@example.com", "password": PASSWORD}
    ).json()["response"]["created_session_id"]

    default = browser.http.get("/v1/me/sessions/active").json()
    by_query = browser.http.get(
        "/v1/me/sessions/active", params={"_clerk_session_id": browser.session_id}
    ).json()
    by_header = browser.http.get(
        "/v1/me/sessions/active", headers={"clerk-session-id": browser.session_id}
    ).json()

    assert [s["id"] for s in default] == [bob]
    assert [s["id"] for s in by_query] == [browser.session_id]
    assert [s["id"] for s in by_header] == [browser.session_id]


# Lifetimes on the server's clock


def test_expired_session_refused(serve: ServerFactory, clock: FrozenClock) -> None:
    server = serve(clock=clock)
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    clock.advance(timedelta(days=7, seconds=1))
    response = active(browser)
    listed = browser.http.get("/v1/client").json()["response"]["sessions"]

    assert response.status_code == 401
    assert listed[0]["status"] == "expired"


def test_abandoned_session_leaves_client(serve: ServerFactory, clock: FrozenClock) -> None:
    server = serve(clock=clock)
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    clock.advance(timedelta(days=30))
    listed = browser.http.get("/v1/client").json()["response"]["sessions"]
    fetched = browser.http.get(f"/v1/client/sessions/{browser.session_id}")

    assert listed == []
    assert fetched.status_code == 404


def test_server_without_geoip_leaves_location_empty(serve: ServerFactory) -> None:
    server = serve(geoip_db=None, trusted_proxies=TrustedProxies.parse("127.0.0.1"))
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com", headers={"x-forwarded-for": LONDON})

    activity = active(browser).json()[0]["latest_activity"]

    assert activity["ip_address"] == LONDON
    assert "city" not in activity
    assert "country" not in activity


def test_sign_out_everywhere_clears_cookie(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    response = browser.http.delete("/v1/client/sessions")
    listed = browser.http.get("/v1/me/sessions/active")

    assert "Max-Age=0" in response.headers["set-cookie"]
    assert "__client" not in browser.http.cookies
    assert "set-cookie" not in listed.headers
    assert listed.status_code == 401


def test_parallel_requests_keep_session(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com", headers={"x-forwarded-for": LONDON})
    cookie = browser.http.cookies["__client"]

    def list_from_new_connection(forwarded: str) -> int:
        with httpx.Client(base_url=server.url, cookies={"__client": cookie}) as tab:
            return tab.get(
                "/v1/me/sessions/active", headers={"x-forwarded-for": forwarded}
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(list_from_new_connection, [LONDON, LINKOPING] * 8))

    assert statuses == [200] * 16
    assert active(browser).status_code == 200
