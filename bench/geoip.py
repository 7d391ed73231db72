"""Row 2: GeoIP lookup (`GeoIP.lookup`) against the maxminddb C extension's ``get``.

Both read the GeoLite2-City file bundled by ``maxminddb-geolite2`` and take the same
``ipaddress`` objects, because lastseen resolves the client IP to such an object.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence

import maxminddb

from bench import corpus
from bench.context import RunContext
from bench.measure import Case, interleave
from bench.results import Check, Figure, Goal, RowResult
from lastseen.enrich.client_ip import IPAddress
from lastseen.enrich.geoip import GeoIP, bundled_geolite2_path


def run(ctx: RunContext) -> RowResult:
    row = RowResult("2", "GeoIP lookup")
    path = bundled_geolite2_path()
    if path is None:
        row.skipped = "maxminddb-geolite2 is not installed: pip install -e '.[geoip]'"
        return row

    count = ctx.scaled(50_000, 5_000)
    ipv4 = corpus.public_ipv4(count)
    ipv6 = corpus.public_ipv6(count)
    geoip = GeoIP(path)
    reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
    if type(reader).__module__ != "maxminddb.extension":
        row.notes.append(
            f"maxminddb opened the file with {type(reader).__module__}, not its C extension, "
            "so the floor is the pure-Python reader."
        )

    try:
        for family, addresses in (("IPv4", ipv4), ("IPv6", ipv6)):
            samples = interleave(
                {
                    f"GeoIP.lookup, {family}": _loop(addresses, geoip.lookup),
                    f"maxminddb .get(), {family}": _loop(addresses, reader.get),
                },
                ctx.repetitions,
            )
            figures = [Figure(label, sample) for label, sample in samples.items()]
            row.figures += figures
            row.checks.append(
                Check(
                    f"{family} vs maxminddb .get()",
                    figures[0],
                    Goal.MAX_COST_RATIO,
                    1.5,
                    figures[1],
                )
            )
            found = sum(reader.get(address) is not None for address in addresses)
            row.notes.append(
                f"{family}: {found / len(addresses):.1%} of the addresses are in the file."
            )
    finally:
        geoip.close()
        reader.close()

    info = geoip.info
    row.notes += [
        f"{count:,} random global unicast addresses per family per repetition. IPv6 "
        "addresses are drawn inside blocks the regional registries allocate from.",
        f"Database: {info.database_type} built {info.build_date}, "
        f"maxminddb {importlib.metadata.version('maxminddb')} ({type(reader).__module__}).",
    ]
    return row


def _loop(addresses: Sequence[IPAddress], lookup: Callable[[IPAddress], object]) -> Case:
    def loop() -> int:
        for address in addresses:
            lookup(address)
        return len(addresses)

    return Case(loop)
