"""lastseen: sessions with activities. Sign in, list every device, revoke.

Session tokens are verified offline with :func:`verify_session_token`. The SDK lives in
:mod:`lastseen.client`; the server is built by
:func:`lastseen.http.app.create_app` and run by the ``lastseen`` command.
"""

from lastseen.errors import APIError, ConfigurationError, LastseenError, ServiceError
from lastseen.settings import Settings
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

__version__ = "0.1.0"

__all__ = [
    "JWKS",
    "APIError",
    "CachedJWKS",
    "ConfigurationError",
    "LastseenError",
    "ServiceError",
    "SessionClaims",
    "Settings",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "TokenNotYetValid",
    "UnknownSigningKey",
    "__version__",
    "verify_session_token",
]
