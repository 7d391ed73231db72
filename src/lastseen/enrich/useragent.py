"""Parse a User-Agent header, refined by User-Agent Client Hints, into session facts.

`parse_user_agent` turns the raw ``User-Agent`` value, plus the ``Sec-CH-UA-*`` headers when
a Chromium browser sends them, into what the active-devices list shows: browser and version,
operating system and version, a short device name, a device category and a mobile flag.

The string is matched against uap-core's rules as ``ua-parser`` loads them. With
``ua-parser-rs`` installed, as ua-parser's ``regex`` extra installs it, its Rust extractors
match them in linear time. Without it, ua-parser's best available resolver does. This module
then:

- renames uap's families to the names people know ("Mobile Safari" is "Safari"),
- hides versions that browsers freeze on purpose (``Chrome/124.0.0.0``, ``Mac OS X 10_15_7``,
  ``Windows NT 10.0`` on Windows 11), unless the client hints give the real value,
- sorts clients into desktop, phone, tablet, bot, HTTP library or unknown,
- lets client hints name what the string hides (Brave, Windows 11, the Android model).

Odd input gives facts, not exceptions: an empty or missing header gives facts with nothing
known, only the first `MAX_PARSE_LENGTH` characters are read, and malformed hints are ignored.
Results are cached per distinct (user agent, client hints) pair, because a session sends the
same values on every request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol

import ua_parser

__all__ = [
    "DEVICE_CATEGORIES",
    "MAX_PARSE_LENGTH",
    "MAX_USER_AGENT_LENGTH",
    "ClientHints",
    "UserAgentFacts",
    "parse_user_agent",
]

DEVICE_CATEGORIES: Final = ("desktop", "phone", "tablet", "bot", "library", "unknown")

# Maximum length of the raw User-Agent kept in storage. The parser reads up to MAX_PARSE_LENGTH.
MAX_USER_AGENT_LENGTH: Final = 512

# Only this many leading characters of a User-Agent or of one client hint are parsed. Real
# browser strings stay far below it, and the bound caps the regex work an attacker can cause.
MAX_PARSE_LENGTH: Final = 1000

_CACHE_SIZE: Final = 4096


@dataclass(frozen=True, slots=True)
class ClientHints:
    """User-Agent Client Hints as sent: raw header values, None when absent."""

    ua: str | None = None
    full_version_list: str | None = None
    mobile: str | None = None
    platform: str | None = None
    platform_version: str | None = None
    model: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ClientHints:
        """Collect the client hints from request headers, matching names case-insensitively.

        Repeated field lines, as Starlette's ``Headers.items()`` yields them, are joined with
        ", " in order, which is how RFC 9110 combines them.
        """
        values: dict[str, str] = {}
        for name, value in headers.items():
            field = _HINT_FIELDS.get(name.lower())
            if field is None:
                continue
            values[field] = f"{values[field]}, {value}" if field in values else value

        return cls(**values)


_HINT_FIELDS: Final = {
    "sec-ch-ua": "ua",
    "sec-ch-ua-full-version-list": "full_version_list",
    "sec-ch-ua-mobile": "mobile",
    "sec-ch-ua-platform": "platform",
    "sec-ch-ua-platform-version": "platform_version",
    "sec-ch-ua-model": "model",
}


@dataclass(frozen=True, slots=True)
class UserAgentFacts:
    """Browser, operating system and device of a client, as its User-Agent and hints give them."""

    browser_name: str | None
    browser_version: str | None
    os_name: str | None
    os_version: str | None
    # Short human name of the device as Clerk shows it: "iPhone", "Windows", "Samsung SM-G991B".
    device_type: str | None
    # One of DEVICE_CATEGORIES.
    device_category: str
    is_mobile: bool


_UNKNOWN_FACTS: Final = UserAgentFacts(
    browser_name=None,
    browser_version=None,
    os_name=None,
    os_version=None,
    device_type=None,
    device_category="unknown",
    is_mobile=False,
)


def parse_user_agent(user_agent: str | None, hints: ClientHints | None = None) -> UserAgentFacts:
    """Parse a User-Agent value, refined by client hints, into the facts a session stores.

    An empty or missing User-Agent gives facts with nothing known, even when hints are present.
    """
    text = (user_agent or "")[:MAX_PARSE_LENGTH].strip()
    if not text:
        return _UNKNOWN_FACTS

    return _parse_cached(text, _bounded_hints(hints))


def _bounded_hints(hints: ClientHints | None) -> ClientHints | None:
    if hints is None:
        return None

    values = {name: getattr(hints, name) for name in _HINT_FIELDS.values()}
    if all(value is None for value in values.values()):
        return None
    if all(value is None or len(value) <= MAX_PARSE_LENGTH for value in values.values()):
        return hints

    # A hint longer than any real one is dropped rather than cut, because a cut structured
    # field would parse as something the browser never sent.
    kept = {
        name: value
        for name, value in values.items()
        if value is not None and len(value) <= MAX_PARSE_LENGTH
    }
    return ClientHints(**kept)


class _ProductMatch(Protocol):
    """A browser or operating system that a uap rule matched, with its version parts.

    ua-parser's frozen dataclasses and ua-parser-rs's match objects both have this shape.
    """

    @property
    def family(self) -> str: ...
    @property
    def major(self) -> str | None: ...
    @property
    def minor(self) -> str | None: ...
    @property
    def patch(self) -> str | None: ...
    @property
    def patch_minor(self) -> str | None: ...


class _DeviceMatch(Protocol):
    """A device that a uap rule matched."""

    @property
    def family(self) -> str: ...
    @property
    def brand(self) -> str | None: ...


class _Matches(NamedTuple):
    """Matches of uap's rules in one string, per domain, with None where no rule matched."""

    user_agent: _ProductMatch | None
    os: _ProductMatch | None
    device: _DeviceMatch | None


@functools.cache
def _matcher() -> Callable[[str], _Matches]:
    """Build the fastest available function that matches a string against uap's rules.

    It keeps no cache, because ``_parse_cached`` keeps whole results.
    """
    if ua_parser.RegexResolver is None:
        return _resolver_matcher()
    return _rust_matcher()


def _rust_matcher() -> Callable[[str], _Matches]:
    # Imported here because the module imports ua-parser-rs, which may be missing.
    from ua_parser.regex import Resolver

    # ua-parser's resolver copies every match into frozen dataclasses, about 5.7 µs a string
    # on the benchmark's corpus (2-CPU VM), so its extractors are called directly. Their API
    # is not promised stable, so a test compares this path with the resolver's.
    resolver = Resolver(ua_parser.load_lazy_builtins())
    try:
        extract_user_agent = resolver.ua.extract
        extract_os = resolver.os.extract
        extract_device = resolver.de.extract
    except AttributeError:
        # A later release that renames them costs speed, not parsing.
        return _resolver_matcher()

    def match(user_agent: str) -> _Matches:
        return _Matches(
            extract_user_agent(user_agent), extract_os(user_agent), extract_device(user_agent)
        )

    return match


def _resolver_matcher() -> Callable[[str], _Matches]:
    resolver: ua_parser.Resolver
    if ua_parser.BestAvailableResolver is ua_parser.BasicResolver:
        resolver = ua_parser.BasicResolver(ua_parser.load_builtins())
    else:
        # The compiled resolvers take the lazy matchers, as ua-parser's default parser does.
        resolver = ua_parser.BestAvailableResolver(ua_parser.load_lazy_builtins())

    # ua-parser's Parser would only copy the partial result into a complete one.
    def match(user_agent: str) -> _Matches:
        result = resolver(user_agent, ua_parser.Domain.ALL)
        return _Matches(result.user_agent, result.os, result.device)

    return match


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_cached(user_agent: str, hints: ClientHints | None) -> UserAgentFacts:
    matches = _matcher()(_encodable(user_agent))

    client = _library_facts(user_agent, matches) or _bot_facts(user_agent, matches)
    if client is not None:
        return client

    return _device_facts(user_agent, matches, _parse_hints(hints))


def _encodable(user_agent: str) -> str:
    # ua-parser-rs encodes the string as UTF-8, which fails on lone surrogates. An ASCII
    # string, as nearly every User-Agent is, contains none.
    if user_agent.isascii():
        return user_agent
    return user_agent.encode("utf-8", "replace").decode("utf-8")


class _Release(NamedTuple):
    name: str | None
    version: str | None


# Leading product token such as "python-httpx/0.27.0" or "Dalvik/2.1.0". The lookbehind
# starts a match only at the beginning of a token, which keeps the search linear.
_PRODUCT_TOKEN: Final = re.compile(r"(?<![\w.+-])([A-Za-z][\w.+-]*)/v?(\d[\w.]*)")


def _leading_product(user_agent: str) -> _Release:
    match = _PRODUCT_TOKEN.match(user_agent)
    if match is None:
        return _Release(None, None)
    return _Release(match[1], match[2])


def _join_version(
    major: str | None, minor: str | None, patch: str | None, patch_minor: str | None
) -> str | None:
    # The parts after the first missing one are left out. An empty major alone is no version.
    if major is None or minor is None:
        return major or None
    if patch is None:
        return f"{major}.{minor}"
    if patch_minor is None:
        return f"{major}.{minor}.{patch}"
    return f"{major}.{minor}.{patch}.{patch_minor}"


# --- HTTP libraries and bots ----------------------------------------------------------------

# HTTP client libraries and command-line tools, by the product that starts their default
# User-Agent. Longer names come before their prefixes ("python-httpx" before "python").
_LIBRARY_PRODUCT: Final = re.compile(
    r"""(?ix)
    (?:curl|libcurl|pycurl|wget|httpie|postmanruntime|insomnia
      |python-requests|python-urllib3|python-urllib|python-httpx|aiohttp|python
      |go-http-client|okhttp|java|apache-httpclient|jakarta\ commons-httpclient
      |google-http-java-client|axios|node-fetch|undici|node|got|deno|bun|dart
      |libwww-perl|guzzlehttp|ruby|rest-client|faraday|reqwest|aws-sdk-[\w-]+)
    (?![\w-])
    """
)


def _starts_with_library(user_agent: str) -> bool:
    # Browsers start with "Mozilla/" and no library above is named Mozilla, so the long
    # match is skipped for them.
    if user_agent.startswith("Mozilla/"):
        return False
    return _LIBRARY_PRODUCT.match(user_agent) is not None


# Libraries whose User-Agent starts like a browser's, by the uap family that names them.
_LIBRARY_FAMILIES: Final = frozenset({"WindowsPowerShell"})


def _library_facts(user_agent: str, result: _Matches) -> UserAgentFacts | None:
    agent = result.user_agent
    if agent is not None and agent.family == "Other":
        agent = None

    is_library = _starts_with_library(user_agent) or (
        agent is not None and agent.family in _LIBRARY_FAMILIES
    )
    if not is_library:
        return None

    # uap has the usual names ("Python Requests"). Other libraries keep their product token.
    if agent is not None:
        release = _Release(agent.family, _browser_version(user_agent, agent))
    else:
        release = _leading_product(user_agent)
    return _client_facts(release, result.os, category="library", device_type=None)


# Crawlers name themselves ("AhrefsBot/7.0", "Baiduspider/2.0") and, by convention, link a page
# about the crawler with "+http://". uap marks the crawlers in its rules with device "Spider".
_CRAWLER_URL: Final = re.compile(r"\+https?://")
_COMPATIBLE_PRODUCT: Final = re.compile(r"compatible;\s*([A-Za-z][\w.+-]*)(?:/v?(\d[\w.]*))?")


def _bot_facts(user_agent: str, result: _Matches) -> UserAgentFacts | None:
    bot = _bot_release(user_agent, result)
    if bot is None:
        return None
    return _client_facts(bot, result.os, category="bot", device_type=bot.name)


def _bot_release(user_agent: str, result: _Matches) -> _Release | None:
    agent = result.user_agent
    if result.device is not None and result.device.family == "Spider":
        if agent is not None and agent.family != "Other":
            return _Release(agent.family, _browser_version(user_agent, agent))
        return _crawler_product(user_agent) or _leading_product(user_agent)

    crawler = _crawler_product(user_agent)
    if crawler is not None:
        return crawler

    if _CRAWLER_URL.search(user_agent):
        compatible = _COMPATIBLE_PRODUCT.search(user_agent)
        if compatible is not None:
            return _Release(compatible[1], compatible[2])
        return _leading_product(user_agent)

    return None


def _crawler_product(user_agent: str) -> _Release | None:
    # Few strings name a crawler, and substring tests of the whole string rule out the others
    # faster than a scan of its tokens.
    if not _mentions_crawler(user_agent):
        return None

    # Requiring "name/version" keeps phone models such as "CUBOT X19" out.
    for match in _PRODUCT_TOKEN.finditer(user_agent):
        if _mentions_crawler(match[1]):
            return _Release(match[1], match[2])
    return None


def _mentions_crawler(text: str) -> bool:
    lowered = text.lower()
    return "bot" in lowered or "crawl" in lowered or "spider" in lowered or "slurp" in lowered


def _client_facts(
    release: _Release, os: _ProductMatch | None, *, category: str, device_type: str | None
) -> UserAgentFacts:
    os_release = _os_release(os, browser_family=None, device_family=None)
    return UserAgentFacts(
        browser_name=release.name,
        browser_version=_display_version(release.version),
        os_name=os_release.name,
        os_version=os_release.version,
        device_type=device_type,
        device_category=category,
        is_mobile=False,
    )


# --- Browsers on devices ----------------------------------------------------------------------


def _device_facts(user_agent: str, result: _Matches, hints: _ParsedHints) -> UserAgentFacts:
    device = result.device
    device_family = device.family if device is not None else None
    browser_family = result.user_agent.family if result.user_agent is not None else None

    os = _os_release(result.os, browser_family=browser_family, device_family=device_family)
    browser = _browser_release(user_agent, result.user_agent, os_name=os.name)

    browser = _refine_browser(browser, hints)
    os = _refine_os(os, hints)
    model = _model_name(hints.model) if hints.model else _device_model(device)

    category = _device_category(user_agent, os.name, device, hints)
    return UserAgentFacts(
        browser_name=browser.name,
        browser_version=_display_version(browser.version),
        os_name=os.name,
        os_version=os.version,
        device_type=_device_type(user_agent, category, os.name, device_family, model),
        device_category=category,
        is_mobile=category in ("phone", "tablet"),
    )


# uap names mobile builds and web views apart, but people know them by the browser's name.
_BROWSER_NAMES: Final = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Android WebView",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Opera Mobile": "Opera",
    "Android": "Android Browser",
}


def _browser_release(
    user_agent: str, agent: _ProductMatch | None, *, os_name: str | None
) -> _Release:
    if agent is None or agent.family == "Other":
        return _Release(None, None)

    # uap's "Android" family is the old stock browser, matched on "Android x.y" anywhere, so an
    # app runtime such as "Dalvik/2.1.0 (Linux; U; Android 6.0.1; ...)" is named by its product.
    if agent.family == "Android" and not user_agent.startswith("Mozilla/"):
        return _leading_product(user_agent)

    name = _BROWSER_NAMES.get(agent.family, agent.family)

    # uap keys the Android WebView on "Version/4.0 Chrome/", which only means a web view on
    # Android. Elsewhere the string is Chrome with extra tokens.
    if name == "Android WebView" and os_name != "Android":
        name = "Chrome"

    return _Release(name, _browser_version(user_agent, agent))


def _browser_version(user_agent: str, agent: _ProductMatch) -> str | None:
    version = _join_version(agent.major, agent.minor, agent.patch, agent.patch_minor)
    if version is None or agent.patch is None:
        return version

    # uap keeps at most four components and some rules only three ("OPR/84.0.4316.19" gives
    # 84.0.4316). The rest of the version follows the parsed part in the string. A plain
    # find is used because a pattern per version would overflow the re module's cache.
    start = user_agent.find(version)
    while start != -1:
        before = user_agent[start - 1] if start else " "
        if not (before.isalnum() or before in "._"):
            tail = _VERSION_TAIL.match(user_agent, start + len(version))
            if tail:
                return version + tail[0]
        start = user_agent.find(version, start + 1)
    return version


_VERSION_TAIL: Final = re.compile(r"(?:\.\d+)+")


# Chromium's reduced User-Agent keeps only the major version: "Chrome/124.0.0.0".
_REDUCED_VERSION: Final = re.compile(r"(\d+)\.0\.0\.0")


def _display_version(version: str | None) -> str | None:
    # The suffix test skips the regular expression for nearly every version.
    if version is None or not version.endswith(".0.0.0"):
        return version
    reduced = _REDUCED_VERSION.fullmatch(version)
    return reduced[1] if reduced else version


_OS_NAMES: Final = {
    "Mac OS X": "macOS",
    "Chrome OS": "ChromeOS",
}


def _os_release(
    os: _ProductMatch | None, *, browser_family: str | None, device_family: str | None
) -> _Release:
    if os is None or os.family == "Other":
        return _Release(None, None)

    name = _OS_NAMES.get(os.family, os.family)
    version = _join_version(os.major, os.minor, os.patch, os.patch_minor)
    if _is_frozen_os_version(name, version, browser_family, device_family):
        version = None
    return _Release(name, version)


def _is_frozen_os_version(
    name: str, version: str | None, browser_family: str | None, device_family: str | None
) -> bool:
    # Versions that browsers send whatever the real one is. Chrome freezes macOS at 10_15_7
    # (since 90), ChromeOS at 14541.0.0 (since 107) and Android at "10" with the model "K"
    # (since 110). Safari also sends 10_15_7, and Firefox caps macOS at 10.15 (since 87).
    if name == "macOS":
        return version == "10.15.7" or (version == "10.15" and browser_family == "Firefox")
    if name == "ChromeOS":
        return version == "14541.0.0"
    if name == "Android":
        return version == "10" and device_family == "K"
    return False


# Placeholders that uap puts where a device model would be, including Chrome's reduced "K".
_PLACEHOLDER_BRANDS: Final = frozenset({"Generic", "Spider"})
_PLACEHOLDER_MODELS: Final = frozenset({"K", "Other"})


def _device_model(device: _DeviceMatch | None) -> str | None:
    if device is None or device.brand in _PLACEHOLDER_BRANDS:
        return None
    if device.family in _PLACEHOLDER_MODELS:
        return None
    return _model_name(device.family)


def _model_name(model: str) -> str:
    # Samsung model numbers come without the brand ("SM-X700"), which uap adds for most of them.
    return f"Samsung {model}" if model.startswith("SM-") else model


# Tablets by model: Galaxy Tab (SM-T, SM-P, SM-X), Kindle Fire (KF..., Silk browser), Nexus 7/9/10.
_TABLET_MODEL: Final = re.compile(
    r"\bSM-[TPX]\d|\bKindle\b|\bKF[A-Z]{2,6}\b|\bSilk/|\bNexus (?:7|9|10)\b"
)


def _mentions_tablet_model(text: str) -> bool:
    # Every match contains one of these substrings. Testing for them rules out most strings
    # and is much cheaper than the search, which tries the pattern at every position.
    if "SM-" in text or "Kindle" in text or "KF" in text or "Silk/" in text or "Nexus " in text:
        return _TABLET_MODEL.search(text) is not None
    return False


def _compile_whole_word(word: str) -> re.Pattern[str]:
    # Finds what rf"\b{word}\b" finds, for a word of letters and digits. With the word first,
    # `re` skips ahead to where it occurs instead of trying the pattern at every position.
    return re.compile(rf"{word}\b(?<!\w{word})")


_TABLET_TOKEN: Final = _compile_whole_word("Tablet")
_MOBILE_TOKEN: Final = _compile_whole_word("Mobile")
_X11_TOKEN: Final = _compile_whole_word("X11")

_DESKTOP_OS_NAMES: Final = frozenset({"Windows", "macOS", "Linux", "ChromeOS"})
_PHONE_OS_NAMES: Final = frozenset(
    {"Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS", "Firefox OS"}
)


def _device_category(
    user_agent: str, os_name: str | None, device: _DeviceMatch | None, hints: _ParsedHints
) -> str:
    device_family = device.family if device is not None else None

    # Chrome on an iPad in desktop mode sends a Macintosh platform, which uap reports as an
    # iOS device of family "Mac".
    if os_name == "iOS":
        return "tablet" if device_family in ("iPad", "Mac") else "phone"

    if _mentions_tablet_model(user_agent) or (hints.model and _mentions_tablet_model(hints.model)):
        return "tablet"
    if hints.mobile is True:
        return "phone"
    if os_name == "Android":
        return _android_category(user_agent, device, hints)

    if os_name in _DESKTOP_OS_NAMES or _X11_TOKEN.search(user_agent):
        return "desktop"
    if os_name in _PHONE_OS_NAMES or device_family == "Generic Smartphone":
        return "phone"
    if device_family == "Generic Tablet":
        return "tablet"
    return "unknown"


def _android_category(user_agent: str, device: _DeviceMatch | None, hints: _ParsedHints) -> str:
    # Chromium sends "Sec-CH-UA-Mobile: ?0" on Android only for tablets and desktop mode.
    if hints.mobile is False or _TABLET_TOKEN.search(user_agent):
        return "tablet"
    if device is not None and (
        device.brand == "Generic_Android_Tablet" or device.family == "Generic Tablet"
    ):
        return "tablet"

    # Android browsers mark phones with a "Mobile" token. App runtimes such as Dalvik never
    # send it and run on phones far more often than on tablets.
    if user_agent.startswith("Mozilla/") and not _MOBILE_TOKEN.search(user_agent):
        return "tablet"
    return "phone"


_APPLE_DEVICE_TYPES: Final = {"iPhone": "iPhone", "iPod": "iPod", "iPad": "iPad", "Mac": "iPad"}
_DESKTOP_DEVICE_TYPES: Final = {
    "Windows": "Windows",
    "macOS": "Macintosh",
    "ChromeOS": "Chromebook",
}


def _device_type(
    user_agent: str,
    category: str,
    os_name: str | None,
    device_family: str | None,
    model: str | None,
) -> str | None:
    if category == "desktop":
        if os_name in _DESKTOP_DEVICE_TYPES:
            return _DESKTOP_DEVICE_TYPES[os_name]
        return "Linux" if "Linux" in user_agent else os_name

    if category not in ("phone", "tablet"):
        return None
    if os_name == "iOS":
        return _APPLE_DEVICE_TYPES.get(device_family or "")
    if model is not None:
        return model
    return f"Android {category}" if os_name == "Android" else None


# --- Client hints -------------------------------------------------------------------------------


class _Brand(NamedTuple):
    name: str
    version: str | None


class _ParsedHints(NamedTuple):
    # Brands from Sec-CH-UA (else the full-version list), GREASE and "Chromium" removed.
    brands: tuple[_Brand, ...]
    full_versions: Mapping[str, str]
    mobile: bool | None
    platform: str | None
    platform_version: tuple[int, ...] | None
    model: str | None


_NO_HINTS: Final = _ParsedHints((), {}, None, None, None, None)

# RFC 8941 sf-string: printable ASCII, with '"' and '\' escaped by a backslash.
_SF_STRING: Final = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"'
_SF_PARAMETER: Final = rf'\s*;\s*([a-z*][a-z0-9_.*-]*)(?:=({_SF_STRING}|[^;,\s"]+))?'
_BRAND_MEMBER: Final = re.compile(
    rf"\s*(?P<brand>{_SF_STRING})(?P<parameters>(?:{_SF_PARAMETER})*)\s*(?P<separator>,|$)"
)
_PARAMETER: Final = re.compile(_SF_PARAMETER)
_STRING_ESCAPE: Final = re.compile(r"\\([\"\\])")

# Chromium adds a made-up brand such as " Not A;Brand", "Not)A;Brand" or "Not;A=Brand" so that
# sites cannot match the list exactly.
_GREASE_BRAND: Final = re.compile(r"\s*Not[^A-Za-z0-9]+A[^A-Za-z0-9]+Brand\s*")

_BRAND_NAMES: Final = {"Google Chrome": "Chrome", "Microsoft Edge": "Edge"}

_PLATFORM_NAMES: Final = {
    "Chrome OS": "ChromeOS",
    "Chromium OS": "ChromeOS",
    "Unknown": None,
}

_PLATFORM_VERSION: Final = re.compile(r"\d{1,9}(?:\.\d{1,9})*")


def _parse_hints(hints: ClientHints | None) -> _ParsedHints:
    if hints is None:
        return _NO_HINTS

    full_version_list = _parse_brand_list(hints.full_version_list)
    return _ParsedHints(
        brands=_parse_brand_list(hints.ua) or full_version_list,
        full_versions={brand.name: brand.version for brand in full_version_list if brand.version},
        mobile=_parse_boolean_hint(hints.mobile),
        platform=_parse_string_hint(hints.platform),
        platform_version=_parse_platform_version(hints.platform_version),
        model=_parse_string_hint(hints.model),
    )


def _parse_brand_list(value: str | None) -> tuple[_Brand, ...]:
    """Parse a Sec-CH-UA style list of ``"Brand";v="version"`` members.

    An RFC 8941 parser drops the whole field when any part is malformed, and so does this one.
    """
    if not value or not value.strip():
        return ()

    brands: list[_Brand] = []
    chromium: _Brand | None = None
    position = 0
    while position < len(value):
        member = _BRAND_MEMBER.match(value, position)
        if member is None:
            return ()
        position = member.end()
        if member["separator"] and position == len(value):
            return ()

        name = _unquote(member["brand"])
        if _GREASE_BRAND.fullmatch(name):
            continue
        brand = _Brand(_BRAND_NAMES.get(name, name), _brand_version(member["parameters"]))
        if name == "Chromium":
            chromium = brand
            continue
        brands.append(brand)

    # Every Chromium-based browser lists "Chromium" beside its own brand; alone, it is the
    # browser itself (Debian's Chromium, for one).
    if not brands and chromium is not None:
        return (chromium,)
    return tuple(brands)


def _brand_version(parameters: str) -> str | None:
    for parameter in _PARAMETER.finditer(parameters):
        if parameter[1] == "v" and parameter[2] is not None:
            value = parameter[2]
            return _unquote(value) if value.startswith('"') else value
    return None


def _unquote(sf_string: str) -> str:
    return _STRING_ESCAPE.sub(r"\1", sf_string[1:-1])


def _parse_string_hint(value: str | None) -> str | None:
    # String hints are quoted on the wire ('"Windows"'). The bare form of some fixtures is accepted.
    if value is None:
        return None

    value = value.strip()
    if value.startswith('"'):
        text = _unquote(value) if re.fullmatch(_SF_STRING, value) else None
    elif value.isascii() and value.isprintable() and not any(c in value for c in '",;\\'):
        text = value
    else:
        text = None
    return text or None


def _parse_platform_version(value: str | None) -> tuple[int, ...] | None:
    text = _parse_string_hint(value)
    if text is None or not _PLATFORM_VERSION.fullmatch(text):
        return None
    return tuple(int(part) for part in text.split("."))


def _parse_boolean_hint(value: str | None) -> bool | None:
    match (value or "").strip():
        case "?1":
            return True
        case "?0":
            return False
    return None


# Browser names that only mean "some Chromium browser", so a brand from the hints replaces them.
_GENERIC_CHROMIUM_NAMES: Final = frozenset({"Chrome", "HeadlessChrome", "Android WebView"})


def _refine_browser(browser: _Release, hints: _ParsedHints) -> _Release:
    if not hints.brands:
        return browser

    same = next((brand for brand in hints.brands if brand.name == browser.name), None)
    if same is not None:
        # The User-Agent token wins over the hints, because Opera 84 sent its Chromium version
        # (98.0.4758.82) as the full version of the "Opera" brand.
        if browser.version is not None and not _REDUCED_VERSION.fullmatch(browser.version):
            return browser
        version = hints.full_versions.get(same.name) or same.version or browser.version
        return _Release(browser.name, version)

    # A Chrome-looking string may come from Brave, Ace or another Chromium browser, which
    # only the brand list names. A specific name from the string (Opera, Instagram) stays.
    if browser.name is not None and browser.name not in _GENERIC_CHROMIUM_NAMES:
        return browser

    brand = hints.brands[0]
    return _Release(brand.name, hints.full_versions.get(brand.name) or brand.version)


def _refine_os(os: _Release, hints: _ParsedHints) -> _Release:
    if hints.platform is None:
        return os

    name = _PLATFORM_NAMES.get(hints.platform, hints.platform)
    if name is None:
        return os

    # Chromium sends an empty platform version on Linux, and the string may name the distribution.
    if name == "Linux":
        return os if os.name is not None else _Release(name, None)

    fallback = os.version if name == os.name else None
    if hints.platform_version is None:
        return _Release(name, fallback)
    if name == "Windows":
        return _Release(name, _windows_version(hints.platform_version) or fallback)
    return _Release(name, _trim_version(hints.platform_version))


def _windows_version(platform_version: tuple[int, ...]) -> str | None:
    # Microsoft's Windows 11 detection guide for Edge: 13 and up is Windows 11, 1 to 10 is
    # Windows 10. Other values keep the string's version, which is right for Windows 7 to 8.1.
    major = platform_version[0]
    if major >= 13:
        return "11"
    if 1 <= major <= 10:
        return "10"
    return None


def _trim_version(parts: tuple[int, ...]) -> str:
    # "14.5.0" is shown as "14.5" and "14.0.0" as "14".
    kept = list(parts)
    while len(kept) > 1 and kept[-1] == 0:
        kept.pop()
    return ".".join(str(part) for part in kept)
