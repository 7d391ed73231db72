"""The signed-in state that the sync and async clients share, and the requests that carry it."""

from collections.abc import Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import quote

import httpx

from lastseen.client._models import SignInResult, decode, parse_sign_in, unexpected_response

DEFAULT_TIMEOUT = 10.0


class BaseClient:
    """The client token and current session of a native Clerk client, and request building.

    ``client_token`` and ``session_id`` are public so that an app can store them after
    ``sign_in`` and pass them to a new client later to stay signed in.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_token: str | None,
        session_id: str | None,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_token = client_token
        self.session_id = session_id
        self.headers = dict(headers or {})

    def _url(self, path: str) -> str:
        return f"{self.base_url}/v1{path}"

    def _headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.client_token:
            # Sent raw, without "Bearer ", as Clerk's native clients send it.
            headers["Authorization"] = self.client_token
        return headers

    def _params(self, *, current_session: bool, native: bool) -> dict[str, str]:
        params = {}
        if native:
            params["_is_native"] = "1"
        if current_session and self.session_id:
            params["_clerk_session_id"] = self.session_id
        return params

    def _accept_sign_in(self, response: httpx.Response) -> SignInResult:
        """Store the client token and session of a sign-in response."""
        result = decode(response, parse_sign_in)

        # The server sends a token only when the sign-in created the client.
        token = response.headers.get("authorization") or self.client_token
        if not token:
            raise unexpected_response(
                response, "it carries no client token in its Authorization header"
            )

        self.client_token = token
        self.session_id = result.session_id
        return result


def session_path(session_id: str, action: str) -> str:
    # Quoting keeps an id such as "../x" inside its path segment.
    return f"/me/sessions/{quote(session_id, safe='')}/{action}"


def client_session_path(session_id: str, action: str) -> str:
    return f"/client/sessions/{quote(session_id, safe='')}/{action}"


def cookieless_jar() -> CookieJar:
    """Return a cookie jar that stores nothing.

    The server also sets the client token as the ``__client`` cookie. Keeping it would let a
    client stay signed in after its ``client_token`` was cleared, so the header is the only
    credential the SDK sends.
    """
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
