"""Connection reuse and failure: keep-alive, a connection the server closed, and when a request may be sent
again (only an idempotent one, only when no byte of the answer came, once; ADR 0022)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.runtime.http_conformance.conftest import Client, assert_recorded, assert_successes
from tests.runtime.http_conformance.server import Conn, ScriptedServer, answer, ok
from tests.support.waiting import wait_until

Make = Callable[..., Client]
Serve = Callable[..., ScriptedServer]


def closed(server: ScriptedServer) -> None:
    """Waits until the server's scripts have ended, so their connections are closed on its side."""
    wait_until(lambda: server.running == 0, timeout=10, interval=0.002, message="the server to close")


def answer_then_close(conn: Conn) -> None:
    """Answers one request and closes, without saying Connection: close (an idle timeout of zero)."""
    if conn.read_request() is not None:
        conn.send(ok())


def read_then_close(conn: Conn) -> None:
    """Reads a request and closes without a byte of answer."""
    conn.read_request()


def read_then_reset(conn: Conn) -> None:
    if conn.read_request() is not None:
        conn.reset()


def test_keep_alive_one_connection(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    for _ in range(3):
        client.request("GET", "/k")
    assert server.connections == 1 and [r.connection for r in server.received] == [0, 0, 0]
    assert client.recorder.requests[("GET", "/k")] == 3 and not client.recorder.failures


@pytest.mark.parametrize(
    "response",
    [ok(extra=b"Connection: close\r\n"), b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"],
    ids=["connection-close", "http-1.0"],
)
def test_connection_not_reused_when_the_server_says_so(
    kind: str, serve: Serve, make_client: Make, response: bytes
) -> None:
    server = serve(answer(response, close=True))
    client = make_client(kind, server.url)
    client.request("GET", "/a")
    client.request("GET", "/b")
    assert [(r.connection, r.target) for r in server.received] == [(0, "/a"), (1, "/b")]
    assert not client.recorder.failures


def test_http_1_0_keep_alive_is_reused(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"))
    client = make_client(kind, server.url)
    client.request("GET", "/a")
    client.request("GET", "/b")
    assert server.connections == 1 and len(server.received) == 2
    assert_successes(client, 2)


def test_idle_connection_closed_by_the_server(kind: str, serve: Serve, make_client: Make) -> None:
    """The server closed the kept-alive connection between requests: the next GET goes out once, on a new one."""
    server = serve(answer_then_close)
    client = make_client(kind, server.url)
    client.request("GET", "/a")
    closed(server)  # what an idle timeout would have done
    client.request("GET", "/b")
    assert [(r.connection, r.target) for r in server.received] == [(0, "/a"), (1, "/b")]
    assert client.recorder.requests[("GET", "/b")] == 1 and not client.recorder.failures


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_post_after_the_server_closed_the_idle_connection_is_sent_once(
    kind: str, serve: Serve, make_client: Make, method: str
) -> None:
    server = serve(answer_then_close)
    client = make_client(kind, server.url)
    client.request("GET", "/a")
    closed(server)
    client.request(method, "/order", data=b"one order")
    orders = [r for r in server.received if r.method == method]
    assert len(orders) == 1 and orders[0].body == b"one order"
    assert client.recorder.requests[(method, "/order")] == 1 and not client.recorder.failures


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_post_read_then_dropped_is_never_sent_again(kind: str, serve: Serve, make_client: Make, method: str) -> None:
    """The server read the POST on a reused connection, then dropped it: it may have done the work, so no retry."""
    server = serve(lambda conn: (conn.read_request(), conn.send(ok()), conn.read_request()))
    client = make_client(kind, server.url)
    client.request("GET", "/a")
    client.request(method, "/order", data=b"once")
    assert [r.method for r in server.received] == ["GET", method]
    assert client.recorder.requests[(method, "/order")] == 1
    assert client.recorder.failures[(method, "/order")] == 1


def test_post_reset_after_reading_is_a_failure_sent_once(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(read_then_reset)
    client = make_client(kind, server.url)
    client.request("POST", "/order", data=b"x", name="order")
    assert [r.method for r in server.received] == ["POST"]
    assert_recorded(client, "POST", "order", ok=False)


def test_get_dropped_on_a_reused_connection_is_retried_once(kind: str, serve: Serve, make_client: Make) -> None:
    """A GET on a reused connection that died before any answer byte: FastHttpUser sends it again, once, on a
    new connection. requests (HttpUser) has no retries by default: the request fails (the clients differ)."""
    server = serve(lambda conn: (conn.read_request(), conn.send(ok()), conn.read_request()), answer(ok()))
    client = make_client(kind, server.url)
    client.request("GET", "/a")
    client.request("GET", "/b")
    if kind == "fast":
        assert [(r.connection, r.target) for r in server.received] == [(0, "/a"), (0, "/b"), (1, "/b")]
        assert not client.recorder.failures
    else:
        assert [(r.connection, r.target) for r in server.received] == [(0, "/a"), (0, "/b")]
        assert client.recorder.failures[("GET", "/b")] == 1
    assert client.recorder.requests[("GET", "/b")] == 1


def test_get_dropped_every_time_is_retried_only_once(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(lambda conn: (conn.read_request(), conn.send(ok()), conn.read_request()), read_then_close)
    client = make_client(kind, server.url)
    client.request("GET", "/a")
    client.request("GET", "/b")
    assert [r.target for r in server.received].count("/b") == (2 if kind == "fast" else 1)
    assert client.recorder.requests[("GET", "/b")] == 1 and client.recorder.failures[("GET", "/b")] == 1


def test_get_dropped_on_a_new_connection_is_not_retried(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(read_then_close)
    client = make_client(kind, server.url)
    client.request("GET", "/a")
    assert len(server.received) == 1
    assert_recorded(client, "GET", "/a", ok=False)


def test_get_answered_in_part_is_not_retried(kind: str, serve: Serve, make_client: Make) -> None:
    """Bytes of the answer arrived: the server has answered, the request is over, not sent again. For
    FastHttpUser a cut head is a failure; urllib3 (HttpUser) takes what came as the whole head (the clients differ)."""
    server = serve(
        lambda conn: (conn.read_request(), conn.send(ok()), conn.read_request(), conn.send(b"HTTP/1.1 200 OK\r\nCont")),
        answer(ok()),
    )
    client = make_client(kind, server.url)
    client.request("GET", "/a")
    client.request("GET", "/b")
    assert [r.target for r in server.received] == ["/a", "/b"]
    assert client.recorder.requests[("GET", "/b")] == 1
    assert client.recorder.failures[("GET", "/b")] == (1 if kind == "fast" else 0)


def test_early_413_to_a_large_upload_is_not_resent(kind: str, serve: Serve, make_client: Make) -> None:
    """The server answers 413 after the first bytes of an 8 MB body and closes: one POST, one failure, a 413."""

    def refuse(conn: Conn) -> None:
        conn.read_request(body_limit=1000)
        conn.send(b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo big!")
        conn.drain()

    server = serve(refuse)
    client = make_client(kind, server.url)
    response = client.request("POST", "/upload", data=b"u" * 8_000_000, name="upload")
    assert response.status_code == 413
    assert [r.method for r in server.received] == ["POST"] and server.connections == 1
    assert_recorded(client, "POST", "upload", ok=False, length=8)


def test_extra_bytes_after_the_body_end_the_connection(kind: str, serve: Serve, make_client: Make) -> None:
    """More bytes than Content-Length: the answer is its first Content-Length bytes and the connection is not
    used again (what follows is not an answer to the next request)."""
    server = serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", close=True))
    client = make_client(kind, server.url)
    first = client.request("GET", "/a")
    closed(server)
    second = client.request("GET", "/b")
    assert first.content == b"ok" and second.content == b"ok"
    assert [(r.connection, r.target) for r in server.received] == [(0, "/a"), (1, "/b")]
    assert_successes(client, 2)
