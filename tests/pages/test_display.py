"""How the devices page words a session: relative times, locations, device descriptions."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lastseen.domain.sessions import Activity, Session, SessionStatus
from lastseen.pages.display import (
    describe,
    device_card,
    device_cards,
    relative_time,
    utc_iso,
    utc_text,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def make_activity(**fields: object) -> Activity:
    values: dict[str, object] = {
        "id": "sess_activity_1",
        "session_id": "sess_1",
        "ip_address": "81.2.69.142",
        "user_agent": "test",
        "browser_name": "Chrome",
        "browser_version": "131",
        "os_name": "Windows",
        "os_version": "10",
        "device_type": "Windows",
        "device_category": "desktop",
        "is_mobile": False,
        "city": "London",
        "country": "United Kingdom",
        "country_code": "GB",
        "first_seen_at": NOW,
        "last_seen_at": NOW,
        **fields,
    }
    return Activity(**values)  # type: ignore[arg-type]


def make_session(
    session_id: str = "sess_1", *, last_active: timedelta = timedelta(0), **activity: object
) -> Session:
    return Session(
        id=session_id,
        user_id="user_1",
        client_id="client_1",
        status=SessionStatus.ACTIVE,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW,
        last_active_at=NOW - last_active,
        expire_at=NOW + timedelta(days=6),
        abandon_at=NOW + timedelta(days=29),
        latest_activity=make_activity(session_id=session_id, **activity),
    )


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=-30), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=2, seconds=40), "2 minutes ago"),
        (timedelta(minutes=59), "59 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=23, minutes=59), "23 hours ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=3, hours=5), "3 days ago"),
        (timedelta(days=29), "29 days ago"),
        (timedelta(days=30), "1 month ago"),
        (timedelta(days=200), "6 months ago"),
        (timedelta(days=365), "1 year ago"),
        (timedelta(days=800), "2 years ago"),
    ],
)
def test_relative_time(ago: timedelta, text: str) -> None:
    assert relative_time(NOW - ago, NOW) == text


def test_exact_time_formats() -> None:
    moment = datetime(2026, 1, 15, 11, 58, 7, 123000, tzinfo=UTC)

    assert utc_iso(moment) == "2026-01-15T11:58:07Z"
    assert utc_text(moment) == "2026-01-15 11:58:07 UTC"


def test_card_location_with_city() -> None:
    card = device_card(make_session(), is_current=False, now=NOW)

    assert card.location == "London, United Kingdom"


def test_card_location_without_city() -> None:
    card = device_card(make_session(city=None), is_current=False, now=NOW)

    assert card.location == "United Kingdom"


def test_card_location_unknown() -> None:
    card = device_card(make_session(city=None, country=None), is_current=False, now=NOW)

    assert card.location is None


def test_card_browser_and_system() -> None:
    card = device_card(make_session(), is_current=True, now=NOW)

    assert card.browser == "Chrome 131"
    assert card.system == "Windows 10"
    assert card.name == "Windows"
    assert card.icon == "desktop"
    assert card.is_current


def test_card_drops_version_without_name() -> None:
    card = device_card(
        make_session(browser_name=None, os_name=None, os_version="10"), is_current=False, now=NOW
    )

    assert card.browser is None
    assert card.system is None


@pytest.mark.parametrize(
    ("category", "icon", "name"),
    [
        ("phone", "phone", "Phone"),
        ("tablet", "tablet", "Tablet"),
        ("desktop", "desktop", "Computer"),
        ("bot", "other", "Unknown device"),
        ("library", "other", "Unknown device"),
        ("unknown", "other", "Unknown device"),
    ],
)
def test_card_icon_and_fallback_name(category: str, icon: str, name: str) -> None:
    session = make_session(device_category=category, device_type=None)

    card = device_card(session, is_current=False, now=NOW)

    assert card.icon == icon
    assert card.name == name


def test_card_without_activity() -> None:
    session = replace(make_session(), latest_activity=None)

    card = device_card(session, is_current=False, now=NOW)

    assert card.name == "Unknown device"
    assert card.icon == "other"
    assert card.browser is None
    assert card.ip_address is None
    assert card.description == "an unknown device"


@pytest.mark.parametrize(
    ("activity", "text"),
    [
        ({}, "Chrome on Windows"),
        (
            {"device_category": "phone", "device_type": "iPhone", "os_name": "iOS"},
            "Chrome on iPhone",
        ),
        (
            {"device_category": "phone", "device_type": None, "os_name": "Android"},
            "Chrome on Android",
        ),
        ({"os_name": None}, "Chrome on Windows"),
        ({"os_name": None, "device_type": None}, "Chrome"),
        ({"browser_name": None}, "Windows"),
        ({"browser_name": None, "os_name": None, "device_type": None}, "an unknown device"),
    ],
)
def test_describe(activity: dict[str, object], text: str) -> None:
    assert describe(make_session(**activity)) == text


def test_cards_put_current_first_then_most_recent() -> None:
    sessions = [
        make_session("sess_old", last_active=timedelta(days=2)),
        make_session("sess_recent", last_active=timedelta(minutes=5)),
        make_session("sess_current", last_active=timedelta(hours=3)),
    ]

    cards = device_cards(sessions, "sess_current", NOW)

    assert [card.session_id for card in cards] == ["sess_current", "sess_recent", "sess_old"]
    assert [card.is_current for card in cards] == [True, False, False]
    assert cards[1].last_active_relative == "5 minutes ago"
