"""The sign-in and Active devices pages over real HTTP, as a browser without JavaScript."""

import re

import httpx
import pytest

from helpers import PASSWORD, Browser, RunningServer, ServerFactory, make_user, signed_in
from lastseen.enrich.client_ip import TrustedProxies

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
# uap reads the Android model from the text before "Build/", so the tag becomes the device name.
SCRIPT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; <script>alert(1)</script> Build/UP1A) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
LONDON = "81.2.69.142"
LINKOPING = "89.160.20.112"
EMAIL = "ada@example.com"
# An SVG file names its XML namespace with this URL, which is never fetched.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
}
CLIENT_HINTS = {
    "Sec-CH-UA-Full-Version-List",
    "Sec-CH-UA-Platform-Version",
    "Sec-CH-UA-Model",
    "Sec-CH-UA-Mobile",
    "Sec-CH-UA-Platform",
}


def page_client(server: RunningServer, **headers: str) -> httpx.Client:
    """An HTTP client that behaves like a browser without JavaScript: no redirects followed."""
    http = httpx.Client(
        base_url=server.url, headers={"user-agent": FIREFOX_LINUX, **headers}, timeout=10
    )
    server.opened.append(http)
    return http


def sign_in_with_form(server: RunningServer, email: str = EMAIL) -> httpx.Client:
    http = page_client(server)
    response = http.post("/sign-in", data={"identifier": email, "password": PASSWORD})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/account/devices"
    return http


def devices_html(http: httpx.Client) -> str:
    response = http.get("/account/devices")
    assert response.status_code == 200, response.text
    return response.text


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "no CSRF token in the page"
    return match[1]


def card_ids(html: str) -> list[str]:
    return re.findall(r'<li class="device[^"]*" id="session-([^"]+)"', html)


def api_status(browser: Browser) -> int:
    return browser.http.get("/v1/me/sessions/active").status_code


def other_devices(server: RunningServer) -> tuple[Browser, Browser]:
    windows = signed_in(
        server, EMAIL, user_agent=CHROME_WINDOWS, headers={"x-forwarded-for": LONDON}
    )
    iphone = signed_in(
        server, EMAIL, user_agent=SAFARI_IPHONE, headers={"x-forwarded-for": LINKOPING}
    )
    return windows, iphone


# Sign-in


def test_sign_in_form_renders(server: RunningServer) -> None:
    response = page_client(server).get("/sign-in")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form class="form" method="post" action="/sign-in">' in response.text
    assert 'name="identifier"' in response.text
    assert 'name="password" type="password"' in response.text


def test_sign_in_form_sets_client_cookie(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = page_client(server)

    response = http.post("/sign-in", data={"identifier": EMAIL, "password": PASSWORD})

    assert response.status_code == 303
    assert response.headers["location"] == "/account/devices"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__client=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    html = devices_html(http)
    assert EMAIL in html
    assert ">This device</span>" in html


def test_sign_in_wrong_password_rerenders(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = page_client(server)

    response = http.post("/sign-in", data={"identifier": EMAIL, "password": "not the password"})

    assert response.status_code == 422
    assert "The identifier or password is incorrect." in response.text
    assert f'value="{EMAIL}"' in response.text
    assert "not the password" not in response.text
    assert "set-cookie" not in response.headers
    assert http.get("/account/devices").status_code == 303


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"password": PASSWORD}, "Enter your email address or username."),
        ({"identifier": "  ", "password": PASSWORD}, "Enter your email address or username."),
        ({"identifier": EMAIL}, "Enter your password."),
        ({}, "Enter your email address or username."),
    ],
)
def test_sign_in_missing_field_rerenders(
    server: RunningServer, form: dict[str, str], message: str
) -> None:
    make_user(server, EMAIL)

    response = page_client(server).post("/sign-in", data=form)

    assert response.status_code == 422
    assert message in response.text
    assert 'role="alert"' in response.text


def test_sign_in_page_redirects_when_signed_in(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = sign_in_with_form(server)

    response = http.get("/sign-in")

    assert response.status_code == 303
    assert response.headers["location"] == "/account/devices"


def test_sign_in_again_on_same_client_redirects(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = sign_in_with_form(server)

    response = http.post("/sign-in", data={"identifier": EMAIL, "password": PASSWORD})

    assert response.status_code == 303
    assert response.headers["location"] == "/account/devices"
    assert len(card_ids(devices_html(http))) == 1


def test_sign_in_cross_origin_rejected(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = page_client(server, origin="https://evil.example")

    response = http.post("/sign-in", data={"identifier": EMAIL, "password": PASSWORD})

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "set-cookie" not in response.headers


# Redirects


def test_devices_redirects_when_signed_out(server: RunningServer) -> None:
    response = page_client(server).get("/account/devices")

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


def test_root_redirects_to_devices(server: RunningServer) -> None:
    response = page_client(server).get("/")

    assert response.status_code == 303
    assert response.headers["location"] == "/account/devices"


# The devices list


def test_devices_lists_every_active_session(server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, iphone = other_devices(server)
    http = sign_in_with_form(server)

    html = devices_html(http)

    ids = card_ids(html)
    assert len(ids) == 3
    assert ids[1:] == [iphone.session_id, windows.session_id]
    assert html.count(">This device</span>") == 1
    assert html.index(">This device</span>") < html.index(f'id="session-{ids[1]}"')
    assert "London, United Kingdom" in html
    assert "Linköping, Sweden" in html
    assert LONDON in html
    assert LINKOPING in html
    assert "Chrome 131" in html
    assert "Safari 17.5" in html
    assert "iOS 17.5" in html
    assert ">iPhone</h2>" in html
    assert ">Windows</h2>" in html
    assert "Firefox 133" in html
    # The form's own client comes from 127.0.0.1, which has no location.
    assert "None" not in html


def test_devices_card_has_exact_time(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = sign_in_with_form(server)

    html = devices_html(http)

    match = re.search(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', html)
    assert match is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", match[1])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", match[2])
    assert match[3] == "just now"


def test_devices_hides_ended_sessions(server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, _iphone = other_devices(server)
    http = sign_in_with_form(server)
    ended = windows.http.post(f"/v1/client/sessions/{windows.session_id}/end")
    assert ended.status_code == 200

    ids = card_ids(devices_html(http))

    assert windows.session_id not in ids
    assert len(ids) == 2


def test_devices_escapes_user_agent(server: RunningServer) -> None:
    make_user(server, EMAIL)
    signed_in(server, EMAIL, user_agent=SCRIPT_ANDROID)
    http = sign_in_with_form(server)

    html = devices_html(http)

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_devices_notice_ignores_foreign_text(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = sign_in_with_form(server)

    response = http.get("/account/devices", params={"signed_out": "<b>Pay here</b>"})

    assert response.status_code == 200
    assert "Pay here" not in response.text


# Signing out


def test_sign_out_one_device(server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, iphone = other_devices(server)
    http = sign_in_with_form(server)
    token = csrf_token(devices_html(http))

    response = http.post(
        f"/account/devices/{windows.session_id}/sign-out", data={"csrf_token": token}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/account/devices?signed_out={windows.session_id}"
    html = http.get(response.headers["location"]).text
    assert "Signed out of Chrome on Windows." in html
    assert windows.session_id not in card_ids(html)
    assert iphone.session_id in card_ids(html)
    assert api_status(windows) == 401
    assert api_status(iphone) == 200


def test_sign_out_one_device_as_json(server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, _iphone = other_devices(server)
    http = sign_in_with_form(server)
    token = csrf_token(devices_html(http))

    response = http.post(
        f"/account/devices/{windows.session_id}/sign-out",
        data={"csrf_token": token},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 200
    assert response.json()["notice"] == "Signed out of Chrome on Windows."
    assert response.json()["removed"] == [windows.session_id]
    assert response.headers["cache-control"] == "no-store"
    assert api_status(windows) == 401


def test_sign_out_signed_out_device_again(server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, _iphone = other_devices(server)
    http = sign_in_with_form(server)
    token = csrf_token(devices_html(http))
    path = f"/account/devices/{windows.session_id}/sign-out"
    headers = {"accept": "application/json"}
    http.post(path, data={"csrf_token": token}, headers=headers)

    again = http.post(path, data={"csrf_token": token}, headers=headers)

    assert again.status_code == 200
    assert again.json()["notice"] == "That device was already signed out."


def test_sign_out_other_users_session_is_no_op(server: RunningServer) -> None:
    make_user(server, EMAIL)
    make_user(server, "bob@example.com")
    bob = signed_in(server, "bob@example.com")
    http = sign_in_with_form(server)
    token = csrf_token(devices_html(http))

    response = http.post(
        f"/account/devices/{bob.session_id}/sign-out",
        data={"csrf_token": token},
        headers={"accept": "application/json"},
    )

    assert response.json()["notice"] == "That device was already signed out."
    assert api_status(bob) == 200


def test_sign_out_current_through_device_form_rejected(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = sign_in_with_form(server)
    html = devices_html(http)
    (current,) = card_ids(html)

    response = http.post(
        f"/account/devices/{current}/sign-out",
        data={"csrf_token": csrf_token(html)},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 400
    assert devices_html(http)


def test_sign_out_others_after_confirmation(server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, iphone = other_devices(server)
    http = sign_in_with_form(server)
    token = csrf_token(devices_html(http))

    confirm = http.get("/account/devices/sign-out-others")
    assert confirm.status_code == 200
    assert "Sign out of all other devices?" in confirm.text
    assert "Sign out of 2 other devices" in confirm.text
    # Showing the confirmation signs nothing out.
    assert api_status(windows) == 200

    response = http.post("/account/devices/sign-out-others", data={"csrf_token": token})

    assert response.status_code == 303
    assert response.headers["location"] == "/account/devices?signed_out=others"
    html = http.get(response.headers["location"]).text
    assert "Signed out of all other devices." in html
    assert len(card_ids(html)) == 1
    assert "No other devices are signed in." in html
    assert api_status(windows) == 401
    assert api_status(iphone) == 401


def test_sign_out_current_device(server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, _iphone = other_devices(server)
    http = sign_in_with_form(server)
    token = csrf_token(devices_html(http))

    response = http.post("/account/sign-out", data={"csrf_token": token})

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?signed_out=1"
    assert http.get("/account/devices").status_code == 303
    assert "You signed out." in http.get("/sign-in?signed_out=1").text
    assert api_status(windows) == 200


# Forged posts


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_post_without_valid_csrf_token_rejected(server: RunningServer, token: str | None) -> None:
    make_user(server, EMAIL)
    windows, _iphone = other_devices(server)
    http = sign_in_with_form(server)
    devices_html(http)
    data = {} if token is None else {"csrf_token": token}

    paths = [
        f"/account/devices/{windows.session_id}/sign-out",
        "/account/devices/sign-out-others",
        "/account/sign-out",
    ]
    for path in paths:
        response = http.post(path, data=data)
        assert response.status_code == 403, path
        assert response.headers["content-type"].startswith("text/html"), path

    assert api_status(windows) == 200
    assert http.get("/account/devices").status_code == 200


def test_post_with_other_clients_token_rejected(server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, _iphone = other_devices(server)
    http = sign_in_with_form(server)
    other = sign_in_with_form(server)
    other_token = csrf_token(devices_html(other))

    response = http.post(
        f"/account/devices/{windows.session_id}/sign-out", data={"csrf_token": other_token}
    )

    assert response.status_code == 403
    assert api_status(windows) == 200


def test_post_from_other_origin_rejected(server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, _iphone = other_devices(server)
    http = sign_in_with_form(server)
    token = csrf_token(devices_html(http))

    for origin in ("https://evil.example", "null", f"{server.url}.evil.example"):
        response = http.post(
            f"/account/devices/{windows.session_id}/sign-out",
            data={"csrf_token": token},
            headers={"origin": origin},
        )
        assert response.status_code == 403, origin
        assert "Request rejected" in response.text

    assert api_status(windows) == 200


def test_post_from_own_or_allowed_origin_accepted(serve: ServerFactory) -> None:
    server = serve(
        trusted_proxies=TrustedProxies.parse("127.0.0.1"),
        allowed_origins=frozenset({"https://app.example.com"}),
    )
    make_user(server, EMAIL)
    windows, iphone = other_devices(server)
    http = sign_in_with_form(server)
    token = csrf_token(devices_html(http))

    own = http.post(
        f"/account/devices/{windows.session_id}/sign-out",
        data={"csrf_token": token},
        headers={"origin": server.url},
    )
    allowed = http.post(
        f"/account/devices/{iphone.session_id}/sign-out",
        data={"csrf_token": token},
        headers={"origin": "https://app.example.com"},
    )

    assert own.status_code == 303
    assert allowed.status_code == 303
    assert api_status(windows) == 401
    assert api_status(iphone) == 401


def test_post_when_signed_out_redirects(server: RunningServer) -> None:
    response = page_client(server).post("/account/sign-out", data={"csrf_token": "x"})

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


# Headers and assets


def test_pages_send_security_headers(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = sign_in_with_form(server)
    responses = {
        "sign-in form": page_client(server).get("/sign-in"),
        "devices": http.get("/account/devices"),
        "redirect": page_client(server).get("/account/devices"),
        "script": http.get("/static/devices.js"),
        "stylesheet": http.get("/static/devices.css"),
    }

    for name, response in responses.items():
        headers = response.headers
        for header, value in SECURITY_HEADERS.items():
            assert headers.get(header) == value, (name, header)
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy, name
        assert "frame-ancestors 'none'" in policy, name
        assert "unsafe-inline" not in policy, name
        hints = {hint.strip() for hint in headers["accept-ch"].split(",")}
        assert hints == CLIENT_HINTS, name


def test_pages_have_no_inline_script(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = sign_in_with_form(server)

    for html in (page_client(server).get("/sign-in").text, devices_html(http)):
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert all('src="/static/' in tag for tag in scripts), scripts
        assert " onclick=" not in html
        assert " style=" not in html


def test_pages_reference_no_other_host(server: RunningServer) -> None:
    make_user(server, EMAIL)
    other_devices(server)
    http = sign_in_with_form(server)
    html = devices_html(http)
    confirm = http.get("/account/devices/sign-out-others").text
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert "/static/devices.css" in assets
    assert "/static/devices.js" in assets

    served = {
        "/sign-in": page_client(server).get("/sign-in").text,
        "/account/devices": html,
        "/account/devices/sign-out-others": confirm,
    }
    for path in assets:
        response = http.get(path)
        assert response.status_code == 200, path
        served[path] = response.text

    for path, text in served.items():
        urls = re.findall(r"""https?://[^\s"'<>()]+""", text)
        foreign = [url for url in urls if not url.startswith(server.url) and url != SVG_NAMESPACE]
        assert foreign == [], path
        # Protocol-relative references ("//cdn.example/x.js") and stylesheet imports.
        assert not re.search(r"""(?:src|href|action)=["']?//|url\(\s*["']?//""", text), path
        assert "@import" not in text, path


def test_static_serves_only_known_files(server: RunningServer) -> None:
    http = page_client(server)

    script = http.get("/static/devices.js")
    stylesheet = http.get("/static/devices.css")

    assert script.headers["content-type"].startswith("text/javascript")
    assert stylesheet.headers["content-type"].startswith("text/css")
    assert http.get("/static/routes.py").status_code == 404
    assert http.get("/static/..%2Froutes.py").status_code == 404
    assert http.get("/static/missing.js").status_code == 404


def test_post_with_unreadable_body_rejected(server: RunningServer) -> None:
    make_user(server, EMAIL)
    http = sign_in_with_form(server)
    devices_html(http)
    headers = {"content-type": "application/x-www-form-urlencoded"}

    for path in ("/sign-in", "/account/sign-out"):
        response = http.post(path, content=b"\xff\xfe", headers=headers)
        assert response.status_code == 400, path
        assert "The form could not be read." in response.text, path

    assert http.get("/account/devices").status_code == 200
