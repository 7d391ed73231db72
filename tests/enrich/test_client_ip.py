"""Client IP resolution: trusted proxies, forwarded headers and address normalisation."""

import ipaddress
import re

import pytest

from lastseen.enrich import client_ip as client_ip_module
from lastseen.enrich.client_ip import (
    FORWARDED_HEADERS,
    IPAddress,
    TrustedProxies,
    client_ip,
    is_public,
    parse_ip,
)

XFF = "x-forwarded-for"
FORWARDED = "forwarded"


def address(value: str) -> IPAddress:
    return ipaddress.ip_address(value)


def resolve(peer: str | None, lines: list[str], trusted: str, header: str = XFF) -> str | None:
    result = client_ip(peer, lines, TrustedProxies.parse(trusted), header)
    return None if result is None else str(result)


# (peer, trusted proxies, header, header lines, expected client)
CHAINS = [
    pytest.param(
        "10.0.0.2",
        "10.0.0.2, 10.0.0.1",
        XFF,
        ["203.0.113.9, 198.51.100.7, 10.0.0.1"],
        "198.51.100.7",
        id="xff-rightmost-untrusted-hop-wins",
    ),
    pytest.param(
        "192.0.2.1",
        "10.0.0.2, 10.0.0.1",
        XFF,
        ["203.0.113.9, 198.51.100.7, 10.0.0.1"],
        "192.0.2.1",
        id="xff-from-untrusted-peer-ignored",
    ),
    pytest.param(
        "172.17.0.2",
        "172.16.0.0/12",
        XFF,
        ["203.0.113.7, 172.17.0.1"],
        "203.0.113.7",
        id="xff-cidr-trusted-hop-skipped",
    ),
    pytest.param(
        "10.0.0.2",
        "10.0.0.0/8",
        XFF,
        ["10.0.0.5, 10.0.0.1"],
        "10.0.0.5",
        id="xff-all-trusted-leftmost-wins",
    ),
    pytest.param(
        "10.0.0.2",
        "10.0.0.2",
        XFF,
        ["192.0.2.60", "203.0.113.9"],
        "203.0.113.9",
        id="xff-header-lines-joined-in-order",
    ),
    pytest.param(
        "10.0.0.8",
        "10.0.0.0/8",
        FORWARDED,
        ['For="[2001:db8:cafe::17]:4711"'],
        "2001:db8:cafe::17",
        id="forwarded-ipv6-quoted-with-port",
    ),
    pytest.param(
        "10.0.0.8",
        "10.0.0.0/8",
        FORWARDED,
        ["by=198.51.100.58;for=2001:db8:3a42:b7b0::f585,for=203.0.113.139;proto=https"],
        "10.0.0.8",
        id="forwarded-unquoted-ipv6-invalid",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["2001:db8:85a3:8d3:1319:8a2e:370:9c82"],
        "2001:db8:85a3:8d3:1319:8a2e:370:9c82",
        id="xff-bare-ipv6-kept-whole",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["[2001:db8:85a3:8d3:1319:8a2e:370:9c82]:8080"],
        "2001:db8:85a3:8d3:1319:8a2e:370:9c82",
        id="xff-bracketed-ipv6-port-stripped",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["unknown, 203.0.113.20"],
        "203.0.113.20",
        id="xff-unknown-left-of-client",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["unknown"],
        "10.0.0.4",
        id="xff-only-unknown-gives-peer",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["203.0.113.9, unknown, 10.0.0.1"],
        "10.0.0.1",
        id="xff-unknown-stops-walk",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["203.0.113.9, not-an-ip, 10.0.0.1"],
        "10.0.0.1",
        id="xff-malformed-stops-walk",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["203.0.113.9, , 10.0.0.1"],
        "10.0.0.1",
        id="xff-empty-entry-stops-walk",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["198.51.100.7:51234"],
        "198.51.100.7",
        id="xff-ipv4-port-stripped",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["::ffff:198.51.100.7"],
        "198.51.100.7",
        id="xff-mapped-ipv4-unwrapped",
    ),
    pytest.param(
        "::ffff:10.0.0.4",
        "10.0.0.0/8",
        XFF,
        ["198.51.100.7"],
        "198.51.100.7",
        id="mapped-peer-matches-ipv4-proxy",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        XFF,
        [],
        "10.0.0.4",
        id="trusted-peer-without-header",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ["for=_hidden, for=198.51.100.7"],
        "198.51.100.7",
        id="forwarded-obfuscated-left-of-client",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ["for=198.51.100.7, for=_hidden"],
        "10.0.0.4",
        id="forwarded-obfuscated-stops-walk",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ["for=198.51.100.7, for=unknown;proto=https"],
        "10.0.0.4",
        id="forwarded-unknown-stops-walk",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ["for=198.51.100.7, proto=https;by=10.0.0.4"],
        "10.0.0.4",
        id="forwarded-element-without-for-stops-walk",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ['for="2001:db8::1"'],
        "10.0.0.4",
        id="forwarded-quoted-unbracketed-ipv6",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ['for="198.51.100.7:4711"'],
        "198.51.100.7",
        id="forwarded-ipv4-port-stripped",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ['for="[2001:db8::7]:_port1"'],
        "2001:db8::7",
        id="forwarded-obfuscated-port-stripped",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ["for=198.51.100.7;for=203.0.113.9"],
        "10.0.0.4",
        id="forwarded-repeated-parameter-invalid",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ["for=198.51.100.7 ;proto=http , ,for=10.0.0.9"],
        "198.51.100.7",
        id="forwarded-whitespace-and-empty-elements",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ['for="198.51.100.7";host="example.com, with a comma", for=10.0.0.9'],
        "198.51.100.7",
        id="forwarded-comma-inside-quoted-string",
    ),
    pytest.param(
        "10.0.0.4",
        "10.0.0.0/8",
        FORWARDED,
        ["for=198.51.100.7;proto"],
        "10.0.0.4",
        id="forwarded-pair-without-value-invalid",
    ),
]


@pytest.mark.parametrize(("peer", "trusted", "header", "lines", "expected"), CHAINS)
def test_client_ip_chain(
    peer: str, trusted: str, header: str, lines: list[str], expected: str
) -> None:
    assert resolve(peer, lines, trusted, header) == expected


@pytest.mark.parametrize(
    "forwarded",
    [
        pytest.param('For="[2001:db8:cafe::17]:4711"', id="capitalised"),
        pytest.param('FOR="[2001:db8:cafe::17]:4711"', id="upper-case"),
        pytest.param('proto=https;fOr="[2001:db8:cafe::17]:4711";BY=10.0.0.8', id="mixed-case"),
    ],
)
def test_forwarded_parameter_names_ignore_case(forwarded: str) -> None:
    assert resolve("10.0.0.8", [forwarded], "10.0.0.0/8", FORWARDED) == "2001:db8:cafe::17"


def test_mapped_peer_becomes_ipv4() -> None:
    result = client_ip("::ffff:203.0.113.5", [], TrustedProxies())

    assert result == address("203.0.113.5")
    assert result is not None
    assert result.version == 4


def test_peer_zone_id_dropped() -> None:
    result = client_ip("fe80::1%eth0", [], TrustedProxies())

    assert str(result) == "fe80::1"
    assert isinstance(result, ipaddress.IPv6Address)
    assert result.scope_id is None
    assert result.is_link_local


@pytest.mark.parametrize("header", FORWARDED_HEADERS)
def test_untrusted_peer_forged_header_ignored(header: str) -> None:
    forged = "for=127.0.0.1" if header == FORWARDED else "127.0.0.1"

    assert resolve("198.51.100.7", [forged], "10.0.0.0/8", header) == "198.51.100.7"


@pytest.mark.parametrize(
    ("header", "line"),
    [
        pytest.param(XFF, "203.0.113.9", id="x-forwarded-for"),
        pytest.param(FORWARDED, "for=203.0.113.9", id="forwarded"),
    ],
)
def test_no_trusted_proxies_ignores_headers(header: str, line: str) -> None:
    assert resolve("10.0.0.2", [line], "", header) == "10.0.0.2"


@pytest.mark.parametrize(
    ("header", "lines", "expected"),
    [
        pytest.param(
            XFF, ["203.0.113.9", "198.51.100.7, 10.0.0.3"], "198.51.100.7", id="xff-two-lines"
        ),
        pytest.param(
            XFF, ["198.51.100.7", "10.0.0.3", "10.0.0.2"], "198.51.100.7", id="xff-three-lines"
        ),
        pytest.param(
            FORWARDED,
            ["for=203.0.113.9", "for=198.51.100.7, for=10.0.0.3"],
            "198.51.100.7",
            id="forwarded-two-lines",
        ),
        pytest.param(
            FORWARDED,
            ["for=198.51.100.7", "for=2001:db8::1"],
            "10.0.0.4",
            id="forwarded-invalid-second-line",
        ),
    ],
)
def test_multiple_header_lines(header: str, lines: list[str], expected: str) -> None:
    assert resolve("10.0.0.4", lines, "10.0.0.0/8", header) == expected


def test_header_given_as_string() -> None:
    assert resolve("10.0.0.4", "198.51.100.7", "10.0.0.0/8") == "198.51.100.7"  # type: ignore[arg-type]


FULLWIDTH_DIGITS = str.maketrans("0123456789", "".join(chr(0xFF10 + i) for i in range(10)))

GARBAGE = [
    pytest.param("", id="empty"),
    pytest.param(",,,", id="only-commas"),
    pytest.param("1.2.3", id="short-ipv4"),
    pytest.param("256.1.1.1", id="octet-out-of-range"),
    pytest.param("010.0.0.1", id="leading-zero"),
    pytest.param("[2001:db8::1", id="unclosed-bracket"),
    pytest.param("2001:db8::1]:80", id="unopened-bracket"),
    pytest.param("198.51.100.7:99999", id="port-out-of-range"),
    pytest.param("198.51.100.7:", id="empty-port"),
    pytest.param("198.51.100.7:http", id="named-port"),
    pytest.param("[2001:db8::1]8080", id="port-without-colon"),
    pytest.param("\x00198.51.100.7", id="nul-byte"),
    pytest.param("198.51.100.7".translate(FULLWIDTH_DIGITS), id="fullwidth-digits"),
    pytest.param("198.51.100.7\u200b", id="zero-width-space"),
    pytest.param("\N{SLIGHTLY SMILING FACE}".encode().decode("latin-1"), id="utf-8-as-latin-1"),
    pytest.param("x" * 10_000, id="long-token"),
    pytest.param('"198.51.100.7"', id="quoted"),
    pytest.param("198.51.100.0/24", id="cidr"),
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_xff_garbage_falls_back_to_peer(garbage: str) -> None:
    assert resolve("10.0.0.4", [garbage], "10.0.0.0/8") == "10.0.0.4"


@pytest.mark.parametrize(
    "garbage",
    [
        *GARBAGE,
        pytest.param("for=", id="for-without-value"),
        pytest.param('for="198.51.100.7', id="unclosed-quote"),
        pytest.param("for=198.51.100.7:4711", id="unquoted-port"),
        pytest.param("for=[2001:db8::1]", id="unquoted-brackets"),
        pytest.param("for = 198.51.100.7", id="spaces-around-equals"),
        pytest.param("for=198.51.100.7 for=203.0.113.9", id="missing-separator"),
        pytest.param("fór=198.51.100.7", id="non-ascii-name"),
        pytest.param('for="ü"', id="non-ascii-value"),
    ],
)
def test_forwarded_garbage_falls_back_to_peer(garbage: str) -> None:
    assert resolve("10.0.0.4", [garbage], "10.0.0.0/8", FORWARDED) == "10.0.0.4"


def test_garbage_peer_gives_none() -> None:
    assert client_ip("not-an-ip", ["198.51.100.7"], TrustedProxies.parse("10.0.0.0/8")) is None


def test_missing_peer_gives_none() -> None:
    assert client_ip(None, ["198.51.100.7"], TrustedProxies.parse("10.0.0.0/8")) is None


def test_unknown_header_name_rejected() -> None:
    with pytest.raises(ValueError, match="X-Real-IP"):
        client_ip("10.0.0.4", [], TrustedProxies(), "X-Real-IP")


def test_long_xff_client_near_end_found() -> None:
    forged = ", ".join(f"203.0.{i // 256 % 256}.{i % 256}" for i in range(100_000))
    lines = [f"{forged}, 198.51.100.7, 10.0.0.3"]

    assert resolve("10.0.0.4", lines, "10.0.0.0/8") == "198.51.100.7"


def test_long_xff_walk_is_bounded() -> None:
    max_hops = client_ip_module.MAX_HOPS
    lines = ["198.51.100.7, " + ", ".join(["10.0.0.3"] * (max_hops + 5))]

    result = resolve("10.0.0.4", lines, "10.0.0.0/8")

    assert result == "10.0.0.3"


def test_long_xff_cut_entry_not_misread() -> None:
    # Size the header so that the bound cuts off only the first character, leaving
    # "98.51.100.7", which is a valid but wrong address.
    max_length = client_ip_module.MAX_HEADER_LENGTH
    head = "198.51.100.7,"
    tail = "10.0.0.3"
    padding = " " * (max_length + 1 - len(head) - len(tail))

    result = resolve("10.0.0.4", [head + padding + tail], "10.0.0.0/8")

    assert result == "10.0.0.3"


def test_long_single_xff_entry_gives_peer() -> None:
    assert resolve("10.0.0.4", ["9" * 1_000_000], "10.0.0.0/8") == "10.0.0.4"


def test_long_forwarded_gives_peer() -> None:
    forged = ", ".join(["for=203.0.113.9"] * 10_000)
    lines = [f"{forged}, for=198.51.100.7"]

    assert resolve("10.0.0.4", lines, "10.0.0.0/8", FORWARDED) == "10.0.0.4"


PARSED = [
    pytest.param("198.51.100.7", "198.51.100.7", id="ipv4"),
    pytest.param("  198.51.100.7\t", "198.51.100.7", id="surrounding-whitespace"),
    pytest.param("198.51.100.7:8080", "198.51.100.7", id="ipv4-port"),
    pytest.param("[198.51.100.7]:8080", "198.51.100.7", id="bracketed-ipv4-port"),
    pytest.param("2001:db8::1", "2001:db8::1", id="ipv6"),
    pytest.param("[2001:db8::1]", "2001:db8::1", id="bracketed-ipv6"),
    pytest.param("[2001:db8::1]:443", "2001:db8::1", id="bracketed-ipv6-port"),
    pytest.param("2001:DB8::A", "2001:db8::a", id="ipv6-upper-case"),
    pytest.param("2001:db8::1:80", "2001:db8::1:80", id="bare-ipv6-last-group-kept"),
    pytest.param("fe80::1%eth0", "fe80::1", id="zone-id"),
    pytest.param("[fe80::1%25eth0]:80", "fe80::1", id="bracketed-zone-id-port"),
    pytest.param("::ffff:203.0.113.5", "203.0.113.5", id="mapped-dotted"),
    pytest.param("::ffff:cb00:7105", "203.0.113.5", id="mapped-hex"),
    pytest.param("[::ffff:203.0.113.5]:80", "203.0.113.5", id="mapped-bracketed-port"),
]


@pytest.mark.parametrize(("value", "expected"), PARSED)
def test_parse_ip_normalises(value: str, expected: str) -> None:
    assert parse_ip(value) == address(expected)


@pytest.mark.parametrize(
    "value",
    [
        *GARBAGE,
        pytest.param(None, id="none"),
        pytest.param("unknown", id="unknown"),
        pytest.param("_hidden", id="obfuscated"),
        pytest.param("fe80::1%", id="empty-zone-id"),
        pytest.param("198.51.100.7%eth0", id="ipv4-zone-id"),
    ],
)
def test_parse_ip_rejects(value: str | None) -> None:
    assert parse_ip(value) is None


def test_parse_ip_drops_scope_id() -> None:
    parsed = parse_ip("fe80::1%eth0")

    assert isinstance(parsed, ipaddress.IPv6Address)
    assert parsed.scope_id is None


def test_trusted_proxies_parse_entries() -> None:
    trusted = TrustedProxies.parse("10.0.0.2, 172.16.0.0/12, ::1")

    assert address("10.0.0.2") in trusted
    assert address("172.31.255.255") in trusted
    assert address("::1") in trusted
    assert address("10.0.0.3") not in trusted
    assert address("172.32.0.1") not in trusted
    assert address("::2") not in trusted


def test_trusted_proxies_match_mapped_addresses() -> None:
    trusted = TrustedProxies.parse("::ffff:10.0.0.2, 172.16.0.0/12")

    assert address("10.0.0.2") in trusted
    assert address("::ffff:10.0.0.2") in trusted
    assert address("::ffff:172.16.0.9") in trusted


@pytest.mark.parametrize("value", ["", " ", " , ,"])
def test_trusted_proxies_empty(value: str) -> None:
    trusted = TrustedProxies.parse(value)

    assert not trusted
    assert address("127.0.0.1") not in trusted


def test_trusted_proxies_default_is_empty() -> None:
    assert not TrustedProxies()


def test_trusted_proxies_not_empty() -> None:
    assert TrustedProxies.parse("10.0.0.2")


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("10.0.0.1/8", id="host-bits-set"),
        pytest.param("10.0.0.0/33", id="prefix-too-long"),
        pytest.param("proxy.internal", id="hostname"),
        pytest.param("10.0.0.*", id="wildcard"),
        pytest.param("10.0.0.2 10.0.0.3", id="space-separated"),
        pytest.param("[::1]", id="bracketed"),
    ],
)
def test_trusted_proxies_parse_rejects(entry: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"invalid trusted proxy {entry!r}")) as error:
        TrustedProxies.parse(f"10.0.0.2, {entry}")

    assert "CIDR" in str(error.value)


PUBLIC = [
    pytest.param("8.8.8.8", True, id="public-ipv4"),
    pytest.param("81.2.69.142", True, id="public-ipv4-london"),
    pytest.param("2001:4860:4860::8888", True, id="public-ipv6"),
    pytest.param("2a00:1450:4001::1", True, id="public-ipv6-other"),
    pytest.param("::ffff:8.8.8.8", True, id="mapped-public"),
    pytest.param("10.0.0.1", False, id="private-10"),
    pytest.param("172.16.5.4", False, id="private-172"),
    pytest.param("192.168.1.1", False, id="private-192"),
    pytest.param("::ffff:192.168.1.1", False, id="mapped-private"),
    pytest.param("fd12:3456::1", False, id="unique-local-ipv6"),
    pytest.param("127.0.0.1", False, id="loopback-ipv4"),
    pytest.param("::1", False, id="loopback-ipv6"),
    pytest.param("100.64.0.1", False, id="cgnat-low"),
    pytest.param("100.127.255.254", False, id="cgnat-high"),
    pytest.param("192.0.2.1", False, id="documentation-test-net-1"),
    pytest.param("198.51.100.7", False, id="documentation-test-net-2"),
    pytest.param("203.0.113.9", False, id="documentation-test-net-3"),
    pytest.param("2001:db8::1", False, id="documentation-ipv6"),
    pytest.param("3fff::1", False, id="documentation-ipv6-3fff"),
    pytest.param("169.254.1.1", False, id="link-local-ipv4"),
    pytest.param("fe80::1", False, id="link-local-ipv6"),
    pytest.param("fec0::1", False, id="site-local-ipv6"),
    pytest.param("224.0.0.1", False, id="multicast-ipv4"),
    pytest.param("239.255.255.250", False, id="multicast-ipv4-admin"),
    pytest.param("ff0e::1", False, id="multicast-ipv6-global-scope"),
    pytest.param("0.0.0.0", False, id="unspecified-ipv4"),  # noqa: S104
    pytest.param("::", False, id="unspecified-ipv6"),
    pytest.param("240.0.0.1", False, id="reserved-ipv4"),
    pytest.param("255.255.255.255", False, id="broadcast"),
    pytest.param("192.0.0.8", False, id="ietf-protocol-assignments"),
    pytest.param("198.18.0.1", False, id="benchmarking"),
    pytest.param("2001::1", False, id="teredo"),
    pytest.param("9.255.255.255", True, id="below-private-10"),
    pytest.param("10.255.255.255", False, id="private-10-last"),
    pytest.param("11.0.0.0", True, id="above-private-10"),
    pytest.param("100.63.255.255", True, id="below-cgnat"),
    pytest.param("100.128.0.0", True, id="above-cgnat"),
    pytest.param("223.255.255.255", True, id="below-multicast"),
    pytest.param("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", True, id="below-documentation-ipv6"),
    pytest.param("2001:db9::", True, id="above-documentation-ipv6"),
]


@pytest.mark.parametrize(("value", "expected"), PUBLIC)
def test_is_public(value: str, expected: bool) -> None:
    assert is_public(address(value)) is expected


def ipaddress_networks() -> set[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Collect the networks that ipaddress tests addresses against in this Python.

    They are attributes of two private classes of ipaddress in CPython 3.11.2, 3.11.7,
    3.12.1 and 3.13.0.
    """
    private_classes = (
        ipaddress._IPv4Constants,  # type: ignore[attr-defined]
        ipaddress._IPv6Constants,  # type: ignore[attr-defined]
    )
    networks = set()
    for constants in private_classes:
        for value in vars(constants).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
                    networks.add(item)
    return networks


def test_is_public_matches_ipaddress_at_edges() -> None:
    # is_public and _is_global_unicast can only change their results at the edges of these
    # networks, so agreeing on both sides of every edge means agreeing on every address.
    found = ipaddress_networks()
    assert found, "no networks found on ipaddress._IPv4Constants or _IPv6Constants"

    networks = found | set(client_ip_module._SPECIAL_NETWORKS) | set(client_ip_module._NOT_GLOBAL)
    for network in networks:
        address_class = type(network.network_address)
        first = int(network.network_address)
        last = int(network.broadcast_address)
        for value in (first - 1, first, last, last + 1):
            if not 0 <= value < 2**network.max_prefixlen:
                continue
            edge = address_class(value)
            expected = client_ip_module._is_global_unicast(edge)
            assert is_public(edge) is expected, edge

            if network.version == 4:
                mapped = ipaddress.IPv6Address(f"::ffff:{edge}")
                assert is_public(mapped) is expected, mapped
