"""Clerk's JSON shapes as lastseen writes them: keys, their order, and the encoded bytes."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.responses import JSONResponse

from lastseen.domain.sessions import Activity, Session, SessionStatus
from lastseen.http import wire
from lastseen.http.frontend import _JSONResponse

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


@pytest.mark.parametrize(
    "content",
    [
        [wire.session_with_activities_json(make_session(make_activity()))],
        [],
        {"text": 'quote " backslash \\ newline \n', "unicode": "東京 😀 \u2028", "none": None},
        {"nested": [{"a": 1, "b": [True, False, -5]}], "big": 2**70},
    ],
)
def test_frontend_json_response_same_as_starlette(content: Any) -> None:
    expected = JSONResponse(content)

    response = _JSONResponse(content)

    assert response.body == expected.body
    assert response.raw_headers == expected.raw_headers


def test_frontend_json_response_rejects_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values"):
        _JSONResponse({"value": float("nan")})
