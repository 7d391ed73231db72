"""The blocking client: :class:`Client`, ``client.user`` and :class:`SessionWithActivities`."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType

import httpx

from lastseen.client._base import (
    DEFAULT_TIMEOUT,
    BaseClient,
    client_session_path,
    cookieless_jar,
    session_path,
)
from lastseen.client._models import (
    BaseSessionWithActivities,
    SignInResult,
    decode,
    parse_revoked_count,
    parse_sessions,
    parse_token,
    parse_wrapped_session,
    read_json,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionWithActivities(BaseSessionWithActivities):
    """A session of the signed-in user, fetched by a :class:`Client`."""

    _client: "Client" = field(repr=False, compare=False)

    def revoke(self) -> "SessionWithActivities":
        """Revoke this session through the client that fetched it, and return it revoked."""
        return self._client.user.revoke_session(self.id)


class CurrentUser:
    """The signed-in user's sessions on every client, as ``client.user``."""

    def __init__(self, client: "Client") -> None:
        self._client = client
        self._build = partial(SessionWithActivities, _client=client)

    def get_sessions(self) -> list[SessionWithActivities]:
        """Return the user's active sessions on every client, each with its latest activity."""
        response = self._client._send("GET", "/me/sessions/active", current_session=True)
        return decode(response, lambda body: parse_sessions(body, self._build))

    def revoke_session(self, session_id: str) -> SessionWithActivities:
        """Revoke another session of the user, and return it revoked.

        The current session gets 400 ``invalid_action_for_session`` (call ``sign_out`` for it),
        and an id that is not the user's gets 401 ``action_for_session_not_authorized``.
        """
        path = session_path(session_id, "revoke")
        response = self._client._send("POST", path, current_session=True)
        return decode(response, lambda body: parse_wrapped_session(body, self._build))

    def revoke_other_sessions(self) -> int:
        """Revoke every active session of the user but the current one, and return the count."""
        path = "/me/sessions/revoke_others"
        response = self._client._send("POST", path, current_session=True)
        return decode(response, parse_revoked_count)


class Client(BaseClient):
    """A blocking client for a lastseen server's frontend API, signed in as one user.

    ``base_url`` is the server's root, without ``/v1``. ``headers`` go with every request,
    for example a ``User-Agent``. ``timeout`` is httpx's, in seconds. ``transport`` or a whole
    ``http_client`` can be injected, for tests among other uses. An injected ``http_client``
    keeps its own timeout and cookie jar, and :meth:`close` leaves it open.

    Error responses raise :class:`lastseen.errors.APIError`. Network failures raise httpx's
    own exceptions (``httpx.TransportError`` and its subclasses) unchanged.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_token: str | None = None,
        session_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            base_url, client_token=client_token, session_id=session_id, headers=headers
        )
        if http_client is not None and transport is not None:
            raise ValueError("pass either transport or http_client, not both")

        self._owns_http_client = http_client is None
        self._http = http_client or httpx.Client(
            timeout=timeout, transport=transport, cookies=cookieless_jar()
        )
        self.user = CurrentUser(self)

    def sign_in(self, identifier: str, password: str) -> SignInResult:
        """Sign in with an email address or username and a password.

        The new session becomes the current one. A wrong password and an unknown identifier
        both raise the same 422 ``form_password_incorrect``. Signing in again as a user who is
        signed in on this client raises 400 ``session_exists``.
        """
        form = {"identifier": identifier, "password": password, "strategy": "password"}
        response = self._send("POST", "/client/sign_ins", form=form, native=True)
        return self._accept_sign_in(response)

    def get_token(self) -> str:
        """Mint a session token (a JWT, valid 60 s by default) for the current session.

        Host apps send it as ``Authorization: Bearer`` or the ``__session`` cookie, where
        ``LastseenMiddleware`` verifies it without calling lastseen.
        """
        if self.session_id is None:
            raise ValueError("get_token needs a current session: call sign_in first")
        response = self._send("POST", client_session_path(self.session_id, "tokens"))
        return decode(response, parse_token)

    def sign_out(self) -> None:
        """Sign out of the current session, or of every session on this client if none is set.

        The session is forgotten even when the server rejects the request, for example with
        400 ``invalid_action_for_session`` because the session was already revoked.
        """
        if self.session_id is not None:
            method, path = "POST", client_session_path(self.session_id, "remove")
        elif self.client_token is not None:
            method, path = "DELETE", "/client/sessions"
        else:
            return

        try:
            read_json(self._send(method, path))
        finally:
            self.session_id = None

    def close(self) -> None:
        """Close the HTTP connections, unless the HTTP client was injected."""
        if self._owns_http_client:
            self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        current_session: bool = False,
        form: dict[str, str] | None = None,
        native: bool = False,
    ) -> httpx.Response:
        return self._http.request(
            method,
            self._url(path),
            params=self._params(current_session=current_session, native=native),
            data=form,
            headers=self._headers(),
        )
