"""The browser the web UI's tests rely on really renders a page served on 127.0.0.1 and takes a true screenshot."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import assert_not_blank

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PAGE = b"""<!doctype html><html><body style="background:#fff">
<h1 id="said">waiting</h1><button onclick="document.getElementById('said').textContent='pressed'">press</button>
</body></html>"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_browser_clicks_and_screenshots(browser: Browser, page_url: str, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(page_url)
    page.click("button")
    assert page.text_content("#said") == "pressed"
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot))
    assert_not_blank(shot)


def test_a_blank_screenshot_is_caught(tmp_path: Path) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (40, 30), "white").save(blank)
    with pytest.raises(AssertionError, match="blank"):
        assert_not_blank(blank)
