"""Session token verification: signatures, claims, lifetimes and cached key sets."""

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.api_jws import PyJWS
from jwt.warnings import InsecureKeyLengthWarning

from lastseen.domain.clock import FrozenClock
from lastseen.errors import LastseenError
from lastseen.tokens.verify import (
    JWKS,
    CachedJWKS,
    SessionClaims,
    TokenError,
    TokenExpired,
    TokenInvalid,
    TokenNotYetValid,
    UnknownSigningKey,
    verify_session_token,
)

KID = "ins_current"
NEXT_KID = "ins_next"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ISSUED = int(NOW.timestamp()) - 10
LEEWAY = timedelta(seconds=5)
ORIGIN = "https://app.example.com"


# Keys and tokens


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def next_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "use": "sig", "alg": "RS256", "kid": kid}


def public_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="session")
def document(signing_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    return {"keys": [public_jwk(signing_key, KID)]}


@pytest.fixture(scope="session")
def jwks(document: dict[str, Any]) -> JWKS:
    return JWKS(document)


def session_claims(**overrides: Any) -> dict[str, Any]:
    """Return claims as the service mints them. An override of None removes the claim."""
    claims = {
        "sub": "user_2abc",
        "sid": "sess_2xyz",
        "iss": "https://sessions.example.com",
        "iat": ISSUED,
        "nbf": ISSUED,
        "exp": ISSUED + 60,
        "azp": ORIGIN,
        "jti": "a1b2c3d4e5f6",
        "v": 2,
        "sts": "active",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def mint(private_key: rsa.RSAPrivateKey, claims: Mapping[str, Any], kid: str | None = KID) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(dict(claims), private_key, algorithm="RS256", headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value).encode())


def decode_segment(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


# Verification


def test_valid_token_returns_its_claims(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    claims = verify_session_token(mint(signing_key, session_claims()), jwks, now=NOW)

    assert claims == SessionClaims(
        user_id="user_2abc",
        session_id="sess_2xyz",
        status="active",
        issuer="https://sessions.example.com",
        authorized_party=ORIGIN,
        issued_at=datetime.fromtimestamp(ISSUED, UTC),
        expires_at=datetime.fromtimestamp(ISSUED + 60, UTC),
        token_id="a1b2c3d4e5f6",
        claims=session_claims(),
    )
    assert claims.issued_at.tzinfo is UTC


def test_claims_mapping_is_read_only(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    claims = verify_session_token(mint(signing_key, session_claims()), jwks, now=NOW)

    with pytest.raises(TypeError):
        claims.claims["sub"] = "user_other"  # type: ignore[index]


def test_verify_accepts_jwks_document(
    signing_key: rsa.RSAPrivateKey, document: dict[str, Any]
) -> None:
    claims = verify_session_token(mint(signing_key, session_claims()), document, now=NOW)

    assert claims.session_id == "sess_2xyz"


def test_verify_defaults_to_real_clock(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    issued = int(datetime.now(UTC).timestamp())
    token = mint(signing_key, session_claims(iat=issued, nbf=issued, exp=issued + 60))

    assert verify_session_token(token, jwks).user_id == "user_2abc"


EXPIRES = datetime.fromtimestamp(ISSUED + 60, UTC)
NOT_BEFORE = datetime.fromtimestamp(ISSUED, UTC)

# (now, expected error or None when accepted), with the default 5 s leeway
LIFETIMES = [
    pytest.param(EXPIRES - timedelta(seconds=1), None, id="before-exp"),
    pytest.param(EXPIRES + timedelta(seconds=4), None, id="past-exp-inside-leeway"),
    pytest.param(EXPIRES + LEEWAY, TokenExpired, id="past-exp-at-leeway"),
    pytest.param(EXPIRES + timedelta(minutes=10), TokenExpired, id="long-expired"),
    pytest.param(NOT_BEFORE - timedelta(seconds=4), None, id="before-nbf-inside-leeway"),
    pytest.param(
        NOT_BEFORE - timedelta(seconds=6), TokenNotYetValid, id="before-nbf-beyond-leeway"
    ),
]


@pytest.mark.parametrize(("now", "error"), LIFETIMES)
def test_lifetime_checked_against_given_now(
    signing_key: rsa.RSAPrivateKey, jwks: JWKS, now: datetime, error: type[TokenError] | None
) -> None:
    token = mint(signing_key, session_claims())

    if error is None:
        assert verify_session_token(token, jwks, now=now).user_id == "user_2abc"
    else:
        with pytest.raises(error):
            verify_session_token(token, jwks, now=now)


def test_leeway_can_be_widened(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    token = mint(signing_key, session_claims())
    late = EXPIRES + timedelta(seconds=30)

    with pytest.raises(TokenExpired, match="expired at"):
        verify_session_token(token, jwks, now=late)
    assert verify_session_token(token, jwks, now=late, leeway=timedelta(minutes=1))


def test_future_iat_not_yet_valid(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    future = int(NOW.timestamp()) + 60
    token = mint(signing_key, session_claims(iat=future, nbf=None, exp=future + 60))

    with pytest.raises(TokenNotYetValid, match="issued in the future"):
        verify_session_token(token, jwks, now=NOW)


# (claim overrides, message fragment)
INVALID_CLAIMS = [
    pytest.param({"sub": None}, "no sub claim", id="missing-sub"),
    pytest.param({"sid": None}, "no sid claim", id="missing-sid"),
    pytest.param({"sub": ""}, "no sub claim", id="empty-sub"),
    pytest.param({"sub": 42}, "must be a string", id="sub-not-a-string"),
    pytest.param({"sid": ["sess_2xyz"]}, "sid must be a string", id="sid-not-a-string"),
    pytest.param({"sts": 1}, "sts must be a string", id="sts-not-a-string"),
    pytest.param({"exp": None}, "no exp claim", id="missing-exp"),
    pytest.param({"iat": None}, "no iat claim", id="missing-iat"),
    pytest.param({"exp": "tomorrow"}, "exp must be a number", id="exp-not-a-number"),
    pytest.param({"exp": True}, "exp must be a number", id="exp-boolean"),
    pytest.param({"exp": 10**20}, "exp is out of range", id="exp-out-of-range"),
    pytest.param({"aud": "https://other.example.com"}, "audience", id="unexpected-aud"),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID_CLAIMS)
def test_invalid_claims_are_rejected(
    signing_key: rsa.RSAPrivateKey, jwks: JWKS, overrides: dict[str, Any], message: str
) -> None:
    token = mint(signing_key, session_claims(**overrides))

    with pytest.raises(TokenInvalid, match=message):
        verify_session_token(token, jwks, now=NOW)


# Signatures and algorithms


def forge_hs256(secret: bytes, claims: Mapping[str, Any]) -> str:
    header = b64url_json({"alg": "HS256", "kid": KID, "typ": "JWT"})
    signing_input = f"{header}.{b64url_json(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def tamper(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = {**decode_segment(payload), **changes}
    return f"{header}.{b64url_json(claims)}.{signature}"


def test_other_key_same_kid_rejected(other_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    token = mint(other_key, session_claims())

    with pytest.raises(TokenInvalid, match="signature does not match"):
        verify_session_token(token, jwks, now=NOW)


def test_tampered_payload_is_rejected(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    token = tamper(mint(signing_key, session_claims()), sub="user_admin")

    with pytest.raises(TokenInvalid, match="signature does not match"):
        verify_session_token(token, jwks, now=NOW)


def test_alg_none_token_rejected(jwks: JWKS) -> None:
    token = jwt.encode(session_claims(), "", algorithm="none", headers={"kid": KID})

    with pytest.raises(TokenInvalid, match="algorithm 'none'"):
        verify_session_token(token, jwks, now=NOW)


def test_hs256_with_public_key_rejected(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    token = forge_hs256(public_pem(signing_key), session_claims())

    with pytest.raises(TokenInvalid, match="algorithm 'HS256'"):
        verify_session_token(token, jwks, now=NOW)


def test_rs512_token_rejected(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    token = jwt.encode(session_claims(), signing_key, algorithm="RS512", headers={"kid": KID})

    with pytest.raises(TokenInvalid, match="algorithm 'RS512'"):
        verify_session_token(token, jwks, now=NOW)


def test_unknown_kid_static_jwks(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    token = mint(signing_key, session_claims(), kid="ins_unknown")

    with pytest.raises(UnknownSigningKey, match="ins_unknown"):
        verify_session_token(token, jwks, now=NOW)


def test_missing_kid_matches_no_key(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    token = mint(signing_key, session_claims(), kid=None)

    with pytest.raises(UnknownSigningKey):
        verify_session_token(token, jwks, now=NOW)


def test_token_errors_hierarchy() -> None:
    assert issubclass(UnknownSigningKey, TokenInvalid)
    for error in (TokenExpired, TokenNotYetValid, TokenInvalid):
        assert issubclass(error, TokenError)
    assert issubclass(TokenError, LastseenError)


RS256_HEADER = b64url_json({"alg": "RS256", "kid": KID})
NOT_UTF8 = b64url(bytes([0xFF, 0xFE]))

GARBAGE = [
    pytest.param("", id="empty"),
    pytest.param("a.b", id="two-segments"),
    pytest.param("a.b.c", id="three-junk-segments"),
    pytest.param("...", id="empty-segments"),
    pytest.param(secrets.token_urlsafe(10_000), id="10kb-of-junk"),
    pytest.param(".".join([secrets.token_urlsafe(3_000)] * 3), id="10kb-of-segments"),
    pytest.param("ключ.ключ.ключ", id="non-ascii"),
    pytest.param("\x00.\x00.\x00", id="nul-bytes"),
    pytest.param(b64url_json([1, 2]) + ".e30.", id="header-not-an-object"),
    pytest.param(NOT_UTF8 + ".e30.", id="header-not-utf8"),
    pytest.param(b64url_json({"alg": "RS256", "kid": 7}) + ".e30.", id="kid-not-a-string"),
    pytest.param(b64url_json({"kid": KID}) + ".e30.", id="no-alg"),
    pytest.param(RS256_HEADER + ".bm90IGpzb24.c2ln", id="junk-payload-and-signature"),
]


@pytest.mark.parametrize("token", GARBAGE)
def test_garbage_is_invalid(jwks: JWKS, token: str) -> None:
    with pytest.raises(TokenInvalid):
        verify_session_token(token, jwks, now=NOW)


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b"\xff\xfe", b""])
def test_signed_non_object_payload_invalid(
    signing_key: rsa.RSAPrivateKey, jwks: JWKS, payload: bytes
) -> None:
    token = PyJWS().encode(payload, signing_key, algorithm="RS256", headers={"kid": KID})

    with pytest.raises(TokenInvalid, match="Invalid session token"):
        verify_session_token(token, jwks, now=NOW)


def test_short_rsa_key_rejected() -> None:
    short_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the weak key under test)
    with pytest.warns(InsecureKeyLengthWarning):
        token = mint(short_key, session_claims())

    with pytest.raises(TokenInvalid, match="1024 bits"):
        verify_session_token(token, JWKS({"keys": [public_jwk(short_key, KID)]}), now=NOW)


def test_verify_rejects_invalid_arguments(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    token = mint(signing_key, session_claims())

    with pytest.raises(ValueError, match="timezone-aware"):
        verify_session_token(token, jwks, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="leeway"):
        verify_session_token(token, jwks, now=NOW, leeway=timedelta(seconds=-1))


# Authorized parties and session status

# (authorized parties, azp claim or None when absent, accepted)
AUTHORIZED_PARTIES = [
    pytest.param(None, None, True, id="not-checked-without-azp"),
    pytest.param(None, "https://anything.example", True, id="not-checked-with-azp"),
    pytest.param([ORIGIN], ORIGIN, True, id="listed"),
    pytest.param([ORIGIN + "/"], ORIGIN, True, id="listed-with-trailing-slash"),
    pytest.param([ORIGIN], ORIGIN + "/", True, id="azp-with-trailing-slash"),
    pytest.param(["https://other.example", ORIGIN], ORIGIN, True, id="second-listed"),
    pytest.param([ORIGIN], "https://evil.example", False, id="not-listed"),
    pytest.param([ORIGIN], "https://app.example.com.evil.example", False, id="prefix-only"),
    pytest.param([ORIGIN], "http://app.example.com", False, id="other-scheme"),
    pytest.param([ORIGIN], None, False, id="missing-azp"),
    pytest.param([], ORIGIN, False, id="empty-list"),
]


@pytest.mark.parametrize(("parties", "azp", "accepted"), AUTHORIZED_PARTIES)
def test_authorized_party(
    signing_key: rsa.RSAPrivateKey,
    jwks: JWKS,
    parties: list[str] | None,
    azp: str | None,
    accepted: bool,
) -> None:
    token = mint(signing_key, session_claims(azp=azp))

    if accepted:
        claims = verify_session_token(token, jwks, authorized_parties=parties, now=NOW)
        assert claims.authorized_party == azp
    else:
        with pytest.raises(TokenInvalid, match="azp"):
            verify_session_token(token, jwks, authorized_parties=parties, now=NOW)


def test_authorized_parties_string_rejected(signing_key: rsa.RSAPrivateKey, jwks: JWKS) -> None:
    token = mint(signing_key, session_claims())

    with pytest.raises(TypeError, match="not a string"):
        verify_session_token(token, jwks, authorized_parties=ORIGIN, now=NOW)


# (sts claim or None when absent, accept_pending, accepted)
STATUSES = [
    pytest.param("active", False, True, id="active"),
    pytest.param(None, False, True, id="absent"),
    pytest.param("pending", False, False, id="pending-refused"),
    pytest.param("pending", True, True, id="pending-accepted"),
]


@pytest.mark.parametrize(("status", "accept_pending", "accepted"), STATUSES)
def test_session_status(
    signing_key: rsa.RSAPrivateKey,
    jwks: JWKS,
    status: str | None,
    accept_pending: bool,
    accepted: bool,
) -> None:
    token = mint(signing_key, session_claims(sts=status))

    if accepted:
        verified = verify_session_token(token, jwks, now=NOW, accept_pending=accept_pending)
        assert verified.status == status
    else:
        with pytest.raises(TokenInvalid, match="pending"):
            verify_session_token(token, jwks, now=NOW, accept_pending=accept_pending)


# Key sets


def test_from_pem_without_kid_verifies_any_kid(signing_key: rsa.RSAPrivateKey) -> None:
    jwks = JWKS.from_pem(public_pem(signing_key).decode())

    for kid in (KID, "ins_whatever", None):
        token = mint(signing_key, session_claims(), kid=kid)
        assert verify_session_token(token, jwks, now=NOW).user_id == "user_2abc"


def test_from_pem_with_kid_verifies_only_that_kid(signing_key: rsa.RSAPrivateKey) -> None:
    jwks = JWKS.from_pem(public_pem(signing_key), kid=KID)

    assert verify_session_token(mint(signing_key, session_claims()), jwks, now=NOW)
    with pytest.raises(UnknownSigningKey):
        verify_session_token(mint(signing_key, session_claims(), kid=NEXT_KID), jwks, now=NOW)


def test_from_pem_rejects_ec_key() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    with pytest.raises(ValueError, match="RSA"):
        JWKS.from_pem(pem)


def test_jwks_ignores_non_rs256_keys(
    signing_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    ec_jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
    jwks = JWKS(
        {
            "keys": [
                {**ec_jwk, "kid": "ins_ec", "use": "sig", "alg": "ES256"},
                {**public_jwk(other_key, "ins_enc"), "use": "enc"},
                {**public_jwk(other_key, "ins_rs512"), "alg": "RS512"},
                {"kty": "oct", "kid": "ins_hmac", "k": b64url(b"secret" * 8)},
                public_jwk(signing_key, KID),
            ]
        }
    )

    for kid in ("ins_ec", "ins_enc", "ins_rs512", "ins_hmac"):
        assert jwks.key(kid) is None
    assert jwks.key(KID) is not None


def test_jwks_keeps_rsa_key_without_use_or_alg(signing_key: rsa.RSAPrivateKey) -> None:
    jwk = {k: v for k, v in public_jwk(signing_key, KID).items() if k not in ("use", "alg")}

    assert JWKS({"keys": [jwk]}).key(KID) is not None


def test_empty_jwks_has_no_keys() -> None:
    assert JWKS({"keys": []}).key(KID) is None


# (document, message fragment)
NOT_A_JWKS = [
    pytest.param({"not": "a jwks"}, "Invalid JWKS document", id="no-keys"),
    pytest.param({"keys": {"kid": KID}}, "Invalid JWKS document", id="keys-not-a-list"),
]


@pytest.mark.parametrize(("document", "message"), NOT_A_JWKS)
def test_jwks_rejects_other_documents(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        JWKS(document)


def test_jwks_rejects_duplicate_kid(
    signing_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    keys = [public_jwk(signing_key, KID), public_jwk(other_key, KID)]

    with pytest.raises(ValueError, match="more than one key"):
        JWKS({"keys": keys})


def test_jwks_rejects_malformed_rsa_key(signing_key: rsa.RSAPrivateKey) -> None:
    jwk = {**public_jwk(signing_key, KID), "n": "!!"}

    with pytest.raises(ValueError, match="not a valid RSA key"):
        JWKS({"keys": [jwk]})


def test_jwks_rejects_private_key(signing_key: rsa.RSAPrivateKey) -> None:
    jwk = {**RSAAlgorithm.to_jwk(signing_key, as_dict=True), "kid": KID}

    with pytest.raises(ValueError, match="private key material"):
        JWKS({"keys": [jwk]})


# Cached key sets


class KeyServer:
    """A fetch callable that serves a JWKS document and counts how often it is called."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.fetches = 0
        self.failing = False

    def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        if self.failing:
            raise ConnectionError("key server is down")
        return self.document


@pytest.fixture
def server(document: dict[str, Any]) -> KeyServer:
    return KeyServer({"keys": list(document["keys"])})


@pytest.fixture
def cached(server: KeyServer, clock: FrozenClock) -> CachedJWKS:
    return CachedJWKS(server, clock=clock)


def test_cached_jwks_fetches_on_first_use_only(
    signing_key: rsa.RSAPrivateKey, server: KeyServer, cached: CachedJWKS
) -> None:
    token = mint(signing_key, session_claims())
    assert server.fetches == 0

    verify_session_token(token, cached, now=NOW)
    verify_session_token(token, cached, now=NOW)

    assert server.fetches == 1


def test_rotated_key_found_with_one_refetch(
    signing_key: rsa.RSAPrivateKey,
    next_key: rsa.RSAPrivateKey,
    server: KeyServer,
    cached: CachedJWKS,
    clock: FrozenClock,
) -> None:
    verify_session_token(mint(signing_key, session_claims()), cached, now=NOW)
    server.document = {"keys": [public_jwk(next_key, NEXT_KID), public_jwk(signing_key, KID)]}
    clock.advance(timedelta(seconds=10))

    token = mint(next_key, session_claims(), kid=NEXT_KID)
    claims = verify_session_token(token, cached, now=NOW)
    verify_session_token(token, cached, now=NOW)

    assert claims.user_id == "user_2abc"
    assert server.fetches == 2


def test_unknown_kid_after_fresh_fetch(
    signing_key: rsa.RSAPrivateKey, server: KeyServer, cached: CachedJWKS, clock: FrozenClock
) -> None:
    verify_session_token(mint(signing_key, session_claims()), cached, now=NOW)
    clock.advance(timedelta(seconds=9))

    with pytest.raises(UnknownSigningKey):
        verify_session_token(mint(signing_key, session_claims(), kid="ins_x"), cached, now=NOW)
    assert server.fetches == 1


def test_unknown_kid_flood_refetches_once(
    signing_key: rsa.RSAPrivateKey, server: KeyServer, cached: CachedJWKS, clock: FrozenClock
) -> None:
    verify_session_token(mint(signing_key, session_claims()), cached, now=NOW)
    clock.advance(timedelta(seconds=10))

    for _ in range(100):
        token = mint(signing_key, session_claims(), kid=f"ins_{secrets.token_hex(8)}")
        with pytest.raises(UnknownSigningKey):
            verify_session_token(token, cached, now=NOW)
        clock.advance(timedelta(milliseconds=50))

    assert server.fetches == 2


def test_keys_older_than_max_age_are_refetched(
    signing_key: rsa.RSAPrivateKey, server: KeyServer, cached: CachedJWKS, clock: FrozenClock
) -> None:
    token = mint(signing_key, session_claims())
    verify_session_token(token, cached, now=NOW)

    clock.advance(timedelta(minutes=5) - timedelta(seconds=1))
    verify_session_token(token, cached, now=NOW)
    assert server.fetches == 1

    clock.advance(timedelta(seconds=1))
    verify_session_token(token, cached, now=NOW)
    assert server.fetches == 2


def test_failed_refresh_keeps_previous_keys(
    signing_key: rsa.RSAPrivateKey,
    server: KeyServer,
    cached: CachedJWKS,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = mint(signing_key, session_claims())
    verify_session_token(token, cached, now=NOW)
    server.failing = True
    clock.advance(timedelta(minutes=5))

    assert verify_session_token(token, cached, now=NOW).user_id == "user_2abc"
    assert verify_session_token(token, cached, now=NOW).user_id == "user_2abc"
    assert server.fetches == 2
    assert "JWKS refresh failed" in caplog.text

    server.failing = False
    clock.advance(timedelta(seconds=10))
    verify_session_token(token, cached, now=NOW)
    assert server.fetches == 3


def test_failed_first_fetch_raises(
    signing_key: rsa.RSAPrivateKey, server: KeyServer, cached: CachedJWKS
) -> None:
    server.failing = True

    with pytest.raises(ConnectionError):
        verify_session_token(mint(signing_key, session_claims()), cached, now=NOW)


def test_concurrent_first_use_fetches_once(
    signing_key: rsa.RSAPrivateKey, server: KeyServer, cached: CachedJWKS
) -> None:
    token = mint(signing_key, session_claims())
    barrier = threading.Barrier(8)
    results: list[str] = []

    def verify() -> None:
        barrier.wait()
        results.append(verify_session_token(token, cached, now=NOW).session_id)

    threads = [threading.Thread(target=verify) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == ["sess_2xyz"] * 8
    assert server.fetches == 1


@pytest.fixture
def jwks_url(document: dict[str, Any]) -> Iterator[tuple[str, list[str | None]]]:
    """A JWKS endpoint on loopback; yields its URL and the Authorization headers it saw."""
    seen: list[str | None] = []
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}/.well-known/jwks.json", seen
    finally:
        http.shutdown()
        http.server_close()
        thread.join()


def test_from_url_fetches_with_http_get(
    signing_key: rsa.RSAPrivateKey, jwks_url: tuple[str, list[str | None]]
) -> None:
    url, seen = jwks_url
    cached = CachedJWKS.from_url(url, headers={"Authorization": "Bearer sk_test_x"})

    verify_session_token(mint(signing_key, session_claims()), cached, now=NOW)
    verify_session_token(mint(signing_key, session_claims()), cached, now=NOW)

    assert seen == ["Bearer sk_test_x"]
