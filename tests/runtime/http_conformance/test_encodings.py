"""Content codings: bodies decoded as announced, empty bodies left alone whatever they announce, and the
Accept-Encoding each client sends by default."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import brotli  # type: ignore[import-untyped]
import pytest

from tests.runtime.http_conformance.conftest import Client, assert_recorded, assert_successes
from tests.runtime.http_conformance.server import ScriptedServer, answer

TEXT = b"the same words, again and again. " * 40


def encoded(coding: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n%s\r\n%s" % (
        coding,
        len(body),
        extra,
        body,
    )


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        (b"gzip", gzip.compress(TEXT)),
        (b"x-gzip", gzip.compress(TEXT)),
        (b"deflate", zlib.compress(TEXT)),
        (b"br", brotli.compress(TEXT)),
        (b"identity", TEXT),
    ],
    ids=["gzip", "x-gzip", "deflate-zlib", "br", "identity"],
)
def test_body_is_decoded_and_its_decoded_length_recorded(
    kind: str, serve: Callable[..., ScriptedServer], make_client: Callable[..., Client], coding: bytes, body: bytes
) -> None:
    server = serve(answer(encoded(coding, body)))
    client = make_client(kind, server.url)
    assert client.request("GET", "/z").content == TEXT
    assert_recorded(client, "GET", "/z", ok=True, length=len(TEXT))
    assert len(server.received) == 1


def test_raw_deflate_without_zlib_header(
    kind: str, serve: Callable[..., ScriptedServer], make_client: Callable[..., Client]
) -> None:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = compressor.compress(TEXT) + compressor.flush()
    server = serve(answer(encoded(b"deflate", raw)))
    client = make_client(kind, server.url)
    assert client.request("GET", "/z").content == TEXT
    assert_recorded(client, "GET", "/z", ok=True, length=len(TEXT))


def test_chunked_gzip(kind: str, serve: Callable[..., ScriptedServer], make_client: Callable[..., Client]) -> None:
    body = gzip.compress(TEXT)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 100]), body[i : i + 100]) for i in range(0, len(body), 100))
    server = serve(
        answer(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
        )
    )
    client = make_client(kind, server.url)
    assert client.request("GET", "/z").content == TEXT
    assert_recorded(client, "GET", "/z", ok=True, length=len(TEXT))


@pytest.mark.parametrize(
    ("method", "response"),
    [
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 120\r\n\r\n"),
        ("GET", b'HTTP/1.1 304 Not Modified\r\nContent-Encoding: gzip\r\nETag: "v1"\r\n\r\n'),
        ("GET", b"HTTP/1.1 204 No Content\r\nContent-Encoding: gzip\r\n\r\n"),
        ("GET", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n"),
    ],
    ids=["head", "304", "204", "empty-200"],
)
def test_empty_body_marked_gzip_is_not_an_error(
    kind: str, serve: Callable[..., ScriptedServer], make_client: Callable[..., Client], method: str, response: bytes
) -> None:
    """Locust's FastHttpUser fails these (it decompresses nothing); nothing is wrong with them (RFC 9110 8.4)."""
    server = serve(answer(response))
    client = make_client(kind, server.url)
    result = client.request(method, "/cached", name="cached")
    assert result.content == b"" and result.status_code == int(response[9:12])
    assert_recorded(client, method, "cached", ok=True, length=0)
    assert [r.method for r in server.received] == [method]


def test_corrupt_gzip_is_a_failure(
    kind: str, serve: Callable[..., ScriptedServer], make_client: Callable[..., Client]
) -> None:
    server = serve(answer(encoded(b"gzip", b"this is not gzip")))
    client = make_client(kind, server.url)
    client.request("GET", "/z")
    assert_recorded(client, "GET", "/z", ok=False)
    assert len(server.received) == 1


def test_unknown_coding(kind: str, serve: Callable[..., ScriptedServer], make_client: Callable[..., Client]) -> None:
    """FastHttpUser fails a body it cannot decode; requests hands it over undecoded (the clients differ)."""
    server = serve(answer(encoded(b"zz-unknown", b"abc")))
    client = make_client(kind, server.url)
    response = client.request("GET", "/z")
    if kind == "fast":
        assert_recorded(client, "GET", "/z", ok=False, error="Content-Encoding")
    else:
        assert response.content == b"abc"
        assert_recorded(client, "GET", "/z", ok=True, length=3)


def test_default_accept_encoding(
    kind: str, serve: Callable[..., ScriptedServer], make_client: Callable[..., Client]
) -> None:
    """FastHttpUser sends Locust's FastHttpUser's value; requests sends its own (with br when brotli is there)."""
    server = serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    client = make_client(kind, server.url)
    client.request("GET", "/")
    (received,) = server.received
    accept_encoding = received.header("Accept-Encoding") or ""
    if kind == "fast":
        assert accept_encoding == "gzip, deflate, br"
    else:
        assert accept_encoding.startswith("gzip, deflate")
    assert received.header("Host") == f"127.0.0.1:{server.port}" and received.header("User-Agent")
    assert received.header("Accept") == "*/*"
    assert_successes(client, 1)


def test_text_uses_the_declared_charset(
    kind: str, serve: Callable[..., ScriptedServer], make_client: Callable[..., Client]
) -> None:
    body = "café".encode("latin-1")
    server = serve(
        answer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Length: 4\r\n\r\n" + body)
    )
    client = make_client(kind, server.url)
    assert client.request("GET", "/t").text == "café"
    assert_recorded(client, "GET", "/t", ok=True, length=4)
