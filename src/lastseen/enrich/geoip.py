"""City and country of a client address, from a MaxMind-format `.mmdb` database.

Any City database in the MaxMind DB format works (GeoLite2-City, GeoIP2-City, DB-IP City
Lite). The file is memory-mapped through maxminddb's C extension, so worker processes
share its pages, and a lookup decodes one record without further I/O.

Only English names are returned, and only the `country` of a record (where the address
is used), never its `registered_country` (where the network is registered). Addresses
that are not global unicast never get a location, whatever the database contains.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from types import TracebackType

import maxminddb
from maxminddb.types import Record

from lastseen.enrich.client_ip import IPAddress, is_public, unmapped

__all__ = ["GeoIP", "GeoIPInfo", "Location", "bundled_geolite2_path"]


@dataclass(frozen=True, slots=True)
class Location:
    """The location of an address, as recorded in the database."""

    city: str | None
    country: str | None  # English name, such as "United Kingdom"
    country_code: str | None  # ISO 3166-1 alpha-2 code, such as "GB"


@dataclass(frozen=True, slots=True)
class GeoIPInfo:
    """Description of an open database, from its metadata."""

    path: str
    database_type: str  # such as "GeoLite2-City"
    build_date: datetime.date  # UTC date of the metadata build_epoch


class GeoIP:
    """A MaxMind-format .mmdb City database, memory-mapped through the C extension.

    One instance may be shared by threads. Close it, or use it as a context manager,
    to release the mapping.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open the database at `path`.

        Raises FileNotFoundError when the file does not exist, and ValueError when it is
        not a MaxMind DB file. Both messages contain the path.
        """
        self._path = os.fspath(path)

        try:
            self._reader = maxminddb.open_database(self._path, maxminddb.MODE_AUTO)
        except FileNotFoundError as error:
            message = f"GeoIP database not found: {self._path}"
            raise FileNotFoundError(message) from error
        except maxminddb.InvalidDatabaseError as error:
            message = f"invalid GeoIP database {self._path}: not a MaxMind DB (.mmdb) file"
            raise ValueError(message) from error

        metadata = self._reader.metadata()
        self._ipv4_only = metadata.ip_version == 4
        build_time = datetime.datetime.fromtimestamp(metadata.build_epoch, datetime.UTC)
        self._info = GeoIPInfo(self._path, metadata.database_type, build_time.date())

    @property
    def info(self) -> GeoIPInfo:
        """Path, database type and build date of the open database."""
        return self._info

    def lookup(self, address: IPAddress) -> Location | None:
        """Return the location of `address`, or None when there is nothing to show.

        None for addresses that are not global unicast, for addresses the database does
        not contain, and for records without a city or country, such as records that only
        carry network traits. Raises ValueError after close().
        """
        address = unmapped(address)

        # The C reader raises for an IPv6 address in an IPv4-only database.
        if self._ipv4_only and isinstance(address, ipaddress.IPv6Address):
            return None

        # The database is read first because most misses end there, so only addresses
        # with a record pay for the is_public check.
        record = self._reader.get(address)
        if not isinstance(record, dict) or not is_public(address):
            return None

        return _location(record)

    def close(self) -> None:
        """Unmap the database file. Further lookups raise ValueError."""
        self._reader.close()

    def __enter__(self) -> GeoIP:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GeoIP({self._path!r})"


def _location(record: dict[str, Record]) -> Location | None:
    country = record.get("country")
    city_name = _english_name(record.get("city"))
    country_name = _english_name(country)
    country_code = _iso_code(country)

    if city_name is None and country_name is None and country_code is None:
        return None
    return Location(city=city_name, country=country_name, country_code=country_code)


def _english_name(place: Record | None) -> str | None:
    if not isinstance(place, dict):
        return None

    names = place.get("names")
    if not isinstance(names, dict):
        return None

    name = names.get("en")
    return name if isinstance(name, str) and name else None


def _iso_code(place: Record | None) -> str | None:
    if not isinstance(place, dict):
        return None

    code = place.get("iso_code")
    return code if isinstance(code, str) and code else None


def bundled_geolite2_path() -> str | None:
    """Return the GeoLite2-City file of the optional `maxminddb-geolite2` package.

    None when the package is not installed. Its latest release, 2018.703, ships a
    database built on 2018-07-03, so prefer a current file where one is available. The
    package's `geolite2` wrapper module is not used because it calls
    `datetime.utcfromtimestamp`, which is deprecated since Python 3.12.
    """
    try:
        import _maxminddb_geolite2  # type: ignore[import-untyped]
    except ImportError:
        return None

    path: str = _maxminddb_geolite2.geolite2_database()
    return path if os.path.isfile(path) else None
