"""The sign-in page and the Active devices page, rendered on the server.

The pages call the same use-cases as the frontend API. Every page works without
JavaScript: each button is a form that posts and is redirected back (303) to a page that
shows a notice. ``devices.js`` sends the same posts with ``fetch`` and
``Accept: application/json``. Those requests get a JSON body back, and the script updates
the list in place.

The pages read the client token from the ``__client`` cookie only. An ``Authorization``
header is how native apps call the API, never how a browser shows a page.
"""

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from lastseen.errors import ServiceError
from lastseen.http.frontend import _set_client_cookie
from lastseen.http.origins import is_allowed_origin
from lastseen.http.requests import CLIENT_COOKIE, read_form, request_facts
from lastseen.http.runtime import Runtime, runtime
from lastseen.pages import csrf
from lastseen.pages.display import describe, device_cards, utc_iso, utc_text
from lastseen.service.requesters import Requester

logger = logging.getLogger("lastseen.pages")

router = APIRouter(include_in_schema=False)

SIGN_IN_PATH = "/sign-in"
SIGN_OUT_PATH = "/account/sign-out"
DEVICES_PATH = "/account/devices"
# GET shows the confirmation step, and POST signs the other devices out.
SIGN_OUT_OTHERS_PATH = "/account/devices/sign-out-others"

PACKAGE_DIR = Path(__file__).parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

_CONTENT_SECURITY_POLICY = "; ".join(
    (
        # Scripts, styles and images come from lastseen only. Inline scripts, inline style
        # attributes and every other host are blocked.
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

# Chromium sends only the brand, major version, platform and mobile flag unasked. Asking for
# these hints makes its later requests carry the full browser version, the operating system
# version and the phone model, which the session's activity records.
CLIENT_HINTS = (
    "Sec-CH-UA-Full-Version-List, Sec-CH-UA-Platform-Version, Sec-CH-UA-Model, "
    "Sec-CH-UA-Mobile, Sec-CH-UA-Platform"
)

SECURITY_HEADERS = {
    "content-security-policy": _CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "accept-ch": CLIENT_HINTS,
}

# Pages and their JSON replies show a user's devices and addresses, so no cache keeps them.
_PRIVATE_HEADERS = {**SECURITY_HEADERS, "cache-control": "no-store"}

_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Only the files that ship in the folder are served. A request names one file, never a path.
_STATIC_FILES = {path.name: path for path in STATIC_DIR.iterdir() if path.suffix in _STATIC_TYPES}

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    # User agents and GeoIP names come from outside, so every value is escaped.
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["utc_iso"] = utc_iso
_templates.filters["utc_text"] = utc_text


# Responses


def _render(template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=_PRIVATE_HEADERS)


def _redirect(url: str) -> RedirectResponse:
    # 303 makes the browser follow a form post with a GET, so a reload never posts again.
    return RedirectResponse(url, status_code=303, headers=_PRIVATE_HEADERS)


def _json(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=_PRIVATE_HEADERS)


def _wants_json(request: Request) -> bool:
    """Tell whether the post came from devices.js, which requests JSON instead of a redirect."""
    return "application/json" in request.headers.get("accept", "")


_FORBIDDEN = (
    "This form was sent from another site, or it has expired. Open the page again and retry."
)
_UNREADABLE = "The form could not be read. Open the page again and retry."


def _reject(request: Request, status_code: int, reason: str, message: str) -> Response:
    """Log a rejected form post and return a plain page, or JSON for devices.js."""
    logger.warning(
        "form post rejected path=%s status=%d reason=%s origin=%r",
        request.url.path,
        status_code,
        reason,
        request.headers.get("origin"),
    )
    if _wants_json(request):
        return _json({"error": message}, status_code)
    title = "Request rejected" if status_code == 403 else "Invalid form"
    return _render("message.html", status_code=status_code, title=title, message=message)


def _signed_out(request: Request) -> Response:
    if _wants_json(request):
        return _json({"error": "You are signed out.", "location": SIGN_IN_PATH}, 401)
    return _redirect(SIGN_IN_PATH)


def _done(request: Request, notice: str, *, removed: list[str], location: str) -> Response:
    """Finish a form post: JSON for devices.js, else a redirect to a page with the notice."""
    if _wants_json(request):
        return _json({"notice": notice, "removed": removed, "location": location})
    return _redirect(location)


# The caller


def _client_token(request: Request) -> str | None:
    return request.cookies.get(CLIENT_COOKIE) or None


def _is_allowed_origin(request: Request, rt: Runtime) -> bool:
    return is_allowed_origin(request, rt.settings.allowed_origins)


def _csrf_key(rt: Runtime) -> bytes:
    return csrf.derive_key(rt.keys.encryption_key)


async def _authenticate(request: Request, rt: Runtime) -> Requester | None:
    """Resolve the signed-in caller and record the request as activity.

    Returns None when the request has no live session.
    """
    facts = request_facts(request, rt.settings)
    try:
        return await rt.run(rt.sessions.authenticate, _client_token(request), None, facts)
    except ServiceError as exc:
        if exc.status_code != 401:
            raise
        return None


async def _authorize_post(request: Request, rt: Runtime) -> Requester | Response:
    """Check a form post's origin and CSRF token, then resolve the signed-in caller.

    Returns the response to send instead when a check fails.
    """
    if not _is_allowed_origin(request, rt):
        return _reject(request, 403, "origin not allowed", _FORBIDDEN)

    try:
        form = await read_form(request)
    except ServiceError as exc:
        return _reject(request, 400, f"unreadable body: {exc.code}", _UNREADABLE)

    # The token is checked before authenticating, so a forged post records no activity.
    client = await rt.run(rt.sessions.find_client, _client_token(request))
    if client is None:
        return _signed_out(request)
    if not csrf.is_valid_token(_csrf_key(rt), client.id, form.get(csrf.FIELD)):
        return _reject(request, 403, "missing or invalid CSRF token", _FORBIDDEN)

    requester = await _authenticate(request, rt)
    if requester is None:
        return _signed_out(request)
    return requester


# Pages


@router.get("/")
async def home() -> Response:
    return _redirect(DEVICES_PATH)


@router.get(SIGN_IN_PATH)
async def sign_in_page(request: Request) -> Response:
    rt = runtime(request)
    if await _authenticate(request, rt) is not None:
        return _redirect(DEVICES_PATH)
    notice = "You signed out." if "signed_out" in request.query_params else None
    return _render("sign_in.html", identifier="", error=None, error_field=None, notice=notice)


@router.post(SIGN_IN_PATH)
async def sign_in(request: Request) -> Response:
    """Sign in with the form's identifier and password, as ``POST /v1/client/sign_ins`` does."""
    rt = runtime(request)
    if not _is_allowed_origin(request, rt):
        return _reject(request, 403, "origin not allowed", _FORBIDDEN)

    try:
        form = await read_form(request)
    except ServiceError as exc:
        return _reject(request, 400, f"unreadable body: {exc.code}", _UNREADABLE)
    identifier = form.get("identifier", "").strip()
    password = form.get("password", "")

    if not identifier:
        return _sign_in_failed(identifier, "identifier", "Enter your email address or username.")
    if not password:
        return _sign_in_failed(identifier, "password", "Enter your password.")

    try:
        # Hashing a password takes tens of milliseconds: never in the event loop.
        result = await run_in_threadpool(
            rt.accounts.sign_in,
            identifier=identifier,
            password=password,
            client_token=_client_token(request),
            facts=request_facts(request, rt.settings),
        )
    except ServiceError as exc:
        if exc.code == "session_exists":
            # This browser already has a session of this user.
            return _redirect(DEVICES_PATH)
        if not 400 <= exc.status_code < 500:
            raise
        # A wrong identifier and a wrong password get one message, shown at the password.
        field = "identifier" if exc.meta.get("param_name") == "identifier" else "password"
        message = exc.long_message or exc.message
        return _sign_in_failed(identifier, field, message, exc.status_code)

    response = _redirect(DEVICES_PATH)
    if result.client_token is not None:
        _set_client_cookie(request, response, result.client_token, rt)
    return response


def _sign_in_failed(
    identifier: str, field: str, error: str, status_code: int = 422
) -> HTMLResponse:
    """Render the form again with ``error``, marking ``field`` invalid and focusing it.

    The identifier is filled in again so that only the password has to be retyped.
    """
    return _render(
        "sign_in.html",
        status_code=status_code,
        identifier=identifier,
        error=error,
        error_field=field,
        notice=None,
    )


@router.get(DEVICES_PATH)
async def devices_page(request: Request) -> Response:
    return await _devices(request, confirming=False)


@router.get(SIGN_OUT_OTHERS_PATH)
async def confirm_sign_out_others(request: Request) -> Response:
    """Show the devices page with the step that confirms signing out every other device."""
    return await _devices(request, confirming=True)


async def _devices(request: Request, *, confirming: bool) -> Response:
    rt = runtime(request)
    requester = await _authenticate(request, rt)
    if requester is None:
        return _redirect(SIGN_IN_PATH)

    sessions = await rt.run(rt.sessions.list_active_sessions, requester.user.id)
    cards = device_cards(sessions, requester.session.id, rt.sessions.clock())
    others = sum(not card.is_current for card in cards)
    notice = await _notice(rt, requester, request.query_params.get("signed_out"))
    return _render(
        "devices.html",
        user=requester.user.identifier,
        cards=cards,
        others=others,
        confirming=confirming and others > 0,
        notice=notice,
        csrf_field=csrf.FIELD,
        csrf_token=csrf.make_token(_csrf_key(rt), requester.client.id),
    )


async def _notice(rt: Runtime, requester: Requester, signed_out: str | None) -> str | None:
    """Build the notice after a redirect from ``?signed_out=``.

    The query names what was signed out, and the notice is built from the stored session.
    A link from elsewhere can therefore only show a true notice about the user's own
    devices, never text of its choosing.
    """
    if not signed_out:
        return None
    if signed_out == "others":
        return "Signed out of all other devices."

    session = await rt.run(rt.sessions.get_session, signed_out)
    if session is None or session.user_id != requester.user.id:
        return None
    if session.is_live_at(rt.sessions.clock()):
        return None
    return f"Signed out of {describe(session)}."


# Form posts


@router.post("/account/devices/{session_id}/sign-out")
async def sign_out_device(session_id: str, request: Request) -> Response:
    """Sign another device out: revoke that session, as ``POST /v1/me/sessions/{id}/revoke``."""
    rt = runtime(request)
    checked = await _authorize_post(request, rt)
    if isinstance(checked, Response):
        return checked
    requester = checked

    back = f"{DEVICES_PATH}?{urlencode({'signed_out': session_id})}"
    if session_id == requester.session.id:
        # The current session is signed out with the page's own Sign out button instead.
        notice = "This is the device you are using. Use Sign out at the top of the page."
        if _wants_json(request):
            return _json({"error": notice}, 400)
        return _redirect(DEVICES_PATH)

    try:
        session = await rt.run(rt.sessions.revoke_session, requester, session_id)
    except ServiceError as exc:
        # Signed out already (from another tab or device), expired, or not this user's:
        # in every case the session is no longer in the user's list.
        logger.info(
            "sign-out of device skipped session_id=%s user_id=%s code=%s",
            session_id,
            requester.user.id,
            exc.code,
        )
        return _done(
            request, "That device was already signed out.", removed=[session_id], location=back
        )
    return _done(
        request, f"Signed out of {describe(session)}.", removed=[session_id], location=back
    )


@router.post(SIGN_OUT_OTHERS_PATH)
async def sign_out_others(request: Request) -> Response:
    """Sign out every other device of the user, as ``POST /v1/me/sessions/revoke_others``."""
    rt = runtime(request)
    checked = await _authorize_post(request, rt)
    if isinstance(checked, Response):
        return checked
    requester = checked

    sessions = await rt.run(rt.sessions.list_active_sessions, requester.user.id)
    await rt.run(rt.sessions.revoke_other_sessions, requester)
    others = [session.id for session in sessions if session.id != requester.session.id]
    back = f"{DEVICES_PATH}?signed_out=others"
    return _done(request, "Signed out of all other devices.", removed=others, location=back)


@router.post(SIGN_OUT_PATH)
async def sign_out(request: Request) -> Response:
    """Sign out of this device: remove the current session, as the frontend API's remove."""
    rt = runtime(request)
    checked = await _authorize_post(request, rt)
    if isinstance(checked, Response):
        return checked
    requester = checked

    await rt.run(rt.sessions.remove, requester.client, requester.session.id)
    location = f"{SIGN_IN_PATH}?signed_out=1"
    return _done(request, "You signed out.", removed=[requester.session.id], location=location)


# Static files


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """Serve a stylesheet, script or icon of the pages, with the pages' security headers."""
    path = _STATIC_FILES.get(name)
    if path is None:
        raise HTTPException(404, f"No static file is named {name!r}.")
    # "no-cache" lets browsers keep a copy but check it on each use, so an upgrade of
    # lastseen never runs an old script against a new page.
    headers = {**SECURITY_HEADERS, "cache-control": "no-cache"}
    return FileResponse(path, media_type=_STATIC_TYPES[path.suffix], headers=headers)
