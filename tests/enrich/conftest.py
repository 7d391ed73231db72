"""GeoIP databases for the enrich tests: small ones built here, and MaxMind's test files."""

import datetime
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mmdb_writer
import pytest
from netaddr import IPSet

from lastseen.enrich.geoip import GeoIP

# MaxMind's published test databases sit next to the repository, not inside it.
GEO_TESTDATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "geo-testdata").resolve()

# Late in the UTC day, so that a build date taken in local time would be off by one east of UTC.
FIXTURE_BUILD_TIME = datetime.datetime(2024, 2, 29, 23, 30, tzinfo=datetime.UTC)

GERMANY = {"iso_code": "DE", "names": {"en": "Germany", "de": "Deutschland", "ja": "ドイツ"}}

# Network -> record, shaped like GeoIP2/GeoLite2 City records.
FIXTURE_RECORDS: dict[str, dict[str, Any]] = {
    "2.16.0.0/16": {
        "city": {"names": {"en": "Munich", "de": "München", "ja": "ミュンヘン"}},
        "country": GERMANY,
        "registered_country": {"iso_code": "NL", "names": {"en": "Netherlands"}},
        "location": {"time_zone": "Europe/Berlin"},
    },
    "2a02:2e0::/32": {
        "city": {"names": {"en": "São Paulo", "ja": "サンパウロ"}},
        "country": {"iso_code": "BR", "names": {"en": "Brazil", "pt-BR": "Brasil"}},
    },
    "2001:240::/32": {
        "country": {"iso_code": "JP", "names": {"en": "Japan", "ja": "日本"}},
    },
    "1.1.1.0/24": {
        "traits": {"is_anycast": True},
    },
    "5.6.7.0/24": {
        "city": {"names": {"de": "Köln"}},
        "country": {"iso_code": "DE", "names": {"de": "Deutschland"}},
    },
}

# Non-global ranges given a place, as a misbuilt database might. Lookups must ignore them.
NON_GLOBAL_NETWORKS = (
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
)
NOWHERE = {
    "city": {"names": {"en": "Nowhere"}},
    "country": {"iso_code": "ZZ", "names": {"en": "Nowhere Land"}},
}


@pytest.fixture(scope="session")
def fixture_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dual-stack City database with the records above."""
    writer = mmdb_writer.MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="Lastseen-Test-City",
        languages=["en", "de", "ja"],
        description="lastseen test database",
    )
    for network, record in FIXTURE_RECORDS.items():
        writer.insert_network(IPSet([network]), record)
    for network in NON_GLOBAL_NETWORKS:
        writer.insert_network(IPSet([network]), NOWHERE)

    path = tmp_path_factory.mktemp("geoip") / "fixture-city.mmdb"
    _write_at_build_time(writer, path)
    return path


@pytest.fixture(scope="session")
def ipv4_only_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An IPv4-only City database with a single Munich record."""
    writer = mmdb_writer.MMDBWriter(
        ip_version=4, database_type="Lastseen-Test-City-IPv4", languages=["en"]
    )
    writer.insert_network(IPSet(["2.16.0.0/16"]), FIXTURE_RECORDS["2.16.0.0/16"])

    path = tmp_path_factory.mktemp("geoip") / "fixture-city-ipv4.mmdb"
    _write_at_build_time(writer, path)
    return path


def _write_at_build_time(writer: mmdb_writer.MMDBWriter, path: Path) -> None:
    # mmdb_writer stamps build_epoch with time.time(), which a test cannot predict.
    fixed_clock = types.SimpleNamespace(time=FIXTURE_BUILD_TIME.timestamp)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(mmdb_writer, "time", fixed_clock)
        writer.to_db_file(str(path))


@pytest.fixture
def fixture_db(fixture_db_path: Path) -> Iterator[GeoIP]:
    with GeoIP(fixture_db_path) as database:
        yield database


@pytest.fixture(scope="session")
def maxmind_test_db() -> Iterator[Callable[[str], GeoIP]]:
    """Open one of MaxMind's test databases by file name, or skip when they are absent."""
    if not GEO_TESTDATA.is_dir():
        pytest.skip(f"MaxMind test databases not found in {GEO_TESTDATA}")

    opened: dict[str, GeoIP] = {}

    def open_database(name: str) -> GeoIP:
        if name not in opened:
            opened[name] = GeoIP(GEO_TESTDATA / name)
        return opened[name]

    yield open_database

    for database in opened.values():
        database.close()
