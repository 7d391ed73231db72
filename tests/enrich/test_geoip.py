"""GeoIP lookups against a database built in a fixture and against MaxMind's test files."""

import datetime
import ipaddress
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import maxminddb
import pytest

from lastseen.enrich.geoip import GeoIP, Location, bundled_geolite2_path

GEOLITE2 = "GeoLite2-City-Test.mmdb"
GEOIP2 = "GeoIP2-City-Test.mmdb"

LONDON = Location(city="London", country="United Kingdom", country_code="GB")
MUNICH = Location(city="Munich", country="Germany", country_code="DE")


def lookup(database: GeoIP, value: str) -> Location | None:
    return database.lookup(ipaddress.ip_address(value))


# (address, database file, expected location)
MAXMIND_CASES = [
    pytest.param("81.2.69.142", GEOLITE2, LONDON, id="london-country-not-registered-country"),
    pytest.param("81.2.69.141", GEOLITE2, None, id="london-boundary-miss"),
    pytest.param(
        "89.160.20.112",
        GEOLITE2,
        Location(city="Linköping", country="Sweden", country_code="SE"),
        id="linkoping-non-ascii-city",
    ),
    pytest.param(
        "216.160.83.56",
        GEOLITE2,
        Location(city="Milton", country="United States", country_code="US"),
        id="milton-us-city",
    ),
    pytest.param(
        "175.16.199.0",
        GEOLITE2,
        Location(city="Changchun", country="China", country_code="CN"),
        id="changchun-english-name",
    ),
    pytest.param(
        "2001:218::",
        GEOLITE2,
        Location(city=None, country="Japan", country_code="JP"),
        id="ipv6-country-without-city",
    ),
    pytest.param("::ffff:81.2.69.142", GEOLITE2, LONDON, id="mapped-ipv4"),
    pytest.param(
        "67.43.156.1",
        GEOLITE2,
        Location(city=None, country="Bhutan", country_code="BT"),
        id="country-without-city-registered-elsewhere",
    ),
    pytest.param("214.1.1.1", GEOIP2, None, id="anycast-traits-only"),
    pytest.param("214.1.1.1", GEOLITE2, None, id="anycast-absent-from-geolite2"),
    pytest.param(
        "216.160.83.64",
        GEOIP2,
        Location(city=None, country="United States", country_code="US"),
        id="found-in-geoip2",
    ),
    pytest.param("216.160.83.64", GEOLITE2, None, id="absent-from-geolite2"),
    *(
        pytest.param(address, GEOLITE2, None, id=f"non-global-{address}")
        for address in (
            "10.0.0.1",
            "127.0.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "192.0.2.1",
            "::1",
            "fe80::1",
            "2001:db8::1",
        )
    ),
]


@pytest.mark.parametrize(("address", "database", "expected"), MAXMIND_CASES)
def test_maxmind_test_database(
    maxmind_test_db: Callable[[str], GeoIP],
    address: str,
    database: str,
    expected: Location | None,
) -> None:
    assert lookup(maxmind_test_db(database), address) == expected


@pytest.mark.parametrize(
    ("database", "database_type"),
    [
        pytest.param(GEOLITE2, "GeoLite2-City", id="geolite2"),
        pytest.param(GEOIP2, "GeoIP2-City", id="geoip2"),
    ],
)
def test_maxmind_test_database_info(
    maxmind_test_db: Callable[[str], GeoIP], database: str, database_type: str
) -> None:
    info = maxmind_test_db(database).info

    assert info.database_type == database_type
    assert info.build_date == datetime.date(2026, 2, 4)
    assert Path(info.path).name == database


FIXTURE_CASES = [
    pytest.param("2.16.1.1", MUNICH, id="ipv4-english-names"),
    pytest.param("2.16.255.255", MUNICH, id="ipv4-last-address-of-network"),
    pytest.param("::ffff:2.16.1.1", MUNICH, id="mapped-ipv4"),
    pytest.param(
        "2a02:2e0::1",
        Location(city="São Paulo", country="Brazil", country_code="BR"),
        id="ipv6-non-ascii-english-name",
    ),
    pytest.param(
        "2001:240:1::1",
        Location(city=None, country="Japan", country_code="JP"),
        id="country-without-city",
    ),
    pytest.param(
        "5.6.7.8",
        Location(city=None, country=None, country_code="DE"),
        id="names-without-english",
    ),
    pytest.param("1.1.1.1", None, id="traits-only"),
    pytest.param("2.17.0.1", None, id="ipv4-not-in-database"),
    pytest.param("2a03::1", None, id="ipv6-not-in-database"),
]


@pytest.mark.parametrize(("address", "expected"), FIXTURE_CASES)
def test_fixture_database(fixture_db: GeoIP, address: str, expected: Location | None) -> None:
    assert lookup(fixture_db, address) == expected


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "100.64.0.1",
        "127.0.0.1",
        "169.254.1.1",
        "192.0.2.1",
        "192.168.1.1",
        "198.51.100.7",
        "203.0.113.9",
        "::ffff:10.1.2.3",
        "2001:db8::1",
        "fd00::1",
        "fe80::1",
    ],
)
def test_non_global_address_not_located(fixture_db: GeoIP, address: str) -> None:
    assert lookup(fixture_db, address) is None


def test_non_global_networks_are_in_fixture(fixture_db_path: Path) -> None:
    # Guards the test above: the records are there, and only the address check hides them.
    with maxminddb.open_database(fixture_db_path) as reader:
        record = reader.get("10.1.2.3")

    assert isinstance(record, dict)
    assert "city" in record


def test_mapped_ipv4_matches_plain(fixture_db: GeoIP) -> None:
    assert lookup(fixture_db, "::ffff:2.16.1.1") == lookup(fixture_db, "2.16.1.1")


def test_ipv6_in_ipv4_only_database(ipv4_only_db_path: Path) -> None:
    with GeoIP(ipv4_only_db_path) as database:
        assert lookup(database, "2a02:2e0::1") is None
        assert lookup(database, "2.16.1.1") == MUNICH


def test_fixture_info(fixture_db: GeoIP, fixture_db_path: Path) -> None:
    info = fixture_db.info

    assert info.path == str(fixture_db_path)
    assert info.database_type == "Lastseen-Test-City"
    assert info.build_date == datetime.date(2024, 2, 29)


@pytest.fixture
def local_time_east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "JST-9")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_time_east_of_utc")
def test_build_date_is_utc(fixture_db_path: Path) -> None:
    with GeoIP(fixture_db_path) as database:
        assert database.info.build_date == datetime.date(2024, 2, 29)


def test_path_like_accepted(fixture_db_path: Path) -> None:
    with GeoIP(os.fspath(fixture_db_path)) as database:
        assert lookup(database, "2.16.1.1") == MUNICH


def test_missing_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "missing.mmdb"

    with pytest.raises(FileNotFoundError, match=str(path)):
        GeoIP(path)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not a database", id="text"),
        pytest.param(b'{"city": "London"}', id="json"),
    ],
)
def test_invalid_file_rejected(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.mmdb"
    path.write_bytes(content)

    with pytest.raises(ValueError, match=str(path)):
        GeoIP(path)


def test_directory_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=str(tmp_path)):
        GeoIP(tmp_path)


def test_lookup_after_close_raises(fixture_db_path: Path) -> None:
    database = GeoIP(fixture_db_path)
    database.close()

    with pytest.raises(ValueError, match="closed"):
        lookup(database, "2.16.1.1")


def test_context_manager_closes(fixture_db_path: Path) -> None:
    with GeoIP(fixture_db_path) as database:
        pass

    with pytest.raises(ValueError, match="closed"):
        lookup(database, "2.16.1.1")


def test_bundled_geolite2() -> None:
    path = bundled_geolite2_path()
    if path is None:
        pytest.skip("maxminddb-geolite2 is not installed")

    with GeoIP(path) as database:
        assert database.info.database_type == "GeoLite2-City"


def test_bundled_geolite2_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import fail, as if the package were absent.
    monkeypatch.setitem(sys.modules, "_maxminddb_geolite2", None)

    assert bundled_geolite2_path() is None
