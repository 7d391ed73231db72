"""Clerk's JSON shapes as lastseen writes them: keys, their order, and the encoded bytes."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.responses import JSONResponse

from lastseen.domain.sessions import Activity, Session, SessionStatus
from lastseen.http import wire

CREATED = datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)

ACTIVITY_KEYS = [
    "object",
    "id",
    "is_mobile",
    "device_type",
    "browser_name",
    "browser_version",
    "ip_address",
    "city",
    "country",
    "country_code",
    "os_name",
    "os_version",
    "device_category",
    "last_seen_at",
]

OPTIONAL_ACTIVITY_FIELDS = [
    "device_type",
    "browser_name",
    "browser_version",
    "ip_address",
    "city",
    "country",
    "country_code",
    "os_name",
    "os_version",
    "device_category",
]


def make_activity() -> Activity:
    return Activity(
        id="sess_activity_1",
        session_id="sess_1",
        ip_address="89.160.20.112",
        user_agent="Mozilla/5.0",
        browser_name="Safari",
        browser_version="17.5",
        os_name="iOS",
        os_version="17.5",
        device_type="iPhone",
        device_category="phone",
        is_mobile=True,
        city="Linköping",
        country="Sweden",
        country_code="SE",
        first_seen_at=CREATED,
        last_seen_at=CREATED + timedelta(minutes=5),
    )


def make_session(activity: Activity | None) -> Session:
    return Session(
        id="sess_1",
        user_id="user_1",
        client_id="client_1",
        status=SessionStatus.ACTIVE,
        created_at=CREATED,
        updated_at=CREATED + timedelta(minutes=5),
        last_active_at=CREATED + timedelta(minutes=5),
        expire_at=CREATED + timedelta(days=7),
        abandon_at=CREATED + timedelta(days=30),
        latest_activity=activity,
    )


def test_activity_json_keys_in_order() -> None:
    body = wire.activity_json(make_activity())

    assert list(body) == ACTIVITY_KEYS
    assert body["object"] == "session_activity"
    assert body["city"] == "Linköping"
    assert body["is_mobile"] is True
    assert body["last_seen_at"] == 1740830700123


@pytest.mark.parametrize("field", OPTIONAL_ACTIVITY_FIELDS)
def test_activity_json_omits_unknown_fact(field: str) -> None:
    # device_category is annotated str, but activity_json omits a None there too.
    activity = replace(make_activity(), **{field: None})  # type: ignore[arg-type]

    body = wire.activity_json(activity)

    assert field not in body
    assert list(body) == [key for key in ACTIVITY_KEYS if key != field]


def test_activity_json_keeps_false_and_empty() -> None:
    activity = replace(make_activity(), is_mobile=False, city="", os_version="")

    body = wire.activity_json(activity)

    assert body["is_mobile"] is False
    assert body["city"] == ""
    assert body["os_version"] == ""


def test_active_session_item_keys_in_order() -> None:
    body = wire.session_with_activities_json(make_session(make_activity()))

    assert list(body) == [
        "object",
        "id",
        "status",
        "expire_at",
        "abandon_at",
        "last_active_at",
        "last_active_organization_id",
        "actor",
        "tasks",
        "created_at",
        "updated_at",
        "last_active_token",
        "user",
        "public_user_data",
        "latest_activity",
    ]
    assert body["status"] == "active"
    assert body["created_at"] == 1740830400123
    assert list(body["latest_activity"]) == ACTIVITY_KEYS


def test_active_session_item_without_activity() -> None:
    body = wire.session_with_activities_json(make_session(None))

    assert "latest_activity" not in body


def encoded_by_starlette(sessions: list[Session]) -> bytes:
    return bytes(JSONResponse([wire.session_with_activities_json(s) for s in sessions]).body)


def test_session_list_body_same_as_starlette() -> None:
    odd = replace(
        make_activity(),
        id="sess_activity_2",
        city='quote " backslash \\ 東京 😀 \u2028',
        browser_version=None,
    )
    sessions = [
        make_session(make_activity()),
        replace(make_session(odd), id="sess_2"),
        replace(make_session(None), id="sess_3"),
    ]

    assert wire.session_list_body(sessions) == encoded_by_starlette(sessions)
    assert wire.session_list_body([]) == encoded_by_starlette([])


def test_session_list_body_follows_activity() -> None:
    session = make_session(make_activity())
    moved = replace(session, latest_activity=replace(make_activity(), ip_address="81.2.69.160"))

    first = wire.session_list_body([session])
    second = wire.session_list_body([moved])

    # The two sessions compare equal, because equality ignores the latest activity.
    assert session == moved
    assert b"89.160.20.112" in first
    assert b"81.2.69.160" in second
    assert second == encoded_by_starlette([moved])


def test_session_list_body_follows_session() -> None:
    session = make_session(make_activity())
    later = replace(session, last_active_at=session.last_active_at + timedelta(minutes=1))

    wire.session_list_body([session])

    assert wire.session_list_body([later]) == encoded_by_starlette([later])


def test_session_list_body_cache_bounded() -> None:
    session = make_session(make_activity())
    bound = wire._MAX_ENCODED_ITEMS

    for number in range(bound + 10):
        wire.session_list_body([replace(session, id=f"sess_{number}")])

    assert len(wire._ENCODED_ITEMS) == bound
