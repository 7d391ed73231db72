"""The backend API: server-to-server calls authenticated by a secret key."""

import hmac
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from lastseen import errors
from lastseen.domain.clock import from_millis, to_millis
from lastseen.domain.sessions import SessionStatus
from lastseen.enrich.client_ip import IPAddress, parse_ip
from lastseen.enrich.useragent import ClientHints
from lastseen.http import wire
from lastseen.http.runtime import Runtime, runtime
from lastseen.service.activity import RequestFacts

# Statuses a session list can be filtered by; ``pending`` is not among them in Clerk's API.
ListableStatus = Literal[
    "abandoned", "active", "ended", "expired", "removed", "replaced", "revoked"
]


async def require_secret_key(request: Request) -> None:
    """Check ``Authorization: Bearer sk_…`` against the bootstrap key and the stored keys."""
    header = request.headers.get("authorization")
    scheme, _, key = (header or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise errors.ServiceError(
            401,
            "authorization_header_format_invalid",
            "Invalid Authorization header format",
            "Send the secret key as 'Authorization: Bearer sk_…'.",
        )

    rt = runtime(request)
    bootstrap = rt.settings.secret_key
    if bootstrap is not None and hmac.compare_digest(key.encode(), bootstrap.encode()):
        return
    if not await rt.run(rt.secret_keys.check, key):
        raise errors.ServiceError(401, "clerk_key_invalid", "Secret key invalid", "")


class SecretKeyRoute(APIRoute):
    """A route that checks the secret key before FastAPI reads and validates the body.

    A dependency would run after body validation, so a caller without a key would learn
    what the body should contain before learning that the key is missing.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            await require_secret_key(request)
            return await handler(request)

        return authenticated


router = APIRouter(prefix="/v1", tags=["backend"], route_class=SecretKeyRoute)

Limit = Annotated[int, Query(ge=1, le=500, description="page size, 1 to 500")]
Offset = Annotated[int, Query(ge=0, description="how many results to skip")]


# Sessions


@router.get("/sessions", summary="List sessions, newest first")
async def list_sessions(
    request: Request,
    user_id: str | None = None,
    client_id: str | None = None,
    status: ListableStatus | None = None,
    paginated: bool = False,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    rt = runtime(request)
    found, total = await rt.run(
        rt.sessions.search,
        user_id=user_id,
        client_id=client_id,
        status=None if status is None else SessionStatus(status),
        limit=limit,
        offset=offset,
    )
    data = [wire.backend_session_json(session) for session in found]
    if paginated:
        return JSONResponse({"data": data, "total_count": total})
    return JSONResponse(data)


@router.get("/sessions/{session_id}", summary="One session")
async def get_session(session_id: str, request: Request) -> Response:
    rt = runtime(request)
    session = await rt.run(rt.sessions.get_session, session_id)
    if session is None:
        raise errors.session_not_found(session_id)
    return JSONResponse(wire.backend_session_json(session))


class RequestFactsBody(BaseModel):
    """Extension fields: the end user's request facts, passed on by a host app."""

    model_config = ConfigDict(extra="ignore")

    user_agent: str | None = Field(default=None, max_length=8192)
    ip_address: str | None = Field(default=None, max_length=64)
    client_hints: dict[str, str] | None = Field(default=None, max_length=16)

    def facts(self) -> RequestFacts:
        return RequestFacts(
            ip_address=_ip(self.ip_address),
            user_agent=self.user_agent,
            hints=ClientHints.from_headers(self.client_hints or {}),
        )


class CreateSession(RequestFactsBody):
    """Clerk's create-session body, plus the end user's request facts."""

    user_id: str = Field(max_length=64)
    active_organization_id: str | None = Field(default=None, max_length=64)


@router.post("/sessions", summary="Start an active session for a user")
async def create_session(body: CreateSession, request: Request) -> Response:
    rt = runtime(request)
    session = await rt.run(rt.accounts.start_session, body.user_id, body.facts())
    return JSONResponse(wire.backend_session_json(session))


@router.post(
    "/sessions/{session_id}/touch",
    summary="Extension: record a host app's request as the session's activity",
)
async def touch_session(session_id: str, body: RequestFactsBody, request: Request) -> Response:
    rt = runtime(request)
    session = await rt.run(rt.sessions.report_activity, session_id, body.facts())
    return JSONResponse(wire.backend_session_json(session))


@router.get(
    "/revocations",
    summary="Extension: ids of sessions that stopped authenticating since a time",
)
async def list_revocations(
    request: Request,
    since: Annotated[int, Query(ge=0, description="Unix milliseconds")],
) -> Response:
    rt = runtime(request)
    now = rt.sessions.clock()
    try:
        since_time = from_millis(since)
    except (OverflowError, OSError, ValueError) as exc:
        raise errors.param_invalid("since", "must be Unix milliseconds.") from exc
    ended = await rt.run(rt.sessions.ended_since, since_time)
    return JSONResponse(
        {"object": "revocations", "session_ids": ended, "server_time": to_millis(now)}
    )


@router.post("/sessions/{session_id}/revoke", summary="Revoke a session")
async def revoke_session(session_id: str, request: Request) -> Response:
    rt = runtime(request)
    session = await rt.run(rt.sessions.revoke_by_admin, session_id)
    return JSONResponse(wire.backend_session_json(session))


class CreateToken(BaseModel):
    model_config = ConfigDict(extra="ignore")

    expires_in_seconds: int | None = Field(default=None, ge=30, le=315_360_000)


@router.post("/sessions/{session_id}/tokens", summary="Mint a session token")
async def create_session_token(
    session_id: str, request: Request, body: CreateToken | None = None
) -> Response:
    rt = runtime(request)
    session = await rt.run(rt.sessions.get_session, session_id)
    if session is None:
        raise errors.session_not_found(session_id)
    seconds = body.expires_in_seconds if body else None
    jwt = rt.tokens.mint(
        session,
        issuer=rt.issuer(request),
        lifetime=timedelta(seconds=seconds) if seconds else None,
    )
    return JSONResponse({"object": "token", "jwt": jwt})


@router.get("/jwks", summary="The public keys that verify session tokens")
async def get_jwks(request: Request) -> Response:
    rt = runtime(request)
    return JSONResponse(await rt.run(rt.keys.jwks))


# Users


class CreateUser(BaseModel):
    """Clerk's create-user body, limited to what lastseen stores."""

    model_config = ConfigDict(extra="ignore")

    email_address: list[str] = Field(default_factory=list, max_length=1)
    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=256)
    external_id: str | None = Field(default=None, max_length=255)
    first_name: str | None = Field(default=None, max_length=255)
    last_name: str | None = Field(default=None, max_length=255)


@router.post("/users", summary="Create a user")
async def create_user(body: CreateUser, request: Request) -> Response:
    rt: Runtime = runtime(request)
    user = await run_in_threadpool(
        rt.accounts.create_user,
        password=body.password,
        email_address=body.email_address[0] if body.email_address else None,
        username=body.username,
        external_id=body.external_id,
        first_name=body.first_name,
        last_name=body.last_name,
    )
    return JSONResponse(wire.user_json(user))


ListFilter = Annotated[list[str], Query(max_length=100)]


@router.get("/users", summary="List users, newest first")
async def list_users(
    request: Request,
    user_id: ListFilter = [],  # noqa: B006 - FastAPI copies query defaults per request
    email_address: ListFilter = [],  # noqa: B006
    username: ListFilter = [],  # noqa: B006
    external_id: ListFilter = [],  # noqa: B006
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    rt = runtime(request)
    found = await rt.run(
        rt.sessions.store.search_users,
        user_ids=user_id,
        email_addresses=email_address,
        usernames=username,
        external_ids=external_id,
        limit=limit,
        offset=offset,
    )
    return JSONResponse([wire.user_json(user) for user in found])


@router.get("/users/{user_id}", summary="One user")
async def get_user(user_id: str, request: Request) -> Response:
    rt = runtime(request)
    user = await rt.run(rt.sessions.store.get_user, user_id)
    if user is None:
        raise errors.ServiceError(
            404, "resource_not_found", "User not found", f"No user was found with id {user_id}"
        )
    return JSONResponse(wire.user_json(user))


@router.delete("/users/{user_id}", summary="Delete a user and revoke their sessions")
async def delete_user(user_id: str, request: Request) -> Response:
    rt = runtime(request)
    await rt.run(rt.accounts.delete_user, user_id)
    body: dict[str, Any] = {"object": "user", "id": user_id, "deleted": True}
    return JSONResponse(body)


def _ip(value: str | None) -> IPAddress | None:
    if value is None or not value.strip():
        return None
    address = parse_ip(value)
    if address is None:
        raise errors.param_invalid("ip_address", "must be an IPv4 or IPv6 address.")
    return address
