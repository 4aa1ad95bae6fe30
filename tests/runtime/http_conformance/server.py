"""A test server that writes exact bytes: raw sockets in its own OS threads, each connection run by a script.

It is deliberately not an HTTP library: a case says byte for byte what the server answers (or that it closes,
resets, stalls), and the server records every request it received (per connection, method, target, header
lines, body) so the case can assert what the client really sent, and how many times.
"""

from __future__ import annotations

import contextlib
import ssl as _ssl_module
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gevent import monkey

# the server runs in real threads with the standard library's blocking sockets, out of the clients' event loop
_socket = monkey.get_original("socket", "socket")
_start_thread = monkey.get_original("_thread", "start_new_thread")
_allocate_lock = monkey.get_original("_thread", "allocate_lock")
_SSLContext = monkey.get_original("ssl", "SSLContext")

import socket  # noqa: E402 - the constants only

READ_TIMEOUT = 3.0
"""How long a connection waits for the client's next bytes: a bound, never reached by a passing case."""


@dataclass
class Received:
    """One request as the server read it."""

    connection: int
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    raw_head: bytes
    chunked: bool = False

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Conn:
    """One accepted connection, as its script sees it."""

    def __init__(self, server: ScriptedServer, sock: _socket, index: int) -> None:
        self.server = server
        self.sock = sock
        self.index = index
        self.buffer = b""

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except OSError:
            return False
        if not data:
            return False
        self.buffer += data
        return True

    def read_head(self) -> bytes | None:
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        return head

    def read_request(self, body_limit: int | None = None) -> Received | None:
        """The next request, or None once the client closed; with ``body_limit``, only that much of the body
        is read (an early answer to an upload)."""
        head = self.read_head()
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
        received = Received(self.index, method, target, version, headers, b"", head)
        lowered = {k.lower(): v for k, v in headers}
        if lowered.get("transfer-encoding", "").lower() == "chunked":
            received.chunked = True
            received.body = self._read_chunked()
        elif "content-length" in lowered:
            length = int(lowered["content-length"])
            wanted = length if body_limit is None else min(length, body_limit)
            while len(self.buffer) < wanted and self._fill():
                pass
            received.body, self.buffer = self.buffer[:wanted], self.buffer[wanted:]
        with self.server.lock:
            self.server.received.append(received)
        return received

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in self.buffer:
                if not self._fill():
                    return body
            line, _, self.buffer = self.buffer.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(self.buffer) < size + 2:
                if not self._fill():
                    return body
            if size == 0:
                while not self.buffer.startswith(b"\r\n"):  # trailers, then the empty line
                    if b"\r\n" in self.buffer:
                        self.buffer = self.buffer.partition(b"\r\n")[2]
                    elif not self._fill():
                        return body
                self.buffer = self.buffer[2:]
                return body
            body += self.buffer[:size]
            self.buffer = self.buffer[size + 2 :]

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(data)

    def drain(self) -> None:
        """Reads until the client closes (what a server does before closing so its answer is not lost)."""
        while self._fill():
            self.buffer = b""

    def wait_closed(self) -> bool:
        """True once the client closed its end."""
        while self._fill():
            pass
        return True

    def reset(self) -> None:
        """Closes with a TCP RST instead of a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()


Script = Callable[[Conn], None]


@dataclass
class ScriptedServer:
    """Listens on 127.0.0.1; each accepted connection runs ``scripts[i]`` (the last one repeats)."""

    scripts: list[Script]
    tls: _ssl_module.SSLContext | None = None
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = _allocate_lock()
        self.listener = _socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        scheme = "https" if self.tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.stopped = False
        self.open: list[_socket] = []
        self.running = 0
        _start_thread(self._accept_loop, ())

    def _accept_loop(self) -> None:
        while not self.stopped:
            try:
                # socket.accept() would build a gevent socket (the module's name is patched): take the descriptor
                fd, _ = self.listener._accept()  # type: ignore[attr-defined]
                sock = _socket(self.listener.family, self.listener.type, self.listener.proto, fileno=fd)
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(READ_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                index = self.connections
                self.connections += 1
                self.open.append(sock)
                self.running += 1
            _start_thread(self._serve, (sock, index))
        self.listener.close()

    def _serve(self, sock: _socket, index: int) -> None:
        try:
            if self.tls is not None:
                sock = TLSStream(sock, self.tls)
            self.scripts[min(index, len(self.scripts) - 1)](Conn(self, sock, index))
        except OSError:
            pass  # the client went away: what some cases are about
        except BaseException as e:  # a broken script must fail its test, not vanish in a thread
            with self.lock:
                self.errors.append(e)
        finally:
            with contextlib.suppress(OSError):
                sock.close()
            with self.lock:
                self.running -= 1

    def stop(self) -> None:
        self.stopped = True
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class TLSStream:
    """Server-side TLS over a blocking socket through memory BIOs: the standard library's SSLSocket cannot be
    used in these threads once gevent has patched the ``ssl`` module's names."""

    def __init__(self, sock: Any, context: _ssl_module.SSLContext) -> None:
        self.sock = sock
        self.incoming = _ssl_module.MemoryBIO()
        self.outgoing = _ssl_module.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self._io(self.tls.do_handshake)

    def _io(self, operation: Callable[..., Any], *args: Any) -> Any:
        while True:
            try:
                result = operation(*args)
            except _ssl_module.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)
                if data:
                    self.incoming.write(data)
                else:
                    self.incoming.write_eof()
                continue
            self._flush()
            return result

    def _flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def recv(self, size: int) -> bytes:
        try:
            return bytes(self._io(self.tls.read, size))
        except (_ssl_module.SSLZeroReturnError, _ssl_module.SSLEOFError):
            return b""

    def sendall(self, data: bytes) -> None:
        self._io(self.tls.write, data)

    def setsockopt(self, *args: Any) -> None:
        self.sock.setsockopt(*args)

    def shutdown(self, how: int) -> None:
        self.sock.shutdown(how)

    def close(self) -> None:
        self.sock.close()


def make_tls_context(cert: str, key: str) -> _ssl_module.SSLContext:
    context = _SSLContext(_ssl_module.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


# ---- scripts the cases share ----


def answer(*responses: bytes, close: bool = False) -> Script:
    """Reads requests on one connection and answers them with ``responses`` in turn (the last repeats)."""

    def script(conn: Conn) -> None:
        i = 0
        while conn.read_request() is not None:
            conn.send(responses[min(i, len(responses) - 1)])
            i += 1
            if close:
                return

    return script


def ok(body: bytes = b"ok", extra: bytes = b"") -> bytes:
    """A plain 200 with a Content-Length and optional extra header lines."""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)
