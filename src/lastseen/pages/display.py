"""Device cards, short descriptions and relative times: a session as the pages show it."""

from dataclasses import dataclass
from datetime import UTC, datetime

from lastseen.domain.sessions import Session

# The device categories that have their own icon. Bots, HTTP libraries and unknown clients
# share the "other" icon.
ICON_CATEGORIES = frozenset({"desktop", "phone", "tablet"})

_CATEGORY_NAMES = {"desktop": "Computer", "phone": "Phone", "tablet": "Tablet"}

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
# Calendar months and years vary in length. These averages only pick the unit of a
# relative time, and the exact time is shown next to it.
_MONTH = 30 * _DAY
_YEAR = 365 * _DAY


@dataclass(frozen=True, slots=True)
class DeviceCard:
    """One session as the devices page shows it, with every text already chosen."""

    session_id: str
    is_current: bool
    #: "desktop", "phone", "tablet" or "other": the icon to draw.
    icon: str
    #: The device's name, such as "Windows" or "iPhone", else its category.
    name: str
    #: Browser and version, such as "Chrome 131", when known.
    browser: str | None
    #: Operating system and version, such as "Windows 10", when known.
    system: str | None
    ip_address: str | None
    #: "City, Country", or the country alone when the city is unknown.
    location: str | None
    #: Browser and device in a few words, such as "Chrome on Windows", for notices and labels.
    description: str
    last_active: datetime
    #: "just now", "5 minutes ago", "3 days ago".
    last_active_relative: str


def device_cards(sessions: list[Session], current_id: str, now: datetime) -> list[DeviceCard]:
    """Build the cards for ``sessions``: the current session first, then the most recent."""
    ordered = sorted(
        sessions,
        key=lambda session: (session.id != current_id, -session.last_active_at.timestamp()),
    )
    return [
        device_card(session, is_current=session.id == current_id, now=now) for session in ordered
    ]


def device_card(session: Session, *, is_current: bool, now: datetime) -> DeviceCard:
    """Build the card of one session as seen at ``now``."""
    activity = session.latest_activity
    if activity is None:
        category, name = "unknown", None
        browser = system = ip_address = location = None
    else:
        category, name = activity.device_category, activity.device_type
        browser = _with_version(activity.browser_name, activity.browser_version)
        system = _with_version(activity.os_name, activity.os_version)
        ip_address = activity.ip_address
        location = ", ".join(part for part in (activity.city, activity.country) if part) or None

    return DeviceCard(
        session_id=session.id,
        is_current=is_current,
        icon=category if category in ICON_CATEGORIES else "other",
        name=name or _CATEGORY_NAMES.get(category, "Unknown device"),
        browser=browser,
        system=system,
        ip_address=ip_address,
        location=location,
        description=describe(session),
        last_active=session.last_active_at,
        last_active_relative=relative_time(session.last_active_at, now),
    )


def describe(session: Session) -> str:
    """Name a session's browser and device in a few words: "Chrome on Windows".

    Computers are named by their operating system, and phones and tablets by their model
    ("Safari on iPhone"), which is how people tell their devices apart.
    """
    activity = session.latest_activity
    if activity is None:
        return "an unknown device"

    if activity.device_category in ("phone", "tablet"):
        device = activity.device_type or activity.os_name
    else:
        device = activity.os_name or activity.device_type

    if activity.browser_name and device:
        return f"{activity.browser_name} on {device}"
    return activity.browser_name or device or "an unknown device"


def relative_time(moment: datetime, now: datetime) -> str:
    """Say how long ago ``moment`` was, in the largest whole unit: "3 days ago".

    Under a minute, and any moment after ``now`` (clocks of two servers may differ a little),
    is "just now".
    """
    seconds = int((now - moment).total_seconds())
    if seconds < _MINUTE:
        return "just now"

    for size, unit in ((_YEAR, "year"), (_MONTH, "month"), (_DAY, "day"), (_HOUR, "hour")):
        if seconds >= size:
            return _ago(seconds // size, unit)
    return _ago(seconds // _MINUTE, "minute")


def utc_iso(moment: datetime) -> str:
    """Format ``moment`` for a ``<time datetime>`` attribute: "2026-01-15T11:58:00Z"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_text(moment: datetime) -> str:
    """Format ``moment`` for people: "2026-01-15 11:58:00 UTC"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(count: int, unit: str) -> str:
    return f"{count} {unit} ago" if count == 1 else f"{count} {unit}s ago"


def _with_version(name: str | None, version: str | None) -> str | None:
    # A version without a name says nothing, so it is dropped.
    if not name:
        return None
    return f"{name} {version}" if version else name
