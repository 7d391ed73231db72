"""Row 9: host apps. How soon each revocation mode refuses a revoked session's token, and
what the middleware adds to a request.

A lastseen server and a small host app (a Starlette route behind `LastseenMiddleware`) run
in this process, each on its own uvicorn thread on 127.0.0.1. For each mode the run starts a
session, mints a token, lets the host app accept it once, revokes the session through the
backend API, and polls the host app until it returns 401. The delay runs from just before
the revoke request to the first 401, so it includes the revoke request itself.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bench.context import RunContext
from bench.measure import Case, Sample, interleave
from bench.results import Check, Figure, Goal, RowResult
from lastseen.domain import ids
from lastseen.domain.sessions import Lifetimes, new_session
from lastseen.http.app import create_app
from lastseen.integrations.activity import ActivityReport
from lastseen.integrations.asgi import LastseenMiddleware, require_session
from lastseen.integrations.revocation import InProcessRevocations, RedisRevocations
from lastseen.settings import Settings
from lastseen.store.engine import make_engine
from lastseen.store.schema import migrate
from lastseen.tokens.signing import mint_session_token
from lastseen.tokens.verify import JWKS

SECRET_KEY = "sk_bench_" + "r" * 32
ENCRYPTION_KEY = "bench-encryption-key-" + "e" * 20
REDIS_URL = "redis://127.0.0.1:6379/15"
# Polling and Redis must refuse a revoked session within this bound.
BOUND_SECONDS = 1.0
POLL_INTERVAL = timedelta(milliseconds=500)


def run(ctx: RunContext) -> RowResult:
    row = RowResult("9", "Host apps: revocation delay per mode, and the middleware's cost")
    rounds = max(ctx.repetitions, 5)
    redis_url = REDIS_URL if _redis_answers() else None

    database = ctx.scratch("revocation") / "lastseen.db"
    settings = Settings(
        database_url=f"sqlite:///{database}",
        secret_key=SECRET_KEY,
        encryption_key=ENCRYPTION_KEY,
        redis_url=redis_url,
    )
    migrate(make_engine(settings.database_url))
    service = create_app(settings)

    with _serving(service) as service_url, httpx.Client(base_url=service_url, timeout=10) as api:
        api.headers["authorization"] = f"Bearer {SECRET_KEY}"
        user_id = api.post(
            "/v1/users",
            json={"email_address": ["bench@example.com"], "password": "bench password 1"},
        ).json()["id"]
        jwks = JWKS(api.get("/v1/jwks").json())
        sessions = service.state.runtime.sessions

        modes: dict[str, dict[str, Any]] = {
            "polling every 0.5 s": {
                "api_url": service_url,
                "secret_key": SECRET_KEY,
                "check_revocation": True,
                "poll_interval": POLL_INTERVAL,
            },
            "in process": {"revocations": InProcessRevocations(sessions)},
        }
        if redis_url is not None:
            modes["Redis pub/sub"] = {"redis_url": redis_url}

        for label, options in modes.items():
            options.setdefault("check_revocation", True)
            delays = _revocation_delays(api, user_id, jwks, options, rounds)
            row.figures.append(Figure(f"revocation delay, {label}", delays))
            row.checks.append(
                Check(
                    f"{label}: slowest refusal ≤ {BOUND_SECONDS:g} s",
                    row.figure(f"revocation delay, {label}"),
                    Goal.BOOLEAN,
                    BOUND_SECONDS,
                    passed=delays.max <= BOUND_SECONDS,
                    target_label=f"max ≤ {BOUND_SECONDS:g} s",
                )
            )

        remaining = _token_only_window(api, user_id, jwks, rounds)
        row.figures.append(
            Figure(
                "token still accepted after revoke, default mode",
                remaining,
                note="the token's remaining lifetime plus the 5 s leeway, read from its "
                "exp claim; the run checks the token is accepted after the revoke and "
                "does not wait for it to expire",
            )
        )

    row.figures += _middleware_cost(ctx)
    row.checks.append(
        Check(
            "middleware cost per request, token seen before",
            row.figure("middleware added per request, token seen before"),
            Goal.MAX_VALUE,
            50.0,
        )
    )
    row.notes += [
        f"{rounds} revocations per mode, each of a new session with its own token.",
        "Polling interval 0.5 s (the default); the poll asks `GET /v1/revocations`.",
        "Redis mode: lastseen publishes on `LASTSEEN_REDIS_URL` and the middleware "
        "subscribes; "
        + (
            f"measured against {redis_url}."
            if redis_url
            else "skipped because no Redis server answered at 127.0.0.1:6379."
        ),
        "The middleware cost is the difference between a trivial Starlette route called "
        "through ASGI with and without `LastseenMiddleware` in front (Bearer token seen "
        "before, no revocation check), in process, without HTTP.",
    ]
    return row


def _revocation_delays(
    api: httpx.Client, user_id: str, jwks: JWKS, options: dict[str, Any], rounds: int
) -> Sample:
    host = LastseenMiddleware(_host_app(), jwks=jwks, report_activity=False, **options)
    delays = []
    with _serving(host) as host_url, httpx.Client(base_url=host_url, timeout=10) as http:
        _wait_until_listening(host)
        for _ in range(rounds):
            session_id = api.post("/v1/sessions", json={"user_id": user_id}).json()["id"]
            token = api.post(f"/v1/sessions/{session_id}/tokens").json()["jwt"]
            headers = {"authorization": f"Bearer {token}"}
            if http.get("/protected", headers=headers).status_code != 200:
                raise RuntimeError("the host app rejected a fresh token")

            # Each round starts just after the previous refusal, which is just after a poll.
            # A random pause puts the revocation at a random point of the poll interval.
            time.sleep(random.uniform(0, POLL_INTERVAL.total_seconds()))
            start = time.perf_counter()
            api.post(f"/v1/sessions/{session_id}/revoke").raise_for_status()
            deadline = start + 10
            while http.get("/protected", headers=headers).status_code != 401:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the host app still accepts a revoked session after 10 s")
            delays.append(time.perf_counter() - start)
    return Sample(tuple(delays), "s")


def _token_only_window(api: httpx.Client, user_id: str, jwks: JWKS, rounds: int) -> Sample:
    host = LastseenMiddleware(_host_app(), jwks=jwks, report_activity=False)
    windows = []
    with _serving(host) as host_url, httpx.Client(base_url=host_url, timeout=10) as http:
        for _ in range(rounds):
            session_id = api.post("/v1/sessions", json={"user_id": user_id}).json()["id"]
            token = api.post(f"/v1/sessions/{session_id}/tokens").json()["jwt"]
            headers = {"authorization": f"Bearer {token}"}
            api.post(f"/v1/sessions/{session_id}/revoke").raise_for_status()
            revoked_at = time.time()
            if http.get("/protected", headers=headers).status_code != 200:
                raise RuntimeError("without the revocation check the token should still pass")
            claims = host.authenticate(_bearer_headers(token)).claims
            assert claims is not None
            windows.append(claims.expires_at.timestamp() + host.leeway.total_seconds() - revoked_at)
    return Sample(tuple(windows), "s")


def _middleware_cost(ctx: RunContext) -> list[Figure]:
    """Time ASGI calls of a trivial route with and without the middleware in front."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwks = JWKS({"keys": [{**jwk, "kid": "ins_bench", "alg": "RS256", "use": "sig"}]})
    now = datetime.now(UTC)
    session = new_session(
        session_id=ids.new_id(ids.SESSION),
        user_id=ids.new_id(ids.USER),
        client_id=ids.new_id(ids.CLIENT),
        lifetimes=Lifetimes(),
        now=now,
    )
    token = mint_session_token(
        session,
        kid="ins_bench",
        private_key=private_key,
        issuer="http://127.0.0.1",
        now=now,
        lifetime=timedelta(hours=2),
    )

    bare = _ping_app()
    verified = LastseenMiddleware(_ping_app(), jwks=jwks, report_activity=False)
    reporting = LastseenMiddleware(
        _ping_app(), jwks=jwks, activity_transport=_NullTransport(), touch_interval=timedelta(0)
    )
    count = ctx.scaled(20_000, 2_000)
    loop = asyncio.new_event_loop()
    try:
        samples = interleave(
            {
                "route without middleware": _asgi_case(loop, bare, token, count),
                "route behind middleware, token seen before": _asgi_case(
                    loop, verified, token, count
                ),
                "route behind middleware, reporting every request": _asgi_case(
                    loop, reporting, token, count
                ),
            },
            ctx.repetitions,
        )
    finally:
        loop.run_until_complete(reporting.stop())
        loop.close()

    bare_sample = samples["route without middleware"]
    added = Sample(
        tuple(
            behind - without
            for behind, without in zip(
                samples["route behind middleware, token seen before"].values,
                bare_sample.values,
                strict=True,
            )
        ),
        "µs/op",
    )
    figures = [Figure(label, sample) for label, sample in samples.items()]
    figures.append(
        Figure(
            "middleware added per request, token seen before",
            added,
            note="per repetition: behind minus without",
        )
    )
    return figures


class _NullTransport:
    """Accepts activity reports and drops them, to time the reporting path alone."""

    async def send(self, report: ActivityReport) -> None:
        return None

    async def close(self) -> None:
        return None


def _asgi_case(loop: asyncio.AbstractEventLoop, app: Any, token: str, count: int) -> Case:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/ping",
        "raw_path": b"/ping",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Firefox/133.0"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    async def many() -> int:
        for _ in range(count):
            await app(dict(scope), receive, send)
        return count

    return Case(lambda: loop.run_until_complete(many()))


def _host_app() -> Starlette:
    def protected(request: Request) -> Response:
        auth = require_session(request)
        return PlainTextResponse(auth.session_id or "")

    return Starlette(routes=[Route("/protected", protected)])


def _ping_app() -> Starlette:
    def ping(request: Request) -> Response:
        return PlainTextResponse("pong")

    return Starlette(routes=[Route("/ping", ping)])


def _bearer_headers(token: str) -> Headers:
    return Headers(raw=[(b"authorization", f"Bearer {token}".encode())])


def _wait_until_listening(host: LastseenMiddleware) -> None:
    """Wait for the Redis subscription, which starts with the app and is asynchronous."""
    source = host.revocations
    if not isinstance(source, RedisRevocations):
        return
    deadline = time.monotonic() + 10
    while not source.subscribed.is_set():
        if time.monotonic() > deadline:
            raise RuntimeError("the Redis subscription did not start within 10 s")
        time.sleep(0.01)


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in a thread, until the block ends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("a benchmark server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _redis_answers() -> bool:
    with suppress(OSError), socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False
