"""Request readers for the HTTP layer: sender facts, the client token, forms."""

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from lastseen import errors
from lastseen.enrich.client_ip import client_ip
from lastseen.enrich.useragent import ClientHints
from lastseen.service.activity import RequestFacts
from lastseen.settings import Settings

CLIENT_COOKIE = "__client"


def request_facts(request: Request, settings: Settings) -> RequestFacts:
    """Read the client IP address (trusted-proxy rules), the user agent and client hints."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist(settings.forwarded_header)
    return RequestFacts(
        ip_address=client_ip(peer, forwarded, settings.trusted_proxies, settings.forwarded_header),
        user_agent=request.headers.get("user-agent"),
        hints=ClientHints.from_headers(request.headers),
    )


def client_token(request: Request) -> str | None:
    """Read the client token: the ``__client`` cookie, or a native app's Authorization header."""
    header = request.headers.get("authorization", "").strip()
    if header:
        scheme, _, rest = header.partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest else header
    return request.cookies.get(CLIENT_COOKIE) or None


def is_native(request: Request) -> bool:
    """Tell whether the caller is a native app, which takes its client token from a header."""
    return "_is_native" in request.query_params or "authorization" in request.headers


def requested_session_id(request: Request, form: dict[str, str] | None = None) -> str | None:
    """Return the session the caller acts as: ``Clerk-Session-Id``, then ``_clerk_session_id``."""
    return (
        request.headers.get("clerk-session-id")
        or request.query_params.get("_clerk_session_id")
        or (form or {}).get("_clerk_session_id")
        or None
    )


async def read_form(request: Request) -> dict[str, str]:
    """Read a form-encoded or JSON body into a flat dict of strings."""
    body = await request.body()
    if not body:
        return {}

    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            data: Any = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return {str(key): "" if value is None else str(value) for key, value in data.items()}
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.ServiceError(
            400,
            "request_body_invalid",
            "Invalid request body",
            "The body must be a UTF-8 form (application/x-www-form-urlencoded) or a JSON object.",
        ) from exc
