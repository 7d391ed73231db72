"""The sign-in and Active devices pages in a real headless Chromium, with JavaScript on.

The tests use Debian's Chromium at /usr/bin/chromium, so Playwright never downloads a
browser. Outside CI the module is skipped when that file is missing. In CI (``CI`` set) the
tests run, and they fail without it.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

import helpers
from helpers import PASSWORD, RunningServer, make_user, signed_in

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "needs Chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
LONDON = "81.2.69.142"
LINKOPING = "89.160.20.112"
EMAIL = "ada@example.com"

# Generous, because CI machines can be slow. expect() returns as soon as its condition holds.
expect.set_options(timeout=20_000)

# The element that has focus, as "TAG text": the text includes visually hidden words, which
# is what a screen reader announces for a button.
ACTIVE_ELEMENT = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    return element.tagName + " " + element.textContent.trim().replace(/\\s+/g, " ");
}"""


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class PageProblems:
    """Console errors, uncaught exceptions and requests to other hosts, seen by a page."""

    def __init__(self, page: Page, origin: str) -> None:
        self.errors: list[str] = []
        self.foreign_requests: list[str] = []
        page.on("console", lambda message: self._console(message.type, message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self._request(request.url, origin))

    def _console(self, kind: str, text: str) -> None:
        if kind == "error":
            self.errors.append(text)

    def _request(self, url: str, origin: str) -> None:
        if not url.startswith(origin + "/"):
            self.foreign_requests.append(url)


@pytest.fixture
def page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems = PageProblems(page, server.url)
    yield page
    context.close()
    # A blocked inline script or style (CSP) or a failed request shows up as a console error.
    assert problems.errors == []
    assert problems.foreign_requests == []


def sign_in(page: Page) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address or username").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/devices$"))


def api_status(device: helpers.Browser) -> int:
    """Return the status of a device's next API request: 401 once it is signed out."""
    return device.http.get("/v1/me/sessions/active").status_code


def other_devices(server: RunningServer) -> tuple[helpers.Browser, helpers.Browser]:
    windows = signed_in(
        server, EMAIL, user_agent=CHROME_WINDOWS, headers={"x-forwarded-for": LONDON}
    )
    iphone = signed_in(
        server, EMAIL, user_agent=SAFARI_IPHONE, headers={"x-forwarded-for": LINKOPING}
    )
    return windows, iphone


def focus_order(page: Page, limit: int = 60) -> list[str]:
    """Press Tab until focus comes back around, and return each focused element."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(ACTIVE_ELEMENT)
        if focused is None or focused in seen:
            return seen
        seen.append(focused)
    return seen


def tab_to(page: Page, element: str, limit: int = 60) -> None:
    """Press Tab until ``element`` ("TAG text") has focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(ACTIVE_ELEMENT) == element:
            return
    raise AssertionError(f"Tab never reached {element!r}")


def test_sign_in_shows_this_device(page: Page, browser: Browser, server: RunningServer) -> None:
    make_user(server, EMAIL)

    sign_in(page)

    current = page.locator(".device-current")
    expect(current).to_have_count(1)
    expect(current).to_contain_text("This device")
    major = browser.version.split(".")[0]
    # Debian's headless Chromium sends "HeadlessChrome/<major>.0.0.0" and the brand "Chromium".
    expect(current).to_contain_text(re.compile(rf"\b(?:HeadlessChrome|Chromium|Chrome) {major}\b"))
    expect(page.locator(".device")).to_have_count(1)


def test_other_devices_listed_with_cities(page: Page, server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, iphone = other_devices(server)

    sign_in(page)

    expect(page.locator(".device")).to_have_count(3)
    windows_card = page.locator(f"#session-{windows.session_id}")
    iphone_card = page.locator(f"#session-{iphone.session_id}")
    expect(windows_card).to_contain_text("Chrome 131")
    expect(windows_card).to_contain_text("London, United Kingdom")
    expect(windows_card).to_contain_text(LONDON)
    expect(iphone_card).to_contain_text("Safari 17.5")
    expect(iphone_card).to_contain_text("Linköping, Sweden")
    expect(iphone_card.locator("time")).to_have_attribute("title", re.compile(r" UTC$"))
    expect(page.locator(".device").first).to_have_class(re.compile(r"\bdevice-current\b"))


def test_sign_out_removes_card_in_place(page: Page, server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, iphone = other_devices(server)
    sign_in(page)

    page.get_by_role("button", name="Sign out of Chrome on Windows").click()

    expect(page.locator(f"#session-{windows.session_id}")).to_have_count(0)
    expect(page.locator("#notice")).to_have_text("Signed out of Chrome on Windows.")
    expect(page.locator(".device")).to_have_count(2)
    # The script updated the page: no redirect brought a query string.
    assert page.url == f"{server.url}/account/devices"
    assert api_status(windows) == 401
    assert api_status(iphone) == 200


def test_sign_out_others_after_dialog(page: Page, server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, iphone = other_devices(server)
    sign_in(page)
    dialog = page.locator("#confirm-dialog")

    page.get_by_role("button", name="Sign out of all other devices").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert api_status(windows) == 200

    page.get_by_role("button", name="Sign out of all other devices").click()
    dialog.get_by_role("button", name="Sign out of all other devices").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(".device")).to_have_count(1)
    expect(page.locator(".device-current")).to_have_count(1)
    expect(page.locator("#notice")).to_have_text("Signed out of all other devices.")
    expect(page.get_by_text("No other devices are signed in.")).to_be_visible()
    assert api_status(windows) == 401
    assert api_status(iphone) == 401


def test_forms_work_without_javascript(browser: Browser, server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, iphone = other_devices(server)
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    page = context.new_page()
    problems = PageProblems(page, server.url)

    sign_in(page)
    page.get_by_role("button", name="Sign out of Chrome on Windows").click()
    expect(page.locator("#notice")).to_have_text("Signed out of Chrome on Windows.")
    expect(page).to_have_url(re.compile(r"/account/devices\?signed_out="))
    expect(page.locator(".device")).to_have_count(2)
    assert api_status(windows) == 401

    # The confirmation is a page of its own, and only its button signs the others out.
    page.get_by_role("button", name="Sign out of all other devices").click()
    # A GET form without fields leaves an empty query ("?").
    expect(page).to_have_url(re.compile(r"/account/devices/sign-out-others\??$"))
    assert api_status(iphone) == 200
    page.get_by_role("button", name="Sign out of 1 other device").click()

    expect(page.locator("#notice")).to_have_text("Signed out of all other devices.")
    expect(page.locator(".device")).to_have_count(1)
    assert api_status(iphone) == 401

    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sign-in\?signed_out=1$"))
    expect(page.get_by_text("You signed out.")).to_be_visible()
    context.close()
    assert problems.errors == []
    assert problems.foreign_requests == []


def test_keyboard_only(page: Page, server: RunningServer) -> None:
    make_user(server, EMAIL)
    windows, iphone = other_devices(server)

    # Sign in: the identifier field has focus when the page opens.
    page.goto("/sign-in")
    expect(page.get_by_label("Email address or username")).to_be_focused()
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/account/devices$"))

    order = focus_order(page)
    buttons = [element for element in order if element.startswith("BUTTON ")]
    assert buttons == [
        "BUTTON Sign out",
        "BUTTON Sign out of Safari on iPhone",
        "BUTTON Sign out of Chrome on Windows",
        "BUTTON Sign out of all other devices",
    ]

    # Space on a focused button signs that device out, and focus stays on a control.
    page.reload()
    tab_to(page, "BUTTON Sign out of Safari on iPhone")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Space")
    expect(page.locator(f"#session-{iphone.session_id}")).to_have_count(0)
    assert page.evaluate(ACTIVE_ELEMENT) == "BUTTON Sign out of Chrome on Windows"
    assert api_status(iphone) == 401

    # Enter opens the dialog with focus on Cancel. Tab and then Enter confirm.
    tab_to(page, "BUTTON Sign out of all other devices")
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    assert page.evaluate(ACTIVE_ELEMENT) == "BUTTON Cancel"
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE_ELEMENT) == "BUTTON Sign out of all other devices"
    page.keyboard.press("Enter")

    expect(page.locator(".device")).to_have_count(1)
    assert api_status(windows) == 401


def test_screenshots_at_two_widths(page: Page, server: RunningServer) -> None:
    make_user(server, EMAIL)
    other_devices(server)
    sign_in(page)
    expect(page.locator(".device")).to_have_count(3)
    ARTIFACTS.mkdir(exist_ok=True)

    page.screenshot(path=ARTIFACTS / "devices-1280.png", full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=ARTIFACTS / "devices-360.png", full_page=True)

    # Nothing is wider than a small phone's screen, so nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for button in page.get_by_role("button", name=re.compile("^Sign out")).all():
        box = button.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 360
