"""The SDK's models and the decoding of Clerk's JSON shapes into them.

Decoding reads only the keys it needs and ignores the rest, so newer servers stay readable.
A body that lacks a required key or has one of the wrong type raises :class:`APIError` with
the code ``unexpected_response``, as does an error response without Clerk's error body.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from lastseen.errors import APIError

T = TypeVar("T")

UNEXPECTED_RESPONSE = "unexpected_response"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionActivity:
    """The latest activity of a session: browser, device, IP address and location.

    Clerk leaves out the facts it does not know, so every field but ``id`` and ``is_mobile``
    may be None. ``os_name`` to ``last_seen_at`` are lastseen's extensions to Clerk's shape.
    """

    id: str
    browser_name: str | None
    browser_version: str | None
    device_type: str | None
    ip_address: str | None
    city: str | None
    country: str | None
    is_mobile: bool
    os_name: str | None = None
    os_version: str | None = None
    # One of "desktop", "phone", "tablet", "bot", "library" or "unknown".
    device_category: str | None = None
    # ISO 3166-1 alpha-2, such as "GB". ``country`` is the English name.
    country_code: str | None = None
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseSessionWithActivities:
    """A session of the signed-in user on any client, with its latest activity.

    Times are timezone-aware UTC datetimes. ``status`` is Clerk's session status as sent,
    such as ``"active"`` or ``"revoked"``.
    """

    id: str
    status: str
    last_active_at: datetime
    abandon_at: datetime
    expire_at: datetime
    latest_activity: SessionActivity | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInResult:
    """A completed password sign-in."""

    session_id: str
    # None when the server leaves ``user_id`` out of the sign-in's ``user_data``.
    user_id: str | None


class MalformedBody(ValueError):
    """A response body that does not have the expected shape."""


# Responses


def read_json(response: httpx.Response) -> object:
    """Return the JSON body of a 2xx response, or raise :class:`APIError` for any other."""
    if not response.is_success:
        raise error_from_response(response)
    try:
        body: object = response.json()
    except ValueError:
        raise unexpected_response(response, "the body is not JSON") from None
    return body


def decode(response: httpx.Response, parse: Callable[[object], T]) -> T:
    """Parse the JSON body of a 2xx response with ``parse``, or raise :class:`APIError`."""
    body = read_json(response)
    try:
        return parse(body)
    except MalformedBody as exc:
        raise unexpected_response(response, str(exc)) from None


def error_from_response(response: httpx.Response) -> APIError:
    """Build the :class:`APIError` for an error response, from the first of Clerk's errors."""
    try:
        body: object = response.json()
    except ValueError:
        body = None

    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return unexpected_response(response, "the body is not Clerk's error body")

    first: dict[str, Any] = errors[0]
    code = first.get("code")
    return APIError(
        response.status_code,
        code if isinstance(code, str) and code else UNEXPECTED_RESPONSE,
        _text(first.get("message")),
        _text(first.get("long_message")),
        [error for error in errors if isinstance(error, dict)],
    )


def unexpected_response(response: httpx.Response, reason: str) -> APIError:
    request = response.request
    return APIError(
        response.status_code,
        UNEXPECTED_RESPONSE,
        "Unexpected response",
        f"{request.method} {request.url} returned HTTP {response.status_code} with an "
        f"unexpected body: {reason}. Check that the base URL points at a lastseen server.",
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# Shapes


def parse_activity(value: object) -> SessionActivity:
    body = _object(value, "latest_activity")
    return SessionActivity(
        id=_string(body, "id", "session_activity"),
        browser_name=_optional_string(body, "browser_name", "session_activity"),
        browser_version=_optional_string(body, "browser_version", "session_activity"),
        device_type=_optional_string(body, "device_type", "session_activity"),
        ip_address=_optional_string(body, "ip_address", "session_activity"),
        city=_optional_string(body, "city", "session_activity"),
        country=_optional_string(body, "country", "session_activity"),
        is_mobile=_boolean(body, "is_mobile", "session_activity"),
        os_name=_optional_string(body, "os_name", "session_activity"),
        os_version=_optional_string(body, "os_version", "session_activity"),
        device_category=_optional_string(body, "device_category", "session_activity"),
        country_code=_optional_string(body, "country_code", "session_activity"),
        last_seen_at=_optional_millis(body, "last_seen_at", "session_activity"),
    )


S = TypeVar("S", bound=BaseSessionWithActivities)


def parse_session(value: object, build: Callable[..., S]) -> S:
    """Parse a session object, with or without ``latest_activity``, through ``build``."""
    body = _object(value, "session")
    activity = body.get("latest_activity")
    return build(
        id=_string(body, "id", "session"),
        status=_string(body, "status", "session"),
        last_active_at=_millis(body, "last_active_at", "session"),
        abandon_at=_millis(body, "abandon_at", "session"),
        expire_at=_millis(body, "expire_at", "session"),
        latest_activity=None if activity is None else parse_activity(activity),
    )


def parse_sessions(value: object, build: Callable[..., S]) -> list[S]:
    """Parse the bare JSON array that ``GET /v1/me/sessions/active`` returns."""
    if not isinstance(value, list):
        raise MalformedBody(f"the body must be a JSON array of sessions, got {_show(value)}")
    return [parse_session(item, build) for item in value]


def parse_wrapped_session(value: object, build: Callable[..., S]) -> S:
    """Parse the session in a ``{"response": <session>, "client": <client>}`` body."""
    return parse_session(_object(value, "body").get("response"), build)


def parse_revoked_count(value: object) -> int:
    body = _object(value, "body")
    count = body.get("revoked_count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise MalformedBody(f"revoked_count must be a non-negative integer, got {_show(count)}")
    return count


def parse_sign_in(value: object) -> SignInResult:
    """Parse a sign-in attempt, which must be ``complete`` to have a session to act as."""
    attempt = _object(_object(value, "body").get("response"), "response")
    status = _string(attempt, "status", "sign_in_attempt")
    if status != "complete":
        raise MalformedBody(
            f"the sign-in status is {status!r}, but this SDK completes only password sign-ins"
        )

    user_data = attempt.get("user_data")
    user_id = None
    if user_data is not None:
        user_id = _optional_string(_object(user_data, "user_data"), "user_id", "user_data")
    return SignInResult(
        session_id=_string(attempt, "created_session_id", "sign_in_attempt"),
        user_id=user_id,
    )


# Fields


def _object(value: object, name: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise MalformedBody(f"{name} must be a JSON object, got {_show(value)}")
    return value


def _string(body: dict[str, object], key: str, owner: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise MalformedBody(f"{owner}.{key} must be a string, got {_show(value)}")
    return value


def _optional_string(body: dict[str, object], key: str, owner: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedBody(f"{owner}.{key} must be a string or absent, got {_show(value)}")
    return value


def _boolean(body: dict[str, object], key: str, owner: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise MalformedBody(f"{owner}.{key} must be true or false, got {_show(value)}")
    return value


def _millis(body: dict[str, object], key: str, owner: str) -> datetime:
    moment = _optional_millis(body, key, owner)
    if moment is None:
        raise MalformedBody(f"{owner}.{key} is missing, but Unix epoch milliseconds are required")
    return moment


def _optional_millis(body: dict[str, object], key: str, owner: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        # Adding a timedelta keeps every millisecond, where a float timestamp could round.
        try:
            return _EPOCH + timedelta(milliseconds=value)
        except OverflowError:
            pass
    raise MalformedBody(f"{owner}.{key} must be Unix epoch milliseconds, got {_show(value)}")


def _show(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def parse_token(value: object) -> str:
    """Read the ``jwt`` of a ``{"object": "token", "jwt": …}`` response."""
    if not isinstance(value, dict) or not isinstance(value.get("jwt"), str) or not value["jwt"]:
        raise ValueError("token response has no jwt string")
    jwt: str = value["jwt"]
    return jwt
