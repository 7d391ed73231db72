"""Clerk's Python backend SDK (clerk-backend-api) against a running lastseen."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from clerk_backend_api import Clerk, models
from clerk_backend_api.security import (
    TokenVerificationError,
    TokenVerificationErrorReason,
    VerifyTokenOptions,
    verify_token,
)
from clerk_backend_api.utils import BackoffStrategy, RetryConfig
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from helpers import ENCRYPTION_KEY, SECRET_KEY, RunningServer, ServerFactory, make_user
from lastseen.domain.clock import FrozenClock
from lastseen.service.tokens import KeyRing
from lastseen.store.engine import make_engine
from lastseen.store.sql import SQLStore

Status = models.QueryParamStatus

# users.list reads the request model's deprecated ``last_active_at_since`` field itself while
# building the query, so every call warns although the caller never sets that field.
SDK_READS_DEPRECATED_FIELD = pytest.mark.filterwarnings(
    r"ignore:warning. \*\* DEPRECATED \*\* - This will be removed:DeprecationWarning"
)

# By default the SDK retries 5xx responses for up to an hour, so a server bug would hang the
# test instead of failing it.
NO_RETRIES = RetryConfig("none", BackoffStrategy(1, 1, 1.0, 1), retry_connection_errors=False)


def sdk(server: RunningServer, *, key: str = SECRET_KEY, http: httpx.Client | None = None) -> Clerk:
    return Clerk(
        bearer_auth=key,
        server_url=f"{server.url}/v1",
        retry_config=NO_RETRIES,
        timeout_ms=10_000,
        client=http,
    )


@pytest.fixture
def clerk(server: RunningServer) -> Iterator[Clerk]:
    with sdk(server) as client:
        yield client


@pytest.fixture
def user_id(server: RunningServer) -> str:
    return make_user(server, "ada@example.com")


def start(clerk: Clerk, user_id: str) -> models.Session:
    return clerk.sessions.create(request={"user_id": user_id})


def ids(sessions: list[models.Session]) -> list[str]:
    return [session.id for session in sessions]


def error_of(excinfo: pytest.ExceptionInfo[models.ClerkErrors]) -> tuple[int, str]:
    """Return the HTTP status and the first error code of a ClerkErrors raised by the SDK."""
    return excinfo.value.raw_response.status_code, excinfo.value.data.errors[0].code


def public_pem(jwk: dict[str, Any]) -> str:
    key = RSAAlgorithm.from_jwk(jwk)
    assert isinstance(key, RSAPublicKey)
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


# Sessions


def test_create(clerk: Clerk, user_id: str) -> None:
    session = start(clerk, user_id)

    assert session.user_id == user_id
    assert session.status == "active"
    assert session.object == "session"


def test_get(clerk: Clerk, user_id: str) -> None:
    created = start(clerk, user_id)

    fetched = clerk.sessions.get(session_id=created.id)

    assert fetched.id == created.id
    assert fetched.client_id == created.client_id
    assert fetched.expire_at == created.expire_at


def test_list_by_user(clerk: Clerk, server: RunningServer, user_id: str) -> None:
    first = start(clerk, user_id)
    second = start(clerk, user_id)
    start(clerk, make_user(server, "grace@example.com"))

    listed = clerk.sessions.list(user_id=user_id)

    assert sorted(ids(listed)) == sorted([first.id, second.id])


def test_list_by_client(clerk: Clerk, user_id: str) -> None:
    session = start(clerk, user_id)
    start(clerk, user_id)

    listed = clerk.sessions.list(client_id=session.client_id)

    assert ids(listed) == [session.id]


def test_list_limit_offset(clerk: Clerk, user_id: str) -> None:
    for _ in range(3):
        start(clerk, user_id)
    everything = ids(clerk.sessions.list(user_id=user_id))

    page = clerk.sessions.list(user_id=user_id, limit=2, offset=1)

    assert ids(page) == everything[1:3]


def test_list_active(clerk: Clerk, user_id: str) -> None:
    active = start(clerk, user_id)
    clerk.sessions.revoke(session_id=start(clerk, user_id).id)

    listed = clerk.sessions.list(user_id=user_id, status=Status.ACTIVE)

    assert ids(listed) == [active.id]


def test_list_revoked(clerk: Clerk, user_id: str) -> None:
    start(clerk, user_id)
    revoked = clerk.sessions.revoke(session_id=start(clerk, user_id).id)

    listed = clerk.sessions.list(user_id=user_id, status=Status.REVOKED)

    assert ids(listed) == [revoked.id]


@pytest.fixture
def frozen(serve: ServerFactory, clock: FrozenClock) -> RunningServer:
    return serve(clock=clock)


@pytest.fixture
def frozen_clerk(frozen: RunningServer) -> Iterator[Clerk]:
    with sdk(frozen) as client:
        yield client


def test_expired_session_lists_as_expired(
    frozen: RunningServer, frozen_clerk: Clerk, clock: FrozenClock
) -> None:
    session = start(frozen_clerk, make_user(frozen, "ada@example.com"))
    clock.advance(timedelta(days=8))

    listed = frozen_clerk.sessions.list(user_id=session.user_id, status=Status.EXPIRED)

    assert ids(listed) == [session.id]
    assert listed[0].status == "expired"


def test_expired_session_not_active(
    frozen: RunningServer, frozen_clerk: Clerk, clock: FrozenClock
) -> None:
    session = start(frozen_clerk, make_user(frozen, "ada@example.com"))
    clock.advance(timedelta(days=8))

    listed = frozen_clerk.sessions.list(user_id=session.user_id, status=Status.ACTIVE)

    assert listed == []


def test_abandoned_session_lists_as_abandoned(
    frozen: RunningServer, frozen_clerk: Clerk, clock: FrozenClock
) -> None:
    session = start(frozen_clerk, make_user(frozen, "ada@example.com"))
    clock.advance(timedelta(days=31))

    listed = frozen_clerk.sessions.list(user_id=session.user_id, status=Status.ABANDONED)

    assert ids(listed) == [session.id]


def test_get_expired(frozen: RunningServer, frozen_clerk: Clerk, clock: FrozenClock) -> None:
    session = start(frozen_clerk, make_user(frozen, "ada@example.com"))
    clock.advance(timedelta(days=8))

    assert frozen_clerk.sessions.get(session_id=session.id).status == "expired"


def test_revoke(clerk: Clerk, user_id: str) -> None:
    session = start(clerk, user_id)

    revoked = clerk.sessions.revoke(session_id=session.id)

    assert revoked.status == "revoked"
    assert clerk.sessions.get(session_id=session.id).status == "revoked"


# Tokens and keys


def test_create_token(clerk: Clerk, user_id: str) -> None:
    session = start(clerk, user_id)

    token = clerk.sessions.create_token(session_id=session.id)

    assert token.object == "token"
    assert token.jwt is not None
    claims = jwt.decode(token.jwt, options={"verify_signature": False})
    assert claims["sid"] == session.id
    assert claims["sub"] == user_id


def test_create_token_default_lifetime(clerk: Clerk, user_id: str) -> None:
    token = clerk.sessions.create_token(session_id=start(clerk, user_id).id).jwt
    assert token is not None

    claims = jwt.decode(token, options={"verify_signature": False})

    assert claims["exp"] - claims["iat"] == 60


def test_create_token_expires_in(clerk: Clerk, user_id: str) -> None:
    session = start(clerk, user_id)

    token = clerk.sessions.create_token(session_id=session.id, expires_in_seconds=600).jwt
    assert token is not None

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600


def test_token_kid_in_jwks(clerk: Clerk, user_id: str) -> None:
    token = clerk.sessions.create_token(session_id=start(clerk, user_id).id).jwt
    assert token is not None

    jwks = clerk.jwks.get_jwks()

    assert kid_of(token) in [key.kid for key in jwks.keys or []]


def test_jwks(clerk: Clerk) -> None:
    keys = clerk.jwks.get_jwks().keys or []

    assert len(keys) == 1
    assert keys[0].kty == "RSA"
    assert keys[0].alg == "RS256"
    assert keys[0].use == "sig"
    assert (keys[0].kid or "").startswith("ins_")


def test_revoked_session_gets_no_token(clerk: Clerk, user_id: str) -> None:
    session = start(clerk, user_id)
    clerk.sessions.revoke(session_id=session.id)

    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.sessions.create_token(session_id=session.id)

    assert error_of(excinfo) == (401, "authentication_invalid")


# Verifying tokens with the SDK


def token_for(clerk: Clerk, user_id: str) -> tuple[models.Session, str]:
    session = start(clerk, user_id)
    token = clerk.sessions.create_token(session_id=session.id).jwt
    assert token is not None
    return session, token


def test_verify_with_pem(clerk: Clerk, server: RunningServer, user_id: str) -> None:
    session, token = token_for(clerk, user_id)
    jwk = httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"][0]

    claims = verify_token(token, VerifyTokenOptions(jwt_key=public_pem(jwk)))

    assert claims["sid"] == session.id


def test_verify_with_api_url(clerk: Clerk, server: RunningServer, user_id: str) -> None:
    session, token = token_for(clerk, user_id)

    claims = verify_token(token, VerifyTokenOptions(secret_key=SECRET_KEY, api_url=server.url))

    assert claims["sid"] == session.id


def test_verify_authorized_party_missing(clerk: Clerk, server: RunningServer, user_id: str) -> None:
    # A backend-minted token has no azp, so a verifier that names its parties rejects it.
    _session, token = token_for(clerk, user_id)
    options = VerifyTokenOptions(
        secret_key=SECRET_KEY, api_url=server.url, authorized_parties=["https://app.example.com"]
    )

    with pytest.raises(TokenVerificationError) as excinfo:
        verify_token(token, options)

    assert excinfo.value.reason is TokenVerificationErrorReason.TOKEN_INVALID_AUTHORIZED_PARTIES


def test_verify_bad_secret_key(clerk: Clerk, server: RunningServer, user_id: str) -> None:
    _session, token = token_for(clerk, user_id)
    options = VerifyTokenOptions(secret_key="sk_test_wrong", api_url=server.url)

    with pytest.raises(TokenVerificationError) as excinfo:
        verify_token(token, options)

    assert excinfo.value.reason is TokenVerificationErrorReason.JWK_FAILED_TO_LOAD


def test_verify_expired(serve: ServerFactory) -> None:
    # A server whose clock is two minutes behind mints a token that expired a minute ago.
    server = serve(clock=FrozenClock(datetime.now(UTC) - timedelta(minutes=2)))
    with sdk(server) as clerk:
        _session, token = token_for(clerk, make_user(server, "ada@example.com"))
    options = VerifyTokenOptions(secret_key=SECRET_KEY, api_url=server.url)

    with pytest.raises(TokenVerificationError) as excinfo:
        verify_token(token, options)

    assert excinfo.value.reason is TokenVerificationErrorReason.TOKEN_EXPIRED


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
    with sdk(server) as clerk:
        session = start(clerk, make_user(server, "ada@example.com"))
        before = clerk.sessions.create_token(session_id=session.id, expires_in_seconds=600).jwt
        new_kid = rotate_elsewhere(server, clock)
        clock.advance(timedelta(seconds=31))
        after = clerk.sessions.create_token(session_id=session.id, expires_in_seconds=600).jwt
    assert before is not None
    assert after is not None
    return Rotation(server, session.id, before, after, new_kid)


def test_rotation_new_kid(rotation: Rotation) -> None:
    assert kid_of(rotation.after) == rotation.new_kid


def test_rotation_jwks_has_both(rotation: Rotation) -> None:
    with sdk(rotation.server) as clerk:
        kids = {key.kid for key in clerk.jwks.get_jwks().keys or []}

    assert kids == {kid_of(rotation.before), rotation.new_kid}


def test_rotation_old_token_verifies(rotation: Rotation) -> None:
    options = VerifyTokenOptions(secret_key=SECRET_KEY, api_url=rotation.server.url)

    claims = verify_token(rotation.before, options)

    assert claims["sid"] == rotation.session_id


def test_rotation_new_token_verifies(rotation: Rotation) -> None:
    options = VerifyTokenOptions(secret_key=SECRET_KEY, api_url=rotation.server.url)

    claims = verify_token(rotation.after, options)

    assert claims["sid"] == rotation.session_id


# Users


def test_create_user(clerk: Clerk) -> None:
    user = clerk.users.create(
        email_address=["ada@example.com"],
        password="correct horse battery",
        first_name="Ada",
        external_id="ext-1",
    )

    assert user.id.startswith("user_")
    assert user.first_name == "Ada"
    assert user.external_id == "ext-1"
    assert [email.email_address for email in user.email_addresses or []] == ["ada@example.com"]


def test_get_user(clerk: Clerk, user_id: str) -> None:
    user = clerk.users.get(user_id=user_id)

    assert user.id == user_id
    assert user.primary_email_address_id is not None


@SDK_READS_DEPRECATED_FIELD
def test_list_users(clerk: Clerk, server: RunningServer, user_id: str) -> None:
    make_user(server, "grace@example.com")

    listed = clerk.users.list(request={"email_address": ["ada@example.com"]})

    assert [user.id for user in listed] == [user_id]


@SDK_READS_DEPRECATED_FIELD
def test_list_users_unfiltered(clerk: Clerk, server: RunningServer) -> None:
    first = make_user(server, "ada@example.com")
    second = make_user(server, "grace@example.com")

    listed = clerk.users.list()

    assert {user.id for user in listed} == {first, second}


def test_delete_user(clerk: Clerk, user_id: str) -> None:
    deleted = clerk.users.delete(user_id=user_id)

    assert deleted.deleted is True
    assert deleted.id == user_id


def test_delete_user_ends_sessions(clerk: Clerk, user_id: str) -> None:
    session = start(clerk, user_id)

    clerk.users.delete(user_id=user_id)

    # lastseen revokes the sessions, then deletes them with the user.
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.sessions.create_token(session_id=session.id)
    assert error_of(excinfo)[0] == 404


def test_get_deleted_user(clerk: Clerk, user_id: str) -> None:
    clerk.users.delete(user_id=user_id)

    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.users.get(user_id=user_id)

    assert error_of(excinfo) == (404, "resource_not_found")


# Errors parse as the SDK's ClerkErrors


def test_unknown_session(clerk: Clerk) -> None:
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.sessions.get(session_id="sess_unknown")

    assert error_of(excinfo) == (404, "resource_not_found")


def test_revoke_unknown_session(clerk: Clerk) -> None:
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.sessions.revoke(session_id="sess_unknown")

    assert error_of(excinfo) == (404, "resource_not_found")


def test_token_unknown_session(clerk: Clerk) -> None:
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.sessions.create_token(session_id="sess_unknown")

    assert error_of(excinfo) == (404, "resource_not_found")


def test_create_for_unknown_user(clerk: Clerk) -> None:
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.sessions.create(request={"user_id": "user_unknown"})

    assert error_of(excinfo) == (404, "resource_not_found")


def test_bad_secret_key(server: RunningServer) -> None:
    with sdk(server, key="sk_test_wrong") as clerk, pytest.raises(models.ClerkErrors) as excinfo:
        clerk.sessions.list(user_id="user_any")

    assert error_of(excinfo) == (401, "clerk_key_invalid")


@pytest.mark.parametrize("limit", [0, 501])
def test_bad_limit(clerk: Clerk, limit: int) -> None:
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.sessions.list(user_id="user_any", limit=limit)

    assert error_of(excinfo) == (422, "form_param_value_invalid")


def test_bad_status(server: RunningServer) -> None:
    # The SDK checks ``status`` against its enum before sending, so a request hook sets a
    # value the enum lacks, and the SDK still parses the response.
    def pending(request: httpx.Request) -> None:
        request.url = request.url.copy_set_param("status", "pending")

    with (
        httpx.Client(event_hooks={"request": [pending]}) as http,
        sdk(server, http=http) as clerk,
        pytest.raises(models.ClerkErrors) as excinfo,
    ):
        clerk.sessions.list(user_id="user_any", status=Status.ACTIVE)

    assert error_of(excinfo) == (422, "form_param_value_invalid")


def test_error_meta_names_param(clerk: Clerk) -> None:
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.sessions.list(user_id="user_any", limit=0)

    assert (excinfo.value.data.errors[0].meta or {}).get("param_name") == "limit"
