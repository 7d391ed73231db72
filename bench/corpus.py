"""Inputs: real User-Agent strings and random public IP addresses, seeded.

The User-Agent strings come from Matomo Device Detector's test fixtures, which the
``device-detector`` wheel ships under ``device_detector/tests/fixtures/upstream``: about
38,000 strings, each listed with the device it identifies. This module generates none.
"""

from __future__ import annotations

import ipaddress
import random
import re
from functools import cache
from pathlib import Path

import yaml

SEED = 20_260_115

# Strings drawn for the 2,000-string sample, per fixture file name prefix. The shares
# follow a web service's traffic: phones and desktops first, then tablets, bots and apps.
MIX = {
    "desktop": 500,
    "smartphone": 900,
    "tablet": 250,
    "phablet": 100,
    "bots": 100,
    "mobile_apps": 40,
    "podcasting": 30,
    "feed_reader": 30,
    "tv": 30,
    "console": 20,
}

# A fixture entry starts with "-" and its first key is user_agent, indented by two spaces.
_USER_AGENT_LINE = re.compile(r"^  user_agent: (.+)$", re.MULTILINE)


def fixtures_dir() -> Path:
    """Return the folder of Device Detector's fixture files inside the installed wheel."""
    import device_detector

    folder = Path(device_detector.__file__).parent / "tests" / "fixtures" / "upstream"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Device Detector fixtures not found in {folder}: install device-detector 6.x, "
            "whose wheel ships them"
        )
    return folder


def _strings_in(path: Path) -> list[str]:
    # A full YAML load of all fixtures takes seconds, so only the user_agent scalars are
    # read. Quoted ones go through YAML to undo the quoting.
    strings = []
    for raw in _USER_AGENT_LINE.findall(path.read_text(encoding="utf-8")):
        value = yaml.safe_load(raw) if raw[0] in "'\"" else raw
        if isinstance(value, str) and value.strip():
            strings.append(value)
    return strings


@cache
def fixture_pool() -> dict[str, list[str]]:
    """Return the distinct fixture strings of every category in MIX, in file order."""
    folder = fixtures_dir()
    pool: dict[str, list[str]] = {}
    for category in MIX:
        seen: dict[str, None] = {}
        # "tablet.yml", "tablet-1.yml", … but not "tv" matching "tv-anything-else".
        for path in sorted(folder.glob(f"{category}*.yml")):
            if path.stem != category and not path.stem.startswith(f"{category}-"):
                continue
            for string in _strings_in(path):
                seen.setdefault(string)
        pool[category] = list(seen)
    return pool


@cache
def user_agents(count: int = 2000) -> tuple[str, ...]:
    """Return ``count`` distinct real User-Agent strings, drawn with a fixed seed.

    The categories keep the proportions of MIX. The order is shuffled, so that a run over
    the list does not parse all phones, then all desktops.
    """
    rng = random.Random(SEED)
    total = sum(MIX.values())
    chosen: dict[str, None] = {}
    for category, share in MIX.items():
        candidates = [ua for ua in fixture_pool()[category] if ua not in chosen]
        wanted = min(len(candidates), round(count * share / total))
        for ua in rng.sample(candidates, wanted):
            chosen.setdefault(ua)

    # Rounding can leave the sample a few strings short: fill it from the phones.
    spare = [ua for ua in fixture_pool()["smartphone"] if ua not in chosen]
    rng.shuffle(spare)
    for ua in spare[: max(0, count - len(chosen))]:
        chosen.setdefault(ua)

    strings = list(chosen)[:count]
    rng.shuffle(strings)
    return tuple(strings)


def mix_description() -> str:
    pool = fixture_pool()
    parts = [f"{category} {share}" for category, share in MIX.items()]
    size = sum(len(strings) for strings in pool.values())
    return f"{', '.join(parts)} (drawn from {size:,} distinct fixture strings)"


def public_ipv4(count: int, seed: int = SEED) -> list[ipaddress.IPv4Address]:
    """Return ``count`` uniformly random global unicast IPv4 addresses."""
    rng = random.Random(seed)
    found: list[ipaddress.IPv4Address] = []
    while len(found) < count:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global and not address.is_multicast:
            found.append(address)
    return found


# Blocks that the regional registries allocate from, so that a fair share of the random
# addresses is in a City database (a uniformly random IPv6 address almost never is).
IPV6_BLOCKS = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "2001:4860::/32",
        "2003::/19",
        "2400::/12",
        "2600::/12",
        "2800::/12",
        "2a00::/12",
        "2c00::/12",
    )
)


def public_ipv6(count: int, seed: int = SEED) -> list[ipaddress.IPv6Address]:
    """Return ``count`` random global unicast IPv6 addresses inside IPV6_BLOCKS."""
    rng = random.Random(seed)
    found: list[ipaddress.IPv6Address] = []
    while len(found) < count:
        block = rng.choice(IPV6_BLOCKS)
        offset = rng.getrandbits(128 - block.prefixlen)
        address = ipaddress.IPv6Address(int(block.network_address) + offset)
        if address.is_global:
            found.append(address)
    return found
