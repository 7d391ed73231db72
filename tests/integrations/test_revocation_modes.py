"""How soon a host app rejects a revoked session's token, in each revocation mode."""

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI
from starlette.types import ASGIApp

from helpers import (
    SECRET_KEY,
    Browser,
    RunningServer,
    ServerFactory,
    ServerThread,
    free_port,
    make_user,
    signed_in,
)
from lastseen.domain.clock import FrozenClock
from lastseen.integrations.activity import InProcessActivityTransport
from lastseen.integrations.asgi import Auth, LastseenMiddleware, require_session
from lastseen.integrations.revocation import (
    InProcessRevocations,
    PollingRevocations,
    RedisRevocations,
)

REDIS_URL = os.environ.get("LASTSEEN_TEST_REDIS_URL")
EMAIL = "ada@example.com"
LEEWAY = timedelta(seconds=5)
DEADLINE = 10.0

StartHost = Callable[..., tuple[str, LastseenMiddleware]]


@pytest.fixture
def start_host() -> Iterator[StartHost]:
    """Serve a FastAPI app with a ``/protected`` route behind the middleware."""
    with ExitStack() as stack:

        def start(**options: Any) -> tuple[str, LastseenMiddleware]:
            app = FastAPI()

            @app.get("/protected")
            def protected(
                auth: Annotated[Auth, Depends(require_session)],
            ) -> dict[str, str | None]:
                return {"session_id": auth.session_id}

            instances: list[LastseenMiddleware] = []

            def factory(inner: ASGIApp) -> LastseenMiddleware:
                instances.append(LastseenMiddleware(inner, **options))
                return instances[-1]

            app.add_middleware(factory)
            app.middleware_stack = app.build_middleware_stack()
            port = free_port()
            stack.enter_context(ServerThread(app, port))
            return f"http://127.0.0.1:{port}", instances[-1]

        yield start


class Devices:
    """Browser A, whose session gets revoked, and browser B of the same user, who revokes it."""

    def __init__(self, server: RunningServer) -> None:
        make_user(server, EMAIL)
        self.a: Browser = signed_in(server, EMAIL)
        self.b: Browser = signed_in(server, EMAIL)

    def token(self) -> str:
        response = self.a.http.post(f"/v1/client/sessions/{self.a.session_id}/tokens")
        assert response.status_code == 200, response.text
        token: str = response.json()["jwt"]
        return token

    def revoke_a(self) -> None:
        response = self.b.http.post(f"/v1/me/sessions/{self.a.session_id}/revoke")
        assert response.status_code == 200, response.text
        assert response.json()["response"]["status"] == "revoked"


def protected(url: str, token: str) -> int:
    with httpx.Client(timeout=10) as http:
        response = http.get(f"{url}/protected", headers={"authorization": f"Bearer {token}"})
    return response.status_code


def poll_until_401(url: str, token: str) -> int:
    """Call ``/protected`` until it returns 401 or the deadline passes; return the last status."""
    deadline = time.monotonic() + DEADLINE
    with httpx.Client(timeout=10) as http:
        while True:
            status = http.get(
                f"{url}/protected", headers={"authorization": f"Bearer {token}"}
            ).status_code
            if status == 401 or time.monotonic() > deadline:
                return status
            time.sleep(0.05)


def wait_until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def expiry(token: str) -> datetime:
    claims = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(claims["exp"], UTC)


# The modes


def test_default_mode_waits_for_expiry(server: RunningServer, start_host: StartHost) -> None:
    devices = Devices(server)
    clock = FrozenClock(datetime.now(UTC))
    url, _ = start_host(api_url=server.url, report_activity=False, clock=clock)
    token = devices.token()

    before = protected(url, token)
    devices.revoke_a()
    after_revoke = protected(url, token)
    clock.now = expiry(token) + LEEWAY - timedelta(seconds=1)
    before_expiry = protected(url, token)
    clock.now = expiry(token) + LEEWAY
    unauthorized = poll_until_401(url, token)

    assert before == 200
    assert after_revoke == 200
    assert before_expiry == 200
    assert unauthorized == 401


def test_polling_mode(server: RunningServer, start_host: StartHost) -> None:
    devices = Devices(server)
    url, middleware = start_host(
        api_url=server.url,
        secret_key=SECRET_KEY,
        report_activity=False,
        check_revocation=True,
        poll_interval=timedelta(milliseconds=200),
    )
    token = devices.token()

    before = protected(url, token)
    devices.revoke_a()
    unauthorized = poll_until_401(url, token)

    assert isinstance(middleware.revocations, PollingRevocations)
    assert before == 200
    assert unauthorized == 401


def test_polling_mode_two_hosts(server: RunningServer, start_host: StartHost) -> None:
    devices = Devices(server)
    options: dict[str, Any] = {
        "api_url": server.url,
        "secret_key": SECRET_KEY,
        "report_activity": False,
        "check_revocation": True,
        "poll_interval": timedelta(milliseconds=200),
    }
    first, _ = start_host(**options)
    second, _ = start_host(**options)
    token = devices.token()

    before = [protected(first, token), protected(second, token)]
    devices.revoke_a()
    unauthorized = [poll_until_401(first, token), poll_until_401(second, token)]

    assert before == [200, 200]
    assert unauthorized == [401, 401]


def test_redis_mode(serve: ServerFactory, start_host: StartHost) -> None:
    if not REDIS_URL:
        pytest.skip("Redis tests need LASTSEEN_TEST_REDIS_URL (set by .ci/run)")
    server = serve(redis_url=REDIS_URL)
    devices = Devices(server)
    url, middleware = start_host(
        api_url=server.url, report_activity=False, check_revocation=True, redis_url=REDIS_URL
    )
    revocations = middleware.revocations
    assert isinstance(revocations, RedisRevocations)
    token = devices.token()

    before = protected(url, token)
    subscribed = wait_until(revocations.subscribed.is_set)
    devices.revoke_a()
    unauthorized = poll_until_401(url, token)

    assert before == 200
    assert subscribed is True
    assert unauthorized == 401


def test_in_process_mode(server: RunningServer, start_host: StartHost) -> None:
    devices = Devices(server)
    sessions = server.accounts.sessions
    document = httpx.get(f"{server.url}/.well-known/jwks.json", timeout=10).json()
    url, _ = start_host(
        jwks=document,
        activity_transport=InProcessActivityTransport(sessions),
        check_revocation=True,
        revocations=InProcessRevocations(sessions),
    )
    token = devices.token()

    before = protected(url, token)
    devices.revoke_a()
    after = protected(url, token)

    assert before == 200
    assert after == 401


def test_in_process_listener_removed_on_stop(server: RunningServer) -> None:
    sessions = server.accounts.sessions
    listeners = len(sessions.end_listeners)
    app = FastAPI()
    app.add_middleware(
        LastseenMiddleware,
        jwks={"keys": []},
        report_activity=False,
        check_revocation=True,
        revocations=InProcessRevocations(sessions),
    )

    with ServerThread(app, free_port()):
        during = len(sessions.end_listeners)
    after = len(sessions.end_listeners)

    assert during == listeners + 1
    assert after == listeners
