"""Framing: what the server writes, byte for byte, and what each client makes of it.

Every case: one GET, which the server receives once; one request event under GET and the name asked for;
success with the body's length, or a failure that comes at once (well before the network timeout) when the bytes
can never become a valid response. Where the two clients differ the expectation says so: HttpUser is requests
over http.client, which is lenient where FastHttpUser is strict (ADR 0022).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.runtime.http_conformance.conftest import Client, assert_recorded
from tests.runtime.http_conformance.server import Conn, ScriptedServer


@dataclass
class Outcome:
    status: int = 200
    content: bytes | None = None  # None: a failure
    error: str | None = None  # part of the failure's message


def fails(error: str | None = None, status: int = 0) -> Outcome:
    return Outcome(status=status, content=None, error=error)


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

# (case id, bytes the server writes, then whether it keeps the connection open, fast outcome, http outcome)
CASES: list[tuple[str, bytes, bool, Outcome, Outcome | None]] = [
    ("content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", True, Outcome(content=b"hello"), None),
    ("chunked", CHUNKED + b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", True, Outcome(content=b"hello world"), None),
    (
        "chunked-extensions-and-trailers",
        CHUNKED + b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
        True,
        Outcome(content=b"hello"),
        None,
    ),
    ("chunked-uppercase-hex", CHUNKED + b"A\r\n0123456789\r\n0\r\n\r\n", True, Outcome(content=b"0123456789"), None),
    (
        "until-close",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end",
        False,
        Outcome(content=b"to the end"),
        None,
    ),
    ("http-1.0", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False, Outcome(content=b"ok"), None),
    (
        "100-continue-first",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        True,
        Outcome(content=b"ok"),
        None,
    ),
    (
        "two-interim-responses",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        True,
        Outcome(content=b"ok"),
        Outcome(status=103, content=b""),  # http.client skips only 100 Continue: a 103 is the answer
    ),
    ("204-no-body", b"HTTP/1.1 204 No Content\r\n\r\n", True, Outcome(status=204, content=b""), None),
    ("304-no-body", b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n', True, Outcome(status=304, content=b""), None),
    ("no-reason-phrase", b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", True, Outcome(content=b"ok"), None),
    ("empty-reason-phrase", b"HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok", True, Outcome(content=b"ok"), None),
    (
        "same-length-twice",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
        True,
        Outcome(content=b"ok"),
        None,
    ),
    (
        "large-head",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 20000 + b"\r\nContent-Length: 2\r\n\r\nok",
        True,
        Outcome(content=b"ok"),
        None,
    ),
    (
        "large-chunked-body",
        CHUNKED + b"".join(b"4000\r\n" + bytes([65 + i]) * 0x4000 + b"\r\n" for i in range(20)) + b"0\r\n\r\n",
        True,
        Outcome(content=b"".join(bytes([65 + i]) * 0x4000 for i in range(20))),
        None,
    ),
    (
        "status-599",
        b"HTTP/1.1 599 Odd\r\nContent-Length: 3\r\n\r\nodd",
        True,
        Outcome(status=599, content=b"odd"),
        None,
    ),
    ("malformed-status-line", b"HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True, fails("status line"), fails()),
    ("non-numeric-status", b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok", True, fails("status line"), fails()),
    ("not-http-at-all", b"SSH-2.0-OpenSSH_9.2\r\n", True, fails("status line"), fails()),
    ("garbage-first-bytes", b"<html>oops</html>", True, fails("status line"), fails()),
    (
        "header-line-without-colon",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nok\r\n",
        True,
        fails("header line"),
        fails(),
    ),
    (
        "obs-fold",
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
        True,
        fails("header line"),
        Outcome(content=b"ok"),
    ),
    ("space-before-colon", b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", True, fails("header line"), None),
    ("bare-lf-lines", b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", True, fails("status line"), Outcome(content=b"ok")),
    (
        "conflicting-lengths",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
        True,
        fails("conflicting"),
        fails(),
    ),
    (
        "chunked-and-length",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        True,
        fails("both Transfer-Encoding and Content-Length"),
        Outcome(content=b"ok"),
    ),
    ("invalid-length", b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\nok", True, fails("Content-Length"), fails()),
    ("negative-length", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok", True, fails("Content-Length"), fails()),
    ("invalid-chunk-size", CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n", True, fails("chunk size"), fails()),
    ("chunk-longer-than-its-size", CHUNKED + b"2\r\nhello\r\n0\r\n\r\n", True, fails("chunk"), fails()),
    ("closed-mid-body", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", False, fails("closed"), fails()),
    ("closed-mid-chunk", CHUNKED + b"a\r\nhalf", False, fails("closed inside a chunked body"), fails()),
    (
        "closed-mid-head",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        False,
        fails("end of the response headers"),
        Outcome(content=b""),  # urllib3 logs the broken head and goes on
    ),
    (
        "unsupported-transfer-coding",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
        True,
        fails("Transfer-Encoding"),
        None,
    ),
]


def script_for(data: bytes, keep_open: bool) -> Callable[[Conn], None]:
    def script(conn: Conn) -> None:
        if conn.read_request() is None:
            return
        conn.send(data)
        if keep_open:
            conn.wait_closed()  # the connection stays open: a client that waits for more bytes waits in vain

    return script


@pytest.mark.parametrize(("data", "keep_open", "fast", "http"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_framing(
    kind: str,
    serve: Callable[..., ScriptedServer],
    make_client: Callable[..., Client],
    data: bytes,
    keep_open: bool,
    fast: Outcome,
    http: Outcome | None,
) -> None:
    expected = fast if kind == "fast" or http is None else http
    server = serve(script_for(data, keep_open))
    # A long network timeout, so a failure that waited for it cannot pass for one that came at once.
    client = make_client(kind, server.url, network_timeout=5.0)
    response, elapsed = client.timed("GET", "/framing", name="framing")
    assert [(r.method, r.target) for r in server.received] == [("GET", "/framing")]
    if expected.content is not None:
        assert (response.status_code, response.content) == (expected.status, expected.content)
        assert_recorded(client, "GET", "framing", ok=expected.status < 400, length=len(expected.content))
    else:
        assert response.status_code == expected.status
        assert_recorded(client, "GET", "framing", ok=False, error=expected.error if kind == "fast" else None)
        if kind == "fast":
            assert elapsed < 2.5, f"the failure took {elapsed:.2f} s: it waited for the network timeout"
