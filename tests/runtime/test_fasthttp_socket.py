"""HubSocket, FastHttpUser's plain connection, on real TCP sockets on 127.0.0.1: what gevent's socket did for
it (waiting for the kernel, the network timeout, a user killed mid-wait) it still does."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import gevent
import gevent.socket
import pytest
from gevent import GreenletExit

from horde.runtime.fasthttp._socket import HubSocket

Pair = tuple[HubSocket, gevent.socket.socket]


@pytest.fixture
def connect() -> Iterator[Callable[[float | None], Pair]]:
    """Makes (client HubSocket with the given timeout, the server's end of the same connection)."""
    made: list[Pair] = []

    def make(timeout: float | None) -> Pair:
        listener = gevent.socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        connected = gevent.socket.create_connection(listener.getsockname(), timeout=5)
        server, _ = listener.accept()
        listener.close()
        made.append((HubSocket.adopt(connected, timeout), server))
        return made[-1]

    yield make
    for client, server in made:
        client.close()
        server.close()


def test_a_send_larger_than_the_kernel_buffers_waits_and_delivers_every_byte(
    connect: Callable[[float | None], Pair],
) -> None:
    client, server = connect(None)
    payload = bytes(range(256)) * 32_768  # 8 MiB: far more than the send and receive buffers hold

    def read_all() -> bytes:
        parts = []
        missing = len(payload)
        while missing:
            gevent.sleep(0.001)  # a slow reader, so the sender finds the buffers full
            part = server.recv(65536)
            parts.append(part)
            missing -= len(part)
        return b"".join(parts)

    reader = gevent.spawn(read_all)
    client.sendall(payload)
    assert reader.get(timeout=60) == payload


def test_a_read_with_nothing_to_read_fails_after_the_timeout_and_the_connection_stays_usable(
    connect: Callable[[float | None], Pair],
) -> None:
    client, server = connect(0.2)
    with pytest.raises(TimeoutError, match="timed out"):
        client.recv(100)
    server.sendall(b"late")
    assert client.recv(100) == b"late"


def test_a_user_killed_while_waiting_leaves_the_connection_to_the_next(connect: Callable[[float | None], Pair]) -> None:
    client, server = connect(None)
    waiting = gevent.spawn(client.recv, 100)
    gevent.sleep(0)  # let it start waiting
    waiting.kill(block=True, timeout=10)
    assert isinstance(waiting.value, GreenletExit)
    server.sendall(b"next")
    assert gevent.spawn(client.recv, 100).get(timeout=10) == b"next"


def test_a_closed_peer_reads_as_the_end_and_a_send_to_it_fails_as_with_gevent(
    connect: Callable[[float | None], Pair],
) -> None:
    client, server = connect(0.2)
    server.close()
    assert client.recv(100) == b""
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        for _ in range(100):  # the first send may still be accepted by the kernel
            client.sendall(b"x" * 65536)


def test_a_read_after_close_fails_as_on_any_closed_socket(connect: Callable[[float | None], Pair]) -> None:
    client, server = connect(0.2)
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    assert server.recv(100) == b"GET / HTTP/1.1\r\n\r\n"
    client.close()
    with pytest.raises(OSError):
        client.recv(100)
