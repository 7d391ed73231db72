from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import ua_parser
from starlette.datastructures import Headers

from lastseen.enrich import useragent
from lastseen.enrich.useragent import (
    DEVICE_CATEGORIES,
    MAX_PARSE_LENGTH,
    MAX_USER_AGENT_LENGTH,
    ClientHints,
    UserAgentFacts,
    parse_user_agent,
)

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
CHROME_ANDROID_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)
CLOUDFLARE_ALWAYS_ONLINE = (
    "Mozilla/5.0 (compatible; CloudFlare-AlwaysOnline/1.0; "
    "+http://www.cloudflare.com/always-online) AppleWebKit/534.34"
)
# 400 digits after AppleWebKit/ took about 110 s in uap-python 0.8.0, whose regexes backtrack.
LONG_DIGITS_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_5 like Mac OS X) AppleWebKit/"
    + "1234567890" * 40
    + " (KHTML, like Gecko) Version/5.1 Mobile/9334 Safari/7548.320"
)
# One token repeated 700 times after a Firefox 40 string, 11,273 characters in all.
REPEATED_TOKEN_FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0"
    + " OWASMIME/4.0500" * 700
)


def major(version: str | None) -> str | None:
    return None if version is None else version.split(".")[0]


def unquoted(headers: dict[str, str]) -> dict[str, str]:
    """Drop the structured-field quotes from the string hints, as some fixtures write them."""
    string_hints = {"sec-ch-ua-platform", "sec-ch-ua-platform-version", "sec-ch-ua-model"}
    return {
        name: value.strip('"') if name.lower() in string_hints else value
        for name, value in headers.items()
    }


def with_both_quotings(headers: dict[str, str]) -> list[object]:
    return [
        pytest.param(headers, id="quoted"),
        pytest.param(unquoted(headers), id="unquoted"),
    ]


@dataclass(frozen=True)
class Seen:
    """The facts a case pins: browser and major version, operating system, device class."""

    browser: str | None
    major: str | None
    os: str | None
    category: str
    mobile: bool


# Real User-Agent strings gathered from parser fixtures and bug reports.
REPORTED_USER_AGENTS = [
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/75.0.3763.0 Safari/537.36 Edg/75.0.131.0",
        Seen("Edge", "75", "Windows", "desktop", mobile=False),
        id="edge-chromium-not-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/98.0.4758.82 Safari/537.36 OPR/84.0.4316.19",
        Seen("Opera", "84", "Windows", "desktop", mobile=False),
        id="opera-token",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 12; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/117.0.4577.63 Brave/117.1.4577.63 Mobile Safari/537.36",
        Seen("Brave", "117", "Android", "phone", mobile=True),
        id="brave-token-android",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 10) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/106.0.0.0 Mobile Safari/537.36",
        Seen("Chrome", "106", "Android", "phone", mobile=True),
        id="brave-without-hints-is-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 10; SAMSUNG SM-P615C) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/12.1 Chrome/79.0.3945.136 Safari/537.36",
        Seen("Samsung Internet", "12", "Android", "tablet", mobile=True),
        id="samsung-internet-galaxy-tab",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 8_3 like Mac OS X) AppleWebKit/600.1.4 "
        "(KHTML, like Gecko) FxiOS/1.0 Mobile/12F69 Safari/600.1.4",
        Seen("Firefox", "1", "iOS", "phone", mobile=True),
        id="firefox-ios",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_5) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/102 Version/11.1.1 Safari/605.1.15",
        Seen("Chrome", "102", "iOS", "tablet", mobile=True),
        id="chrome-ipad-desktop-mode",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/97.0.4692.99 Safari/537.3",
        Seen("Chrome", "97", "Windows", "desktop", mobile=False),
        id="windows-11-machine-without-hints",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/68.0.3440.106 Safari/537.36 CitrixChromeApp",
        Seen("Chrome", "68", "Windows", "desktop", mobile=False),
        id="windows-nt-10-citrix",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        Seen("Chrome", "124", "Windows", "desktop", mobile=False),
        id="chrome-reduced-124",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/138.0.0.0 Safari/537.36",
        Seen("Chrome", "138", "Windows", "desktop", mobile=False),
        id="ace-without-hints-is-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 7.0; LG-TP260 Build/NRD90U; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/64.0.3282.137 Mobile Safari/537.36 "
        "Instagram 33.0.0.11.92 Android (24/7.0; 320dpi; 720x1193; LGE/lge; LG-TP260; lv517; "
        "lv517; en_US; 93117667)",
        Seen("Instagram", "33", "Android", "phone", mobile=True),
        id="instagram-in-app-android",
    ),
    pytest.param(
        "Mozilla/5.0 (iPad; CPU OS 10_1_1 like Mac OS X) AppleWebKit/602.2.14 "
        "(KHTML, like Gecko) Mobile/14B100 [FBAN/MessengerForiOS;FBAV/122.0.0.40.69;"
        "FBBV/61279955;FBDV/iPad4,1;FBMD/iPad;FBSN/iOS;FBSV/10.1.1;FBSS/2;FBCR/;FBID/tablet;"
        "FBLC/vi_VN;FBOP/5;FBRV/0]",
        Seen("Facebook Messenger", "122", "iOS", "tablet", mobile=True),
        id="messenger-in-app-ipad",
    ),
    pytest.param(
        "curl/7.29.0",
        Seen("curl", "7", None, "library", mobile=False),
        id="curl",
    ),
    pytest.param(
        "python-requests/0.14 CPython/2.6 Linux/2.6-43-server",
        Seen("Python Requests", "0", "Linux", "library", mobile=False),
        id="python-requests",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        Seen("Googlebot", "2", None, "bot", mobile=False),
        id="googlebot",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 9; SM-T820 Build/PPR1.180610.011; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/85.0.4183.101 Safari/537.36 ANDROID_APP",
        Seen("Android WebView", "85", "Android", "tablet", mobile=True),
        id="webview-tablet-without-mobile-token",
    ),
    pytest.param(
        "Dalvik/2.1.0 (Linux; U; Android 6.0.1; SM-G920T Build/MMB29K) , Parsely mobileproxy",
        Seen("Dalvik", "2", "Android", "phone", mobile=True),
        id="dalvik-galaxy-s6-is-phone",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/70.0.3538.64 Safari/537.36Mozilla/5.0 (Windows NT 10.0; Win64; x64; "
        "rv:83.0) Gecko/20100101 Firefox/83.0",
        Seen("Chrome", "70", "Windows", "desktop", mobile=False),
        id="two-glued-windows-strings",
    ),
    pytest.param("", Seen(None, None, None, "unknown", mobile=False), id="empty"),
    pytest.param(None, Seen(None, None, None, "unknown", mobile=False), id="missing"),
    pytest.param(
        LONG_DIGITS_IPHONE,
        Seen("Safari", "5", "iOS", "phone", mobile=True),
        id="long-digit-run",
    ),
    pytest.param(
        REPEATED_TOKEN_FIREFOX,
        Seen("Firefox", "40", "Windows", "desktop", mobile=False),
        id="repeated-token-11k",
    ),
    pytest.param(
        CLOUDFLARE_ALWAYS_ONLINE,
        Seen("CloudFlare-AlwaysOnline", "1", None, "bot", mobile=False),
        id="cloudflare-always-online",
    ),
]


@pytest.mark.parametrize(("user_agent", "expected"), REPORTED_USER_AGENTS)
def test_reported_user_agent(user_agent: str | None, expected: Seen) -> None:
    facts = parse_user_agent(user_agent)

    assert facts.browser_name == expected.browser
    assert major(facts.browser_version) == expected.major
    assert facts.os_name == expected.os
    assert facts.device_category == expected.category
    assert facts.is_mobile is expected.mobile


@pytest.mark.parametrize(
    ("user_agent", "device_type"),
    [
        pytest.param(
            "Mozilla/5.0 (Linux; Android 12; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/117.0.4577.63 Brave/117.1.4577.63 Mobile Safari/537.36",
            "Samsung SM-G991B",
            id="samsung-model",
        ),
        pytest.param(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_5) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) CriOS/102 Version/11.1.1 Safari/605.1.15",
            "iPad",
            id="ipad-desktop-mode",
        ),
        pytest.param(
            "Dalvik/2.1.0 (Linux; U; Android 6.0.1; SM-G920T Build/MMB29K) , Parsely mobileproxy",
            "Samsung SM-G920T",
            id="dalvik-model",
        ),
        pytest.param("curl/7.29.0", None, id="library-has-none"),
        pytest.param(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot",
            id="bot-name",
        ),
        pytest.param(CHROME_ANDROID_REDUCED, "Android phone", id="reduced-model-k"),
        pytest.param(
            "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
            "Android phone",
            id="generic-smartphone",
        ),
        pytest.param(
            "Mozilla/5.0 (Android 14; Tablet; rv:127.0) Gecko/127.0 Firefox/127.0",
            "Android tablet",
            id="generic-tablet",
        ),
        pytest.param(
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "Chromebook",
            id="chromebook",
        ),
    ],
)
def test_device_type(user_agent: str, device_type: str | None) -> None:
    assert parse_user_agent(user_agent).device_type == device_type


@pytest.mark.parametrize(
    ("user_agent", "version"),
    [
        pytest.param(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/98.0.4758.82 Safari/537.36 OPR/84.0.4316.19",
            "84.0.4316.19",
            id="opera-four-parts",
        ),
        pytest.param(
            "Mozilla/5.0 (iPad; CPU OS 10_1_1 like Mac OS X) AppleWebKit/602.2.14 "
            "(KHTML, like Gecko) Mobile/14B100 [FBAN/MessengerForiOS;FBAV/122.0.0.40.69;"
            "FBBV/61279955;FBDV/iPad4,1;FBMD/iPad;FBSN/iOS;FBSV/10.1.1;FBSS/2;FBCR/;"
            "FBID/tablet;FBLC/vi_VN;FBOP/5;FBRV/0]",
            "122.0.0.40.69",
            id="messenger-five-parts",
        ),
        pytest.param(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36",
            "124",
            id="reduced-chrome-shows-major",
        ),
        pytest.param(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/97.0.4692.99 Safari/537.3",
            "97.0.4692.99",
            id="full-chrome-build",
        ),
    ],
)
def test_browser_version(user_agent: str, version: str) -> None:
    assert parse_user_agent(user_agent).browser_version == version


MODERN_USER_AGENTS = [
    pytest.param(
        CHROME_WINDOWS,
        UserAgentFacts("Chrome", "126", "Windows", "10", "Windows", "desktop", is_mobile=False),
        id="chrome-windows",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        UserAgentFacts("Safari", "17.5", "iOS", "17.5", "iPhone", "phone", is_mobile=True),
        id="safari-iphone",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        UserAgentFacts("Firefox", "127.0", "Linux", None, "Linux", "desktop", is_mobile=False),
        id="firefox-linux",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
        UserAgentFacts("Edge", "126", "macOS", None, "Macintosh", "desktop", is_mobile=False),
        id="edge-macos",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        UserAgentFacts(
            "Samsung Internet", "25.0", "Android", "14", "Samsung SM-S921B", "phone", is_mobile=True
        ),
        id="samsung-internet-phone",
    ),
    pytest.param(
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
        UserAgentFacts("Safari", "17.5", "iOS", "17.5", "iPad", "tablet", is_mobile=True),
        id="safari-ipad",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.71 Mobile Safari/537.36",
        UserAgentFacts(
            "Chrome", "126.0.6478.71", "Android", "14", "Pixel 8", "phone", is_mobile=True
        ),
        id="chrome-pixel",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
        UserAgentFacts("Chrome", "126.0.6478.54", "iOS", "17.5", "iPhone", "phone", is_mobile=True),
        id="chrome-iphone",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148",
        UserAgentFacts("Safari WebView", None, "iOS", "17.5", "iPhone", "phone", is_mobile=True),
        id="wkwebview-iphone",
    ),
]


@pytest.mark.parametrize(("user_agent", "expected"), MODERN_USER_AGENTS)
def test_modern_user_agent(user_agent: str, expected: UserAgentFacts) -> None:
    assert parse_user_agent(user_agent) == expected


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        pytest.param("curl/7.29.0", "curl", id="curl"),
        pytest.param("Wget/1.21.3", "Wget", id="wget"),
        pytest.param("python-requests/2.32.3", "Python Requests", id="requests"),
        pytest.param("python-httpx/0.27.0", "python-httpx", id="httpx"),
        pytest.param("Python-urllib/3.11", "Python-urllib", id="urllib"),
        pytest.param("Go-http-client/2.0", "Go-http-client", id="go"),
        pytest.param("okhttp/4.12.0", "okhttp", id="okhttp"),
        pytest.param("Java/17.0.2", "Java", id="java"),
        pytest.param("Apache-HttpClient/4.5.13 (Java/11.0.19)", "Apache-HttpClient", id="apache"),
        pytest.param(
            "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "node-fetch", id="node"
        ),
        pytest.param("HTTPie/3.2.2", "HTTPie", id="httpie"),
        pytest.param("libwww-perl/6.72", "libwww-perl", id="perl"),
    ],
)
def test_http_library(user_agent: str, name: str) -> None:
    facts = parse_user_agent(user_agent)

    assert facts.device_category == "library"
    assert facts.browser_name == name
    assert facts.device_type is None
    assert facts.is_mobile is False


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        pytest.param(
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "bingbot",
            id="bingbot",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 "
            "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot",
            id="googlebot-smartphone",
        ),
        pytest.param(
            "Mozilla/5.0 (compatible; ExampleCrawler/0.3)", "ExampleCrawler", id="crawler-token"
        ),
        pytest.param(CLOUDFLARE_ALWAYS_ONLINE, "CloudFlare-AlwaysOnline", id="crawler-url"),
    ],
)
def test_bot(user_agent: str, name: str) -> None:
    facts = parse_user_agent(user_agent)

    assert facts.device_category == "bot"
    assert facts.device_type == name
    assert facts.is_mobile is False


def test_cubot_phone_not_bot() -> None:
    facts = parse_user_agent(
        "Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36"
    )

    assert facts.device_category == "phone"


@pytest.mark.parametrize(
    "user_agent",
    [
        pytest.param(
            "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Silk/126.4.1 like Chrome/126.0.6478.126 Safari/537.36",
            id="kindle-silk",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 4.4.2; Nexus 7 Build/KOT49H) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/34.0.1847.114 Safari/537.36",
            id="nexus-7",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            id="galaxy-tab-s8",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 13; SM-T970) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            id="galaxy-tab-with-mobile-token",
        ),
        pytest.param(
            "Mozilla/5.0 (Android 14; Tablet; rv:127.0) Gecko/127.0 Firefox/127.0",
            id="tablet-token",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            id="reduced-without-mobile-token",
        ),
    ],
)
def test_android_tablet(user_agent: str) -> None:
    facts = parse_user_agent(user_agent)

    assert facts.device_category == "tablet"
    assert facts.is_mobile is True


@pytest.mark.parametrize(
    ("user_agent", "os_name"),
    [
        pytest.param(SAFARI_MAC, "macOS", id="safari-macos-10-15-7"),
        pytest.param(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:127.0) Gecko/20100101 Firefox/127.0",
            "macOS",
            id="firefox-macos-10-15",
        ),
        pytest.param(
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "ChromeOS",
            id="chromeos-14541",
        ),
        pytest.param(CHROME_ANDROID_REDUCED, "Android", id="android-10-model-k"),
    ],
)
def test_frozen_os_version_hidden(user_agent: str, os_name: str) -> None:
    facts = parse_user_agent(user_agent)

    assert facts.os_name == os_name
    assert facts.os_version is None


@pytest.mark.parametrize(
    ("user_agent", "os_version"),
    [
        pytest.param(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "14.5",
            id="macos-14-5",
        ),
        pytest.param(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_6) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/14.0.2 Safari/605.1.15",
            "10.15.6",
            id="macos-10-15-6",
        ),
        pytest.param(
            "Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/109.0.0.0 Safari/537.36",
            "8.1",
            id="windows-8-1",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.6478.71 Mobile Safari/537.36",
            "14",
            id="android-14-named-model",
        ),
    ],
)
def test_real_os_version_kept(user_agent: str, os_version: str) -> None:
    assert parse_user_agent(user_agent).os_version == os_version


# --- Client hints -----------------------------------------------------------------------------

OPERA_HEADERS = {
    "Sec-CH-UA": '" Not A;Brand";v="99", "Chromium";v="98", "Opera";v="84"',
    "Sec-CH-UA-Mobile": "?0",
    "Sec-CH-UA-Full-Version-List": (
        '" Not A;Brand";v="99.0.0.0", "Chromium";v="98.0.4758.82", "Opera";v="98.0.4758.82"'
    ),
    "Sec-CH-UA-Platform": '"Windows"',
    "Sec-CH-UA-Platform-Version": '"10.0.0"',
}


@pytest.mark.parametrize("headers", with_both_quotings(OPERA_HEADERS))
def test_opera_keeps_user_agent_version(headers: dict[str, str]) -> None:
    facts = parse_user_agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/98.0.4758.82 Safari/537.36 OPR/84.0.4316.19",
        ClientHints.from_headers(headers),
    )

    assert facts.browser_name == "Opera"
    assert facts.browser_version == "84.0.4316.19"
    assert facts.os_name == "Windows"
    assert facts.os_version == "10"
    assert facts.device_category == "desktop"
    assert facts.is_mobile is False


BRAVE_HEADERS = {
    "Sec-CH-UA": '"Chromium";v="106", "Brave";v="106", "Not;A=Brand";v="99"',
    "Sec-CH-UA-Platform": '"Android"',
    "Sec-CH-UA-Mobile": "?1",
}


@pytest.mark.parametrize("headers", with_both_quotings(BRAVE_HEADERS))
def test_brave_named_by_brand(headers: dict[str, str]) -> None:
    facts = parse_user_agent(
        "Mozilla/5.0 (Linux; Android 10) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/106.0.0.0 Mobile Safari/537.36",
        ClientHints.from_headers(headers),
    )

    assert facts.browser_name == "Brave"
    assert major(facts.browser_version) == "106"
    assert facts.os_name == "Android"
    assert facts.os_version == "10"
    assert facts.device_category == "phone"
    assert facts.is_mobile is True


WINDOWS_11_HEADERS = {
    "Sec-CH-UA": '" Not A;Brand";v="99", "Chromium";v="97", "Google Chrome";v="97"',
    "Sec-CH-UA-Mobile": "?0",
    "Sec-CH-UA-Platform": '"Windows"',
    "Sec-CH-UA-Platform-Version": '"14.0.0"',
}


@pytest.mark.parametrize("headers", with_both_quotings(WINDOWS_11_HEADERS))
def test_windows_11_from_platform_version(headers: dict[str, str]) -> None:
    facts = parse_user_agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/97.0.4692.99 Safari/537.3",
        ClientHints.from_headers(headers),
    )

    assert facts.browser_name == "Chrome"
    assert facts.browser_version == "97.0.4692.99"
    assert facts.os_name == "Windows"
    assert facts.os_version == "11"
    assert facts.device_category == "desktop"


@pytest.mark.parametrize(
    ("user_agent", "platform_version", "os_version"),
    [
        pytest.param(CHROME_WINDOWS, '"15.0.0"', "11", id="15-is-windows-11"),
        pytest.param(CHROME_WINDOWS, '"13.0.0"', "11", id="13-is-windows-11"),
        pytest.param(CHROME_WINDOWS, '"10.0.0"', "10", id="10-is-windows-10"),
        pytest.param(CHROME_WINDOWS, '"1.0.0"', "10", id="1-is-windows-10"),
        pytest.param(
            "Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/109.0.0.0 Safari/537.36",
            '"0.3.0"',
            "8.1",
            id="0-keeps-windows-8-1",
        ),
    ],
)
def test_windows_platform_version(user_agent: str, platform_version: str, os_version: str) -> None:
    hints = ClientHints(platform='"Windows"', platform_version=platform_version)

    assert parse_user_agent(user_agent, hints).os_version == os_version


def test_ace_named_by_brand() -> None:
    hints = ClientHints(
        ua='"Not)A;Brand";v="8.0.0.0", "Chromium";v="138.0.7208.0", "Ace";v="138.0.7208.0"'
    )

    facts = parse_user_agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/138.0.0.0 Safari/537.36",
        hints,
    )

    assert facts.browser_name == "Ace"
    assert facts.browser_version == "138.0.7208.0"


def test_reduced_version_from_full_list() -> None:
    hints = ClientHints(
        ua='"Chromium";v="126", "Google Chrome";v="126", "Not/A)Brand";v="8"',
        full_version_list=(
            '"Chromium";v="126.0.6478.127", "Google Chrome";v="126.0.6478.127", '
            '"Not/A)Brand";v="8.0.0.0"'
        ),
    )

    facts = parse_user_agent(CHROME_WINDOWS, hints)

    assert facts.browser_name == "Chrome"
    assert facts.browser_version == "126.0.6478.127"


def test_edge_brand_matches_edg_token() -> None:
    hints = ClientHints(
        ua='"Not/A)Brand";v="8", "Chromium";v="126", "Microsoft Edge";v="126"',
        full_version_list='"Microsoft Edge";v="126.0.2592.87", "Chromium";v="126.0.6478.127"',
    )

    facts = parse_user_agent(CHROME_WINDOWS + " Edg/126.0.0.0", hints)

    assert facts.browser_name == "Edge"
    assert facts.browser_version == "126.0.2592.87"


@pytest.mark.parametrize(
    "grease",
    [
        pytest.param('" Not A;Brand"', id="space-semicolon"),
        pytest.param('"Not)A;Brand"', id="parenthesis"),
        pytest.param('"Not;A=Brand"', id="equals"),
        pytest.param('"Not_A Brand"', id="underscore"),
        pytest.param('"Not.A/Brand"', id="slash"),
    ],
)
def test_grease_brand_ignored(grease: str) -> None:
    # Google Chrome always adds its own brand; GREASE and "Chromium" alone mean Chromium.
    hints = ClientHints(ua=f'{grease};v="99", "Chromium";v="126"')

    facts = parse_user_agent(CHROME_WINDOWS, hints)

    assert facts.browser_name == "Chromium"
    assert facts.browser_version == "126"


def test_headless_chromium_named_by_brand() -> None:
    user_agent = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/156.0.0.0 Safari/537.36"
    )
    hints = ClientHints(
        ua='"Chromium";v="156", "Not-A.Brand";v="24"',
        full_version_list='"Chromium";v="156.0.8078.114", "Not-A.Brand";v="24.0.0.0"',
    )

    facts = parse_user_agent(user_agent, hints)

    assert facts.browser_name == "Chromium"
    assert facts.browser_version == "156.0.8078.114"


MACOS_HEADERS = {
    "Sec-CH-UA": '"Chromium";v="126", "Google Chrome";v="126", "Not.A/Brand";v="24"',
    "Sec-CH-UA-Mobile": "?0",
    "Sec-CH-UA-Platform": '"macOS"',
    "Sec-CH-UA-Platform-Version": '"14.5.0"',
}


@pytest.mark.parametrize("headers", with_both_quotings(MACOS_HEADERS))
def test_macos_version_from_hints(headers: dict[str, str]) -> None:
    user_agent = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
    )

    without_hints = parse_user_agent(user_agent)
    with_hints = parse_user_agent(user_agent, ClientHints.from_headers(headers))

    assert without_hints.os_version is None
    assert with_hints.os_name == "macOS"
    assert with_hints.os_version == "14.5"


ANDROID_MODEL_HEADERS = {
    "Sec-CH-UA": '"Chromium";v="126", "Google Chrome";v="126", "Not.A/Brand";v="24"',
    "Sec-CH-UA-Mobile": "?1",
    "Sec-CH-UA-Platform": '"Android"',
    "Sec-CH-UA-Platform-Version": '"13.0.0"',
    "Sec-CH-UA-Model": '"Mi 9 SE"',
}


@pytest.mark.parametrize("headers", with_both_quotings(ANDROID_MODEL_HEADERS))
def test_model_hint_names_device(headers: dict[str, str]) -> None:
    facts = parse_user_agent(CHROME_ANDROID_REDUCED, ClientHints.from_headers(headers))

    assert facts.device_type == "Mi 9 SE"
    assert facts.os_name == "Android"
    assert facts.os_version == "13"
    assert facts.device_category == "phone"


def test_tablet_model_beats_mobile_hint() -> None:
    hints = ClientHints(mobile="?1", platform='"Android"', model='"SM-X700"')

    facts = parse_user_agent(CHROME_ANDROID_REDUCED, hints)

    assert facts.device_category == "tablet"
    assert facts.device_type == "Samsung SM-X700"


def test_android_not_mobile_hint_tablet() -> None:
    hints = ClientHints(mobile="?0", platform='"Android"')

    facts = parse_user_agent(CHROME_ANDROID_REDUCED, hints)

    assert facts.device_category == "tablet"
    assert facts.device_type == "Android tablet"


def test_android_desktop_mode_platform() -> None:
    hints = ClientHints(mobile="?0", platform='"Android"', platform_version='"14.0.0"')

    facts = parse_user_agent(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        hints,
    )

    assert facts.os_name == "Android"
    assert facts.os_version == "14"


@pytest.mark.parametrize(
    "hints",
    [
        pytest.param(ClientHints(ua='"Brave;v="1"'), id="unterminated-string"),
        pytest.param(ClientHints(ua='"Brave";v="1",'), id="trailing-comma"),
        pytest.param(ClientHints(ua="Brave"), id="bare-token"),
        pytest.param(ClientHints(ua='"Brave" "Ace"'), id="missing-comma"),
        pytest.param(ClientHints(full_version_list='"Brave";v="1" junk'), id="junk-after-member"),
        pytest.param(ClientHints(mobile="yes"), id="mobile-not-boolean"),
        pytest.param(ClientHints(platform='"Android'), id="platform-unterminated"),
        pytest.param(ClientHints(platform='"Android", "iOS"'), id="platform-repeated"),
        pytest.param(ClientHints(platform_version='"fourteen"'), id="platform-version-words"),
        pytest.param(
            ClientHints(platform_version='"1' + "0" * 40 + '"'), id="platform-version-huge"
        ),
        pytest.param(ClientHints(model='"Mi\x009"'), id="model-control-character"),
        pytest.param(ClientHints(ua="\udcff", model="\udcff"), id="lone-surrogate"),
        pytest.param(ClientHints(ua="", platform="", model=""), id="empty-values"),
        pytest.param(ClientHints(ua=", ".join(['"Brave";v="1"'] * 100)), id="oversized-list"),
    ],
)
def test_malformed_hints_ignored(hints: ClientHints) -> None:
    assert parse_user_agent(CHROME_WINDOWS, hints) == parse_user_agent(CHROME_WINDOWS)


def test_hints_ignored_without_user_agent() -> None:
    hints = ClientHints.from_headers(BRAVE_HEADERS)

    assert parse_user_agent(None, hints) == parse_user_agent(None)


def test_hints_ignored_for_library() -> None:
    hints = ClientHints.from_headers(BRAVE_HEADERS)

    assert parse_user_agent("curl/8.5.0", hints).device_category == "library"


def test_from_headers_any_case() -> None:
    hints = ClientHints.from_headers(
        {"SEC-CH-UA-MOBILE": "?1", "sec-ch-ua-platform": '"Android"', "Accept": "*/*"}
    )

    assert hints == ClientHints(mobile="?1", platform='"Android"')


def test_from_headers_starlette() -> None:
    headers = Headers(
        raw=[
            (b"sec-ch-ua", b'"Chromium";v="126"'),
            (b"sec-ch-ua", b'"Brave";v="126"'),
            (b"sec-ch-ua-model", b'"Mi 9 SE"'),
        ]
    )

    hints = ClientHints.from_headers(headers)

    assert hints.ua == '"Chromium";v="126", "Brave";v="126"'
    assert hints.model == '"Mi 9 SE"'
    assert hints.platform is None


def test_from_headers_without_hints() -> None:
    assert ClientHints.from_headers({"User-Agent": CHROME_WINDOWS}) == ClientHints()


# --- Bounds and odd input ---------------------------------------------------------------------


def test_missing_and_empty_give_unknown() -> None:
    unknown = UserAgentFacts(None, None, None, None, None, "unknown", is_mobile=False)

    assert parse_user_agent(None) == unknown
    assert parse_user_agent("") == unknown
    assert parse_user_agent("   ") == unknown


def test_ten_kilobyte_user_agent() -> None:
    facts = parse_user_agent(CHROME_WINDOWS + " " + "x" * 10_000)

    assert facts.browser_name == "Chrome"
    assert facts.device_category == "desktop"


def test_only_leading_characters_parsed() -> None:
    padded = CHROME_WINDOWS.ljust(MAX_PARSE_LENGTH, " ")

    assert parse_user_agent(padded + "iPhone Mobile Googlebot/2.1") == parse_user_agent(
        CHROME_WINDOWS
    )


def test_stored_length_bound() -> None:
    assert MAX_USER_AGENT_LENGTH == 512


@pytest.mark.parametrize(
    "user_agent",
    [
        pytest.param(bytes(range(256)).decode("latin-1"), id="every-latin-1-byte"),
        pytest.param("Mozilla/5.0 (Windows NT 10.0) \x00\x7f\xe9\xff", id="control-and-high"),
        pytest.param("Mozilla/5.0 \udcff", id="lone-surrogate"),
        pytest.param("a." * 5_000, id="dotted-run"),
        pytest.param("compatible;" * 1_000, id="repeated-compatible"),
        pytest.param("xbot/1 " * 1_000, id="repeated-bot-token"),
    ],
)
def test_odd_input_parses(user_agent: str) -> None:
    facts = parse_user_agent(user_agent)

    assert facts.device_category in DEVICE_CATEGORIES


def test_non_ascii_suffix_keeps_browser() -> None:
    raw = CHROME_WINDOWS.encode("ascii") + b" \xc3\xa9\xff\xfe"

    facts = parse_user_agent(raw.decode("latin-1"))

    assert facts.browser_name == "Chrome"


@pytest.mark.parametrize(
    "user_agent",
    [
        pytest.param(CLOUDFLARE_ALWAYS_ONLINE, id="cloudflare-bot"),
        pytest.param(LONG_DIGITS_IPHONE, id="long-digit-run"),
        pytest.param(CHROME_ANDROID_REDUCED, id="reduced-android"),
    ],
)
def test_same_answer_every_time(user_agent: str) -> None:
    first = parse_user_agent(user_agent)
    second = parse_user_agent(user_agent)

    assert second == first


def test_cloudflare_bot_both_times() -> None:
    first = parse_user_agent(CLOUDFLARE_ALWAYS_ONLINE)
    second = parse_user_agent(CLOUDFLARE_ALWAYS_ONLINE)

    assert first.device_category == "bot"
    assert second.device_category == "bot"


def test_cache_returns_same_facts() -> None:
    first = parse_user_agent(SAFARI_MAC, ClientHints(platform='"macOS"'))
    second = parse_user_agent(SAFARI_MAC, ClientHints(platform='"macOS"'))

    assert second == first
    assert second is first


def test_cache_keeps_hints_apart() -> None:
    plain = parse_user_agent(CHROME_WINDOWS)
    brave = parse_user_agent(CHROME_WINDOWS, ClientHints(ua='"Brave";v="126"'))

    assert plain.browser_name == "Chrome"
    assert brave.browser_name == "Brave"


def test_categories_cover_results() -> None:
    seen = {
        parse_user_agent(user_agent).device_category
        for user_agent in (
            CHROME_WINDOWS,
            CHROME_ANDROID_REDUCED,
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15",
            CLOUDFLARE_ALWAYS_ONLINE,
            "curl/8.5.0",
            "",
        )
    }

    assert seen == set(DEVICE_CATEGORIES)


# Strings for comparing the two ways of matching uap's rules, odd input included.
MATCHER_USER_AGENTS = [
    *(case.values[0] for case in REPORTED_USER_AGENTS if case.values[0]),
    *(case.values[0] for case in MODERN_USER_AGENTS),
    CLOUDFLARE_ALWAYS_ONLINE,
    LONG_DIGITS_IPHONE,
    "curl/8.5.0",
    "Dalvik/2.1.0 (Linux; U; Android 6.0.1; SM-T560 Build/MMB29K)",
    "Mozilla/5.0 (Windows NT 10.0) \x00\x7f\xe9\xff",
    "Mozilla/5.0 \udcff",
]


def parse_all(user_agents: list[str]) -> list[UserAgentFacts]:
    useragent._parse_cached.cache_clear()
    return [parse_user_agent(user_agent) for user_agent in user_agents]


@pytest.fixture
def fresh_matcher() -> Iterator[None]:
    """Rebuild lastseen's rule matcher and empty its cache before and after the test."""
    useragent._matcher.cache_clear()
    useragent._parse_cached.cache_clear()
    yield
    useragent._matcher.cache_clear()
    useragent._parse_cached.cache_clear()


def use_resolver(
    monkeypatch: pytest.MonkeyPatch,
    resolver_type: Callable[[ua_parser.Matchers], ua_parser.Resolver],
) -> list[ua_parser.Matchers]:
    """Make lastseen match through ``resolver_type``, as it does without ua-parser-rs.

    Returns a list that records the rules of every resolver built from then on.
    """
    built: list[ua_parser.Matchers] = []

    def build(matchers: ua_parser.Matchers) -> ua_parser.Resolver:
        built.append(matchers)
        return resolver_type(matchers)

    monkeypatch.setattr(ua_parser, "RegexResolver", None)
    monkeypatch.setattr(ua_parser, "BestAvailableResolver", build)
    if resolver_type is ua_parser.BasicResolver:
        monkeypatch.setattr(ua_parser, "BasicResolver", build)
    useragent._matcher.cache_clear()
    return built


@pytest.mark.usefixtures("fresh_matcher")
def test_resolver_path_same_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    extracted = parse_all(MATCHER_USER_AGENTS)
    built = use_resolver(monkeypatch, ua_parser.BestAvailableResolver)

    resolved = parse_all(MATCHER_USER_AGENTS)

    assert len(built) == 1
    assert resolved == extracted


@pytest.mark.usefixtures("fresh_matcher")
def test_renamed_extractors_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # A later ua-parser-rs may rename the extractors that lastseen calls directly.
    regex = pytest.importorskip("ua_parser.regex")
    extracted = parse_all(MATCHER_USER_AGENTS)
    useragent._matcher.cache_clear()

    class Renamed:
        def __init__(self, matchers: ua_parser.Matchers) -> None:
            self.matchers = matchers

    monkeypatch.setattr(regex, "Resolver", Renamed)
    resolved = parse_all(MATCHER_USER_AGENTS)

    assert resolved == extracted


@pytest.mark.usefixtures("fresh_matcher")
def test_basic_resolver_path_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    user_agents = [CHROME_WINDOWS, CHROME_ANDROID_REDUCED, SAFARI_MAC, CLOUDFLARE_ALWAYS_ONLINE]
    extracted = parse_all(user_agents)
    built = use_resolver(monkeypatch, ua_parser.BasicResolver)

    resolved = parse_all(user_agents)

    assert len(built) == 1
    assert resolved == extracted
