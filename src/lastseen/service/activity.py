"""Request facts (IP address, user agent, client hints) turned into activity facts."""

from dataclasses import dataclass, field

from lastseen.enrich.client_ip import IPAddress
from lastseen.enrich.geoip import GeoIP, Location
from lastseen.enrich.useragent import (
    MAX_USER_AGENT_LENGTH,
    ClientHints,
    UserAgentFacts,
    parse_user_agent,
)


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a request tells about its sender, after the trusted-proxy rules."""

    ip_address: IPAddress | None = None
    user_agent: str | None = None
    hints: ClientHints = field(default_factory=ClientHints)


@dataclass(frozen=True, slots=True)
class ActivityFacts:
    """The parsed, located facts that an activity row stores."""

    ip_address: str | None
    user_agent: str | None
    agent: UserAgentFacts
    location: Location | None


class Enricher:
    """Parses user agents and looks up locations; both are pure, so both are cached."""

    def __init__(self, geoip: GeoIP | None = None) -> None:
        self.geoip = geoip

    def describe(self, facts: RequestFacts) -> ActivityFacts:
        user_agent = (facts.user_agent or "")[:MAX_USER_AGENT_LENGTH] or None
        address = facts.ip_address
        location = None
        if address is not None and self.geoip is not None:
            location = self.geoip.lookup(address)
        return ActivityFacts(
            ip_address=None if address is None else str(address),
            user_agent=user_agent,
            agent=parse_user_agent(facts.user_agent, facts.hints),
            location=location,
        )
