"""The Origin check for browser requests that change state with the client cookie."""

from starlette.requests import Request


def own_origin(request: Request) -> str:
    """Return the origin the request was sent to, such as ``http://127.0.0.1:8000``."""
    # NOTE: behind a TLS-terminating proxy this is the proxy's plain-HTTP hop, so browsers'
    # https:// origins match only when listed in LASTSEEN_ALLOWED_ORIGINS.
    return f"{request.url.scheme}://{request.url.netloc}"


def is_allowed_origin(request: Request, allowed: frozenset[str]) -> bool:
    """Tell whether the request's ``Origin`` header permits a state change.

    A missing header is allowed, because clients other than browsers (curl, scripts) send
    none, and browsers send one with every cross-origin post. ``null`` (sandboxed frames,
    some redirects) and every origin other than lastseen's own and those in ``allowed``
    are rejected.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    return origin == own_origin(request).lower() or origin in allowed
