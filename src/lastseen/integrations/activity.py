"""Activity reports from a host app: throttled per session, queued, never blocking requests.

A report carries the facts of the host app's request (client IP, User-Agent, Client Hints)
to lastseen, over HTTP (``POST /v1/sessions/{id}/touch``) or by calling the service in
process. The queue is bounded: when it is full a report is dropped and counted, because a
late activity row matters less than a request that waits.
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from starlette.concurrency import run_in_threadpool

from lastseen.domain.clock import system_clock
from lastseen.enrich.client_ip import IPAddress
from lastseen.enrich.useragent import ClientHints
from lastseen.service.activity import RequestFacts

logger = logging.getLogger("lastseen.integrations")

_HINT_HEADERS = {
    "ua": "sec-ch-ua",
    "full_version_list": "sec-ch-ua-full-version-list",
    "mobile": "sec-ch-ua-mobile",
    "platform": "sec-ch-ua-platform",
    "platform_version": "sec-ch-ua-platform-version",
    "model": "sec-ch-ua-model",
}


@dataclass(frozen=True, slots=True)
class ActivityReport:
    session_id: str
    ip_address: IPAddress | None
    user_agent: str | None
    hints: ClientHints = field(default_factory=ClientHints)


class ActivityTransport(Protocol):
    async def send(self, report: ActivityReport) -> None: ...
    async def close(self) -> None: ...


class HTTPActivityTransport:
    """Sends reports to a lastseen service's backend API."""

    def __init__(self, api_url: str, secret_key: str, *, timeout: float = 5.0) -> None:
        self.client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={"authorization": f"Bearer {secret_key}"},
            timeout=timeout,
        )

    async def send(self, report: ActivityReport) -> None:
        hints = {
            header: value
            for name, header in _HINT_HEADERS.items()
            if (value := getattr(report.hints, name)) is not None
        }
        body: dict[str, Any] = {
            "ip_address": None if report.ip_address is None else str(report.ip_address),
            "user_agent": report.user_agent,
            "client_hints": hints,
        }
        response = await self.client.post(f"/v1/sessions/{report.session_id}/touch", json=body)
        if response.status_code >= 400:
            logger.warning(
                "activity report rejected session_id=%s status=%d",
                report.session_id,
                response.status_code,
            )

    async def close(self) -> None:
        await self.client.aclose()


class InProcessActivityTransport:
    """Records reports with a lastseen ``Sessions`` service in this process."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions

    async def send(self, report: ActivityReport) -> None:
        facts = RequestFacts(report.ip_address, report.user_agent, report.hints)
        await run_in_threadpool(self.sessions.report_activity, report.session_id, facts)

    async def close(self) -> None:
        return None


class ActivityReporter:
    """Throttles reports per session and sends them from a bounded background queue."""

    def __init__(
        self,
        transport: ActivityTransport,
        *,
        touch_interval: timedelta = timedelta(seconds=60),
        queue_size: int = 1000,
        clock: Callable[[], datetime] = system_clock,
        max_tracked_sessions: int = 100_000,
    ) -> None:
        self.transport = transport
        self.touch_interval = touch_interval
        self.clock = clock
        self.max_tracked_sessions = max_tracked_sessions
        self.queue: asyncio.Queue[ActivityReport] | None = None
        self.queue_size = queue_size
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self._last_report: OrderedDict[str, datetime] = OrderedDict()
        self._worker: asyncio.Task[None] | None = None

    def due(self, session_id: str) -> bool:
        """Tell whether the session may report now, so callers skip building a report."""
        last = self._last_report.get(session_id)
        return last is None or self.clock() - last >= self.touch_interval

    def report(self, report: ActivityReport) -> bool:
        """Queue ``report`` unless the session reported within the touch interval.

        Returns whether the report was queued. It never waits: a full queue drops the
        report. Call it from the running event loop, where the sending task starts.
        """
        now = self.clock()
        last = self._last_report.get(report.session_id)
        if last is not None and now - last < self.touch_interval:
            return False

        queue = self._ensure_started()
        try:
            queue.put_nowait(report)
        except asyncio.QueueFull:
            self.dropped += 1
            return False

        self._last_report[report.session_id] = now
        self._last_report.move_to_end(report.session_id)
        if len(self._last_report) > self.max_tracked_sessions:
            self._last_report.popitem(last=False)
        return True

    async def drain(self) -> None:
        """Wait until every queued report has been sent or has failed."""
        if self.queue is not None:
            await self.queue.join()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        await self.transport.close()

    def _ensure_started(self) -> asyncio.Queue[ActivityReport]:
        if self.queue is None:
            self.queue = asyncio.Queue(self.queue_size)
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run(self.queue))
        return self.queue

    async def _run(self, queue: asyncio.Queue[ActivityReport]) -> None:
        while True:
            report = await queue.get()
            try:
                await self.transport.send(report)
                self.sent += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failed += 1
                logger.exception("activity report failed session_id=%s", report.session_id)
            finally:
                queue.task_done()
