"""The clock that decides expiry: injected wherever time matters, so tests never sleep."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class FrozenClock:
    """A clock that does not move until a test moves it."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError(f"FrozenClock needs a timezone-aware datetime, got {now!r}")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def to_millis(moment: datetime) -> int:
    """Convert an aware datetime to Unix epoch milliseconds, the wire format."""
    return int(moment.timestamp() * 1000)


def from_millis(millis: int) -> datetime:
    """Convert Unix epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(millis / 1000, UTC)
