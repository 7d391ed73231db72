"""``lastseen keys``: secret keys and signing keys, run as real processes."""

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from helpers import Serve
from lastseen.store.engine import make_engine
from lastseen.store.tables import secret_keys, signing_keys

OTHER_ENCRYPTION_KEY = "another-encryption-key-" + "x" * 20


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
def sql(env: dict[str, str]) -> Iterator[Engine]:
    """An engine on the commands' database, to read after a command has migrated it."""
    engine = make_engine(env["LASTSEEN_DATABASE_URL"])
    yield engine
    engine.dispose()


def create_secret(env: dict[str, str], label: str) -> str:
    result = run(env, "keys", "create-secret", "--label", label)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def secret_key_rows(sql: Engine) -> list[Any]:
    with sql.connect() as connection:
        return list(connection.execute(select(secret_keys).order_by(secret_keys.c.created_at)))


def count_signing_keys(sql: Engine) -> int:
    with sql.connect() as connection:
        count: int = connection.execute(select(func.count()).select_from(signing_keys)).scalar_one()
    return count


def key_id_for(sql: Engine, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()
    with sql.connect() as connection:
        key_id: str = connection.execute(
            select(secret_keys.c.id).where(secret_keys.c.key_hash == digest)
        ).scalar_one()
    return key_id


# Secret keys


def test_create_secret_prints_key(env: dict[str, str], sql: Engine) -> None:
    result = run(env, "keys", "create-secret", "--label", "x")
    lines = result.stdout.splitlines()
    key = lines[0]
    rows = secret_key_rows(sql)

    assert result.returncode == 0, result.stderr
    assert len(lines) == 1
    assert re.fullmatch(r"sk_live_[A-Za-z0-9_-]{43}", key)
    assert key not in result.stderr
    assert rows[0].id in result.stderr
    assert len(rows) == 1
    assert rows[0].key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert rows[0].label == "x"


def test_create_secret_key_in_no_file(env: dict[str, str], tmp_path: Path) -> None:
    key = create_secret(env, "x")
    secret = key.removeprefix("sk_live_").encode()

    # The database with its WAL and the encryption key file are all under tmp_path.
    holding = [
        path.name for path in tmp_path.rglob("*") if path.is_file() and secret in path.read_bytes()
    ]

    assert holding == []


def test_create_secret_keys_differ(env: dict[str, str]) -> None:
    first = create_secret(env, "first")
    second = create_secret(env, "second")

    assert first != second


def test_create_secret_without_label(env: dict[str, str], sql: Engine) -> None:
    result = run(env, "keys", "create-secret")
    rows = secret_key_rows(sql)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sk_live_")
    assert rows[0].label is None


def test_list_secrets_hides_keys(env: dict[str, str], sql: Engine) -> None:
    deploy = create_secret(env, "deploy")
    backup = create_secret(env, "nightly backup")

    result = run(env, "keys", "list-secrets")
    lines = result.stdout.splitlines()
    rows = secret_key_rows(sql)

    assert result.returncode == 0, result.stderr
    assert len(lines) == 3
    assert lines[0].startswith("ID")
    assert rows[0].id in lines[1]
    assert lines[1].endswith("deploy")
    assert rows[1].id in lines[2]
    assert lines[2].endswith("nightly backup")
    assert deploy not in result.stdout + result.stderr
    assert backup not in result.stdout + result.stderr
    assert rows[0].key_hash not in result.stdout


def test_list_secrets_empty(env: dict[str, str]) -> None:
    result = run(env, "keys", "list-secrets")
    lines = result.stdout.splitlines()

    assert result.returncode == 0, result.stderr
    assert len(lines) == 1
    assert lines[0].startswith("ID")


def test_revoke_secret_once(env: dict[str, str], sql: Engine) -> None:
    key = create_secret(env, "deploy")
    key_id = key_id_for(sql, key)

    first = run(env, "keys", "revoke-secret", key_id)
    second = run(env, "keys", "revoke-secret", key_id)
    listed = run(env, "keys", "list-secrets")
    row = secret_key_rows(sql)[0]
    revoked_on = datetime.fromtimestamp(row.revoked_at / 1000, UTC).strftime("%Y-%m-%d")

    assert first.returncode == 0, first.stderr
    assert key_id in first.stdout
    assert second.returncode == 1
    assert key_id in second.stderr
    assert "Traceback" not in second.stderr
    # Columns: id, created date and time, revoked date and time (or "-"), label.
    assert listed.stdout.splitlines()[1].split()[3] == revoked_on


def test_revoke_unknown_secret(env: dict[str, str]) -> None:
    result = run(env, "keys", "revoke-secret", "key_unknown")

    assert result.returncode == 1
    assert "key_unknown" in result.stderr


def test_revoke_leaves_other_secrets(env: dict[str, str], sql: Engine) -> None:
    revoked = create_secret(env, "old")
    still_valid = create_secret(env, "new")

    run(env, "keys", "revoke-secret", key_id_for(sql, revoked))
    rows = {row.label: row.revoked_at for row in secret_key_rows(sql)}

    assert rows["old"] is not None
    assert rows["new"] is None
    assert key_id_for(sql, still_valid).startswith("key_")


# Signing keys


def test_rotate_adds_signing_key(env: dict[str, str], sql: Engine) -> None:
    first = run(env, "keys", "rotate")
    after_first = count_signing_keys(sql)
    second = run(env, "keys", "rotate")
    after_second = count_signing_keys(sql)

    with sql.connect() as connection:
        current = connection.execute(
            select(signing_keys.c.kid).where(signing_keys.c.retired_at.is_(None))
        ).all()

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    # The first rotation of an empty database creates the first key, then its successor.
    assert after_first == 2
    assert after_second == 3
    assert len(current) == 1
    assert current[0].kid in second.stdout


def test_rotate_creates_key_file(env: dict[str, str], tmp_path: Path) -> None:
    result = run(env, "keys", "rotate")
    key_file = tmp_path / "lastseen.key"

    assert result.returncode == 0, result.stderr
    assert key_file.is_file()
    assert len(key_file.read_text().strip()) >= 32
    assert oct(key_file.stat().st_mode & 0o777) == oct(0o600)


def test_rotate_with_other_encryption_key(env: dict[str, str], sql: Engine) -> None:
    run(env, "keys", "rotate")
    before = count_signing_keys(sql)

    result = run({**env, "LASTSEEN_ENCRYPTION_KEY": OTHER_ENCRYPTION_KEY}, "keys", "rotate")

    assert result.returncode == 2
    assert "LASTSEEN_ENCRYPTION_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert count_signing_keys(sql) == before


@pytest.mark.parametrize("action", ["create-secret", "list-secrets", "revoke-secret", "rotate"])
def test_keys_help(env: dict[str, str], action: str) -> None:
    result = run(env, "keys", action, "--help")

    assert result.returncode == 0
    assert "usage: lastseen keys" in result.stdout


# With a server


@pytest.fixture
def serve_process() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for process in started:
        if process.process.poll() is None:
            process.stop()


def test_secret_key_used_by_server(
    env: dict[str, str], sql: Engine, serve_process: list[Serve]
) -> None:
    key = create_secret(env, "deploy")
    server = Serve(env)
    serve_process.append(server)
    server.wait_ready()
    headers = {"authorization": f"Bearer {key}"}

    before = httpx.get(f"{server.url}/v1/sessions", headers=headers, timeout=10)
    revoked = run(env, "keys", "revoke-secret", key_id_for(sql, key))
    after = httpx.get(f"{server.url}/v1/sessions", headers=headers, timeout=10)
    output = server.stop()

    assert before.status_code == 200
    assert revoked.returncode == 0, revoked.stderr
    assert after.status_code == 401
    assert after.json()["errors"][0]["code"] == "clerk_key_invalid"
    assert key not in output


def test_rotation_reaches_server(env: dict[str, str], serve_process: list[Serve]) -> None:
    server = Serve(env)
    serve_process.append(server)
    server.wait_ready()
    before = httpx.get(f"{server.url}/.well-known/jwks.json", timeout=10).json()

    result = run(env, "keys", "rotate")
    new_kids = re.findall(r"ins_[0-9A-Za-z]+", result.stdout)
    server.stop()
    restarted = Serve(env)
    serve_process.append(restarted)
    restarted.wait_ready()
    after = httpx.get(f"{restarted.url}/.well-known/jwks.json", timeout=10).json()

    assert result.returncode == 0, result.stderr
    assert len(before["keys"]) == 1
    assert len(new_kids) == 1
    assert {key["kid"] for key in after["keys"]} == {before["keys"][0]["kid"], *new_kids}
