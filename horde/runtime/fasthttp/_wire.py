"""HTTP/1.x response framing: one response read off a socket, strictly, its body unchunked and decompressed.

Framing works on the raw head (``bytes.find`` on its lower-cased copy), never on parsed headers, so a response
the task does not look into costs no header dict. The head is checked against the grammar in one regular
expression once it is complete, and the lines received so far are checked while it is not: a response that can
no longer become valid fails at once instead of holding the user until the network timeout (ADR 0022).
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from horde.runtime.fasthttp._socket import Connection

_RECV_SIZE = 65536

#: RFC 9112 section 4 and 5: status line, then field lines "token: value" (no obs-fold, no bare CR or LF)
_STATUS_LINE = rb"HTTP/1\.[01] [0-9]{3}(?: [^\r\n]*)?\r\n"
_FIELD_LINE = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n]*\r\n"
_HEAD = re.compile(_STATUS_LINE + b"(?:" + _FIELD_LINE + b")*")
#: the start of a status line, up to its code: what the first bytes of a response must be a prefix of
_PARTIAL_STATUS = re.compile(rb"H(?:T(?:T(?:P(?:/(?:1(?:\.(?:[01](?: (?:[0-9](?:[0-9](?:[0-9])?)?)?)?)?)?)?)?)?)?)?")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
#: heads already checked against `_HEAD`: a server sends the same head again and again (until its Date changes),
#: and a dictionary lookup costs a tenth of the regular expression (ADR 0022)
_valid_heads: dict[bytes, None] = {}
_VALID_HEADS_KEPT = 256


class HTTPProtocolError(ValueError):
    """The server's answer is not a valid HTTP/1.x response."""


class _ConnectionClosed(HTTPProtocolError):
    """The server closed the connection before the first byte of a response."""


def _check_partial_head(data: bytes) -> None:
    """Fails now if ``data``, the start of a head whose end has not arrived, can no longer become a valid one."""
    line_end = data.find(b"\r\n")
    if line_end < 0:
        if b"\n" in data or _PARTIAL_STATUS.fullmatch(data[:12]) is None or data[12:13] not in (b"", b" ", b"\r"):
            raise HTTPProtocolError(f"invalid status line {data[:40]!r}")
        return
    complete = data[: data.rfind(b"\r\n") + 2]
    if _HEAD.fullmatch(complete) is None:
        if _HEAD.fullmatch(data[: line_end + 2]) is None:
            raise HTTPProtocolError(f"invalid status line {data[:line_end][:40]!r}")
        raise HTTPProtocolError(f"invalid header line in {complete[:200]!r}")


def _read_head(sock: Connection) -> tuple[int, bytes, bytes, bytes]:
    """Reads a final response's head: (status, head up to its last CRLF, head lower-cased, bytes after it)."""
    try:
        data = sock.recv(_RECV_SIZE)
    except ConnectionResetError:
        data = b""
    if not data:
        raise _ConnectionClosed("connection closed by the server before any response")
    while True:
        end = data.find(b"\r\n\r\n")
        while end < 0:
            _check_partial_head(data)
            more = sock.recv(_RECV_SIZE)
            if not more:
                raise HTTPProtocolError("connection closed before the end of the response headers")
            data += more
            end = data.find(b"\r\n\r\n")
        head = data[: end + 2]
        if head not in _valid_heads:
            if _HEAD.fullmatch(head) is None:
                _check_partial_head(head)
                raise HTTPProtocolError(f"invalid response head {head[:200]!r}")
            if len(_valid_heads) >= _VALID_HEADS_KEPT:
                _valid_heads.clear()
            _valid_heads[head] = None
        status = int(data[9:12])
        if status >= 200 or status == 101:
            return status, head, head.lower(), data[end + 4 :]
        data = data[end + 4 :]  # an interim 1xx response: the final one follows
        if not data:
            data = sock.recv(_RECV_SIZE)
            if not data:
                raise HTTPProtocolError("connection closed after an interim response")


def _field(lower: bytes, name: bytes) -> bytes | None:
    """The value of field ``name`` (lower-case, with its leading CRLF and colon) or None; repeats are an error
    unless they agree, as RFC 9112 section 6.3 asks of Content-Length."""
    i = lower.find(name)
    if i < 0:
        return None
    start = i + len(name)
    value = lower[start : lower.find(b"\r\n", start)].strip()
    j = lower.find(name, start)
    while j >= 0:
        start = j + len(name)
        if lower[start : lower.find(b"\r\n", start)].strip() != value:
            raise HTTPProtocolError(f"conflicting {name[2:-1].decode()} fields")
        j = lower.find(name, start)
    return value


def _read_body(
    sock: Connection, method: str, status: int, head: bytes, lower: bytes, rest: bytes
) -> tuple[bytes, bool]:
    """Reads the body that follows ``head``: (body as sent, connection reusable)."""
    keep_alive = head[5:8] == b"1.1"
    i = lower.find(b"\r\nconnection:")
    if i >= 0:
        value = lower[i + 13 : lower.find(b"\r\n", i + 13)]
        if b"close" in value:
            keep_alive = False
        elif b"keep-alive" in value:
            keep_alive = True
    if method == "HEAD":
        # some servers (gevent's pywsgi among them) send a body anyway, maybe late: never reuse the connection
        return b"", False
    if status in (204, 304) or status < 200:
        return b"", keep_alive and not rest
    i = lower.find(b"\r\ncontent-length:")
    if b"\r\ntransfer-encoding:" in lower:
        if i >= 0:
            raise HTTPProtocolError("both Transfer-Encoding and Content-Length in the response")
        coding = _field(lower, b"\r\ntransfer-encoding:")
        if coding != b"chunked":
            raise HTTPProtocolError(f"unsupported Transfer-Encoding {coding!r}")
        return _read_chunked(sock, bytearray(rest)), keep_alive
    if i >= 0:
        j = lower.find(b"\r\n", i + 17)
        value = lower[i + 17 : j].strip()
        if lower.find(b"\r\ncontent-length:", j) >= 0:
            value = _field(lower, b"\r\ncontent-length:") or b""
        if not value.isdigit():
            raise HTTPProtocolError(f"invalid Content-Length {value.decode('latin-1')!r}")
        length = int(value)
        missing = length - len(rest)
        if missing > 0:
            parts = [rest]
            while missing > 0:
                more = sock.recv(missing if missing < _RECV_SIZE else _RECV_SIZE)
                if not more:
                    raise HTTPProtocolError(f"connection closed {missing} bytes before the end of the body")
                parts.append(more)
                missing -= len(more)
            return b"".join(parts), keep_alive
        if missing < 0:
            return rest[:length], False  # more than announced: the connection is out of step
        return rest, keep_alive
    # no framing: the body runs until the server closes the connection
    parts = [rest]
    while True:
        more = sock.recv(_RECV_SIZE)
        if not more:
            break
        parts.append(more)
    return b"".join(parts), False


def _read_chunked(sock: Connection, buf: bytearray) -> bytes:
    body = bytearray()
    pos = 0
    while True:
        line_end = buf.find(b"\r\n", pos)
        while line_end < 0:
            if len(buf) - pos > 4096:
                raise HTTPProtocolError("chunk size line too long")
            data = sock.recv(_RECV_SIZE)
            if not data:
                raise HTTPProtocolError("connection closed inside a chunked body")
            buf += data
            line_end = buf.find(b"\r\n", pos)
        size_field = bytes(buf[pos:line_end]).split(b";", 1)[0].strip()
        if _CHUNK_SIZE.fullmatch(size_field) is None:
            raise HTTPProtocolError(f"invalid chunk size {size_field[:20]!r}")
        size = int(size_field, 16)
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
        if buf[end : end + 2] != b"\r\n":
            raise HTTPProtocolError("chunk data longer than its size")
        body += buf[pos:end]
        pos = end + 2


def _decode_content(lower: bytes, content: bytes) -> bytes:
    """The body with its Content-Encoding undone; an empty body stays empty whatever the header says (a HEAD,
    204 or 304 answer carries the encoding of the representation it has no bytes of)."""
    if not content:
        return content
    coding = _field(lower, b"\r\ncontent-encoding:") or b""
    try:
        if coding in (b"gzip", b"x-gzip"):
            return zlib.decompress(content, 16 + zlib.MAX_WBITS)
        if coding == b"deflate":
            try:
                return zlib.decompress(content)
            except zlib.error:
                return zlib.decompress(content, -zlib.MAX_WBITS)
        if coding == b"br":
            import brotli  # type: ignore[import-untyped]  # geventhttpclient's dependency, loaded on first use

            return bytes(brotli.decompress(content))
    except Exception as e:  # zlib.error, brotli.error: the body does not match its declared encoding
        raise HTTPProtocolError(f"cannot decode a {coding.decode('latin-1')} body: {e}") from None
    if coding in (b"", b"identity"):
        return content
    raise HTTPProtocolError(f"unsupported Content-Encoding {coding.decode('latin-1')!r}")
