"""A short-lived cache of authenticated requesters, so that reads skip three queries.

Every frontend request finds its client by token hash, then its session, then its user.
For reads, the resolved requester is kept for ``ttl`` (one second by default). This
process drops an entry as soon as it ends one of the entry's sessions, changes its
client's current session, or signs in or deletes its user. Writes made by other processes
are seen when the entry expires, so a read there can still succeed for up to ``ttl``
after a revocation. Requests that change state never use the cache.
"""

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lastseen.domain.sessions import Session
from lastseen.domain.users import Client, User


@dataclass(frozen=True, slots=True)
class Requester:
    """The signed-in caller of a frontend request: its client, current session and user."""

    client: Client
    session: Session
    user: User


#: A cache key: the client token's hash and the session id the request names, if any.
RequesterKey = tuple[str, str | None]


class RequesterCache:
    """Requesters by client token hash and requested session id, for ``ttl`` seconds."""

    def __init__(
        self,
        ttl: float = 1.0,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[RequesterKey, tuple[float, Requester]] = {}
        # The keys that mention each client, session and user id, for dropping by id.
        self._keys_by_id: dict[str, set[RequesterKey]] = {}
        # Counts drops. A requester read from the database before a drop may be stale, so
        # put() ignores it when the count has moved since the caller's read began.
        self._generation = 0
        self._lock = threading.Lock()

    def generation(self) -> int:
        """Return the drop count, to pass to put() as ``since`` before reading."""
        return self._generation

    def get(self, key: RequesterKey) -> Requester | None:
        entry = self._entries.get(key)
        if entry is None:
            return None

        deadline, requester = entry
        if self._monotonic() >= deadline:
            with self._lock:
                self._remove(key)
            return None
        return requester

    def put(self, key: RequesterKey, requester: Requester, *, since: int) -> None:
        """Keep ``requester`` unless something was dropped after generation ``since``."""
        if self.ttl <= 0:
            return

        deadline = self._monotonic() + self.ttl
        with self._lock:
            if self._generation != since:
                return
            self._remove(key)
            if len(self._entries) >= self.max_entries:
                # Dicts keep insertion order, so the first key is the oldest entry.
                self._remove(next(iter(self._entries)))
            self._entries[key] = (deadline, requester)
            for owner in (requester.client.id, requester.session.id, requester.user.id):
                self._keys_by_id.setdefault(owner, set()).add(key)

    def drop(self, ids: Iterable[str]) -> None:
        """Forget every entry whose client, session or user has one of ``ids``."""
        with self._lock:
            self._generation += 1
            for owner in ids:
                for key in self._keys_by_id.pop(owner, ()):
                    self._remove(key)

    def __len__(self) -> int:
        return len(self._entries)

    def _remove(self, key: RequesterKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return

        requester = entry[1]
        for owner in (requester.client.id, requester.session.id, requester.user.id):
            keys = self._keys_by_id.get(owner)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._keys_by_id[owner]
