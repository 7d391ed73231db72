"""Demo data: one user signed in from about ten real browsers and phones, around the world.

The addresses belong to universities and internet registries, so the list shows real
cities without pointing at anyone's home.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import ip_address

from lastseen.domain.clock import FrozenClock
from lastseen.domain.users import User
from lastseen.service.accounts import Accounts
from lastseen.service.activity import RequestFacts
from lastseen.service.sessions import Sessions

logger = logging.getLogger("lastseen.demo")

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "lastseen-demo"  # noqa: S105 - printed for newcomers; demo data only


@dataclass(frozen=True, slots=True)
class DemoDevice:
    user_agent: str
    ip_address: str
    last_active: timedelta


DEVICES = (
    DemoDevice(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "193.0.6.139",
        timedelta(minutes=3),
    ),
    DemoDevice(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "130.88.0.1",
        timedelta(minutes=42),
    ),
    DemoDevice(
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "160.45.170.10",
        timedelta(hours=3),
    ),
    DemoDevice(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "128.101.101.101",
        timedelta(hours=7),
    ),
    DemoDevice(
        "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "147.231.1.1",
        timedelta(hours=20),
    ),
    DemoDevice(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
        "141.2.0.1",
        timedelta(days=1, hours=5),
    ),
    DemoDevice(
        "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.104 Mobile Safari/537.36",
        "129.132.0.1",
        timedelta(days=2),
    ),
    DemoDevice(
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
        "131.111.8.1",
        timedelta(days=3, hours=2),
    ),
    DemoDevice(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "18.9.22.69",
        timedelta(days=4),
    ),
    DemoDevice(
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "2001:67c:2e8:22::c100:68b",
        timedelta(days=5),
    ),
    DemoDevice(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
        "137.189.11.1",
        timedelta(days=6),
    ),
)


def seed_demo(accounts: Accounts) -> User:
    """Create the demo user, unless it exists, and sign it in from every demo device."""
    store = accounts.store
    existing = store.find_user(DEMO_EMAIL)
    if existing is not None and accounts.sessions.list_active_sessions(existing.id):
        return existing
    user = existing or accounts.create_user(
        email_address=DEMO_EMAIL, password=DEMO_PASSWORD, first_name="Demo", last_name="User"
    )

    now = accounts.sessions.clock()
    for device in DEVICES:
        # Each device was last seen a while ago, so the list shows a spread of times.
        sessions = Sessions(
            store,
            accounts.sessions.enricher,
            lifetimes=accounts.sessions.lifetimes,
            clock=FrozenClock(now - device.last_active),
        )
        client, _token = Accounts(sessions).new_client()
        facts = RequestFacts(ip_address=ip_address(device.ip_address), user_agent=device.user_agent)
        sessions.create_session(user, client, facts)

    logger.info("demo data created user_id=%s sessions=%d", user.id, len(DEVICES))
    return user
