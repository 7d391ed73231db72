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
    """Facts about a request's sender, with the trusted-proxy rules applied to its address."""

    ip_address: IPAddress | None = None
    user_agent: str | None = None
    hints: ClientHints = field(default_factory=ClientHints)

    @property
    def stored_ip_address(self) -> str | None:
        """The IP address as an activity row stores it."""
        return None if self.ip_address is None else str(self.ip_address)

    @property
    def stored_user_agent(self) -> str | None:
        """The User-Agent as an activity row stores it: cut to the stored bound."""
        return (self.user_agent or "")[:MAX_USER_AGENT_LENGTH] or None


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
        address = facts.ip_address
        location = None
        if address is not None and self.geoip is not None:
            location = self.geoip.lookup(address)
        return ActivityFacts(
            ip_address=facts.stored_ip_address,
            user_agent=facts.stored_user_agent,
            agent=parse_user_agent(facts.user_agent, facts.hints),
            location=location,
        )
