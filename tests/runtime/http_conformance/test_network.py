"""Timeouts, refused connections, TLS with a certificate made for the test, and FastHttpUser's connection
attributes as Locust's: concurrency, client_pool, proxy_host/proxy_port, max_retries, ssl_context_factory."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable

import gevent
import pytest
from geventhttpclient.client import HTTPClientPool

from horde.runtime.fasthttp._pool import Connections
from tests.runtime.http_conformance.conftest import TIMEOUT, Client, assert_recorded, assert_successes
from tests.runtime.http_conformance.server import Conn, ScriptedServer, TLSStream, answer, make_tls_context, ok

Make = Callable[..., Client]
Serve = Callable[..., ScriptedServer]


def never_answer(conn: Conn) -> None:
    conn.read_request()
    conn.wait_closed()


def test_silent_server_times_out_once(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(never_answer)
    client = make_client(kind, server.url)
    _, elapsed = client.timed("GET", "/slow")
    assert TIMEOUT * 0.9 < elapsed < TIMEOUT * 8  # a retry shows in the count below, not here
    assert len(server.received) == 1
    assert_recorded(client, "GET", "/slow", ok=False)


def test_body_stalling_past_the_timeout_fails(kind: str, serve: Serve, make_client: Make) -> None:
    def stall(conn: Conn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        conn.wait_closed()

    server = serve(stall)
    client = make_client(kind, server.url)
    client.request("GET", "/stall")
    assert len(server.received) == 1
    assert_recorded(client, "GET", "/stall", ok=False)


def test_refused_connection_is_a_failure(kind: str, make_client: Make) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    client = make_client(kind, f"http://127.0.0.1:{port}", connection_timeout=5.0, network_timeout=5.0)
    response, elapsed = client.timed("GET", "/", name="refused", **({"timeout": 5.0} if kind == "http" else {}))
    assert response.status_code == 0 and elapsed < 2.5  # at once, not after the 5 s timeout
    assert_recorded(client, "GET", "refused", ok=False, length=0)


def test_tls_request_and_reuse(kind: str, serve: Serve, make_client: Make, certificate: tuple[str, str]) -> None:
    server = serve(answer(ok(b"secure")), tls=make_tls_context(*certificate))
    client = make_client(kind, server.url)
    for _ in range(3):
        assert client.request("GET", "/s").content == b"secure"
    client.request("POST", "/s", data=b"x")
    assert server.connections == 1 and len(server.received) == 4
    assert client.recorder.requests[("GET", "/s")] == 3 and not client.recorder.failures


def test_tls_unverified_certificate_fails_when_verifying(
    kind: str, serve: Serve, make_client: Make, certificate: tuple[str, str]
) -> None:
    server = serve(answer(ok()), tls=make_tls_context(*certificate))
    if kind == "fast":
        client = make_client(kind, server.url, insecure=False)
        client.request("GET", "/s")
    else:
        client = make_client(kind, server.url)
        client.request("GET", "/s", verify=True)
    assert server.received == []
    assert_recorded(client, "GET", "/s", ok=False, error="certificate")


def test_ssl_context_factory_is_used(serve: Serve, make_client: Make, certificate: tuple[str, str]) -> None:
    """FastHttpUser only: a context that trusts the test's certificate verifies it."""
    server = serve(answer(ok()), tls=make_tls_context(*certificate))
    client = make_client(
        "fast",
        server.url,
        insecure=False,
        ssl_context_factory=staticmethod(lambda: ssl.create_default_context(cafile=certificate[0])),
    )
    client.request("GET", "/s")
    assert len(server.received) == 1
    assert_recorded(client, "GET", "/s", ok=True)


def test_https_redirect_to_http_drops_authorization(
    kind: str, serve: Serve, make_client: Make, certificate: tuple[str, str]
) -> None:
    plain = serve(answer(ok()))
    secure = serve(
        answer(b"HTTP/1.1 302 Found\r\nLocation: %s/x\r\nContent-Length: 0\r\n\r\n" % plain.url.encode()),
        tls=make_tls_context(*certificate),
    )
    client = make_client(kind, secure.url)
    client.request("GET", "/start", auth=("u", "p"))
    assert secure.received[0].header("Authorization") and plain.received[0].header("Authorization") is None
    assert_successes(client, 1)


def test_max_retries(serve: Serve, make_client: Make) -> None:
    """FastHttpUser only: an idempotent request is sent up to 1 + max_retries times while no answer comes;
    a POST still once."""

    def drop(conn: Conn) -> None:
        conn.read_request()

    server = serve(drop)
    client = make_client("fast", server.url, max_retries=2)
    client.request("GET", "/flaky")
    client.request("POST", "/flaky")
    assert [r.method for r in server.received] == ["GET", "GET", "GET", "POST"]
    assert client.recorder.failures == {("GET", "/flaky"): 1, ("POST", "/flaky"): 1}


def test_concurrency_caps_connections_per_origin(serve: Serve, make_client: Make) -> None:
    """FastHttpUser only: greenlets of one user share at most ``concurrency`` connections to an origin."""

    def slow(conn: Conn) -> None:
        while conn.read_request() is not None:
            time.sleep(0.05)
            conn.send(ok())

    server = serve(slow)
    client = make_client("fast", server.url, concurrency=2)
    gevent.joinall([gevent.spawn(client.request, "GET", f"/{i}") for i in range(6)], timeout=10)
    assert server.connections == 2 and len(server.received) == 6
    assert client.recorder.requests and not client.recorder.failures


def test_client_pool_shares_connections_between_users(serve: Serve, make_client: Make) -> None:
    """FastHttpUser only: users whose class names one client_pool use the same connections (the pool is the
    object Locust's users name, geventhttpclient's; its concurrency is the cap, as in Locust)."""
    server = serve(answer(ok()))
    shared = HTTPClientPool(concurrency=1)
    first = make_client("fast", server.url, client_pool=shared)
    second = make_client("fast", server.url, client_pool=shared)
    first.request("GET", "/a")
    second.request("GET", "/b")
    first.request("GET", "/c")
    assert server.connections == 1 and [r.connection for r in server.received] == [0, 0, 0]
    assert isinstance(first.client._pool.connections, Connections)
    assert first.client._pool.connections is second.client._pool.connections
    assert first.client._pool.connections.slots.counter == 1
    assert_successes(first, 2)
    assert_successes(second, 1)


def test_plain_http_through_a_proxy(serve: Serve, make_client: Make) -> None:
    """FastHttpUser only: the proxy receives the request in absolute form, Host naming the origin."""
    proxy = serve(answer(ok(b"via proxy")))
    client = make_client("fast", "http://origin.invalid:8000", proxy_host="127.0.0.1", proxy_port=proxy.port)
    assert client.request("GET", "/p?q=1").content == b"via proxy"
    (received,) = proxy.received
    assert received.target == "http://origin.invalid:8000/p?q=1" and received.header("Host") == "origin.invalid:8000"
    assert_recorded(client, "GET", "/p?q=1", ok=True)


def test_https_through_a_proxy_tunnel(serve: Serve, make_client: Make, certificate: tuple[str, str]) -> None:
    """FastHttpUser only: CONNECT to the proxy, then TLS to the origin through the tunnel."""
    context = make_tls_context(*certificate)

    def tunnel(conn: Conn) -> None:
        connect = conn.read_request()
        assert connect is not None and connect.method == "CONNECT"
        conn.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
        inner = Conn(conn.server, TLSStream(conn.sock, context), conn.index)
        while inner.read_request() is not None:
            inner.send(ok(b"tunnelled"))

    proxy = serve(tunnel)
    client = make_client("fast", "https://127.0.0.1:9", proxy_host="127.0.0.1", proxy_port=proxy.port)
    assert client.request("GET", "/t").content == b"tunnelled"
    connect, inner = proxy.received
    assert (connect.method, connect.target) == ("CONNECT", "127.0.0.1:9")
    assert (inner.method, inner.target) == ("GET", "/t")
    assert_recorded(client, "GET", "/t", ok=True)


@pytest.mark.parametrize("answer_status", [407, 502])
def test_proxy_refusing_the_tunnel_is_a_failure(serve: Serve, make_client: Make, answer_status: int) -> None:
    proxy = serve(answer(b"HTTP/1.1 %d No\r\nContent-Length: 0\r\n\r\n" % answer_status))
    client = make_client("fast", "https://127.0.0.1:9", proxy_host="127.0.0.1", proxy_port=proxy.port)
    client.request("GET", "/t")
    assert [r.method for r in proxy.received] == ["CONNECT"]
    assert_recorded(client, "GET", "/t", ok=False, error="refused the tunnel")
