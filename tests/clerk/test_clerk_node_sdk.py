"""Clerk's Node backend SDK (@clerk/backend) against a running lastseen.

Each call runs ``node/clerk.mjs``, which prints what the SDK returned or raised as JSON.
"""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from helpers import ENCRYPTION_KEY, SECRET_KEY, RunningServer, ServerFactory, make_user
from lastseen.domain.clock import FrozenClock
from lastseen.service.tokens import KeyRing
from lastseen.store.engine import make_engine
from lastseen.store.sql import SQLStore

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "@clerk" / "backend").is_dir(),
        reason="@clerk/backend is not installed: npm ci --prefix tests/clerk/node",
    ),
]


def node(op: str, server: RunningServer, **fields: Any) -> dict[str, Any]:
    """Run one op of clerk.mjs against ``server`` and return its JSON outcome."""
    command = {"op": op, "apiUrl": server.url, "secretKey": SECRET_KEY, **fields}
    completed = subprocess.run(
        [str(NODE), str(NODE_DIR / "clerk.mjs")],
        input=json.dumps(command),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CLERK_TELEMETRY_DISABLED": "1"},
    )
    assert completed.returncode in (0, 2), completed.stderr
    outcome: dict[str, Any] = json.loads(completed.stdout)
    return outcome


def result(outcome: dict[str, Any]) -> Any:
    assert outcome["ok"], outcome["error"]
    return outcome["result"]


def api_error(outcome: dict[str, Any]) -> tuple[int, str]:
    """Return the HTTP status and first error code of a ClerkAPIResponseError."""
    assert not outcome["ok"], outcome["result"]
    error = outcome["error"]
    return error["status"], error["errors"][0]["code"]


def token_error(outcome: dict[str, Any]) -> str:
    """Return the reason of a TokenVerificationError."""
    assert not outcome["ok"], outcome["result"]
    reason: str = outcome["error"]["reason"]
    return reason


def ids(listed: dict[str, Any]) -> list[str]:
    return [session["id"] for session in listed["data"]]


def start(server: RunningServer, user_id: str) -> str:
    response = httpx.post(
        f"{server.url}/v1/sessions",
        json={"user_id": user_id},
        headers={"authorization": f"Bearer {SECRET_KEY}"},
    )
    assert response.status_code == 200, response.text
    session_id: str = response.json()["id"]
    return session_id


def revoke(server: RunningServer, session_id: str) -> None:
    assert result(node("revokeSession", server, sessionId=session_id))["status"] == "revoked"


def mint(server: RunningServer, session_id: str, seconds: int | None = None) -> str:
    fields: dict[str, Any] = {"sessionId": session_id}
    if seconds is not None:
        fields["expiresInSeconds"] = seconds
    token: str = result(node("getToken", server, **fields))["jwt"]
    return token


def pem(public_key: RSAPublicKey) -> str:
    text = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return text.decode("ascii")


def server_pem(server: RunningServer) -> str:
    jwk = httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"][0]
    public_key = RSAAlgorithm.from_jwk(jwk)
    assert isinstance(public_key, RSAPublicKey)
    return pem(public_key)


@pytest.fixture
def user_id(server: RunningServer) -> str:
    return make_user(server, "ada@example.com")


# Sessions


def test_list_by_user(server: RunningServer, user_id: str) -> None:
    first = start(server, user_id)
    second = start(server, user_id)
    start(server, make_user(server, "grace@example.com"))

    listed = result(node("getSessionList", server, userId=user_id))

    assert sorted(ids(listed)) == sorted([first, second])


def test_list_total_count(server: RunningServer, user_id: str) -> None:
    for _ in range(3):
        start(server, user_id)

    listed = result(node("getSessionList", server, userId=user_id, limit=1))

    assert len(listed["data"]) == 1
    assert listed["totalCount"] == 3


def test_list_fields(server: RunningServer, user_id: str) -> None:
    session_id = start(server, user_id)

    session = result(node("getSessionList", server, userId=user_id))["data"][0]

    assert session["id"] == session_id
    assert session["userId"] == user_id
    assert session["status"] == "active"
    assert session["expireAt"] > session["createdAt"]


def test_list_active(server: RunningServer, user_id: str) -> None:
    active = start(server, user_id)
    revoke(server, start(server, user_id))

    listed = result(node("getSessionList", server, userId=user_id, status="active"))

    assert ids(listed) == [active]


def test_list_revoked(server: RunningServer, user_id: str) -> None:
    start(server, user_id)
    revoked = start(server, user_id)
    revoke(server, revoked)

    listed = result(node("getSessionList", server, userId=user_id, status="revoked"))

    assert ids(listed) == [revoked]


def test_list_expired(serve: ServerFactory, clock: FrozenClock) -> None:
    server = serve(clock=clock)
    user_id = make_user(server, "ada@example.com")
    session_id = start(server, user_id)
    clock.advance(timedelta(days=8))

    listed = result(node("getSessionList", server, userId=user_id, status="expired"))

    assert ids(listed) == [session_id]
    assert listed["data"][0]["status"] == "expired"


def test_get_session(server: RunningServer, user_id: str) -> None:
    session_id = start(server, user_id)

    session = result(node("getSession", server, sessionId=session_id))

    assert session["id"] == session_id
    assert session["userId"] == user_id


def test_revoke_session(server: RunningServer, user_id: str) -> None:
    session_id = start(server, user_id)

    revoked = result(node("revokeSession", server, sessionId=session_id))

    assert revoked["status"] == "revoked"


def test_explicit_api_version(server: RunningServer, user_id: str) -> None:
    session_id = start(server, user_id)

    session = result(node("getSession", server, sessionId=session_id, apiVersion="v1"))

    assert session["id"] == session_id


# Errors


def test_unknown_session(server: RunningServer) -> None:
    outcome = node("getSession", server, sessionId="sess_unknown")

    assert api_error(outcome) == (404, "resource_not_found")


def test_revoke_unknown_session(server: RunningServer) -> None:
    outcome = node("revokeSession", server, sessionId="sess_unknown")

    assert api_error(outcome) == (404, "resource_not_found")


def test_bad_secret_key(server: RunningServer) -> None:
    outcome = node("getSessionList", server, userId="user_any", secretKey="sk_test_wrong")

    assert api_error(outcome) == (401, "clerk_key_invalid")


def test_bad_status(server: RunningServer) -> None:
    outcome = node("getSessionList", server, userId="user_any", status="pending")

    assert api_error(outcome) == (422, "form_param_value_invalid")


def test_error_long_message(server: RunningServer) -> None:
    outcome = node("getSession", server, sessionId="sess_unknown")

    assert "sess_unknown" in outcome["error"]["errors"][0]["longMessage"]


# Tokens


def test_get_token(server: RunningServer, user_id: str) -> None:
    session_id = start(server, user_id)

    claims = jwt.decode(mint(server, session_id), options={"verify_signature": False})

    assert claims["sid"] == session_id


def test_get_token_expires_in(server: RunningServer, user_id: str) -> None:
    token = mint(server, start(server, user_id), seconds=600)

    claims = jwt.decode(token, options={"verify_signature": False})

    assert claims["exp"] - claims["iat"] == 600


def test_verify_with_pem(server: RunningServer, user_id: str) -> None:
    session_id = start(server, user_id)

    claims = result(
        node("verifyToken", server, token=mint(server, session_id), jwtKey=server_pem(server))
    )

    assert claims["sid"] == session_id


def test_verify_with_api_url(server: RunningServer, user_id: str) -> None:
    session_id = start(server, user_id)

    claims = result(node("verifyToken", server, token=mint(server, session_id)))

    assert claims["sid"] == session_id


def test_verify_wrong_pem(server: RunningServer, user_id: str) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    token = mint(server, start(server, user_id))

    outcome = node("verifyToken", server, token=token, jwtKey=pem(other))

    assert token_error(outcome) == "token-invalid-signature"


def test_verify_bad_secret_key(server: RunningServer, user_id: str) -> None:
    token = mint(server, start(server, user_id))

    outcome = node("verifyToken", server, token=token, secretKey="sk_test_wrong")

    # The SDK reads lastseen's ``clerk_key_invalid`` code from the JWKS error response.
    assert token_error(outcome) == "secret-key-invalid"


def test_verify_expired(serve: ServerFactory) -> None:
    # A server whose clock is two minutes behind mints a token that expired a minute ago.
    server = serve(clock=FrozenClock(datetime.now(UTC) - timedelta(minutes=2)))
    token = mint(server, start(server, make_user(server, "ada@example.com")))

    outcome = node("verifyToken", server, token=token)

    assert token_error(outcome) == "token-expired"


# Key rotation


def rotate_elsewhere(server: RunningServer, clock: FrozenClock) -> str:
    """Rotate the signing key as another process would, and return the new kid.

    The key ring has its own engine on the server's database, so the server signs with the new
    key only when it reloads its keys.
    """
    engine = make_engine(server.settings.database_url)
    try:
        return KeyRing(SQLStore(engine), ENCRYPTION_KEY.encode(), clock=clock).rotate().kid
    finally:
        engine.dispose()


@dataclass
class Rotation:
    server: RunningServer
    session_id: str
    before: str
    after: str
    new_kid: str


@pytest.fixture
def rotation(serve: ServerFactory) -> Rotation:
    """A token minted before a key rotation and one minted after the server reloaded its keys.

    The server's clock is a minute behind real time, so that moving it past the 30 s
    reload interval still leaves the tokens valid for the SDK, which reads the real clock.
    """
    clock = FrozenClock(datetime.now(UTC) - timedelta(minutes=1))
    server = serve(clock=clock)
    session_id = start(server, make_user(server, "ada@example.com"))
    before = mint(server, session_id, seconds=600)
    new_kid = rotate_elsewhere(server, clock)
    clock.advance(timedelta(seconds=31))
    after = mint(server, session_id, seconds=600)
    return Rotation(server, session_id, before, after, new_kid)


def test_rotation_new_kid(rotation: Rotation) -> None:
    assert jwt.get_unverified_header(rotation.after)["kid"] == rotation.new_kid


def test_rotation_old_token_verifies(rotation: Rotation) -> None:
    claims = result(node("verifyToken", rotation.server, token=rotation.before))

    assert claims["sid"] == rotation.session_id


def test_rotation_new_token_verifies(rotation: Rotation) -> None:
    claims = result(node("verifyToken", rotation.server, token=rotation.after))

    assert claims["sid"] == rotation.session_id
