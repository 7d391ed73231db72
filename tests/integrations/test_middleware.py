"""LastseenMiddleware in front of small host apps served on loopback."""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI, Request, WebSocket
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message
from websockets.sync.client import connect

from helpers import (
    Browser,
    RunningServer,
    ServerThread,
    free_port,
    make_user,
    signed_in,
)
from lastseen.domain.clock import FrozenClock
from lastseen.integrations import asgi
from lastseen.integrations.asgi import Auth, LastseenMiddleware, require_session
from lastseen.tokens.verify import verify_session_token

EMAIL = "ada@example.com"
LEEWAY = timedelta(seconds=5)

StartHost = Callable[[ASGIApp], str]


# Host apps


def host_app() -> FastAPI:
    app = FastAPI()

    @app.get("/whoami")
    def whoami(request: Request) -> dict[str, Any]:
        auth: Auth = request.state.auth
        return {
            "signed_in": auth.is_signed_in,
            "user_id": auth.user_id,
            "session_id": auth.session_id,
            "status": auth.status,
            "reason": auth.reason,
        }

    @app.get("/protected")
    def protected(auth: Annotated[Auth, Depends(require_session)]) -> dict[str, str | None]:
        return {"user_id": auth.user_id, "session_id": auth.session_id}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"has_auth": "auth" in websocket.scope.get("state", {})})
        await websocket.close()

    return app


def mount(app: Starlette, **options: Any) -> LastseenMiddleware:
    """Add the middleware the documented way and return the instance the app uses."""
    instances: list[LastseenMiddleware] = []

    def factory(inner: ASGIApp) -> LastseenMiddleware:
        instances.append(LastseenMiddleware(inner, **options))
        return instances[-1]

    app.add_middleware(factory)
    app.middleware_stack = app.build_middleware_stack()
    return instances[-1]


@pytest.fixture
def start_host() -> Iterator[StartHost]:
    with ExitStack() as stack:

        def start(app: ASGIApp) -> str:
            port = free_port()
            stack.enter_context(ServerThread(app, port))
            return f"http://127.0.0.1:{port}"

        yield start


@pytest.fixture
def browser(server: RunningServer) -> Browser:
    make_user(server, EMAIL)
    return signed_in(server, EMAIL)


def mint(browser: Browser, headers: dict[str, str] | None = None) -> str:
    response = browser.http.post(
        f"/v1/client/sessions/{browser.session_id}/tokens", headers=headers
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["jwt"]
    return token


def expiry(token: str) -> datetime:
    claims = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(claims["exp"], UTC)


def whoami(url: str, headers: dict[str, str]) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=10) as http:
        response = http.get("/whoami", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def cookie(token: str) -> dict[str, str]:
    return {"cookie": f"__session={token}"}


# Signed in


def test_bearer_token_signs_in(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)

    body = whoami(url, bearer(mint(browser)))

    assert body["signed_in"] is True
    assert body["session_id"] == browser.session_id
    assert body["user_id"].startswith("user_")
    assert body["status"] == "active"
    assert body["reason"] is None


def test_cookie_token_signs_in(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)

    body = whoami(url, cookie(mint(browser)))

    assert body["signed_in"] is True
    assert body["session_id"] == browser.session_id


def test_same_token_in_header_and_cookie(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)
    token = mint(browser)

    body = whoami(url, {**bearer(token), **cookie(token)})

    assert body["signed_in"] is True


def test_first_authorization_header_counts(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    # As Starlette's Headers.get reads them: a repeated header's first value.
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)
    token = mint(browser)

    with httpx.Client(base_url=url, timeout=10) as http:
        first_valid = http.get(
            "/whoami", headers=[("authorization", f"Bearer {token}"), ("authorization", "Bearer x")]
        )
        first_invalid = http.get(
            "/whoami", headers=[("authorization", "Bearer x"), ("authorization", f"Bearer {token}")]
        )

    assert first_valid.json()["signed_in"] is True
    assert first_invalid.json()["signed_in"] is False


def test_session_cookie_after_json_cookie(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)
    token = mint(browser)

    body = whoami(url, {"cookie": f'prefs={{"theme":"dark"}}; __session={token}'})

    assert body["signed_in"] is True


def test_protected_route_returns_user(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)

    with httpx.Client(base_url=url, timeout=10) as http:
        response = http.get("/protected", headers=bearer(mint(browser)))

    assert response.status_code == 200
    assert response.json()["session_id"] == browser.session_id


# Signed out


def test_expired_token_signs_out(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    app = host_app()
    mount(app, api_url=server.url, report_activity=False, clock=clock)
    url = start_host(app)
    token = mint(browser)
    clock.now = expiry(token) + LEEWAY + timedelta(seconds=1)

    body = whoami(url, bearer(token))

    assert body["signed_in"] is False
    assert body["reason"] == "TokenExpired"


def test_wrong_signature_signs_out(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)
    token = mint(browser)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": header["kid"]})

    body = whoami(url, bearer(forged))

    assert body["signed_in"] is False
    assert body["reason"] == "TokenInvalid"


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer not-a-token"},
        {"authorization": "Bearer"},
        {"authorization": "Basic x"},
        {"cookie": "__session=garbage"},
        {"cookie": "__session="},
        {},
    ],
    ids=["garbage", "bearer-alone", "basic", "garbage-cookie", "empty-cookie", "none"],
)
def test_bad_credentials_sign_out(
    server: RunningServer, start_host: StartHost, headers: dict[str, str]
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)

    body = whoami(url, headers)

    assert body["signed_in"] is False
    assert body["user_id"] is None
    assert body["reason"]


def test_header_and_cookie_disagree(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)
    # The same request would get the same token back, so the second names an origin.
    first, second = mint(browser), mint(browser, {"origin": server.url})

    body = whoami(url, {**bearer(first), **cookie(second)})

    assert first != second
    assert body["signed_in"] is False
    assert body["reason"] == "header and cookie tokens differ"


def test_require_session_answers_clerk_401(server: RunningServer, start_host: StartHost) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)

    with httpx.Client(base_url=url, timeout=10) as http:
        response = http.get("/protected", headers={"authorization": "Bearer nope"})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "signed_out"


def test_require_session_in_starlette_route(server: RunningServer, start_host: StartHost) -> None:
    def protected(request: Request) -> JSONResponse:
        return JSONResponse({"user_id": require_session(request).user_id})

    app = Starlette(routes=[Route("/protected", protected)])
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)

    with httpx.Client(base_url=url, timeout=10) as http:
        response = http.get("/protected")

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "signed_out"


def test_require_session_with_app_wrapped(server: RunningServer) -> None:
    wrapped = LastseenMiddleware(host_app(), api_url=server.url, report_activity=False)
    port = free_port()

    # The host stops before the assert, because Python 3.11 can raise SystemError when pytest
    # and the server thread both format a traceback (both call ast.parse) at the same time.
    with ServerThread(wrapped, port), httpx.Client(timeout=10) as http:
        response = http.get(f"http://127.0.0.1:{port}/protected")

    assert response.status_code == 401


# Other scopes


def test_websocket_passes_through(
    server: RunningServer, browser: Browser, start_host: StartHost
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)
    ws_url = url.replace("http://", "ws://") + "/ws"

    with connect(ws_url, additional_headers=bearer(mint(browser))) as websocket:
        message = websocket.recv(timeout=10)

    assert message == '{"has_auth":false}'


def test_lifespan_passes_through() -> None:
    received: list[Any] = []
    replies = [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        received.append(scope)
        for reply in replies:
            received.append(await receive())
            await send(reply)

    incoming: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    middleware = LastseenMiddleware(inner, jwks={"keys": []}, report_activity=False)
    asyncio.run(middleware(scope, receive, send))

    assert received == [scope, {"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    assert sent == replies
    assert scope == {"type": "lifespan", "asgi": {"version": "3.0"}}


# The verified-token cache


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return verify_session_token(token, *args, **kwargs)

    monkeypatch.setattr(asgi, "verify_session_token", counting)
    return calls


def test_cached_token_skips_verification(
    server: RunningServer, browser: Browser, start_host: StartHost, verify_calls: list[str]
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)
    token = mint(browser)

    first = whoami(url, bearer(token))
    second = whoami(url, bearer(token))

    assert first["signed_in"] is True
    assert second["signed_in"] is True
    assert verify_calls == [token]


def test_other_token_is_verified(
    server: RunningServer, browser: Browser, start_host: StartHost, verify_calls: list[str]
) -> None:
    app = host_app()
    mount(app, api_url=server.url, report_activity=False)
    url = start_host(app)
    # The same request would get the same token back, so the second names an origin.
    first, second = mint(browser), mint(browser, {"origin": server.url})

    whoami(url, bearer(first))
    whoami(url, bearer(second))

    assert verify_calls == [first, second]


def test_expired_cached_token_rejected(
    server: RunningServer, browser: Browser, start_host: StartHost, verify_calls: list[str]
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    app = host_app()
    mount(app, api_url=server.url, report_activity=False, clock=clock)
    url = start_host(app)
    token = mint(browser)

    before = whoami(url, bearer(token))
    clock.now = expiry(token) + LEEWAY
    after = whoami(url, bearer(token))

    assert before["signed_in"] is True
    assert after["signed_in"] is False
    assert after["reason"] == "TokenExpired"
    assert len(verify_calls) == 2
