"""A real browser for the web UI's tests: Debian's Chromium driven by Playwright, never a downloaded browser.

Playwright's own browser download needs a network this project cannot assume, so tests launch the system's
`chromium` through `executable_path`. Where no Chromium is installed the browser tests are skipped with that reason;
CI installs it (`.ci/run`) and sets `HORDE_REQUIRE_BROWSER=1`, which turns the skip into a failure, so a broken
install can never pass as a green run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

# Without the background-networking flags Chromium keeps dialling Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("HORDE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but {reason}")
    pytest.skip(reason)


@contextmanager
def launched_browser() -> Iterator[Browser]:
    """One headless Chromium, closed on exit whatever the test did."""
    executable = chromium_path()
    if executable is None:
        _unavailable("no chromium on PATH (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def assert_not_blank(png: Path) -> None:
    """A screenshot of one flat colour means the page never rendered: fail rather than keep a white picture."""
    from PIL import Image

    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 1, f"{png} is blank: one colour only"
