"""Cross-site request forgery protection for the pages' forms.

Every form that changes state carries a token, and its handler also checks the ``Origin``
header.

The token is an HMAC-SHA256 of the client id under a key derived from the instance's
encryption key (``LASTSEEN_ENCRYPTION_KEY`` or its key file). Only the server can compute
it, so a page on another site cannot fill it in. Every process of an instance shares the
encryption key, so any process accepts a token that another one rendered. The server
stores nothing per form. A token stays valid for as long as its client does, and a new
client (a sign-in from a browser without the ``__client`` cookie) gets a new token.

The sign-in form has no client to bind a token to yet. It relies on the ``Origin`` check
and on the SameSite=Lax client cookie.
"""

import base64
import hashlib
import hmac

#: The form field that carries the token.
FIELD = "csrf_token"

# Deriving a key for this one purpose keeps CSRF tokens apart from every other use of the
# encryption key.
_PURPOSE = b"lastseen pages csrf token"


def derive_key(encryption_key: bytes) -> bytes:
    """Derive the CSRF token key from the instance's encryption key."""
    return hmac.new(encryption_key, _PURPOSE, hashlib.sha256).digest()


def make_token(key: bytes, client_id: str) -> str:
    """Return the CSRF token of a client: URL-safe base64 of an HMAC of its id."""
    digest = hmac.new(key, client_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_valid_token(key: bytes, client_id: str, token: str | None) -> bool:
    """Tell whether ``token`` is the client's CSRF token, in constant time."""
    if not token:
        return False
    return hmac.compare_digest(
        make_token(key, client_id).encode(), token.encode("utf-8", "replace")
    )
