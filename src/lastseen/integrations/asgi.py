"""LastseenMiddleware: verify session tokens in any ASGI app, and record session activity.

    app.add_middleware(
        LastseenMiddleware,
        api_url="http://127.0.0.1:8000",   # the lastseen service
        secret_key="sk_live_…",            # for activity reports and revocation polling
        check_revocation=True,
    )

    @app.get("/me")
    def me(auth: Auth = Depends(require_session)) -> dict[str, str]:
        return {"user_id": auth.user_id}

Each HTTP request gets ``request.state.auth``, an :class:`Auth` that is signed in or not.
The session token comes from ``Authorization: Bearer`` or the ``__session`` cookie and is
verified offline against a cached JWKS. A token seen before is recognised by its SHA-256
without checking the signature again, until it expires.
"""

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lastseen.domain.clock import system_clock
from lastseen.enrich.client_ip import TrustedProxies, client_ip
from lastseen.enrich.useragent import ClientHints
from lastseen.integrations.activity import (
    ActivityReport,
    ActivityReporter,
    ActivityTransport,
    HTTPActivityTransport,
)
from lastseen.integrations.revocation import (
    PollingRevocations,
    RedisRevocations,
    RevocationSource,
    RevokedSessions,
)
from lastseen.tokens.verify import (
    JWKS,
    CachedJWKS,
    SessionClaims,
    TokenError,
    verify_session_token,
)

logger = logging.getLogger("lastseen.integrations")

SESSION_COOKIE = "__session"


@dataclass(frozen=True, slots=True)
class Auth:
    """The sender of a request: a signed-in user and session, or signed out with the reason."""

    user_id: str | None = None
    session_id: str | None = None
    status: str | None = None
    claims: SessionClaims | None = None
    #: Why the request is signed out: "no token", "expired", "revoked", … (None when signed in).
    reason: str | None = "no token"

    @property
    def is_signed_in(self) -> bool:
        return self.session_id is not None


class SessionRequired(Exception):
    """Raised by :func:`require_session`. The middleware turns it into a 401 in Clerk's format."""

    def __init__(self, auth: Auth) -> None:
        super().__init__(auth.reason or "signed out")
        self.auth = auth


def require_session(request: Request) -> Auth:
    """Return the signed-in :class:`Auth`, else raise SessionRequired; a FastAPI dependency."""
    auth = getattr(request.state, "auth", None)
    if not isinstance(auth, Auth):
        raise RuntimeError("require_session needs LastseenMiddleware in front of the app")
    if not auth.is_signed_in:
        raise SessionRequired(auth)
    return auth


class LastseenMiddleware:
    """Pure ASGI middleware; every setting is a keyword argument."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_url: str | None = None,
        secret_key: str | None = None,
        jwks: JWKS | CachedJWKS | Mapping[str, Any] | None = None,
        authorized_parties: Collection[str] | None = None,
        leeway: timedelta = timedelta(seconds=5),
        trusted_proxies: str | TrustedProxies = "",
        forwarded_header: str = "x-forwarded-for",
        report_activity: bool = True,
        activity_transport: ActivityTransport | None = None,
        touch_interval: timedelta = timedelta(seconds=60),
        queue_size: int = 1000,
        check_revocation: bool = False,
        revocations: RevocationSource | None = None,
        redis_url: str | None = None,
        poll_interval: timedelta = timedelta(milliseconds=500),
        verified_cache_size: int = 10_000,
        clock: Callable[[], datetime] = system_clock,
    ) -> None:
        self.app = app
        self.clock = clock
        self.authorized_parties = authorized_parties
        self.leeway = leeway
        self.forwarded_header = forwarded_header
        self.trusted_proxies = (
            TrustedProxies.parse(trusted_proxies)
            if isinstance(trusted_proxies, str)
            else trusted_proxies
        )

        if jwks is None:
            if api_url is None:
                raise ValueError("LastseenMiddleware needs jwks= or api_url= to verify tokens")
            jwks = CachedJWKS.from_url(f"{api_url.rstrip('/')}/.well-known/jwks.json")
        self.jwks = jwks

        if report_activity and activity_transport is None and api_url and secret_key:
            activity_transport = HTTPActivityTransport(api_url, secret_key)
        self.reporter = (
            ActivityReporter(
                activity_transport,
                touch_interval=touch_interval,
                queue_size=queue_size,
                clock=clock,
            )
            if report_activity and activity_transport is not None
            else None
        )

        self.revoked: RevokedSessions | None = None
        self.revocations = None
        if check_revocation:
            self.revoked = RevokedSessions(clock=clock)
            self.revocations = revocations or _default_revocations(
                redis_url, api_url, secret_key, poll_interval
            )

        self.verified_cache_size = verified_cache_size
        # The Auth of each verified token, by the SHA-256 of the token, with the time after
        # which it must be verified again. Auth is frozen, so requests can share one.
        self._verified: OrderedDict[bytes, tuple[datetime, Auth]] = OrderedDict()
        self._started = False

        # Wrapped around a whole Starlette or FastAPI app, this middleware sits outside the
        # app's own error middleware, which would turn SessionRequired into a 500 first.
        if isinstance(app, Starlette):
            app.add_exception_handler(SessionRequired, _signed_out_response)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        if not self._started:
            await self.start()

        headers = Headers(scope=scope)
        auth = self.authenticate(headers)
        scope.setdefault("state", {})["auth"] = auth
        if auth.is_signed_in and self.reporter is not None:
            self._report(scope, headers, auth)

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except SessionRequired as exc:
            if started:
                raise
            response = await _signed_out_response(Request(scope), exc)
            await response(scope, receive, send)

    def authenticate(self, headers: Headers) -> Auth:
        """Return the request's Auth; any token problem means signed out, never an error."""
        token, problem = _read_token(headers)
        if token is None:
            return Auth(reason=problem)

        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        now = self.clock()
        verified = self._verified.get(digest)
        if verified is None or verified[0] <= now:
            try:
                claims = verify_session_token(
                    token,
                    self.jwks,
                    authorized_parties=self.authorized_parties,
                    leeway=self.leeway,
                    now=now,
                )
            except TokenError as exc:
                return Auth(reason=type(exc).__name__)
            auth = Auth(
                user_id=claims.user_id,
                session_id=claims.session_id,
                status=claims.status,
                claims=claims,
                reason=None,
            )
            verified = (claims.expires_at + self.leeway, auth)
            self._remember(digest, verified)

        auth = verified[1]
        if self.revoked is not None and auth.session_id in self.revoked:
            return Auth(reason="revoked")
        return auth

    async def start(self) -> None:
        """Start the revocation source; runs on the first request or at app start-up."""
        self._started = True
        if self.revocations is not None and self.revoked is not None:
            await self.revocations.start(self.revoked)

    async def stop(self) -> None:
        if self.revocations is not None:
            await self.revocations.stop()
        if self.reporter is not None:
            await self.reporter.close()

    def _remember(self, digest: bytes, verified: tuple[datetime, Auth]) -> None:
        self._verified[digest] = verified
        if len(self._verified) > self.verified_cache_size:
            self._verified.popitem(last=False)

    def _report(self, scope: Scope, headers: Headers, auth: Auth) -> None:
        # Most requests fall within the touch interval: skip reading their facts.
        if (
            self.reporter is None
            or auth.session_id is None
            or not self.reporter.due(auth.session_id)
        ):
            return
        peer = scope.get("client")
        address = client_ip(
            peer[0] if peer else None,
            headers.getlist(self.forwarded_header),
            self.trusted_proxies,
            self.forwarded_header,
        )
        self.reporter.report(
            ActivityReport(
                session_id=auth.session_id,
                ip_address=address,
                user_agent=headers.get("user-agent"),
                hints=ClientHints.from_headers(headers),
            )
        )

    def _lifespan_receive(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and not self._started:
                await self.start()
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
            return message

        return wrapped


def _read_token(headers: Headers) -> tuple[str | None, str]:
    """Read the token from the Authorization header or the ``__session`` cookie."""
    authorization, cookie_header = _first_values(headers, b"authorization", b"cookie")

    header_token = None
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, "malformed authorization header"
        header_token = value.strip()

    cookie_token = None
    if cookie_header:
        # Starlette's parser, as browsers do, skips a malformed cookie and reads the rest;
        # http.cookies.SimpleCookie stops at the first one and loses what follows.
        cookie_token = cookie_parser(cookie_header).get(SESSION_COOKIE) or None

    if header_token and cookie_token and header_token != cookie_token:
        # Two different credentials: refusing both is safer than guessing which is meant.
        return None, "header and cookie tokens differ"
    token = header_token or cookie_token
    return (token, "") if token else (None, "no token")


def _first_values(headers: Headers, first: bytes, second: bytes) -> tuple[str | None, str | None]:
    """Return the first value of two headers, as ``Headers.get`` would, in one pass."""
    # Each Headers.get scans the whole list, and this runs on every request.
    found: dict[bytes, str] = {}
    for name, value in headers.raw:
        if name in (first, second) and name not in found:
            found[name] = value.decode("latin-1")
    return found.get(first), found.get(second)


def _default_revocations(
    redis_url: str | None, api_url: str | None, secret_key: str | None, interval: timedelta
) -> RevocationSource:
    if redis_url:
        return RedisRevocations(redis_url)
    if api_url and secret_key:
        return PollingRevocations(api_url, secret_key, interval=interval)
    raise ValueError(
        "check_revocation=True needs redis_url=, or api_url= and secret_key= for polling, "
        "or revocations="
    )


async def _signed_out_response(_request: Request, exc: Exception) -> Response:
    reason = exc.auth.reason if isinstance(exc, SessionRequired) else None
    body = {
        "errors": [
            {
                "message": "Signed out",
                "long_message": "This request needs a signed-in session.",
                "code": "signed_out",
                "meta": {"reason": reason},
            }
        ],
        "meta": {},
    }
    return JSONResponse(body, status_code=401)
