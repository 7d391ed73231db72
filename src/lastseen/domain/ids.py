"""Resource ids: a type prefix plus 27 base62 characters that sort by creation time.

The random part follows the KSUID layout (a 4-byte timestamp in seconds since
2014-05-13, then 16 random bytes), so ids look and sort like Clerk's.
"""

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_EPOCH = 1_400_000_000
_LENGTH = 27

USER = "user_"
CLIENT = "client_"
SESSION = "sess_"
ACTIVITY = "sess_activity_"


def new_id(prefix: str) -> str:
    """Return a new id with ``prefix``, unique and sortable by creation second."""
    timestamp = int(time.time()) - _EPOCH
    number = int.from_bytes(timestamp.to_bytes(4, "big") + secrets.token_bytes(16), "big")

    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(_ALPHABET[remainder])
    return prefix + "".join(reversed(digits)).rjust(_LENGTH, "0")


def is_valid_id(value: str, prefix: str) -> bool:
    """Tell whether ``value`` has the shape of an id with ``prefix``."""
    body = value.removeprefix(prefix)
    return (
        value.startswith(prefix)
        and len(body) == _LENGTH
        and all(character in _ALPHABET for character in body)
    )
