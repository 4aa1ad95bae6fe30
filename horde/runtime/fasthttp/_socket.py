"""A plain TCP connection driven straight on the gevent hub: the few calls a request makes, without the layers of
gevent's socket on each of them.

gevent's cooperative socket sends through four Python frames, a ``getsockopt`` system call and a clock read per
``sendall``, and waits for a readable socket through a new ``Timeout`` object (five more Python calls) per
wait. A load generator makes those calls for every request, so here they are one C call each when the kernel
is ready, and a wait is two watchers made once per connection, armed and disarmed, with the same timeout and
the same error as gevent's socket (ADR 0033). TLS connections stay gevent's sockets.
"""

from __future__ import annotations

import _socket
from typing import Any, Protocol

from gevent import get_hub
from gevent.hub import Waiter


class Connection(Protocol):
    """What reading and writing a request needs of a connection: a HubSocket, or gevent's (TLS) socket."""

    def recv(self, size: int, /) -> bytes: ...

    def sendall(self, data: bytes, /) -> Any: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


_READY = object()
_TIMED_OUT = object()


class HubSocket:
    """A connected, non-blocking TCP socket whose reads and writes wait on the hub, ``timeout`` seconds at most
    each (``socket.timeout``, as gevent's socket); only one greenlet uses it at a time."""

    __slots__ = ("_awaiting", "_hub", "_read", "_sock", "_timer", "_write")

    def __init__(self, sock: _socket.socket, timeout: float | None) -> None:
        self._sock = sock
        self._awaiting = False  # a request was sent and nothing read since
        sock.setblocking(False)
        self._hub = hub = get_hub()
        loop: Any = hub.loop
        self._read: Any = loop.io(sock.fileno(), 1)
        self._write: Any = None  # made on the first send that finds the kernel's buffer full: rare
        self._timer: Any = loop.timer(timeout) if timeout is not None else None

    @classmethod
    def adopt(cls, connected: Any, timeout: float | None) -> HubSocket:
        """Takes over the descriptor of ``connected`` (a connected gevent socket, left detached)."""
        family, kind, proto = connected.family, connected.type, connected.proto
        return cls(_socket.socket(family, kind, proto, connected.detach()), timeout)

    def fileno(self) -> int:
        return self._sock.fileno()

    def _wait(self, watcher: Any) -> None:
        waiter = Waiter(self._hub)
        watcher.start(waiter.switch, _READY)
        timer = self._timer
        if timer is not None:
            timer.start(waiter.switch, _TIMED_OUT, update=True)
        try:
            result = waiter.get()
        finally:
            watcher.stop()
            if timer is not None:
                timer.stop()
        if result is _TIMED_OUT:
            raise TimeoutError("timed out")

    def recv(self, size: int) -> bytes:
        sock = self._sock
        if self._awaiting:
            # the first read after a request: the answer is rarely there yet (four times in five against a local
            # nginx), and a read that finds nothing costs a system call and an exception; wait for it instead
            self._awaiting = False
            self._wait(self._read)
        while True:
            try:
                return sock.recv(size)
            except BlockingIOError:
                self._wait(self._read)

    def sendall(self, data: bytes) -> None:
        sock = self._sock
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            self._awaiting = True
            return
        view = memoryview(data)[sent:]
        if self._write is None:
            self._write = self._hub.loop.io(sock.fileno(), 2)
        while view:
            self._wait(self._write)
            try:
                view = view[sock.send(view) :]
            except BlockingIOError:
                continue
        self._awaiting = True

    def close(self) -> None:
        for watcher in (self._read, self._write, self._timer):
            if watcher is not None:
                watcher.close()
        self._read = self._write = self._timer = None
        self._awaiting = False  # a read after close fails as gevent's does (EBADF), not on a missing watcher
        self._sock.close()
