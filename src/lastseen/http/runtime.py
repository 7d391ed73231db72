"""The objects a running app shares between requests, and how it calls the store."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from lastseen.service.accounts import Accounts
from lastseen.service.sessions import Sessions
from lastseen.service.tokens import KeyRing, SecretKeys, Tokens
from lastseen.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Runtime:
    settings: Settings
    sessions: Sessions
    accounts: Accounts
    keys: KeyRing
    tokens: Tokens
    secret_keys: SecretKeys
    #: Run store calls in the event loop. SQLite returns in microseconds, far below the cost
    #: of a hop to a worker thread. A network database goes to the thread pool instead.
    in_loop: bool

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self.in_loop:
            return function(*args, **kwargs)
        return await run_in_threadpool(function, *args, **kwargs)

    def issuer(self, request: Request) -> str:
        """Return the ``iss`` of session tokens: the configured issuer, else the request origin."""
        return self.settings.issuer or f"{request.url.scheme}://{request.url.netloc}"


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value
