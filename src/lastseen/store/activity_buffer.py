"""Activity writes held briefly in memory and written in batches, one transaction each.

A new activity row and the session's pointer to it cost one transaction per request when
written at once, and on SQLite the commit was most of that cost in profiles. The buffer
keeps them for up to ``flush_interval`` and writes everything pending in one transaction:
when the interval has passed (a background thread), when ``max_pending`` sessions have
writes pending, when a read needs them, and on ``close()``.

Several writes to one session in a batch collapse into its final state, so a flush does
at most one session update per session. Writes still pending when the process dies
without ``close()`` are lost: at most ``flush_interval`` of activity.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("lastseen.store")

# Flushes a batch may fail before its writes are dropped.
MAX_ATTEMPTS = 3


@dataclass
class SessionWrite:
    """The final state of one session's pending activity writes."""

    last_active_at: int  # Unix milliseconds
    latest_activity_id: str | None = None  # set when a new activity became the latest


@dataclass
class Batch:
    """Pending writes, taken out of the buffer for one transaction."""

    sessions: dict[str, SessionWrite] = field(default_factory=dict)
    # New activity rows by id, as column values, and the last_seen_at of existing ones.
    new_activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen_activities: dict[str, int] = field(default_factory=dict)
    failed_attempts: int = 0

    def __bool__(self) -> bool:
        return bool(self.sessions)

    def absorb(self, newer: "Batch") -> None:
        """Add the writes of ``newer``, queued after this batch, on top of this one."""
        for session_id, write in newer.sessions.items():
            older = self.sessions.get(session_id)
            if older is not None and write.latest_activity_id is None:
                write = SessionWrite(write.last_active_at, older.latest_activity_id)
            self.sessions[session_id] = write

        self.new_activities.update(newer.new_activities)
        for activity_id, millis in newer.seen_activities.items():
            inserted = self.new_activities.get(activity_id)
            if inserted is not None:
                inserted["last_seen_at"] = millis
            else:
                self.seen_activities[activity_id] = millis


class ActivityBuffer:
    """Pending activity writes for one store, with the thread that flushes them.

    ``write`` receives each batch and must write it in one transaction.
    """

    def __init__(
        self,
        write: Callable[[Batch], None],
        *,
        flush_interval: float,
        max_pending: int = 500,
    ) -> None:
        self._write = write
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self._batch = Batch()
        # The batch a flush took out and is writing, so that readers still wait for it.
        self._writing: Batch | None = None
        self._lock = threading.Lock()  # guards self._batch
        self._flush_lock = threading.Lock()  # one flush at a time, so a read waits for it
        self._wakeup = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add_activity(self, values: dict[str, Any]) -> None:
        """Queue the insert of a new activity, which becomes its session's latest."""
        session_id = values["session_id"]
        with self._lock:
            batch = self._batch
            batch.new_activities[values["id"]] = values
            batch.sessions[session_id] = SessionWrite(values["last_seen_at"], values["id"])
        self._after_add()

    def touch(self, session_id: str, activity_id: str, millis: int) -> None:
        """Queue a new ``last_active_at`` for a session and ``last_seen_at`` for its activity."""
        with self._lock:
            batch = self._batch
            pending = batch.sessions.get(session_id)
            if pending is None:
                batch.sessions[session_id] = SessionWrite(millis)
            else:
                pending.last_active_at = millis

            inserted = batch.new_activities.get(activity_id)
            if inserted is not None:
                inserted["last_seen_at"] = millis
            else:
                batch.seen_activities[activity_id] = millis
        self._after_add()

    def is_pending(self, session_id: str) -> bool:
        """Tell whether a write to the session is waiting or being written now."""
        writing = self._writing
        return session_id in self._batch.sessions or (
            writing is not None and session_id in writing.sessions
        )

    def __len__(self) -> int:
        """Return the number of sessions with pending writes."""
        return len(self._batch.sessions)

    def flush(self) -> None:
        """Write everything pending now; return once it is written or has failed.

        A failed batch goes back into the buffer for the next flush, because the usual
        causes are temporary: a locked SQLite file, a deadlock, a dropped connection.
        After ``MAX_ATTEMPTS`` failures it is dropped and logged.
        """
        with self._flush_lock:
            with self._lock:
                batch, self._batch = self._batch, Batch()
                self._writing = batch
            try:
                if batch:
                    self._write(batch)
            except Exception:
                self._requeue(batch)
            finally:
                self._writing = None

    def _requeue(self, batch: Batch) -> None:
        batch.failed_attempts += 1
        if batch.failed_attempts >= MAX_ATTEMPTS:
            logger.exception(
                "activity flush failed %d times; dropped writes of %d sessions",
                batch.failed_attempts,
                len(batch.sessions),
            )
            return

        logger.warning(
            "activity flush failed; will retry writes of %d sessions",
            len(batch.sessions),
            exc_info=True,
        )
        with self._lock:
            batch.absorb(self._batch)
            self._batch = batch

    def close(self) -> None:
        """Flush what is pending and stop the background thread."""
        self._closed = True
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()

    def _after_add(self) -> None:
        # After close() no thread flushes, so late writes go out at once.
        if self._closed or len(self._batch.sessions) >= self.max_pending:
            self.flush()
        elif self._thread is None and not self._closed:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="lastseen-activity-flush", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wakeup.wait(self.flush_interval)
            self.flush()
