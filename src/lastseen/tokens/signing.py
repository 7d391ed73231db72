"""RSA signing keys and session-token minting.

Private keys are stored as PKCS#8 PEM encrypted with the instance's encryption key, so a
copy of the database alone cannot sign tokens.
"""

import logging
import os
import secrets
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from lastseen.domain import ids
from lastseen.domain.keys import SigningKey
from lastseen.domain.sessions import Session
from lastseen.errors import ConfigurationError

logger = logging.getLogger("lastseen.tokens")

KID_PREFIX = "ins_"
MIN_ENCRYPTION_KEY_LENGTH = 32


def generate_signing_key(encryption_key: bytes, now: datetime) -> SigningKey:
    """Generate a 2048-bit RSA key pair, its private half encrypted with ``encryption_key``."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = ids.new_id(KID_PREFIX)

    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(encryption_key),
    )
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="RS256", use="sig")
    return SigningKey(kid=kid, private_key=pem.decode("ascii"), public_jwk=jwk, created_at=now)


def load_private_key(key: SigningKey, encryption_key: bytes) -> rsa.RSAPrivateKey:
    """Decrypt a stored private key; a wrong encryption key raises ConfigurationError."""
    try:
        private_key = serialization.load_pem_private_key(
            key.private_key.encode("ascii"), password=encryption_key
        )
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"cannot decrypt signing key {key.kid}: LASTSEEN_ENCRYPTION_KEY (or the key file) "
            "differs from the one the key was stored with"
        ) from exc
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"signing key {key.kid} is not an RSA key")
    return private_key


def mint_session_token(
    session: Session,
    *,
    kid: str,
    private_key: rsa.RSAPrivateKey,
    issuer: str,
    now: datetime,
    lifetime: timedelta,
    authorized_party: str | None = None,
) -> str:
    """Sign a session token with Clerk's v2 claims.

    ``nbf`` is five seconds before ``iat`` to absorb clock skew between servers. There is no
    ``aud``: PyJWT rejects a token with an audience when the verifier names none.
    """
    issued_at = int(now.timestamp())
    claims: dict[str, Any] = {
        "sub": session.user_id,
        "sid": session.id,
        "iss": issuer,
        "iat": issued_at,
        "nbf": issued_at - 5,
        "exp": issued_at + int(lifetime.total_seconds()),
        "jti": secrets.token_hex(10),
        "v": 2,
        "sts": str(session.status),
        "fva": [-1, -1],
    }
    if authorized_party:
        claims["azp"] = authorized_party
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def resolve_encryption_key(value: str | None, path: str) -> bytes:
    """Return the encryption key from its setting, else from ``path``, creating that file.

    The generated file suits one machine; servers that share a database elsewhere must share
    the key through LASTSEEN_ENCRYPTION_KEY.
    """
    if value:
        if len(value) < MIN_ENCRYPTION_KEY_LENGTH:
            raise ConfigurationError(
                f"invalid LASTSEEN_ENCRYPTION_KEY: must be at least {MIN_ENCRYPTION_KEY_LENGTH} "
                "characters; generate one with `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`"
            )
        return value.encode()

    file = Path(path)
    if not file.exists():
        # O_EXCL: if another process creates the file first, read theirs instead.
        try:
            descriptor = os.open(
                file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR
            )
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
            logger.warning(
                "encryption key generated in %s; servers on other machines that share the "
                "database need the same key in LASTSEEN_ENCRYPTION_KEY",
                file.resolve(),
            )

    key = file.read_text().strip()
    if len(key) < MIN_ENCRYPTION_KEY_LENGTH:
        raise ConfigurationError(f"invalid encryption key file {file}: too short or empty")
    return key.encode()
