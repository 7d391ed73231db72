"""Settings read from LASTSEEN_* variables: defaults, durations and validation messages."""

import ipaddress
from datetime import timedelta

import pytest

from lastseen.domain.sessions import Lifetimes
from lastseen.errors import ConfigurationError
from lastseen.settings import DEFAULT_DATABASE_URL, Settings, parse_duration

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def configuration_error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(environ)
    return str(caught.value)


# Defaults


def test_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_url == "sqlite:///lastseen.db"
    assert settings.secret_key is None
    assert not settings.trusted_proxies
    assert settings.forwarded_header == "x-forwarded-for"
    assert settings.geoip_db is None
    assert settings.touch_interval == 60 * SECOND
    assert settings.lifetimes == Lifetimes()
    assert settings.lifetimes.max_lifetime == 7 * DAY
    assert settings.lifetimes.inactivity_timeout is None
    assert settings.lifetimes.time_to_abandon == 30 * DAY
    assert settings.allowed_origins == frozenset()


def test_defaults_match_class() -> None:
    assert Settings.from_env({}) == Settings()


def test_blank_values_use_defaults() -> None:
    names = [
        "DATABASE_URL",
        "SECRET_KEY",
        "TRUSTED_PROXIES",
        "FORWARDED_HEADER",
        "GEOIP_DB",
        "TOUCH_INTERVAL",
        "ACTIVITY_FLUSH_MS",
        "MAX_LIFETIME",
        "INACTIVITY_TIMEOUT",
        "TIME_TO_ABANDON",
        "ALLOWED_ORIGINS",
    ]

    settings = Settings.from_env({f"LASTSEEN_{name}": "  " for name in names})

    assert settings == Settings()


def test_plain_values() -> None:
    settings = Settings.from_env(
        {
            "LASTSEEN_DATABASE_URL": "postgresql://lastseen@db.internal/lastseen",
            "LASTSEEN_SECRET_KEY": "sk_test_secret",
            "LASTSEEN_GEOIP_DB": "/var/lib/geoip/City.mmdb",
            "OTHER_SECRET_KEY": "ignored",
        }
    )

    assert settings.database_url == "postgresql://lastseen@db.internal/lastseen"
    assert settings.secret_key == "sk_test_secret"
    assert settings.geoip_db == "/var/lib/geoip/City.mmdb"
    assert "sk_test_secret" not in repr(settings)


def test_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LASTSEEN_TOUCH_INTERVAL", "5m")

    assert Settings.from_env().touch_interval == 5 * MINUTE


# Durations


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("300", 300 * SECOND),
        ("0", timedelta(0)),
        ("90s", 90 * SECOND),
        ("5m", 5 * MINUTE),
        ("12h", 12 * HOUR),
        ("7d", 7 * DAY),
        (" 7d ", 7 * DAY),
        ("7 d", 7 * DAY),
        ("007m", 7 * MINUTE),
    ],
)
def test_parse_duration(value: str, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "abc", "-5", "+5", "1.5m", "5w", "5M", "1m30s", "5 minutes", "m", "5mm"],
)
def test_parse_duration_invalid(value: str) -> None:
    with pytest.raises(ValueError, match="must be a whole number of seconds"):
        parse_duration(value)


def test_parse_duration_too_large() -> None:
    with pytest.raises(ValueError, match="is too large"):
        parse_duration("99999999999d")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", timedelta(0)), ("250", timedelta(milliseconds=250)), ("10000", 10 * SECOND)],
)
def test_activity_flush_ms(value: str, expected: timedelta) -> None:
    settings = Settings.from_env({"LASTSEEN_ACTIVITY_FLUSH_MS": value})

    assert settings.activity_flush_interval == expected


@pytest.mark.parametrize("value", ["-1", "10001", "0.5", "1s", "\u0661\u0660"])
def test_activity_flush_ms_invalid(value: str) -> None:
    message = configuration_error({"LASTSEEN_ACTIVITY_FLUSH_MS": value})

    assert message == (
        f"invalid LASTSEEN_ACTIVITY_FLUSH_MS {value!r}: must be a whole number from 0 to 10000"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", timedelta(0)), ("300", 300 * SECOND), ("90s", 90 * SECOND), ("2m", 2 * MINUTE)],
)
def test_touch_interval(value: str, expected: timedelta) -> None:
    settings = Settings.from_env({"LASTSEEN_TOUCH_INTERVAL": value})

    assert settings.touch_interval == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({"LASTSEEN_MAX_LIFETIME": "300"}, Lifetimes(5 * MINUTE), id="seconds"),
        pytest.param({"LASTSEEN_MAX_LIFETIME": "5m"}, Lifetimes(5 * MINUTE), id="minimum"),
        pytest.param({"LASTSEEN_MAX_LIFETIME": "90d"}, Lifetimes(90 * DAY), id="long"),
        pytest.param(
            {"LASTSEEN_INACTIVITY_TIMEOUT": "30m"},
            Lifetimes(inactivity_timeout=30 * MINUTE),
            id="timeout",
        ),
        pytest.param(
            {"LASTSEEN_INACTIVITY_TIMEOUT": "7d"},
            Lifetimes(inactivity_timeout=7 * DAY),
            id="timeout-equals-lifetime",
        ),
        pytest.param(
            {"LASTSEEN_MAX_LIFETIME": "400d", "LASTSEEN_INACTIVITY_TIMEOUT": "365d"},
            Lifetimes(400 * DAY, 365 * DAY),
            id="maximum-timeout",
        ),
        pytest.param({"LASTSEEN_INACTIVITY_TIMEOUT": "0"}, Lifetimes(), id="timeout-off"),
        pytest.param({"LASTSEEN_INACTIVITY_TIMEOUT": "0m"}, Lifetimes(), id="timeout-off-unit"),
        pytest.param(
            {"LASTSEEN_TIME_TO_ABANDON": "1d"}, Lifetimes(time_to_abandon=DAY), id="abandon"
        ),
        pytest.param(
            {"LASTSEEN_TIME_TO_ABANDON": "0"},
            Lifetimes(time_to_abandon=timedelta(0)),
            id="abandon-zero",
        ),
    ],
)
def test_lifetimes(environ: dict[str, str], expected: Lifetimes) -> None:
    assert Settings.from_env(environ).lifetimes == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param(
            {"LASTSEEN_MAX_LIFETIME": "3m"},
            "invalid LASTSEEN_MAX_LIFETIME '3m': must be at least 5 minutes",
            id="lifetime-too-short",
        ),
        pytest.param(
            {"LASTSEEN_MAX_LIFETIME": "299"},
            "invalid LASTSEEN_MAX_LIFETIME '299': must be at least 5 minutes",
            id="lifetime-seconds-too-short",
        ),
        pytest.param(
            {"LASTSEEN_MAX_LIFETIME": "0"},
            "invalid LASTSEEN_MAX_LIFETIME '0': must be at least 5 minutes",
            id="lifetime-zero",
        ),
        pytest.param(
            {"LASTSEEN_INACTIVITY_TIMEOUT": "4m"},
            "invalid LASTSEEN_INACTIVITY_TIMEOUT '4m': "
            "must be 0 (off) or between 5 minutes and 365 days",
            id="timeout-too-short",
        ),
        pytest.param(
            {"LASTSEEN_MAX_LIFETIME": "400d", "LASTSEEN_INACTIVITY_TIMEOUT": "366d"},
            "invalid LASTSEEN_INACTIVITY_TIMEOUT '366d': "
            "must be 0 (off) or between 5 minutes and 365 days",
            id="timeout-too-long",
        ),
        pytest.param(
            {"LASTSEEN_INACTIVITY_TIMEOUT": "8d"},
            "invalid LASTSEEN_INACTIVITY_TIMEOUT '8d': must not exceed LASTSEEN_MAX_LIFETIME (7d)",
            id="timeout-above-default-lifetime",
        ),
        pytest.param(
            {"LASTSEEN_MAX_LIFETIME": "1h", "LASTSEEN_INACTIVITY_TIMEOUT": "2h"},
            "invalid LASTSEEN_INACTIVITY_TIMEOUT '2h': must not exceed LASTSEEN_MAX_LIFETIME (1h)",
            id="timeout-above-lifetime",
        ),
    ],
)
def test_lifetimes_invalid(environ: dict[str, str], message: str) -> None:
    assert configuration_error(environ) == message


@pytest.mark.parametrize(
    "name", ["TOUCH_INTERVAL", "MAX_LIFETIME", "INACTIVITY_TIMEOUT", "TIME_TO_ABANDON"]
)
@pytest.mark.parametrize("value", ["soon", "1.5h", "-5m", "5w", "99999999999d"])
def test_duration_invalid(name: str, value: str) -> None:
    message = configuration_error({f"LASTSEEN_{name}": value})

    assert message.startswith(f"invalid LASTSEEN_{name} {value!r}: ")


def test_duration_invalid_reason() -> None:
    message = configuration_error({"LASTSEEN_TOUCH_INTERVAL": "1m30s"})

    assert message == (
        "invalid LASTSEEN_TOUCH_INTERVAL '1m30s': "
        "must be a whole number of seconds or a number with s, m, h or d"
    )


# Client IP settings


def test_trusted_proxies() -> None:
    settings = Settings.from_env(
        {"LASTSEEN_TRUSTED_PROXIES": " 10.0.0.2, 172.16.0.0/12 ,::1,, ::ffff:192.0.2.0/120"}
    )

    assert settings.trusted_proxies.networks == (
        ipaddress.ip_network("10.0.0.2/32"),
        ipaddress.ip_network("172.16.0.0/12"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("192.0.2.0/24"),
    )
    assert ipaddress.ip_address("172.20.1.1") in settings.trusted_proxies
    assert ipaddress.ip_address("203.0.113.7") not in settings.trusted_proxies


@pytest.mark.parametrize(
    "entry",
    ["10.0.0.300", "10.0.0.0/33", "10.0.0.1/8", "proxy.example.com", "10.0.0.0/8/8", "*"],
)
def test_trusted_proxies_invalid(entry: str) -> None:
    message = configuration_error({"LASTSEEN_TRUSTED_PROXIES": f"10.0.0.2, {entry}"})

    assert message.startswith("invalid LASTSEEN_TRUSTED_PROXIES: ")
    assert repr(entry) in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("forwarded", "forwarded"),
        ("Forwarded", "forwarded"),
        ("x-forwarded-for", "x-forwarded-for"),
        (" X-Forwarded-For ", "x-forwarded-for"),
    ],
)
def test_forwarded_header(value: str, expected: str) -> None:
    settings = Settings.from_env({"LASTSEEN_FORWARDED_HEADER": value})

    assert settings.forwarded_header == expected


@pytest.mark.parametrize("value", ["X-Real-IP", "x-forwarded", "forwarded-for", "x_forwarded_for"])
def test_forwarded_header_invalid(value: str) -> None:
    message = configuration_error({"LASTSEEN_FORWARDED_HEADER": value})

    assert message == (
        f"invalid LASTSEEN_FORWARDED_HEADER {value!r}: must be one of x-forwarded-for, forwarded"
    )


# Allowed origins


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("https://app.example.com", {"https://app.example.com"}, id="one"),
        pytest.param(
            " https://app.example.com , http://localhost:3000/ ",
            {"https://app.example.com", "http://localhost:3000"},
            id="two-with-spaces",
        ),
        pytest.param("https://App.Example.COM", {"https://app.example.com"}, id="mixed-case"),
        pytest.param("http://[::1]:8080", {"http://[::1]:8080"}, id="ipv6"),
        pytest.param(",, ,", set(), id="only-commas"),
        pytest.param(
            "https://a.example.com,https://a.example.com/", {"https://a.example.com"}, id="repeat"
        ),
    ],
)
def test_allowed_origins(value: str, expected: set[str]) -> None:
    settings = Settings.from_env({"LASTSEEN_ALLOWED_ORIGINS": value})

    assert settings.allowed_origins == frozenset(expected)


@pytest.mark.parametrize(
    "entry",
    [
        "app.example.com",
        "https://app.example.com/path",
        "ftp://app.example.com",
        "https:///app",
        "https://app example.com",
        "//app.example.com",
        "*",
    ],
)
def test_allowed_origins_invalid(entry: str) -> None:
    message = configuration_error({"LASTSEEN_ALLOWED_ORIGINS": f"https://ok.example.com,{entry}"})

    assert message == (
        f"invalid LASTSEEN_ALLOWED_ORIGINS entry {entry!r}: "
        "must be a scheme and host such as https://app.example.com"
    )
