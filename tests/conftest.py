"""The whole test process runs fully gevent-patched, like every horde process (see ADR 0002).

Fixtures more than one test package uses live here; what tests import (helpers, classes) is in tests/support.
"""

from gevent import monkey

monkey.patch_all()

import subprocess  # noqa: E402 - after the patching, like every import of the suite
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import pytest  # noqa: E402

from tests.support.browser import launched_browser  # noqa: E402
from tests.support.processes import Target, running_target  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    """The demo target (`horde.cli.target`) in its own process, for the whole session."""
    with running_target() as t:
        yield t


@pytest.fixture
def fresh_target(target: Target) -> Target:
    """The demo target with its request counts reset."""
    target.reset()
    return target


@pytest.fixture(scope="session")
def browser() -> Iterator["Browser"]:
    """Headless Chromium for the web UI's tests, one per session (a launch costs about a second)."""
    with launched_browser() as b:
        yield b


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM paths), made for this run with openssl: the HTTP
    clients' TLS cases and the web UI's HTTPS share it."""
    folder: Path = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return str(cert), str(key)
