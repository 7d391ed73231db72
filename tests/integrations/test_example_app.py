"""examples/hostapp.py run with uvicorn beside ``lastseen serve``, both as real processes."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers import ENCRYPTION_KEY, PASSWORD, Serve, free_port

REPO = Path(__file__).resolve().parents[2]
SECRET = "sk_test_example_app_" + "x" * 20
EMAIL = "ada@example.com"
DEADLINE = 10.0


class HostApp:
    """``uvicorn examples.hostapp:app`` in a child process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "examples.hostapp:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the example app exited early: {self.stop()}")
            try:
                httpx.get(self.url, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("timed out: the example app did not respond within 60 s")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        out, _ = self.process.communicate(timeout=30)
        return out


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[tuple[Serve, HostApp]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LASTSEEN_")}
    env.update(
        LASTSEEN_DATABASE_URL=f"sqlite:///{tmp_path / 'example.db'}",
        LASTSEEN_SECRET_KEY=SECRET,
        LASTSEEN_ENCRYPTION_KEY=ENCRYPTION_KEY,
    )
    lastseen = Serve(env)
    host = None
    try:
        lastseen.wait_ready()
        host = HostApp({**env, "LASTSEEN_URL": lastseen.url})
        host.wait_ready()
        yield lastseen, host
    finally:
        if host is not None:
            host.stop()
        if lastseen.process.poll() is None:
            lastseen.stop()
        else:
            lastseen.output()


def test_sign_in_then_revoke(processes: tuple[Serve, HostApp]) -> None:
    lastseen, host = processes
    backend = {"authorization": f"Bearer {SECRET}"}
    created = httpx.post(
        f"{lastseen.url}/v1/users",
        json={"email_address": [EMAIL], "password": PASSWORD},
        headers=backend,
        timeout=10,
    )
    user_id = created.json()["id"]

    with httpx.Client(base_url=host.url, timeout=10) as browser:
        signed = browser.post("/sign-in", data={"identifier": EMAIL, "password": PASSWORD})
        home = browser.get("/")
        before = browser.get("/protected")
        session_id = before.json()["session_id"]
        revoked = httpx.post(
            f"{lastseen.url}/v1/sessions/{session_id}/revoke", headers=backend, timeout=10
        )
        deadline = time.monotonic() + DEADLINE
        after = browser.get("/protected")
        while after.status_code != 401 and time.monotonic() < deadline:
            time.sleep(0.05)
            after = browser.get("/protected")
        home_after = browser.get("/")

    assert created.status_code == 200, created.text
    assert signed.status_code == 303
    assert "__session" in browser.cookies
    assert f"Signed in as {user_id}" in home.text
    assert before.status_code == 200
    assert before.json()["user_id"] == user_id
    assert revoked.json()["status"] == "revoked"
    assert after.status_code == 401
    assert after.json()["errors"][0]["code"] == "signed_out"
    assert "Signed out (revoked)" in home_after.text


def test_wrong_password_shows_the_form(processes: tuple[Serve, HostApp]) -> None:
    lastseen, host = processes
    httpx.post(
        f"{lastseen.url}/v1/users",
        json={"email_address": [EMAIL], "password": PASSWORD},
        headers={"authorization": f"Bearer {SECRET}"},
        timeout=10,
    )

    with httpx.Client(base_url=host.url, timeout=10) as browser:
        rejected = browser.post("/sign-in", data={"identifier": EMAIL, "password": "wrong"})
        protected = browser.get("/protected")

    assert rejected.status_code == 422
    assert 'action="/sign-in"' in rejected.text
    assert "__session" not in browser.cookies
    assert protected.status_code == 401
