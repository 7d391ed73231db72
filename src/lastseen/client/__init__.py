"""A Python client for lastseen's frontend API, in blocking and asyncio flavours.

    from lastseen.client import Client

    with Client("http://127.0.0.1:8000", headers={"User-Agent": "my-app/1.0"}) as client:
        client.sign_in("ada@example.com", "correct horse battery")
        for session in client.user.get_sessions():
            if session.id != client.session_id:
                session.revoke()
        client.sign_out()

The client acts as one of Clerk's native clients: it signs in with ``?_is_native=1``,
keeps the client token that comes back in the ``Authorization`` response header, and sends
it raw in the ``Authorization`` header of later requests. ``AsyncClient`` does the same with
``await``.

Exceptions:

    lastseen.errors.APIError    an error response, or a body of the wrong shape
    httpx.TransportError        a network failure: connect, read, write or timeout

An error response raises ``APIError`` with the status and the code, message and long message
of the first of Clerk's errors. Its code is ``"unexpected_response"`` when the body is not
Clerk's error body, or when a 2xx body lacks a required key or has one of the wrong type.
The SDK does not wrap httpx's network exceptions.
"""

from lastseen.client._async import AsyncClient, AsyncCurrentUser, AsyncSessionWithActivities
from lastseen.client._models import SessionActivity, SignInResult
from lastseen.client._sync import Client, CurrentUser, SessionWithActivities
from lastseen.errors import APIError

__all__ = [
    "APIError",
    "AsyncClient",
    "AsyncCurrentUser",
    "AsyncSessionWithActivities",
    "Client",
    "CurrentUser",
    "SessionActivity",
    "SessionWithActivities",
    "SignInResult",
]
