"""Browser tests' fixtures: one offline headless Chromium per session, watched pages, screenshots.

A pytest plugin (tests/conftest.py loads it): ask for `page` to get a fresh page that records
console errors and every request off its allowed origins, which it aborts. `allowed_origins` is
`file://` by default; a test module serving pages over HTTP overrides that fixture with its
`http://127.0.0.1:<port>`. Chromium is Debian's package (`make browser-deps`), driven by
Playwright's pip package; `playwright install` is never used (it downloads browsers). The network
is closed twice: Chromium resolves no host but 127.0.0.1, and each page aborts off-origin requests.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Request,
        Route,
        WebSocketRoute,
    )

MISSING_CHROMIUM = (
    "no `chromium` on the PATH: run make browser-deps (it installs Debian's chromium)"
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # tests and CI run as root
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
VIEWPORT = {"width": 1280, "height": 800}
_NO_NETWORK = ("data:", "blob:", "about:")  # URLs that never leave the page


def chromium_executable() -> str:
    """The system Chromium's path; the test fails (never skips) if it is not installed."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    return path


def on_allowed_origin(url: str, origins: Sequence[str]) -> bool:
    """Whether a URL is on one of the origins (`file://`, or `scheme://host:port`)."""
    if url.startswith(_NO_NETWORK):
        return True
    if url.startswith("file:"):
        return "file://" in origins
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}" in origins


@dataclass
class WatchedPage:
    """A page, the origins it may load from, and what it did: console errors, outside requests."""

    page: Page
    origins: tuple[str, ...]
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def open(self, path: Path) -> Page:
        """Load a local file and wait until it and everything it loads are done."""
        self.page.goto(path.resolve().as_uri(), wait_until="networkidle")
        return self.page

    def assert_offline_and_clean(self) -> None:
        """No console error and no request off the allowed origins."""
        assert self.console_errors == []
        assert self.outside_requests == []


def watch(context: BrowserContext, origins: Sequence[str]) -> WatchedPage:
    """A new page of the context that records and blocks every request off `origins`."""
    watched = WatchedPage(context.new_page(), tuple(origins))

    def block(route: Route) -> None:
        if on_allowed_origin(route.request.url, watched.origins):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def block_socket(socket: WebSocketRoute) -> None:
        if on_allowed_origin(socket.url, watched.origins):
            socket.connect_to_server()
        else:
            watched.outside_requests.append(socket.url)
            socket.close()

    context.route("**/*", block)
    context.route_web_socket(re.compile(".*"), block_socket)

    def record_request(request: Request) -> None:
        if not on_allowed_origin(request.url, watched.origins):
            watched.outside_requests.append(request.url)

    def record_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.console_errors.append(message.text)

    watched.page.on("request", record_request)
    watched.page.on("console", record_console)
    watched.page.on("pageerror", lambda error: watched.console_errors.append(str(error)))
    return watched


def save_screenshot(page: Page, folder: Path, name: str, full_page: bool = True) -> Path:
    """Save a PNG of the page (or of its viewport) as folder/<name>.png and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session, with a new empty profile (Playwright's)."""
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.fail(f"cannot import playwright ({error}): run make venv", pytrace=False)
    with sync_playwright() as playwright:
        # launch() gives Chromium a fresh temporary --user-data-dir and deletes it on close.
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_FLAGS)
        )
        yield chromium
        chromium.close()


@pytest.fixture
def allowed_origins() -> tuple[str, ...]:
    """Origins a page may load from; override with ("http://127.0.0.1:<port>",) to serve HTTP."""
    return ("file://",)


@pytest.fixture
def page(browser: Browser, allowed_origins: tuple[str, ...]) -> Iterator[WatchedPage]:
    """A fresh page in its own context, watched (see WatchedPage); closed after the test."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    try:
        yield watch(context, allowed_origins)
    finally:
        context.close()
