"""The conformance cases' fixtures: scripted servers (stopped and checked after each case), and a client of
either kind (``fast``: FastHttpUser, ``http``: the requests-based HttpUser) whose statistics are recorded."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from horde import Environment, Events, FastHttpUser, HttpUser, task
from tests.runtime.http_conformance.server import Script, ScriptedServer
from tests.support.demo_server import CountingRecorder
from tests.support.waiting import wait_until

#: the network timeout of every case's client: short, so a case that must not wait for it shows it did not
TIMEOUT = 0.5


class Client:
    """A user of the given kind and its recorded statistics; ``request`` is the user's own client call."""

    def __init__(self, kind: str, host: str, **attributes: Any) -> None:
        self.kind = kind
        base: type = FastHttpUser if kind == "fast" else HttpUser
        if kind == "fast":
            attributes = {"network_timeout": TIMEOUT, "connection_timeout": TIMEOUT, **attributes}
        cls = type("Case", (base,), {"host": host, "tasks": [task(lambda user: None)], **attributes})
        self.recorder = CountingRecorder()
        self.recorder.keep_calls = True
        self.user = cls(Environment([cls], Events(), host=host, stats=self.recorder))
        self.client = self.user.client

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        if self.kind == "http":
            kwargs.setdefault("timeout", TIMEOUT)
            kwargs.setdefault("verify", False)
            if method == "HEAD":
                kwargs.setdefault("allow_redirects", True)
        return self.client.request(method, url, **kwargs)

    def timed(self, method: str, url: str, **kwargs: Any) -> tuple[Any, float]:
        start = time.perf_counter()
        response = self.request(method, url, **kwargs)
        return response, time.perf_counter() - start

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self.recorder.calls

    def only_call(self) -> dict[str, Any]:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]

    def close(self) -> None:
        self.client.close()


def assert_recorded(
    client: Client, method: str, name: str, ok: bool, length: int | None = None, error: str | None = None
) -> dict[str, Any]:
    """The one request event: its method, name, outcome, length and (for a failure) a part of its message."""
    call = client.only_call()
    assert (call["request_type"], call["name"]) == (method, name)
    assert (call["exception"] is None) is ok, call["exception"]
    if length is not None:
        assert call["response_length"] == length
    if error is not None:
        assert error.lower() in str(call["exception"]).lower(), call["exception"]
    return call


def assert_successes(client: Client, count: int) -> None:
    """Exactly ``count`` request events, every one a success."""
    assert len(client.calls) == count, client.calls
    assert all(call["exception"] is None for call in client.calls), [c["exception"] for c in client.calls]


@pytest.fixture(autouse=True)
def _no_insecure_warning() -> None:
    """HttpUser's cases talk to the test's self-signed server unverified on purpose."""
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


@pytest.fixture(params=["fast", "http"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedServer]]:
    """Starts a scripted server; after the case every server stops, and no script may have raised."""
    servers: list[ScriptedServer] = []

    def start(*scripts: Script, tls: Any = None) -> ScriptedServer:
        server = ScriptedServer(list(scripts), tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        wait_until(lambda s=server: s.running == 0, timeout=10, interval=0.002, message="the scripts to end")
        assert not server.errors, server.errors


@pytest.fixture
def make_client() -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(kind: str, host: str, **attributes: Any) -> Client:
        client = Client(kind, host, **attributes)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
