"""Session tokens minted by a real server: header, claims, keys, rejections and rotation."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import Engine, select

from helpers import (
    ENCRYPTION_KEY,
    SECRET_KEY,
    Browser,
    RunningServer,
    ServerFactory,
    make_user,
    signed_in,
)
from lastseen.domain import ids
from lastseen.domain.clock import FrozenClock
from lastseen.errors import ConfigurationError
from lastseen.http.app import create_app
from lastseen.service.tokens import KeyRing
from lastseen.settings import Settings
from lastseen.store.engine import make_engine
from lastseen.store.sql import SQLStore
from lastseen.store.tables import signing_keys
from lastseen.tokens.verify import (
    JWKS,
    CachedJWKS,
    TokenExpired,
    TokenInvalid,
    verify_session_token,
)

# JWK members that only private RSA keys and symmetric keys ("k") carry.
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
OTHER_ENCRYPTION_KEY = "another-encryption-key-" + "x" * 20


# Helpers


def assert_clerk_error(response: httpx.Response, status: int) -> None:
    body = response.json()
    error = body["errors"][0]
    assert response.status_code == status
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert isinstance(error["long_message"], str)


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["code"]
    return code


def admin(server: RunningServer) -> httpx.Client:
    http = httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {SECRET_KEY}"}, timeout=10
    )
    server.opened.append(http)
    return http


def frontend_token(
    browser: Browser, session_id: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return browser.http.post(
        f"/v1/client/sessions/{session_id or browser.session_id}/tokens", headers=headers
    )


def backend_token(
    server: RunningServer, session_id: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return admin(server).post(f"/v1/sessions/{session_id}/tokens", json=body)


def jwt_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "token"
    token: str = body["jwt"]
    return token


def unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def well_known_jwks(server: RunningServer) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/.well-known/jwks.json", timeout=10)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def backend_jwks(server: RunningServer) -> dict[str, Any]:
    response = admin(server).get("/v1/jwks")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def kids(document: dict[str, Any]) -> set[str]:
    return {key["kid"] for key in document["keys"]}


@pytest.fixture
def sql(server: RunningServer) -> Iterator[Engine]:
    """A second engine on the server's database, for reading tables directly."""
    engine = make_engine(server.settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["frontend", "backend"])
def minted(request: pytest.FixtureRequest, server: RunningServer) -> tuple[str, str, str]:
    """Mint a token through each route and return (user id, session id, token)."""
    user_id = make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    if request.param == "frontend":
        response = frontend_token(browser)
    else:
        response = backend_token(server, browser.session_id)
    return user_id, browser.session_id, jwt_of(response)


# Header and claims


def test_header(server: RunningServer, minted: tuple[str, str, str]) -> None:
    _user_id, _session_id, token = minted

    header = jwt.get_unverified_header(token)

    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    assert header["kid"].startswith("ins_")
    assert header["kid"] in kids(well_known_jwks(server))
    assert header["kid"] in kids(backend_jwks(server))


def test_claims(server: RunningServer, minted: tuple[str, str, str]) -> None:
    user_id, session_id, token = minted

    claims = unverified_claims(token)

    assert claims["sub"] == user_id
    assert claims["sid"] == session_id
    assert claims["iss"] == server.url
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["nbf"] <= claims["iat"]
    assert claims["exp"] == claims["iat"] + 60
    assert isinstance(claims["jti"], str)
    assert claims["jti"] != ""
    assert claims["v"] == 2
    assert claims["sts"] == "active"
    assert "aud" not in claims


def test_token_reused_until_half_life(serve: ServerFactory, clock: FrozenClock) -> None:
    server = serve(clock=clock)
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    first = jwt_of(frontend_token(browser))
    clock.advance(timedelta(seconds=29))
    again = jwt_of(frontend_token(browser))
    clock.advance(timedelta(seconds=1))
    renewed = jwt_of(frontend_token(browser))

    assert again == first
    assert unverified_claims(renewed)["jti"] != unverified_claims(first)["jti"]
    assert unverified_claims(renewed)["iat"] == unverified_claims(first)["iat"] + 30


def test_token_not_reused_across_parties(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    with_origin = jwt_of(frontend_token(browser, headers={"origin": server.url}))
    without_origin = jwt_of(frontend_token(browser))
    longer = jwt_of(backend_token(server, browser.session_id, {"expires_in_seconds": 120}))

    tokens = (with_origin, without_origin, longer)
    assert len({unverified_claims(token)["jti"] for token in tokens}) == 3


def test_verified_with_served_jwks(server: RunningServer, minted: tuple[str, str, str]) -> None:
    user_id, session_id, token = minted

    from_well_known = verify_session_token(token, JWKS(well_known_jwks(server)))
    from_backend = verify_session_token(token, backend_jwks(server))

    assert from_well_known.user_id == user_id
    assert from_well_known.session_id == session_id
    assert from_well_known.status == "active"
    assert from_backend.session_id == session_id


def test_verified_with_fetched_jwks(server: RunningServer, minted: tuple[str, str, str]) -> None:
    _user_id, session_id, token = minted
    well_known = CachedJWKS.from_url(f"{server.url}/.well-known/jwks.json")
    backend = CachedJWKS.from_url(
        f"{server.url}/v1/jwks", headers={"authorization": f"Bearer {SECRET_KEY}"}
    )

    assert verify_session_token(token, well_known).session_id == session_id
    assert verify_session_token(token, backend).session_id == session_id


def test_own_origin_sets_azp(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    token = jwt_of(frontend_token(browser, headers={"origin": server.url}))
    verified = verify_session_token(token, well_known_jwks(server), authorized_parties=[server.url])

    assert unverified_claims(token)["azp"] == server.url
    assert verified.authorized_party == server.url


def test_no_origin_no_azp(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    token = jwt_of(frontend_token(browser))

    assert "azp" not in unverified_claims(token)
    with pytest.raises(TokenInvalid, match="azp"):
        verify_session_token(token, well_known_jwks(server), authorized_parties=[server.url])


def test_backend_token_has_no_azp(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    token = jwt_of(backend_token(server, browser.session_id))

    assert "azp" not in unverified_claims(token)


def test_other_origin_gets_no_token(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    response = frontend_token(browser, headers={"origin": "https://evil.example"})

    assert_clerk_error(response, 400)
    assert error_code(response) == "origin_invalid"


@pytest.mark.parametrize(
    ("body", "lifetime"),
    [
        ({"expires_in_seconds": 30}, 30),
        ({"expires_in_seconds": 3600}, 3600),
        ({"expires_in_seconds": 315_360_000}, 315_360_000),
        ({"expires_in_seconds": None}, 60),
        ({}, 60),
    ],
    ids=["min", "hour", "max", "null", "absent"],
)
def test_backend_token_lifetime(server: RunningServer, body: dict[str, Any], lifetime: int) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    claims = unverified_claims(jwt_of(backend_token(server, browser.session_id, body)))

    assert claims["exp"] == claims["iat"] + lifetime


def test_token_lifetime_setting(serve: ServerFactory) -> None:
    server = serve(token_lifetime=timedelta(minutes=5))
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    claims = unverified_claims(jwt_of(frontend_token(browser)))

    assert claims["exp"] == claims["iat"] + 300


def test_issuer_setting(serve: ServerFactory) -> None:
    server = serve(issuer="https://sessions.example.com")
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    claims = unverified_claims(jwt_of(frontend_token(browser)))

    assert claims["iss"] == "https://sessions.example.com"


# Rejections


def _end(server: RunningServer, browser: Browser, _clock: FrozenClock) -> None:
    response = browser.http.post(f"/v1/client/sessions/{browser.session_id}/end")
    assert response.status_code == 200, response.text


def _remove(server: RunningServer, browser: Browser, _clock: FrozenClock) -> None:
    response = browser.http.post(f"/v1/client/sessions/{browser.session_id}/remove")
    assert response.status_code == 200, response.text


def _revoke(server: RunningServer, browser: Browser, _clock: FrozenClock) -> None:
    response = admin(server).post(f"/v1/sessions/{browser.session_id}/revoke")
    assert response.status_code == 200, response.text


def _expire(_server: RunningServer, _browser: Browser, clock: FrozenClock) -> None:
    clock.advance(timedelta(days=7, seconds=1))


@pytest.mark.parametrize("route", ["frontend", "backend"])
@pytest.mark.parametrize(
    "stop",
    [_end, _remove, _revoke, _expire],
    ids=["ended", "removed", "revoked", "expired"],
)
def test_inactive_session_gets_no_token(
    serve: ServerFactory,
    clock: FrozenClock,
    stop: Callable[[RunningServer, Browser, FrozenClock], None],
    route: str,
) -> None:
    server = serve(clock=clock)
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    stop(server, browser, clock)
    if route == "frontend":
        response = frontend_token(browser)
    else:
        response = backend_token(server, browser.session_id)

    assert_clerk_error(response, 401)
    assert error_code(response) == "authentication_invalid"


def test_abandoned_session_not_found(serve: ServerFactory, clock: FrozenClock) -> None:
    server = serve(clock=clock)
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    clock.advance(timedelta(days=30))
    response = frontend_token(browser)

    assert_clerk_error(response, 404)
    assert error_code(response) == "resource_not_found"


def test_other_clients_session_not_found(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    make_user(server, "bob@example.com")
    ada = signed_in(server, "ada@example.com")
    bob = signed_in(server, "bob@example.com")

    response = frontend_token(ada, bob.session_id)

    assert_clerk_error(response, 404)
    assert error_code(response) == "resource_not_found"


def test_bad_body_checked_before_session(server: RunningServer) -> None:
    # The caller is authenticated first, then the body is read, then the session is found.
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    response = browser.http.post(
        f"/v1/client/sessions/{ids.new_id(ids.SESSION)}/tokens",
        content=b"\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert_clerk_error(response, 400)
    assert error_code(response) == "request_body_invalid"


def test_token_needs_client(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")

    response = httpx.post(f"{server.url}/v1/client/sessions/{browser.session_id}/tokens")

    assert_clerk_error(response, 401)
    assert error_code(response) == "signed_out"


def test_revoked_token_valid_until_exp(server: RunningServer) -> None:
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    token = jwt_of(frontend_token(browser))

    revoked = admin(server).post(f"/v1/sessions/{browser.session_id}/revoke")
    jwks = JWKS(well_known_jwks(server))
    # Verification is networkless, so a revoked session's token is accepted until it expires.
    claims = verify_session_token(token, jwks)

    assert revoked.status_code == 200
    assert claims.session_id == browser.session_id
    assert claims.status == "active"
    with pytest.raises(TokenExpired):
        verify_session_token(token, jwks, now=claims.expires_at, leeway=timedelta(0))
    with pytest.raises(TokenExpired):
        verify_session_token(token, jwks, now=claims.expires_at + timedelta(seconds=5))


# Keys


def test_private_keys_encrypted(server: RunningServer, sql: Engine) -> None:
    with sql.connect() as connection:
        rows = connection.execute(select(signing_keys)).all()
    pem = rows[0].private_key.encode()
    served = {key["kid"]: key for key in well_known_jwks(server)["keys"]}
    private_key = load_pem_private_key(pem, password=ENCRYPTION_KEY.encode())
    public_key = jwt.PyJWK(served[rows[0].kid]).key

    assert len(rows) == 1
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert b"-----BEGIN PRIVATE KEY-----" not in pem
    assert b"-----BEGIN RSA PRIVATE KEY-----" not in pem
    assert private_key.public_key().public_numbers() == public_key.public_numbers()
    with pytest.raises(TypeError, match="encrypted"):
        load_pem_private_key(pem, password=None)
    with pytest.raises(ValueError, match="password"):
        load_pem_private_key(pem, password=OTHER_ENCRYPTION_KEY.encode())


@pytest.mark.parametrize("route", ["well-known", "backend"])
def test_jwks_public_only(server: RunningServer, route: str) -> None:
    document = well_known_jwks(server) if route == "well-known" else backend_jwks(server)
    keys = document["keys"]

    assert len(keys) == 1
    assert [sorted(set(key) & PRIVATE_MEMBERS) for key in keys] == [[]]
    assert [key["kty"] for key in keys] == ["RSA"]
    assert [key["alg"] for key in keys] == ["RS256"]
    assert [key["use"] for key in keys] == ["sig"]
    assert all(key["n"] and key["e"] for key in keys)


def test_jwks_same_on_both_routes(server: RunningServer) -> None:
    assert well_known_jwks(server) == backend_jwks(server)


def test_jwks_needs_no_key_but_backend_does(server: RunningServer) -> None:
    well_known = httpx.get(f"{server.url}/.well-known/jwks.json")
    backend = httpx.get(f"{server.url}/v1/jwks")

    assert well_known.status_code == 200
    assert_clerk_error(backend, 401)


def test_servers_share_signing_key(serve: ServerFactory) -> None:
    first = serve()
    second = serve()

    assert kids(well_known_jwks(first)) == kids(well_known_jwks(second))


# Rotation


@pytest.fixture
def ring(serve: ServerFactory, clock: FrozenClock) -> Iterator[tuple[RunningServer, KeyRing]]:
    """A server on a frozen clock, and a key ring of another process on its database."""
    server = serve(clock=clock)
    engine = make_engine(server.settings.database_url)
    yield server, KeyRing(SQLStore(engine), ENCRYPTION_KEY.encode(), clock=clock)
    engine.dispose()


def test_rotation_switches_signing_key(
    ring: tuple[RunningServer, KeyRing], clock: FrozenClock
) -> None:
    server, other_process = ring
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    token_a = jwt_of(frontend_token(browser))

    new_key = other_process.rotate()
    clock.advance(timedelta(seconds=31))
    token_b = jwt_of(frontend_token(browser))
    document = well_known_jwks(server)
    kid_a = jwt.get_unverified_header(token_a)["kid"]
    kid_b = jwt.get_unverified_header(token_b)["kid"]

    assert kid_b != kid_a
    assert kid_b == new_key.kid
    assert kids(document) == {kid_a, kid_b}
    assert kids(backend_jwks(server)) == {kid_a, kid_b}
    assert verify_session_token(token_b, document, now=clock.now).session_id == browser.session_id


def test_old_token_verifies_after_rotation(
    ring: tuple[RunningServer, KeyRing], clock: FrozenClock
) -> None:
    server, other_process = ring
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    token_a = jwt_of(frontend_token(browser))
    expires = datetime.fromtimestamp(unverified_claims(token_a)["exp"], UTC)

    other_process.rotate()
    clock.advance(timedelta(seconds=31))
    jwt_of(frontend_token(browser))
    jwks = JWKS(well_known_jwks(server))

    assert verify_session_token(token_a, jwks, now=clock.now).session_id == browser.session_id
    with pytest.raises(TokenExpired):
        verify_session_token(token_a, jwks, now=expires, leeway=timedelta(0))


def test_old_key_signs_until_reload(
    ring: tuple[RunningServer, KeyRing], clock: FrozenClock
) -> None:
    server, other_process = ring
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    token_a = jwt_of(frontend_token(browser))

    other_process.rotate()
    clock.advance(timedelta(seconds=29))
    token_b = jwt_of(frontend_token(browser))
    document = well_known_jwks(server)

    assert jwt.get_unverified_header(token_b)["kid"] == jwt.get_unverified_header(token_a)["kid"]
    assert verify_session_token(token_b, document, now=clock.now).session_id == browser.session_id


def test_cached_jwks_follows_rotation(
    ring: tuple[RunningServer, KeyRing], clock: FrozenClock
) -> None:
    server, other_process = ring
    make_user(server, "ada@example.com")
    browser = signed_in(server, "ada@example.com")
    verifier = CachedJWKS.from_url(f"{server.url}/.well-known/jwks.json", clock=clock)
    token_a = jwt_of(frontend_token(browser))
    verify_session_token(token_a, verifier, now=clock.now)

    other_process.rotate()
    clock.advance(timedelta(seconds=31))
    token_b = jwt_of(frontend_token(browser))

    # The verifier has only the old key cached, so the new kid makes it fetch the key set again.
    assert verify_session_token(token_b, verifier, now=clock.now).session_id == browser.session_id
    assert verify_session_token(token_a, verifier, now=clock.now).session_id == browser.session_id


def test_wrong_encryption_key_in_ring(server: RunningServer, sql: Engine) -> None:
    ring = KeyRing(SQLStore(sql), OTHER_ENCRYPTION_KEY.encode())

    with pytest.raises(ConfigurationError, match="LASTSEEN_ENCRYPTION_KEY") as raised:
        ring.jwks()

    kid = next(iter(kids(well_known_jwks(server))))
    assert kid in str(raised.value)


def test_wrong_encryption_key_at_startup(server: RunningServer, sql: Engine) -> None:
    settings = Settings(
        database_url=server.settings.database_url,
        secret_key=SECRET_KEY,
        encryption_key=OTHER_ENCRYPTION_KEY,
    )

    with pytest.raises(ConfigurationError, match="cannot decrypt signing key"):
        create_app(settings, engine=sql)
