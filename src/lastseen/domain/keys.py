"""Keys: the RSA keys that sign session tokens, and the backend API's secret keys."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An RSA key pair that signs session tokens, identified by its ``kid``."""

    kid: str
    #: PKCS#8 PEM, encrypted with the instance's encryption key.
    private_key: str
    public_jwk: dict[str, Any]
    created_at: datetime
    #: When a newer key took over signing; None for the current key.
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SecretKey:
    """A backend API secret key, known only by its SHA-256 hash."""

    id: str
    key_hash: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None = None
