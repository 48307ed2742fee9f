"""tests/browser.py: a missing Chromium fails, pages are offline, outside requests are blocked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from browser import (
    MISSING_CHROMIUM,
    WatchedPage,
    chromium_executable,
    on_allowed_origin,
    save_screenshot,
)


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET with a small page and records its path on the server."""

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        body = b"<!doctype html><title>local</title><p>served</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server on a free port: its origin and the paths it was asked for."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.paths = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.paths  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_a_missing_chromium_fails_the_test_and_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="run make browser-deps") as caught:
        chromium_executable()
    assert str(caught.value) == MISSING_CHROMIUM


@pytest.mark.parametrize(
    ("url", "origins", "allowed"),
    [
        ("file:///tmp/report.html", ("file://",), True),
        ("file:///tmp/report.html", ("http://127.0.0.1:8000",), False),
        ("http://127.0.0.1:8000/api/v1/stats", ("http://127.0.0.1:8000",), True),
        ("http://127.0.0.1:8001/api/v1/stats", ("http://127.0.0.1:8000",), False),
        ("ws://127.0.0.1:8000/live", ("http://127.0.0.1:8000",), True),
        ("https://cdn.jsdelivr.net/npm/x.js", ("file://",), False),
        ("http://localhost:8000/", ("http://127.0.0.1:8000",), False),
        ("data:image/png;base64,AAAA", ("file://",), True),
    ],
)
def test_on_allowed_origin_compares_scheme_host_and_port(
    url: str, origins: tuple[str, ...], allowed: bool
) -> None:
    assert on_allowed_origin(url, origins) is allowed


def test_a_page_records_console_errors_and_blocks_outside_requests(
    page: WatchedPage, tmp_path: Path, local_server: tuple[str, list[str]]
) -> None:
    origin, served = local_server
    html = tmp_path / "page.html"
    html.write_text(
        f'<!doctype html><title>t</title><img src="{origin}/pixel.png">'
        '<link rel="stylesheet" href="https://cdn.example.org/style.css">'
        '<script>console.error("boom")</script><p>hello</p>'
    )
    page.open(html)
    assert page.page.inner_text("p") == "hello"
    assert sorted(page.outside_requests) == [
        f"{origin}/pixel.png",
        "https://cdn.example.org/style.css",
    ]
    assert served == []  # blocked by the page, not merely unresolved
    assert "boom" in page.console_errors
    shot = save_screenshot(page.page, tmp_path / "shots", "page")
    assert shot == tmp_path / "shots" / "page.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class TestAPageServedOverHttp:
    """How a module serving pages (e.g. gunicorn on a free port) reuses the page fixture."""

    @pytest.fixture
    def allowed_origins(self, local_server: tuple[str, list[str]]) -> tuple[str, ...]:
        return (local_server[0],)

    def test_loads_from_its_allowed_origin(
        self, page: WatchedPage, local_server: tuple[str, list[str]]
    ) -> None:
        origin, served = local_server
        page.page.goto(f"{origin}/index.html", wait_until="networkidle")
        assert page.page.inner_text("p") == "served"
        page.assert_offline_and_clean()
        assert served[0] == "/index.html"
