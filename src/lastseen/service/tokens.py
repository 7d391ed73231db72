"""Token use-cases: the signing key ring, minting session tokens, backend secret keys."""

import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from lastseen import errors
from lastseen.domain import ids
from lastseen.domain.clock import Clock, system_clock
from lastseen.domain.keys import SecretKey, SigningKey
from lastseen.domain.sessions import LIVE_STATUSES, Session
from lastseen.domain.store import KeyStore
from lastseen.tokens.signing import generate_signing_key, load_private_key, mint_session_token

logger = logging.getLogger("lastseen.tokens")

SECRET_KEY_PREFIX = "sk_live_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True, slots=True)
class _Loaded:
    kid: str
    private_key: rsa.RSAPrivateKey
    jwks: dict[str, Any]
    loaded_at: datetime


class KeyRing:
    """The current signing key and the published JWKS, cached and reloaded periodically.

    Each process reloads from the database at most every ``reload_interval``, so a rotation
    made by another process reaches it within that interval. Until then it signs with the
    previous key, which stays published and so keeps verifying.
    """

    def __init__(
        self,
        store: KeyStore,
        encryption_key: bytes,
        *,
        clock: Clock = system_clock,
        reload_interval: timedelta = timedelta(seconds=30),
    ) -> None:
        self.store = store
        self.encryption_key = encryption_key
        self.clock = clock
        self.reload_interval = reload_interval
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def signer(self) -> tuple[str, rsa.RSAPrivateKey]:
        """Return the kid and private key that sign new tokens."""
        loaded = self._current()
        return loaded.kid, loaded.private_key

    def jwks(self) -> dict[str, Any]:
        """Return the JWKS document: the current key and every retired one still kept."""
        return self._current().jwks

    def rotate(self) -> SigningKey:
        """Make a new signing key current; older keys stay published for their tokens."""
        now = self.clock()
        key = generate_signing_key(self.encryption_key, now)
        self.store.add_signing_key(key, retire_others_at=now)
        logger.info("signing key rotated kid=%s", key.kid)
        with self._lock:
            self._loaded = None
        return key

    def _current(self) -> _Loaded:
        now = self.clock()
        loaded = self._loaded
        if loaded is not None and now - loaded.loaded_at < self.reload_interval:
            return loaded

        with self._lock:
            loaded = self._loaded
            if loaded is None or now - loaded.loaded_at >= self.reload_interval:
                loaded = self._load(now)
                self._loaded = loaded
        return loaded

    def _load(self, now: datetime) -> _Loaded:
        keys = self.store.list_signing_keys()
        if not keys:
            first = generate_signing_key(self.encryption_key, now)
            self.store.add_signing_key(first)
            logger.info("signing key created kid=%s", first.kid)
            keys = self.store.list_signing_keys()

        current = next((key for key in keys if key.retired_at is None), keys[0])
        return _Loaded(
            kid=current.kid,
            private_key=load_private_key(current, self.encryption_key),
            jwks={"keys": [key.public_jwk for key in keys]},
            loaded_at=now,
        )


@dataclass(frozen=True, slots=True)
class _Minted:
    jwt: str
    issued_at: datetime
    reuse_until: datetime


class Tokens:
    """Mints session tokens for live sessions.

    Signing with RS256 costs more than the rest of a token request, so a token is handed
    out again to requests for the same session, issuer, authorized party, lifetime and
    signing key until half its lifetime has passed. Every request still checks that the
    session is live, so a revoked session gets no token, cached or not.
    """

    def __init__(
        self,
        keys: KeyRing,
        *,
        lifetime: timedelta,
        clock: Clock = system_clock,
        max_reused: int = 10_000,
    ) -> None:
        self.keys = keys
        self.lifetime = lifetime
        self.clock = clock
        self.max_reused = max_reused
        self._minted: dict[tuple[str | None, ...], _Minted] = {}
        self._lock = threading.Lock()

    def mint(
        self,
        session: Session,
        *,
        issuer: str,
        authorized_party: str | None = None,
        lifetime: timedelta | None = None,
    ) -> str:
        """Return a token for a live ``session``: a recent one if reusable, else a new one."""
        now = self.clock()
        status = session.status_at(now)
        if status not in LIVE_STATUSES:
            raise errors.authentication_invalid(
                f"Session {session.id} is {status}; only active sessions get tokens."
            )

        lifetime = lifetime or self.lifetime
        kid, private_key = self.keys.signer()
        key = (session.id, session.user_id, status, issuer, authorized_party, str(lifetime), kid)
        minted = self._minted.get(key)
        if minted is not None and minted.issued_at <= now < minted.reuse_until:
            return minted.jwt

        jwt = mint_session_token(
            session,
            kid=kid,
            private_key=private_key,
            issuer=issuer,
            now=now,
            lifetime=lifetime,
            authorized_party=authorized_party,
        )
        self._remember(key, _Minted(jwt, now, now + lifetime / 2))
        return jwt

    def _remember(self, key: tuple[str | None, ...], minted: _Minted) -> None:
        with self._lock:
            self._minted.pop(key, None)
            if len(self._minted) >= self.max_reused:
                # Dicts keep insertion order, so the first key is the oldest token.
                del self._minted[next(iter(self._minted))]
            self._minted[key] = minted


def hash_secret_key(key: str) -> str:
    """Return the SHA-256 hex digest under which a secret key is stored.

    A plain hash suffices: the keys are 256-bit random values, not guessable passwords.
    """
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


class SecretKeys:
    """Backend API secret keys: created once, stored as hashes, revocable."""

    def __init__(self, store: KeyStore, *, clock: Clock = system_clock) -> None:
        self.store = store
        self.clock = clock

    def create(self, label: str | None = None) -> tuple[SecretKey, str]:
        """Create a key; the plain key is returned here and never again."""
        plain = SECRET_KEY_PREFIX + secrets.token_urlsafe(32)
        key = SecretKey(
            id=ids.new_id("key_"),
            key_hash=hash_secret_key(plain),
            label=label,
            created_at=self.clock(),
        )
        self.store.add_secret_key(key)
        logger.info("secret key created key_id=%s", key.id)
        return key, plain

    def check(self, plain: str) -> bool:
        return self.store.find_secret_key(hash_secret_key(plain)) is not None

    def revoke(self, key_id: str) -> bool:
        revoked = self.store.revoke_secret_key(key_id, self.clock())
        if revoked:
            logger.info("secret key revoked key_id=%s", key_id)
        return revoked

    def list(self) -> list[SecretKey]:
        return self.store.list_secret_keys()
