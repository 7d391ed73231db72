"""Client IP resolution behind trusted proxies.

The socket peer is the client unless the peer is a trusted proxy. Only then are the
forwarded headers (`X-Forwarded-For` or RFC 7239 `Forwarded`) read, from the right,
because everything left of the nearest untrusted hop was written by the client and can
be forged. Addresses are normalised on the way: ports, brackets, IPv6 zone ids and
IPv4-mapped IPv6 forms are removed, so that trusted proxy matching, storage and GeoIP
all see the same address.

Only configuration errors raise (an invalid trusted proxy or header name). A malformed
header or address from the client yields the nearest address known to be right, or None
when even the peer is unusable.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "FORWARDED_HEADERS",
    "IPAddress",
    "IPNetwork",
    "TrustedProxies",
    "client_ip",
    "is_public",
    "parse_ip",
    "unmapped",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_HEADERS = ("x-forwarded-for", "forwarded")

# Real proxy chains are a few hops long. Entries past these bounds are not read, so a long
# forged header costs no more than a short one.
MAX_HOPS = 20
MAX_HEADER_LENGTH = 8192

# A bracketed IPv6 address with an embedded IPv4 part, a 15-character interface name as
# zone id and a port fits in 69 characters. Longer values are rejected before parsing.
_MAX_ADDRESS_LENGTH = 100

_PORT_SUFFIX = re.compile(r":([0-9]{1,5})")

_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")

# Ranges that are not global unicast but that ipaddress in CPython 3.11.7 calls global.
_NOT_GLOBAL: tuple[IPNetwork, ...] = (
    ipaddress.IPv4Network("192.0.0.0/24"),  # IETF protocol assignments (RFC 6890)
    ipaddress.IPv6Network("3fff::/20"),  # documentation (RFC 9637)
    ipaddress.IPv6Network("fec0::/10"),  # deprecated site-local (RFC 3879)
)

# The networks that ipaddress tests addresses against in is_multicast, is_reserved,
# is_link_local and is_global, merged from CPython 3.11.2 (as patched by Debian), 3.11.7,
# 3.12.1 and 3.13.0. The results of those properties can only change at their edges.
# NOTE: in a later release that tests a network missing here, is_public can differ from
# ipaddress inside that network. The enrich tests compare the two at every edge.
_SPECIAL_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(network)
    for network in (
        # IANA IPv4 special-purpose registry, shared address space, multicast, reserved
        *("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"),
        *("172.16.0.0/12", "192.0.0.0/24", "192.0.0.0/29", "192.0.0.9/32", "192.0.0.10/32"),
        *("192.0.0.170/31", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15"),
        *("198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"),
        "255.255.255.255/32",
        # IANA IPv6 special-purpose registry, including its globally reachable exceptions
        *("::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23"),
        *("2001:1::1/128", "2001:1::2/128", "2001:2::/48", "2001:3::/32", "2001:4:112::/48"),
        *("2001:10::/28", "2001:20::/28", "2001:30::/28", "2001:db8::/32", "2002::/16"),
        *("fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8"),
        # IPv6 space that RFC 4291 leaves unassigned, which ipaddress calls reserved
        *("::/8", "100::/8", "200::/7", "400::/6", "800::/5", "1000::/4", "4000::/3"),
        *("6000::/3", "8000::/3", "a000::/3", "c000::/3", "e000::/4", "f000::/5"),
        *("f800::/6", "fe00::/9"),
    )
)


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """Addresses and CIDR ranges of proxies whose forwarded headers are believed.

    Empty by default, because any client can send a forwarded header. The header is
    only read when the socket peer is one of these proxies.
    """

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, value: str) -> TrustedProxies:
        """Parse a comma-separated list such as ``"10.0.0.2, 172.16.0.0/12, ::1"``.

        An empty string trusts no proxy. Raises ValueError naming the first invalid entry.
        """
        entries = (entry.strip() for entry in value.split(","))
        return cls(tuple(_parse_network(entry) for entry in entries if entry))

    def __contains__(self, address: IPAddress) -> bool:
        address = unmapped(address)
        return any(address in network for network in self.networks)

    def __bool__(self) -> bool:
        return bool(self.networks)


def _parse_network(entry: str) -> IPNetwork:
    try:
        network = ipaddress.ip_network(entry)
    except ValueError as error:
        message = (
            f"invalid trusted proxy {entry!r}: expected an IP address or a CIDR range "
            f"such as 10.0.0.0/8 or 2001:db8::/32 ({error})"
        )
        raise ValueError(message) from error

    # Peers are compared after unwrapping ::ffff:a.b.c.d, so a mapped entry must be too.
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
        ipv4_address = ipaddress.IPv4Address(int(network.network_address) & 0xFFFFFFFF)
        return ipaddress.IPv4Network((ipv4_address, network.prefixlen - 96))

    return network


def unmapped(address: IPAddress) -> IPAddress:
    """Return the IPv4 address inside an IPv4-mapped IPv6 address, else the address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_ip(value: str | None) -> IPAddress | None:
    """Parse one address as found in a socket peer or a forwarded header.

    Accepts surrounding spaces, brackets, a port after a bracketed IPv6 address
    (``[2001:db8::1]:8080``) or after an IPv4 address (``192.0.2.1:80``), and an IPv6
    zone id, which is dropped. IPv4-mapped IPv6 comes back as IPv4. Returns None for
    anything else, including ``unknown`` and obfuscated identifiers.
    """
    if value is None:
        return None

    value = value.strip(" \t")
    if not value or len(value) > _MAX_ADDRESS_LENGTH or not value.isascii():
        return None

    host = _strip_port(value)
    if host is None:
        return None

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None

    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        # A zone id only means something on the host that wrote it.
        address = ipaddress.IPv6Address(int(address))

    return unmapped(address)


def _strip_port(value: str) -> str | None:
    if value.startswith("["):
        host, bracket, suffix = value[1:].partition("]")
        if not bracket or (suffix and not _is_port_suffix(suffix)):
            return None
        return host

    # Exactly one colon means IPv4 with a port. A bare IPv6 address keeps its last group,
    # because that group cannot be distinguished from a port.
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host if _is_port_suffix(":" + port) else None

    return value


def _is_port_suffix(suffix: str) -> bool:
    match = _PORT_SUFFIX.fullmatch(suffix)
    return match is not None and int(match[1]) <= 65535


def is_public(address: IPAddress) -> bool:
    """Tell whether an address is global unicast, so worth storing a location for.

    False for private, loopback, link-local, shared (CGNAT 100.64.0.0/10), documentation,
    multicast, unspecified and reserved addresses. An IPv4-mapped IPv6 address is judged
    by its IPv4 address, because ipaddress counts all of ::ffff:0:0/96 as reserved
    (checked on CPython 3.11.7), which would hide every mapped public address.

    The result follows the ipaddress module of the running Python, which changes between
    releases. For example, 2002::/16 (6to4) is global in CPython 3.12.1 but not in 3.13.0.
    """
    address = unmapped(address)
    if isinstance(address, ipaddress.IPv4Address):
        edges = _IPV4_NON_PUBLIC_EDGES
    else:
        edges = _IPV6_NON_PUBLIC_EDGES

    # The edges alternate between the start and the end (exclusive) of a non-public range,
    # so an odd count of edges at or below an address puts it inside one.
    return bisect.bisect_right(edges, int(address)) % 2 == 0


def _is_global_unicast(address: IPAddress) -> bool:
    """Judge an address with the ipaddress properties, which walk lists of networks.

    It is too slow to call on every lookup, so only the tables of is_public are built from it.
    """
    if address.is_multicast or address.is_reserved or address.is_link_local:
        return False
    if any(address in network for network in _NOT_GLOBAL):
        return False

    return address.is_global


def _non_public_edges(space: IPNetwork) -> list[int]:
    """Find the non-public ranges in `space`, as the start and end (exclusive) of each.

    The result of `_is_global_unicast` can only change at the edges of _SPECIAL_NETWORKS
    and _NOT_GLOBAL, so its result for the first address of the span between two edges
    holds for the whole span.
    """
    edges = {int(space.network_address), int(space.broadcast_address) + 1}
    for network in (*_SPECIAL_NETWORKS, *_NOT_GLOBAL):
        if network.version == space.version:
            edges.add(int(network.network_address))
            edges.add(int(network.broadcast_address) + 1)

    address_class = type(space.network_address)
    non_public_edges: list[int] = []
    for start, end in itertools.pairwise(sorted(edges)):
        if _is_global_unicast(address_class(start)):
            continue
        if non_public_edges and non_public_edges[-1] == start:
            non_public_edges[-1] = end  # The range touches the previous one, so merge them.
        else:
            non_public_edges += [start, end]

    return non_public_edges


_IPV4_NON_PUBLIC_EDGES = _non_public_edges(ipaddress.IPv4Network("0.0.0.0/0"))
_IPV6_NON_PUBLIC_EDGES = _non_public_edges(ipaddress.IPv6Network("::/0"))


def client_ip(
    peer: str | None,
    header_values: Sequence[str],
    trusted: TrustedProxies,
    header: str = "x-forwarded-for",
) -> IPAddress | None:
    """Resolve the client address of a request.

    `peer` is the socket peer address. `header_values` are the lines of the forwarded
    header named by `header`, in the order received. The header is read only when the
    peer is a trusted proxy. Returns None only when the peer itself is missing or invalid.
    Raises ValueError when `header` is not one of FORWARDED_HEADERS.
    """
    header_name = header.lower()
    if header_name not in FORWARDED_HEADERS:
        message = f"invalid forwarded header {header!r}: expected one of {FORWARDED_HEADERS}"
        raise ValueError(message)

    peer_address = parse_ip(peer)
    if peer_address is None or peer_address not in trusted:
        return peer_address

    # A str is a Sequence[str] too, and joining its characters would misread it.
    if isinstance(header_values, str):
        header_values = [header_values]

    hops: Iterable[IPAddress | None]
    if header_name == "forwarded":
        hops = _forwarded_hops(header_values)
    else:
        hops = _x_forwarded_for_hops(header_values)

    return _walk(peer_address, hops, trusted)


def _walk(peer: IPAddress, hops: Iterable[IPAddress | None], trusted: TrustedProxies) -> IPAddress:
    """Return the first untrusted hop, walking from the proxy nearest to us outwards.

    An unusable hop (None) ends the walk, because the entries left of it cannot be tied
    to any proxy we trust. The walk then returns the last trusted address reached.
    """
    reached = peer

    for hop in itertools.islice(hops, MAX_HOPS):
        if hop is None:
            break
        if hop not in trusted:
            return hop
        reached = hop

    return reached


def _x_forwarded_for_hops(header_values: Sequence[str]) -> Iterator[IPAddress | None]:
    """Return the X-Forwarded-For addresses from right to left, None for unusable entries.

    The addresses are parsed lazily, as the walk reaches them.
    """
    combined = ",".join(header_values)

    if len(combined) > MAX_HEADER_LENGTH:
        # Keep the end nearest to us. The entry that the cut runs through is dropped, so a
        # truncated address is never read as a different one.
        combined = combined[-MAX_HEADER_LENGTH:].partition(",")[2]

    entries = combined.split(",")[-MAX_HOPS:]
    return (parse_ip(entry) for entry in reversed(entries))


# RFC 7239 grammar. A token is one or more tchars, and both token and quoted-string
# come from RFC 9110.
_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED_STRING = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_FORWARDED_PAIR = re.compile(rf"({_TCHARS})=({_TCHARS}|{_QUOTED_STRING})")
_QUOTED_PAIR = re.compile(r"\\(.)")
_OBFUSCATED_PORT = re.compile(r":_[0-9A-Za-z._-]+\Z")


def _forwarded_hops(header_values: Sequence[str]) -> list[IPAddress | None]:
    """Return the `for=` addresses of a Forwarded header from right to left.

    An element without a usable `for=` gives None. A header that breaks the RFC 7239
    grammar, such as an unquoted IPv6 address, gives no hops at all, so the walk stops at
    the peer.
    """
    combined = ",".join(header_values)

    # A cut could land inside a quoted string, and no proxy of ours writes this much.
    if len(combined) > MAX_HEADER_LENGTH:
        return []

    elements = _parse_forwarded(combined)
    if elements is None:
        return []

    return [_parse_forwarded_node(element.get("for")) for element in reversed(elements)]


def _parse_forwarded(value: str) -> list[dict[str, str]] | None:
    """Split a Forwarded header into elements of lower-cased parameter names and values.

    Returns None when the header breaks the grammar or repeats a parameter in one element.
    Empty list entries are skipped, as RFC 9110 requires of recipients.
    """
    elements: list[dict[str, str]] = []
    element: dict[str, str] = {}
    position = _skip_whitespace(value, 0)

    while position < len(value):
        pair = _FORWARDED_PAIR.match(value, position)
        if pair is not None:
            name = pair[1].lower()
            if name in element:
                return None
            element[name] = _unquote(pair[2])
            position = _skip_whitespace(value, pair.end())

        if position == len(value):
            break

        separator = value[position]
        if separator == ",":
            if element:
                elements.append(element)
            element = {}
        elif separator != ";":
            return None
        position = _skip_whitespace(value, position + 1)

    if element:
        elements.append(element)
    return elements


def _skip_whitespace(value: str, position: int) -> int:
    while position < len(value) and value[position] in " \t":
        position += 1
    return position


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return _QUOTED_PAIR.sub(r"\1", value[1:-1])
    return value


def _parse_forwarded_node(node: str | None) -> IPAddress | None:
    """Parse a `for=` node. IPv6 must be bracketed here, so a bare one is invalid."""
    if node is None:
        return None

    # RFC 7239 allows an obfuscated port (":_abc"), which does not affect the address.
    node = _OBFUSCATED_PORT.sub("", node, count=1)

    if not node.startswith("[") and node.count(":") > 1:
        return None

    return parse_ip(node)
