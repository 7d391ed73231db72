"""A signed-in lastseen user with sessions on several devices, for the HTTP rows."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from bench import corpus, databases
from lastseen.enrich.geoip import GeoIP, bundled_geolite2_path
from lastseen.service.accounts import Accounts
from lastseen.service.activity import Enricher, RequestFacts
from lastseen.service.sessions import Sessions
from lastseen.store.sql import SQLStore

# The User-Agent the load generator sends. The requesting session was created with it
# from 127.0.0.1, so requests under load match its activity and only touch it once a
# touch interval, as a browser's repeated requests do.
LOAD_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


@dataclass(frozen=True)
class SignedIn:
    """The user's id, and the client token and session id of the requesting browser."""

    user_id: str
    client_token: str
    session_id: str


def seed_sqlite(path: Path, session_count: int = 10) -> SignedIn:
    """Create a migrated SQLite file at ``path`` with one user signed in on several devices.

    The first session is the requester's. The others come from real User-Agent strings
    and public addresses, so their activities carry browsers, cities and countries.
    """
    engine = databases.migrated_sqlite(path)
    geoip_path = bundled_geolite2_path()
    geoip = GeoIP(geoip_path) if geoip_path else None
    try:
        store = SQLStore(engine)
        sessions = Sessions(store, Enricher(geoip))
        accounts = Accounts(sessions)
        user = databases.add_user(store, "bench@example.com")

        agents = corpus.user_agents(2000)
        addresses = corpus.public_ipv4(session_count, seed=corpus.SEED + 5)
        requester: tuple[str, str] | None = None
        for index in range(session_count):
            client, token = accounts.new_client()
            if index == 0:
                facts = RequestFacts(ip_address=LOOPBACK, user_agent=LOAD_USER_AGENT)
            else:
                facts = RequestFacts(ip_address=addresses[index], user_agent=agents[index])
            session = sessions.create_session(user, client, facts)
            if index == 0:
                requester = (token, session.id)
    finally:
        if geoip is not None:
            geoip.close()
        engine.dispose()

    assert requester is not None
    return SignedIn(user.id, *requester)
