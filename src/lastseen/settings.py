"""Settings from ``LASTSEEN_*`` environment variables: the one reference for every knob.

Durations accept plain seconds (``300``) or a number with a unit: ``s``, ``m``, ``h``, ``d``
(``90s``, ``5m``, ``7d``). Each error names the variable, the value and what it must be.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from lastseen.domain.sessions import (
    MAX_INACTIVITY_TIMEOUT,
    MIN_INACTIVITY_TIMEOUT,
    MIN_MAX_LIFETIME,
    Lifetimes,
)
from lastseen.enrich.client_ip import FORWARDED_HEADERS, TrustedProxies
from lastseen.errors import ConfigurationError

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

DEFAULT_DATABASE_URL = "sqlite:///lastseen.db"

# Ten years: longer lifetimes are surely typos, and far-future dates overflow datetime.
MAX_SESSION_DURATION = timedelta(days=3650)


@dataclass(frozen=True, slots=True)
class Settings:
    #: LASTSEEN_DATABASE_URL: an SQLAlchemy URL. SQLite by default, a file in the working
    #: directory; ``postgresql://user@host/db`` uses PostgreSQL through psycopg 3.
    database_url: str = DEFAULT_DATABASE_URL

    #: LASTSEEN_SECRET_KEY: the bootstrap ``sk_…`` key of the backend API. Unset means the
    #: backend API rejects every request.
    secret_key: str | None = field(default=None, repr=False)

    #: LASTSEEN_TRUSTED_PROXIES: comma-separated addresses and CIDR ranges of the proxies in
    #: front of lastseen. Empty by default, so forwarded headers are ignored: any client can
    #: write them, and believing them lets a client choose the IP address it is shown with.
    trusted_proxies: TrustedProxies = field(default_factory=lambda: TrustedProxies.parse(""))

    #: LASTSEEN_FORWARDED_HEADER: the header the trusted proxies write, ``x-forwarded-for``
    #: (default) or ``forwarded`` (RFC 7239). Only one is read, because a proxy that writes one
    #: usually passes the other through from the client unchanged.
    forwarded_header: str = "x-forwarded-for"

    #: LASTSEEN_GEOIP_DB: path of a MaxMind-format City ``.mmdb`` (GeoLite2-City, DB-IP City
    #: Lite, GeoIP2-City). Unset: the GeoLite2 file of the ``lastseen[geoip]`` extra when that
    #: is installed, else no city and country.
    geoip_db: str | None = None

    #: LASTSEEN_TOUCH_INTERVAL: at most one ``last_active_at`` write per session per interval
    #: (default 60 s, 0 writes on every request). A changed IP address or user agent is always
    #: written at once.
    touch_interval: timedelta = timedelta(seconds=60)

    #: LASTSEEN_ACTIVITY_FLUSH_MS: activity writes wait up to this many milliseconds in
    #: memory and are written in batches (default 100, 0 to 10000). 0 writes each one at
    #: once. Reads of sessions write what is pending first, and a shutdown writes the rest.
    #: A process that is killed loses at most this interval of activity.
    activity_flush_interval: timedelta = timedelta(milliseconds=100)

    #: LASTSEEN_MAX_LIFETIME: default 7d, at least 5m. LASTSEEN_INACTIVITY_TIMEOUT: off by
    #: default, else 5m to 365d and not above the maximum lifetime. LASTSEEN_TIME_TO_ABANDON:
    #: default 30d, raised to the maximum lifetime when below it.
    lifetimes: Lifetimes = field(default_factory=Lifetimes)

    #: LASTSEEN_ALLOWED_ORIGINS: comma-separated origins (``https://app.example.com``) whose
    #: browsers may change state through the frontend API with the client cookie, besides
    #: lastseen's own origin.
    allowed_origins: frozenset[str] = frozenset()

    #: LASTSEEN_TOKEN_LIFETIME: how long a session token (JWT) is valid, default 60s, 30s to
    #: 1h. A revoked session's token keeps verifying without a network call until it expires.
    token_lifetime: timedelta = timedelta(seconds=60)

    #: LASTSEEN_ISSUER: the ``iss`` claim of session tokens. Unset: the URL the request came
    #: to, such as ``http://127.0.0.1:8000``.
    issuer: str | None = None

    #: LASTSEEN_ENCRYPTION_KEY: at least 32 characters that encrypt the token signing keys in
    #: the database. Unset: a key generated into LASTSEEN_ENCRYPTION_KEY_FILE (default
    #: ``lastseen.key`` in the working directory), which suits one machine only.
    encryption_key: str | None = field(default=None, repr=False)
    encryption_key_file: str = "lastseen.key"

    #: LASTSEEN_REDIS_URL: ``redis://host:6379/0``. When set, lastseen publishes ended
    #: sessions there, so host apps with the revocation check refuse their tokens at once.
    redis_url: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read the settings from ``environ`` (default ``os.environ``)."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(f"LASTSEEN_{name}")
            return value if value is None or value.strip() else None

        lifetimes = _lifetimes(env)

        try:
            trusted = TrustedProxies.parse(get("TRUSTED_PROXIES") or "")
        except ValueError as exc:
            raise ConfigurationError(f"invalid LASTSEEN_TRUSTED_PROXIES: {exc}") from exc

        raw_header = get("FORWARDED_HEADER") or "x-forwarded-for"
        header = raw_header.strip().lower()
        if header not in FORWARDED_HEADERS:
            raise ConfigurationError(
                f"invalid LASTSEEN_FORWARDED_HEADER {raw_header!r}: must be one of "
                + ", ".join(FORWARDED_HEADERS)
            )

        return cls(
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            secret_key=get("SECRET_KEY"),
            trusted_proxies=trusted,
            forwarded_header=header,
            geoip_db=get("GEOIP_DB"),
            touch_interval=_duration(env, "TOUCH_INTERVAL", timedelta(seconds=60)),
            activity_flush_interval=_activity_flush_interval(env),
            lifetimes=lifetimes,
            allowed_origins=_origins(get("ALLOWED_ORIGINS") or ""),
            token_lifetime=_token_lifetime(env),
            issuer=(get("ISSUER") or "").strip().rstrip("/") or None,
            encryption_key=get("ENCRYPTION_KEY"),
            encryption_key_file=get("ENCRYPTION_KEY_FILE") or "lastseen.key",
            redis_url=get("REDIS_URL"),
        )

    def describe(self) -> dict[str, str]:
        """Return each setting as its environment variable and a printable value.

        Secret values are masked, and a password in the database URL is hidden.
        """
        from sqlalchemy.engine import make_url

        lifetimes = self.lifetimes
        inactivity = lifetimes.inactivity_timeout
        return {
            "LASTSEEN_DATABASE_URL": make_url(self.database_url).render_as_string(
                hide_password=True
            ),
            "LASTSEEN_SECRET_KEY": _mask(self.secret_key),
            "LASTSEEN_TRUSTED_PROXIES": ", ".join(
                str(network) for network in self.trusted_proxies.networks
            ),
            "LASTSEEN_FORWARDED_HEADER": self.forwarded_header,
            "LASTSEEN_GEOIP_DB": self.geoip_db or "",
            "LASTSEEN_TOUCH_INTERVAL": _seconds(self.touch_interval),
            "LASTSEEN_ACTIVITY_FLUSH_MS": str(
                self.activity_flush_interval // timedelta(milliseconds=1)
            ),
            "LASTSEEN_MAX_LIFETIME": _seconds(lifetimes.max_lifetime),
            "LASTSEEN_INACTIVITY_TIMEOUT": _seconds(inactivity) if inactivity else "0 (off)",
            "LASTSEEN_TIME_TO_ABANDON": _seconds(lifetimes.time_to_abandon),
            "LASTSEEN_ALLOWED_ORIGINS": ", ".join(sorted(self.allowed_origins)),
            "LASTSEEN_TOKEN_LIFETIME": _seconds(self.token_lifetime),
            "LASTSEEN_ISSUER": self.issuer or "(the request's origin)",
            "LASTSEEN_ENCRYPTION_KEY": _mask(self.encryption_key),
            "LASTSEEN_ENCRYPTION_KEY_FILE": self.encryption_key_file,
            "LASTSEEN_REDIS_URL": _mask_url(self.redis_url),
        }


def _mask(value: str | None) -> str:
    return "(set, hidden)" if value else "(unset)"


def _mask_url(value: str | None) -> str:
    if not value:
        return "(unset)"
    from sqlalchemy.engine import make_url

    try:
        return make_url(value).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: show nothing of it
        return "(set, hidden)"


def _seconds(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


def parse_duration(value: str) -> timedelta:
    """Parse ``300``, ``90s``, ``5m``, ``12h`` or ``7d`` into a timedelta."""
    match = _DURATION.match(value)
    if match is None:
        raise ValueError("must be a whole number of seconds or a number with s, m, h or d")
    amount, unit = match.groups()
    try:
        return timedelta(seconds=int(amount) * _UNITS[unit])
    except OverflowError:
        raise ValueError("is too large") from None


def _duration(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    raw = env.get(f"LASTSEEN_{name}", "").strip()
    if not raw:
        return default
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ConfigurationError(f"invalid LASTSEEN_{name} {raw!r}: {exc}") from exc


def _lifetimes(env: Mapping[str, str]) -> Lifetimes:
    # Checked here as well as in Lifetimes, so that each error names its variable.
    max_lifetime = _duration(env, "MAX_LIFETIME", timedelta(days=7))
    if max_lifetime < MIN_MAX_LIFETIME:
        raise _invalid(env, "MAX_LIFETIME", "must be at least 5 minutes")
    if max_lifetime > MAX_SESSION_DURATION:
        raise _invalid(env, "MAX_LIFETIME", "must be at most 3650 days")

    inactivity = _duration(env, "INACTIVITY_TIMEOUT", timedelta(0)) or None
    if inactivity is not None:
        if not MIN_INACTIVITY_TIMEOUT <= inactivity <= MAX_INACTIVITY_TIMEOUT:
            raise _invalid(
                env, "INACTIVITY_TIMEOUT", "must be 0 (off) or between 5 minutes and 365 days"
            )
        if inactivity > max_lifetime:
            max_raw = env.get("LASTSEEN_MAX_LIFETIME", "").strip() or "7d"
            raise _invalid(
                env, "INACTIVITY_TIMEOUT", f"must not exceed LASTSEEN_MAX_LIFETIME ({max_raw})"
            )

    abandon = _duration(env, "TIME_TO_ABANDON", timedelta(days=30))
    if abandon > MAX_SESSION_DURATION:
        raise _invalid(env, "TIME_TO_ABANDON", "must be at most 3650 days")
    return Lifetimes(max_lifetime, inactivity, abandon)


def _token_lifetime(env: Mapping[str, str]) -> timedelta:
    lifetime = _duration(env, "TOKEN_LIFETIME", timedelta(seconds=60))
    if not timedelta(seconds=30) <= lifetime <= timedelta(hours=1):
        raise _invalid(env, "TOKEN_LIFETIME", "must be between 30 seconds and 1 hour")
    return lifetime


_MILLISECOND = timedelta(milliseconds=1)


def _activity_flush_interval(env: Mapping[str, str]) -> timedelta:
    raw = env.get("LASTSEEN_ACTIVITY_FLUSH_MS", "").strip()
    if not raw:
        return timedelta(milliseconds=100)
    if not raw.isascii() or not raw.isdigit() or int(raw) > 10_000:
        raise _invalid(env, "ACTIVITY_FLUSH_MS", "must be a whole number from 0 to 10000")
    return timedelta(milliseconds=int(raw))


def _invalid(env: Mapping[str, str], name: str, reason: str) -> ConfigurationError:
    raw = env.get(f"LASTSEEN_{name}", "").strip()
    return ConfigurationError(f"invalid LASTSEEN_{name} {raw!r}: {reason}")


def _origins(value: str) -> frozenset[str]:
    origins = set()
    for item in value.split(","):
        origin = item.strip().rstrip("/")
        if not origin:
            continue
        if not re.match(r"^https?://[^/\s]+$", origin):
            raise ConfigurationError(
                f"invalid LASTSEEN_ALLOWED_ORIGINS entry {origin!r}: "
                "must be a scheme and host such as https://app.example.com"
            )
        # Browsers send the Origin header with the scheme and host in lower case.
        origins.add(origin.lower())
    return frozenset(origins)
