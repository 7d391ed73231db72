"""The frontend API: what a signed-in browser or native app calls, on Clerk's paths."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lastseen import errors
from lastseen.domain import ids
from lastseen.domain.clock import to_millis
from lastseen.domain.sessions import Session
from lastseen.domain.users import Client, User
from lastseen.http import wire
from lastseen.http.origins import is_allowed_origin
from lastseen.http.requests import (
    CLIENT_COOKIE,
    client_token,
    is_native,
    read_form,
    request_facts,
    requested_session_id,
)
from lastseen.http.runtime import Runtime, runtime
from lastseen.service.requesters import Requester

router = APIRouter(prefix="/v1", tags=["frontend"])

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


# Helpers


def _check_origin(request: Request, rt: Runtime) -> None:
    """Reject browser writes from other origins: SameSite cookies plus an Origin check."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if "authorization" in request.headers:
        raise errors.ServiceError(
            400,
            "origin_authorization_headers_conflict",
            "Conflicting headers",
            "Send either an Origin header (browsers) or an Authorization header (native apps).",
        )
    if not is_allowed_origin(request, rt.settings.allowed_origins):
        raise errors.ServiceError(
            400,
            "origin_invalid",
            "Invalid origin",
            f"Origin {origin} is not allowed; add it to LASTSEEN_ALLOWED_ORIGINS.",
        )


async def _requester(
    request: Request, rt: Runtime, form: dict[str, str] | None = None
) -> Requester:
    reading = request.method == "GET"
    if not reading:
        _check_origin(request, rt)
    facts = request_facts(request, rt.settings)
    # Writes check the session in the database, never in the cache of recent requesters.
    return await rt.run(
        rt.sessions.authenticate,
        client_token(request),
        requested_session_id(request, form),
        facts,
        cached=reading,
    )


async def _client(request: Request, rt: Runtime) -> Client:
    if request.method != "GET":
        _check_origin(request, rt)
    client = await rt.run(rt.sessions.find_client, client_token(request))
    if client is None:
        raise _signed_out()
    return client


def _signed_out() -> Exception:
    return errors.signed_out("No client was found for this request; sign in first.")


def _cookie_max_age(rt: Runtime) -> timedelta:
    lifetimes = rt.settings.lifetimes
    return max(lifetimes.time_to_abandon, lifetimes.max_lifetime)


def _client_body(rt: Runtime, client: Client) -> dict[str, Any]:
    sessions = rt.sessions.list_client_sessions(client.id)
    users: dict[str, User] = {}
    for session in sessions:
        if session.user_id not in users:
            user = rt.sessions.store.get_user(session.user_id)
            if user is not None:
                users[user.id] = user
    fresh = rt.sessions.store.get_client(client.id) or client
    expires = to_millis(fresh.updated_at + _cookie_max_age(rt))
    return wire.client_json(fresh, sessions, users, expires)


def _wrapped(rt: Runtime, session: Session, user: User | None, client: Client) -> dict[str, Any]:
    return {
        "response": wire.frontend_session_json(session, user, activity=True),
        "client": _client_body(rt, client),
    }


# The two hot routes are registered first, because FastAPI (0.165) tries a router's routes
# in the order they were added, twice per request. No other route here matches their paths.
@router.get("/me/sessions/active", summary="The user's active sessions on every device")
async def list_active_sessions(request: Request) -> Response:
    rt = runtime(request)
    requester = await _requester(request, rt)
    sessions = await rt.run(rt.sessions.list_active_sessions, requester.user.id)
    return Response(wire.session_list_body(sessions), media_type="application/json")


@router.post("/client/sessions/{session_id}/tokens", summary="Mint a session token (JWT)")
async def create_session_token(session_id: str, request: Request) -> Response:
    rt = runtime(request)
    _check_origin(request, rt)
    # Signed-in pages request tokens continually, so the client and the session are read
    # in one query.
    found = await rt.run(rt.sessions.find_client_session, client_token(request), session_id)
    if found is None:
        raise _signed_out()
    await read_form(request)
    client, stored = found
    session = rt.sessions.on_client(client, session_id, stored)
    jwt = rt.tokens.mint(
        session, issuer=rt.issuer(request), authorized_party=request.headers.get("origin")
    )
    return JSONResponse({"object": "token", "jwt": jwt})


# Sign-in


@router.post("/client/sign_ins", summary="Sign in with an identifier and a password")
async def sign_in(request: Request) -> Response:
    rt = runtime(request)
    _check_origin(request, rt)
    form = await read_form(request)
    strategy = form.get("strategy", "password")
    if strategy != "password":
        raise errors.param_invalid("strategy", "must be 'password'; no other strategy is enabled.")
    if not form.get("identifier"):
        raise errors.param_missing("identifier")
    if not form.get("password"):
        raise errors.param_missing("password")

    facts = request_facts(request, rt.settings)
    # Hashing a password takes tens of milliseconds: never in the event loop.
    result = await run_in_threadpool(
        rt.accounts.sign_in,
        identifier=form["identifier"],
        password=form["password"],
        client_token=client_token(request),
        facts=facts,
    )
    body = {
        "response": {
            "object": "sign_in_attempt",
            "id": ids.new_id("sia_"),
            "status": "complete",
            "supported_identifiers": ["email_address", "username"],
            "identifier": form["identifier"],
            "user_data": wire.public_user_data_json(result.user),
            "supported_first_factors": [],
            "supported_second_factors": None,
            "first_factor_verification": None,
            "second_factor_verification": None,
            "created_session_id": result.session.id,
            "abandon_at": to_millis(result.session.abandon_at),
        },
        "client": await rt.run(_client_body, rt, result.client),
    }
    response = JSONResponse(body)
    if result.client_token is not None:
        _set_client_cookie(request, response, result.client_token, rt)
        if is_native(request):
            response.headers["authorization"] = result.client_token
    return response


def _set_client_cookie(request: Request, response: Response, token: str, rt: Runtime) -> None:
    # Secure everywhere but plain-HTTP loopback, where browsers would drop a Secure cookie.
    plain_loopback = request.url.scheme == "http" and request.url.hostname in _LOOPBACK_HOSTS
    response.set_cookie(
        CLIENT_COOKIE,
        token,
        max_age=int(_cookie_max_age(rt).total_seconds()),
        path="/",
        httponly=True,
        secure=not plain_loopback,
        samesite="lax",
    )


# The client


@router.get("/client", summary="The caller's client and the sessions on it")
async def get_client(request: Request) -> Response:
    rt = runtime(request)
    client = await rt.run(rt.sessions.find_client, client_token(request))
    if client is None:
        return JSONResponse({"response": None, "client": None})
    body = await rt.run(_client_body, rt, client)
    return JSONResponse({"response": body, "client": body})


@router.delete("/client/sessions", summary="Sign out of every session on this client")
async def remove_client_sessions(request: Request) -> Response:
    rt = runtime(request)
    client = await _client(request, rt)
    await rt.run(rt.sessions.remove_all, client)
    body = await rt.run(_client_body, rt, client)
    response = JSONResponse({"response": body, "client": None})
    # Signed out everywhere on this client: the token is worthless, so the browser drops it.
    response.delete_cookie(CLIENT_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/client/sessions/{session_id}", summary="One session of this client")
async def get_client_session(session_id: str, request: Request) -> Response:
    rt = runtime(request)
    client = await _client(request, rt)
    session = await rt.run(rt.sessions.client_session, client, session_id)
    user = await rt.run(rt.sessions.store.get_user, session.user_id)
    return JSONResponse(await rt.run(_wrapped, rt, session, user, client))


@router.post("/client/sessions/{session_id}/touch", summary="Mark a session as in use now")
async def touch_session(session_id: str, request: Request) -> Response:
    rt = runtime(request)
    client = await _client(request, rt)
    await read_form(request)
    facts = request_facts(request, rt.settings)
    session = await rt.run(rt.sessions.touch, client, session_id, facts)
    user = await rt.run(rt.sessions.store.get_user, session.user_id)
    return JSONResponse(await rt.run(_wrapped, rt, session, user, client))


@router.post("/client/sessions/{session_id}/end", summary="Sign out of a session; it stays ended")
async def end_session(session_id: str, request: Request) -> Response:
    rt = runtime(request)
    client = await _client(request, rt)
    session = await rt.run(rt.sessions.end, client, session_id)
    user = await rt.run(rt.sessions.store.get_user, session.user_id)
    return JSONResponse(await rt.run(_wrapped, rt, session, user, client))


@router.post("/client/sessions/{session_id}/remove", summary="Sign out and remove a session")
async def remove_session(session_id: str, request: Request) -> Response:
    rt = runtime(request)
    client = await _client(request, rt)
    session = await rt.run(rt.sessions.remove, client, session_id)
    user = await rt.run(rt.sessions.store.get_user, session.user_id)
    return JSONResponse(await rt.run(_wrapped, rt, session, user, client))


# The signed-in user's sessions


@router.get("/me/sessions", summary="All the user's sessions, any status")
async def list_sessions(request: Request) -> Response:
    rt = runtime(request)
    requester = await _requester(request, rt)
    sessions = await rt.run(rt.sessions.list_sessions, requester.user.id)
    return JSONResponse([wire.frontend_session_json(s, requester.user) for s in sessions])


@router.post(
    "/me/sessions/revoke_others",
    summary="Extension: revoke every other active session of the user",
)
async def revoke_other_sessions(request: Request) -> Response:
    rt = runtime(request)
    form = await read_form(request)
    requester = await _requester(request, rt, form)
    count = await rt.run(rt.sessions.revoke_other_sessions, requester)
    return JSONResponse(
        {
            "object": "revoked_sessions",
            "revoked_count": count,
            "current_session_id": requester.session.id,
        }
    )


@router.post("/me/sessions/{session_id}/revoke", summary="Revoke another session of the user")
async def revoke_session(session_id: str, request: Request) -> Response:
    rt = runtime(request)
    form = await read_form(request)
    requester = await _requester(request, rt, form)
    session = await rt.run(rt.sessions.revoke_session, requester, session_id)
    return JSONResponse(await rt.run(_wrapped, rt, session, requester.user, requester.client))


well_known = APIRouter(tags=["frontend"])


@well_known.get("/.well-known/jwks.json", summary="The public keys that verify session tokens")
async def jwks(request: Request) -> Response:
    rt = runtime(request)
    return JSONResponse(await rt.run(rt.keys.jwks))
