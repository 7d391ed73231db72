"""The ``lastseen`` command, run as a real process."""

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers import Serve
from lastseen import cli
from lastseen.demo import DEMO_EMAIL, DEMO_PASSWORD, DEVICES
from lastseen.enrich.geoip import bundled_geolite2_path
from lastseen.settings import Settings


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lastseen", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LASTSEEN_")}
    environ["LASTSEEN_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    environ["LASTSEEN_ENCRYPTION_KEY_FILE"] = str(tmp_path / "lastseen.key")
    return environ


@pytest.fixture
def serve_process(env: dict[str, str]) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for process in started:
        if process.process.poll() is None:
            process.stop()


def test_migrate_then_users_create(env: dict[str, str]) -> None:
    migrated = run(env, "migrate")
    created = run(
        env, "users", "create", "--email", "ada@example.com", "--password", "correct horse battery"
    )

    assert migrated.returncode == 0, migrated.stderr
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("user_")


def test_users_create_rejects_bad_email(env: dict[str, str]) -> None:
    result = run(env, "users", "create", "--email", "nope", "--password", "correct horse battery")

    assert result.returncode == 1
    assert "email_address" in result.stderr


def test_invalid_setting_exits_2(env: dict[str, str]) -> None:
    result = run({**env, "LASTSEEN_MAX_LIFETIME": "3m"}, "migrate")

    assert result.returncode == 2
    assert "LASTSEEN_MAX_LIFETIME" in result.stderr


def test_sessions_list_unknown_user(env: dict[str, str]) -> None:
    result = run(env, "sessions", "list", "--user", "nobody@example.com")

    assert result.returncode == 1
    assert "nobody@example.com" in result.stderr


def test_sweep_reports_count(env: dict[str, str]) -> None:
    result = run(env, "sweep")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0 sessions")


def test_help_on_every_command(env: dict[str, str]) -> None:
    for command in (["serve"], ["migrate"], ["users", "create"], ["sessions", "list"], ["sweep"]):
        result = run(env, *command, "--help")
        assert result.returncode == 0, command
        assert "usage: lastseen" in result.stdout, command


def test_serve_demo_lists_devices(env: dict[str, str], serve_process: list[Serve]) -> None:
    if bundled_geolite2_path() is None:
        pytest.skip("the demo's cities need the lastseen[geoip] extra (maxminddb-geolite2)")
    server = Serve(env, "--demo")
    serve_process.append(server)
    server.wait_ready()

    with httpx.Client(base_url=server.url) as http:
        signed = http.post(
            "/v1/client/sign_ins", data={"identifier": DEMO_EMAIL, "password": DEMO_PASSWORD}
        )
        sessions = http.get("/v1/me/sessions/active").json()
    output = server.stop()
    activities = [s["latest_activity"] for s in sessions]
    cities = {a.get("city") for a in activities} - {None}

    assert signed.status_code == 200
    assert len(sessions) == len(DEVICES) + 1
    assert len(cities) >= 8
    assert all(a.get("browser_name") for a in activities)
    assert {"iPhone", "iPad", "Windows", "Macintosh"} <= {a.get("device_type") for a in activities}
    assert DEMO_PASSWORD in output
    assert "GeoIP on" in output
    assert f"listening on http://127.0.0.1:{server.port}" in output


def test_sessions_list_after_demo(env: dict[str, str], serve_process: list[Serve]) -> None:
    server = Serve(env, "--demo")
    serve_process.append(server)
    server.wait_ready()
    server.stop()

    result = run(env, "sessions", "list", "--user", DEMO_EMAIL)
    lines = result.stdout.strip().splitlines()

    assert result.returncode == 0, result.stderr
    assert lines[0].startswith("SESSION")
    assert len(lines) == len(DEVICES) + 1


def test_serve_missing_geoip_file_fails(
    env: dict[str, str], serve_process: list[Serve], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.mmdb"
    server = Serve({**env, "LASTSEEN_GEOIP_DB": str(missing)})
    serve_process.append(server)

    output = server.output()

    assert server.process.returncode == 2
    assert f"invalid LASTSEEN_GEOIP_DB: GeoIP database not found: {missing}" in output
    assert "Traceback" not in output


def test_no_geoip_database_logs_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cli, "bundled_geolite2_path", lambda: None)

    with caplog.at_level(logging.WARNING, logger="lastseen"):
        geoip = cli.load_geoip(Settings())

    assert geoip is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["GeoIP off"]


def test_config_masks_secrets(env: dict[str, str]) -> None:
    result = run(
        {
            **env,
            "LASTSEEN_SECRET_KEY": "sk_test_do_not_print",
            "LASTSEEN_DATABASE_URL": "postgresql://ada:db-password@127.0.0.1/lastseen",
            "LASTSEEN_MAX_LIFETIME": "2d",
        },
        "config",
    )
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines())

    assert result.returncode == 0, result.stderr
    assert "sk_test_do_not_print" not in result.stdout
    assert "db-password" not in result.stdout
    assert lines["LASTSEEN_SECRET_KEY"] == "(set, hidden)"
    assert lines["LASTSEEN_MAX_LIFETIME"] == "172800s"
