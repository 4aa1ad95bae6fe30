"""HTTP/1.x response framing: one response read off a socket, its body unchunked and decompressed.

Framing works on the raw head (``bytes.find`` on its lower-cased copy), never on parsed headers, so a response
the task does not look into costs no header dict.
"""

from __future__ import annotations

import socket
import zlib

_RECV_SIZE = 65536


class HTTPProtocolError(ValueError):
    """The server's answer is not a valid HTTP/1.x response."""


class _ConnectionClosed(HTTPProtocolError):
    """The server closed the connection before the first byte of a response."""


def _read_chunked(sock: socket.socket, buf: bytearray) -> bytes:
    body = bytearray()
    pos = 0
    while True:
        line_end = buf.find(b"\r\n", pos)
        while line_end < 0:
            data = sock.recv(_RECV_SIZE)
            if not data:
                raise HTTPProtocolError("connection closed inside a chunked body")
            buf += data
            line_end = buf.find(b"\r\n", pos)
        size_field = bytes(buf[pos:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise HTTPProtocolError(f"invalid chunk size {size_field!r}") from None
        pos = line_end + 2
        if size == 0:
            # trailer section: lines up to an empty one
            while True:
                line_end = buf.find(b"\r\n", pos)
                while line_end < 0:
                    data = sock.recv(_RECV_SIZE)
                    if not data:
                        raise HTTPProtocolError("connection closed inside a chunked body")
                    buf += data
                    line_end = buf.find(b"\r\n", pos)
                if line_end == pos:
                    return bytes(body)
                pos = line_end + 2
        end = pos + size
        while len(buf) < end + 2:
            data = sock.recv(_RECV_SIZE)
            if not data:
                raise HTTPProtocolError("connection closed inside a chunked body")
            buf += data
        body += buf[pos:end]
        pos = end + 2


def _read_response(sock: socket.socket, method: str) -> tuple[int, bytes, bytes, bytes, bool]:
    """Reads one response: (status, head up to its last CRLF, head lower-cased, body, reusable connection)."""
    data = sock.recv(_RECV_SIZE)
    if not data:
        raise _ConnectionClosed("connection closed by the server")
    while True:
        end = data.find(b"\r\n\r\n")
        while end < 0:
            more = sock.recv(_RECV_SIZE)
            if not more:
                raise HTTPProtocolError("connection closed before the end of the response headers")
            data += more
            end = data.find(b"\r\n\r\n")
        if data[:5] != b"HTTP/" or len(data) < 12:
            raise HTTPProtocolError(f"invalid status line {data[:40]!r}")
        try:
            status = int(data[9:12])
        except ValueError:
            raise HTTPProtocolError(f"invalid status line {data[:40]!r}") from None
        if status >= 200 or status == 101:
            break
        data = data[end + 4 :]  # an interim 1xx response: the final one follows
        if len(data) == 0:
            data = sock.recv(_RECV_SIZE)
            if not data:
                raise HTTPProtocolError("connection closed after an interim response")
    head = data[: end + 2]
    rest = data[end + 4 :]
    lower = head.lower()
    keep_alive = data[5:8] == b"1.1"
    i = lower.find(b"\r\nconnection:")
    if i >= 0:
        value = lower[i + 13 : lower.find(b"\r\n", i + 13)]
        if b"close" in value:
            keep_alive = False
        elif b"keep-alive" in value:
            keep_alive = True
    if method == "HEAD":
        # some servers (gevent's pywsgi among them) send a body anyway, maybe late: never reuse the connection
        return status, head, lower, b"", False
    if status in (204, 304) or status < 200:
        return status, head, lower, b"", keep_alive
    i = lower.find(b"\r\ntransfer-encoding:")
    if i >= 0 and b"chunked" in lower[i + 20 : lower.find(b"\r\n", i + 20)]:
        return status, head, lower, _read_chunked(sock, bytearray(rest)), keep_alive
    i = lower.find(b"\r\ncontent-length:")
    if i >= 0:
        try:
            length = int(lower[i + 17 : lower.find(b"\r\n", i + 17)])
        except ValueError:
            raise HTTPProtocolError("invalid Content-Length") from None
        missing = length - len(rest)
        if missing > 0:
            parts = [rest]
            while missing > 0:
                more = sock.recv(missing if missing < _RECV_SIZE else _RECV_SIZE)
                if not more:
                    raise HTTPProtocolError("connection closed before the end of the body")
                parts.append(more)
                missing -= len(more)
            rest = b"".join(parts)
        elif missing < 0:
            rest = rest[:length]
            keep_alive = False
        return status, head, lower, rest, keep_alive
    # no framing: the body runs until the server closes the connection
    parts = [rest]
    while True:
        more = sock.recv(_RECV_SIZE)
        if not more:
            break
        parts.append(more)
    return status, head, lower, b"".join(parts), False


def _decode_content(head: bytes, content: bytes) -> bytes:
    lower = head.lower()
    i = lower.find(b"\ncontent-encoding:")
    coding = lower[i + 18 : lower.find(b"\r\n", i + 18)].strip()
    if coding in (b"gzip", b"x-gzip"):
        return zlib.decompress(content, 16 + zlib.MAX_WBITS)
    if coding == b"deflate":
        try:
            return zlib.decompress(content)
        except zlib.error:
            return zlib.decompress(content, -zlib.MAX_WBITS)
    return content
