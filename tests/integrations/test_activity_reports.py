"""Activity reports from the middleware: what arrives at lastseen, how often, and overflow."""

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.types import ASGIApp

from helpers import (
    SECRET_KEY,
    RunningServer,
    ServerThread,
    free_port,
    make_user,
    signed_in,
)
from lastseen.domain.clock import FrozenClock
from lastseen.integrations.activity import ActivityReport, ActivityReporter
from lastseen.integrations.asgi import LastseenMiddleware

EMAIL = "ada@example.com"
LONDON = "81.2.69.142"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)
DEADLINE = 10.0

StartHost = Callable[..., tuple[str, LastseenMiddleware]]


@pytest.fixture
def start_host() -> Iterator[StartHost]:
    """Serve a FastAPI app behind the middleware; ``/drain`` waits for queued reports."""
    with ExitStack() as stack:

        def start(**options: Any) -> tuple[str, LastseenMiddleware]:
            app = FastAPI()
            instances: list[LastseenMiddleware] = []

            @app.get("/hello")
            def hello(request: Request) -> dict[str, bool]:
                return {"signed_in": request.state.auth.is_signed_in}

            @app.post("/drain")
            async def drain() -> dict[str, int]:
                reporter = instances[-1].reporter
                assert reporter is not None
                await reporter.drain()
                return {"sent": reporter.sent, "failed": reporter.failed}

            def factory(inner: ASGIApp) -> LastseenMiddleware:
                instances.append(LastseenMiddleware(inner, **options))
                return instances[-1]

            app.add_middleware(factory)
            app.middleware_stack = app.build_middleware_stack()
            port = free_port()
            stack.enter_context(ServerThread(app, port))
            return f"http://127.0.0.1:{port}", instances[-1]

        yield start


def session_token(server: RunningServer, session_id: str, seconds: int = 3600) -> str:
    response = httpx.post(
        f"{server.url}/v1/sessions/{session_id}/tokens",
        json={"expires_in_seconds": seconds},
        headers={"authorization": f"Bearer {SECRET_KEY}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["jwt"]
    return token


def latest_activity(server: RunningServer, session_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/v1/sessions/{session_id}",
        headers={"authorization": f"Bearer {SECRET_KEY}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    activity: dict[str, Any] = response.json()["latest_activity"]
    return activity


def drain(url: str) -> dict[str, int]:
    response = httpx.post(f"{url}/drain", timeout=10)
    assert response.status_code == 200, response.text
    counts: dict[str, int] = response.json()
    return counts


@pytest.fixture
def session_id(server: RunningServer) -> str:
    make_user(server, EMAIL)
    session_id: str = signed_in(server, EMAIL).session_id
    return session_id


@pytest.fixture
def touches(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Session ids of the activity reports the lastseen server received."""
    sessions = server.accounts.sessions
    received: list[str] = []
    report_activity = sessions.report_activity

    def counting(session_id: str, facts: Any) -> Any:
        received.append(session_id)
        return report_activity(session_id, facts)

    monkeypatch.setattr(sessions, "report_activity", counting)
    return received


# Over HTTP to a real lastseen


def test_report_becomes_latest_activity(
    server: RunningServer, start_host: StartHost, session_id: str
) -> None:
    url, _ = start_host(api_url=server.url, secret_key=SECRET_KEY, trusted_proxies="127.0.0.1")
    token = session_token(server, session_id)

    with httpx.Client(base_url=url, timeout=10) as http:
        hello = http.get(
            "/hello",
            headers={
                "authorization": f"Bearer {token}",
                "user-agent": SAFARI_MAC,
                "x-forwarded-for": LONDON,
            },
        )
    counts = drain(url)
    deadline = time.monotonic() + DEADLINE
    activity = latest_activity(server, session_id)
    while activity.get("ip_address") != LONDON and time.monotonic() < deadline:
        time.sleep(0.05)
        activity = latest_activity(server, session_id)

    assert hello.json() == {"signed_in": True}
    assert counts == {"sent": 1, "failed": 0}
    assert activity["ip_address"] == LONDON
    assert activity["city"] == "London"
    assert activity["country_code"] == "GB"
    assert activity["browser_name"] == "Safari"


def test_untrusted_forwarded_for_is_ignored(
    server: RunningServer, start_host: StartHost, session_id: str
) -> None:
    url, _ = start_host(api_url=server.url, secret_key=SECRET_KEY)
    token = session_token(server, session_id)

    with httpx.Client(base_url=url, timeout=10) as http:
        http.get(
            "/hello",
            headers={
                "authorization": f"Bearer {token}",
                "user-agent": SAFARI_MAC,
                "x-forwarded-for": LONDON,
            },
        )
    counts = drain(url)
    activity = latest_activity(server, session_id)

    assert counts == {"sent": 1, "failed": 0}
    assert activity["browser_name"] == "Safari"
    assert activity["ip_address"] == "127.0.0.1"


def test_reports_throttled_per_session(
    server: RunningServer, start_host: StartHost, session_id: str, touches: list[str]
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    url, middleware = start_host(
        api_url=server.url, secret_key=SECRET_KEY, clock=clock, touch_interval=timedelta(seconds=60)
    )
    token = session_token(server, session_id)

    with httpx.Client(base_url=url, timeout=10) as http:
        answers = [
            http.get("/hello", headers={"authorization": f"Bearer {token}"}).status_code
            for _ in range(5)
        ]
        within = drain(url)
        clock.advance(timedelta(seconds=59))
        http.get("/hello", headers={"authorization": f"Bearer {token}"})
        still_within = drain(url)
        clock.advance(timedelta(seconds=1))
        http.get("/hello", headers={"authorization": f"Bearer {token}"})
        after = drain(url)

    assert answers == [200] * 5
    assert within["sent"] == 1
    assert still_within["sent"] == 1
    assert after["sent"] == 2
    assert touches == [session_id, session_id]
    assert middleware.reporter is not None
    assert middleware.reporter.dropped == 0


def test_signed_out_requests_not_reported(
    server: RunningServer, start_host: StartHost, touches: list[str]
) -> None:
    url, _ = start_host(api_url=server.url, secret_key=SECRET_KEY)

    with httpx.Client(base_url=url, timeout=10) as http:
        answers = [
            http.get("/hello", headers={"authorization": "Bearer nope"}).json(),
            http.get("/hello").json(),
        ]
    counts = drain(url)

    assert answers == [{"signed_in": False}, {"signed_in": False}]
    assert counts == {"sent": 0, "failed": 0}
    assert touches == []


# A full queue


class HeldTransport:
    """A transport whose ``send`` waits until the test lets it go."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.sent: list[str] = []
        self.closed = False

    async def send(self, report: ActivityReport) -> None:
        self.entered.set()
        await self.release.wait()
        self.sent.append(report.session_id)

    async def close(self) -> None:
        self.closed = True


def report(session_id: str) -> ActivityReport:
    return ActivityReport(session_id=session_id, ip_address=None, user_agent="test")


def test_full_queue_drops_without_blocking() -> None:
    async def scenario() -> dict[str, Any]:
        transport = HeldTransport()
        reporter = ActivityReporter(transport, queue_size=1)
        first = reporter.report(report("sess_1"))
        await asyncio.wait_for(transport.entered.wait(), DEADLINE)
        queued = reporter.report(report("sess_2"))
        overflow = [reporter.report(report(f"sess_{n}")) for n in range(3, 8)]
        dropped = reporter.dropped
        transport.release.set()
        await asyncio.wait_for(reporter.drain(), DEADLINE)
        await reporter.close()
        return {
            "first": first,
            "queued": queued,
            "overflow": overflow,
            "dropped": dropped,
            "sent": transport.sent,
            "closed": transport.closed,
        }

    result = asyncio.run(scenario())

    assert result["first"] is True
    assert result["queued"] is True
    assert result["overflow"] == [False] * 5
    assert result["dropped"] == 5
    assert result["sent"] == ["sess_1", "sess_2"]
    assert result["closed"] is True


def test_dropped_report_is_not_throttled() -> None:
    async def scenario() -> list[bool]:
        transport = HeldTransport()
        reporter = ActivityReporter(transport, queue_size=1)
        reporter.report(report("sess_1"))
        await asyncio.wait_for(transport.entered.wait(), DEADLINE)
        reporter.report(report("sess_2"))
        dropped = reporter.report(report("sess_3"))
        transport.release.set()
        await asyncio.wait_for(reporter.drain(), DEADLINE)
        retried = reporter.report(report("sess_3"))
        await asyncio.wait_for(reporter.drain(), DEADLINE)
        await reporter.close()
        return [dropped, retried]

    assert asyncio.run(scenario()) == [False, True]


def test_app_responds_while_reports_held(
    server: RunningServer, start_host: StartHost, session_id: str
) -> None:
    transport = HeldTransport()
    url, middleware = start_host(
        api_url=server.url,
        activity_transport=transport,
        touch_interval=timedelta(0),
        queue_size=1,
    )
    token = session_token(server, session_id)

    with httpx.Client(base_url=url, timeout=10) as http:
        answers = [
            http.get("/hello", headers={"authorization": f"Bearer {token}"}).status_code
            for _ in range(5)
        ]

    assert answers == [200] * 5
    assert middleware.reporter is not None
    assert middleware.reporter.dropped == 3
    assert transport.sent == []
