"""Session statuses and lifetimes from an injected time, and the shape of ids."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from types import SimpleNamespace

import pytest

from lastseen.domain import ids
from lastseen.domain.sessions import (
    LIVE_STATUSES,
    Lifetimes,
    Session,
    SessionStatus,
    new_session,
)

START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

ACTIVE = SessionStatus.ACTIVE
PENDING = SessionStatus.PENDING
EXPIRED = SessionStatus.EXPIRED
ABANDONED = SessionStatus.ABANDONED
FIXED_STATUSES = [
    SessionStatus.ENDED,
    SessionStatus.REMOVED,
    SessionStatus.REVOKED,
    SessionStatus.REPLACED,
]

DEFAULT = Lifetimes()
ONE_HOUR_IDLE = Lifetimes(inactivity_timeout=HOUR)


def make_session(
    lifetimes: Lifetimes = DEFAULT,
    status: SessionStatus = ACTIVE,
    last_active: timedelta = timedelta(0),
) -> Session:
    """Build a session created at START, last active ``last_active`` after START."""
    session = new_session(
        session_id="sess_test",
        user_id="user_test",
        client_id="client_test",
        lifetimes=lifetimes,
        now=START,
    )
    return replace(session, status=status, last_active_at=START + last_active)


# Lifetimes


@pytest.mark.parametrize(
    ("lifetimes", "expire_after", "abandon_after"),
    [
        pytest.param(DEFAULT, 7 * DAY, 30 * DAY, id="defaults"),
        pytest.param(Lifetimes(max_lifetime=HOUR), HOUR, 30 * DAY, id="short-lifetime"),
        pytest.param(Lifetimes(max_lifetime=5 * MINUTE), 5 * MINUTE, 30 * DAY, id="minimum"),
        pytest.param(Lifetimes(max_lifetime=40 * DAY), 40 * DAY, 40 * DAY, id="lifetime-wins"),
        pytest.param(Lifetimes(time_to_abandon=DAY), 7 * DAY, 7 * DAY, id="abandon-below-lifetime"),
        pytest.param(Lifetimes(time_to_abandon=90 * DAY), 7 * DAY, 90 * DAY, id="long-abandon"),
    ],
)
def test_lifetimes_deadlines(
    lifetimes: Lifetimes, expire_after: timedelta, abandon_after: timedelta
) -> None:
    session = make_session(lifetimes)

    assert lifetimes.expire_at(START) == START + expire_after
    assert lifetimes.abandon_at(START) == START + abandon_after
    assert session.expire_at == START + expire_after
    assert session.abandon_at == START + abandon_after


def test_new_session_fields() -> None:
    session = make_session(ONE_HOUR_IDLE)

    assert session.status is ACTIVE
    assert session.created_at == START
    assert session.updated_at == START
    assert session.last_active_at == START
    assert session.inactivity_timeout == HOUR
    assert session.latest_activity is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"max_lifetime": 5 * MINUTE - MS},
            "max_lifetime must be at least 5 minutes",
            id="lifetime-too-short",
        ),
        pytest.param(
            {"max_lifetime": timedelta(0)},
            "max_lifetime must be at least 5 minutes",
            id="lifetime-zero",
        ),
        pytest.param(
            {"inactivity_timeout": 5 * MINUTE - MS},
            "inactivity_timeout must be between 5 minutes and 365 days",
            id="timeout-too-short",
        ),
        pytest.param(
            {"max_lifetime": 400 * DAY, "inactivity_timeout": 365 * DAY + MS},
            "inactivity_timeout must be between 5 minutes and 365 days",
            id="timeout-too-long",
        ),
        pytest.param(
            {"inactivity_timeout": 7 * DAY + MS},
            "must not exceed max_lifetime",
            id="timeout-above-lifetime",
        ),
        pytest.param(
            {"max_lifetime": HOUR, "inactivity_timeout": 2 * HOUR},
            "must not exceed max_lifetime",
            id="timeout-above-short-lifetime",
        ),
    ],
)
def test_lifetimes_invalid(kwargs: dict[str, timedelta], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Lifetimes(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"max_lifetime": 5 * MINUTE}, id="minimum-lifetime"),
        pytest.param({"inactivity_timeout": 5 * MINUTE}, id="minimum-timeout"),
        pytest.param({"inactivity_timeout": 7 * DAY}, id="timeout-equals-lifetime"),
        pytest.param(
            {"max_lifetime": 365 * DAY, "inactivity_timeout": 365 * DAY}, id="maximum-timeout"
        ),
        pytest.param({"time_to_abandon": timedelta(0)}, id="abandon-zero"),
    ],
)
def test_lifetimes_valid(kwargs: dict[str, timedelta]) -> None:
    lifetimes = Lifetimes(**kwargs)

    for name, value in kwargs.items():
        assert getattr(lifetimes, name) == value


# Statuses


@pytest.mark.parametrize(
    ("lifetimes", "stored", "last_active", "now", "expected"),
    [
        pytest.param(DEFAULT, ACTIVE, 0 * DAY, 0 * DAY, ACTIVE, id="new"),
        pytest.param(DEFAULT, PENDING, 0 * DAY, 0 * DAY, PENDING, id="pending"),
        pytest.param(DEFAULT, ACTIVE, 0 * DAY, 7 * DAY - MS, ACTIVE, id="before-expire-at"),
        pytest.param(DEFAULT, ACTIVE, 0 * DAY, 7 * DAY, EXPIRED, id="at-expire-at"),
        pytest.param(DEFAULT, PENDING, 0 * DAY, 7 * DAY, EXPIRED, id="pending-at-expire-at"),
        pytest.param(
            DEFAULT, ACTIVE, 7 * DAY - MS, 7 * DAY, EXPIRED, id="activity-keeps-expire-at"
        ),
        pytest.param(DEFAULT, ACTIVE, 0 * DAY, 6 * DAY, ACTIVE, id="no-timeout-by-default"),
        pytest.param(DEFAULT, ACTIVE, 0 * DAY, 30 * DAY - MS, EXPIRED, id="before-abandon-at"),
        pytest.param(DEFAULT, ACTIVE, 0 * DAY, 30 * DAY, ABANDONED, id="at-abandon-at"),
        pytest.param(DEFAULT, PENDING, 0 * DAY, 30 * DAY, ABANDONED, id="pending-abandoned"),
        pytest.param(ONE_HOUR_IDLE, ACTIVE, 0 * DAY, HOUR - MS, ACTIVE, id="idle-below-timeout"),
        pytest.param(ONE_HOUR_IDLE, ACTIVE, 0 * DAY, HOUR, EXPIRED, id="idle-at-timeout"),
        pytest.param(
            ONE_HOUR_IDLE, ACTIVE, 2 * HOUR, 3 * HOUR - MS, ACTIVE, id="activity-resets-idle"
        ),
        pytest.param(ONE_HOUR_IDLE, ACTIVE, 2 * HOUR, 3 * HOUR, EXPIRED, id="idle-after-activity"),
        pytest.param(ONE_HOUR_IDLE, ACTIVE, 7 * DAY - MS, 7 * DAY, EXPIRED, id="idle-and-lifetime"),
        pytest.param(
            ONE_HOUR_IDLE, ACTIVE, 0 * DAY, 30 * DAY, ABANDONED, id="abandoned-beats-idle"
        ),
        pytest.param(
            Lifetimes(max_lifetime=40 * DAY), ACTIVE, 0 * DAY, 39 * DAY, ACTIVE, id="long-life"
        ),
        pytest.param(
            Lifetimes(max_lifetime=40 * DAY),
            ACTIVE,
            0 * DAY,
            40 * DAY,
            ABANDONED,
            id="abandoned-beats-expired",
        ),
        pytest.param(DEFAULT, EXPIRED, 0 * DAY, 0 * DAY, EXPIRED, id="stored-expired"),
        pytest.param(DEFAULT, EXPIRED, 0 * DAY, 30 * DAY - MS, EXPIRED, id="stored-expired-later"),
        pytest.param(DEFAULT, EXPIRED, 0 * DAY, 30 * DAY, ABANDONED, id="stored-expired-abandoned"),
        pytest.param(DEFAULT, ABANDONED, 0 * DAY, 0 * DAY, ABANDONED, id="stored-abandoned"),
    ],
)
def test_status_at(
    lifetimes: Lifetimes,
    stored: SessionStatus,
    last_active: timedelta,
    now: timedelta,
    expected: SessionStatus,
) -> None:
    session = make_session(lifetimes, stored, last_active)

    assert session.status_at(START + now) is expected
    assert session.is_live_at(START + now) is (expected in LIVE_STATUSES)
    assert session.at(START + now).status is expected


@pytest.mark.parametrize("status", FIXED_STATUSES, ids=str)
@pytest.mark.parametrize(
    "now",
    [timedelta(0), 7 * DAY, 30 * DAY, 3650 * DAY],
    ids=["start", "expire-at", "abandon-at", "ten-years"],
)
def test_status_fixed(status: SessionStatus, now: timedelta) -> None:
    session = make_session(ONE_HOUR_IDLE, status)

    assert session.status_at(START + now) is status
    assert session.is_live_at(START + now) is False


def test_at_keeps_unchanged_session() -> None:
    session = make_session()

    assert session.at(START) is session


def test_at_copies_changed_status() -> None:
    session = make_session()

    expired = session.at(START + 7 * DAY)

    assert expired.status is EXPIRED
    assert session.status is ACTIVE
    assert expired.id == session.id
    assert expired.expire_at == session.expire_at


# The order a session moves through as time passes, by position.
_ORDER = {ACTIVE: 0, PENDING: 0, EXPIRED: 1, ABANDONED: 2}


@pytest.mark.parametrize(
    ("lifetimes", "stored"),
    [
        pytest.param(DEFAULT, ACTIVE, id="defaults"),
        pytest.param(DEFAULT, PENDING, id="pending"),
        pytest.param(ONE_HOUR_IDLE, ACTIVE, id="idle-timeout"),
        pytest.param(Lifetimes(max_lifetime=40 * DAY), ACTIVE, id="lifetime-wins"),
        pytest.param(Lifetimes(time_to_abandon=DAY), ACTIVE, id="early-abandon"),
        pytest.param(DEFAULT, EXPIRED, id="stored-expired"),
    ],
)
def test_status_never_goes_back(lifetimes: Lifetimes, stored: SessionStatus) -> None:
    session = make_session(lifetimes, stored)
    steps = [START + step * 10 * MINUTE for step in range(6 * 24 * 45)]
    statuses = [session.status_at(moment) for moment in steps]

    positions = [_ORDER[status] for status in statuses]
    assert positions == sorted(positions)
    assert statuses[-1] is ABANDONED
    first_not_live = next(i for i, status in enumerate(statuses) if status not in LIVE_STATUSES)
    assert all(status not in LIVE_STATUSES for status in statuses[first_not_live:])


# Ids

PREFIXES = [ids.USER, ids.CLIENT, ids.SESSION, ids.ACTIVITY]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_new_id_shape(prefix: str) -> None:
    value = ids.new_id(prefix)
    body = value.removeprefix(prefix)

    assert value.startswith(prefix)
    assert len(body) == 27
    assert body.isascii()
    assert body.isalnum()
    assert ids.is_valid_id(value, prefix)


def test_new_id_unique() -> None:
    values = {ids.new_id(ids.SESSION) for _ in range(2000)}

    assert len(values) == 2000


@pytest.mark.parametrize(
    "seconds",
    [
        pytest.param([1_400_000_000, 1_400_000_001, 1_400_000_062], id="near-epoch"),
        pytest.param([1_768_478_399, 1_768_478_400, 1_768_478_401], id="now"),
        pytest.param([1_999_999_999, 2_000_000_000, 4_000_000_000], id="far-future"),
        pytest.param([1_400_000_000, 1_768_478_400, 4_000_000_000], id="wide-range"),
    ],
)
def test_new_id_sorts_by_time(monkeypatch: pytest.MonkeyPatch, seconds: list[int]) -> None:
    created = []
    for second in seconds:
        monkeypatch.setattr(ids, "time", SimpleNamespace(time=lambda second=second: second))
        # Many ids per second, so that the random part cannot order them by luck.
        created.append([ids.new_id(ids.SESSION) for _ in range(50)])

    for earlier, later in pairwise(created):
        assert max(earlier) < min(later)
    for batch in created:
        assert all(ids.is_valid_id(value, ids.SESSION) for value in batch)


VALID_BODY = "2a0aXkRz6dCqpW9yE3bVfLmTn1H"


@pytest.mark.parametrize(
    ("value", "prefix", "expected"),
    [
        pytest.param("sess_" + VALID_BODY, ids.SESSION, True, id="session"),
        pytest.param("user_" + VALID_BODY, ids.USER, True, id="user"),
        pytest.param("sess_activity_" + VALID_BODY, ids.ACTIVITY, True, id="activity"),
        pytest.param("sess_" + VALID_BODY, ids.USER, False, id="other-prefix"),
        pytest.param("sess_activity_" + VALID_BODY, ids.SESSION, False, id="longer-prefix"),
        pytest.param(VALID_BODY, ids.SESSION, False, id="no-prefix"),
        pytest.param("sess_", ids.SESSION, False, id="prefix-only"),
        pytest.param("", ids.SESSION, False, id="empty"),
        pytest.param("sess_" + VALID_BODY[:-1], ids.SESSION, False, id="26-characters"),
        pytest.param("sess_" + VALID_BODY + "a", ids.SESSION, False, id="28-characters"),
        pytest.param("sess_" + VALID_BODY[:-1] + "-", ids.SESSION, False, id="dash"),
        pytest.param("sess_" + VALID_BODY[:-1] + "_", ids.SESSION, False, id="underscore"),
        pytest.param("sess_" + VALID_BODY[:-1] + "é", ids.SESSION, False, id="non-ascii"),
        pytest.param("SESS_" + VALID_BODY, ids.SESSION, False, id="upper-case-prefix"),
        pytest.param(" sess_" + VALID_BODY, ids.SESSION, False, id="leading-space"),
    ],
)
def test_is_valid_id(value: str, prefix: str, expected: bool) -> None:
    assert ids.is_valid_id(value, prefix) is expected
