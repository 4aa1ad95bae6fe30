"""The in-process fixtures: a small real HTTP server on 127.0.0.1 with the demo routes, and a counting recorder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.demo_server import CountingRecorder, DemoServer


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    server = DemoServer()
    yield server
    server.stop()


@pytest.fixture
def server(demo_server: DemoServer) -> DemoServer:
    demo_server.reset()
    return demo_server


@pytest.fixture
def recorder() -> CountingRecorder:
    return CountingRecorder()
