"""The revocation check: a local set of ended sessions whose tokens a host app refuses.

Without it a revoked session's token keeps verifying until it expires (the token lifetime,
60 s by default). With it, lastseen pushes ended session ids to every host process:

- Redis pub/sub: a message arrives within milliseconds of the revocation. While Redis is
  unreachable, nothing arrives, and tokens fall back to expiring.
- Polling ``GET /v1/revocations``: within one poll interval plus one request.
- In process: the service calls the set directly, before the revoking request returns.
"""

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from lastseen.domain.clock import system_clock, to_millis
from lastseen.service.revocations import REVOCATION_CHANNEL

logger = logging.getLogger("lastseen.integrations")

# An ended session is remembered this long: longer than any session token can live.
REMEMBER_FOR = timedelta(hours=1)


class RevokedSessions:
    """Ids of sessions that stopped authenticating, each forgotten after ``remember_for``."""

    def __init__(
        self,
        *,
        remember_for: timedelta = REMEMBER_FOR,
        clock: Callable[[], datetime] = system_clock,
    ) -> None:
        self.remember_for = remember_for
        self.clock = clock
        self._until: dict[str, datetime] = {}

    def add(self, session_ids: Iterable[str]) -> None:
        until = self.clock() + self.remember_for
        for session_id in session_ids:
            self._until[session_id] = until

    def __contains__(self, session_id: object) -> bool:
        until = self._until.get(session_id)  # type: ignore[call-overload]
        return until is not None and until > self.clock()

    def __len__(self) -> int:
        return len(self._until)

    def prune(self) -> None:
        now = self.clock()
        for session_id in [key for key, until in self._until.items() if until <= now]:
            del self._until[session_id]


class RevocationSource(Protocol):
    """Feeds a RevokedSessions set; started and stopped with the host app."""

    async def start(self, revoked: RevokedSessions) -> None: ...
    async def stop(self) -> None: ...


class InProcessRevocations:
    """Listens to a lastseen ``Sessions`` service running in this process."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions
        self._listener: Callable[[Sequence[str]], None] | None = None

    async def start(self, revoked: RevokedSessions) -> None:
        self._listener = revoked.add
        self.sessions.end_listeners.append(self._listener)

    async def stop(self) -> None:
        if self._listener in self.sessions.end_listeners:
            self.sessions.end_listeners.remove(self._listener)


class RedisRevocations:
    """Subscribes to lastseen's Redis channel; reconnects with a short backoff."""

    def __init__(self, url: str, *, channel: str = REVOCATION_CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, revoked: RevokedSessions) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(revoked))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, revoked: RevokedSessions) -> None:
        import redis.asyncio

        backoff = 0.1
        while True:
            client = redis.asyncio.Redis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    backoff = 0.1
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            revoked.add(_session_ids(message.get("data")))
            except asyncio.CancelledError:
                raise
            except Exception:
                self.subscribed.clear()
                logger.exception("revocation subscription failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                await client.aclose()


class PollingRevocations:
    """Polls ``GET /v1/revocations`` on a lastseen service every ``interval``.

    The default, half a second, keeps the worst case (one interval plus one request) under
    one second.
    """

    def __init__(
        self,
        api_url: str,
        secret_key: str,
        *,
        interval: timedelta = timedelta(milliseconds=500),
        clock: Callable[[], datetime] = system_clock,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.secret_key = secret_key
        self.interval = interval
        self.clock = clock
        self.polls = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, revoked: RevokedSessions) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(revoked))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, revoked: RevokedSessions) -> None:
        # Sessions that ended before this process started may still have live tokens.
        since = to_millis(self.clock() - REMEMBER_FOR)
        headers = {"authorization": f"Bearer {self.secret_key}"}
        async with httpx.AsyncClient(base_url=self.api_url, headers=headers, timeout=5) as http:
            while True:
                try:
                    response = await http.get("/v1/revocations", params={"since": since})
                    response.raise_for_status()
                    body = response.json()
                    revoked.add(body["session_ids"])
                    # Overlap polls a little, so a write committed just before the server
                    # read its clock is not skipped; re-adding an id is harmless.
                    since = int(body["server_time"]) - 2000
                    self.polls += 1
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("revocation poll failed url=%s", self.api_url)
                revoked.prune()
                await asyncio.sleep(self.interval.total_seconds())


def _session_ids(data: Any) -> list[str]:
    try:
        ids = json.loads(data)["session_ids"]
    except (ValueError, TypeError, KeyError):
        logger.warning("ignored a malformed revocation message")
        return []
    return [value for value in ids if isinstance(value, str)]
