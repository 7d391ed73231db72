"""Sessions, their statuses and lifetimes, and the rules for ending them.

Six statuses are stored. ``expired`` and ``abandoned`` also follow from the clock,
so every read computes them; a sweeper persists them later for filtering.
"""

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    ENDED = "ended"
    REMOVED = "removed"
    REVOKED = "revoked"
    REPLACED = "replaced"
    EXPIRED = "expired"
    ABANDONED = "abandoned"


# Only these statuses authenticate requests, and only they can be revoked, ended or removed.
LIVE_STATUSES = frozenset({SessionStatus.ACTIVE, SessionStatus.PENDING})

# A session in these statuses has left its client: the client's session list omits it.
DETACHED_STATUSES = frozenset(
    {SessionStatus.REMOVED, SessionStatus.REVOKED, SessionStatus.ABANDONED}
)

MIN_MAX_LIFETIME = timedelta(minutes=5)
MIN_INACTIVITY_TIMEOUT = timedelta(minutes=5)
MAX_INACTIVITY_TIMEOUT = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """How long sessions live: the instance-wide policy applied at creation."""

    max_lifetime: timedelta = timedelta(days=7)
    inactivity_timeout: timedelta | None = None
    time_to_abandon: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        if self.max_lifetime < MIN_MAX_LIFETIME:
            raise ValueError(f"max_lifetime must be at least 5 minutes, got {self.max_lifetime}")

        timeout = self.inactivity_timeout
        if timeout is not None:
            if not MIN_INACTIVITY_TIMEOUT <= timeout <= MAX_INACTIVITY_TIMEOUT:
                raise ValueError(
                    f"inactivity_timeout must be between 5 minutes and 365 days, got {timeout}"
                )
            if timeout > self.max_lifetime:
                raise ValueError(
                    f"inactivity_timeout ({timeout}) must not exceed max_lifetime "
                    f"({self.max_lifetime})"
                )

    def expire_at(self, created_at: datetime) -> datetime:
        return created_at + self.max_lifetime

    def abandon_at(self, created_at: datetime) -> datetime:
        return created_at + max(self.time_to_abandon, self.max_lifetime)


@dataclass(frozen=True, slots=True)
class Activity:
    """A record of a session's use from one IP address and user agent."""

    id: str
    session_id: str
    ip_address: str | None
    user_agent: str | None
    browser_name: str | None
    browser_version: str | None
    os_name: str | None
    os_version: str | None
    device_type: str | None
    device_category: str
    is_mobile: bool
    city: str | None
    country: str | None
    country_code: str | None
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    """One signed-in user on one client.

    ``status`` is the stored status. :meth:`status_at` returns the status readers get.
    """

    id: str
    user_id: str
    client_id: str
    status: SessionStatus
    created_at: datetime
    updated_at: datetime
    last_active_at: datetime
    expire_at: datetime
    abandon_at: datetime
    inactivity_timeout: timedelta | None = None
    latest_activity: Activity | None = field(default=None, compare=False)

    def status_at(self, now: datetime) -> SessionStatus:
        """Return the status at ``now``, with the clock's ``expired`` and ``abandoned``."""
        status = self.status
        if status not in LIVE_STATUSES and status is not SessionStatus.EXPIRED:
            return status

        if now >= self.abandon_at:
            return SessionStatus.ABANDONED
        if status is SessionStatus.EXPIRED or self.is_expired_at(now):
            return SessionStatus.EXPIRED
        return status

    def is_expired_at(self, now: datetime) -> bool:
        if now >= self.expire_at:
            return True
        timeout = self.inactivity_timeout
        return timeout is not None and now >= self.last_active_at + timeout

    def is_live_at(self, now: datetime) -> bool:
        """Tell whether the session authenticates requests at ``now``."""
        return self.status_at(now) in LIVE_STATUSES

    def at(self, now: datetime) -> "Session":
        """Return a copy whose ``status`` is the computed status at ``now``."""
        status = self.status_at(now)
        return self if status is self.status else replace(self, status=status)


def new_session(
    *,
    session_id: str,
    user_id: str,
    client_id: str,
    lifetimes: Lifetimes,
    now: datetime,
) -> Session:
    """Build an active session that starts at ``now`` under ``lifetimes``."""
    return Session(
        id=session_id,
        user_id=user_id,
        client_id=client_id,
        status=SessionStatus.ACTIVE,
        created_at=now,
        updated_at=now,
        last_active_at=now,
        expire_at=lifetimes.expire_at(now),
        abandon_at=lifetimes.abandon_at(now),
        inactivity_timeout=lifetimes.inactivity_timeout,
    )
