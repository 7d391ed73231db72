"""Networkless verification of session tokens.

A session token is an RS256 JWT signed by the session service. Its header names the
signing key (``kid``) and its claims name the user (``sub``), the session (``sid``), the
session status (``sts``), the Origin that requested it (``azp``) and a short lifetime
(``iat``, ``nbf``, ``exp``). The public keys are published as a JWKS, or configured as a
single PEM key in the style of Clerk's ``jwt_key``.

Verifying a token is a local computation: with a `JWKS` nothing is fetched. A
`CachedJWKS` fetches the key set on first use, when it is older than ``max_age``, and
once when a token names a ``kid`` it does not know, which is how a key rotation is picked
up. Those refetches are rate limited, so tokens with made-up ``kid`` values cannot turn
the verifier into a load generator for the key server.

Every rejected token raises a `TokenError` subclass whose message names the check that
failed. Problems with the keys themselves (a document that is not a JWKS, a key server
that cannot be reached before any keys were loaded) raise other exceptions, because
they are configuration or availability problems rather than bad tokens.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.types import Options

from lastseen.domain.clock import Clock, system_clock
from lastseen.errors import LastseenError

__all__ = [
    "JWKS",
    "CachedJWKS",
    "SessionClaims",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "TokenNotYetValid",
    "UnknownSigningKey",
    "verify_session_token",
]

logger = logging.getLogger("lastseen.tokens")

ALGORITHM = "RS256"


# Errors


class TokenError(LastseenError):
    """A rejected session token. The message names the check that failed."""


class TokenExpired(TokenError):
    """The token's ``exp`` is in the past, beyond the leeway."""


class TokenNotYetValid(TokenError):
    """The token's ``nbf`` or ``iat`` is in the future, beyond the leeway."""


class TokenInvalid(TokenError):
    """The token is malformed, badly signed, or its claims are missing or not acceptable."""


class UnknownSigningKey(TokenInvalid):
    """The token's ``kid`` names no key in the JWKS, even after a refresh."""


# Claims


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """The verified claims of a session token."""

    user_id: str
    session_id: str
    status: str | None
    issuer: str | None
    authorized_party: str | None
    issued_at: datetime
    expires_at: datetime
    token_id: str | None
    claims: Mapping[str, Any]


# Keys


class JWKS:
    """Public keys by kid, parsed once.

    Only RSA keys for RS256 signatures are kept. Other keys (EC, symmetric, encryption
    keys, other algorithms) are ignored, because a session token is only ever RS256.
    """

    __slots__ = ("_any", "_keys")

    def __init__(self, document: Mapping[str, Any]) -> None:
        entries = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(entries, list):
            raise ValueError('Invalid JWKS document: expected an object with a "keys" list')

        self._keys: dict[str | None, RSAPublicKey] = {}
        self._any: RSAPublicKey | None = None

        for entry in entries:
            if not _is_rs256_signing_key(entry):
                continue
            kid = entry.get("kid")
            if kid in self._keys:
                raise ValueError(f"JWKS has more than one key with kid {kid!r}")
            self._keys[kid] = _load_jwk(entry)

    @classmethod
    def from_pem(cls, pem: str | bytes, kid: str | None = None) -> JWKS:
        """Build a key set from one PEM-encoded RSA public key.

        With a kid, only tokens naming that kid are verified with it. Without one, the
        key verifies tokens whatever kid they name, as Clerk's ``jwt_key`` does.
        """
        key = load_pem_public_key(pem.encode("ascii") if isinstance(pem, str) else pem)
        if not isinstance(key, RSAPublicKey):
            raise ValueError(f"Expected an RSA public key, got {type(key).__name__}")

        jwks = cls({"keys": []})
        if kid is None:
            jwks._any = key
        else:
            jwks._keys[kid] = key
        return jwks

    def key(self, kid: str | None) -> RSAPublicKey | None:
        """Return the public key for kid, or None when there is none."""
        return self._keys.get(kid, self._any)


def _is_rs256_signing_key(entry: Any) -> bool:
    return (
        isinstance(entry, Mapping)
        and entry.get("kty") == "RSA"
        and entry.get("use", "sig") == "sig"
        and entry.get("alg", ALGORITHM) == ALGORITHM
        and isinstance(entry.get("kid"), str | None)
    )


def _load_jwk(entry: Mapping[str, Any]) -> RSAPublicKey:
    kid = entry.get("kid")

    # A verifier needs only public keys, so a private key in a JWKS is a leak to report.
    if "d" in entry:
        raise ValueError(f"JWKS key {kid!r} contains private key material")

    try:
        key = jwt.PyJWK(dict(entry), algorithm=ALGORITHM).key
    except jwt.PyJWTError as error:
        raise ValueError(f"JWKS key {kid!r} is not a valid RSA key: {error}") from error

    if not isinstance(key, RSAPublicKey):
        raise ValueError(f"JWKS key {kid!r} is not an RSA public key")
    return key


class CachedJWKS:
    """A JWKS that is fetched by a callable, cached, and refetched for an unknown kid.

    The first fetch happens on first use. Its failure is raised, because there is nothing
    to verify with, and the next use tries again. A later failed refresh is logged and the
    previous keys stay in use until a retry, ``min_refresh_interval`` later, succeeds.
    """

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        *,
        max_age: timedelta = timedelta(minutes=5),
        min_refresh_interval: timedelta = timedelta(seconds=10),
        clock: Clock = system_clock,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._min_refresh_interval = min_refresh_interval
        self._clock = clock
        self._lock = threading.Lock()
        # The keys and when they were fetched, replaced together so readers need no lock.
        self._cached: tuple[JWKS, datetime] | None = None
        self._attempted_at: datetime | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> CachedJWKS:
        """Create a cached JWKS fetched with an HTTP GET from url.

        The URL is the service's public ``/.well-known/jwks.json``, or ``/v1/jwks`` with
        the secret key as a bearer token in headers. Other keyword arguments go to the
        constructor.
        """

        def fetch() -> Mapping[str, Any]:
            response = httpx.get(url, headers=headers, timeout=timeout)
            response.raise_for_status()
            document: Mapping[str, Any] = response.json()
            return document

        return cls(fetch, **kwargs)

    def key(self, kid: str | None) -> RSAPublicKey | None:
        """Return the public key for kid, fetching the key set when needed.

        An unknown kid may mean the keys were rotated, so it triggers one refetch, unless
        the last fetch was less than ``min_refresh_interval`` ago.
        """
        jwks = self._current()
        key = jwks.key(kid)
        if key is not None:
            return key

        return self._refresh().key(kid)

    def _current(self) -> JWKS:
        cached = self._cached
        if cached is None:
            return self._refresh()

        jwks, fetched_at = cached
        if self._clock() - fetched_at >= self._max_age:
            return self._refresh()
        return jwks

    def _refresh(self) -> JWKS:
        with self._lock:
            # The rate limit also covers threads that waited here while another one
            # fetched: they find a fresh attempt and use its result.
            previous = None if self._cached is None else self._cached[0]
            now = self._clock()
            if previous is not None and not self._may_fetch(now):
                return previous

            self._attempted_at = now
            try:
                jwks = JWKS(self._fetch())
            except Exception as error:
                if previous is None:
                    raise
                logger.warning("JWKS refresh failed, keeping the previous keys: %r", error)
                return previous

            self._cached = (jwks, now)
            return jwks

    def _may_fetch(self, now: datetime) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._min_refresh_interval


# Verification


def verify_session_token(
    token: str,
    jwks: JWKS | CachedJWKS | Mapping[str, Any],
    *,
    authorized_parties: Collection[str] | None = None,
    leeway: timedelta = timedelta(seconds=5),
    now: datetime | None = None,
    accept_pending: bool = False,
) -> SessionClaims:
    """Verify a session token's signature and claims, and return the claims.

    ``authorized_parties`` lists the Origins allowed to have requested the token. When
    given, the ``azp`` claim must be present and one of them. ``leeway`` allows for clock
    skew between the signer and this machine. A token of a pending session (``sts`` is
    ``"pending"``, a sign-in still missing a step) is rejected unless ``accept_pending``.

    Raises TokenExpired, TokenNotYetValid, or TokenInvalid (UnknownSigningKey when the
    kid is not in the key set).
    """
    if isinstance(authorized_parties, str):
        raise TypeError("authorized_parties must be a collection of origins, not a string")
    if leeway < timedelta(0):
        raise ValueError(f"leeway must not be negative, got {leeway}")
    now = system_clock() if now is None else now
    if now.tzinfo is None:
        raise ValueError(f"now must be a timezone-aware datetime, got {now!r}")

    kid = _signing_key_id(token)
    key = _find_key(jwks, kid)
    payload = _decode(token, key)

    claims = _session_claims(payload)
    _check_lifetime(claims, _optional_time(payload, "nbf"), now, leeway)
    if authorized_parties is not None:
        _check_authorized_party(claims.authorized_party, authorized_parties)
    if claims.status == "pending" and not accept_pending:
        raise TokenInvalid(f"Session {claims.session_id} is pending: its sign-in is not complete")
    return claims


def _signing_key_id(token: str) -> str | None:
    # The header is read before the signature is checked, so it is only trusted to pick
    # a key. The algorithm is checked here too, so a token that can never verify does
    # not trigger a JWKS refresh.
    segment = token.split(".", 1)[0] if token.count(".") == 2 else ""
    return _header_key_id(segment)


# Every token that one key signs has the same header segment, so it is decoded once.
@functools.lru_cache(maxsize=64)
def _header_key_id(segment: str) -> str | None:
    # Only the header segment is decoded: PyJWT's get_unverified_header validates all three
    # segments character by character in Python, which jwt.decode then does again.
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError, binascii.Error) as error:
        raise TokenInvalid(f"Malformed session token: {error}") from error
    if not isinstance(header, dict):
        raise TokenInvalid("Malformed session token: the header is not a JSON object")

    alg = header.get("alg")
    if alg != ALGORITHM:
        raise TokenInvalid(f"Invalid session token algorithm {alg!r}: only RS256 is accepted")

    kid: str | None = header.get("kid")
    return kid


def _find_key(jwks: JWKS | CachedJWKS | Mapping[str, Any], kid: str | None) -> RSAPublicKey:
    key_set = jwks if isinstance(jwks, JWKS | CachedJWKS) else JWKS(jwks)
    key = key_set.key(kid)
    if key is None:
        raise UnknownSigningKey(f"Signing key {kid!r} not found in the JWKS")
    return key


def _decode(token: str, key: RSAPublicKey) -> dict[str, Any]:
    # Times are checked against the caller's clock afterwards, not PyJWT's.
    options: Options = {
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "enforce_minimum_key_length": True,
    }
    try:
        payload: dict[str, Any] = jwt.decode(token, key, algorithms=[ALGORITHM], options=options)
    except jwt.InvalidSignatureError as error:
        raise TokenInvalid("Session token signature does not match its signing key") from error
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise TokenInvalid(f"Invalid session token: {error}") from error
    return payload


def _session_claims(payload: dict[str, Any]) -> SessionClaims:
    return SessionClaims(
        user_id=_required_string(payload, "sub"),
        session_id=_required_string(payload, "sid"),
        status=_optional_string(payload, "sts"),
        issuer=_optional_string(payload, "iss"),
        authorized_party=_optional_string(payload, "azp"),
        issued_at=_required_time(payload, "iat"),
        expires_at=_required_time(payload, "exp"),
        token_id=_optional_string(payload, "jti"),
        # The payload is this call's own, fresh from jwt.decode, so it is not copied.
        claims=MappingProxyType(payload),
    )


def _required_string(payload: Mapping[str, Any], name: str) -> str:
    value = _optional_string(payload, name)
    if not value:
        raise TokenInvalid(f"Session token has no {name} claim")
    return value


def _optional_string(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise TokenInvalid(f"Session token claim {name} must be a string")
    return value


def _required_time(payload: Mapping[str, Any], name: str) -> datetime:
    value = _optional_time(payload, name)
    if value is None:
        raise TokenInvalid(f"Session token has no {name} claim")
    return value


def _optional_time(payload: Mapping[str, Any], name: str) -> datetime | None:
    value = payload.get(name)
    if value is None:
        return None

    # JSON true decodes to a bool, which Python counts as an int.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenInvalid(f"Session token claim {name} must be a number of seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise TokenInvalid(f"Session token claim {name} is out of range") from error


def _check_lifetime(
    claims: SessionClaims, not_before: datetime | None, now: datetime, leeway: timedelta
) -> None:
    if claims.expires_at <= now - leeway:
        raise TokenExpired(f"Session token expired at {claims.expires_at.isoformat()}")

    if not_before is not None and not_before > now + leeway:
        raise TokenNotYetValid(f"Session token is not valid before {not_before.isoformat()}")

    if claims.issued_at > now + leeway:
        raise TokenNotYetValid(
            f"Session token is issued in the future, at {claims.issued_at.isoformat()}"
        )


def _check_authorized_party(azp: str | None, authorized_parties: Collection[str]) -> None:
    if azp is None:
        raise TokenInvalid("Session token has no azp claim, and authorized parties are required")

    allowed = {party.removesuffix("/") for party in authorized_parties}
    if azp.removesuffix("/") not in allowed:
        raise TokenInvalid(f"Session token azp {azp!r} is not an authorized party")
