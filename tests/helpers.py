"""Helpers for tests that talk HTTP to a real lastseen server on loopback."""

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import uvicorn

from lastseen.domain.clock import FrozenClock
from lastseen.enrich.geoip import GeoIP
from lastseen.http.app import create_app
from lastseen.service.accounts import Accounts
from lastseen.settings import Settings
from lastseen.store.engine import make_engine
from lastseen.store.schema import migrate

SECRET_KEY = "sk_test_" + "k" * 40
ENCRYPTION_KEY = "test-encryption-key-" + "e" * 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    url: str
    settings: Settings
    clock: FrozenClock | None
    accounts: Accounts
    #: HTTP clients opened against this server, closed when it stops.
    opened: list[httpx.Client] = field(default_factory=list)

    def close_clients(self) -> None:
        for http in self.opened:
            http.close()


#: The ``serve`` fixture: starts a server with settings overrides and an optional clock.
ServerFactory = Callable[..., RunningServer]


class ServerThread:
    """A real uvicorn server on loopback, in a thread of the test process."""

    def __init__(self, app: object, port: int) -> None:
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=port,
            proxy_headers=False,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(
    settings: Settings, *, geoip: GeoIP | None = None, clock: FrozenClock | None = None
) -> tuple[ServerThread, RunningServer]:
    engine = make_engine(settings.database_url)
    migrate(engine)
    if clock is None:
        app = create_app(settings, engine=engine, geoip=geoip)
    else:
        app = create_app(settings, engine=engine, geoip=geoip, clock=clock)
    port = free_port()
    accounts: Accounts = app.state.runtime.accounts
    running = RunningServer(f"http://127.0.0.1:{port}", settings, clock, accounts)
    return ServerThread(app, port), running


PASSWORD = "correct horse battery"


def make_user(server: RunningServer, email: str) -> str:
    return server.accounts.create_user(email_address=email, password=PASSWORD).id


@dataclass
class Browser:
    """An HTTP client with its ``__client`` cookie, and the session its sign-in created."""

    http: httpx.Client
    session_id: str

    def close(self) -> None:
        self.http.close()


def signed_in(
    server: RunningServer,
    email: str,
    *,
    user_agent: str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    headers: dict[str, str] | None = None,
) -> Browser:
    """Sign ``email`` in from a new client and return it."""
    http = httpx.Client(
        base_url=server.url, headers={"user-agent": user_agent, **(headers or {})}, timeout=10
    )
    server.opened.append(http)
    response = http.post("/v1/client/sign_ins", data={"identifier": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return Browser(http, response.json()["response"]["created_session_id"])


class Serve:
    """``lastseen serve`` in a child process, stopped at the end of the test."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lastseen", "serve", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"lastseen serve exited: {self.output()}")
            try:
                httpx.get(f"{self.url}/v1/client", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("lastseen serve did not answer within 60 s")

    def stop(self) -> str:
        self.process.terminate()
        return self.output()

    def output(self) -> str:
        out, _ = self.process.communicate(timeout=30)
        return out
